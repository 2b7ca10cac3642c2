"""SweepSchedule: EventBridge Scheduler invokes the sweeper function on the stack's rate, and an alarm
fires when a sweep ended any job (something stopped without failing loudly; genomics.ledger.sweeper).

The schedule's role may invoke exactly the sweeper function and is assumable only by EventBridge
Scheduler on behalf of this account. Idle cost: Scheduler's free tier covers 14 million invocations a
month; one alarm ($0.10 a month beyond the free ten).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from genomics.deployment import METRICS_NAMESPACE, Names
from infra import policies
from infra.config import StackConfig

SCHEDULER_SERVICE = "scheduler.amazonaws.com"


@dataclass(frozen=True)
class SweepScheduleArgs:
    names: Names
    config: StackConfig
    function: aws.lambda_.Function
    alerts_topic_arn: pulumi.Input[str]


def invoke_policy(function_arn: pulumi.Input[str]) -> policies.Document:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn}],
    }


class SweepSchedule(pulumi.ComponentResource):
    """Scheduler role + its invoke policy + the schedule + the JobsSwept alarm."""

    role: aws.iam.Role
    schedule: aws.scheduler.Schedule
    alarm: aws.cloudwatch.MetricAlarm
    unacknowledged_alarm: aws.cloudwatch.MetricAlarm

    def __init__(self, name: str, args: SweepScheduleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:operations:SweepSchedule", name, None, opts)
        names, settings = args.names, args.config.settings
        child = pulumi.ResourceOptions(parent=self)
        self.role = aws.iam.Role(
            f"{name}-role",
            name=f"{names.sweep_schedule}-schedule-role",
            assume_role_policy=pulumi.Output.json_dumps(
                policies.assume_role_policy(
                    SCHEDULER_SERVICE,
                    names.account_id,
                    f"arn:{names.partition}:scheduler:{names.region}:{names.account_id}:schedule/default/"
                    f"{names.sweep_schedule}",
                )
            ),
            description=f"EventBridge Scheduler invokes {names.function('sweeper')}",
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            name="invoke-sweeper",
            policy=pulumi.Output.json_dumps(invoke_policy(args.function.arn)),
            opts=child,
        )
        self.schedule = aws.scheduler.Schedule(
            f"{name}-schedule",
            name=names.sweep_schedule,
            description="End jobs stuck in a running state past their deadline",
            schedule_expression=settings.sweep_schedule(),
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=args.function.arn,
                role_arn=self.role.arn,
                input="{}",
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(maximum_retry_attempts=2),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-jobs-swept",
            name=f"{names.prefix}-jobs-swept",
            alarm_description=f"{names.function('sweeper')} ended stuck jobs (see its log and `genomics status "
            "--failed-since`)",
            namespace=METRICS_NAMESPACE,
            metric_name="JobsSwept",
            dimensions={"service": "sweeper"},
            statistic="Sum",
            period=max(300, settings.sweep_rate_minutes * 60),
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[args.alerts_topic_arn],
            ok_actions=[args.alerts_topic_arn],
            opts=child,
        )
        self.unacknowledged_alarm = aws.cloudwatch.MetricAlarm(
            f"{name}-deliveries-unacknowledged",
            name=f"{names.prefix}-deliveries-unacknowledged",
            alarm_description=f"partner deliveries not acknowledged within {settings.delivery_ack_days} days "
            "(see the sweeper's log and `genomics partner deliveries NAME`)",
            namespace=METRICS_NAMESPACE,
            metric_name="DeliveriesUnacknowledged",
            dimensions={"service": "sweeper"},
            statistic="Maximum",
            period=max(300, settings.sweep_rate_minutes * 60),
            evaluation_periods=1,
            threshold=0,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[args.alerts_topic_arn],
            ok_actions=[args.alerts_topic_arn],
            opts=child,
        )
        self.register_outputs({"schedule": self.schedule.name, "alarm": self.alarm.name,
                               "unacknowledged_alarm": self.unacknowledged_alarm.name})
