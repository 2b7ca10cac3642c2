"""Resource shapes several components declare the same way: a log group with the stack's retention and key,
a service role trusted only on behalf of this account and resource, its inline policy, and an alarm that
notifies the alerts topic. Each helper declares one resource as a child of ``parent`` under the logical
name it is given, so a component that uses one keeps its URNs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import policies
from infra.naming import classified


def log_group(logical: str, parent: pulumi.Resource, *, name: pulumi.Input[str], retention_days: int,
              kms_key_arn: pulumi.Input[str] | None) -> aws.cloudwatch.LogGroup:
    """A log group holding pseudonymous metadata: the stack's retention, its CMK where there is one (prod)."""
    return aws.cloudwatch.LogGroup(
        logical,
        name=name,
        retention_in_days=retention_days,
        kms_key_id=kms_key_arn,
        tags=classified("pseudonymous-metadata"),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def service_role(logical: str, parent: pulumi.Resource, *, name: str, service: str, account_id: str,
                 source_arn: Any, if_exists: bool = False, description: str | None = None) -> aws.iam.Role:
    """A role only ``service`` may assume, on behalf of this account and ``source_arn``
    (:func:`infra.policies.assume_role_policy`)."""
    return aws.iam.Role(
        logical,
        name=name,
        assume_role_policy=pulumi.Output.json_dumps(
            policies.assume_role_policy(service, account_id, source_arn, if_exists=if_exists)
        ),
        description=description,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def inline_policy(logical: str, parent: pulumi.Resource, *, role: aws.iam.Role, name: str,
                  document: policies.Document) -> aws.iam.RolePolicy:
    """``role``'s inline policy ``name`` rendered from a policy document (values may be Outputs)."""
    return aws.iam.RolePolicy(
        logical,
        role=role.id,
        name=name,
        policy=pulumi.Output.json_dumps(document),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def metric_alarm(logical: str, parent: pulumi.Resource, *, name: str, description: pulumi.Input[str],
                 topic_arn: pulumi.Input[str], threshold: float = 0, namespace: str | None = None,
                 metric: str | None = None, dimensions: Mapping[str, pulumi.Input[str]] | None = None,
                 statistic: str | None = None, period: int | None = None,
                 queries: Sequence[aws.cloudwatch.MetricAlarmMetricQueryArgs] | None = None,
                 ) -> aws.cloudwatch.MetricAlarm:
    """An alarm above ``threshold`` in one period (no data is not a breach) that notifies ``topic_arn``
    when it fires and when it recovers. It watches one metric (``namespace``/``metric``/``dimensions``/
    ``statistic``/``period``) or a metric-math expression (``queries``)."""
    return aws.cloudwatch.MetricAlarm(
        logical,
        name=name,
        alarm_description=description,
        namespace=namespace,
        metric_name=metric,
        dimensions=dict(dimensions) if dimensions is not None else None,
        statistic=statistic,
        period=period,
        metric_queries=list(queries) if queries is not None else None,
        evaluation_periods=1,
        threshold=threshold,
        comparison_operator="GreaterThanThreshold",
        treat_missing_data="notBreaching",
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn],
        opts=pulumi.ResourceOptions(parent=parent),
    )
