"""Approvals through the MCP face: a Rego policy turns query_graph into a pending request;
only a different human approves it, out of band (the CLI); the agent's get_approval runs it
once with exactly the approved arguments. A broken policy stops the server from starting,
and a policy broken while the server runs fails every call closed."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratusec.governance import approvals as approvals_mod
from tests.mcp.helpers import ACCOUNT, CLI, HUMAN, Demo, Session, error_text, stdio_session

pytestmark = pytest.mark.slow

APPROVER = "bob"
POLICY = """package stratusec.authz

require_approval contains reason if {
    input.tool == "query_graph"
    reason := sprintf("graph queries by %s need a second pair of eyes", [input.on_behalf_of])
}
"""
QUERY = {"cypher": "MATCH (n) RETURN count(n) AS nodes", "account": ACCOUNT}


@pytest.fixture(scope="module")
def policy_config(demo: Demo) -> Path:
    policy = demo.home / "mcp-approvals.rego"
    policy.write_text(POLICY, encoding="utf-8")
    return demo.write_config("approvals", governance={"policy": policy.name})


@pytest.fixture(scope="module")
def srv(demo: Demo, policy_config: Path) -> Iterator[Session]:
    with stdio_session(demo, config=policy_config, name="stdio-approvals") as s:
        yield s


def _request(srv: Session) -> str:
    r = srv.call("query_graph", QUERY)
    text = error_text(r)
    sc = r.structured_content
    assert isinstance(sc, dict), text
    assert sc["status"] == "pending_approval" and sc["tool"] == "query_graph"
    assert sc["rule"] == "rego:mcp-approvals.rego"
    assert sc["reason"] == f"graph queries by {HUMAN} need a second pair of eyes"
    approval_id = str(sc["approval_id"])
    assert f"stratusec approvals approve {approval_id}" in text
    return approval_id


def test_approval_flow(srv: Session, demo: Demo, policy_config: Path) -> None:
    before = demo.last_seq()
    approval_id = _request(srv)
    [pending] = demo.audit_since(before)
    assert (pending["tool"], pending["decision"], pending["outcome"]) == (
        "query_graph",
        "require_approval",
        "pending",
    )
    assert pending["approval_id"] == approval_id and pending["call_id"] is None

    status = srv.ok("get_approval", {"approval_id": approval_id})
    assert status["status"] == "pending" and status["result"] is None
    assert status["arguments"] == QUERY
    assert (status["requester"], status["on_behalf_of"]) == (HUMAN, HUMAN)

    # The agent cannot slip a confirmation past the gate.
    for tool, args in [
        ("get_approval", {"approval_id": approval_id, "confirm": True}),
        ("query_graph", {**QUERY, "confirm": True}),
    ]:
        text = error_text(srv.call(tool, args))
        assert f"unknown argument(s) 'confirm' for {tool}" in text

    # The requesting human cannot approve their own request: not in code, not at the CLI.
    with pytest.raises(approvals_mod.SelfApprovalError, match="a different human"):
        approvals_mod.decide(demo.store, approval_id, approver=HUMAN, approve=True, reason="me")
    own = demo.cli("approvals", "approve", approval_id, config=policy_config, user=HUMAN)
    assert own.returncode != 0
    assert f"'{HUMAN}' cannot approve request {approval_id}" in own.stderr
    assert srv.ok("get_approval", {"approval_id": approval_id})["status"] == "pending"

    # A different human approves out of band.
    ok = demo.cli(
        "approvals", "approve", approval_id, "--reason", "looked", config=policy_config,
        user=APPROVER,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert f"approved by {APPROVER}" in ok.stdout

    done = srv.ok("get_approval", {"approval_id": approval_id})
    assert done["status"] == "executed"
    assert done["decided_by"] == APPROVER and done["decision_reason"] == "looked"
    assert done["result"]["columns"] == ["nodes"] and done["result"]["rows"][0][0] > 50
    assert done["executed_at"]

    again = srv.ok("get_approval", {"approval_id": approval_id})
    assert again["status"] == "executed"
    assert again["result"]["outcome"] == "ok"  # the stored summary: not run again
    runs = [r for r in demo.audit_since(before) if r["approval_id"] == approval_id]
    assert [(r["tool"], r["outcome"]) for r in runs] == [
        ("query_graph", "pending"),
        ("query_graph", "started"),
        ("query_graph", "ok"),
    ]
    assert runs[1]["call_id"] == runs[2]["call_id"] == again["result"]["audit_call_id"]
    assert runs[1]["rule"] == f"approval:{approval_id}"

    # Approval is one-time: the same query asks again.
    second = _request(srv)
    assert second != approval_id
    assert srv.ok("get_approval", {"approval_id": second})["status"] == "pending"


def test_denied_request_never_runs(srv: Session, demo: Demo, policy_config: Path) -> None:
    approval_id = _request(srv)
    no = demo.cli("approvals", "deny", approval_id, config=policy_config, user=APPROVER)
    assert no.returncode == 0, no.stderr
    before = demo.last_seq()
    for _ in range(2):
        status = srv.ok("get_approval", {"approval_id": approval_id})
        assert status["status"] == "denied" and status["result"] is None
    assert [r["tool"] for r in demo.audit_since(before)] == ["get_approval"] * 4
    assert not [r for r in demo.audit_since(before) if r["approval_id"] == approval_id]


def test_another_caller_cannot_run_an_approved_request(
    srv: Session, demo: Demo, policy_config: Path
) -> None:
    approval_id = _request(srv)
    ok = demo.cli("approvals", "approve", approval_id, config=policy_config, user=APPROVER)
    assert ok.returncode == 0, ok.stderr
    with stdio_session(demo, config=policy_config, name="stdio-mallory", user="mallory") as other:
        text = error_text(other.call("get_approval", {"approval_id": approval_id}))
        assert f"approval request {approval_id} belongs to another caller" in text
    assert approvals_mod.get_approval(demo.store, approval_id)["status"] == "approved"
    assert srv.ok("get_approval", {"approval_id": approval_id})["status"] == "executed"


# -- 14. a broken policy -----------------------------------------------------------------------
#: A syntax error: the rule body is never closed (line 5 opens it).
BROKEN = """package stratusec.authz

