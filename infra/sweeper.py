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
from infra.common import inline_policy, metric_alarm, service_role
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
        self.role = service_role(
            f"{name}-role", self,
            name=f"{names.sweep_schedule}-schedule-role",
            service=SCHEDULER_SERVICE,
            account_id=names.account_id,
            source_arn=f"arn:{names.partition}:scheduler:{names.region}:{names.account_id}:schedule/default/"
            f"{names.sweep_schedule}",
            description=f"EventBridge Scheduler invokes {names.function('sweeper')}",
        )
        policy = inline_policy(f"{name}-policy", self, role=self.role, name="invoke-sweeper",
                               document=invoke_policy(args.function.arn))
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
        self.alarm = self._alarm(
            name, args, "jobs-swept", "JobsSwept", "Sum",
            f"{names.function('sweeper')} ended stuck jobs (see its log and `genomics status --failed-since`)",
        )
        self.unacknowledged_alarm = self._alarm(
            name, args, "deliveries-unacknowledged", "DeliveriesUnacknowledged", "Maximum",
            f"partner deliveries not acknowledged within {settings.delivery_ack_days} days "
            "(see the sweeper's log and `genomics partner deliveries NAME`)",
        )
        self.register_outputs({"schedule": self.schedule.name, "alarm": self.alarm.name,
                               "unacknowledged_alarm": self.unacknowledged_alarm.name})

    def _alarm(self, name: str, args: SweepScheduleArgs, suffix: str, metric: str, statistic: str,
               description: str) -> aws.cloudwatch.MetricAlarm:
        """An alarm on one of the sweeper's metrics (``<name>-<suffix>``, physical ``<prefix>-<suffix>``), a
        child of this component like the schedule, evaluated once per sweep."""
        return metric_alarm(
            f"{name}-{suffix}", self,
            name=f"{args.names.prefix}-{suffix}",
            description=description,
            topic_arn=args.alerts_topic_arn,
            namespace=METRICS_NAMESPACE,
            metric=metric,
            dimensions={"service": "sweeper"},
            statistic=statistic,
            period=max(300, args.config.settings.sweep_rate_minutes * 60),
        )
