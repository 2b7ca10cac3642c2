"""IAM policy documents as data, built from ``genomics.deployment`` Grants. Pure functions: no resources.

Values may be plain strings or ``pulumi.Output`` (e.g. a KMS key ARN); callers render with
``pulumi.Output.json_dumps``.

Resource ``"*"`` appears in identity policies only where the AWS API offers no resource-level
permission for the actions (see :data:`STAR_RESOURCE_ACTIONS`):
- Step Functions log delivery (``logs:*LogDelivery``, resource policies, ``DescribeLogGroups``);
- ``ec2:Describe*`` needed by Lambda to attach functions to VPC subnets (only when the VPC is on);
- X-Ray trace upload (only when the stack turns tracing on);
- ``ecr:GetAuthorizationToken`` for the Fargate QC task's execution role (image pull; only with Fargate).
In a key policy ``"*"`` means "this key" (the only value AWS accepts). ``tests/infra/test_iam.py`` allows
``"*"`` for exactly these and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from genomics.deployment import TABLES, FunctionSpec, Grant, Names

Document = dict[str, Any]

SFN_LOG_DELIVERY_ACTIONS: tuple[str, ...] = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
VPC_DESCRIBE_ACTIONS: tuple[str, ...] = (
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
)
VPC_ENI_ACTIONS: tuple[str, ...] = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
XRAY_ACTIONS: tuple[str, ...] = ("xray:PutTraceSegments", "xray:PutTelemetryRecords")
SFN_XRAY_ACTIONS: tuple[str, ...] = (*XRAY_ACTIONS, "xray:GetSamplingRules", "xray:GetSamplingTargets")
ECR_TOKEN_ACTIONS: tuple[str, ...] = ("ecr:GetAuthorizationToken",)
# The only actions ever granted on Resource "*": AWS has no resource-level permissions for them.
STAR_RESOURCE_ACTIONS: frozenset[str] = frozenset(
    SFN_LOG_DELIVERY_ACTIONS + VPC_DESCRIBE_ACTIONS + SFN_XRAY_ACTIONS + ECR_TOKEN_ACTIONS
)
# Customer-managed key use by the services that encrypt with it on the stack's behalf (no wildcards).
KMS_SERVICE_ACTIONS: tuple[str, ...] = (
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
)
MIN_TLS_VERSION = "1.2"
LOG_WRITE_ACTIONS: tuple[str, ...] = ("logs:CreateLogStream", "logs:PutLogEvents")
KMS_DATA_ACTIONS: tuple[str, ...] = ("kms:Decrypt", "kms:GenerateDataKey")


def _arn(names: Names, service: str, resource: str) -> str:
    return f"arn:{names.partition}:{service}:{names.region}:{names.account_id}:{resource}"


def log_group_arn(names: Names, log_group: str) -> str:
    return _arn(names, "logs", f"log-group:{log_group}")


def grant_resources(grant: Grant, names: Names) -> list[str]:
    """The exact ARNs one Grant covers."""
    kind = grant.kind
    if kind == "bucket":
        return [names.bucket_arn(grant.target)]  # type: ignore[arg-type]
    if kind == "objects":
        return [f"{names.bucket_arn(grant.target)}/{grant.key_prefix}"]  # type: ignore[arg-type]
    if kind == "table":
        return [names.table_arn(grant.target)]  # type: ignore[arg-type]
    if kind == "table-indexes":
        spec = TABLES[grant.target]  # type: ignore[index]
        return [f"{names.table_arn(spec.role)}/index/{idx.name}" for idx in spec.indexes]
    if kind == "state-machine":
        return [names.state_machine_arn()]
    if kind == "executions":
        return [_arn(names, "states", f"execution:{names.state_machine}:*")]
    if kind == "queue":
        return [names.queue_arn()]
    if kind == "function":
        return [names.function_arn(grant.target)]
    if kind == "signing-key":  # the key behind the alias (SIGNING_KEY_CONDITION narrows key/* to it)
        return [_arn(names, "kms", "key/*")]
    raise ValueError(f"unknown grant kind {kind!r}")


def signing_key_condition(names: Names) -> dict[str, Any]:
    """A grant on the manifest-signing key names it by its alias (the key is created only with partners)."""
    return {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [names.signing_key_alias]}}


def _touches_objects(spec: FunctionSpec) -> bool:
    return any(g.kind == "objects" for g in spec.grants)


def function_policy(
    spec: FunctionSpec,
    names: Names,
    *,
    kms_key_arn: Any | None = None,
    vpc_subnet_arns: Sequence[Any] = (),
    vpc_security_group_arns: Sequence[Any] = (),
    tracing: bool = False,
) -> Document:
    """The inline policy of one function's role: its Grants, its own log group, and (when enabled) the
    data key, the VPC network interfaces and X-Ray."""
    statements: list[dict[str, Any]] = [
        {"Sid": f"Grant{i}", "Effect": "Allow", "Action": sorted(grant.actions),
         "Resource": grant_resources(grant, names),
         **({"Condition": signing_key_condition(names)} if grant.kind == "signing-key" else {})}
        for i, grant in enumerate(spec.grants)
    ]
    statements.append(
        {
            "Sid": "OwnLogGroup",
            "Effect": "Allow",
            "Action": list(LOG_WRITE_ACTIONS),
            "Resource": [f"{log_group_arn(names, names.log_group(spec.logical))}:*"],
        }
    )
    if kms_key_arn is not None:
        statements += _function_key_statements(spec, names, kms_key_arn)
    if tracing:
        # EXCEPTION (documented): X-Ray's trace upload has no resource-level permissions.
        statements.append({"Sid": "XRay", "Effect": "Allow", "Action": list(XRAY_ACTIONS), "Resource": "*"})
    if vpc_subnet_arns:
        statements += _vpc_statements(names, vpc_subnet_arns, vpc_security_group_arns)
    return {"Version": "2012-10-17", "Statement": statements}


def _key_via(sid: str, actions: Sequence[str], key_arn: Any, service: str, names: Names) -> dict[str, Any]:
    """Use of the stack's key only through ``service`` in this region (kms:ViaService)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": list(actions),
        "Resource": [key_arn],
        "Condition": {"StringEquals": {"kms:ViaService": f"{service}.{names.region}.amazonaws.com"}},
    }


