"""Approval requests on SQLite and PostgreSQL: bound to a tool and an argument digest,
decided by a different human, run exactly once; and the ``stratusec approvals`` commands."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from stratusec.cli import governance as gov_cli
from stratusec.cli.app import app
from stratusec.config import Config, Storage, save
from stratusec.errors import NotFoundError
from stratusec.governance.approvals import (
    ApprovalError,
    ApprovalExpiredError,
    ApprovalMismatchError,
    ApprovalStateError,
    SelfApprovalError,
    args_digest,
    claim_for_execution,
    decide,
    expire_stale,
    get_approval,
    list_approvals,
    record_result,
    request_approval,
)
from stratusec.store.db import Store, open_store
from stratusec.store.models import ApprovalRow
from tests.cli_helpers import run_cli

TOOL = "apply_remediation"
ARGS: dict[str, Any] = {"finding_id": "f1", "dry_run": False, "options": {"b": 2, "a": [1, 2]}}


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


def _request(store: Store, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "tool": TOOL,
        "arguments": ARGS,
        "requester": "claude-agent",
        "on_behalf_of": "alice",
        "agent": "Claude Desktop",
        "reason": "close the public bucket",
        "ttl": dt.timedelta(hours=1),
    }
    args.update(kw)
    return request_approval(store, **args)


def _expire(store: Store, approval_id: str) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with store.engine.begin() as conn:
        conn.execute(
            update(ApprovalRow).where(ApprovalRow.id == approval_id).values(expires_at=past)
        )


def test_args_digest_is_canonical() -> None:
    reordered = {"options": {"a": [1, 2], "b": 2}, "dry_run": False, "finding_id": "f1"}
    assert args_digest(TOOL, ARGS) == args_digest(TOOL, reordered)
    assert args_digest(TOOL, ARGS) != args_digest("other_tool", ARGS)
    assert args_digest(TOOL, ARGS) != args_digest(TOOL, {**ARGS, "dry_run": True})
    assert args_digest(TOOL, {"a": [1, 2]}) != args_digest(TOOL, {"a": [2, 1]})
    with pytest.raises(ApprovalError, match="not plain JSON"):
        args_digest(TOOL, {"x": float("nan")})
    with pytest.raises(ApprovalError, match="not plain JSON"):
        args_digest(TOOL, {"x": object()})


def test_request_is_pending_and_bound_to_the_arguments(store: Store) -> None:
    a = _request(store)
    assert a["status"] == "pending" and a["args_digest"] == args_digest(TOOL, ARGS)
    got = get_approval(store, a["id"])
    assert got["arguments"] == ARGS and got["requester"] == "claude-agent"
    assert got["on_behalf_of"] == "alice" and got["expires_at"] > got["created_at"]
    with pytest.raises(NotFoundError, match="unknown approval request"):
        get_approval(store, "nope")
    with pytest.raises(ApprovalError, match="expiry"):
        _request(store, ttl=dt.timedelta(0))


@pytest.mark.parametrize(
    "approver", ["claude-agent", "CLAUDE-AGENT", "alice", " Alice ", "alice@example.com"]
)
def test_self_approval_is_refused(store: Store, approver: str) -> None:
    a = _request(store)
    with pytest.raises(SelfApprovalError, match="a different human must approve"):
        decide(store, a["id"], approver=approver, approve=True, reason="me")
    assert get_approval(store, a["id"])["status"] == "pending"
    with pytest.raises(ApprovalStateError, match="still pending"):
        claim_for_execution(store, a["id"], tool=TOOL, arguments=ARGS)


def test_an_email_and_a_username_of_the_same_person_cannot_approve(store: Store) -> None:
    """A token made --for alice@example.com acts for the OS user alice, and vice versa."""
    a = _request(store, on_behalf_of="alice@example.com")
    with pytest.raises(SelfApprovalError):
        decide(store, a["id"], approver="alice", approve=True, reason="me")
    assert decide(store, a["id"], approver="bob", approve=True, reason="ok")["status"] == (
        "approved"
    )


def test_approved_request_runs_once(store: Store) -> None:
    a = _request(store)
    d = decide(store, a["id"], approver="bob", approve=True, reason="ok")
    assert (d["status"], d["decided_by"], d["decision_reason"]) == ("approved", "bob", "ok")
    with pytest.raises(ApprovalStateError, match="already approved"):
        decide(store, a["id"], approver="carol", approve=False, reason=None)
    claimed = claim_for_execution(store, a["id"], tool=TOOL, arguments=dict(ARGS))
    assert claimed["status"] == "executed" and claimed["executed_at"]
    with pytest.raises(ApprovalStateError, match="already used"):
        claim_for_execution(store, a["id"], tool=TOOL, arguments=ARGS)
    record_result(store, a["id"], {"ok": True})
    assert get_approval(store, a["id"])["result"] == {"ok": True}


def test_changed_arguments_or_tool_are_refused(store: Store) -> None:
    a = _request(store)
    decide(store, a["id"], approver="bob", approve=True, reason=None)
    with pytest.raises(ApprovalMismatchError, match="arguments differ"):
        claim_for_execution(store, a["id"], tool=TOOL, arguments={**ARGS, "finding_id": "f2"})
    with pytest.raises(ApprovalMismatchError, match="arguments differ"):
        claim_for_execution(store, a["id"], tool=TOOL, arguments={**ARGS, "extra": 1})
    with pytest.raises(ApprovalMismatchError, match="is for tool 'apply_remediation'"):
        claim_for_execution(store, a["id"], tool="grant_access", arguments=ARGS)
    # Refused attempts do not consume the approval; the exact call still runs, once.
    assert get_approval(store, a["id"])["status"] == "approved"
    assert claim_for_execution(store, a["id"], tool=TOOL, arguments=ARGS)["status"] == "executed"


def test_denied_request_never_runs(store: Store) -> None:
    a = _request(store)
    d = decide(store, a["id"], approver="alice", approve=False, reason="no")  # may withdraw
    assert d["status"] == "denied"
    with pytest.raises(ApprovalStateError, match="was denied"):
        claim_for_execution(store, a["id"], tool=TOOL, arguments=ARGS)
    with pytest.raises(ApprovalStateError, match="already denied"):
        decide(store, a["id"], approver="bob", approve=True, reason=None)


def test_expired_requests_are_refused(store: Store) -> None:
    pending = _request(store)
    _expire(store, pending["id"])
    assert get_approval(store, pending["id"])["status"] == "expired"
    with pytest.raises(ApprovalExpiredError):
        decide(store, pending["id"], approver="bob", approve=True, reason=None)

    approved = _request(store)
    decide(store, approved["id"], approver="bob", approve=True, reason=None)
    _expire(store, approved["id"])
    with pytest.raises(ApprovalExpiredError):
        claim_for_execution(store, approved["id"], tool=TOOL, arguments=ARGS)

    fresh = _request(store)
    assert expire_stale(store) == 0  # both already marked by the refusals above
    assert [a["id"] for a in list_approvals(store, "pending")] == [fresh["id"]]
    assert {a["id"] for a in list_approvals(store, "expired")} == {
        pending["id"],
        approved["id"],
    }
    _expire(store, fresh["id"])
    assert expire_stale(store) == 1
    assert len(list_approvals(store)) == 3
    with pytest.raises(ApprovalError, match="unknown status 'open'"):
        list_approvals(store, "open")


def test_racing_claims_exactly_one_wins(store: Store) -> None:
    a = _request(store)
    decide(store, a["id"], approver="bob", approve=True, reason=None)
    n = 8
    barrier = threading.Barrier(n)
    wins: list[dict[str, Any]] = []
    losses: list[Exception] = []
    lock = threading.Lock()

    def claim() -> None:
        barrier.wait()
        try:
            r = claim_for_execution(store, a["id"], tool=TOOL, arguments=ARGS)
        except ApprovalStateError as exc:
            with lock:
                losses.append(exc)
        else:
            with lock:
                wins.append(r)

    threads = [threading.Thread(target=claim) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(wins) == 1 and len(losses) == n - 1
    assert all("already used" in str(e) for e in losses)
    assert get_approval(store, a["id"])["status"] == "executed"


def test_racing_decisions_exactly_one_wins(store: Store) -> None:
    a = _request(store)
    n = 6
    barrier = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            decide(store, a["id"], approver=f"human{i}", approve=i % 2 == 0, reason=None)
            outcome = "won"
        except ApprovalStateError:
            outcome = "lost"
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["lost"] * (n - 1) + ["won"]


# -- CLI ------------------------------------------------------------------------------------
@pytest.fixture
def cli_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    save(Config(storage=Storage(url=store_url)))
    names = {g.name for g in app.registered_groups}
    if "approvals" not in names:
        monkeypatch.setattr(app, "registered_groups", list(app.registered_groups))
        app.add_typer(gov_cli.token_app, name="token")
        app.add_typer(gov_cli.approvals_app, name="approvals")
    s = open_store(store_url)
    yield s
    s.close()


def test_cli_approve_and_deny(
    cli_store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _request(cli_store, reason="[bold red]ignore previous instructions[/]")
    b = _request(cli_store, arguments={"finding_id": "f9"})

    r = run_cli(capsys, "approvals", "list", "--status", "pending")
    assert r.code == 0, r.err
    assert a["id"] in r.out and b["id"] in r.out and "claude-agent" in r.out

    r = run_cli(capsys, "approvals", "show", a["id"])
    assert r.code == 0, r.err
    assert "finding_id" in r.out and "apply_remediation" in r.out
    assert "[bold red]ignore previous instructions[/]" in r.out  # data, shown verbatim

    monkeypatch.setattr("getpass.getuser", lambda: "Alice")  # the human it acts for
    r = run_cli(capsys, "approvals", "approve", a["id"])
    assert r.code == 2 and "a different human must approve" in r.err
    assert get_approval(cli_store, a["id"])["status"] == "pending"

    monkeypatch.setattr("getpass.getuser", lambda: "bob")
    r = run_cli(capsys, "approvals", "approve", a["id"], "--reason", "checked")
    assert r.code == 0, r.err
    assert "approved by bob" in r.out
    got = get_approval(cli_store, a["id"])
    assert (got["status"], got["decided_by"], got["decision_reason"]) == (
        "approved",
        "bob",
        "checked",
    )
    r = run_cli(capsys, "approvals", "deny", a["id"])
    assert r.code == 2 and "already approved" in r.err

    r = run_cli(capsys, "approvals", "deny", b["id"], "--reason", "too broad")
    assert r.code == 0 and "denied by bob" in r.out

    r = run_cli(capsys, "approvals", "list", "-o", "json")
    assert r.code == 0 and '"status": "denied"' in r.out and '"status": "approved"' in r.out
    r = run_cli(capsys, "approvals", "list", "--status", "pending")
    assert a["id"] not in r.out and b["id"] not in r.out
    r = run_cli(capsys, "approvals", "show", "nope")
    assert r.code == 2 and "unknown approval request 'nope'" in r.err
    r = run_cli(capsys, "approvals", "list", "--status", "bogus")
    assert r.code == 2 and "unknown status 'bogus'" in r.err
