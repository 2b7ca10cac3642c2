"""The CLI's exit-status contract, for every subcommand the parser has: 0 done, 1 a verdict, 2 could not do
what was asked with ONE line ``CODE: message [where]`` on stderr and no traceback (unless --debug).

The subcommands are listed from the parser, so a new one is covered (and must keep the contract) as soon
as it exists. The failures are real: missing files, garbage and truncated content through the real
tools, no credentials, a closed port, an empty moto account, moto with IAM enforced.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from genomics import errors
from genomics.cli import build_parser, main
from genomics.corpus import CORPUS
from genomics.validation.codes import all_codes

ROOT = Path(__file__).resolve().parents[2]
SMALL_VCF = CORPUS / "qc_oracles" / "bcftools_stats" / "stats.counts.vcf"
LINE = re.compile(r"^(?P<code>[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+): (?P<message>.+?)(?: \[(?P<where>[^\]]+)\])?$")
FILE_ARGS = {"paths", "path", "input", "file"}


Command = tuple[str, ...]


def leaves(parser: argparse.ArgumentParser, prefix: Command = ()) -> Iterator[tuple[Command, argparse.ArgumentParser]]:
    """Every runnable subcommand (``local demo`` included) with its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from leaves(sub, (*prefix, name))
            return
    yield prefix, parser


def options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings}


def argv_for(command: Command, parser: argparse.ArgumentParser, file_arg: str) -> list[str]:
    """A well-formed command line: positionals filled (``file_arg`` for files), required options given."""
    argv = list(command)
    for action in parser._actions:
        if action.option_strings:
            if action.required:
                argv += [action.option_strings[0], "x"]
        elif not isinstance(action, argparse._SubParsersAction):
            argv.append(file_arg if action.dest in FILE_ARGS else ("S1" if action.dest == "sample" else "x"))
    return argv


COMMANDS = dict(leaves(build_parser()))
STACK_COMMANDS = sorted(c for c, p in COMMANDS.items() if "--stack" in options(p))
FILE_COMMANDS = sorted(c for c, p in COMMANDS.items()
                       if any(not a.option_strings and a.dest in FILE_ARGS for a in p._actions))


def one_coded_line(stderr: str) -> re.Match[str]:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip("\n").split("\n")
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{stderr}"
    m = LINE.match(lines[0])
    assert m, f"not `CODE: message [where]`: {lines[0]!r}"
    assert m["code"] in all_codes(), f"{m['code']} is not in docs/error-codes.md"
    return m


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
              "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
              "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.chdir(tmp_path)


