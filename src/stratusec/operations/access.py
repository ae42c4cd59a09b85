"""The ``request_access`` operation and the life of an AWS grant: decide, prove, deliver
once, expire, revoke.

A request names a configured access level (and optionally narrower actions/resources),
a duration and a reason. The level decides: auto-grant, or a different human's approval
(a built-in rule of the governance gate). Before a grant exists the IAM evaluator proves
the session. The credentials are made only when fetched (once) with the remaining time,
and only a fingerprint of the key id is kept.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from sqlalchemy import select, update

from stratusec.access.aws import (
    AccessError,
    AccessLevel,
    fingerprint,
    issue_credentials,
    prove,
    revoke_sessions,
    scope_request,
)
from stratusec.config import Config
from stratusec.errors import NotFoundError
from stratusec.operations.context import Context
from stratusec.store.db import utcnow
from stratusec.store.models import AccessGrantRow


def seconds_of(text: str) -> int:
    m = re.fullmatch(r"(\d+)([smh])", text.strip())
    if not m:
        raise AccessError(f"invalid duration {text!r}; write 15m, 900s or 1h")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def level_of(config: Config, name: str) -> AccessLevel:
    levels = config.access.levels
    if name not in levels:
        valid = ", ".join(sorted(levels)) or "none configured"
        raise NotFoundError(f"unknown access level {name!r}; levels: {valid}")
    lv = levels[name]
    cap = seconds_of(config.access.max_duration)
    return AccessLevel(
        name=name,
        account=lv.account,
        target_role=lv.target_role,
        actions=tuple(lv.actions),
        resources=tuple(lv.resources),
        max_seconds=min(seconds_of(lv.max_duration), cap),
        auto_grant=lv.auto_grant,
        requesters=tuple(lv.requesters),
    )


def approval_reason(config: Config, arguments: dict[str, Any]) -> str | None:
    """A level that is not auto-granted needs a different human's approval."""
    name = arguments.get("level")
    if not isinstance(name, str) or name not in config.access.levels:
        return None  # the operation refuses unknown levels itself
    if config.access.levels[name].auto_grant:
        return None
    return f"access level {name} is granted only with a different human's approval"


def _iso(v: dt.datetime | None) -> str | None:
    if v is None:
        return None
    return (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).isoformat()


def _status(row: AccessGrantRow, now: dt.datetime) -> str:
    exp = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
    if row.status != "revoked" and exp <= now:
        return "expired"
    return row.status


def grant_dict(row: AccessGrantRow) -> dict[str, Any]:
    return {
        "grant_id": row.id,
        "kind": row.kind,
        "level": row.level,
        "account": row.account_name,
        "target": row.target,
        "requester": row.requester,
        "on_behalf_of": row.on_behalf_of,
        "agent": row.agent,
        "scope": row.scope,
        "seconds": row.seconds,
        "reason": row.reason,
        "ticket": row.ticket,
        "status": _status(row, utcnow()),
        "rule": row.rule,
        "approval_id": row.approval_id,
        "proof": row.proof,
        "created_at": _iso(row.created_at),
        "expires_at": _iso(row.expires_at),
        "delivered_at": _iso(row.delivered_at),
        "key_fingerprint": row.key_fingerprint,
        "revoked_at": _iso(row.revoked_at),
        "revoked_by": row.revoked_by,
        "revoke_reason": row.revoke_reason,
    }


