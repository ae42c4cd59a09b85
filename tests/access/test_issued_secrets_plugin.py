"""The issued-secrets scan (tests/issued_secrets.py) can fail: a planted secret is found in a
file or a log record and named by kind (never shown), an --env-file the user asked for is
allowed, deliver is wrapped where the faces call it, and a pytest session (with and without
xdist) that leaks one exits 1. Nothing here is recorded in this session's registry."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import click
import pytest

import tests.issued_secrets as plugin
from tests.cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
AWS: dict[str, Any] = {
    "Version": 1,
    "AccessKeyId": "ASIAPLANTEDKEYID0001",
    "SecretAccessKey": "planted/Secret+Access" + "Key" * 8,
    "SessionToken": "planted-Session-Token/" + "z" * 60,
    "Expiration": "2030-01-01T00:00:00+00:00",
}
PG_PASSWORD = "pl@nted:pass/word\\" + "q" * 10
PG: dict[str, Any] = {
    "kind": "postgres",
    "role": "stx_tmp_1",
    "url": "postgresql://stx_tmp_1:pl%40nted%3Apass%2Fword%5C" + "q" * 10 + "@db.example:5432/shop",
    "pgpass": "db.example:5432:shop:stx_tmp_1:pl@nted\\:pass/word\\\\" + "q" * 10,
    "expires_at": "2030-01-01T00:00:00+00:00",
}


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> plugin.Registry:
    """A registry of this test's own (the session's real one stays untouched)."""
    reg = plugin.Registry()
    monkeypatch.setattr(plugin, "REGISTRY", reg)
    return reg


def test_secrets_of_a_delivery() -> None:
    assert plugin.secrets_of(AWS) == [
        (AWS["SecretAccessKey"], "AWS SecretAccessKey"),
        (AWS["SessionToken"], "AWS SessionToken"),
    ]
    got = plugin.secrets_of(PG)
    assert (PG_PASSWORD, "PostgreSQL password") in got
    assert ("pl%40nted%3Apass%2Fword%5C" + "q" * 10, "PostgreSQL password (URL-encoded)") in got
    assert {kind for _, kind in got} == {"PostgreSQL password", "PostgreSQL password (URL-encoded)"}
    assert all(v != PG["role"] for v, _ in got)


def test_a_planted_secret_is_found_and_named_by_kind(tmp_path: Path) -> None:
    secrets = dict((v, k) for v, k in plugin.secrets_of(AWS) + plugin.secrets_of(PG))
    clean = tmp_path / "clean.log"
    clean.write_text("nothing to see; key id " + AWS["AccessKeyId"], encoding="utf-8")
    assert plugin.scan(tmp_path, secrets) == []

    db = tmp_path / "home" / "stratusec.db"
    db.parent.mkdir()
    # a secret across the chunk boundary of the reader, inside binary data
    pad = b"\x00" * (plugin.CHUNK - 10)
    db.write_bytes(pad + AWS["SessionToken"].encode() + b"\x00\x01")
    log = tmp_path / "http.stderr"
    log.write_text(f"INFO stratusec: connected {PG_PASSWORD}\n", encoding="utf-8")
    env = tmp_path / "creds.env"
    env.write_text(f"AWS_SECRET_ACCESS_KEY={AWS['SecretAccessKey']}\n", encoding="utf-8")
    records = [
        ("stratusec.access", "fine"),
        ("botocore.parsers", f"Response body: <SecretAccessKey>{AWS['SecretAccessKey']}<"),
    ]

    hits = plugin.scan(tmp_path, secrets, allowed=[env], records=records)
    assert {(h.where, h.kind) for h in hits} == {
        (str(db), "AWS SessionToken"),
        (str(log), "PostgreSQL password"),
        ("log record #1 of logger 'botocore.parsers'", "AWS SecretAccessKey"),
    }
    report = "\n".join(map(str, hits))
    for secret in secrets:
        assert secret not in report

    # Without the allowance the env file is a hit too.
    hits = plugin.scan(tmp_path, secrets)
    assert (str(env), "AWS SecretAccessKey") in {(h.where, h.kind) for h in hits}


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f").write_text(AWS["SessionToken"], encoding="utf-8")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    assert plugin.scan(root, {AWS["SessionToken"]: "AWS SessionToken"}) == []


def test_deliver_is_wrapped_where_the_faces_look_it_up() -> None:
    from stratusec.cli import access as cli_access
    from stratusec.operations import access

    assert getattr(access.deliver, "__issued_secrets_wrapped__", False)
    assert cli_access.access_op.deliver is access.deliver
    # the MCP server imports it inside request_access, at call time
    from stratusec.operations.access import deliver

    assert deliver is access.deliver
    assert plugin.HANDLER in logging.getLogger().handlers
    assert logging.getLogger("stratusec.access").isEnabledFor(logging.DEBUG)


def test_wrapper_records_secrets_and_the_env_file(
    registry: plugin.Registry, tmp_path: Path
) -> None:
    calls: list[Any] = []

    def fake(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append((args, kwargs))
        return dict(AWS)

    wrapped = plugin._wrap(fake)
    assert plugin._wrap(wrapped) is wrapped
    assert wrapped("ctx", "gid", actor="alice") == AWS and calls == [
        (("ctx", "gid"), {"actor": "alice"})
    ]
    assert registry.secrets == {
        AWS["SecretAccessKey"]: "AWS SecretAccessKey",
        AWS["SessionToken"]: "AWS SessionToken",
    }
    assert registry.allowed == set()

    env = tmp_path / "alice.env"

    @click.command()
    @click.option("--env-file", type=click.Path(path_type=Path))
    def credentials(env_file: Path | None) -> None:
        wrapped("ctx", "gid", actor="alice")

    with pytest.raises(SystemExit) as done:
        credentials.main(["--env-file", str(env)], standalone_mode=True)
    assert done.value.code == 0
    assert registry.allowed == {env.resolve()}


def test_the_real_cli_env_file_is_allowed(
    registry: plugin.Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``stratusec access credentials ID --env-file PATH`` in this process (Typer's own
    click): the wrapper sees PATH while deliver runs."""
    from stratusec.operations import access

    class Row:
        kind = "aws"

    monkeypatch.setattr(access, "load_grant", lambda ctx, gid: Row())
    monkeypatch.setattr(access, "deliver", plugin._wrap(lambda *a, **k: dict(AWS)))
    env = tmp_path / "alice.env"
    r = run_cli(capsys, "access", "credentials", "0" * 32, "--env-file", str(env))
    assert r.code == 0, r.err
    assert AWS["SessionToken"] in env.read_text(encoding="utf-8")
    assert registry.allowed == {env.resolve()}
    assert set(registry.secrets) == {AWS["SecretAccessKey"], AWS["SessionToken"]}
    # and the scan leaves that file alone
    assert plugin.scan(tmp_path, registry.secrets, allowed=registry.allowed) == []


