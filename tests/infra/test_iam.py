"""Least privilege: one role per function with exactly its Grants on exact ARNs, its own log group,
and nothing else; the state machine may invoke only the pipeline functions.

Resource "*" is allowed for exactly three documented groups of actions that have no resource-level
permissions in AWS: Step Functions log delivery, ec2:Describe* for Lambda VPC attachment, and
ecr:GetAuthorizationToken for the Fargate QC task's execution role (image pull).
"""

from __future__ import annotations

from genomics.deployment import FUNCTIONS, PIPELINE_FUNCTIONS, TABLES, Grant, Names
from infra.config import StackConfig
from infra.policies import (
    ECR_TOKEN_ACTIONS,
    SFN_LOG_DELIVERY_ACTIONS,
    SFN_XRAY_ACTIONS,
    STAR_RESOURCE_ACTIONS,
    VPC_DESCRIBE_ACTIONS,
    XRAY_ACTIONS,
)
from tests.infra.resources import Program, as_list, by_input, document, of_type, statements

# The groups of infra.policies.STAR_RESOURCE_ACTIONS, by who may use them (the one definition).
STAR_ALLOWED_SFN = set(SFN_LOG_DELIVERY_ACTIONS)
STAR_ALLOWED_VPC = set(VPC_DESCRIBE_ACTIONS)
STAR_ALLOWED_XRAY = set(XRAY_ACTIONS)
STAR_ALLOWED_SFN_XRAY = set(SFN_XRAY_ACTIONS)
STAR_ALLOWED_ECR = set(ECR_TOKEN_ACTIONS)


def _without_resource_level_permissions(action: str) -> bool:
    """The documented kinds of action AWS authorises only on Resource "*": Step Functions' log delivery
    and the log resource policies it needs, ec2:Describe* (Lambda in a VPC), X-Ray, the ECR login token."""
    service, _, name = action.partition(":")
    return (
        (service == "logs" and ("LogDeliver" in name or "ResourcePolic" in name or name == "DescribeLogGroups"))
        or (service == "ec2" and name.startswith("Describe"))
        or service == "xray"
        or action == "ecr:GetAuthorizationToken"
    )
EXTRA_PREFIXES = ("logs:", "kms:", "ec2:", "xray:")


def _expected_arns(grant: Grant, names: Names) -> list[str]:
    target = grant.target
    if grant.kind == "bucket":
        return [names.bucket_arn(target)]  # type: ignore[arg-type]
    if grant.kind == "objects":
        return [f"{names.bucket_arn(target)}/{grant.key_prefix}"]  # type: ignore[arg-type]
    if grant.kind == "table":
        return [names.table_arn(target)]  # type: ignore[arg-type]
    if grant.kind == "table-indexes":
        return [f"{names.table_arn(target)}/index/{i.name}" for i in TABLES[target].indexes]  # type: ignore[index,arg-type]
    if grant.kind == "state-machine":
        return [names.state_machine_arn()]
    if grant.kind == "queue":
        return [names.queue_arn()]
    if grant.kind == "function":
        return [names.function_arn(target)]
    if grant.kind == "signing-key":
        return [f"arn:{names.partition}:kms:{names.region}:{names.account_id}:key/*"]
    raise AssertionError(f"grant kind {grant.kind} not covered by this test")


def _platform(stmt: dict) -> bool:
    """A statement the program adds for the platform (logs, data key, VPC, X-Ray), not one of the Grants."""
    return as_list(stmt["Action"])[0].startswith(EXTRA_PREFIXES) and not str(stmt.get("Sid", "")).startswith("Grant")


def _pairs(stmts: list[dict]) -> set[tuple[str, str]]:
    return {(a, r) for s in stmts for a in as_list(s["Action"]) for r in as_list(s["Resource"])}


def _function_policy(program: Program, names: Names, logical: str) -> tuple[dict, dict]:
    fn = by_input(program, "aws:lambda/function:Function", "name", names.function(logical))[0]
    policies = [p for p in of_type(program, "aws:iam/rolePolicy:RolePolicy") if p["parent"] == fn["parent"]]
    assert len(policies) == 1, f"{fn['urn']}: expected one inline policy, got {[p['urn'] for p in policies]}"
    return fn, policies[0]


