"""Monitoring: the alerts topic (the stack's CMK in prod; an e-mail subscription, required in
staging/prod), CloudWatch alarms (the pipeline functions' errors and throttles, failed, timed-out and
aborted workflow executions, DynamoDB throttling on the ledger tables, dead-letter queue depth, the status
API's 5xx answers and 4xx spikes), a monthly AWS Budgets cost budget that alerts the topic, and the
activation of the cost-allocation tag the budget filters on (without it the budget reads $0).

Fourteen alarms: the CloudWatch free tier covers 10 standard alarms and a metric-math alarm bills per
metric it reads, so monitoring costs an idle stack about $1.30 a month (docs/operations.md). The status
API's function answers a failure with a 500 rather than a Lambda error, so its alarm watches the API's
5xx count (which also catches throttled or failed invocations), not the function's Errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from genomics.deployment import Names
from infra.common import metric_alarm
from infra.config import StackConfig
from infra.naming import classified

PERIOD_S = 300
# The provider's default tags put this tag on every resource; activate it as a cost allocation tag.
COST_TAG = "genomics:stack"


@dataclass(frozen=True)
class MonitoringArgs:
    names: Names
    config: StackConfig
    function_names: Mapping[str, pulumi.Input[str]]
    state_machine_arn: pulumi.Input[str]
    dead_letter_queue_name: pulumi.Input[str]
    status_api_id: pulumi.Input[str] | None = None
    table_names: Mapping[str, pulumi.Input[str]] | None = None
    kms_key_arn: pulumi.Input[str] | None = None


def topic_policy(topic_arn: Any, account_id: str) -> dict[str, Any]:
    """CloudWatch alarms and AWS Budgets of this account may publish to the alerts topic."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"{service.split('.')[0].capitalize()}Publish",
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
            for service in ("cloudwatch.amazonaws.com", "budgets.amazonaws.com")
        ],
    }