def test_env_file_from_argv(registry: plugin.Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    wrapped = plugin._wrap(lambda *a, **k: dict(AWS))
    monkeypatch.setattr(
        sys, "argv", ["stratusec", "access", "credentials", "x", "--env-file=a.env"]
    )
    wrapped()
    monkeypatch.setattr(sys, "argv", ["stratusec", "access", "credentials", "x"])
    wrapped()
    assert registry.allowed == {Path("a.env").resolve()}


def test_worker_hits_reach_the_controller(monkeypatch: pytest.MonkeyPatch) -> None:
    sink: list[str] = []
    monkeypatch.setattr(plugin, "_WORKER_HITS", sink)

    class Gateway:
        id = "gw3"

    class Node:
        gateway = Gateway()
        workeroutput = {plugin._HITS_KEY: ["AWS SessionToken in /tmp/x.log"]}

    plugin.pytest_testnodedown(Node(), None)
    assert sink == ["[gw3] AWS SessionToken in /tmp/x.log"]


INNER = """
import logging

from tests.issued_secrets import record_credentials

SECRET = "inner-planted-" + "S" * 30
TOKEN = "inner-token-" + "T" * 40
LOGGED = "inner-logged-" + "L" * 30


def test_leaks_to_a_file(tmp_path):
    record_credentials({"SecretAccessKey": SECRET})
    (tmp_path / "server.log").write_text("request ok " + SECRET)


def test_env_file_is_allowed(tmp_path):
    env = tmp_path / "creds.env"
    record_credentials({"SessionToken": TOKEN}, env_file=env)
    env.write_text("AWS_SESSION_TOKEN=" + TOKEN)


def test_leaks_to_a_log_record():
    record_credentials({"SecretAccessKey": LOGGED})
    logging.getLogger("stratusec.inner").debug("made %s", LOGGED)
"""


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_session_that_leaks_fails(tmp_path: Path, xdist: list[str]) -> None:
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "test_inner.py").write_text(textwrap.dedent(INNER), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    proc = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-p", "tests.issued_secrets", "-p", "no:cacheprovider",
            "--rootdir", str(proj), "--basetemp", str(tmp_path / "bt"), "-q", *xdist, str(proj),
        ],
        cwd=proj,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert "3 passed" in out, out
    assert proc.returncode == 1, out
    assert "issued secrets found outside the allowed files: 2" in out, out
    assert "AWS SecretAccessKey in " in out and "server.log" in out
    assert "log record" in out and "'stratusec.inner'" in out
    assert "creds.env" not in out
    for secret in ("inner-planted-" + "S" * 30, "inner-token-" + "T" * 40):
        assert secret not in out, "the report must not show the secret"
    assert "inner-logged-" + "L" * 30 not in out
