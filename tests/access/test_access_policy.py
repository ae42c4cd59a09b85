"""access.rego: it can deny a request or make an auto-granted one wait for a human, never
loosen a level; a broken or wrong policy fails closed with file:line; fixing the file
takes effect without a restart. Decisions need no database: the PostgreSQL levels here
point at a server that is never contacted (deciding and storing a grant do not connect)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from stratusec.config import (
    AccessLevelSettings,
    AccessSettings,
    Config,
    DatabaseTarget,
    save,
)
from stratusec.governance import approvals as approvals_mod
from stratusec.governance.audit import AuditLog
from stratusec.governance.gate import CallDenied, Caller, Governor, PendingApproval
from stratusec.operations import access as access_op
from stratusec.operations.context import Context
from stratusec.operations.dispatch import run_tool
from tests.access.conftest import READ, MakeLab
from tests.cli_helpers import run_cli

AGENT = Caller(
    principal="token:agent",
    role="operator",
    face="mcp-http",
    on_behalf_of="alice",
    agent="test-agent",
)
RULE = "rego:access.rego"
# Never contacted: deciding and recording a PostgreSQL grant does not connect.
UNUSED_DB = "postgresql://broker@127.0.0.1:1/orders"

DENY_LONG_OR_NO_TICKET = """package stratusec.access

deny contains msg if {
	input.seconds > 1800
	msg := sprintf("%d s is over 30 minutes", [input.seconds])
}

deny contains "a ticket is required" if {
	input.ticket == null
}
"""

BROKEN = """package stratusec.access

