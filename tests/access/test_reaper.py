"""The reaper: expired grants are marked expired (and audited) by `stratusec access reap`,
by a Reaper pass, and by the HTTP MCP server's background loop."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2
import pytest

from stratusec.config import AccessLevelSettings, AccessSettings, Config, save
from stratusec.governance.audit import AuditLog
from stratusec.operations import access as access_op
from stratusec.operations.context import Context
from stratusec.store.db import utcnow
from stratusec.store.models import AccessGrantRow
from tests.cli_helpers import run_cli
from tests.mcp.helpers import free_port

ROLE = "arn:aws:iam::123456789012:role/jit-target"


def _config(account: Any, interval: str = "60s") -> Context:
    save(
        Config(
            accounts=[account],
            access=AccessSettings(
                reap_interval=interval,
                levels={
                    "s3-read": AccessLevelSettings(
                        account=account.name,
                        target_role=ROLE,
                        actions=["s3:GetObject"],
                        resources=["arn:aws:s3:::orders-*/*"],
                        auto_grant=True,
                    )
                },
            ),
        )
    )
    return Context.load()


def _grant(ctx: Context, *, expired: bool, status: str = "delivered") -> str:
    now = utcnow()
    gid = uuid.uuid4().hex
    row = AccessGrantRow(
        id=gid,
        kind="aws",
        level="s3-read",
        account_name=ctx.config.accounts[0].name,
        target=ROLE,
        requester="agent",
        scope={"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::orders-1/*"]},
        seconds=900,
        reason="test",
        status=status,
        rule="access:level:s3-read:auto_grant",
        proof={"ok": True},
        created_at=now - dt.timedelta(hours=1),
        expires_at=now + dt.timedelta(minutes=-5 if expired else 10),
    )
    with ctx.store.session() as s, s.begin():
        s.add(row)
    return gid


def _status(ctx: Context, gid: str) -> str:
    return str(access_op.grant_dict(access_op.load_grant(ctx, gid))["status"])


def _stored_status(ctx: Context, gid: str) -> str:
    with ctx.store.session() as s:
        row = s.get(AccessGrantRow, gid)
        assert row is not None
        return row.status


def test_reaper_pass_marks_expired_and_audits_only_when_it_did_something(account: Any) -> None:
    ctx = _config(account)
    old, live = _grant(ctx, expired=True), _grant(ctx, expired=False)
    assert _stored_status(ctx, old) == "delivered" and _status(ctx, old) == "expired"
    reaper = access_op.Reaper(ctx, interval=3600)
    first = reaper.run_once()
    assert first["expired_grants"] == 1 and first["errors"] == {}
    assert _stored_status(ctx, old) == "expired"
    assert _stored_status(ctx, live) == "delivered"
    notes = AuditLog(ctx.store).list(tool="access_reap")
    assert len(notes) == 1 and notes[0]["principal"] == "stratusec-reaper"
    assert notes[0]["arguments"]["expired_grants"] == 1
    second = reaper.run_once()
    assert second["expired_grants"] == 0
    assert len(AuditLog(ctx.store).list(tool="access_reap")) == 1  # nothing done, no record
    ctx.close()


def test_cli_reap(account: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ctx = _config(account)
    old = _grant(ctx, expired=True, status="granted")
    r = run_cli(capsys, "access", "reap")
    assert r.code == 0, r.err
    assert '"expired_grants": 1' in r.out
    assert _stored_status(ctx, old) == "expired"
    again = run_cli(capsys, "access", "credentials", old)
    assert again.code == 2 and "is expired" in again.err
    ctx.close()


def test_http_server_reaps_in_the_background(account: Any, tmp_path: Path) -> None:
    ctx = _config(account, interval="1s")
    old = _grant(ctx, expired=True)
    port = free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "stratusec.cli.app", "mcp", "serve", "--transport", "http",
             "--port", str(port)],
            env=env, stdin=subprocess.DEVNULL, stdout=fh, stderr=fh,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while _stored_status(ctx, old) != "expired":
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"not reaped: {log.read_text()}"
            time.sleep(0.2)
        # the server itself answers (bearer token required) while reaping
        r = httpx2.post(f"http://127.0.0.1:{port}/mcp", json={}, timeout=5)
        assert r.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "access reaper every 1s" in log.read_text()
    ctx.close()
