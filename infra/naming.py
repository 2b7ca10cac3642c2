"""The stack's ``genomics.deployment.Names``: account, region and partition come from the provider
(never typed in code)."""

from __future__ import annotations

import pulumi_aws as aws

from genomics.deployment import Names


def current_names(stack: str) -> Names:
    """Names of ``stack`` in the account/region/partition the AWS provider is configured for."""
    return Names(
        stack=stack,
        account_id=aws.get_caller_identity().account_id,
        region=aws.get_region().region,
        partition=aws.get_partition().partition,
    )
