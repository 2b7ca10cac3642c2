"""Partner access under Pulumi mocks (issue 16): the manifest-signing KMS key, and with partners configured
one role each, trusted only by that partner's account with its external id, allowed only to call the
partner routes of the status API; no bucket or key grants anything to a partner account."""

from __future__ import annotations

import json

import pytest

from genomics.deployment import SIGNING_KEY_SPEC, Names
from genomics.drs.api import ROUTES as PARTNER_ROUTES
from tests.infra.resources import PROJECT, Program, as_list, by_input, document, of_type, run_program, statements

PARTNERS = {"acme": "503857134220", "globex": "731482960215"}


@pytest.fixture(scope="module")
def with_partners() -> Program:
    return run_program("dev", {f"{PROJECT}:partners": json.dumps(PARTNERS)})


def _names(program: Program) -> Names:
    return Names(program.stack, "123456789012", "us-east-1")


def test_partners_signing_key_is_asymmetric_p256_with_the_alias(with_partners: Program) -> None:
    program, names = with_partners, _names(with_partners)
    keys = [k for k in of_type(program, "aws:kms/key:Key") if k["inputs"].get("keyUsage") == "SIGN_VERIFY"]
    assert len(keys) == 1, f"expected one signing key, got {[k['urn'] for k in keys]}"
    key = keys[0]
    assert key["inputs"]["customerMasterKeySpec"] == SIGNING_KEY_SPEC, f"{key['urn']}: {key['inputs']}"
    aliases = by_input(program, "aws:kms/alias:Alias", "name", names.signing_key_alias)
    assert len(aliases) == 1 and aliases[0]["inputs"]["targetKeyId"] == key["outputs"]["keyId"], (
        f"{key['urn']}: alias {names.signing_key_alias} -> {[a['inputs'] for a in aliases]}")


def test_partners_nothing_without_partners(program: Program) -> None:
    roles = [r for r in of_type(program, "aws:iam/role:Role") if "-partner-" in r["inputs"].get("name", "")]
    assert not roles, f"partner roles with no partners configured: {[r['urn'] for r in roles]}"
    keys = [k["urn"] for k in of_type(program, "aws:kms/key:Key") if k["inputs"].get("keyUsage") == "SIGN_VERIFY"]
    assert not keys, f"a signing key (~$1/month) with no partner: {keys}"


def test_partners_each_role_trusts_only_its_account_with_external_id(with_partners: Program) -> None:
    names = _names(with_partners)
    for partner, account in PARTNERS.items():
        (role,) = by_input(with_partners, "aws:iam/role:Role", "name", names.partner_role(partner))
        (stmt,) = statements(document(role, "assumeRolePolicy"))
        assert stmt["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}, f"{role['urn']}: {stmt}"
        assert stmt["Action"] == "sts:AssumeRole", f"{role['urn']}: {stmt}"
        assert stmt["Condition"] == {"StringEquals": {"sts:ExternalId": names.partner_role(partner)}}, (
            f"{role['urn']}: trust condition {stmt.get('Condition')}")


def test_partners_roles_may_only_call_the_partner_routes(with_partners: Program) -> None:
    names = _names(with_partners)
    policies = [p for p in of_type(with_partners, "aws:iam/rolePolicy:RolePolicy")
                if any(p["name"] == f"partners-{partner}-invoke" for partner in PARTNERS)]
    assert len(policies) == len(PARTNERS), f"partner role policies: {[p['urn'] for p in policies]}"
    api = by_input(with_partners, "aws:apigatewayv2/api:Api", "name", f"{names.prefix}-status-api")[0]
    execution = api["outputs"]["executionArn"]
    for policy in policies:
        (stmt,) = statements(document(policy))
        assert as_list(stmt["Action"]) == ["execute-api:Invoke"], f"{policy['urn']}: {stmt['Action']}"
        resources = sorted(as_list(stmt["Resource"]))
        expected = sorted(f"{execution}/$default/{r.split(' ')[0]}/"
                          + "/".join("*" if p.startswith("{") else p for p in r.split(" ")[1].strip("/").split("/"))
                          for r in PARTNER_ROUTES)
        assert resources == expected, f"{policy['urn']}: {resources}"


def test_partners_get_no_bucket_or_key_access(with_partners: Program) -> None:
    accounts = set(PARTNERS.values())
    for typ in ("aws:s3/bucketPolicy:BucketPolicy", "aws:kms/key:Key"):
        for resource in of_type(with_partners, typ):
            text = resource["inputs"].get("policy", "")
            assert not any(a in text for a in accounts), f"{resource['urn']}: names a partner account"


def test_partners_signing_key_protected_in_prod() -> None:
    prod = run_program("prod", {f"{PROJECT}:partners": json.dumps(PARTNERS)})
    (key,) = [k for k in of_type(prod, "aws:kms/key:Key") if k["inputs"].get("keyUsage") == "SIGN_VERIFY"]
    assert key["options"]["protect"] is True and key["options"]["retain_on_delete"] is True, key["urn"]


def test_partners_sign_policy_only_signs_with_the_signing_key(with_partners: Program) -> None:
    names = _names(with_partners)
    (policy,) = by_input(with_partners, "aws:iam/policy:Policy", "name", f"{names.prefix}-manifest-signing")
    (key,) = [k for k in of_type(with_partners, "aws:kms/key:Key") if k["inputs"].get("keyUsage") == "SIGN_VERIFY"]
    (stmt,) = statements(document(policy))
    assert sorted(as_list(stmt["Action"])) == ["kms:GetPublicKey", "kms:Sign"], f"{policy['urn']}: {stmt}"
    assert as_list(stmt["Resource"]) == [key["outputs"]["arn"]], f"{policy['urn']}: {stmt['Resource']}"
