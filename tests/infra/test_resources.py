"""declared_resources: the integrator's view (type, name, inputs) of what the program declares."""

from __future__ import annotations

from genomics.deployment import FUNCTIONS
from tests.infra.resources import Program, declared_resources


def test_resources_declared_for_each_stack_are_independent() -> None:
    dev = declared_resources("dev")
    prod = declared_resources("prod")
    again = declared_resources("dev")
    assert dev == again, "running the program twice for dev declared different resources"
    assert all(set(r) == {"type", "name", "inputs"} for r in dev), "records carry more than type/name/inputs"
    fn_names = sorted(r["inputs"]["name"] for r in dev if r["type"] == "aws:lambda/function:Function")
    assert fn_names == sorted(f"genomics-dev-{f}" for f in FUNCTIONS), f"dev functions {fn_names}"
    assert not [r for r in dev if r["type"] == "aws:kms/key:Key"], "dev declared prod's KMS key"
    assert [r for r in prod if r["type"] == "aws:kms/key:Key"], "prod lacks its KMS key"


def test_resources_each_record_carries_its_own_urn_and_parent(program: Program) -> None:
    """The recorder completes each record with the URN and parent of its own registration. (type, logical
    name) is not unique: the PipelineFunction "sweeper" and the SweepSchedule "sweeper" both declare
    "sweeper-role" and "sweeper-policy", and the engine registers them from several threads."""
    urns = [r["urn"] for r in program.resources]
    assert all(urns), f"records without a URN: {[r['name'] for r in program.resources if not r['urn']]}"
    assert len(set(urns)) == len(urns), "two records carry the same URN"
    for r in program.resources:
        assert r["urn"].endswith(f"{r['type']}::{r['name']}"), f"{r['urn']}: recorded as {r['type']} {r['name']}"
        chain = r["urn"].split("::")[2]  # the type chain: <parent type>$<type>
        parent_type = r["parent"].split("::")[2].rsplit("$", 1)[-1]
        expected = r["type"] if parent_type == "pulumi:pulumi:Stack" else f"{parent_type}${r['type']}"
        assert chain == expected or chain.endswith(f"${expected}"), f"{r['urn']}: recorded parent {r['parent']}"
    roles = {r["urn"]: r for r in program.resources if r["name"] == "sweeper-role"}
    assert len(roles) == 2, f"expected the function's and the schedule's sweeper-role, got {sorted(roles)}"
    for urn, role in roles.items():
        own = "-schedule-role" if "SweepSchedule" in urn else "-sweeper-role"
        assert role["inputs"]["name"].endswith(own), f"{urn}: carries the inputs of {role['inputs']['name']}"
