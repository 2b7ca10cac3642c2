"""Every external program the code, the tests, `make demo` and `make bench` call is installed by the scripts.

The programs are found by reading the code (argv lists handed to subprocess/tools, `which("...")` calls),
not from a hand list; each must be a row of scripts/system-packages.tsv, the one table
scripts/install-system.sh installs from. A fresh machine that runs `make setup` therefore has them all.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "scripts" / "system-packages.tsv"
INSTALL = ROOT / "scripts" / "install-system.sh"
SCANNED = ("genomics", "handlers", "tests", "bench")
# Calls whose first argument is an argv list.
RUNNERS = {"run", "Popen", "check_output", "check_call", "call", "run_pipeline", "_timed"}
# Calls whose list arguments are the genomics CLI's own arguments, or test parameters, never a program.
NOT_ARGV_CALLS = {"main", "cli_main", "_cli", "cli", "parse_args", "parametrize"}
PROGRAM = re.compile(r"^[a-z][a-z0-9_.+-]*$")


@dataclass(frozen=True)
class Row:
    probe: str
    source: str
    used_by: str


def table() -> list[Row]:
    rows = []
    for line in TABLE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        probe, source, used_by = line.split("\t")
        rows.append(Row(probe, source, used_by))
    return rows


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _program(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and PROGRAM.match(node.value):
        return node.value
    return None


def _argv_program(node: ast.List | ast.Tuple, *, strict: bool) -> str | None:
    """argv[0] of a list literal that looks like an argv: a program name followed by strings, names, calls.
    ``strict``: also require an option (``-x``) among the arguments."""
    if not node.elts or (prog := _program(node.elts[0])) is None:
        return None
    rest = node.elts[1:]
    if any(isinstance(e, ast.Constant) and not isinstance(e.value, str) for e in rest):
        return None
    if strict and not any(isinstance(e, ast.Constant) and str(e.value).startswith("-") for e in rest):
        return None
    return prog


def programs_in(source: str) -> list[set[str]]:
    """The external programs a Python module calls. Each entry is a set of alternatives
    (``which("a") or which("b")``): one of them installed is enough."""
    tree = ast.parse(source)
    excluded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _name(node.func) in NOT_ARGV_CALLS:
            excluded.update(id(n) for arg in node.args for n in ast.walk(arg))
        elif isinstance(node, ast.Call):
            # A list handed straight to any other call (e.g. a test's run(capsys, ["status", ...]) of the
            # CLI) is that function's argument list, not a command line; runners are read below.
            excluded.update(id(arg) for arg in node.args if isinstance(arg, ast.List | ast.Tuple))
    found: list[set[str]] = []
    alternatives: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            names = {
                prog for v in node.values
                if isinstance(v, ast.Call) and _name(v.func) == "which" and v.args
                and (prog := _program(v.args[0]))
            }
            if len(names) > 1:
                found.append(names)
                alternatives.update(id(v) for v in node.values)
    for node in ast.walk(tree):
        if id(node) in alternatives:
            continue
        if isinstance(node, ast.Call) and node.args and id(node) not in excluded:
            first = node.args[0]
            if _name(node.func) == "which" and (prog := _program(first)):
                found.append({prog})
            elif _name(node.func) in RUNNERS and isinstance(first, ast.List | ast.Tuple):
                if prog := _argv_program(first, strict=False):
                    found.append({prog})
                # run_pipeline([[...], [...]]): a list of argvs
                for stage in first.elts:
                    if isinstance(stage, ast.List | ast.Tuple) and (prog := _argv_program(stage, strict=False)):
                        found.append({prog})
        elif (isinstance(node, ast.List | ast.Tuple) and id(node) not in excluded
              and (prog := _argv_program(node, strict=True))):
            found.append({prog})
    return found


def called_programs() -> dict[frozenset[str], list[str]]:
    """program alternatives -> where they are called, over every Python file of the repository."""
    out: dict[frozenset[str], list[str]] = {}
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            for names in programs_in(path.read_text(encoding="utf-8")):
                out.setdefault(frozenset(names), []).append(str(path.relative_to(ROOT)))
    return out


def _command_rows() -> dict[str, Row]:
    return {r.probe: r for r in table() if not r.probe.startswith(("/", "sh:"))}


def test_system_packages_every_called_program_is_installed_by_the_scripts():
    rows = _command_rows()
    missing = {
        " or ".join(sorted(names)): sorted(set(where))[:3]
        for names, where in called_programs().items()
        if not names & rows.keys()
    }
    assert not missing, (
        f"programs called by the code but not in {TABLE.relative_to(ROOT)} (add a row: probe, apt:<package>, "
        f"used by): {missing}"
    )


def test_system_packages_scan_finds_the_known_callers():
    """The scanner is not blind: it sees the calls this repository is known to make."""
    seen = set().union(*called_programs())
    assert {"samtools", "bcftools", "bgzip", "tabix", "htsfile", "podman", "hadolint", "chromium"} <= seen


def test_system_packages_scan_reads_argv_forms():
    src = '''
import shutil, subprocess
from genomics import tools
subprocess.run(["frobnicate", path], check=True)
tools.run(["twiddle", "-x"])
argv = ["gronk", "--level", "3"]
run_pipeline([["stage-one", "-a"], ["stage-two"]], scratch)
shutil.which("picky") or shutil.which("picky-browser")
cli_main(["status", "S1", "--json"])
run(capsys, ["cost", "demo", "--json"])
cols = ["sample", "file"]
'''
    found = programs_in(src)
    assert {"frobnicate"} in found and {"twiddle"} in found and {"gronk"} in found
    assert {"stage-one"} in found and {"stage-two"} in found
    assert {"picky", "picky-browser"} in found
    flat = set().union(*found)
    assert "status" not in flat and "sample" not in flat and "cost" not in flat


def test_system_packages_install_script_reads_the_table():
    text = INSTALL.read_text()
    assert "system-packages.tsv" in text
    # No second list of packages inside the script.
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"\b(samtools|bcftools|tabix|chromium|minimap2|podman)\b", code)


def test_system_packages_check_reports_a_missing_package(tmp_path: Path):
    t = tmp_path / "packages.tsv"
    t.write_text("bash\tessential\tscripts\nno-such-program-xyz\tapt:no-such-package-xyz\ta test\n")
    proc = subprocess.run(["bash", str(INSTALL), "--check"], env={**os.environ, "SYSTEM_PACKAGES": str(t)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "no-such-package-xyz" in proc.stderr


def test_system_packages_all_installed_here():
    """`make setup` ran install-system.sh: nothing it should install is missing on this machine."""
    proc = subprocess.run(["bash", str(INSTALL), "--check"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def _dpkg_owner(path: str) -> str | None:
    proc = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        return None
    return proc.stdout.split(":", 1)[0].split(",")[0].strip()


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="not a Debian machine")
def test_system_packages_rows_name_the_package_that_ships_the_program():
    """Each apt row names the Debian package that really owns the command or file (no drifting names)."""
    wrong = []
    for r in table():
        if not r.source.startswith("apt:") or r.probe.startswith("sh:"):
            continue
        pkg = r.source.removeprefix("apt:")
        path = r.probe if r.probe.startswith("/") else shutil.which(r.probe) or shutil.which(r.probe, path="/usr/sbin")
        if not path or not path.startswith(("/usr/", "/bin/", "/sbin/")):
            continue  # e.g. a pyenv python3 here; the package check applies where Debian's is used
        owner = _dpkg_owner(path) or _dpkg_owner(os.path.realpath(path))
        if owner is not None and owner.split(":")[0] != pkg:
            wrong.append(f"{r.probe}: table says {pkg}, dpkg says {owner}")
    assert not wrong, wrong


def test_system_packages_pip_rows_are_project_dependencies():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    declared = {re.split(r"[=<>\[;]", d, maxsplit=1)[0].strip().lower() for ds in deps.values() for d in ds}
    for r in table():
        if r.source.startswith("pip:"):
            assert r.source.removeprefix("pip:").lower() in declared, r


def test_system_packages_image_build_tools_match_the_table():
    """scripts/build-images.sh installs its own tools when run alone: the same command -> package pairs."""
    text = (ROOT / "scripts" / "build-images.sh").read_text()
    pairs = re.findall(r"^\s*ensure_commands ((?:[\w/.-]+:[\w.-]+ ?\\?\s*)+)", text, flags=re.M)
    by_probe = {r.probe: r.source for r in table()}
    checked = 0
    for group in pairs:
        for pair in group.split():
            if pair == "\\":
                continue
            probe, pkg = pair.split(":", 1)
            assert by_probe.get(probe) == f"apt:{pkg}", f"build-images.sh: {pair} not in {TABLE.name}"
            checked += 1
    assert checked >= 4