def _function_key_statements(spec: FunctionSpec, names: Names, kms_key_arn: Any) -> list[dict[str, Any]]:
    """The stack's CMK: data keys for the objects it reads or writes (S3), for the queue it sends to (the
    on-failure destination sends to the CMK-encrypted queue with this role), and decrypting its
    environment variables (Lambda decrypts them with the execution role at start)."""
    statements = []
    if _touches_objects(spec):
        statements.append(_key_via("BucketKey", KMS_DATA_ACTIONS, kms_key_arn, "s3", names))
    if any(g.kind == "queue" for g in spec.grants):
        statements.append(_key_via("QueueKey", KMS_DATA_ACTIONS, kms_key_arn, "sqs", names))
    statements.append(_key_via("EnvironmentKey", ("kms:Decrypt",), kms_key_arn, "lambda", names))
    return statements


def _vpc_statements(names: Names, subnet_arns: Sequence[Any], security_group_arns: Sequence[Any]
                    ) -> list[dict[str, Any]]:
    """Lambda's network interfaces in the stack's subnets and security groups."""
    return [
        {
            "Sid": "VpcInterfaces",
            "Effect": "Allow",
            "Action": list(VPC_ENI_ACTIONS),
            "Resource": [_arn(names, "ec2", "network-interface/*"), *subnet_arns, *security_group_arns],
        },
        # EXCEPTION (documented): ec2:Describe* have no resource-level permissions.
        {"Sid": "VpcDescribe", "Effect": "Allow", "Action": list(VPC_DESCRIBE_ACTIONS), "Resource": "*"},
    ]


def state_machine_policy(function_arns: Sequence[Any], *, tracing: bool = False) -> Document:
    """The state machine may invoke exactly the given functions, deliver its logs and (``tracing``)
    send X-Ray traces."""
    xray: list[dict[str, Any]] = (
        [{"Sid": "XRay", "Effect": "Allow", "Action": list(SFN_XRAY_ACTIONS), "Resource": "*"}] if tracing else []
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            *xray,
            {
                "Sid": "InvokePipelineFunctions",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": list(function_arns),
            },
            {
                # EXCEPTION (documented): the CloudWatch Logs delivery APIs Step Functions uses do not
                # support resource-level permissions, so AWS requires Resource "*" for them.
                "Sid": "LogDelivery",
                "Effect": "Allow",
                "Action": list(SFN_LOG_DELIVERY_ACTIONS),
                "Resource": "*",
            },
        ],
    }


def assume_role_policy(service: str, source_account: str, source_arn: Any, *, if_exists: bool = False) -> Document:
    """Trust policy for one AWS service principal, only on behalf of this account and of that resource:
    the confused-deputy conditions AWS recommends for service roles. ``if_exists`` for a service that is
    not documented to send the keys on every AssumeRole (Lambda's execution role): a request carrying
    another account or resource is refused, one without the keys is not (a positive condition on an
    absent key would refuse every start of the function)."""
    suffix = "IfExists" if if_exists else ""
    condition: dict[str, Any] = {
        f"StringEquals{suffix}": {"aws:SourceAccount": source_account},
        f"ArnLike{suffix}": {"aws:SourceArn": source_arn},
    }
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
        "Condition": condition,
    }
    return {"Version": "2012-10-17", "Statement": [statement]}


