"""Every step's input and output round-trips through the real ASL (moto's Step Functions interpreter).

The workflow's definition (genomics.workflow) runs with stand-in functions (tests/unit/steps_probe.py) that
parse each event strictly into its genomics.steps type and return a typed result. One execution per branch
(VCF single pass and scatter, alignment QC single, inline shards, Distributed Map, Fargate, store-only):
each step must parse, and what it parsed must equal what the steps before it returned, after the ASL's
Parameters, ItemSelector, ResultSelector and ResultPath moved it. A field renamed on one side only fails
here: the definition cannot be built (genomics.steps.path) or a step cannot parse its event.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import boto3
import pytest

from genomics import steps, workflow
from genomics.deployment import FARGATE_CONTAINER, Names, Settings
from genomics.local.deploy import deploy_fargate
from genomics.local.server import ACCOUNT_ID, REGION, local_cloud
from tests.localcloud import wait_execution
from tests.unit import steps_probe

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("metadata-updater", "vcf-processor", "quality-metrics")
BUCKET = steps_probe.PLAN_BUCKET


def _functions(lam, role_arn: str) -> dict[str, str]:
    arns = {}
    for role in ROLES:
        arns[role] = lam.create_function(
            FunctionName=f"probe-{role}", PackageType="Image", Code={"ImageUri": "x/y:z"}, Role=role_arn,
            ImageConfig={"Command": ["tests.unit.steps_probe.handler"]},
            Environment={"Variables": {"PROBE_ROLE": role}}, Timeout=60, MemorySize=128,
        )["FunctionArn"]
    return arns


def _fargate(settings: Settings) -> workflow.EcsTarget:
    """The Fargate path in moto, with the probe as the task's command (the adapter runs it for real)."""
    names = Names(stack=settings.stack, account_id=ACCOUNT_ID, region=REGION)
    ecs = deploy_fargate(names, settings, boto3.Session())
    container = {"name": FARGATE_CONTAINER, "image": "x/y:z", "essential": True, "memory": 512,
                 "entryPoint": [sys.executable, "-m", "tests.unit.steps_probe"], "command": ["--help"],
                 "environment": [{"name": "PYTHONPATH", "value": str(ROOT)}]}
    task_def = boto3.client("ecs").register_task_definition(
        family="probe", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
        containerDefinitions=[container])["taskDefinition"]["taskDefinitionArn"]
    return workflow.EcsTarget(ecs.cluster_arn, task_def, ecs.subnet_ids, ecs.security_group_ids)


def _input(job_id: str, key: str, fmt: str) -> steps.WorkflowInput:
    return steps.WorkflowInput(
        job_id=job_id, project="p", sample_id="s", assay="wgs",
        input=steps.InputRef(bucket="raw", key=key, version_id="v1", sha256="a" * 64, size=1234, format=fmt,
                             assembly="GRCh38", sex="female", conformance={"warnings": [], "counts": {}},
                             result_id="r" * 16, run_folder=None))


BRANCHES = {
    "vcf-single": ("p/s/calls.vcf.gz", "vcf"),
    "vcf-scatter": ("p/s/scatter.vcf.gz", "vcf"),
    "bam-single": ("p/s/reads.bam", "bam"),
    "bam-inline": ("p/s/qcscatter.bam", "bam"),
    "bam-distributed": ("p/s/qcdist.bam", "bam"),
    "bam-fargate": ("p/s/fargate.bam", "bam"),
    "bcl-stored": ("p/s/run/RTAComplete.txt", "bcl"),
}