def test_iam_function_policy_grants_exactly_its_grants(program: Program, names: Names) -> None:
    for logical, spec in FUNCTIONS.items():
        _, policy = _function_policy(program, names, logical)
        stmts = [s for s in statements(document(policy)) if not _platform(s)]
        signing = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [names.signing_key_alias]}}
        for stmt in stmts:  # no condition, except the signing key's alias on kms:Sign
            condition = signing if as_list(stmt["Action"]) == ["kms:Sign"] else None
            assert stmt["Effect"] == "Allow" and stmt.get("Condition") == condition, f"{policy['urn']}: {stmt}"
        expected = {(a, r) for g in spec.grants for a in g.actions for r in _expected_arns(g, names)}
        assert _pairs(stmts) == expected, (
            f"{policy['urn']}: extra {sorted(_pairs(stmts) - expected)}, missing {sorted(expected - _pairs(stmts))}"
        )


def test_iam_only_web_tasks_signs_manifests_by_the_keys_alias(program: Program, names: Names) -> None:
    """kms:Sign (web deliveries' manifests) for web-tasks only, on the key behind the signing alias."""
    signers: dict[str, list[dict]] = {}
    for logical in FUNCTIONS:
        _, policy = _function_policy(program, names, logical)
        found = [s for s in statements(document(policy)) if "kms:Sign" in as_list(s["Action"])]
        if found:
            signers[logical] = found
    assert list(signers) == ["web-tasks"], f"functions that may sign: {sorted(signers)}"
    (stmt,) = signers["web-tasks"]
    assert as_list(stmt["Action"]) == ["kms:Sign"], stmt
    assert stmt["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [names.signing_key_alias]}}, stmt


def test_iam_function_logs_only_to_own_log_group(program: Program, names: Names) -> None:
    for logical in FUNCTIONS:
        _, policy = _function_policy(program, names, logical)
        group = f"arn:{names.partition}:logs:{names.region}:{names.account_id}:log-group:{names.log_group(logical)}"
        stmts = [s for s in statements(document(policy)) if as_list(s["Action"])[0].startswith("logs:")]
        expected = {(a, f"{group}:*") for a in ("logs:CreateLogStream", "logs:PutLogEvents")}
        assert _pairs(stmts) == expected, f"{policy['urn']}: log permissions {_pairs(stmts)}"


def test_iam_function_kms_only_on_stack_key_when_enabled(program: Program, names: Names, config: StackConfig) -> None:
    # data keys only here: the manifest-signing key (infra.partners, SIGN_VERIFY) is a Grant of web-tasks alone
    # (test_iam_only_web_tasks_signs_manifests_by_the_keys_alias)
    keys = [k["outputs"]["arn"] for k in of_type(program, "aws:kms/key:Key")
            if k["inputs"].get("keyUsage", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"]
    assert len(keys) == (1 if config.kms else 0), f"KMS keys {keys} for kms={config.kms}"
    for logical, spec in FUNCTIONS.items():
        _, policy = _function_policy(program, names, logical)
        stmts = [s for s in statements(document(policy)) if as_list(s["Action"])[0].startswith("kms:") and _platform(s)]
        if not config.kms:
            assert not stmts, f"{policy['urn']}: kms permissions without need: {stmts}"
            continue
        expected: dict[str, set[str]] = {"lambda": {"kms:Decrypt"}}  # its encrypted environment
        if any(g.kind == "objects" for g in spec.grants):
            expected["s3"] = {"kms:Decrypt", "kms:GenerateDataKey"}
        if any(g.kind == "queue" for g in spec.grants):
            expected["sqs"] = {"kms:Decrypt", "kms:GenerateDataKey"}
        granted: dict[str, set[str]] = {}
        for stmt in stmts:
            assert as_list(stmt["Resource"]) == [keys[0]], f"{policy['urn']}: kms on {stmt['Resource']}"
            via = stmt["Condition"]["StringEquals"]["kms:ViaService"]
            service = via.split(".")[0]
            assert via == f"{service}.{names.region}.amazonaws.com", f"{policy['urn']}: kms via {via}"
            granted.setdefault(service, set()).update(as_list(stmt["Action"]))
        assert granted == expected, f"{policy['urn']}: kms permissions {granted} != {expected}"


def test_iam_no_wildcard_actions(program: Program) -> None:
    for policy in of_type(program, "aws:iam/rolePolicy:RolePolicy"):
        for stmt in statements(document(policy)):
            wild = [a for a in as_list(stmt["Action"]) if "*" in a]
            assert not wild, f"{policy['urn']}: wildcard actions {wild}"


def test_iam_star_resource_only_for_documented_actions(program: Program, config: StackConfig) -> None:
    for policy in of_type(program, "aws:iam/rolePolicy:RolePolicy"):
        is_workflow = policy["inputs"].get("name") == "invoke-and-log"
        is_task_execution = policy["name"].startswith("fargate-qc-execution")
        xray = (STAR_ALLOWED_SFN_XRAY if is_workflow else STAR_ALLOWED_XRAY) if config.tracing else set()
        allowed = (STAR_ALLOWED_SFN if is_workflow else STAR_ALLOWED_ECR if is_task_execution
                   else (STAR_ALLOWED_VPC if config.vpc else set())) | xray
        star = {a for s in statements(document(policy)) if "*" in as_list(s["Resource"]) for a in as_list(s["Action"])}
        assert star <= allowed, f"{policy['urn']}: Resource '*' for undocumented actions {sorted(star - allowed)}"
        if is_workflow:
            assert star == STAR_ALLOWED_SFN | xray, f"{policy['urn']}: log delivery permissions incomplete: {star}"


def test_iam_state_machine_invokes_only_the_pipeline_functions(program: Program, names: Names) -> None:
    """The four pipeline functions, not the status API (only API Gateway invokes that)."""
    policy = by_input(program, "aws:iam/rolePolicy:RolePolicy", "name", "invoke-and-log")
    assert len(policy) == 1, f"expected one workflow policy, got {[p['urn'] for p in policy]}"
    stmts = [s for s in statements(document(policy[0])) if "*" not in as_list(s["Resource"])]
    declared = {f["inputs"]["name"]: f["outputs"]["arn"] for f in of_type(program, "aws:lambda/function:Function")}
    assert len(declared) == len(FUNCTIONS), f"functions declared: {declared}"
    pipeline = {declared[names.function(logical)] for logical in PIPELINE_FUNCTIONS}
    assert len(pipeline) == 4
    assert _pairs(stmts) == {("lambda:InvokeFunction", arn) for arn in pipeline}, (
        f"{policy[0]['urn']}: non-log permissions {_pairs(stmts)}"
    )


def test_iam_roles_trust_only_their_service(program: Program) -> None:
    machine_roles = {m["inputs"]["roleArn"] for m in of_type(program, "aws:sfn/stateMachine:StateMachine")}
    schedule_roles = {s["inputs"]["target"]["roleArn"] for s in of_type(program, "aws:scheduler/schedule:Schedule")}
    replication_roles = {r["inputs"]["role"]
                         for r in of_type(program, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")}
    task_defs = of_type(program, "aws:ecs/taskDefinition:TaskDefinition")
    task_roles = {t["inputs"][k] for t in task_defs for k in ("taskRoleArn", "executionRoleArn")}
    for role in of_type(program, "aws:iam/role:Role"):
        arn = role["outputs"]["arn"]
        service = ("states.amazonaws.com" if arn in machine_roles
                   else "scheduler.amazonaws.com" if arn in schedule_roles
                   else "s3.amazonaws.com" if arn in replication_roles
                   else "ecs-tasks.amazonaws.com" if arn in task_roles else "lambda.amazonaws.com")
        stmts = statements(document(role, "assumeRolePolicy"))
        principals = [s["Principal"] for s in stmts]
        assert principals == [{"Service": service}], f"{role['urn']}: trusted principals {principals}"
        assert [s["Action"] for s in stmts] == ["sts:AssumeRole"], f"{role['urn']}: trust actions"


def test_iam_no_managed_policies_attached(program: Program) -> None:
    for typ in ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment"):
        attached = of_type(program, typ)
        assert not attached, f"managed policies carry Resource '*': {[a['urn'] for a in attached]}"


def test_iam_star_resource_actions_are_only_those_without_resource_level_permissions() -> None:
    groups = STAR_ALLOWED_SFN | STAR_ALLOWED_VPC | STAR_ALLOWED_SFN_XRAY | STAR_ALLOWED_ECR
    assert groups == set(STAR_RESOURCE_ACTIONS), sorted(groups ^ set(STAR_RESOURCE_ACTIONS))
    widened = sorted(a for a in STAR_RESOURCE_ACTIONS if not _without_resource_level_permissions(a))
    assert not widened, f"infra.policies.STAR_RESOURCE_ACTIONS: actions with resource-level permissions {widened}"
