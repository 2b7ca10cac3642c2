"""Per-stack settings that reach the functions (from ``Pulumi.<stack>.yaml`` through ``infra.config``; the
defaults here serve the local mode and new stacks). Part of the one description of a deployment:
``genomics.deployment`` re-exports ``Settings`` and turns it into each function's environment. Plain data,
no pulumi or boto3."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """Per-stack tunables. ``infra.config`` fills this from Pulumi config; the local mode from defaults."""

    stack: str
    # Above this input size (bytes) the workflow scatters VCF processing per contig/region.
    scatter_threshold_bytes: int = 512 * 1024 * 1024
    # Target size of one shard's region (bases) when a contig is split.
    scatter_region_bases: int = 50_000_000
    # How many shards the Map state processes at once, and at most how many a plan makes (small contigs
    # are grouped beyond that: keeps the Map short and the plan well under the 256 KiB payload limit).
    map_concurrency: int = 10
    scatter_max_shards: int = 256
    # Default assay when an upload does not say (object metadata x-amz-meta-assay).
    default_assay: str = "wgs"
    # Validation profile per project, "project=profile,..." (profiles: default, strict, legacy); projects
    # not named use "default". An upload's x-amz-meta-validation-profile overrides its project's.
    validation_profiles: str = ""
    # JSON of per-assay threshold overrides; "" means the documented defaults (genomics.qc.gate).
    qc_thresholds_json: str = ""
    # Where reference FASTAs live: s3://bucket/prefix/<assembly>.fa (+ .fai); "" means none.
    reference_uri: str = ""
    # Sample identity (genomics.identity): a sites VCF of common SNPs (bgzipped, with its .tbi/.csi beside
    # it) under s3://<processed bucket>/references/, and its assembly; "" turns fingerprinting off.
    identity_panel_uri: str = ""
    identity_panel_assembly: str = ""
    # Coverage targets of the WES/panel assays (genomics.qc.coverage): one BED, or a prefix holding
    # <assay>.bed, under s3://<processed bucket>/references/; WGS uses the reference minus N runs.
    coverage_targets_uri: str = ""
    log_level: str = "INFO"
    log_retention_days: int = 14
    # Lambda sizing (MB / seconds). Processing is the heavy one.
    light_memory_mb: int = 512
    heavy_memory_mb: int = 3008
    heavy_ephemeral_mb: int = 10240
    light_timeout_s: int = 120
    heavy_timeout_s: int = 900
    # A workflow task waits this much longer than its function's timeout (invoke and queueing overhead),
    # so the function's own timeout error is what the ledger records.
    task_timeout_margin_s: int = 30
    # List prices used for the per-job cost estimate (USD); stated in config so they can be updated.
    price_lambda_gb_second: float = 0.0000166667
    price_sfn_transition: float = 0.000025
    # Fargate (Linux/x86, us-east-1 list prices, 2026-11-30): per vCPU-hour, per GB-hour of memory, per
    # GB-hour of ephemeral storage beyond the free 20 GB.
    price_fargate_vcpu_hour: float = 0.04048
    price_fargate_gb_hour: float = 0.004445
    price_fargate_storage_gb_hour: float = 0.000111
    # The router (genomics.router): one Lambda when a pass is predicted under single_budget_s; a Lambda
    # scatter when each shard is predicted under shard_budget_s; Fargate beyond fargate_predicted_s or
    # when nothing else fits. fargate_threshold_bytes > 0 sends every larger input to Fargate (tests, demo).
    single_budget_s: int = 300
    shard_budget_s: int = 300
    fargate_predicted_s: int = 720
    fargate_threshold_bytes: int = 0
    # Reads per alignment QC shard (whole contigs are grouped up to this; a contig is never split).
    qc_shard_reads: int = 40_000_000
    # Above this many shards the workflow uses a Distributed Map (items read from S3) instead of the
    # inline Map (whose items travel in the state, within the 256 KiB payload).
    distributed_map_min_shards: int = 40
    # The Fargate path (ECS cluster, task definition, the workflow's ecs:runTask.sync state) exists only
    # when on: it runs in the VPC's private subnets, so it needs vpc (infra.config checks). Off, the router
    # never picks Fargate (an input beyond a Lambda then fails on the Lambda's timeout, as the ledger says).
    fargate: bool = False
    # The Fargate task: size and the longest it may run (the ECS .sync task state's TimeoutSeconds).
    fargate_vcpu: int = 4
    fargate_memory_mb: int = 8192
    fargate_timeout_s: int = 4 * 3600
    # The sweeper (EventBridge Scheduler -> the sweeper function) runs every this many minutes and ends
    # any job that stayed longer than these seconds in a running state (genomics.ledger.sweeper).
    sweep_rate_minutes: int = 15
    stuck_received_s: int = 1800
    stuck_validating_s: int = 3600
    stuck_processing_s: int = 6 * 3600
    stuck_qc_s: int = 2 * 3600
    # The web app's presigned URLs (downloads, upload parts) live this long; at most 15 minutes.
    presign_ttl_s: int = 900
    # Per-user rate limit of the web app's API (genomics.webapp.throttle): requests per window of seconds.
    web_rate_limit: int = 300
    web_rate_window_s: int = 60
    # A partner delivery not acknowledged this many days after it completed alarms (the sweeper counts them).
    delivery_ack_days: int = 14

    def sweep_deadlines(self) -> str:
        """The SWEEP_DEADLINES value: ``<state>=<seconds>`` per running state."""
        return (f"RECEIVED={self.stuck_received_s},VALIDATING={self.stuck_validating_s},"
                f"PROCESSING={self.stuck_processing_s},QC={self.stuck_qc_s}")

    def sweep_schedule(self) -> str:
        """The sweeper's EventBridge Scheduler expression."""
        unit = "minute" if self.sweep_rate_minutes == 1 else "minutes"
        return f"rate({self.sweep_rate_minutes} {unit})"

    def __post_init__(self) -> None:
        from genomics.validation.report import project_profiles

        project_profiles(self.validation_profiles)  # ProfileError (a ValueError) names the bad entry
        if not 60 <= self.presign_ttl_s <= 900:
            raise ValueError(f"presign_ttl_s={self.presign_ttl_s}: presigned URLs live 60 to 900 seconds")
        if self.web_rate_limit < 1 or not 1 <= self.web_rate_window_s <= 3600:
            raise ValueError(f"web_rate_limit={self.web_rate_limit} per web_rate_window_s={self.web_rate_window_s}: "
                             "at least 1 request per 1 to 3600 seconds")
