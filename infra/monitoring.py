"""Monitoring: the alerts topic, CloudWatch alarms (the pipeline functions' errors and throttles, failed
workflow executions, dead-letter queue depth, the status API's 5xx answers) and a monthly AWS Budgets
cost budget that alerts the topic.

Eleven alarms for the whole stack: the CloudWatch free tier covers 10 standard alarms, so monitoring
costs an idle stack $0.10 a month. The status API's function answers a failure with a 500 rather than
a Lambda error, so its alarm watches the API's 5xx count (which also catches throttled or failed
invocations), not the function's Errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from genomics.deployment import Names
from infra.config import StackConfig

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

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:monitoring:Monitoring", name, None, opts)
        names, config = args.names, args.config
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(f"{name}-alerts", name=names.alerts_topic, opts=child)
        aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=self.topic.arn,
            policy=pulumi.Output.json_dumps(topic_policy(self.topic.arn, names.account_id)),
            opts=child,
        )
        if config.alert_email:
            aws.sns.TopicSubscription(
                f"{name}-alerts-email", topic=self.topic.arn, protocol="email", endpoint=config.alert_email,
                opts=child,
            )

        self.alarms = []
        for logical, function_name in sorted(args.function_names.items()):
            for metric in ("Errors", "Throttles"):
                self.alarms.append(
                    self._alarm(name, names, f"{logical}-{metric.lower()}", f"{names.function(logical)} {metric}",
                                "AWS/Lambda", metric, {"FunctionName": function_name}, child)
                )
        self.alarms.append(
            self._alarm(name, names, "workflow-failed", f"{names.state_machine} failed executions", "AWS/States",
                        "ExecutionsFailed", {"StateMachineArn": args.state_machine_arn}, child)
        )
        self.alarms.append(
            self._alarm(name, names, "dlq-depth", f"{names.dead_letter_queue} has failed uploads", "AWS/SQS",
                        "ApproximateNumberOfMessagesVisible", {"QueueName": args.dead_letter_queue_name}, child,
                        statistic="Maximum")
        )
        if args.status_api_id is not None:
            self.alarms.append(
                self._alarm(name, names, "status-api-5xx", f"{names.prefix}-status-api answered 5xx",
                            "AWS/ApiGateway", "5xx", {"ApiId": args.status_api_id}, child)
            )

        self.budget = aws.budgets.Budget(
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
            opts=child,
        )
        self.register_outputs({"alerts_topic_arn": self.topic.arn, "budget": self.budget.name})

    def _alarm(self, name: str, names: Names, suffix: str, description: str, namespace: str, metric: str,
               dimensions: Mapping[str, pulumi.Input[str]], child: pulumi.ResourceOptions,
               statistic: str = "Sum") -> aws.cloudwatch.MetricAlarm:
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{suffix}",
            name=f"{names.prefix}-{suffix}",
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            dimensions=dict(dimensions),
            statistic=statistic,
            period=PERIOD_S,
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
            opts=child,
        )