def request_access(
    ctx: Context,
    *,
    requester: str,
    role: str,
    level: str,
    duration: str = "15m",
    reason: str,
    actions: list[str] | None = None,
    resources: list[str] | None = None,
    ticket: str | None = None,
    on_behalf_of: str | None = None,
    agent: str | None = None,
    approval_id: str | None = None,
) -> dict[str, Any]:
    """Decide and prove a grant; store it (no credentials yet)."""
    lv = level_of(ctx.config, level)
    if role not in lv.requesters:
        raise AccessError(
            f"role {role!r} may not request level {level}; it is for: {', '.join(lv.requesters)}"
        )
    if not reason or not reason.strip():
        raise AccessError("a request needs a reason")
    if not lv.auto_grant and not approval_id:
        raise AccessError(f"level {level} needs a different human's approval first")
    account = ctx.config.account(lv.account)
    scan = ctx.store.latest_scan(account.name)
    role_res = ctx.store.get_resource(scan.id, lv.target_role) if scan else None
    if role_res is None:
        raise AccessError(
            f"the target role {lv.target_role} is not in the latest scan of {account.name}: "
            "scan first (the proof needs its policies)"
        )
    role_max = role_res.config.get("max_session_duration")
    scope = scope_request(
        lv,
        actions=actions,
        resources=resources,
        seconds=seconds_of(duration),
        role_max_seconds=int(role_max) if role_max else None,
    )

    def lookup(uid: str | None) -> Any:
        return ctx.store.get_resource(scan.id, uid) if uid and scan else None

    proof = prove(role_res, lookup, scope)
    if not proof["ok"]:
        raise AccessError(
            "the evaluator cannot prove this grant: "
            + "; ".join(
                proof["granted_not_allowed"][:3]
                + proof["session_allows_outside"][:3]
                + proof["unread_policies"][:3]
            )
        )
    now = utcnow()
    row = AccessGrantRow(
        id=uuid.uuid4().hex,
        kind="aws",
        level=level,
        account_name=account.name,
        target=lv.target_role,
        requester=requester[:256],
        on_behalf_of=on_behalf_of,
        agent=agent,
        scope={"actions": scope.actions, "resources": scope.resources},
        seconds=scope.seconds,
        reason=reason,
        ticket=ticket,
        status="granted",
        rule=f"level:{level}:" + ("auto_grant" if lv.auto_grant else f"approval:{approval_id}"),
        approval_id=approval_id,
        proof=proof,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=scope.seconds),
    )
    with ctx.store.session() as s, s.begin():
        s.add(row)
    out = grant_dict(row)
    out["how_to_fetch"] = (
        f"stratusec access credentials {row.id} (prints credential_process JSON, once), or "
        f"--env-file PATH; the credentials are never sent through this conversation"
    )
    return out


def _load(ctx: Context, grant_id: str) -> AccessGrantRow:
    with ctx.store.session() as s:
        row = s.get(AccessGrantRow, grant_id) if isinstance(grant_id, str) else None
    if row is None:
        raise NotFoundError(f"unknown grant id {grant_id!r}; see 'stratusec access list'")
    return row


def deliver(ctx: Context, grant_id: str, *, actor: str) -> dict[str, Any]:
    """Make and return the credentials, once, for the remaining time of the grant."""
    row = _load(ctx, grant_id)
    now = utcnow()
    status = _status(row, now)
    if status != "granted":
        raise AccessError(f"grant {grant_id} is {status}; credentials are delivered once")
    if actor not in (row.requester, row.on_behalf_of):
        raise AccessError(f"grant {grant_id} belongs to {row.requester}")
    exp = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
    left = int((exp - now).total_seconds())
    if left < 840:
        raise AccessError(
            f"grant {grant_id} has {left} s left, under the AWS minimum session of 900 s: "
            "request a new grant"
        )
    # STS sessions last at least 900 s: a grant fetched within a minute of being made
    # (the usual case for a 15-minute grant) gets the minimum.
    left = max(left, 900)
    with ctx.store.engine.begin() as conn:
        res = conn.execute(
            update(AccessGrantRow)
            .where(AccessGrantRow.id == grant_id, AccessGrantRow.status == "granted")
            .values(status="delivered", delivered_at=now)
        )
    if res.rowcount != 1:
        raise AccessError(f"grant {grant_id} was already delivered")
    account = ctx.config.account(row.account_name)
    broker = ctx.config.access.broker
    if broker is None:
        raise AccessError("no access broker is configured (access.broker in the config)")
    from stratusec.access.aws import Scope

    scope = Scope(actions=row.scope["actions"], resources=row.scope["resources"], seconds=left)
    creds = issue_credentials(account, broker, row.target, scope, f"stx-{row.id[:16]}")
    with ctx.store.engine.begin() as conn:
        conn.execute(
            update(AccessGrantRow)
            .where(AccessGrantRow.id == grant_id)
            .values(key_fingerprint=fingerprint(creds["AccessKeyId"]))
        )
    return creds


def revoke(ctx: Context, grant_id: str, *, by: str, reason: str | None) -> dict[str, Any]:
    """Deny every session of the target role issued before now; mark the grant revoked."""
    row = _load(ctx, grant_id)
    if row.status == "revoked":
        return grant_dict(row)  # revoking twice is harmless
    account = ctx.config.account(row.account_name)
    broker = ctx.config.access.broker
    if broker is None:
        raise AccessError("no access broker is configured (access.broker in the config)")
    now = utcnow()
    revoke_sessions(account, broker, row.target, now)
    with ctx.store.engine.begin() as conn:
        conn.execute(
            update(AccessGrantRow)
            .where(AccessGrantRow.id == grant_id)
            .values(status="revoked", revoked_at=now, revoked_by=by, revoke_reason=reason)
        )
    return grant_dict(_load(ctx, grant_id))


def list_grants(ctx: Context) -> list[dict[str, Any]]:
    q = select(AccessGrantRow).order_by(AccessGrantRow.created_at.desc()).limit(500)
    with ctx.store.session() as s:
        return [grant_dict(r) for r in s.scalars(q)]
