"""DataBuckets: the raw, processed and delivery buckets, the bucket that receives their access logs, and
(``kms``) the stack's customer managed key.

Every bucket: default encryption (SSE-KMS with the stack's customer managed key when ``kms`` is on,
SSE-S3 otherwise), public access blocked, ownership BucketOwnerEnforced (no ACLs), a bucket policy that
denies requests without TLS or with TLS older than 1.2 (and, with the CMK, uploads asking for another
encryption or key), lifecycle rules (incomplete multipart uploads aborted; ``tmp/`` of the processed and
delivery buckets expires after a day), a data-classification tag, and in staging/prod ``protect`` and
``retain_on_delete``.

Raw is versioned and never expires a current object (no lifecycle rule with an expiration on it: a
project named ``tmp`` is data like any other); with ``rawLockDays`` its objects are under Object Lock
(governance mode) for that many days and noncurrent versions are kept at least as long. Processed
outputs and deliveries expire after ``processedExpiryDays`` / ``deliveryExpiryDays`` when set (GDPR
storage limitation). Data buckets log access to the log bucket. The log bucket always uses SSE-S3
(S3 server access logging cannot deliver into a bucket whose default encryption is SSE-KMS) and is
versioned with Object Lock enabled; AWS refuses a default retention on a server-access-log target, so
its immutability is a bucket policy denying every delete (and versioning or lock changes) to everyone,
with lifecycle expiry after ``accessLogDays``. The CloudTrail trail (``infra.audit``) records the same
object access in a bucket with a default Object Lock retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from genomics.deployment import (
    BUCKET_ROLES,
    BUCKET_SEED_NAMES,
    PROCESSED_PREFIX,
    REPORTS_PREFIX,
    TMP_PREFIX,
    BucketRole,
    Names,
)
from infra import policies
from infra.common import inline_policy, service_role
from infra.config import StackConfig
from infra.naming import Classification, classified, stateful, trail_arn

MULTIPART_ABORT_DAYS = 7
LOG_NONCURRENT_DAYS = 1


def access_log_bucket_name(names: Names) -> str:
    """The access-log bucket's physical name (same pattern as the data buckets)."""
    return f"{names.prefix}-access-logs-{names.account_id}-{names.region}"


@dataclass(frozen=True)
class DataBucketsArgs:
    names: Names
    config: StackConfig


def _rule(rule_id: str, prefix: str, **kwargs: Any) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=rule_id, status="Enabled", filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=prefix),
        **kwargs,
    )


def _expire(rule_id: str, prefix: str, days: int) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    return _rule(rule_id, prefix, expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days))


