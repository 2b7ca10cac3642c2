"""The scale-out resources: the state machine's Distributed Map and ECS .sync permissions (exact, so any
widening fails), the Fargate QC task's roles (the task role exactly quality-metrics' grants), its task
definition built from genomics.deployment, in the VPC's private subnets; Fargate only with the VPC."""

from __future__ import annotations

import json

import pytest

from genomics import deployment, workflow
from genomics.deployment import FUNCTIONS, Names
from infra import policies
from infra.config import ConfigError, StackConfig, stack_config_from
from tests.infra.resources import Program, as_list, by_input, document, of_type, statements


def _pairs(stmts: list[dict]) -> set[tuple[str, str]]:
    return {(a, r) for s in stmts for a in as_list(s["Action"]) for r in as_list(s["Resource"])}


def _scale_policy(program: Program) -> dict:
    found = by_input(program, "aws:iam/rolePolicy:RolePolicy", "name", "scale-out")
    assert len(found) == 1, [p["urn"] for p in found]
    return found[0]


def test_fargate_state_machine_scale_policy_is_exact(program: Program, names: Names, config: StackConfig) -> None:
    policy = _scale_policy(program)
    (role,) = by_input(program, "aws:iam/role:Role", "name", f"{names.state_machine}-role")
    assert policy["inputs"]["role"] == f"{role['name']}-id", f"{policy['urn']}: not on the state machine's role"
    stmts = statements(document(policy))
    expected = {
        ("states:StartExecution", names.state_machine_arn()),
        ("states:DescribeExecution", f"arn:aws:states:{names.region}:{names.account_id}:execution:"
                                     f"{names.state_machine}/*"),
        ("states:StopExecution", f"arn:aws:states:{names.region}:{names.account_id}:execution:"
                                 f"{names.state_machine}/*"),
        ("s3:GetObject", f"{names.bucket_arn('processed')}/tmp/*"),
    }
    if config.settings.fargate:
        expected |= {
            ("ecs:RunTask", names.task_definition_arn_pattern()),
            ("ecs:DescribeTasks", names.tasks_arn_pattern()),
            ("ecs:StopTask", names.tasks_arn_pattern()),
            ("iam:PassRole", names.role_arn(names.task_role)),
            ("iam:PassRole", names.role_arn(names.task_execution_role)),
            *{(a, f"arn:aws:events:{names.region}:{names.account_id}:rule/StepFunctionsGetEventsForECSTaskRule")
              for a in ("events:DescribeRule", "events:PutRule", "events:PutTargets")},
        }
    assert _pairs(stmts) == expected, f"{policy['urn']}: {sorted(_pairs(stmts) ^ expected)}"
    for s in stmts:
        if "ecs:RunTask" in as_list(s["Action"]):
            assert s["Condition"] == {"ArnEquals": {"ecs:cluster": names.cluster_arn()}}, policy["urn"]
        if "iam:PassRole" in as_list(s["Action"]):
            assert s["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}, policy["urn"]


def test_fargate_task_role_has_exactly_quality_metrics_grants(program: Program, names: Names,
                                                              config: StackConfig) -> None:
    if not config.settings.fargate:
        assert not of_type(program, "aws:ecs/taskDefinition:TaskDefinition")
        return
    (task_policy,) = [p for p in of_type(program, "aws:iam/rolePolicy:RolePolicy")
                      if p["name"] == "fargate-qc-task-policy"]
    got = {(a, r) for s in statements(document(task_policy)) if not s["Sid"].startswith("BucketKey")
           for a in as_list(s["Action"]) for r in as_list(s["Resource"])}
    spec = FUNCTIONS[deployment.FARGATE_FUNCTION]
    want = {(a, r) for g in spec.grants for a in g.actions for r in policies.grant_resources(g, names)}
    assert got == want, f"{task_policy['urn']}: {sorted(got ^ want)}"
    (exec_policy,) = [p for p in of_type(program, "aws:iam/rolePolicy:RolePolicy")
                      if p["name"] == "fargate-qc-execution-policy"]
    (repo,) = of_type(program, "aws:ecr/repository:Repository")
    log = f"arn:aws:logs:{names.region}:{names.account_id}:log-group:{names.task_log_group}:*"
    assert _pairs(statements(document(exec_policy))) == {
        ("ecr:BatchCheckLayerAvailability", repo["outputs"]["arn"]), ("ecr:BatchGetImage", repo["outputs"]["arn"]),
        ("ecr:GetDownloadUrlForLayer", repo["outputs"]["arn"]), ("ecr:GetAuthorizationToken", "*"),
        ("logs:CreateLogStream", log), ("logs:PutLogEvents", log),
    }, exec_policy["urn"]


def test_fargate_task_definition_runs_the_image_qc_command_with_the_functions_environment(
    program: Program, names: Names, config: StackConfig
) -> None:
    tasks = of_type(program, "aws:ecs/taskDefinition:TaskDefinition")
    if not config.settings.fargate:
        assert not tasks and not of_type(program, "aws:ecs/cluster:Cluster")
        return
    (task,) = tasks
    inputs = task["inputs"]
    assert inputs["requiresCompatibilities"] == ["FARGATE"] and inputs["networkMode"] == "awsvpc", task["urn"]
    assert inputs["cpu"] == str(config.settings.fargate_vcpu * 1024), task["urn"]
    assert inputs["ephemeralStorage"] == {"sizeInGib": 21.0}, task["urn"]
    (container,) = json.loads(inputs["containerDefinitions"])
    (image,) = [f for f in of_type(program, "aws:lambda/function:Function")
                if f["inputs"]["name"] == names.function("quality-metrics")]
    assert container["image"] == image["inputs"]["imageUri"], task["urn"]
    assert container["entryPoint"] == list(deployment.FARGATE_ENTRYPOINT), task["urn"]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env == deployment.environment("quality-metrics", names, config.settings), task["urn"]
    (group,) = by_input(program, "aws:cloudwatch/logGroup:LogGroup", "name", names.task_log_group)
    assert container["logConfiguration"]["options"]["awslogs-group"] == group["inputs"]["name"]


def test_fargate_tasks_run_in_the_vpc_private_subnets_without_public_ip(program: Program,
                                                                       config: StackConfig) -> None:
    (machine,) = of_type(program, "aws:sfn/stateMachine:StateMachine")
    states = document(machine, "definition")["States"]
    if not config.settings.fargate:
        assert "QcFargate" not in states
        return
    net = states["QcFargate"]["Parameters"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    subnets = {f"{s['name']}-id" for s in of_type(program, "aws:ec2/subnet:Subnet")}
    assert set(net["Subnets"]) == subnets and len(subnets) >= 2, machine["urn"]
    assert net["SecurityGroups"] == ["network-functions-sg-id"] and net["AssignPublicIp"] == "DISABLED"
    assert states["QcFargate"]["Resource"] == workflow.ECS_RUN_TASK_SYNC
    assert states["QcFargate"]["TimeoutSeconds"] == config.settings.fargate_timeout_s


def test_fargate_config_needs_the_vpc() -> None:
    with pytest.raises(ConfigError, match="fargate"):
        stack_config_from("dev", {"fargate": "true", "vpc": "false"}.get)
    with pytest.raises(ConfigError, match="fargateVcpu"):
        stack_config_from("dev", {"fargate": "true", "vpc": "true", "fargateVcpu": "3"}.get)
    assert stack_config_from("dev", {"fargate": "true", "vpc": "true"}.get).settings.fargate
