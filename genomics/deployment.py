"""The one description of a deployment: names, tables, functions, their environment and permissions.

The Pulumi program (``infra/``) and the local mode (``genomics.local``) both build from this module, and
``tests/infra/test_drift.py`` fails when what the Pulumi program declares drifts from it. Nothing here
imports pulumi or boto3: it is plain data plus small pure functions.

Names are deterministic per stack, account and region, so a handler, the CLI and an operator can find
every resource from the stack name alone (``genomics-<stack>-<role>``; buckets add account and region
because bucket names are global).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# The stack settings are part of this description; they live in genomics.settings.
from genomics.settings import Settings as Settings

PROJECT = "genomics"

BucketRole = Literal["raw", "processed", "delivery"]
TableRole = Literal["metadata", "jobs", "qc"]
BUCKET_ROLES: tuple[BucketRole, ...] = ("raw", "processed", "delivery")

# Seed diagram names of the buckets: raw-genomics-bucket, processed-genomics-bucket, delivery-bucket.
BUCKET_SEED_NAMES: dict[BucketRole, str] = {
    "raw": "raw-genomics",
    "processed": "processed-genomics",
    "delivery": "delivery",
}
# The three tables are the ledger (genomics.ledger): genomics-<stack>-ledger-<role>. Stacks deployed before
# the tables were named so keep the seed diagram's names (the metadata table was genomics-<stack>-genomics-
# metadata and the QC table had the quality-metrics function's name): renaming a DynamoDB table replaces
# it with a new, empty one, so such a stack sets the config key tableNames: seed (docs/deploy.md).
TableNaming = Literal["ledger", "seed"]
TABLE_NAMINGS: tuple[TableNaming, ...] = ("ledger", "seed")
TABLE_SEED_NAMES: dict[TableRole, str] = {
    "metadata": "genomics-metadata",
    "jobs": "processing-jobs",
    "qc": "quality-metrics",
}


# --------------------------------------------------------------------------------------------------
# DynamoDB tables: key schemas and indexes. Every access pattern is served by one of these (see
# docs/data-model.md); no code path scans.
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Index:
    name: str
    hash_key: str
    range_key: str | None = None
    # ALL keeps the status queries to one round trip; the items are small.
    projection: Literal["ALL", "KEYS_ONLY"] = "ALL"


@dataclass(frozen=True)
class TableSpec:
    role: TableRole
    hash_key: str
    range_key: str | None
    indexes: tuple[Index, ...] = ()
    # Every key attribute is a string.

    def attributes(self) -> list[str]:
        names = [self.hash_key] + ([self.range_key] if self.range_key else [])
        for idx in self.indexes:
            names.append(idx.hash_key)
            if idx.range_key:
                names.append(idx.range_key)
        return list(dict.fromkeys(names))


TABLES: dict[TableRole, TableSpec] = {
    # Samples and files. pk = "SAMPLE#<sample_id>"; sk = "SAMPLE" for the sample item,
    # "FILE#<file_id>" for a file of it.
    "metadata": TableSpec(
        role="metadata",
        hash_key="pk",
        range_key="sk",
        indexes=(
            # project -> samples (only sample items carry gsi_project).
            Index("by-project", "gsi_project", "sample_id"),
            # content checksum -> files (recognises re-uploads of identical content).
            Index("by-checksum", "sha256", "file_id"),
        ),
    ),
    # Jobs. One item per job; history is a list on the item, appended by each conditional transition.
    "jobs": TableSpec(
        role="jobs",
        hash_key="job_id",
        range_key=None,
        indexes=(
            Index("by-status", "status", "updated_at"),  # jobs by status and time; failures since T
            Index("by-file", "file_id", "created_at"),  # file -> jobs
            Index("by-sample", "sample_id", "created_at"),  # sample -> jobs
            Index("by-project", "project", "created_at"),  # project -> jobs (deliveries, reports)
        ),
    ),
    # QC. One item per (sample, file content, metric); failing metrics also carry gsi_fail (sparse).
    "qc": TableSpec(
        role="qc",
        hash_key="sample_id",
        range_key="metric_key",
        indexes=(
            # "<project>#<metric>" -> samples failing that metric in that project.
            Index("by-failing-metric", "gsi_fail", "sample_id"),
            # "<project>" -> the project's sample fingerprints (sparse: only _fingerprint items carry it).
            Index("by-project-fingerprint", "gsi_fingerprint", "sample_id"),
        ),
    ),
}


# --------------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Names:
    """Every physical name of one stack in one account and region."""

    stack: str
    account_id: str
    region: str
    partition: str = "aws"
    # How the stack's tables are named (see TABLE_SEED_NAMES).
    table_names: TableNaming = "ledger"

    @property
    def prefix(self) -> str:
        return f"{PROJECT}-{self.stack}"

    def bucket(self, role: BucketRole) -> str:
        return f"{self.prefix}-{BUCKET_SEED_NAMES[role]}-{self.account_id}-{self.region}"

    def table(self, role: TableRole) -> str:
        if self.table_names == "seed":
            return f"{self.prefix}-{TABLE_SEED_NAMES[role]}"
        return f"{self.prefix}-ledger-{role}"

    def function(self, logical: str) -> str:
        return f"{self.prefix}-{logical}"

    @property
    def state_machine(self) -> str:
        return f"{self.prefix}-workflow"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.prefix}-ingest-dlq"

    @property
    def sweep_schedule(self) -> str:
        return f"{self.prefix}-sweeper"

    @property
    def alerts_topic(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def image_repository(self) -> str:
        return f"{self.prefix}-handlers"

    @property
    def user_pool(self) -> str:
        return f"{self.prefix}-users"

    @property
    def web_api(self) -> str:
        return f"{self.prefix}-web-api"

    @property
    def signing_key_alias(self) -> str:
        """The KMS key that signs partner-delivery manifests (genomics.drs.signing)."""
        return f"alias/{self.prefix}-manifest-signing"

    def partner_role(self, partner: str) -> str:
        """The role a partner's account assumes to call the DRS routes (genomics.drs.api)."""
        return f"{self.prefix}-partner-{partner}"

    # The Fargate QC path (settings.fargate): cluster, task family, its two roles and log group.
    @property
    def cluster(self) -> str:
        return f"{self.prefix}-qc"

    @property
    def task_family(self) -> str:
        return f"{self.prefix}-qc-task"

    @property
    def task_role(self) -> str:
        return f"{self.prefix}-qc-task-role"

    @property
    def task_execution_role(self) -> str:
        return f"{self.prefix}-qc-task-execution-role"

    @property
    def task_log_group(self) -> str:
        return f"/aws/ecs/{self.task_family}"

    def cluster_arn(self) -> str:
        return f"arn:{self.partition}:ecs:{self.region}:{self.account_id}:cluster/{self.cluster}"

    def task_definition_arn_pattern(self) -> str:
        """Every revision of the QC task definition (ecs:RunTask's resource)."""
        return f"arn:{self.partition}:ecs:{self.region}:{self.account_id}:task-definition/{self.task_family}:*"

    def tasks_arn_pattern(self) -> str:
        return f"arn:{self.partition}:ecs:{self.region}:{self.account_id}:task/{self.cluster}/*"

    def role_arn(self, role_name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:role/{role_name}"

    def state_machine_arn(self) -> str:
        return (
            f"arn:{self.partition}:states:{self.region}:{self.account_id}:stateMachine:{self.state_machine}"
        )

    def function_arn(self, logical: str) -> str:
        fn = self.function(logical)
        return f"arn:{self.partition}:lambda:{self.region}:{self.account_id}:function:{fn}"

    def bucket_arn(self, role: BucketRole) -> str:
        return f"arn:{self.partition}:s3:::{self.bucket(role)}"

    def table_arn(self, role: TableRole) -> str:
        return f"arn:{self.partition}:dynamodb:{self.region}:{self.account_id}:table/{self.table(role)}"

    def queue_arn(self) -> str:
        return f"arn:{self.partition}:sqs:{self.region}:{self.account_id}:{self.dead_letter_queue}"

    def log_group(self, logical: str) -> str:
        return f"/aws/lambda/{self.function(logical)}"


# --------------------------------------------------------------------------------------------------
# Functions: the four pipeline Lambdas of the seed diagram and the status API behind its "Web UI / CLI /
# API" box, what they read from the environment and what they may do. Grants are data; infra/ turns
# them into IAM policy documents, one role per function.
# --------------------------------------------------------------------------------------------------
# The container image a function runs (images/Dockerfile targets): "handler" for all but the functions that
# encrypt partner deliveries, which run "delivery" (the handler image + Crypt4GH; images/README.md).
ImageKind = Literal["handler", "delivery"]
ResourceKind = Literal["bucket", "objects", "table", "table-indexes", "state-machine", "executions", "queue",
                       "function", "signing-key"]


@dataclass(frozen=True)
class Grant:
    actions: tuple[str, ...]
    kind: ResourceKind
    target: str  # bucket or table role, a function's logical name, or "" for the state machine/queue/signing key
    # For kind == "objects": the object key pattern under the bucket (the whole bucket by default).
    key_prefix: str = "*"


@dataclass(frozen=True)
class FunctionSpec:
    logical: str
    handler: str  # module.function inside the image, used as the image command
    description: str
    heavy: bool  # gets the heavy memory/timeout/ephemeral storage settings
    env: tuple[str, ...]  # environment variable names the function reads (values from environment())
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    # A step of the pipeline (the workflow or the S3 notification invokes it); False for the status API,
    # which only API Gateway invokes.
    pipeline: bool = True
    # Environment variables whose values exist only once other resources do (the Cognito pool's and app
    # client's ids): ``environment(..., runtime=...)`` fills them; both the Pulumi program and the local
    # mode pass the ids of the pool they created.
    runtime_env: tuple[str, ...] = ()
    # The image (images/Dockerfile target) the function runs; only a function that encrypts with Crypt4GH
    # needs "delivery" (the handler image stays within its size goal without the library).
    image: ImageKind = "handler"


# Grants are exactly the calls the code makes (tests/infra/test_least_privilege.py scans the code and fails
# on a grant no call uses or a call no grant covers). GetObjectVersion only on raw, the versioned bucket.
_S3_READ = ("s3:GetObject",)
_S3_READ_VERSIONS = ("s3:GetObject", "s3:GetObjectVersion")
_S3_WRITE = ("s3:PutObject",)
_DDB_INDEX = ("dynamodb:Query",)
# The manifest-signing key (genomics.drs.signing): ECDSA P-256, SHA-256 (KMS ECC_NIST_P256, ECDSA_SHA_256).
SIGNING_KEY_SPEC = "ECC_NIST_P256"

# The ledger's read side (the status API and the web app): the metadata table's indexes, a job by id and
# by index, a sample's QC items and the QC indexes.
_LEDGER_READ: tuple[Grant, ...] = (
    Grant(_DDB_INDEX, "table-indexes", "metadata"),
    Grant(("dynamodb:GetItem",), "table", "jobs"),
    Grant(_DDB_INDEX, "table-indexes", "jobs"),
    Grant(("dynamodb:Query",), "table", "qc"),
    Grant(_DDB_INDEX, "table-indexes", "qc"),
)

_COMMON_ENV = ("STACK", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "LOG_LEVEL")

FUNCTIONS: dict[str, FunctionSpec] = {
    "validation-handler": FunctionSpec(
        logical="validation-handler",
        handler="handlers.validation_handler.handler",
        description="S3 upload -> record file and job, validate by content, start the workflow or reject",
        heavy=True,
        env=(
            *_COMMON_ENV,
            "RAW_BUCKET",
            "METADATA_TABLE",
            "JOBS_TABLE",
            "STATE_MACHINE_ARN",
            "DEFAULT_ASSAY",
            "QC_THRESHOLDS",
            "REFERENCE_URI",
            "VALIDATION_PROFILES",
        ),
        grants=(
            Grant(_S3_READ_VERSIONS, "objects", "raw"),
            Grant(("s3:ListBucket",), "bucket", "raw"),
            Grant(("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"), "table", "metadata"),
            Grant(("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"), "table", "jobs"),
            Grant(("states:StartExecution",), "state-machine", ""),
            # Not a call of the code: Lambda sends failed events to the on-failure destination with this role.
            Grant(("sqs:SendMessage",), "queue", ""),
            Grant(_S3_READ, "objects", "processed", "references/*"),
        ),
    ),
    "vcf-processor": FunctionSpec(
        logical="vcf-processor",
        handler="handlers.vcf_processor.handler",
        description="Normalise, sort, bgzip and index a VCF/BCF; plan, process shards and gather",
        heavy=True,
        env=(*_COMMON_ENV, "RAW_BUCKET", "PROCESSED_BUCKET", "SCATTER_THRESHOLD_BYTES",
             "SCATTER_REGION_BASES", "SCATTER_MAX_SHARDS", "REFERENCE_URI"),
        grants=(
            Grant(_S3_READ_VERSIONS, "objects", "raw"),
            # Outputs are staged under tmp/<job>/ and copied into processed/; tmp objects are deleted.
            Grant((*_S3_READ, *_S3_WRITE), "objects", "processed", "processed/*"),
            Grant((*_S3_READ, *_S3_WRITE, "s3:DeleteObject"), "objects", "processed", "tmp/*"),
            Grant(_S3_READ, "objects", "processed", "references/*"),
            Grant(("s3:ListBucket",), "bucket", "processed"),
        ),
    ),
    "quality-metrics": FunctionSpec(
        logical="quality-metrics",
        handler="handlers.quality_metrics.handler",
        description="bcftools/samtools stats, the per-assay QC gate and the MultiQC report",
        heavy=True,
        env=(*_COMMON_ENV, "RAW_BUCKET", "PROCESSED_BUCKET", "QC_TABLE", "QC_THRESHOLDS",
             "DEFAULT_ASSAY", "REFERENCE_URI", "IDENTITY_PANEL_URI", "IDENTITY_PANEL_ASSEMBLY",
             "COVERAGE_TARGETS_URI", "QC_ROUTER"),
        grants=(
            Grant(_S3_READ_VERSIONS, "objects", "raw"),
            # HEAD of the input: a missing key answers 404 (not 403) only with ListBucket.
            Grant(("s3:ListBucket",), "bucket", "raw"),
            Grant(_S3_READ, "objects", "processed", "processed/*"),
            # Alignment scatter: plan, index and shard outputs under tmp/<job>/qc/.
            Grant((*_S3_READ, *_S3_WRITE), "objects", "processed", "tmp/*"),
            Grant(_S3_READ, "objects", "processed", "references/*"),
            Grant(_S3_WRITE, "objects", "processed", "reports/*"),
            Grant(("dynamodb:BatchWriteItem",), "table", "qc"),
            # the project's fingerprints (genomics.identity.service: Query on by-project-fingerprint)
            Grant(("dynamodb:Query",), "table-indexes", "qc"),
        ),
    ),
    "metadata-updater": FunctionSpec(
        logical="metadata-updater",
        handler="handlers.metadata_updater.handler",
        description="Job state transitions and sample/file records in the ledger",
        heavy=False,
        env=(*_COMMON_ENV, "METADATA_TABLE", "JOBS_TABLE", "PRICE_LAMBDA_GB_SECOND", "PRICE_SFN_TRANSITION"),
        grants=(
            # Publishing a result's outcome updates the identity item (never reads it: the sweeper does).
            Grant(("dynamodb:UpdateItem",), "table", "metadata"),
            Grant(("dynamodb:GetItem", "dynamodb:UpdateItem"), "table", "jobs"),
        ),
    ),
    "status-api": FunctionSpec(
        logical="status-api",
        handler="handlers.status_api.handler",
        description="Read-only status API over the ledger: samples, jobs, projects, QC failures, cost; "
        "partners' DRS objects and receipts",
        heavy=False,
        env=(*_COMMON_ENV, "METADATA_TABLE", "JOBS_TABLE", "QC_TABLE", "PRESIGN_TTL_S"),
        grants=(
            # genomics.drs: a partner's objects (GetItem), downloaded/acknowledged marks (UpdateItem) and
            # presigned GETs of the encrypted deliveries.
            Grant(("dynamodb:Query", "dynamodb:GetItem", "dynamodb:UpdateItem"), "table", "metadata"),
            Grant(("s3:GetObject",), "objects", "delivery", "partners/*"),
            *_LEDGER_READ,
        ),
        pipeline=False,
    ),
    # Not a pipeline step either: EventBridge Scheduler invokes it (Settings.sweep_schedule()).
    # The web app's API (genomics.webapp): API Gateway HTTP API with a Cognito JWT authorizer invokes it; it
    # serves the one-page app's assets and every /api route after checking the caller's project membership.
    "web-api": FunctionSpec(
        logical="web-api",
        handler="handlers.web_api.handler",
        description="Web app: the one-page app and its API (Cognito JWT; every route checks project membership)",
        heavy=False,
        env=(*_COMMON_ENV, "RAW_BUCKET", "PROCESSED_BUCKET", "DELIVERY_BUCKET", "METADATA_TABLE", "JOBS_TABLE",
             "QC_TABLE", "QC_THRESHOLDS", "PRESIGN_TTL_S", "WEB_TASKS_FUNCTION", "WEB_RATE_LIMIT",
             "WEB_RATE_WINDOW_S"),
        runtime_env=("USER_POOL_ID", "USER_POOL_CLIENT_ID"),
        grants=(
            # Memberships (USER#/PROJECT# items), queued deliveries, the ledger's read side, and each user's
            # request counter (UpdateItem, conditional: genomics.webapp.throttle).
            Grant(("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query",
                   "dynamodb:UpdateItem"), "table", "metadata"),
            *_LEDGER_READ,
            # Browser uploads: multipart uploads the function starts, presigns parts of, lists and completes
            # (keys built from project/sample, never taken from the browser).
            Grant(("s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"), "objects", "raw"),
            Grant(("s3:ListBucketMultipartUploads",), "bucket", "raw"),
            # Presigned downloads of one processed output or report at a time.
            Grant(_S3_READ, "objects", "processed", "processed/*"),
            Grant(_S3_READ, "objects", "processed", "reports/*"),
            # The newest cohort report of a project (reports/<project>/_cohort/).
            Grant(("s3:ListBucket",), "bucket", "processed"),
            # A partner user's deliveries: its prefix's manifests, and presigned downloads of what they list.
            Grant(("s3:ListBucket",), "bucket", "delivery"),
            Grant(_S3_READ, "objects", "delivery", "partners/*"),
            # Long work asked for in the app (reprocess) runs in web-tasks, invoked asynchronously.
            Grant(("lambda:InvokeFunction",), "function", "web-tasks"),
        ),
        pipeline=False,
    ),
    # What the web app asks for that outlasts an API request: reprocessing a job (the upload validated
    # again, a new run started). web-api invokes it asynchronously after checking the caller's rights.
    "web-tasks": FunctionSpec(
        logical="web-tasks",
        handler="handlers.web_tasks.handler",
        description="Web app tasks that outlast a request: reprocess a job (validate again, start a new run), "
        "deliver samples to a partner (encrypt, sign the manifest)",
        heavy=True,
        env=(*_COMMON_ENV, "RAW_BUCKET", "PROCESSED_BUCKET", "DELIVERY_BUCKET", "METADATA_TABLE", "JOBS_TABLE",
             "STATE_MACHINE_ARN", "DEFAULT_ASSAY", "QC_THRESHOLDS", "REFERENCE_URI", "VALIDATION_PROFILES",
             "SIGNING_KEY"),
        grants=(
            Grant(_S3_READ_VERSIONS, "objects", "raw"),
            Grant(("s3:ListBucket",), "bucket", "raw"),
            Grant(("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"), "table", "metadata"),
            Grant(("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"), "table", "jobs"),
            Grant(_DDB_INDEX, "table-indexes", "jobs"),
            Grant(("states:StartExecution",), "state-machine", ""),
            Grant(_S3_READ, "objects", "processed", "references/*"),
            # Deliveries (genomics.delivery): read the QC-passed outputs and reports (HEAD of a missing one
            # answers 404 only with ListBucket), write the encrypted objects and the manifest under partners/,
            # sign the manifest's checksum with the stack's signing key.
            Grant(_S3_READ, "objects", "processed", "processed/*"),
            Grant(_S3_READ, "objects", "processed", "reports/*"),
            Grant(("s3:ListBucket",), "bucket", "processed"),
            Grant((*_S3_READ, *_S3_WRITE, "s3:AbortMultipartUpload"), "objects", "delivery", "partners/*"),
            Grant(("s3:ListBucket",), "bucket", "delivery"),
            Grant(("kms:Sign",), "signing-key", ""),
        ),
        pipeline=False,
        # Deliveries encrypt with Crypt4GH, which only the delivery image carries.
        image="delivery",
    ),
    "sweeper": FunctionSpec(
        logical="sweeper",
        handler="handlers.sweeper.handler",
        description="Scheduled: end every job stuck in a running state past its deadline, with the reason",
        heavy=False,
        env=(*_COMMON_ENV, "METADATA_TABLE", "JOBS_TABLE", "SWEEP_DEADLINES", "DEAD_LETTER_QUEUE",
             "DELIVERY_ACK_DAYS"),
        grants=(
            # Dead-lettered uploads get a job (PutItem, conditional) and a file record; partners' deliveries
            # not acknowledged in time are counted (Query, genomics.drs.state).
            Grant(("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"), "table",
                  "metadata"),
            Grant(("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"), "table", "jobs"),
            Grant(_DDB_INDEX, "table-indexes", "jobs"),
            # Peek at the dead-letter queue (messages are released at once, never deleted).
            Grant(("sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility"), "queue", ""),
        ),
        pipeline=False,
    ),
}
PIPELINE_FUNCTIONS: tuple[str, ...] = tuple(k for k, spec in FUNCTIONS.items() if spec.pipeline)

METRICS_NAMESPACE = "GenomicsPlatform"


def environment(logical: str, names: Names, settings: Settings, runtime: Mapping[str, Any] | None = None
                ) -> dict[str, Any]:
    """The exact environment of one function. Both the Pulumi program and the local mode use this.
    ``runtime``: the values of the function's ``runtime_env`` (ids of resources created at deploy time;
    Pulumi passes Outputs); a name it lacks is empty."""
    values: dict[str, str] = {
        "STACK": names.stack,
        "POWERTOOLS_SERVICE_NAME": logical,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "LOG_LEVEL": settings.log_level,
        "RAW_BUCKET": names.bucket("raw"),
        "PROCESSED_BUCKET": names.bucket("processed"),
        "DELIVERY_BUCKET": names.bucket("delivery"),
        "METADATA_TABLE": names.table("metadata"),
        "JOBS_TABLE": names.table("jobs"),
        "QC_TABLE": names.table("qc"),
        "STATE_MACHINE_ARN": names.state_machine_arn(),
        "SCATTER_THRESHOLD_BYTES": str(settings.scatter_threshold_bytes),
        "SCATTER_REGION_BASES": str(settings.scatter_region_bases),
        "SCATTER_MAX_SHARDS": str(settings.scatter_max_shards),
        "DEFAULT_ASSAY": settings.default_assay,
        "VALIDATION_PROFILES": settings.validation_profiles,
        "QC_THRESHOLDS": settings.qc_thresholds_json,
        "REFERENCE_URI": settings.reference_uri,
        "IDENTITY_PANEL_URI": settings.identity_panel_uri,
        "IDENTITY_PANEL_ASSEMBLY": settings.identity_panel_assembly,
        "COVERAGE_TARGETS_URI": settings.coverage_targets_uri,
        "PRICE_LAMBDA_GB_SECOND": repr(settings.price_lambda_gb_second),
        "PRICE_SFN_TRANSITION": repr(settings.price_sfn_transition),
        "SWEEP_DEADLINES": settings.sweep_deadlines(),
        "PRESIGN_TTL_S": str(settings.presign_ttl_s),
        "WEB_RATE_LIMIT": str(settings.web_rate_limit),
        "WEB_RATE_WINDOW_S": str(settings.web_rate_window_s),
        "DELIVERY_ACK_DAYS": str(settings.delivery_ack_days),
        "WEB_TASKS_FUNCTION": names.function("web-tasks"),
        "SIGNING_KEY": names.signing_key_alias,
        "DEAD_LETTER_QUEUE": names.dead_letter_queue,
        "QC_ROUTER": _router_env(settings),
    }
    spec = FUNCTIONS[logical]
    for name in spec.runtime_env:
        values[name] = (runtime or {}).get(name, "")
    return {k: values[k] for k in (*spec.env, *spec.runtime_env)}


# Settings the QC router reads (genomics.router), passed to quality-metrics as one JSON value (QC_ROUTER).
ROUTER_FIELDS = ("heavy_memory_mb", "heavy_ephemeral_mb", "map_concurrency", "price_lambda_gb_second",
                 "price_fargate_vcpu_hour", "price_fargate_gb_hour", "price_fargate_storage_gb_hour",
                 "single_budget_s", "shard_budget_s", "fargate_predicted_s", "fargate_threshold_bytes",
                 "qc_shard_reads", "distributed_map_min_shards", "fargate", "fargate_vcpu", "fargate_memory_mb",
                 "scatter_max_shards")


def _router_env(settings: Settings) -> str:
    import json

    return json.dumps({f: getattr(settings, f) for f in ROUTER_FIELDS}, sort_keys=True)


def memory_mb(logical: str, settings: Settings) -> int:
    return settings.heavy_memory_mb if FUNCTIONS[logical].heavy else settings.light_memory_mb


def timeout_s(logical: str, settings: Settings) -> int:
    return settings.heavy_timeout_s if FUNCTIONS[logical].heavy else settings.light_timeout_s


def ephemeral_mb(logical: str, settings: Settings) -> int:
    return settings.heavy_ephemeral_mb if FUNCTIONS[logical].heavy else 512


# --------------------------------------------------------------------------------------------------
# The Fargate QC task: the handler image's QC command with quality-metrics' environment and grants (its
# task role is as narrow as the function's role). Pulumi and the local mode both register this.
# --------------------------------------------------------------------------------------------------
FARGATE_FUNCTION = "quality-metrics"
FARGATE_CONTAINER = "qc"
FARGATE_ENTRYPOINT = ("/opt/venv/bin/python", "-m", "genomics.qc.fargate")
# Fargate's ephemeral storage: 21 GiB is the smallest configurable size; each run overrides it from the plan.
FARGATE_BASE_EPHEMERAL_GIB = 21


def fargate_container(names: Names, settings: Settings, image_uri: object) -> dict[str, object]:
    """The task definition's one container (``image_uri`` may be a pulumi Output)."""
    env = environment(FARGATE_FUNCTION, names, settings)
    return {
        "name": FARGATE_CONTAINER,
        "image": image_uri,
        "essential": True,
        # The whole task's memory as the container's hard limit (the task runs nothing else).
        "memory": settings.fargate_memory_mb,
        "entryPoint": list(FARGATE_ENTRYPOINT),
        "command": ["--help"],
        "environment": [{"name": k, "value": v} for k, v in sorted(env.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": names.task_log_group, "awslogs-region": names.region,
                        "awslogs-stream-prefix": FARGATE_CONTAINER},
        },
    }


def fargate_task_sizes(settings: Settings) -> dict[str, str]:
    return {"cpu": str(settings.fargate_vcpu * 1024), "memory": str(settings.fargate_memory_mb)}


# The web app's Cognito groups (a user's role; project access comes from membership items in the ledger).
USER_GROUPS: tuple[str, ...] = ("researcher", "technician", "steward", "operator", "partner")

# The processed bucket's prefixes (the functions' grants are scoped to them):
PROCESSED_PREFIX = "processed"  # normalised outputs, keyed by result identity: same result, same keys
TMP_PREFIX = "tmp"  # staging and scatter intermediates; expire after a day
REPORTS_PREFIX = "reports"  # MultiQC reports, raw tool outputs, qc.json
REFERENCES_PREFIX = "references"  # reference FASTAs (REFERENCE_URI=s3://<processed>/references)