def lifecycle_rules(role: BucketRole | None, config: StackConfig,
                    log_days: int | None = None) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    """Lifecycle rules of one bucket (``role`` None: a log bucket whose objects expire after ``log_days``)."""
    rules = [
        _rule(
            "abort-incomplete-multipart",
            "",
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=MULTIPART_ABORT_DAYS
            ),
        ),
    ]
    if role is None:
        days = log_days if log_days is not None else config.access_log_days
        rules.append(
            _rule(
                "expire-logs",
                "",
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
                # The log buckets are versioned: expiry makes the version noncurrent; remove it a day later
                # (Object Lock keeps a locked version regardless).
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=LOG_NONCURRENT_DAYS
                ),
            )
        )
        return rules
    if role == "raw":
        # Never an expiration on raw: only the storage class changes, and overwritten versions are kept at
        # least as long as the Object Lock retention (checked by infra.config).
        rules.append(
            _rule(
                "raw-cheaper-storage",
                "",
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
    rules.append(_expire("expire-tmp", f"{TMP_PREFIX}/", 1))
    if role == "processed" and config.processed_expiry_days:
        rules.append(_expire("expire-processed", f"{PROCESSED_PREFIX}/", config.processed_expiry_days))
        rules.append(_expire("expire-reports", f"{REPORTS_PREFIX}/", config.processed_expiry_days))
    if role == "delivery" and config.delivery_expiry_days:
        rules.append(_expire("expire-deliveries", "partners/", config.delivery_expiry_days))
    return rules


CLASSIFICATION: dict[BucketRole, Classification] = {
    "raw": "genetic-data",
    "processed": "genetic-data",
    "delivery": "genetic-data",
}


class DataBuckets(pulumi.ComponentResource):
    """raw/processed/delivery buckets, the access-log bucket and (``kms``) the customer managed key."""

    buckets: dict[BucketRole, aws.s3.Bucket]
    log_bucket: aws.s3.Bucket
    kms_key: aws.kms.Key | None

    def __init__(self, name: str, args: DataBucketsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:storage:DataBuckets", name, None, opts)
        names, config = args.names, args.config
        child = pulumi.ResourceOptions(parent=self)
        self._config = config

        self.kms_key = None
        if config.kms:
            self.kms_key = aws.kms.Key(
                f"{name}-key",
                description=f"{names.prefix} sample data: buckets, tables, logs, topic, queue, images, env",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=pulumi.Output.json_dumps(key_policy(names, config)),
                tags=classified("genetic-data"),
                opts=stateful(config, self),
            )
            aws.kms.Alias(f"{name}-key-alias", name=f"alias/{names.prefix}-data", target_key_id=self.kms_key.key_id,
                          opts=child)

        self.log_bucket, log_block = self._bucket(
            f"{name}-access-logs", access_log_bucket_name(names), None, "audit-log", config.access_log_days
        )
        data_arns = [names.bucket_arn(role) for role in BUCKET_ROLES]
        self._policy(
            f"{name}-access-logs",
            self.log_bucket,
            log_block,
            [
                policies.access_log_delivery_statement(self.log_bucket.arn, data_arns, names.account_id),
                # Not in a stack that may be destroyed with its contents (dev's forceDestroy).
                *([] if config.force_destroy else [policies.log_immutability_statement(self.log_bucket.arn)]),
            ],
        )

        self.buckets = {}
        for role in BUCKET_ROLES:
            bucket, block = self._bucket(f"{name}-{role}", names.bucket(role), role, CLASSIFICATION[role])
            aws.s3.BucketLogging(
                f"{name}-{role}-logging",
                bucket=bucket.id,
                target_bucket=self.log_bucket.id,
                target_prefix=f"{role}/",
                opts=child,
            )
            # No partner account reads any bucket: partners download through the DRS routes' presigned
            # URLs (genomics.drs, infra.partners).
            extra: list[dict[str, Any]] = []
            if self.kms_key is not None:
                extra = [*policies.kms_uploads_only_statements(bucket.arn, self.kms_key.arn), *extra]
            self._policy(f"{name}-{role}", bucket, block, extra)
            self.buckets[role] = bucket

        self.replica: aws.s3.Bucket | None = None
        if config.raw_replica_region:
            self.replica = self._replicate_raw(name, names)

        self.register_outputs(
            {
                "buckets": {role: b.bucket for role, b in self.buckets.items()},
                "log_bucket": self.log_bucket.bucket,
                "kms_key_arn": self.kms_key.arn if self.kms_key else None,
            }
        )

    def _bucket(self, logical: str, physical: str, role: BucketRole | None, classification: Classification,
                log_days: int | None = None) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
        """One bucket and its configuration. ``role`` None: a log bucket (versioned, Object Lock enabled,
        SSE-S3, expiring after ``log_days``)."""
        config = self._config
        child = pulumi.ResourceOptions(parent=self)
        lock_days = config.raw_lock_days if role == "raw" else 0
        bucket = aws.s3.Bucket(
            logical,
            bucket=physical,
            force_destroy=config.force_destroy,
            # Only at creation: turning it on for an existing bucket replaces it (docs/deploy.md, migration).
            object_lock_enabled=(role is None or lock_days > 0) or None,
            tags=classified(classification),
            opts=stateful(config, self),
        )
        kms_key_arn = self.kms_key.arn if self.kms_key is not None and role is not None else None
        block = private_bucket(logical, bucket, kms_key_arn, child)
        versioning = versioned(logical, bucket, child) if role in ("raw", None) else None
        if lock_days:
            lock_on(logical, bucket, "GOVERNANCE", lock_days, self, [versioning] if versioning else [])
        aws.s3.BucketLifecycleConfiguration(
            f"{logical}-lifecycle",
            bucket=bucket.id,
            rules=lifecycle_rules(role, config, log_days),
            # Noncurrent-version rules need versioning in place first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning] if versioning else []),
        )
        return bucket, block

    def _policy(self, logical: str, bucket: aws.s3.Bucket, block: aws.s3.BucketPublicAccessBlock,
                extra: list[dict[str, Any]]) -> aws.s3.BucketPolicy:
        return bucket_policy(logical, bucket, block, extra, self)

    def _replicate_raw(self, name: str, names: Names) -> aws.s3.Bucket:
        """Cross-region replica of the raw bucket (``rawReplicaRegion``): a bucket in the other region,
        versioned, under the same Object Lock retention, encrypted with a key of that region (prod), and
        the replication rule with its role (trusting S3 only for this bucket and account)."""
        region = self._config.raw_replica_region
        provider = aws.Provider(f"{name}-replica-region", region=region, opts=pulumi.ResourceOptions(parent=self))
        replica_key = self._replica_key(name, names, region, provider) if self.kms_key is not None else None
        replica, versioning = self._replica_bucket(name, names, region, provider, replica_key)
        self._replication(name, names, region, replica, replica_key, versioning)
        return replica

    def _replica_key(self, name: str, names: Names, region: str, provider: aws.Provider) -> aws.kms.Key:
        """The replica's key, in the replica's region (the account administers it through IAM)."""
        account = f"arn:{names.partition}:iam::{names.account_id}:root"
        return aws.kms.Key(
            f"{name}-replica-key",
            description=f"{names.prefix} raw replica in {region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
                "Sid": "AccountAdministersThroughIam", "Effect": "Allow", "Principal": {"AWS": account},
                "Action": "kms:*", "Resource": "*"}]}),
            tags=classified("genetic-data"),
            opts=stateful(self._config, self, provider=provider),
        )

    def _replica_bucket(self, name: str, names: Names, region: str, provider: aws.Provider,
                        replica_key: aws.kms.Key | None) -> tuple[aws.s3.Bucket, aws.s3.BucketVersioning]:
        """The replica bucket in ``region``: private, encrypted, versioned, Object-Locked like raw, TLS only."""
        config = self._config
        in_region = pulumi.ResourceOptions(parent=self, provider=provider)
        logical = f"{name}-raw-replica"
        physical = f"{names.prefix}-{BUCKET_SEED_NAMES['raw']}-replica-{names.account_id}-{region}"
        replica = aws.s3.Bucket(
            logical, bucket=physical, force_destroy=config.force_destroy, object_lock_enabled=True,
            tags=classified("genetic-data"), opts=stateful(config, self, provider=provider),
        )
        block = private_bucket(logical, replica, replica_key.arn if replica_key else None, in_region)
        versioning = versioned(logical, replica, in_region)
        lock_on(logical, replica, "GOVERNANCE", config.raw_lock_days, self, [versioning], provider=provider)
        bucket_policy(logical, replica, block, [], self, provider=provider)
        return replica, versioning

    def _replication(self, name: str, names: Names, region: str, replica: aws.s3.Bucket,
                     replica_key: aws.kms.Key | None, versioning: aws.s3.BucketVersioning) -> None:
        """The role S3 replicates with (trusting S3 only for the raw bucket) and the replication rule: every
        object, deletes not replicated, re-encrypted with the replica's key where there is one."""
        config = self._config
        source = self.buckets["raw"]
        role = service_role(f"{name}-replication-role", self, name=f"{names.prefix}-raw-replication",
                            service="s3.amazonaws.com", account_id=names.account_id,
                            source_arn=names.bucket_arn("raw"))
        policy = inline_policy(
            f"{name}-replication-policy", self, role=role, name="replicate-raw",
            document=policies.replication_policy(
                source.arn, replica.arn, names.region, region,
                self.kms_key.arn if self.kms_key else None, replica_key.arn if replica_key else None,
            ),
        )
        aws.s3.BucketReplicationConfig(
            f"{name}-raw-replication",
            bucket=source.id,
            role=role.arn,
            rules=[aws.s3.BucketReplicationConfigRuleArgs(
                id="raw-to-replica",
                status="Enabled",
                filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                # Deletes are not replicated: the replica is the copy that survives a deletion.
                delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                    status="Disabled"
                ),
                destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                    bucket=replica.arn,
                    storage_class=config.raw_storage_class if config.raw_storage_class == "GLACIER_IR" else None,
                    encryption_configuration=(
                        aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=replica_key.arn
                        ) if replica_key else None
                    ),
                ),
                source_selection_criteria=(
                    aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=(
                            aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                                status="Enabled"
                            )
                        )
                    ) if replica_key else None
                ),
            )],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, versioning]),
        )