deny contains "too long" if {
	input.seconds >>> 1800
}
"""


def _pg_levels(**extra: AccessLevelSettings) -> dict[str, AccessLevelSettings]:
    return {
        "orders-read": AccessLevelSettings(
            database="orders_db", privileges=["SELECT on app.orders"], auto_grant=True
        ),
        "app-write": AccessLevelSettings(
            database="orders_db",
            privileges=["INSERT on app.*"],
            max_duration="30m",
            auto_grant=False,
        ),
        **extra,
    }


@pytest.fixture
def home(stratusec_home: Path) -> Path:
    save(
        Config(
            access=AccessSettings(
                databases={"orders_db": DatabaseTarget(url=UNUSED_DB)}, levels=_pg_levels()
            )
        )
    )
    return stratusec_home


def _ctx() -> Context:
    return Context.load()


def _write(path: Path, text: str) -> Path:
    """Write the policy and move its mtime on (the reload notices even a same-size edit
    made within the clock's resolution)."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    st = path.stat()
    bumped = max(st.st_mtime_ns, before + 1_000_000_000)
    os.utime(path, ns=(bumped, bumped))
    return path


def _ask(gov: Governor, ctx: Context, caller: Caller = AGENT, **args: Any) -> Any:
    """One request through the gate as a face makes it: a grant, or a PendingApproval."""
    arguments = {"reason": "read yesterday's orders", **args}
    started = gov.begin(caller, "request_access", arguments)
    if isinstance(started, PendingApproval):
        return started
    return gov.run_ticket(
        started,
        lambda: run_tool(
            ctx,
            "request_access",
            arguments,
            actor=caller.principal,
            role=caller.role,
            on_behalf_of=caller.on_behalf_of,
        ),
    )


def _denied(gov: Governor, ctx: Context, caller: Caller = AGENT, **args: Any) -> CallDenied:
    with pytest.raises(CallDenied) as info:
        _ask(gov, ctx, caller, **args)
    return info.value


# -- deny --------------------------------------------------------------------------------
def test_a_deny_rule_refuses_and_is_audited(home: Path) -> None:
    _write(home / "access.rego", DENY_LONG_OR_NO_TICKET)
    ctx = _ctx()
    gov = Governor.from_config(ctx.config, ctx.store)
    long = _denied(gov, ctx, level="orders-read", duration="45m", ticket="INC-1")
    assert long.rule == RULE and "2700 s is over 30 minutes" in str(long)
    assert "a ticket is required" not in str(long)
    no_ticket = _denied(gov, ctx, level="orders-read", duration="15m")
    assert no_ticket.rule == RULE and "a ticket is required" in str(no_ticket)
    # the policy denies before a human is asked: an approval level is refused too
    write = _denied(gov, ctx, level="app-write", privileges=["INSERT on app.orders"])
    assert write.rule == RULE and "a ticket is required" in str(write)
    assert access_op.list_grants(ctx) == []
    assert approvals_mod.list_approvals(ctx.store) == []

    records = AuditLog(ctx.store).list(tool="request_access")
    assert [(r["decision"], r["outcome"], r["rule"]) for r in records] == [
        ("deny", "denied", RULE)
    ] * 3
    assert "2700 s is over 30 minutes" in records[-1]["error"]
    assert records[-1]["principal"] == "token:agent" and records[-1]["on_behalf_of"] == "alice"
    assert records[-1]["arguments"]["duration"] == "45m"

    grant = _ask(gov, ctx, level="orders-read", duration="30m", ticket="INC-1")
    assert grant["status"] == "granted" and grant["ticket"] == "INC-1"
    assert grant["rule"] == "access:level:orders-read:auto_grant"
    ctx.close()


def test_a_deny_rule_at_the_cli(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write(home / "access.rego", DENY_LONG_OR_NO_TICKET)
    r = run_cli(capsys, "access", "request", "--level", "orders-read", "--reason", "r",
                "--duration", "45m", "--ticket", "INC-7")  # fmt: skip
    assert r.code == 3 and "2700 s is over 30 minutes" in r.err and r.out == ""
    ok = run_cli(capsys, "access", "request", "--level", "orders-read", "--reason", "r",
                 "--ticket", "INC-7")  # fmt: skip
    assert ok.code == 0, ok.err
    assert json.loads(ok.out)["status"] == "granted"
    ctx = _ctx()
    (denied,) = AuditLog(ctx.store).list(tool="request_access", decision="deny")
    assert denied["rule"] == RULE and denied["face"] == "cli"
    ctx.close()


def test_the_policy_sees_the_request_and_the_level(home: Path) -> None:
    _write(
        home / "access.rego",
        "package stratusec.access\n\ndeny contains json.marshal(input) if { true }\n",
    )
    ctx = _ctx()
    gov = Governor.from_config(ctx.config, ctx.store)
    denied = _denied(gov, ctx, level="orders-read", duration="20m", ticket="INC-9")
    seen = json.loads(str(denied).removeprefix("denied: "))
    assert seen == {
        "requester": "token:agent",
        "on_behalf_of": "alice",
        "role": "operator",
        "agent": "test-agent",
        "face": "mcp-http",
        "level": "orders-read",
        "kind": "postgres",
        "target": "orders_db",
        "actions": [],
        "resources": [],
        "privileges": ["SELECT on app.orders"],
        "seconds": 1200,
        "max_seconds": 3600,
        "reason": "read yesterday's orders",
        "ticket": "INC-9",
        "auto_grant": True,
    }
    ctx.close()


def test_max_seconds_is_the_enforced_maximum_postgres(stratusec_home: Path) -> None:
    save(
        Config(
            access=AccessSettings(
                max_duration="30m",  # the global ceiling is below the level's 1h
                databases={"orders_db": DatabaseTarget(url=UNUSED_DB)},
                levels=_pg_levels(),
            )
        )
    )
    _write(
        stratusec_home / "access.rego",
        "package stratusec.access\n\ndeny contains json.marshal(input.max_seconds) if { true }\n",
    )
    ctx = _ctx()
    gov = Governor.from_config(ctx.config, ctx.store)
    with pytest.raises(access_op.AccessError, match="over the maximum of 1800 s"):
        gov.begin(
            AGENT, "request_access", {"level": "orders-read", "reason": "r", "duration": "1h"}
        )
    denied = _denied(gov, ctx, level="orders-read")
    ctx.close()
    assert str(denied) == "denied: 1800"


# -- require_approval ----------------------------------------------------------------------
def test_require_approval_makes_an_auto_grant_wait(home: Path) -> None:
    _write(
        home / "access.rego",
        'package stratusec.access\n\nrequire_approval contains "long reads need a human" if {\n'
        "\tinput.seconds > 900\n}\n",
    )
    ctx = _ctx()
    gov = Governor.from_config(ctx.config, ctx.store)
    short = _ask(gov, ctx, level="orders-read", duration="15m")
    assert short["status"] == "granted" and short["rule"].endswith(":auto_grant")
    pending = _ask(gov, ctx, level="orders-read", duration="30m")
    assert isinstance(pending, PendingApproval)
    assert pending.rule == RULE and pending.reason == "long reads need a human"
    a = approvals_mod.get_approval(ctx.store, pending.approval_id)
    assert a["tool"] == "request_access" and a["status"] == "pending"
    assert a["arguments"]["duration"] == "30m" and a["on_behalf_of"] == "alice"
    (rec,) = AuditLog(ctx.store).list(tool="request_access", decision="require_approval")
    assert rec["rule"] == RULE and rec["approval_id"] == pending.approval_id
    assert len(access_op.list_grants(ctx)) == 1  # only the short one

    # the human the agent acts for may not approve it; someone else may
    with pytest.raises(approvals_mod.SelfApprovalError):
        approvals_mod.decide(
            ctx.store, pending.approval_id, approver="alice", approve=True, reason="me"
        )
    approvals_mod.decide(ctx.store, pending.approval_id, approver="bob", approve=True, reason="ok")
    ticket = gov.begin_approved(AGENT, pending.approval_id)
    grant = gov.run_ticket(
        ticket,
        lambda: run_tool(
            ctx,
            "request_access",
            ticket.arguments,
            actor=AGENT.principal,
            role=AGENT.role,
            on_behalf_of=AGENT.on_behalf_of,
            approval_id=ticket.approval_id,
        ),
    )
    assert grant["rule"] == f"access:level:orders-read:approval:{pending.approval_id}"
    assert grant["seconds"] == 1800
    ctx.close()


# -- a policy cannot widen -----------------------------------------------------------------
def test_a_policy_cannot_widen(home: Path) -> None:
    save(
        Config(
            access=AccessSettings(
                databases={"orders_db": DatabaseTarget(url=UNUSED_DB)},
                levels=_pg_levels(
                    admins=AccessLevelSettings(
                        database="orders_db",
                        privileges=["SELECT on app.secrets"],
                        auto_grant=True,
                        requesters=["admin"],
                    )
                ),
            )
        )
    )
    _write(home / "access.rego", "package stratusec.access\n\ndefault allow := true\n")
    ctx = _ctx()
    gov = Governor.from_config(ctx.config, ctx.store)
    pending = _ask(gov, ctx, level="app-write", privileges=["INSERT on app.orders"])
    assert isinstance(pending, PendingApproval)
    assert pending.rule == "access:level:app-write:approval"
    # nor may it let a role request a level that is not for it
    denied = _denied(gov, ctx, level="admins")
    assert denied.rule == "access:level:admins:requesters"
    reader = Caller(principal="token:r", role="reader", face="mcp-http")
    assert _denied(gov, ctx, reader, level="orders-read").rule == "role:reader"
    # nor let bad input through
    with pytest.raises(access_op.AccessError, match="outside access level orders-read"):
        _ask(gov, ctx, level="orders-read", privileges=["SELECT on app.secrets"])
    assert access_op.list_grants(ctx) == []
    # what the level grants automatically, it still grants
    assert _ask(gov, ctx, level="orders-read")["status"] == "granted"
    ctx.close()


def test_allow_false_refuses(home: Path) -> None:
    _write(
        home / "access.rego",
        "package stratusec.access\n\ndefault allow := false\n\nallow if { input.ticket != null }\n",
    )
    ctx = _ctx()
    gov = Governor.from_config(ctx.config, ctx.store)
    denied = _denied(gov, ctx, level="orders-read")
    assert denied.rule == RULE and "the access policy does not allow this call" in str(denied)
    assert _ask(gov, ctx, level="orders-read", ticket="INC-3")["status"] == "granted"
    ctx.close()


# -- broken, wrong, missing, fixed ---------------------------------------------------------
def test_a_broken_policy_denies_every_request_with_file_and_line(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(home / "access.rego", BROKEN)
    ctx = _ctx()
    gov = Governor.from_config(ctx.config, ctx.store)
    for args in (
        {"level": "orders-read"},
        {"level": "app-write", "privileges": ["INSERT on app.orders"]},
        {"target": "orders_db", "privileges": ["SELECT on app.orders"]},
    ):
        denied = _denied(gov, ctx, **args)
        assert denied.rule == "rego:access:error"
        assert f"{path}:4:" in str(denied) and "does not parse" in str(denied)
    assert access_op.list_grants(ctx) == []
    assert approvals_mod.list_approvals(ctx.store) == []
    records = AuditLog(ctx.store).list(tool="request_access")
    assert [(r["decision"], r["rule"]) for r in records] == [("deny", "rego:access:error")] * 3
    assert f"{path}:4:" in records[0]["error"]
    ctx.close()
    r = run_cli(capsys, "access", "request", "--level", "orders-read", "--reason", "r")
    assert r.code == 3 and "access.rego:4:" in r.err and "access policy is broken" in r.err


def test_the_wrong_package_is_denied(home: Path) -> None:
    path = _write(
        home / "access.rego",
        'package stratusec.authz\n\ndeny contains "never" if { false }\n',
    )
    ctx = _ctx()
    gov = Governor.from_config(ctx.config, ctx.store)
    denied = _denied(gov, ctx, level="orders-read")
    assert denied.rule == "rego:access:error"
    assert f"{path}:1: access policy must declare 'package stratusec.access'" in str(denied)
    assert access_op.list_grants(ctx) == []
    ctx.close()


def test_a_configured_policy_that_is_missing_fails_closed(stratusec_home: Path) -> None:
    save(
        Config(
            access=AccessSettings(
                policy="policies/access.rego",
                databases={"orders_db": DatabaseTarget(url=UNUSED_DB)},
                levels=_pg_levels(),
            )
        )
    )
    ctx = _ctx()
    gov = Governor.from_config(ctx.config, ctx.store)
    denied = _denied(gov, ctx, level="orders-read")
    assert denied.rule == "rego:access:error" and "is missing" in str(denied)
    assert "policies/access.rego" in str(denied)
    # written where the config says (relative to the home), it applies at once
    (stratusec_home / "policies").mkdir()
    _write(stratusec_home / "policies" / "access.rego", DENY_LONG_OR_NO_TICKET)
    assert "a ticket is required" in str(_denied(gov, ctx, level="orders-read"))
    assert _ask(gov, ctx, level="orders-read", ticket="T-1")["status"] == "granted"
    ctx.close()


def test_fixing_the_file_recovers_without_a_restart(home: Path) -> None:
    path = _write(home / "access.rego", DENY_LONG_OR_NO_TICKET)
    ctx = _ctx()
    gov = Governor.from_config(ctx.config, ctx.store)  # one long-lived gate, as a server has
    assert "a ticket is required" in str(_denied(gov, ctx, level="orders-read"))
    _write(path, BROKEN)
    broken = _denied(gov, ctx, level="orders-read", ticket="INC-1")
    assert broken.rule == "rego:access:error" and f"{path}:4:" in str(broken)
    # the same text as before, a newer file: the policy applies again
    _write(path, DENY_LONG_OR_NO_TICKET)
    grant = _ask(gov, ctx, level="orders-read", ticket="INC-1")
    assert grant["status"] == "granted"
    again = _denied(gov, ctx, level="orders-read", duration="45m", ticket="INC-1")
    assert again.rule == RULE and "2700 s is over 30 minutes" in str(again)
    # deleting the file the gate loaded fails closed too
    path.unlink()
    gone = _denied(gov, ctx, level="orders-read", ticket="INC-1")
    assert gone.rule == "rego:access:error" and "is missing" in str(gone)
    ctx.close()


# -- an AWS level: actions and resources reach the policy ------------------------------------
ROLE = "arn:aws:iam::123456789012:role/jit-target"


@pytest.fixture
def lab(make_lab: MakeLab) -> Context:
    return make_lab({"s3-read": {**READ, "max_duration": "30m", "auto_grant": True}})


def test_an_aws_request_reaches_the_policy(lab: Context, stratusec_home: Path) -> None:
    _write(
        stratusec_home / "access.rego",
        """package stratusec.access

deny contains sprintf("resource %s is a wildcard", [r]) if {
	some r in input.resources
	contains(r, "*")
}
""",
    )
    gov = Governor.from_config(lab.config, lab.store)
    denied = _denied(gov, lab, level="s3-read")
    assert denied.rule == RULE
    assert "resource arn:aws:s3:::orders-* is a wildcard" in str(denied)
    grant = _ask(gov, lab, level="s3-read", resources=["arn:aws:s3:::orders-2026/day1.csv"])
    assert grant["status"] == "granted" and grant["proof"]["ok"]
    assert grant["scope"]["resources"] == ["arn:aws:s3:::orders-2026/day1.csv"]


def test_max_seconds_is_the_enforced_maximum_aws(lab: Context, stratusec_home: Path) -> None:
    _write(
        stratusec_home / "access.rego",
        "package stratusec.access\n\ndeny contains json.marshal(input.max_seconds) if { true }\n",
    )
    gov = Governor.from_config(lab.config, lab.store)
    with pytest.raises(access_op.AccessError, match="over the maximum of 1800 s"):
        gov.begin(AGENT, "request_access", {"level": "s3-read", "reason": "r", "duration": "1h"})
    assert str(_denied(gov, lab, level="s3-read")) == "denied: 1800"