def tls_only_statement(bucket_arn: Any) -> dict[str, Any]:
    """Deny every request that does not use TLS."""
    return _deny_bucket_requests("DenyInsecureTransport", bucket_arn, {"Bool": {"aws:SecureTransport": "false"}})


def tls_version_statement(bucket_arn: Any) -> dict[str, Any]:
    """Deny every request made with TLS older than 1.2."""
    return _deny_bucket_requests("DenyOldTls", bucket_arn, {"NumericLessThan": {"s3:TlsVersion": MIN_TLS_VERSION}})


def _deny_bucket_requests(sid: str, bucket_arn: Any, condition: dict[str, Any]) -> dict[str, Any]:
    """Deny everyone every request on the bucket and its objects that matches ``condition``."""
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, with_suffix(bucket_arn, "/*")],
        "Condition": condition,
    }


def kms_uploads_only_statements(bucket_arn: Any, key_arn: Any) -> list[dict[str, Any]]:
    """Deny an upload that asks for another encryption than SSE-KMS, or for another key than the stack's
    (an upload that names none gets the bucket default: SSE-KMS with the stack's key)."""
    objects = with_suffix(bucket_arn, "/*")
    return [
        {
            "Sid": "DenyNonKmsUploads",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": [objects],
            "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        },
        {
            "Sid": "DenyForeignKmsKey",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": [objects],
            "Condition": {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption-aws-kms-key-id": key_arn}},
        },
    ]


def log_immutability_statement(bucket_arn: Any) -> dict[str, Any]:
    """Nobody deletes a log object or version, or suspends versioning (lifecycle expiry still applies)."""
    return {
        "Sid": "DenyLogTampering",
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutBucketVersioning",
                   "s3:PutBucketObjectLockConfiguration"],
        "Resource": [bucket_arn, with_suffix(bucket_arn, "/*")],
    }


def cloudtrail_bucket_statements(bucket_arn: Any, trail_arn: str, account_id: str) -> list[dict[str, Any]]:
    """CloudTrail (only this stack's trail) may check the bucket ACL and write its log files."""
    condition = {"StringEquals": {"aws:SourceArn": trail_arn}}
    return [
        {
            "Sid": "CloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": condition,
        },
        {
            "Sid": "CloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": with_suffix(bucket_arn, f"/AWSLogs/{account_id}/*"),
            "Condition": {
                "StringEquals": {"aws:SourceArn": trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"}
            },
        },
    ]


def replication_policy(source_arn: Any, replica_arn: Any, source_region: str, replica_region: str,
                       source_key: Any | None, replica_key: Any | None) -> Document:
    """S3 replication of the raw bucket: read the source's versions (with their lock), write the replica."""
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadSourceConfiguration", "Effect": "Allow",
         "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": [source_arn]},
        {"Sid": "ReadSourceVersions", "Effect": "Allow",
         "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
                    "s3:GetObjectRetention", "s3:GetObjectLegalHold"],
         "Resource": [with_suffix(source_arn, "/*")]},
        {"Sid": "WriteReplica", "Effect": "Allow",
         "Action": ["s3:ReplicateObject", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"],
         "Resource": [with_suffix(replica_arn, "/*")]},
    ]
    if source_key is not None:
        statements.append({"Sid": "DecryptSource", "Effect": "Allow", "Action": ["kms:Decrypt"],
                           "Resource": [source_key],
                           "Condition": {"StringEquals": {"kms:ViaService": f"s3.{source_region}.amazonaws.com"}}})
    if replica_key is not None:
        statements.append({"Sid": "EncryptReplica", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                           "Resource": [replica_key],
                           "Condition": {"StringEquals": {"kms:ViaService": f"s3.{replica_region}.amazonaws.com"}}})
    return {"Version": "2012-10-17", "Statement": statements}


def with_suffix(value: Any, suffix: str) -> Any:
    """``value + suffix`` for a plain string or a ``pulumi.Output`` (computing a string, no resources)."""
    if isinstance(value, str):
        return value + suffix
    return value.apply(lambda v: f"{v}{suffix}")


def access_log_delivery_statement(log_bucket_arn: Any, source_bucket_arns: Sequence[Any],
                                  account_id: str) -> dict[str, Any]:
    """Let S3 server access logging write into the log bucket, only for our buckets and account."""
    return {
        "Sid": "S3ServerAccessLogsPolicy",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": ["s3:PutObject"],
        "Resource": [with_suffix(log_bucket_arn, "/*")],
        "Condition": {
            "ArnLike": {"aws:SourceArn": list(source_bucket_arns)},
            "StringEquals": {"aws:SourceAccount": account_id},
        },
    }