@pytest.fixture(scope="module")
def executions() -> dict[str, tuple[steps.WorkflowInput, dict, list[dict]]]:
    settings = Settings(stack="steps", fargate=True)
    with local_cloud():
        iam, lam, sfn, s3 = (boto3.client(s) for s in ("iam", "lambda", "stepfunctions", "s3"))
        role_arn = iam.create_role(RoleName="probe", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        definition = workflow.definition(_functions(lam, role_arn), settings, _fargate(settings))
        machine = sfn.create_state_machine(name="steps", definition=json.dumps(definition),
                                           roleArn=role_arn)["stateMachineArn"]
        # The same definition with one parameter renamed on the ASL side only (Gather's plan -> plans).
        drifted = copy.deepcopy(definition)
        params = drifted["States"]["Gather"]["Parameters"]
        params["plans.$"] = params.pop("plan.$")
        drifted_machine = sfn.create_state_machine(name="drifted", definition=json.dumps(drifted),
                                                   roleArn=role_arn)["stateMachineArn"]
        s3.create_bucket(Bucket=BUCKET)
        started = {}
        for name, (key, fmt) in {**BRANCHES, "drifted": BRANCHES["vcf-scatter"]}.items():
            payload = _input(f"job-{name}", key, fmt)
            if "qcdist" in key:  # the Distributed Map's item array, where the plan points
                plan = steps_probe.qc_plan(steps.QcPlanRequest(**vars(payload)))
                s3.put_object(Bucket=BUCKET, Key=plan.items.key, Body=json.dumps(
                    [{"index": i, "contigs": [f"chr{i + 1}"], "ranges": [[0, 10]]} for i in range(2)]).encode())
            arn = sfn.start_execution(stateMachineArn=drifted_machine if name == "drifted" else machine,
                                      name=payload.job_id,
                                      input=json.dumps(payload.to_dict()))["executionArn"]
            started[name] = (payload, arn)
        done = {name: (payload, wait_execution(arn, timeout=180)) for name, (payload, arn) in started.items()}
        calls = list(steps_probe.CALLS)
    return {name: (payload, desc, [c for c in calls if _job(c) == payload.job_id])
            for name, (payload, desc) in done.items()}


def _job(call: dict) -> str | None:
    req = call.get("request")
    if req is None:
        event = call["event"]
        return event.get("job_id") or (event.get("state") or {}).get("job_id")
    return req.state.job_id if isinstance(req, steps.FinalizeRequest) else req.job_id


def _one(calls: list[dict], role: str, action: str | None) -> dict:
    found = [c for c in calls if c["role"] == role and c["action"] == action]
    assert len(found) == 1, (role, action, found)
    return found[0]


def _check(executions: dict, name: str) -> tuple[steps.WorkflowInput, list[dict], steps.ExecutionState]:
    payload, desc, calls = executions[name]
    errors = [c for c in calls if "error" in c]
    assert not errors, errors
    assert desc["status"] == "SUCCEEDED", desc
    assert not [c for c in calls if c["action"] == "fail"]
    final = _one(calls, "metadata-updater", "finalize")
    state = final["request"].state
    # The execution input arrives at the end as it went in.
    assert steps.WorkflowInput.from_dict(state.to_dict()) == payload
    # Every step got the job's fields as the input typed them.
    for call in calls:
        req = call["request"]
        if isinstance(req, steps.WorkflowInput):
            assert steps.WorkflowInput.from_dict(req.to_dict()) == payload, (call["role"], call["action"])
    # Finalize's answer is the execution's output, under $.final.
    assert json.loads(desc["output"])["final"] == final["result"].to_dict()
    return payload, calls, state


def test_steps_asl_vcf_single_pass_round_trip(executions):
    _payload, calls, state = _check(executions, "vcf-single")
    plan = _one(calls, "vcf-processor", "plan")["result"]
    process = _one(calls, "vcf-processor", "process")
    assert process["request"].plan == plan and state.plan == plan
    assert state.processed == process["result"]
    qc = _one(calls, "quality-metrics", None)
    assert qc["request"].processed == process["result"]
    assert state.qc == qc["result"]
    marks = [c["request"].to for c in calls if c["action"] == "transition"]
    assert marks == ["PROCESSING", "QC"]


def test_steps_asl_vcf_scatter_round_trip(executions):
    _payload, calls, state = _check(executions, "vcf-scatter")
    plan = _one(calls, "vcf-processor", "plan")["result"]
    shards = sorted((c for c in calls if c["action"] == "shard"), key=lambda c: c["request"].shard["index"])
    assert [c["request"].shard for c in shards] == plan.shards
    assert all(c["request"].plan == plan for c in shards)
    gather = _one(calls, "vcf-processor", "gather")
    assert gather["request"].plan == plan
    assert gather["request"].shards == [c["result"] for c in shards]  # the Map's results, in order
    assert state.shards == gather["request"].shards and state.processed == gather["result"]
    assert _one(calls, "quality-metrics", None)["request"].processed == gather["result"]


def test_steps_asl_alignment_single_pass_round_trip(executions):
    _payload, calls, state = _check(executions, "bam-single")
    assert state.processed == steps.SKIPPED and state.plan is None
    qcplan = _one(calls, "quality-metrics", "plan")["result"]
    assert state.qcplan == qcplan and qcplan.mode == "single"
    qc = _one(calls, "quality-metrics", None)
    assert qc["request"].processed == steps.SKIPPED and state.qc == qc["result"]


@pytest.mark.parametrize("name", ["bam-inline", "bam-distributed"])
def test_steps_asl_alignment_shards_round_trip(executions, name):
    _payload, calls, state = _check(executions, name)
    qcplan = _one(calls, "quality-metrics", "plan")["result"]
    shards = sorted((c for c in calls if c["role"] == "quality-metrics" and c["action"] == "shard"),
                    key=lambda c: c["request"].shard["index"])
    assert [c["request"].shard["index"] for c in shards] == [0, 1]
    assert all(c["request"].plan == qcplan for c in shards)
    if name == "bam-inline":
        assert [c["request"].shard for c in shards] == qcplan.shards
    gather = _one(calls, "quality-metrics", "gather")
    assert gather["request"].plan == qcplan
    assert state.qcplan == qcplan and state.qc == gather["result"]


def test_steps_asl_fargate_round_trip(executions):
    _payload, calls, state = _check(executions, "bam-fargate")
    qcplan = _one(calls, "quality-metrics", "plan")["result"]
    collect = _one(calls, "quality-metrics", "collect")
    assert collect["request"].plan == qcplan
    fargate = collect["request"].fargate
    assert fargate.exit_code == 0 and fargate.task_arn.startswith("arn:aws:ecs:")  # the probe parsed the state
    assert state.fargate == fargate and state.qc == collect["result"]


def test_steps_asl_store_only_round_trip(executions):
    payload, calls, state = _check(executions, "bcl-stored")
    assert [c["action"] for c in calls] == ["finalize"]
    assert state == steps.ExecutionState.from_dict(payload.to_dict())


def test_steps_asl_a_name_drifted_on_one_side_fails_the_round_trip(executions):
    """The check itself can fail: with Gather's ``plan`` renamed in the ASL only, gather cannot parse its
    event, the job is marked failed and the execution fails."""
    _payload, desc, calls = executions["drifted"]
    assert desc["status"] == "FAILED", desc
    errors = [c for c in calls if "error" in c]
    assert [(c["role"], c["action"]) for c in errors] == [("vcf-processor", "gather")]
    assert "plans" in errors[0]["error"]
    failed = _one(calls, "metadata-updater", "fail")["request"]
    assert failed.error == "StepDataError" and "plans" in (failed.cause or "")
