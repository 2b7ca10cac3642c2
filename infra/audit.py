"""AuditTrail: a CloudTrail trail per stack (every region, log file validation) writing to a log bucket
that is versioned and Object-Locked for ``auditLogDays`` (floor per tier in ``infra.config``), encrypted
with the stack's CMK where there is one (prod), with S3 data events (object reads and writes) on the raw,
processed and delivery buckets in staging and prod (dev: ``auditDataEvents``).

Management events of every region and global services are recorded too, so a change to a bucket
policy, a key or a role is in the same tamper-evident record (CloudTrail's digest files let
``aws cloudtrail validate-logs`` prove nothing was altered or removed).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from genomics.deployment import BUCKET_ROLES, Names
from infra import policies
from infra.config import StackConfig, audit_data_events
from infra.naming import classified, stateful, trail_arn, trail_bucket_name, trail_name
from infra.storage import bucket_policy, lifecycle_rules, lock_on, private_bucket, versioned


@dataclass(frozen=True)
class AuditTrailArgs:
    names: Names
    config: StackConfig
    kms_key_arn: pulumi.Input[str] | None = None


def event_selectors(names: Names, data_events: bool) -> list[aws.cloudtrail.TrailAdvancedEventSelectorArgs]:
    """Management events always; object-level events on the three data buckets when ``data_events``."""
    field = aws.cloudtrail.TrailAdvancedEventSelectorFieldSelectorArgs
    selectors = [
        aws.cloudtrail.TrailAdvancedEventSelectorArgs(
            name="management-events", field_selectors=[field(field="eventCategory", equals=["Management"])]
        )
    ]
    if data_events:
        selectors.append(
            aws.cloudtrail.TrailAdvancedEventSelectorArgs(
                name="data-bucket-object-events",
                field_selectors=[
                    field(field="eventCategory", equals=["Data"]),
                    field(field="resources.type", equals=["AWS::S3::Object"]),
                    field(field="resources.ARN", starts_withs=[f"{names.bucket_arn(r)}/" for r in BUCKET_ROLES]),
                ],
            )
        )
    return selectors


class AuditTrail(pulumi.ComponentResource):
    """Trail log bucket (versioned, Object Lock, retention) + the trail."""

    bucket: aws.s3.Bucket
    trail: aws.cloudtrail.Trail

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:audit:AuditTrail", name, None, opts)
        self.bucket, policy = self._log_bucket(f"{name}-logs", args)
        self.trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=trail_name(args.names),
            s3_bucket_name=self.bucket.bucket,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            enable_logging=True,
            kms_key_id=args.kms_key_arn,
            advanced_event_selectors=event_selectors(args.names, audit_data_events(args.config)),
            tags=classified("audit-log"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.register_outputs({"trail_arn": self.trail.arn, "bucket": self.bucket.bucket})

    def _log_bucket(self, logical: str, args: AuditTrailArgs) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
        """The trail's bucket: private, encrypted, versioned, every version Object-Locked for auditLogDays and
        expired after; only this stack's trail writes to it, and (unless the stack may be destroyed with its
        contents) nobody deletes a log. Returns the bucket and its policy (the trail waits for it)."""
        names, config = args.names, args.config
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            logical,
            bucket=trail_bucket_name(names),
            force_destroy=config.force_destroy,
            object_lock_enabled=True,
            tags=classified("audit-log"),
            opts=stateful(config, self),
        )
        block = private_bucket(logical, bucket, args.kms_key_arn, child)
        versioning = versioned(logical, bucket, child)
        lock_on(logical, bucket, config.audit_lock_mode, config.audit_log_days, self, [versioning])
        aws.s3.BucketLifecycleConfiguration(
            f"{logical}-lifecycle",
            bucket=bucket.id,
            rules=lifecycle_rules(None, config, config.audit_log_days),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        policy = bucket_policy(
            logical,
            bucket,
            block,
            [
                *policies.cloudtrail_bucket_statements(bucket.arn, trail_arn(names), names.account_id),
                # Not in a stack that may be destroyed with its contents (dev's forceDestroy).
                *([] if config.force_destroy else [policies.log_immutability_statement(bucket.arn)]),
            ],
            self,
        )
        return bucket, policy
