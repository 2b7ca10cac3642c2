"""The state machine runs genomics.workflow.definition with the ARNs of the declared functions."""

from __future__ import annotations

import json

from genomics import workflow
from genomics.deployment import PIPELINE_FUNCTIONS, Names
from infra.config import StackConfig
from tests.infra.resources import Program, by_input, document, of_type


def _task_resources(node: object) -> set[str]:
    """Every ``Resource`` value of every Task state, at any depth (Map item processors included)."""
    found: set[str] = set()
    if isinstance(node, dict):
        if node.get("Type") == "Task":
            found.add(node["Resource"])
        for value in node.values():
            found |= _task_resources(value)
    elif isinstance(node, list):
        for value in node:
            found |= _task_resources(value)
    return found


def test_workflow_definition_equals_genomics_workflow_definition(
    program: Program, names: Names, config: StackConfig
) -> None:
    machine = by_input(program, "aws:sfn/stateMachine:StateMachine", "name", names.state_machine)[0]
    arns = {
        logical: by_input(program, "aws:lambda/function:Function", "name", names.function(logical))[0]["outputs"]["arn"]
        for logical in PIPELINE_FUNCTIONS
    }
    tasks = of_type(program, "aws:ecs/taskDefinition:TaskDefinition")
    ecs = None
    if tasks:
        (cluster,) = of_type(program, "aws:ecs/cluster:Cluster")
        # ids under mocks are "<resource name>-id" (tests.infra.mocks)
        subnets = [f"{s['name']}-id" for s in of_type(program, "aws:ec2/subnet:Subnet")]
        sgs = ["network-functions-sg-id"]
        ecs = workflow.EcsTarget(cluster["outputs"]["arn"], tasks[0]["outputs"]["arn"], subnets, sgs)
    assert (ecs is not None) == config.settings.fargate, f"{machine['urn']}: Fargate path vs settings.fargate"
    expected = json.loads(json.dumps(workflow.definition(arns, config.settings, ecs)))
    assert document(machine, "definition") == expected, f"{machine['urn']}: definition differs from the data"


def test_workflow_tasks_reference_only_declared_function_arns(program: Program, names: Names) -> None:
    machine = by_input(program, "aws:sfn/stateMachine:StateMachine", "name", names.state_machine)[0]
    declared = {r["outputs"]["arn"] for r in of_type(program, "aws:lambda/function:Function")}
    used = _task_resources(document(machine, "definition")) - {workflow.ECS_RUN_TASK_SYNC}
    assert used, f"{machine['urn']}: no task states"
    assert used <= declared, f"{machine['urn']}: tasks use undeclared resources {sorted(used - declared)}"


def test_workflow_logs_errors_without_execution_data(program: Program, names: Names) -> None:
    machine = by_input(program, "aws:sfn/stateMachine:StateMachine", "name", names.state_machine)[0]
    logging = machine["inputs"]["loggingConfiguration"]
    groups = {r["outputs"]["arn"] for r in of_type(program, "aws:cloudwatch/logGroup:LogGroup")}
    assert logging["logDestination"].removesuffix(":*") in groups, f"{machine['urn']}: log destination {logging}"
    assert logging["level"] in ("ERROR", "ALL"), f"{machine['urn']}: logging level {logging['level']}"
    assert logging["includeExecutionData"] is False, f"{machine['urn']}: logs execution data (sample metadata)"