class Monitoring(pulumi.ComponentResource):
    """Alerts topic, alarms and the cost budget."""

    topic: aws.sns.Topic
    alarms: list[aws.cloudwatch.MetricAlarm]
    budget: aws.budgets.Budget
    cost_tag: aws.costexplorer.CostAllocationTag

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:monitoring:Monitoring", name, None, opts)
        self.topic = self._topic(name, args)
        self.alarms = self._alarms(name, args)
        self.cost_tag, self.budget = self._budget(name, args)
        self.register_outputs({"alerts_topic_arn": self.topic.arn, "budget": self.budget.name})

    def _topic(self, name: str, args: MonitoringArgs) -> aws.sns.Topic:
        """The alerts topic, who may publish to it, and the operators' e-mail subscription."""
        names, config = args.names, args.config
        child = pulumi.ResourceOptions(parent=self)
        topic = aws.sns.Topic(
            f"{name}-alerts",
            name=names.alerts_topic,
            # Alarm texts name functions and queues, not samples; still, prod keeps it on the stack's CMK.
            kms_master_key_id=args.kms_key_arn,
            tags=classified("pseudonymous-metadata"),
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=topic.arn,
            policy=pulumi.Output.json_dumps(topic_policy(topic.arn, names.account_id)),
            opts=child,
        )
        if config.alert_email:
            aws.sns.TopicSubscription(
                f"{name}-alerts-email", topic=topic.arn, protocol="email", endpoint=config.alert_email,
                opts=child,
            )
        return topic

    def _alarms(self, name: str, args: MonitoringArgs) -> list[aws.cloudwatch.MetricAlarm]:
        """The pipeline functions' errors and throttles, the workflow's failed, timed-out and aborted
        executions, the dead-letter queue, the ledger tables' throttling and the status API's answers."""
        names, config = args.names, args.config
        alarms = []
        for logical, function_name in sorted(args.function_names.items()):
            for metric in ("Errors", "Throttles"):
                alarms.append(
                    self._alarm(name, names, f"{logical}-{metric.lower()}", f"{names.function(logical)} {metric}",
                                "AWS/Lambda", metric, {"FunctionName": function_name})
                )
        alarms.append(
            self._alarm(name, names, "workflow-failed", f"{names.state_machine} failed executions", "AWS/States",
                        "ExecutionsFailed", {"StateMachineArn": args.state_machine_arn})
        )
        alarms.append(
            self._alarm(name, names, "dlq-depth", f"{names.dead_letter_queue} has failed uploads", "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible", {"QueueName": args.dead_letter_queue_name},
                        statistic="Maximum")
        )
        alarms.append(
            self._sum_alarm(
                name, names, "workflow-timed-out-or-aborted", f"{names.state_machine} executions timed out or aborted",
                [("AWS/States", metric, {"StateMachineArn": args.state_machine_arn})
                 for metric in ("ExecutionsTimedOut", "ExecutionsAborted")],
            )
        )
        if args.table_names:
            alarms.append(
                self._sum_alarm(
                    name, names, "ledger-throttled", f"{names.prefix} ledger tables throttled reads or writes",
                    [("AWS/DynamoDB", metric, {"TableName": table})
                     for _, table in sorted(args.table_names.items())
                     for metric in ("ReadThrottleEvents", "WriteThrottleEvents")],
                )
            )
        if args.status_api_id is not None:
            alarms.append(
                self._alarm(name, names, "status-api-5xx", f"{names.prefix}-status-api answered 5xx",
                            "AWS/ApiGateway", "5xx", {"ApiId": args.status_api_id})
            )
            alarms.append(
                self._alarm(name, names, "status-api-4xx", f"{names.prefix}-status-api 4xx spike (denied or bad "
                            "requests: probing, a broken client, expired credentials)", "AWS/ApiGateway", "4xx",
                            {"ApiId": args.status_api_id}, threshold=config.api_4xx_threshold)
            )
        return alarms

    def _budget(self, name: str, args: MonitoringArgs) -> tuple[aws.costexplorer.CostAllocationTag, aws.budgets.Budget]:
        """The monthly cost budget alerting the topic, and the cost-allocation tag its filter reads."""
        names, config = args.names, args.config
        # Account-level: the budget's filter reads costs by this tag only once it is active. Kept when the
        # stack is destroyed (other stacks in the account filter on it too).
        cost_tag = aws.costexplorer.CostAllocationTag(
            f"{name}-cost-tag",
            tag_key=COST_TAG,
            status="Active",
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        budget = aws.budgets.Budget(
            f"{name}-budget",
            name=f"{names.prefix}-monthly",
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{config.monthly_budget_usd:.2f}",
            limit_unit="USD",
            cost_filters=[
                aws.budgets.BudgetCostFilterArgs(name="TagKeyValue", values=[f"user:{COST_TAG}${names.stack}"])
            ],
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    comparison_operator="GREATER_THAN",
                    notification_type=kind,
                    threshold=threshold,
                    threshold_type="PERCENTAGE",
                    subscriber_sns_topic_arns=[self.topic.arn],
                )
                for kind, threshold in (("ACTUAL", 80.0), ("FORECASTED", 100.0))
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return cost_tag, budget

    def _alarm(self, name: str, names: Names, suffix: str, description: str, namespace: str, metric: str,
               dimensions: Mapping[str, pulumi.Input[str]], statistic: str = "Sum",
               threshold: float = 0) -> aws.cloudwatch.MetricAlarm:
        return metric_alarm(
            f"{name}-{suffix}", self, name=f"{names.prefix}-{suffix}", description=description,
            topic_arn=self.topic.arn, threshold=threshold, namespace=namespace, metric=metric,
            dimensions=dimensions, statistic=statistic, period=PERIOD_S,
        )

    def _sum_alarm(self, name: str, names: Names, suffix: str, description: str,
                   metrics: list[tuple[str, str, Mapping[str, pulumi.Input[str]]]]) -> aws.cloudwatch.MetricAlarm:
        """One alarm on the sum of several metrics (metric math), e.g. timeouts + aborts."""
        queries = [
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=f"m{i}",
                return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=namespace, metric_name=metric, dimensions=dict(dimensions), period=PERIOD_S,
                    stat="Sum",
                ),
            )
            for i, (namespace, metric, dimensions) in enumerate(metrics)
        ]
        total = "+".join(f"FILL(m{i},0)" for i in range(len(metrics)))
        queries.append(
            aws.cloudwatch.MetricAlarmMetricQueryArgs(id="total", expression=total, label=suffix, return_data=True)
        )
        return metric_alarm(f"{name}-{suffix}", self, name=f"{names.prefix}-{suffix}", description=description,
                            topic_arn=self.topic.arn, queries=queries)
