"""IAM policy documents as data, built from ``genomics.deployment`` Grants. Pure functions: no resources.

Values may be plain strings or ``pulumi.Output`` (e.g. a KMS key ARN); callers render with
``pulumi.Output.json_dumps``.

Resource ``"*"`` appears in exactly two places, both because the AWS API offers no resource-level
permission for these actions (see :data:`STAR_RESOURCE_ACTIONS`):
- Step Functions log delivery (``logs:*LogDelivery``, resource policies, ``DescribeLogGroups``);
- ``ec2:Describe*`` needed by Lambda to attach functions to VPC subnets (only when the VPC is on).
``tests/infra/test_iam.py`` allows ``"*"`` for exactly these actions and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
# The only actions ever granted on Resource "*": AWS has no resource-level permissions for them.
STAR_RESOURCE_ACTIONS: frozenset[str] = frozenset(SFN_LOG_DELIVERY_ACTIONS + VPC_DESCRIBE_ACTIONS)
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
    raise ValueError(f"unknown grant kind {kind!r}")


def _touches_objects(spec: FunctionSpec) -> bool:
    return any(g.kind == "objects" for g in spec.grants)


def function_policy(
    spec: FunctionSpec,
    names: Names,
    *,
    kms_key_arn: Any | None = None,
    vpc_subnet_arns: Sequence[Any] = (),
    vpc_security_group_arns: Sequence[Any] = (),
) -> Document:
    """The inline policy of one function's role: its Grants, its own log group, and (when enabled) the
    data key and the VPC network interfaces."""
    statements: list[dict[str, Any]] = []
    for i, grant in enumerate(spec.grants):
        statements.append(
            {
                "Sid": f"Grant{i}",
                "Effect": "Allow",
                "Action": sorted(grant.actions),
                "Resource": grant_resources(grant, names),
            }
        )
    statements.append(
        {
            "Sid": "OwnLogGroup",
            "Effect": "Allow",
            "Action": list(LOG_WRITE_ACTIONS),
            "Resource": [f"{log_group_arn(names, names.log_group(spec.logical))}:*"],
        }
    )
    if kms_key_arn is not None and _touches_objects(spec):
        statements.append(
            {
                "Sid": "BucketKey",
                "Effect": "Allow",
                "Action": list(KMS_DATA_ACTIONS),
                "Resource": [kms_key_arn],
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{names.region}.amazonaws.com"}},
            }
        )
    if vpc_subnet_arns:
        statements.append(
            {
                "Sid": "VpcInterfaces",
                "Effect": "Allow",
                "Action": list(VPC_ENI_ACTIONS),
                "Resource": [
                    _arn(names, "ec2", "network-interface/*"),
                    *vpc_subnet_arns,
                    *vpc_security_group_arns,
                ],
            }
        )
        statements.append(
            {
                # EXCEPTION (documented): ec2:Describe* have no resource-level permissions.
                "Sid": "VpcDescribe",
                "Effect": "Allow",
                "Action": list(VPC_DESCRIBE_ACTIONS),
                "Resource": "*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def state_machine_policy(function_arns: Sequence[Any]) -> Document:
    """The state machine may invoke exactly the given functions and deliver its logs."""
    return {
        "Version": "2012-10-17",
        "Statement": [
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


def assume_role_policy(service: str, source_account: str | None = None) -> Document:
    """Trust policy for one AWS service principal; with ``source_account``, only on behalf of that
    account (confused deputy; Step Functions passes it, Lambda's execution-role assumption does not)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if source_account is not None:
        statement["Condition"] = {"StringEquals": {"aws:SourceAccount": source_account}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def tls_only_statement(bucket_arn: Any) -> dict[str, Any]:
    """Deny every request that does not use TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, with_suffix(bucket_arn, "/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def with_suffix(value: Any, suffix: str) -> Any:
    """``value + suffix`` for a plain string or a ``pulumi.Output`` (computing a string, no resources)."""
    if isinstance(value, str):
        return value + suffix
    return value.apply(lambda v: f"{v}{suffix}")


def partner_statements(bucket_arn: Any, partners: Mapping[str, str], partition: str) -> list[dict[str, Any]]:
    """Read-only access for each partner account to ``partners/<name>/*`` of the delivery bucket."""
    statements: list[dict[str, Any]] = []
    for name, account in sorted(partners.items()):
        principal = {"AWS": f"arn:{partition}:iam::{account}:root"}
        sid = "".join(part.capitalize() for part in name.split("-"))
        statements.append(
            {
                "Sid": f"Partner{sid}Read",
                "Effect": "Allow",
                "Principal": principal,
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": [with_suffix(bucket_arn, f"/partners/{name}/*")],
            }
        )
        statements.append(
            {
                "Sid": f"Partner{sid}List",
                "Effect": "Allow",
                "Principal": principal,
                "Action": ["s3:ListBucket"],
                "Resource": [bucket_arn],
                "Condition": {"StringLike": {"s3:prefix": [f"partners/{name}/*"]}},
            }
        )
    return statements


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