# a comment

deny contains reason if {
    input.tool == "scan"
    reason := "x"
"""
#: Parse, but do not compile: the message must still name the line (4).
UNIFY_CYCLE = """package stratusec.authz

deny contains reason if {
    input.tool ==
    reason := "x"
}
"""
WRONG_ARITY = """package stratusec.authz

deny contains "x" if {
    startswith(input.tool)
}
"""


def test_broken_policy_stops_the_server_from_starting(demo: Demo) -> None:
    policy = demo.home / "mcp-broken.rego"
    policy.write_text(BROKEN, encoding="utf-8")
    config = demo.write_config("broken-policy", governance={"policy": str(policy)})
    for transport in ("stdio", "http"):
        proc = subprocess.run(
            [*CLI, "mcp", "serve", "--transport", transport, "--port", "1"],
            env=demo.env(config),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode != 0, transport
        assert proc.stdout == "", transport
        assert f"{policy}:5:" in proc.stderr, proc.stderr
        assert "authorization policy does not parse: this is unclosed" in proc.stderr


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(
            UNIFY_CYCLE,
            id="unify-cycle",
        ),
        pytest.param(
            WRONG_ARITY,
            id="wrong-arity",
        ),
    ],
)
def test_policy_that_does_not_compile_names_the_line(
    demo: Demo, source: str, request: pytest.FixtureRequest
) -> None:
    case = request.node.callspec.id
    policy = demo.home / f"mcp-not-compiling-{case}.rego"
    policy.write_text(source, encoding="utf-8")
    config = demo.write_config(f"not-compiling-{case}", governance={"policy": str(policy)})
    proc = demo.cli("mcp", "serve", config=config)
    assert proc.returncode != 0
    assert "authorization policy does not compile" in proc.stderr
    assert f"{policy}:4" in proc.stderr, proc.stderr


def test_policy_broken_after_start_fails_closed(demo: Demo) -> None:
    policy = demo.home / "mcp-live.rego"
    policy.write_text(POLICY, encoding="utf-8")
    config = demo.write_config("live-policy", governance={"policy": str(policy)})
    with stdio_session(demo, config=config, name="stdio-live-policy") as s:
        assert s.ok("get_findings", {"limit": 1})["total"] > 0
        policy.write_text(BROKEN, encoding="utf-8")
        before = demo.last_seq()
        text = error_text(s.call("get_findings", {"limit": 1}))
        assert "denied: the authorization policy is broken:" in text
        assert f"{policy}:5:" in text
        [rec] = demo.audit_since(before)
        assert (rec["decision"], rec["outcome"], rec["rule"]) == ("deny", "denied", "rego:error")
        with pytest.raises(Exception, match="authorization policy is broken"):
            s.read("stratusec://policies")
        # Fixed again: no restart needed.
        policy.write_text(POLICY, encoding="utf-8")
        assert s.ok("get_findings", {"limit": 1})["total"] > 0
