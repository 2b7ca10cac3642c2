"""Renames never replace state: every stateful resource the shipped stacks deployed (deployed_stateful.json:
buckets, tables, keys, log groups, queue, image repository, user pool, by URN and physical name, recorded
before the tables were renamed) is declared again under the same URN or under an alias of it, with the same
physical name when the stack keeps its seed table names (tableNames: seed), so ``pulumi up`` updates it in
place. New stacks name the ledger's tables genomics-<stack>-ledger-<role>."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from genomics.deployment import TABLES, Names
from tests.infra import mocks
from tests.infra.resources import PROJECT, STACKS, Program, run_program

DEPLOYED: dict[str, dict[str, str]] = json.loads((Path(__file__).parent / "deployed_stateful.json").read_text())
_SEED: dict[str, Program] = {}


def _seed_program(stack: str) -> Program:
    if stack not in _SEED:
        _SEED[stack] = run_program(stack, {f"{PROJECT}:tableNames": "seed"})
    return _SEED[stack]


def _physical(resource: dict[str, Any]) -> str:
    inputs = resource["inputs"]
    return inputs.get("name") or inputs.get("bucket") or ""


def _declared_as(program: Program, urn: str) -> dict[str, Any] | None:
    """The resource declared at ``urn``, or the one that carries an alias of it."""
    for resource in program.resources:
        if resource["urn"] == urn or urn in resource.get("options", {}).get("aliases", []):
            return resource
    return None


@pytest.mark.parametrize("stack", STACKS)
def test_renames_deployed_stateful_resources_keep_urn_or_alias(stack: str) -> None:
    program = _seed_program(stack)
    for urn, physical in sorted(DEPLOYED[stack].items()):
        resource = _declared_as(program, urn)
        assert resource is not None, f"{urn}: no longer declared and no resource aliases it (pulumi up replaces it)"
        assert _physical(resource) == physical, (
            f"{resource['urn']}: physical name {_physical(resource)!r}, deployed as {physical!r} (a replacement)"
        )


@pytest.mark.parametrize("stack", STACKS)
def test_renames_ledger_tables_named_for_the_ledger_by_default(stack: str, program: Program) -> None:
    names = Names(stack, mocks.ACCOUNT_ID, mocks.REGION, mocks.PARTITION)
    tables = {r["urn"]: _physical(r) for r in program.resources if r["type"] == "aws:dynamodb/table:Table"}
    assert sorted(tables.values()) == sorted(f"genomics-{stack}-ledger-{role}" for role in TABLES), tables
    functions = {_physical(r) for r in program.resources if r["type"] == "aws:lambda/function:Function"}
    assert names.table("qc") not in functions and names.function("quality-metrics") in functions, tables
    for resource in program.resources:
        assert "genomics-genomics" not in _physical(resource), resource["urn"]
    # Same URNs as the seed-named tables: only the physical name differs (docs/deploy.md, tableNames).
    assert set(tables) == {urn for urn in DEPLOYED[stack] if ":dynamodb/table:Table::" in urn}


def test_renames_seed_table_names_are_the_deployed_ones() -> None:
    names = Names("prod", mocks.ACCOUNT_ID, mocks.REGION, mocks.PARTITION, table_names="seed")
    assert {names.table(role) for role in TABLES} == {
        "genomics-prod-genomics-metadata", "genomics-prod-processing-jobs", "genomics-prod-quality-metrics"}
