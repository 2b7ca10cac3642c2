"""Run the Pulumi program under mocks for one stack and return what it declares.

``declared_resources(stack)`` is the integrator's entry point (the drift test compares it with the local
mode deployment); ``run_program(stack)`` returns the full recording for the infra tests.
"""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings as runtime_settings

from infra.config import StackConfig, stack_config_from
from tests.infra.mocks import RecordingMocks, RecordingMonitor

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "genomics-platform"
STACKS: tuple[str, ...] = ("dev", "staging", "prod")
# What an operator sets outside the repository before the first preview (docs/deploy.md): the alert
# address of staging and prod. The tests supply one, as `pulumi config set alertEmail` would.
TEST_ALERT_EMAIL = "platform-oncall@genomics-ops.org"
OPERATOR_CONFIG: dict[str, dict[str, str]] = {
    "staging": {f"{PROJECT}:alertEmail": TEST_ALERT_EMAIL},
    "prod": {f"{PROJECT}:alertEmail": TEST_ALERT_EMAIL},
}


@dataclass
class Program:
    stack: str
    config: dict[str, str]
    resources: list[dict[str, Any]]
    calls: list[str]
    outputs: dict[str, Any]


def stack_config(stack: str, *, operator: bool = True) -> dict[str, str]:
    """``Pulumi.<stack>.yaml`` as the engine passes it: every value a string (objects as JSON), plus (with
    ``operator``) the keys an operator sets outside the repository (:data:`OPERATOR_CONFIG`)."""
    data = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    flat: dict[str, str] = {}
    for key, value in (data.get("config") or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, str):
            flat[full] = value
        elif isinstance(value, bool):
            flat[full] = "true" if value else "false"
        elif isinstance(value, int | float):
            flat[full] = str(value)
        else:
            flat[full] = json.dumps(value)
    if operator:
        flat.update(OPERATOR_CONFIG.get(stack, {}))
    return flat


def load_stack_config(stack: str, overrides: dict[str, str] | None = None) -> StackConfig:
    """The typed configuration (incl. ``Settings``) of ``stack`` from ``Pulumi.<stack>.yaml``: what the
    program sees, so a drift test can render the local mode with the same settings. ``overrides`` maps
    full keys (``genomics-platform:kms``) to values, as ``pulumi config set`` would."""
    raw = {**stack_config(stack), **(overrides or {})}
    return stack_config_from(stack, lambda key: raw.get(f"{PROJECT}:{key}"))


def run_program(stack: str, overrides: dict[str, str | None] | None = None) -> Program:
    """Execute ``__main__.py`` for ``stack`` under fresh mocks, config and root stack resource.
    ``overrides``: full config keys set (a string) or removed (None) on top of the stack file."""
    mocks = RecordingMocks()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=RecordingMonitor(mocks))
    config = stack_config(stack)
    for key, value in (overrides or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    pulumi.runtime.set_all_config(config)
    namespace: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> None:
        namespace.update(runpy.run_path(str(REPO_ROOT / "__main__.py"), run_name="__genomics_program__"))

    program()
    return Program(stack, config, mocks.resources, mocks.calls, {})


def declared_resources(stack: str) -> list[dict[str, Any]]:
    """Every resource the program declares for ``stack``: ``{"type", "name", "inputs"}`` (inputs as the
    engine delivers them: camelCase keys, numbers as floats, JSON documents as strings), sorted by type
    and name (registration order varies between runs)."""
    records = [{"type": r["type"], "name": r["name"], "inputs": r["inputs"]} for r in run_program(stack).resources]
    return sorted(records, key=lambda r: (r["type"], r["name"]))


# --------------------------------------------------------------------------------------------------
# Helpers for assertions over a recorded program
# --------------------------------------------------------------------------------------------------
def of_type(program: Program, typ: str) -> list[dict[str, Any]]:
    """Recorded resources of one type token (e.g. ``aws:s3/bucket:Bucket``)."""
    return [r for r in program.resources if r["type"] == typ]


def named(program: Program, typ: str, name: str) -> dict[str, Any]:
    """The one recorded resource of ``typ`` with logical ``name``."""
    found = [r for r in of_type(program, typ) if r["name"] == name]
    if len(found) != 1:
        raise LookupError(f"{len(found)} resources of type {typ} named {name!r} in stack {program.stack}")
    return found[0]


def by_input(program: Program, typ: str, key: str, value: Any) -> list[dict[str, Any]]:
    """Recorded resources of ``typ`` whose input ``key`` equals ``value``."""
    return [r for r in of_type(program, typ) if r["inputs"].get(key) == value]


def document(resource: dict[str, Any], key: str = "policy") -> dict[str, Any]:
    """A JSON document input (policy, definition) parsed."""
    return json.loads(resource["inputs"][key])


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = doc["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
