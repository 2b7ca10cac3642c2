"""`genomics login` on moto's Cognito: finds the stack's pool and client by name, signs in with
USER_PASSWORD_AUTH, saves the tokens with mode 0600 and never prints them."""

from __future__ import annotations

import io
import json
import stat

import boto3

from genomics import cli
from genomics.webapp import directory


def test_cli_login_saves_tokens_privately(stack, tmp_path, monkeypatch, capsys) -> None:
    users = directory.create(boto3.Session(), stack.names)
    directory.add_user(boto3.Session(), users, "alice", "Long-password-1", ("researcher",))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("Long-password-1\n"))
    assert cli.main(["login", "alice", "--password-stdin", "--stack", stack.names.stack]) == 0
    saved = tmp_path / "genomics" / f"tokens-{stack.names.stack}.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    doc = json.loads(saved.read_text())
    assert doc["client_id"] == users.client_id and doc["access_token"].count(".") == 2
    out = capsys.readouterr()
    assert doc["access_token"] not in out.out + out.err and "signed in as alice" in out.out


def test_cli_login_wrong_password_is_a_coded_error(stack, tmp_path, monkeypatch, capsys) -> None:
    users = directory.create(boto3.Session(), stack.names)
    directory.add_user(boto3.Session(), users, "alice", "Long-password-1", ())
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr("sys.stdin", io.StringIO("nope\n"))
    assert cli.main(["login", "alice", "--password-stdin", "--stack", stack.names.stack]) == 2
    assert "CLI_LOGIN" in capsys.readouterr().err and not (tmp_path / "genomics").exists()
