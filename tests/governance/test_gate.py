"""The governance gate on SQLite and PostgreSQL: the audit record is written before a call
runs, denied and pending calls are one record, approved calls run once as their requester,
rate limits, a policy broken after start fails closed, and the CLI's approvals run."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stratusec.config import Config, GovernanceSettings, RateLimit, Storage, save
from stratusec.governance import approvals as approvals_mod
from stratusec.governance.audit import AuditLog, AuditWriteError
from stratusec.governance.gate import (
    ApprovalPending,
    CallDenied,
    Caller,
    Governor,
    PendingApproval,
    RateLimited,
)
from stratusec.governance.ratelimit import RateLimiter
from stratusec.governance.rego import PolicyError
from stratusec.store.db import Store, open_store
from tests.cli_helpers import run_cli

APPROVAL_POLICY = """package stratusec.authz

require_approval contains msg if {
    input.tool == "query_graph"
    msg := "graph queries need a second pair of eyes"
}

deny contains msg if {
    input.tool == "get_findings"
    input.arguments.status == "all"
    msg := "not all at once"
}
"""

AGENT = Caller(
    principal="token:ci-agent",
    role="reader",
    face="mcp-http",
    on_behalf_of="alice@example.com",
    agent="claude-code",
    limit_key="tok1",
)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


def records(store: Store) -> list[dict[str, Any]]:
    return list(reversed(AuditLog(store).list(limit=1000)))


def test_an_allowed_call_is_recorded_before_it_runs_and_after(store: Store) -> None:
    gov = Governor(store)
    seen: list[int] = []

    def op() -> dict[str, int]:
        seen.append(len(records(store)))  # the "started" record exists while it runs
        return {"rows": 3}

    assert gov.call(AGENT, "get_findings", {"limit": 3}, op) == {"rows": 3}
    assert seen == [1]
    started, done = records(store)
    assert (started["outcome"], done["outcome"]) == ("started", "ok")
    assert started["call_id"] == done["call_id"] and started["call_id"]
    assert done["result_size"] == len(json.dumps({"rows": 3}, separators=(",", ":")))
    assert done["duration_ms"] is not None and started["rule"] == "role:reader"
    assert (done["principal"], done["on_behalf_of"], done["agent"], done["face"]) == (
        "token:ci-agent",
        "alice@example.com",
        "claude-code",
        "mcp-http",
    )
    assert AuditLog(store).verify().ok


def test_a_failing_call_records_its_error(store: Store) -> None:
    gov = Governor(store)

    def boom() -> None:
        raise ValueError("no such thing")

    with pytest.raises(ValueError):
        gov.call(AGENT, "get_findings", {}, boom)
    assert [(r["outcome"], r["error"]) for r in records(store)] == [
        ("started", None),
        ("error", "ValueError: no such thing"),
    ]


def test_a_tool_outside_the_role_is_denied_recorded_and_never_run(store: Store) -> None:
    gov = Governor(store)
    ran = []
    with pytest.raises(CallDenied, match="may not call 'remediate'"):
        gov.call(AGENT, "remediate", {"finding_id": "x"}, lambda: ran.append(1))
    assert ran == []
    (rec,) = records(store)
    assert (rec["decision"], rec["outcome"], rec["rule"]) == ("deny", "denied", "role:reader")
    assert gov.tools_for(AGENT) == frozenset(
        {
            "scan",
            "get_findings",
            "explain_finding",
            "query_graph",
            "get_attack_paths",
            "check_compliance",
            "get_approval",
            "validate_guardrail",
        }
    )


def test_no_audit_no_call(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    gov = Governor(store)
    monkeypatch.setattr(AuditLog, "_chain_and_insert", staticmethod(_explode))
    ran = []
    with pytest.raises(AuditWriteError, match="the call was not run"):
        gov.call(AGENT, "get_findings", {}, lambda: ran.append(1))
    assert ran == []


def _explode(*_a: Any, **_k: Any) -> None:
    raise RuntimeError("disk full")


def _policy_gov(store: Store, tmp_path: Path, source: str = APPROVAL_POLICY) -> Governor:
    f = tmp_path / "authz.rego"
    f.write_text(source)
    return Governor(store, policy_file=f)


def test_require_approval_then_run_once_as_the_requester(store: Store, tmp_path: Path) -> None:
    gov = _policy_gov(store, tmp_path)
    args = {"cypher": "MATCH (n) RETURN count(n)", "account": "acme-prod"}
    pending = gov.begin(AGENT, "query_graph", args)
    assert isinstance(pending, PendingApproval)
    assert pending.reason == "graph queries need a second pair of eyes"
    assert pending.rule == "rego:authz.rego"
    (rec,) = records(store)
    assert (rec["decision"], rec["outcome"], rec["approval_id"]) == (
        "require_approval",
        "pending",
        pending.approval_id,
    )
    # not yet approved: nothing to run
    with pytest.raises(CallDenied, match="still pending"):
        gov.begin_approved(AGENT, pending.approval_id)
    # the human the agent acts for cannot approve (an e-mail and a user name alike)
    with pytest.raises(approvals_mod.SelfApprovalError):
        approvals_mod.decide(
            store, pending.approval_id, approver="alice", approve=True, reason="me"
        )
    approvals_mod.decide(store, pending.approval_id, approver="bob", approve=True, reason="ok")
    # another caller cannot run it
    other = Caller(principal="token:other", role="reader", face="mcp-http")
    with pytest.raises(CallDenied, match="only that caller"):
        gov.begin_approved(other, pending.approval_id)
    ticket = gov.begin_approved(AGENT, pending.approval_id)
    assert ticket.tool == "query_graph" and ticket.arguments == args
    assert ticket.decision.rule == f"approval:{pending.approval_id}"
    gov.run_ticket(ticket, lambda: {"rows": [[1]]})
    with pytest.raises(CallDenied, match="already used"):
        gov.begin_approved(AGENT, pending.approval_id)
    done = approvals_mod.get_approval(store, pending.approval_id)
    assert done["status"] == "executed" and done["result"]["outcome"] == "ok"
    executed = [r for r in records(store) if r["approval_id"] == pending.approval_id]
    assert [r["outcome"] for r in executed] == ["pending", "started", "ok"]
    # a second identical call needs a new approval
    again = gov.begin(AGENT, "query_graph", args)
    assert isinstance(again, PendingApproval) and again.approval_id != pending.approval_id
    assert AuditLog(store).verify().ok


def test_the_sync_path_raises_pending(store: Store, tmp_path: Path) -> None:
    gov = _policy_gov(store, tmp_path)
    with pytest.raises(ApprovalPending, match="stratusec approvals approve") as info:
        gov.call(AGENT, "query_graph", {"cypher": "RETURN 1"}, lambda: 1)
    assert info.value.exit_code == 4


def test_policy_deny_names_the_reason_and_rule(store: Store, tmp_path: Path) -> None:
    gov = _policy_gov(store, tmp_path)
    with pytest.raises(CallDenied, match="not all at once") as info:
        gov.call(AGENT, "get_findings", {"status": "all"}, lambda: 1)
    assert info.value.rule == "rego:authz.rego"
    assert gov.call(AGENT, "get_findings", {"status": "open"}, lambda: 2) == 2


def test_a_broken_policy_refuses_to_start_and_fails_closed_once_running(
    store: Store, tmp_path: Path
) -> None:
    f = tmp_path / "authz.rego"
    f.write_text("package stratusec.authz\n\ndeny contains msg if {\n  input.tool ==\n}\n")
    with pytest.raises(PolicyError, match=r"authz.rego:\d+"):
        Governor(store, policy_file=f)
    gov = _policy_gov(store, tmp_path)
    assert gov.call(AGENT, "get_findings", {}, lambda: 1) == 1
    f.write_text("package stratusec.authz\n\ndeny contains msg if {\n  input.tool ==\n}\n")
    os.utime(f, (time.time() + 5, time.time() + 5))  # a new mtime even on coarse clocks
    with pytest.raises(CallDenied, match=r"policy is broken: .*authz.rego:\d+"):
        gov.call(AGENT, "get_findings", {}, lambda: 1)
    f.unlink()
    with pytest.raises(CallDenied, match="is missing"):
        gov.call(AGENT, "get_findings", {}, lambda: 1)
    f.write_text(APPROVAL_POLICY)
    assert gov.call(AGENT, "get_findings", {}, lambda: 3) == 3


def test_resources_and_prompts_are_open_to_any_role_but_still_seen_by_the_policy(
    store: Store, tmp_path: Path
) -> None:
    gov = _policy_gov(
        store,
        tmp_path,
        'package stratusec.authz\n\ndeny contains "no config" if {\n'
        '  input.tool == "read_resource"\n  input.arguments.uri == "stratusec://config"\n}\n',
    )
    assert gov.call(AGENT, "read_resource", {"uri": "stratusec://accounts"}, lambda: 1) == 1
    with pytest.raises(CallDenied, match="no config"):
        gov.call(AGENT, "read_resource", {"uri": "stratusec://config"}, lambda: 1)
    nobody = Caller(principal="x", role="ghost", face="mcp-http")
    with pytest.raises(CallDenied, match="unknown role"):
        gov.call(nobody, "get_prompt", {"name": "security_review"}, lambda: 1)


def test_rate_limit_per_token(store: Store) -> None:
    gov = Governor(store, limiter=RateLimiter(per_minute=60, burst=2))
    assert gov.call(AGENT, "get_findings", {}, lambda: 1) == 1
    assert gov.call(AGENT, "get_findings", {}, lambda: 1) == 1
    with pytest.raises(RateLimited, match="rate limit exceeded") as info:
        gov.call(AGENT, "get_findings", {}, lambda: 1)
    assert 0 < info.value.retry_after <= 1.0
    # another token has its own bucket
    other = Caller(principal="token:b", role="reader", face="mcp-http", limit_key="tok2")
    assert gov.call(other, "get_findings", {}, lambda: 1) == 1
    denied = [r for r in records(store) if r["outcome"] == "denied"]
    assert [(r["rule"], r["principal"]) for r in denied] == [("rate_limit", "token:ci-agent")]


def test_rate_limiter_refills() -> None:
    rl = RateLimiter(per_minute=60, burst=1)
    assert rl.allow("k", now=0.0) == (True, 0.0)
    ok, wait = rl.allow("k", now=0.5)
    assert not ok and wait == pytest.approx(0.5)
    assert rl.allow("k", now=1.01)[0]


def test_local_commands_are_recorded_without_policy(store: Store, tmp_path: Path) -> None:
    gov = _policy_gov(store, tmp_path, "package stratusec.authz\n\nallow := false\n")
    cli = Caller(principal="root", role="admin", face="cli")
    with pytest.raises(CallDenied):
        gov.call(cli, "get_findings", {}, lambda: 1)
    assert gov.record(cli, "token_revoke", {"token": "t"}, lambda: "done") == "done"
    last = records(store)[-2:]
    assert [(r["tool"], r["outcome"], r["rule"]) for r in last] == [
        ("token_revoke", "started", "cli:local"),
        ("token_revoke", "ok", "cli:local"),
    ]


def test_cli_approvals_run_executes_an_approved_cli_request_once(
    capsys: pytest.CaptureFixture[str], stratusec_home: Path, store_url: str
) -> None:
    save(
        Config(
            storage=Storage(url=store_url),
            governance=GovernanceSettings(rate_limit=RateLimit(per_minute=600, burst=100)),
        )
    )
    (stratusec_home / "authz.rego").write_text(
        'package stratusec.authz\n\nrequire_approval contains "check first" if {\n'
        '  input.tool == "check_compliance"\n}\n'
    )
    res = run_cli(capsys, "compliance", "--framework", "cis-aws-3.0")
    assert res.code == 4 and "check first" in res.err
    s = open_store(store_url)
    try:
        (req,) = approvals_mod.list_approvals(s, "pending")
        assert req["tool"] == "check_compliance"
        approvals_mod.decide(s, req["id"], approver="someone-else", approve=True, reason="ok")
    finally:
        s.close()
    ran = run_cli(capsys, "approvals", "run", req["id"])
    # it ran: the operation itself fails (no account in this config), and that is recorded
    assert ran.code == 2 and "no accounts configured" in ran.err
    again = run_cli(capsys, "approvals", "run", req["id"])
    assert again.code == 3 and "already used" in again.err