def test_cli_errors_parser_lists_every_subcommand():
    # Guards the discovery the tests below rely on.
    assert {("validate",), ("process",), ("qc",), ("status",), ("cost",), ("deliver",), ("codes",),
            ("local", "demo")} <= set(COMMANDS)
    assert {("status",), ("cost",), ("deliver",), ("replay",), ("upload",)} <= set(STACK_COMMANDS)
    assert {("validate",), ("process",), ("qc",), ("upload",)} <= set(FILE_COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_cli_errors_usage_error_is_one_coded_line(command, capsys):
    code, err = run(capsys, [*argv_for(command, COMMANDS[command], "x.vcf"), "--no-such-option"])
    assert code == 2
    m = one_coded_line(err)
    assert m["code"] == "CLI_USAGE" and "--no-such-option" in m["message"]


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_cli_errors_help_states_the_exit_codes(command, capsys):
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "exit status:" in out and "0  done" in out and "1  a verdict" in out and "2  could not" in out
    assert "--debug" in out


@pytest.mark.parametrize("command", FILE_COMMANDS, ids=" ".join)
def test_cli_errors_missing_file(command, capsys, no_credentials, tmp_path):
    missing = str(tmp_path / "nope.vcf")
    code, err = run(capsys, argv_for(command, COMMANDS[command], missing))
    assert code == 2
    m = one_coded_line(err)
    assert (m["code"], m["where"]) == ("CLI_FILE_NOT_FOUND", missing)


@pytest.mark.parametrize("command", STACK_COMMANDS, ids=" ".join)
def test_cli_errors_no_credentials(command, capsys, no_credentials):
    code, err = run(capsys, argv_for(command, COMMANDS[command], str(SMALL_VCF)))
    assert code == 2
    assert one_coded_line(err)["code"] == "AWS_NO_CREDENTIALS"


@pytest.mark.parametrize("command", STACK_COMMANDS, ids=" ".join)
def test_cli_errors_endpoint_unreachable(command, capsys, no_credentials, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    closed = "http://127.0.0.1:9"  # discard port: nothing listens
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)  # --endpoint-url sets it; restored after the test
    code, err = run(capsys, [*argv_for(command, COMMANDS[command], str(SMALL_VCF)), "--endpoint-url", closed])
    assert code == 2
    m = one_coded_line(err)
    assert m["code"] == "AWS_ENDPOINT_UNREACHABLE" and "127.0.0.1:9" in err


@pytest.mark.parametrize("command", STACK_COMMANDS, ids=" ".join)
def test_cli_errors_stack_not_deployed(command, capsys, aws_env, tmp_path, monkeypatch):
    """An account without the stack (wrong --stack or region): tables, buckets, queue do not exist."""
    monkeypatch.chdir(tmp_path)
    with mock_aws():
        code, err = run(capsys, argv_for(command, COMMANDS[command], str(SMALL_VCF)))
    assert code == 2
    m = one_coded_line(err)
    assert m["code"] in ("AWS_NOT_FOUND", "QC_STORE_FAILED", "QC_NO_RESULTS"), err
    assert m["code"] != "QC_STORE_FAILED" or "NoSuch" in m["message"] or "not found" in m["message"].lower()


@pytest.mark.parametrize("command", STACK_COMMANDS, ids=" ".join)
def test_cli_errors_access_denied(command, capsys, aws_env, tmp_path, monkeypatch):
    """moto with IAM enforced: a user without policies is denied whatever the command calls."""
    monkeypatch.chdir(tmp_path)

    @set_initial_no_auth_action_count(2)
    @mock_aws
    def denied() -> tuple[int, str]:
        iam = boto3.client("iam")
        iam.create_user(UserName="nobody")
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        return run(capsys, argv_for(command, COMMANDS[command], str(SMALL_VCF)))

    code, err = denied()
    assert code == 2
    m = one_coded_line(err)
    assert m["code"] == "AWS_ACCESS_DENIED" and "<" not in m["message"], err


def test_cli_errors_status_verdicts(capsys, aws_env):
    """1 is a verdict: a sample the ledger does not know, a job that failed; 2 when the job id is unknown."""
    from genomics.deployment import TABLES, Names
    from genomics.ledger import Ledger, ObjectRef, model
    from genomics.local.deploy import table_request

    names = Names("dev", "123456789012", "us-east-1")
    with mock_aws():
        ddb = boto3.client("dynamodb")
        for role, spec in TABLES.items():
            ddb.create_table(**table_request(names.table(role), spec))
        ledger = Ledger(names.table("metadata"), names.table("jobs"), names.table("qc"), client=ddb)
        ref = ObjectRef("raw", "p/S1/a.vcf", "v1")
        ledger.create_job(ref, job_id="j1", project="p", sample_id="S1", actor="test")
        ledger.transition("j1", model.FAILED, actor="test", attributes={"reason": "boom"})
        assert main(["status", "--job", "j1", "--stack", "dev"]) == 1
        assert main(["status", "NOBODY", "--stack", "dev"]) == 1
        capsys.readouterr()
        code, err = run(capsys, ["status", "--job", "nope", "--stack", "dev"])
    assert code == 2 and one_coded_line(err)["code"] == "LEDGER_JOB_NOT_FOUND"


def test_cli_errors_seed_table_names_from_the_environment(capsys, aws_env, monkeypatch):
    """A stack that keeps the seed table names (tableNames: seed) is read with GENOMICS_TABLE_NAMES=seed; an
    unknown value is a usage error naming the variable."""
    from genomics.deployment import TABLES, Names
    from genomics.ledger import Ledger, ObjectRef
    from genomics.local.deploy import table_request

    names = Names("prod", "123456789012", "us-east-1", table_names="seed")
    with mock_aws():
        ddb = boto3.client("dynamodb")
        for role, spec in TABLES.items():
            ddb.create_table(**table_request(names.table(role), spec))
        Ledger(names.table("metadata"), names.table("jobs"), names.table("qc"), client=ddb).create_job(
            ObjectRef("raw", "p/S1/a.vcf", "v1"), job_id="j1", project="p", sample_id="S1", actor="test")
        code, err = run(capsys, ["status", "--job", "j1", "--stack", "prod"])
        assert code == 2 and one_coded_line(err)["code"] == "AWS_NOT_FOUND", err  # the ledger's names: no table
        monkeypatch.setenv("GENOMICS_TABLE_NAMES", "seed")
        assert main(["status", "--job", "j1", "--stack", "prod"]) == 0
        monkeypatch.setenv("GENOMICS_TABLE_NAMES", "legacy")
        code, err = run(capsys, ["status", "--job", "j1", "--stack", "prod"])
    m = one_coded_line(err)
    assert code == 2 and (m["code"], m["where"]) == ("CLI_USAGE", "GENOMICS_TABLE_NAMES"), err


def test_cli_errors_bad_since_is_a_usage_error_before_any_aws_call(capsys, no_credentials):
    code, err = run(capsys, ["cost", "P", "--since", "yesterday"])
    assert code == 2
    m = one_coded_line(err)
    assert (m["code"], m["where"]) == ("CLI_USAGE", "--since")


def test_cli_errors_debug_adds_the_traceback(capsys, tmp_path):
    garbage = tmp_path / "garbage.vcf"
    garbage.write_text("this is not\na VCF\n")
    assert main(["qc", str(garbage)]) == 2
    assert "Traceback" not in capsys.readouterr().err
    assert main(["--debug", "qc", str(garbage)]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.rstrip("\n").split("\n")[-1].startswith("QC_UNKNOWN_FORMAT: ")
    assert main(["qc", str(garbage), "--debug"]) == 2  # after the subcommand too
    assert "Traceback" in capsys.readouterr().err


def test_cli_errors_classify_botocore_errors():
    """The mapping table for errors the tests above cannot provoke from moto."""
    def client_error(code: str, status: int) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                           "Query")

    cases = {
        ("ThrottlingException", 400): "AWS_THROTTLED",
        ("ProvisionedThroughputExceededException", 400): "AWS_THROTTLED",
        ("SlowDown", 503): "AWS_THROTTLED",
        ("InternalError", 500): "AWS_THROTTLED",
        ("ExpiredToken", 400): "AWS_CREDENTIALS_INVALID",
        ("InvalidClientTokenId", 403): "AWS_CREDENTIALS_INVALID",
        ("AccessDeniedException", 400): "AWS_ACCESS_DENIED",
        ("ResourceNotFoundException", 400): "AWS_NOT_FOUND",
        ("NoSuchBucket", 404): "AWS_NOT_FOUND",
        ("ValidationException", 400): "AWS_REQUEST_INVALID",
        ("ConditionalCheckFailedException", 400): "AWS_ERROR",
    }
    for (code, status), expected in cases.items():
        failure = errors.classify(client_error(code, status))
        assert (failure.code, failure.where, failure.exit_code) == (expected, "Query", 2), code
        assert failure.line() == f"{expected}: {code}: m [Query]"
    wrapped = errors.TransientError("ClientError: throttled")
    wrapped.__cause__ = client_error("ThrottlingException", 400)
    assert errors.classify(wrapped).code == "AWS_THROTTLED"
    assert set(errors.CODES) <= set(all_codes())


def _subprocess(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base.update({"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_CONFIG_FILE": str(tmp_path / "none"),
                 "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1", **env})
    return subprocess.run([sys.executable, "-m", "genomics.cli", *args], capture_output=True, text=True,
                          cwd=tmp_path, env=base, timeout=120, check=False)


def test_cli_errors_measured_failures_as_a_process(tmp_path):
    """The cases that printed tracebacks, run as a user runs them."""
    garbage = tmp_path / "garbage.vcf"
    garbage.write_text("garbage\nnot a vcf\n")
    truncated = tmp_path / "truncated.bam"
    truncated.write_bytes((CORPUS / "bam/passed/level-9.bam").read_bytes()[:60_000])
    cases = [
        (["process", str(garbage), str(tmp_path / "out")], "PROC_", str(garbage)),
        (["qc", str(garbage)], "QC_UNKNOWN_FORMAT", str(garbage)),
        (["qc", str(truncated)], "QC_", str(truncated)),
        (["qc", str(tmp_path / "missing.bam")], "CLI_FILE_NOT_FOUND", str(tmp_path / "missing.bam")),
        (["status", "S1"], "AWS_NO_CREDENTIALS", None),
        (["cost", "P"], "AWS_NO_CREDENTIALS", None),
    ]
    for args, code, where in cases:
        proc = _subprocess(args, tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        m = one_coded_line(proc.stderr)
        assert m["code"].startswith(code), (args, proc.stderr)
        if where:
            assert m["where"] and m["where"].startswith(where), (args, proc.stderr)


def test_cli_errors_verdicts_as_a_process(tmp_path):
    """Exit 1 is a verdict, not an error: nothing on stderr."""
    invalid = tmp_path / "bad.vcf"
    invalid.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\tx\t.\tA\tC\t.\t.\t.\n")
    proc = _subprocess(["validate", str(invalid)], tmp_path)
    assert proc.returncode == 1 and "INVALID" in proc.stdout and proc.stderr == ""
    proc = _subprocess(["qc", str(SMALL_VCF)], tmp_path)  # 2 of 36 genotypes missing: the WGS gate fails
    assert proc.returncode == 1 and "gate fail" in proc.stdout and proc.stderr == ""
