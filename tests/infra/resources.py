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

from tests.infra.mocks import RecordingMocks, RecordingMonitor

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = "genomics-platform"
STACKS: tuple[str, ...] = ("dev", "staging", "prod")


@dataclass
class Program:
    stack: str
    config: dict[str, str]
    resources: list[dict[str, Any]]
    calls: list[str]
    outputs: dict[str, Any]


def stack_config(stack: str) -> dict[str, str]:
    """``Pulumi.<stack>.yaml`` as the engine passes it: every value a string (objects as JSON)."""
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
    return flat


def run_program(stack: str) -> Program:
    """Execute ``__main__.py`` for ``stack`` under fresh mocks, config and root stack resource."""
    mocks = RecordingMocks()
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=RecordingMonitor(mocks))
    config = stack_config(stack)
    pulumi.runtime.set_all_config(config)
    namespace: dict[str, Any] = {}

    @pulumi.runtime.test
    def program() -> None:
        namespace.update(runpy.run_path(str(REPO_ROOT / "__main__.py"), run_name="__genomics_program__"))

    program()
    return Program(stack, config, mocks.resources, mocks.calls, {})


def declared_resources(stack: str) -> list[dict[str, Any]]:
    """Every resource the program declares for ``stack``: ``{"type", "name", "inputs"}`` (inputs as the
    engine delivers them: camelCase keys, numbers as floats, JSON documents as strings)."""
    return [
        {"type": r["type"], "name": r["name"], "inputs": r["inputs"]}
        for r in run_program(stack).resources
    ]
