"""The CI trust boundary (.github/workflows): actions pinned by commit SHA, pull-request previews with
read-only roles and stack-scoped tokens, prod applied from a saved plan, rollbacks only to reviewed refs,
installs with the lock."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _load(name: str) -> dict[str, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job, step) for job, spec in workflow["jobs"].items() for step in spec.get("steps", [])]


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_ci_every_action_pinned_by_commit_sha(name: str) -> None:
    for job, step in _steps(_load(name)):
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert SHA_PIN.match(uses), f"{name}: job {job} uses {uses!r}, not pinned to a commit SHA"


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_ci_every_install_uses_the_lock(name: str) -> None:
    for job, step in _steps(_load(name)):
        run = step.get("run", "")
        for line in run.splitlines():
            if "pip install" in line:
                assert "-c images/constraints.txt" in line, f"{name}: job {job} installs without the lock: {line}"


def test_ci_pull_request_previews_read_only_and_stack_scoped() -> None:
    text = (WORKFLOWS / "preview.yml").read_text()
    workflow = _load("preview.yml")
    roles = [inc["role"] for inc in workflow["jobs"]["preview"]["strategy"]["matrix"]["include"]]
    assert roles and all(r.startswith("AWS_PR_PREVIEW_ROLE_ARN_") for r in roles), roles
    assert "AWS_DEPLOY_ROLE_ARN" not in text and "AWS_PLAN_ROLE_ARN" not in text
    tokens = [s["with"] for _, s in _steps(workflow) if s.get("uses", "").startswith("pulumi/auth-actions@")]
    assert tokens and all(t["requested-token-type"].endswith(":team") for t in tokens), tokens
    assert all("matrix.stack" in t["scope"] for t in tokens), tokens
    assert "access_token:organization" not in text


def test_ci_prod_applies_the_saved_plan_after_approval() -> None:
    jobs = _load("deploy.yml")["jobs"]
    plan_runs = " ".join(s.get("run", "") for s in jobs["plan"]["steps"])
    apply_runs = " ".join(s.get("run", "") for s in jobs["apply"]["steps"])
    assert "--save-plan plan.json" in plan_runs, plan_runs
    assert "--plan plan.json" in apply_runs, apply_runs
    assert "production" in jobs["apply"]["environment"], jobs["apply"]["environment"]
    assert "plan" in jobs["apply"]["needs"]
    assert not any(s.get("with", {}).get("command") == "up" and "prod" in str(s.get("with", {}).get("stack-name"))
                   for job in jobs.values() for s in job.get("steps", [])), "prod deployed without a plan"


def test_ci_rollback_only_to_main_or_release_tags() -> None:
    jobs = _load("deploy.yml")["jobs"]
    check = " ".join(s.get("run", "") for s in jobs["rollback-ref"]["steps"])
    assert "merge-base --is-ancestor" in check and "origin/main" in check and "v*" in check, check
    assert "rollback-ref" in jobs["plan"]["needs"] and "rollback-ref" in jobs["apply"]["needs"]
    for job in ("plan", "apply"):
        refs = [s["with"]["ref"] for s in jobs[job]["steps"] if s.get("uses", "").startswith("actions/checkout@")]
        assert refs == ["${{ needs.rollback-ref.outputs.sha || github.sha }}"], f"{job}: checks out {refs}"
    assert "inputs.ref" not in str(jobs["plan"]) and "inputs.ref" not in str(jobs["apply"])