def bucket_policy(logical: str, bucket: aws.s3.Bucket, block: aws.s3.BucketPublicAccessBlock,
                  extra: list[dict[str, Any]], parent: pulumi.Resource,
                  provider: pulumi.ProviderResource | None = None) -> aws.s3.BucketPolicy:
    """TLS-only, TLS >= 1.2, plus ``extra`` statements."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            policies.tls_only_statement(bucket.arn), policies.tls_version_statement(bucket.arn), *extra
        ],
    }
    return aws.s3.BucketPolicy(
        f"{logical}-policy",
        bucket=bucket.id,
        policy=pulumi.Output.json_dumps(document),
        # The public access block must exist before any policy naming outside principals.
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=[block]),
    )


def lock_on(logical: str, bucket: aws.s3.Bucket, mode: str, days: int, parent: pulumi.Resource,
            depends_on: list[pulumi.Resource],
            provider: pulumi.ProviderResource | None = None) -> aws.s3.BucketObjectLockConfiguration:
    """A default Object Lock retention: every new object version is locked for ``days``."""
    return aws.s3.BucketObjectLockConfiguration(
        f"{logical}-object-lock",
        bucket=bucket.id,
        object_lock_enabled="Enabled",
        rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
            default_retention=aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs(mode=mode, days=days)
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on),
    )


def private_bucket(logical: str, bucket: aws.s3.Bucket, kms_key_arn: pulumi.Input[str] | None,
                   opts: pulumi.ResourceOptions) -> aws.s3.BucketPublicAccessBlock:
    """What every bucket of the stack has: owner-enforced objects (no ACLs), public access blocked, and
    default encryption with ``kms_key_arn`` (SSE-KMS, bucket key on) or SSE-S3 when it is None. Returns the
    public access block (a bucket policy waits for it)."""
    aws.s3.BucketOwnershipControls(
        f"{logical}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    block = aws.s3.BucketPublicAccessBlock(
        f"{logical}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
    default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
        sse_algorithm="aws:kms" if kms_key_arn is not None else "AES256", kms_master_key_id=kms_key_arn
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{logical}-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=default, bucket_key_enabled=True
            )
        ],
        opts=opts,
    )
    return block


def versioned(logical: str, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions) -> aws.s3.BucketVersioning:
    return aws.s3.BucketVersioning(
        f"{logical}-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=opts,
    )


def key_policy(names: Names, config: StackConfig) -> dict[str, Any]:
    """The stack key's policy. A key policy's Resource is always "*" (it means "this key").

    - The account administers and uses the key through IAM policies (AWS's default statement; without it
      the key becomes unmanageable). S3, DynamoDB, ECR and Lambda use the key through the calling
      principal's IAM permissions (and the grants those services create), so they need no statement.
    - CloudWatch Logs encrypts only this stack's log groups (encryption context = log-group ARN).
    - CloudWatch alarms and AWS Budgets publish to the encrypted alerts topic, for this account only.
    - CloudTrail encrypts only this stack's trail's log files.
    """
    account = f"arn:{names.partition}:iam::{names.account_id}:root"
    log_groups = [
        f"arn:{names.partition}:logs:{names.region}:{names.account_id}:log-group:{prefix}{names.prefix}-*"
        for prefix in ("/aws/lambda/", "/aws/vendedlogs/states/", "/aws/apigateway/", "/aws/ecs/")
    ]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": account},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Sid": "CloudWatchLogsOwnGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{names.region}.amazonaws.com"},
            "Action": list(policies.KMS_SERVICE_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        },
        {
            "Sid": "AlarmsAndBudgetsPublishToTopic",
            "Effect": "Allow",
            "Principal": {"Service": ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": names.account_id}},
        },
        {
            "Sid": "CloudTrailEncryptsOwnTrail",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["kms:GenerateDataKey", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceArn": trail_arn(names)},
                "StringLike": {
                    "kms:EncryptionContext:aws:cloudtrail:arn":
                        f"arn:{names.partition}:cloudtrail:*:{names.account_id}:trail/*"
                },
            },
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}
