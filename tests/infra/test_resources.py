"""declared_resources: the integrator's view (type, name, inputs) of what the program declares."""

from __future__ import annotations

from genomics.deployment import FUNCTIONS
from tests.infra.resources import declared_resources


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
