"""The "Done when" mutations of issue 13: each is applied to the program (or its configuration), and the
infra checks must fail. A check that still passes on a mutated program would be a test that cannot fail.

- AdministratorAccess attached to every function role;
- ``s3:DeleteObject`` added to a role (a grant no code path uses);
- the trust policies' aws:SourceAccount/SourceArn conditions dropped;
- prod retention lowered in config;
- a documentation-placeholder account id.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pulumi_aws as aws
import pytest

from genomics import deployment
from genomics.deployment import Grant, Names
from infra import policies
from infra.config import ConfigError
from tests.infra import mocks, test_iam, test_security
from tests.infra.resources import PROJECT, Program, load_stack_config, run_program

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture
def names() -> Names:
    return Names("prod", mocks.ACCOUNT_ID, mocks.REGION, mocks.PARTITION)


def _fails(check: Callable[[], Any]) -> str:
    with pytest.raises(AssertionError) as caught:
        check()
    return str(caught.value)


@pytest.fixture
def admin_attached(monkeypatch: pytest.MonkeyPatch) -> Iterator[Program]:
    real_role = aws.iam.Role

    def role_with_admin(resource_name: str, *args: Any, **kwargs: Any) -> aws.iam.Role:
        role = real_role(resource_name, *args, **kwargs)
        aws.iam.RolePolicyAttachment(f"{resource_name}-admin", role=role.name, policy_arn=ADMIN,
                                     opts=kwargs.get("opts"))
        return role

    monkeypatch.setattr(aws.iam, "Role", role_with_admin)
    yield run_program("prod")


def test_mutation_administrator_access_attached_fails_iam_checks(admin_attached: Program) -> None:
    attached = [r for r in admin_attached.resources if r["type"].endswith("rolePolicyAttachment:RolePolicyAttachment")]
    assert attached and all(r["inputs"]["policyArn"] == ADMIN for r in attached), "mutation not applied"
    message = _fails(lambda: test_iam.test_iam_no_managed_policies_attached(admin_attached))
    assert "rolePolicyAttachment" in message or "RolePolicyAttachment" in message


def test_mutation_managed_policy_arns_on_role_fails(monkeypatch: pytest.MonkeyPatch, names: Names) -> None:
    real_role = aws.iam.Role
    monkeypatch.setattr(aws.iam, "Role", lambda resource_name, *a, **k: real_role(
        resource_name, *a, managed_policy_arns=[ADMIN], **k))
    program = run_program("prod")
    _fails(lambda: test_security.test_security_trust_policies_keep_source_conditions(program, names))


def test_mutation_delete_object_added_to_a_role_fails_grant_checks(monkeypatch: pytest.MonkeyPatch,
                                                                  names: Names) -> None:
    spec = deployment.FUNCTIONS["quality-metrics"]
    widened = (*spec.grants, Grant(("s3:DeleteObject",), "objects", "raw"))
    monkeypatch.setitem(deployment.FUNCTIONS, "quality-metrics",
                        deployment.FunctionSpec(**{**spec.__dict__, "grants": widened}))
    program = run_program("prod")
    policy = next(p for p in program.resources if p["type"] == "aws:iam/rolePolicy:RolePolicy"
                  and "s3:DeleteObject" in p["inputs"]["policy"] and "quality" in p["name"])
    assert policy, "mutation not applied"
    from tests.infra import test_least_privilege

    message = _fails(lambda: test_least_privilege.check_grants_match_code(program, names))
    assert "s3:DeleteObject" in message


def test_mutation_trust_conditions_dropped_fails(monkeypatch: pytest.MonkeyPatch, names: Names) -> None:
    def bare(service: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}

    monkeypatch.setattr(policies, "assume_role_policy", bare)
    program = run_program("prod")
    roles = [r for r in program.resources if r["type"] == "aws:iam/role:Role"]
    assert roles and all("Condition" not in json.loads(r["inputs"]["assumeRolePolicy"])["Statement"][0]
                         for r in roles), "mutation not applied"
    message = _fails(lambda: test_security.test_security_trust_policies_keep_source_conditions(program, names))
    assert "aws:SourceAccount" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("auditLogDays", "365", "auditLogDays"),
        ("accessLogDays", "365", "accessLogDays"),
        ("rawLockDays", "30", "rawLockDays"),
        ("logRetentionDays", "14", "logRetentionDays"),
        ("noncurrentVersionDays", "90", "noncurrentVersionDays"),
        ("pitr", "false", "pitr"),
        ("deletionProtection", "false", "deletionProtection"),
        ("kms", "false", "kms"),
    ],
)
def test_mutation_prod_retention_lowered_in_config_fails_preview(key: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_stack_config("prod", {f"{PROJECT}:{key}": value})
    with pytest.raises(ConfigError, match=expected):
        run_program("prod", {f"{PROJECT}:{key}": value})


@pytest.mark.parametrize("account", ["111122223333", "444455556666", "123456789012", "210987654321",
                                     "999999999999", "123412341234"])
def test_mutation_placeholder_partner_account_fails_preview(account: str) -> None:
    partners = json.dumps({"lab": account})
    with pytest.raises(ConfigError, match="placeholder"):
        run_program("staging", {f"{PROJECT}:partners": partners})


def test_mutation_missing_alert_email_fails_preview_in_prod() -> None:
    with pytest.raises(ConfigError, match="alertEmail"):
        run_program("prod", {f"{PROJECT}:alertEmail": None})


def test_mutation_unmutated_prod_passes_the_same_checks(names: Names) -> None:
    """The control: the checks the mutations fail pass on the program as it is."""
    program = run_program("prod")
    test_iam.test_iam_no_managed_policies_attached(program)
    test_security.test_security_trust_policies_keep_source_conditions(program, names)


@pytest.mark.parametrize("where", ["bucket", "reader", "topic", "key"])
def test_mutation_wildcard_in_any_policy_fails(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """A wildcard action or '*' resource slipped into a bucket, reader, topic or key policy fails."""
    from infra import api, monitoring, storage

    if where == "bucket":
        real = policies.access_log_delivery_statement
        monkeypatch.setattr(policies, "access_log_delivery_statement",
                            lambda *a, **k: {**real(*a, **k), "Action": ["s3:*"]})
    elif where == "reader":
        wide = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]})

        class WidePolicy(aws.iam.Policy):  # still a class: Pulumi evaluates annotations that name it
            def __init__(self, resource_name: str, *a: Any, **k: Any) -> None:
                super().__init__(resource_name, *a, **{**k, "policy": wide})

        monkeypatch.setattr(aws.iam, "Policy", WidePolicy)
        assert api  # the reader policy is declared by infra.api
    elif where == "topic":
        real_topic = monitoring.topic_policy
        monkeypatch.setattr(monitoring, "topic_policy", lambda *a: {
            **real_topic(*a), "Statement": [{**s, "Action": "sns:*"} for s in real_topic(*a)["Statement"]]})
    else:
        real_key = storage.key_policy
        monkeypatch.setattr(storage, "key_policy", lambda *a: {
            **real_key(*a), "Statement": [{**s, "Action": "kms:*"} if s["Sid"] == "CloudWatchLogsOwnGroups" else s
                                          for s in real_key(*a)["Statement"]]})
    program = run_program("prod")
    _fails(lambda: test_security.check_no_wildcard_allows(program))
