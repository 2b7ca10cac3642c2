"""Workflow: the Step Functions state machine built from ``genomics.workflow.definition``, its role
(invoke exactly the four pipeline functions, deliver its logs) and its log group."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from genomics import workflow
from genomics.deployment import Names
from infra import policies
from infra.common import inline_policy, log_group, service_role
from infra.config import StackConfig
from infra.fargate import FargateQc, state_machine_scale_policy


@dataclass(frozen=True)
class WorkflowArgs:
    names: Names
    config: StackConfig
    function_arns: Mapping[str, pulumi.Input[str]]
    # The stack's CMK for the log group (prod); None = the service's default encryption.
    kms_key_arn: pulumi.Input[str] | None = None
    # The Fargate QC path (settings.fargate): its ecs:runTask.sync state and permissions.
    fargate: FargateQc | None = None


class Workflow(pulumi.ComponentResource):
    """State machine + role + log group."""

    state_machine: aws.sfn.StateMachine
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, args: WorkflowArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:workflow:Workflow", name, None, opts)
        names, config = args.names, args.config
        self.log_group = log_group(f"{name}-logs", self, name=f"/aws/vendedlogs/states/{names.state_machine}",
                                   retention_days=config.settings.log_retention_days, kms_key_arn=args.kms_key_arn)
        self.role = service_role(f"{name}-role", self, name=f"{names.state_machine}-role",
                                 service="states.amazonaws.com", account_id=names.account_id,
                                 source_arn=names.state_machine_arn())
        arns = [args.function_arns[logical] for logical in sorted(args.function_arns)]
        policy = inline_policy(f"{name}-policy", self, role=self.role, name="invoke-and-log",
                               document=policies.state_machine_policy(arns, tracing=config.tracing))
        # Distributed Map children, its item reader and (with Fargate) the ECS .sync task: a policy of its own.
        scale = inline_policy(f"{name}-scale-out-policy", self, role=self.role, name="scale-out",
                              document=state_machine_scale_policy(names, fargate=args.fargate is not None))
        definition = workflow.definition(args.function_arns, config.settings,
                                         args.fargate.target if args.fargate else None)
        self.state_machine = aws.sfn.StateMachine(
            f"{name}-state-machine",
            name=names.state_machine,
            type="STANDARD",
            role_arn=self.role.arn,
            definition=pulumi.Output.json_dumps(definition),
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                level="ERROR",
                include_execution_data=False,
                log_destination=pulumi.Output.concat(self.log_group.arn, ":*"),
            ),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=config.tracing),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, scale]),
        )
        self.register_outputs({"arn": self.state_machine.arn, "name": self.state_machine.name})
