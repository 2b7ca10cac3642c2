"""The stack's ``genomics.deployment.Names`` (account, region and partition come from the provider, never
typed in code), the names of the infrastructure-only resources, the data-classification tags and the
resource options of stateful resources."""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_aws as aws

from genomics.deployment import Names, TableNaming
from infra.config import StackConfig, protected

CLASSIFICATION_TAG = "genomics:data-classification"
# GDPR Art. 9 special category (genetic data) / HIPAA PHI when linked to identifiers; pseudonymous ids and
# object keys (the ledger, logs, queue and topic messages name samples); audit evidence; code only.
Classification = Literal["genetic-data", "pseudonymous-metadata", "audit-log", "code"]


def current_names(stack: str, table_names: TableNaming = "ledger") -> Names:
    """Names of ``stack`` in the account/region/partition the AWS provider is configured for;
    ``table_names``: how its tables are named (config key tableNames)."""
    return Names(
        stack=stack,
        account_id=aws.get_caller_identity().account_id,
        region=aws.get_region().region,
        partition=aws.get_partition().partition,
        table_names=table_names,
    )


def classified(classification: Classification) -> dict[str, str]:
    """The data-classification tag of a data resource (the provider's default tags add stack and project)."""
    return {CLASSIFICATION_TAG: classification}


def trail_name(names: Names) -> str:
    return f"{names.prefix}-trail"


def trail_arn(names: Names) -> str:
    return f"arn:{names.partition}:cloudtrail:{names.region}:{names.account_id}:trail/{trail_name(names)}"


def trail_bucket_name(names: Names) -> str:
    return f"{names.prefix}-audit-trail-{names.account_id}-{names.region}"


def stateful(config: StackConfig, parent: pulumi.Resource, **extra: object) -> pulumi.ResourceOptions:
    """Options of a resource holding state (bucket, table, key, log bucket): in staging and prod
    ``protect`` (the engine refuses to delete or replace it, e.g. after a rename in a refactor) and
    ``retain_on_delete`` (removing it from the program leaves it in AWS)."""
    keep = protected(config)
    return pulumi.ResourceOptions(parent=parent, protect=keep, retain_on_delete=keep, **extra)  # type: ignore[arg-type]
