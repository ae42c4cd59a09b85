"""`remediate` over MCP stdio with the real SDK client: plan, apply -> pending, a
self-approval refused, approved by another human, applied once by get_approval, re-checked
and resolved; a second run of the same approval changes nothing; a reader never sees it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mcp import Client, StdioServerParameters
from stratusec.config import Config, CredentialSource, save
from stratusec.governance.approvals import decide
from stratusec.governance.audit import AuditLog
from stratusec.operations.context import Context
from stratusec.operations.scan import scan

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "stratusec.cli.app"]


def _server(home: Path, user: str) -> StdioServerParameters:
    env = {**os.environ, "STRATUSEC_HOME": str(home), "LOGNAME": user, "USER": user}
    return StdioServerParameters(command=CLI[0], args=[*CLI[1:], "mcp", "serve"], env=env)


async def _flow(home: Path, finding_check: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with Client(_server(home, "alice")) as c:
        tools = {t.name for t in (await c.list_tools()).tools}
        out["tools"] = tools
        page = await c.call_tool("get_findings", {"check": [finding_check]})
        fid = page.structured_content["findings"][0]["id"]
        plan = await c.call_tool("remediate", {"finding_id": fid})
        assert not plan.is_error, plan.content
        out["plan"] = plan.structured_content["plan"]
        bogus = await c.call_tool("remediate", {"finding_id": fid, "confirm": True})
        out["confirm_refused"] = bogus.is_error and "unknown argument" in bogus.content[0].text
        pending = await c.call_tool("remediate", {"finding_id": fid, "mode": "apply"})
        assert pending.is_error, "an apply must not run without approval"
        out["pending"] = pending.structured_content
        aid = pending.structured_content["approval_id"]
        poll = await c.call_tool("get_approval", {"approval_id": aid})
        out["poll_status"] = poll.structured_content["status"]
        # the human the agent acts for (the OS user alice) cannot approve it
        selfie = subprocess.run(
            [*CLI, "approvals", "approve", aid],
            env={**os.environ, "STRATUSEC_HOME": str(home), "LOGNAME": "alice", "USER": "alice"},
            capture_output=True,
            text=True,
            check=False,
        )
        out["self_approval"] = (selfie.returncode, selfie.stderr)
        ctx = Context.load()
        decide(ctx.store, aid, approver="bob", approve=True, reason="reviewed the plan")
        ctx.close()
        ran = await c.call_tool("get_approval", {"approval_id": aid})
        assert not ran.is_error, ran.content
        out["ran"] = ran.structured_content
        again = await c.call_tool("get_approval", {"approval_id": aid})
        out["again"] = again.structured_content
        after = await c.call_tool("get_findings", {"check": [finding_check], "status": "all"})
        out["after"] = after.structured_content["findings"]
    return out


def test_remediate_over_stdio(account: Any, aws: Any, stratusec_home: Path) -> None:
    s3 = aws("s3", "eu-west-1")
    s3.create_bucket(
        Bucket="trail-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    aws("cloudtrail", "eu-west-1").create_trail(Name="eu-trail", S3BucketName="trail-logs")
    acct = account.model_copy(update={"remediation": CredentialSource(source="emulator")})
    cfg = Config(accounts=[acct])
    cfg.governance.stdio_role = "operator"
    save(cfg)
    ctx = Context.load()
    scan(ctx, account=acct.name, services=["cloudtrail"])
    ctx.close()

    out = asyncio.run(_flow(stratusec_home, "cloudtrail_log_file_validation"))
    assert "remediate" in out["tools"]
    plan = out["plan"]
    assert plan["status"] == "planned" and plan["calls"][0]["operation"] == "update_trail"
    assert plan["diff"] == [{"key": "enable_log_file_validation", "before": False, "after": True}]
    assert out["confirm_refused"]
    assert out["pending"]["status"] == "pending_approval"
    assert out["poll_status"] == "pending"
    code, err = out["self_approval"]
    assert code != 0 and "different human" in err
    ran = out["ran"]
    assert ran["status"] == "executed"
    applied = ran["result"]["plan"]
    assert applied["status"] == "applied" and applied["result"]["verification"]["resolved"]
    assert out["again"]["status"] == "executed"
    assert "plan" not in (out["again"]["result"] or {})  # the stored summary: not run again
    assert [f["status"] for f in out["after"]] == ["resolved"]
    live = aws("cloudtrail", "eu-west-1").describe_trails()["trailList"][0]
    assert live["LogFileValidationEnabled"] is True
    # one approved execution in the audit chain, and the chain is intact
    ctx = Context.load()
    log = AuditLog(ctx.store)
    recs = log.list(tool="remediate", limit=100)
    ctx.close()
    executed = [
        r
        for r in recs
        if r["approval_id"] == ran["approval_id"] and r["outcome"] in ("started", "ok")
    ]
    assert sorted(r["outcome"] for r in executed) == ["ok", "started"]
    ctx = Context.load()
    verified = AuditLog(ctx.store).list(tool="remediate_verify", limit=10)
    ctx.close()
    assert [(r["arguments"]["resolved"], r["approval_id"]) for r in verified] == [
        (True, ran["approval_id"])
    ]
    assert log.verify().ok


def test_a_reader_neither_sees_nor_calls_remediate(account: Any, stratusec_home: Path) -> None:
    save(Config(accounts=[account]))

    async def go() -> tuple[set[str], Any]:
        async with Client(_server(stratusec_home, "carol")) as c:
            names = {t.name for t in (await c.list_tools()).tools}
            r = await c.call_tool("remediate", {"finding_id": "x"})
            return names, r

    names, r = asyncio.run(go())
    assert "remediate" not in names
    assert r.is_error and "not available to role 'reader'" in r.content[0].text
    data = yaml.safe_load((stratusec_home / "config.yaml").read_text())
    assert data["accounts"][0]["name"] == account.name
