"""Least privilege derived from the code: each function role's declared grants equal the AWS calls its code
can make (``tests/infra/awscalls.py`` scans the handler and every module it reaches). A grant no call uses
fails; a call no grant covers fails. Compared with what the program declares (the recorded inline
policies), so a widened policy fails however it was widened."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from genomics.deployment import BUCKET_ROLES, FUNCTIONS, TABLES, Names
from tests.infra.awscalls import Call, function_calls
from tests.infra.resources import Program, as_list, by_input, document, of_type, statements

# Grants that no code path calls but AWS requires of the role: (function, action, target) -> why.
INFRA_GRANTS: dict[tuple[str, str, str], str] = {
    ("validation-handler", "sqs:SendMessage", "queue"):
        "Lambda delivers failed asynchronous events to the on-failure destination with the execution role",
}
# Statements the program adds for the platform, not for the code (tested in test_iam/test_security); a
# function's own grants (Sid Grant<n>) are compared whatever their service.
PLATFORM_PREFIXES = ("logs:", "kms:", "ec2:", "xray:")


def _targets(names: Names) -> dict[str, str]:
    """ARN (or ARN prefix before a key pattern) -> the scan's target name."""
    found: dict[str, str] = {names.state_machine_arn(): "state-machine", names.queue_arn(): "queue"}
    for logical in FUNCTIONS:
        found[names.function_arn(logical)] = "function"
    for role in BUCKET_ROLES:
        found[names.bucket_arn(role)] = role
    for role in TABLES:
        found[names.table_arn(role)] = role
    return found


def _target(resource: str, names: Names) -> str:
    targets = _targets(names)
    if resource in targets:
        return targets[resource]
    for arn, target in targets.items():
        if resource.startswith(f"{arn}/index/"):
            return f"{target}#index"
        if resource.startswith(f"{arn}/"):
            return target
    if ":execution:" in resource:
        return "executions"
    if resource == f"arn:{names.partition}:kms:{names.region}:{names.account_id}:key/*":
        return "signing-key"
    raise AssertionError(f"grant on an unknown resource {resource}")


def declared_grants(program: Program, names: Names, logical: str) -> set[tuple[str, str]]:
    """(action, target) pairs of the function's declared inline policy, platform statements aside."""
    fn = by_input(program, "aws:lambda/function:Function", "name", names.function(logical))
    assert len(fn) == 1, f"stack {program.stack}: function {names.function(logical)} declared {len(fn)} times"
    policies = [p for p in of_type(program, "aws:iam/rolePolicy:RolePolicy") if p["parent"] == fn[0]["parent"]]
    pairs: set[tuple[str, str]] = set()
    for policy in policies:
        for stmt in statements(document(policy)):
            for action in as_list(stmt["Action"]):
                if action.startswith(PLATFORM_PREFIXES) and not str(stmt.get("Sid", "")).startswith("Grant"):
                    continue
                pairs.update((action, _target(r, names)) for r in as_list(stmt["Resource"]))
    return pairs


def _covers(grants: Iterable[tuple[str, str]], call: Call) -> bool:
    return any(a == call.action and (call.target is None or t == call.target) for a, t in grants)


def check_grants_match_code(program: Program, names: Names) -> None:
    problems: list[str] = []
    for logical, spec in FUNCTIONS.items():
        calls = function_calls(spec.handler)
        grants = declared_grants(program, names, logical)
        for call in sorted(calls, key=lambda c: (c.action, str(c.target), c.where)):
            if not _covers(grants, call):
                problems.append(f"{logical}: {call.action} on {call.target or 'any'} at {call.where} has no grant")
        for action, target in sorted(grants):
            used = any(c.action == action and c.target in (None, target) for c in calls)
            if not used and (logical, action, target) not in INFRA_GRANTS:
                problems.append(f"{logical}: grant {action} on {target} is used by no call of its code")
    assert not problems, f"stack {program.stack}:\n" + "\n".join(problems)


def test_least_privilege_grants_equal_the_calls_of_the_code(program: Program, names: Names) -> None:
    check_grants_match_code(program, names)


def test_least_privilege_infra_grants_are_declared(program: Program, names: Names) -> None:
    for (logical, action, target), why in INFRA_GRANTS.items():
        assert (action, target) in declared_grants(program, names, logical), f"{logical}: {action} ({why})"


def test_least_privilege_object_versions_only_on_versioned_buckets(program: Program, names: Names) -> None:
    versioned = {
        r["inputs"]["bucket"] for r in of_type(program, "aws:s3/bucketVersioning:BucketVersioning")
        if r["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    }
    ids = {f"{b['name']}-id": b["inputs"]["bucket"] for b in of_type(program, "aws:s3/bucket:Bucket")}
    versioned_roles = {role for role in BUCKET_ROLES if f"{names.bucket(role)}" in {ids.get(v) for v in versioned}}
    for logical in FUNCTIONS:
        for action, target in declared_grants(program, names, logical):
            if action == "s3:GetObjectVersion":
                assert target in versioned_roles, f"{logical}: GetObjectVersion on unversioned bucket {target}"


@pytest.mark.parametrize("logical", sorted(FUNCTIONS))
def test_least_privilege_scan_finds_the_calls_of_every_function(logical: str) -> None:
    """The scan reaches into each function's code (a scan that finds nothing would pass vacuously)."""
    calls = function_calls(FUNCTIONS[logical].handler)
    assert calls, f"{logical}: the scan found no AWS call in {FUNCTIONS[logical].handler}"
    assert all(c.where.startswith(("genomics/", "handlers/")) for c in calls), calls


def test_least_privilege_scan_reads_a_synthetic_module(tmp_path: object) -> None:
    import ast

    from tests.infra.awscalls import calls_in

    source = (
        "def f(s3, ddb, cfg, self):\n"
        "    s3.get_object(Bucket=cfg.raw_bucket, Key='k', VersionId='v')\n"
        "    s3.upload_file('x', cfg.processed_bucket, 'k')\n"
        "    ddb.query(TableName=self.jobs_table, IndexName='by-status', KeyConditionExpression='x')\n"
        "    self._call('put_item', TableName=self.metadata_table, Item={})\n"
        "    {}.copy()\n"
    )
    found = {(c.action, c.target) for c in calls_in(ast.parse(source), "m.py")}
    assert found == {
        ("s3:GetObject", "raw"), ("s3:GetObjectVersion", "raw"), ("s3:PutObject", "processed"),
        ("dynamodb:Query", "jobs#index"), ("dynamodb:PutItem", "metadata"),
    }, found
