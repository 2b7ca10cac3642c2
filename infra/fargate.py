"""The scale-out side of the workflow: the Fargate QC path (cluster, task definition of
``genomics.deployment.fargate_container``, its task role as narrow as quality-metrics' role, its execution
role, its log group) and the state machine's extra permissions (Distributed Map child executions and item
reader; ``ecs:runTask.sync`` on exactly this task definition, ``iam:PassRole`` on exactly its two roles, the
managed EventBridge rule the .sync integration uses). Policies are data (the ``*_policy`` functions below)
turned into JSON with ``Output.json_dumps``; nothing is created inside an ``apply``.

Fargate exists when ``settings.fargate`` is on, which needs the VPC (``infra.config`` checks): tasks run in
the private subnets with the functions' security group; ECR and CloudWatch Logs are reached through
interface endpoints (``infra.network``) and S3 (image layers, data) through its gateway endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from genomics import deployment, workflow
from genomics.deployment import FUNCTIONS, Names
from infra import policies
from infra.common import inline_policy, log_group, service_role
from infra.config import StackConfig
from infra.functions import VpcPlacement

Document = dict[str, Any]
# The rule Step Functions manages for ECS .sync integrations (AWS names it; documented).
SFN_ECS_RULE = "StepFunctionsGetEventsForECSTaskRule"
ECR_PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
# EXCEPTION (documented in infra.policies): ecr:GetAuthorizationToken has no resource-level permission.
ECR_TOKEN_ACTIONS = policies.ECR_TOKEN_ACTIONS


def _arn(names: Names, service: str, resource: str) -> str:
    return f"arn:{names.partition}:{service}:{names.region}:{names.account_id}:{resource}"


def distributed_map_statements(names: Names) -> list[Document]:
    """A Distributed Map runs its items as child executions of this state machine and reads the items
    (the plan's JSON array) from the processed bucket's tmp/ prefix."""
    machine = names.state_machine_arn()
    executions = _arn(names, "states", f"execution:{names.state_machine}/*")
    return [
        {"Sid": "DistributedMapChildren", "Effect": "Allow", "Action": ["states:StartExecution"],
         "Resource": [machine]},
        {"Sid": "DistributedMapRuns", "Effect": "Allow",
         "Action": ["states:DescribeExecution", "states:StopExecution"], "Resource": [executions]},
        {"Sid": "DistributedMapItems", "Effect": "Allow", "Action": ["s3:GetObject"],
         "Resource": [f"{names.bucket_arn('processed')}/{deployment.TMP_PREFIX}/*"]},
    ]


def fargate_statements(names: Names) -> list[Document]:
    """ecs:runTask.sync on the QC task definition in the QC cluster only; pass its two roles to ECS tasks
    only; the .sync integration's managed rule."""
    return [
        {"Sid": "RunQcTask", "Effect": "Allow", "Action": ["ecs:RunTask"],
         "Resource": [names.task_definition_arn_pattern()],
         "Condition": {"ArnEquals": {"ecs:cluster": names.cluster_arn()}}},
        {"Sid": "WatchQcTasks", "Effect": "Allow", "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
         "Resource": [names.tasks_arn_pattern()]},
        {"Sid": "PassQcTaskRoles", "Effect": "Allow", "Action": ["iam:PassRole"],
         "Resource": [names.role_arn(names.task_role), names.role_arn(names.task_execution_role)],
         "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}},
        {"Sid": "SyncIntegrationRule", "Effect": "Allow",
         "Action": ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
         "Resource": [_arn(names, "events", f"rule/{SFN_ECS_RULE}")]},
    ]


def state_machine_scale_policy(names: Names, *, fargate: bool) -> Document:
    statements = distributed_map_statements(names) + (fargate_statements(names) if fargate else [])
    return {"Version": "2012-10-17", "Statement": statements}


def task_role_policy(names: Names, kms_key_arn: Any | None = None) -> Document:
    """Exactly quality-metrics' Grants (the task runs the same core on the same data), and the data key."""
    spec = FUNCTIONS[deployment.FARGATE_FUNCTION]
    statements: list[Document] = [
        {"Sid": f"Grant{i}", "Effect": "Allow", "Action": sorted(g.actions),
         "Resource": policies.grant_resources(g, names)}
        for i, g in enumerate(spec.grants)
    ]
    if kms_key_arn is not None:
        statements.append({"Sid": "BucketKey", "Effect": "Allow", "Action": list(policies.KMS_DATA_ACTIONS),
                           "Resource": [kms_key_arn],
                           "Condition": {"StringEquals": {"kms:ViaService": f"s3.{names.region}.amazonaws.com"}}})
    return {"Version": "2012-10-17", "Statement": statements}


def execution_role_policy(names: Names, repository_arn: Any) -> Document:
    """Pull the handler image and write the task's log group; nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "PullImage", "Effect": "Allow", "Action": list(ECR_PULL_ACTIONS), "Resource": [repository_arn]},
            {"Sid": "EcrToken", "Effect": "Allow", "Action": list(ECR_TOKEN_ACTIONS), "Resource": "*"},
            {"Sid": "TaskLogs", "Effect": "Allow", "Action": list(policies.LOG_WRITE_ACTIONS),
             "Resource": [f"{policies.log_group_arn(names, names.task_log_group)}:*"]},
        ],
    }


@dataclass(frozen=True)
class FargateQcArgs:
    names: Names
    config: StackConfig
    image_uri: pulumi.Input[str]
    repository_arn: pulumi.Input[str]
    vpc: VpcPlacement
    kms_key_arn: pulumi.Input[str] | None = None


class FargateQc(pulumi.ComponentResource):
    """ECS cluster + QC task definition + task role + execution role + log group."""

    cluster: aws.ecs.Cluster
    task_definition: aws.ecs.TaskDefinition
    task_role: aws.iam.Role
    execution_role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    target: workflow.EcsTarget

    def __init__(self, name: str, args: FargateQcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:fargate:FargateQc", name, None, opts)
        names, settings = args.names, args.config.settings
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            name=names.cluster,
            # Container Insights bills per task metric: off (a dev/idle stack costs nothing).
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="disabled")],
            opts=child,
        )
        self.log_group = log_group(f"{name}-logs", self, name=names.task_log_group,
                                   retention_days=settings.log_retention_days, kms_key_arn=args.kms_key_arn)
        # ECS assumes both roles for tasks of this account only (confused deputy); the keys are not documented
        # on every AssumeRole ECS makes, so they are checked when present, as for Lambda's roles.
        def task_role(logical: str, role_name: str, description: str) -> aws.iam.Role:
            return service_role(logical, self, name=role_name, service="ecs-tasks.amazonaws.com",
                                account_id=names.account_id, source_arn=_arn(names, "ecs", "*"), if_exists=True,
                                description=description)

        self.task_role = task_role(f"{name}-task-role", names.task_role, "QC task on Fargate: quality-metrics' grants")
        self.execution_role = task_role(f"{name}-execution-role", names.task_execution_role,
                                        "QC task's image pull and logs")
        task_policy = inline_policy(f"{name}-task-policy", self, role=self.task_role, name="grants",
                                    document=task_role_policy(names, args.kms_key_arn))
        exec_policy = inline_policy(f"{name}-execution-policy", self, role=self.execution_role, name="pull-and-log",
                                    document=execution_role_policy(names, args.repository_arn))
        container = deployment.fargate_container(names, settings, args.image_uri)
        self.task_definition = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=names.task_family,
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            **deployment.fargate_task_sizes(settings),
            ephemeral_storage=aws.ecs.TaskDefinitionEphemeralStorageArgs(
                size_in_gib=deployment.FARGATE_BASE_EPHEMERAL_GIB),
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                cpu_architecture="X86_64", operating_system_family="LINUX"),
            task_role_arn=self.task_role.arn,
            execution_role_arn=self.execution_role.arn,
            container_definitions=pulumi.Output.json_dumps([container]),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[task_policy, exec_policy, self.log_group]),
        )
        self.target = workflow.EcsTarget(
            cluster_arn=self.cluster.arn,
            task_definition_arn=self.task_definition.arn,
            subnet_ids=list(args.vpc.subnet_ids),
            security_group_ids=list(args.vpc.security_group_ids),
        )
        self.register_outputs({"cluster": self.cluster.arn, "task_definition": self.task_definition.arn})
