"""DataBuckets: the raw, processed and delivery buckets plus the bucket that receives their access logs.

Every bucket: default encryption (SSE-KMS with the stack's customer managed key when ``kms`` is on,
SSE-S3 otherwise), public access blocked, ownership BucketOwnerEnforced (no ACLs), a TLS-only bucket
policy, lifecycle rules (``tmp/`` expires after a day, incomplete multipart uploads aborted). Raw is
versioned, transitions to a cheaper storage class and expires noncurrent versions. Data buckets log
access to the log bucket. The log bucket always uses SSE-S3: S3 server access logging cannot deliver
into a bucket whose default encryption is SSE-KMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from genomics.deployment import BUCKET_ROLES, TMP_PREFIX, BucketRole, Names
from infra import policies
from infra.config import StackConfig

MULTIPART_ABORT_DAYS = 7


def access_log_bucket_name(names: Names) -> str:
    """The access-log bucket's physical name (same pattern as the data buckets)."""
    return f"{names.prefix}-access-logs-{names.account_id}-{names.region}"


@dataclass(frozen=True)
class DataBucketsArgs:
    names: Names
    config: StackConfig


def lifecycle_rules(role: BucketRole | None, config: StackConfig) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """Lifecycle rules of one bucket (``role`` None: the access-log bucket)."""
    rules = [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="abort-incomplete-multipart",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=MULTIPART_ABORT_DAYS
            ),
        ),
    ]
    if role is None:
        rules.append(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-access-logs",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=config.access_log_days),
            )
        )
        return rules
    rules.append(
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-tmp",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=f"{TMP_PREFIX}/"),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=1),
        )
    )
    if role == "raw":
        rules.append(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="raw-cheaper-storage",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                transitions=[
                    aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(
                        days=config.raw_transition_days, storage_class=config.raw_storage_class
                    )
                ],
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=config.noncurrent_version_days
                ),
            )
        )
    return rules


class DataBuckets(pulumi.ComponentResource):
    """raw/processed/delivery buckets, the access-log bucket and (``kms``) the customer managed key."""

    buckets: dict[BucketRole, aws.s3.Bucket]
    log_bucket: aws.s3.Bucket
    kms_key: aws.kms.Key | None

    def __init__(self, name: str, args: DataBucketsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:storage:DataBuckets", name, None, opts)
        names, config = args.names, args.config
        child = pulumi.ResourceOptions(parent=self)

        self.kms_key = None
        if config.kms:
            self.kms_key = aws.kms.Key(
                f"{name}-key",
                description=f"{names.prefix} data buckets",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=pulumi.Output.json_dumps(self._key_policy(names, config)),
                opts=child,
            )
            aws.kms.Alias(f"{name}-key-alias", name=f"alias/{names.prefix}-data", target_key_id=self.kms_key.key_id,
                          opts=child)

        self.log_bucket, log_block = self._bucket(
            f"{name}-access-logs", access_log_bucket_name(names), None, config, child
        )
        data_arns = [names.bucket_arn(role) for role in BUCKET_ROLES]
        self._policy(
            f"{name}-access-logs",
            self.log_bucket,
            log_block,
            [policies.access_log_delivery_statement(self.log_bucket.arn, data_arns, names.account_id)],
        )

        self.buckets = {}
        for role in BUCKET_ROLES:
            bucket, block = self._bucket(f"{name}-{role}", names.bucket(role), role, config, child)
            aws.s3.BucketLogging(
                f"{name}-{role}-logging",
                bucket=bucket.id,
                target_bucket=self.log_bucket.id,
                target_prefix=f"{role}/",
                opts=child,
            )
            extra = (
                policies.partner_statements(bucket.arn, config.partners, names.partition)
                if role == "delivery"
                else []
            )
            self._policy(f"{name}-{role}", bucket, block, extra)
            self.buckets[role] = bucket

        self.register_outputs(
            {
                "buckets": {role: b.bucket for role, b in self.buckets.items()},
                "log_bucket": self.log_bucket.bucket,
                "kms_key_arn": self.kms_key.arn if self.kms_key else None,
            }
        )

    @staticmethod
    def _key_policy(names: Names, config: StackConfig) -> dict[str, Any]:
        # A key policy's Resource is always "*" (it means "this key"). The first statement is AWS's
        # default: the account (through IAM policies) administers and uses the key. Partners may only
        # decrypt, only through S3, only for the delivery bucket (bucket keys: context = bucket ARN).
        statements: list[dict[str, Any]] = [
            {
                "Sid": "AccountAdministersThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{names.partition}:iam::{names.account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
        if config.partners:
            statements.append(
                {
                    "Sid": "PartnersDecryptDelivery",
                    "Effect": "Allow",
                    "Principal": {
                        "AWS": [f"arn:{names.partition}:iam::{a}:root" for _, a in sorted(config.partners.items())]
                    },
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": f"s3.{names.region}.amazonaws.com",
                            "kms:EncryptionContext:aws:s3:arn": names.bucket_arn("delivery"),
                        }
                    },
                }
            )
        return {"Version": "2012-10-17", "Statement": statements}

    def _bucket(self, logical: str, physical: str, role: BucketRole | None, config: StackConfig,
                child: pulumi.ResourceOptions) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
        bucket = aws.s3.Bucket(logical, bucket=physical, force_destroy=config.force_destroy, opts=child)
        aws.s3.BucketOwnershipControls(
            f"{logical}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        block = aws.s3.BucketPublicAccessBlock(
            f"{logical}-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        if self.kms_key is not None and role is not None:
            default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=self.kms_key.arn
            )
        else:
            default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256"
            )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{logical}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=default, bucket_key_enabled=True
                )
            ],
            opts=child,
        )
        versioning = None
        if role == "raw":
            versioning = aws.s3.BucketVersioning(
                f"{logical}-versioning",
                bucket=bucket.id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                opts=child,
            )
        aws.s3.BucketLifecycleConfiguration(
            f"{logical}-lifecycle",
            bucket=bucket.id,
            rules=lifecycle_rules(role, config),
            # Noncurrent-version rules need versioning in place first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning] if versioning else []),
        )
        return bucket, block

    def _policy(self, logical: str, bucket: aws.s3.Bucket, block: aws.s3.BucketPublicAccessBlock,
                extra: list[dict[str, Any]]) -> aws.s3.BucketPolicy:
        document = {"Version": "2012-10-17", "Statement": [policies.tls_only_statement(bucket.arn), *extra]}
        return aws.s3.BucketPolicy(
            f"{logical}-policy",
            bucket=bucket.id,
            policy=pulumi.Output.json_dumps(document),
            # The public access block must exist before any policy naming outside principals.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block]),
        )
