"""The ``request_access`` operation and the life of a grant: decide, prove, deliver once,
expire, revoke, reap.

A request names a configured access level, or a target (an AWS account or a PostgreSQL
database from the config) and what is wanted (actions and ARNs, or privileges) — then the
first level of that target that covers it decides (auto-granted levels first). The level
gives the rule: auto-grant, or a different human's approval (the governance gate turns it
into a pending approval); ``access.rego`` may make it stricter, never looser. Invalid
requests are refused before anything is stored or approved.

Before an AWS grant exists the IAM evaluator proves the session; a PostgreSQL grant is
checked after its role is created (exactly the granted privileges, nothing else in the
named schemas). Credentials are made only when fetched (once) and never stored: the grant
keeps a fingerprint, and the audit call ids of its request, delivery and revocation.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from stratusec.access.aws import (
    AccessError,
    AccessLevel,
    Scope,
    fingerprint,
    issue_credentials,
    prove,
    revoke_sessions,
    scope_request,
)
from stratusec.config import AccessLevelSettings, Config
from stratusec.errors import NotFoundError, StratusecError
from stratusec.governance.authz import Decision
from stratusec.governance.rego import RegoPolicy
from stratusec.inventory.models import Resource
from stratusec.operations.context import Context
from stratusec.store.db import Store, utcnow
from stratusec.store.models import AccessGrantRow

if TYPE_CHECKING:
    # psycopg costs ~0.1 s to import: only the functions for PostgreSQL grants load it.
    from stratusec.access import postgres as pg


#: The shortest PostgreSQL grant (AWS has its own floor of 900 s).
PG_MIN_SECONDS = 60
REQUEST_FIELDS = (
    "level",
    "target",
    "actions",
    "resources",
    "privileges",
    "duration",
    "reason",
    "ticket",
)


def seconds_of(text: str) -> int:
    m = re.fullmatch(r"(\d+)([smh])", str(text).strip())
    if not m:
        raise AccessError(f"invalid duration {text!r}; write 15m, 900s or 1h")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def _cap(config: Config, lv: AccessLevelSettings) -> int:
    return min(seconds_of(lv.max_duration), seconds_of(config.access.max_duration))


def level_of(config: Config, name: str) -> AccessLevel:
    """An AWS level as the evaluator's :class:`AccessLevel`."""
    lv = _level_settings(config, name)
    if lv.kind != "aws":
        raise AccessError(f"access level {name} is a PostgreSQL level")
    assert lv.account and lv.target_role
    return AccessLevel(
        name=name,
        account=lv.account,
        target_role=lv.target_role,
        actions=tuple(lv.actions),
        resources=tuple(lv.resources),
        max_seconds=_cap(config, lv),
        auto_grant=lv.auto_grant,
        requesters=tuple(lv.requesters),
    )


def _level_settings(config: Config, name: str) -> AccessLevelSettings:
    levels = config.access.levels
    if name not in levels:
        valid = ", ".join(sorted(levels)) or "none configured"
        raise NotFoundError(f"unknown access level {name!r}; levels: {valid}")
    return levels[name]


# -- deciding a request -----------------------------------------------------------------------
@dataclass
class Resolved:
    """A request checked against one level: what would be granted."""

    level: str
    settings: AccessLevelSettings
    seconds: int
    scope: Scope | None = None  # AWS
    privileges: list[pg.PgPrivilege] | None = None  # PostgreSQL
    role_max_seconds: int | None = None
    #: AWS: the target role as the latest scan recorded it (the proof evaluates its policies).
    role: TargetRole | None = None
    #: The enforced maximum: min(level, access.max_duration, the role's own maximum).
    max_seconds: int = 0

    @property
    def kind(self) -> str:
        return self.settings.kind

    @property
    def target(self) -> str:
        return self.settings.target

    def policy_input(self, caller: Any, arguments: dict[str, Any]) -> dict[str, Any]:
        """What ``access.rego`` sees (never cloud data: only the request and the level)."""
        return {
            "requester": caller.principal,
            "on_behalf_of": caller.on_behalf_of,
            "role": caller.role,
            "agent": caller.agent,
            "face": caller.face,
            "level": self.level,
            "kind": self.kind,
            "target": self.target,
            "actions": list(self.scope.actions) if self.scope else [],
            "resources": list(self.scope.resources) if self.scope else [],
            "privileges": [str(p) for p in self.privileges or []],
            "seconds": self.seconds,
            "max_seconds": self.max_seconds,
            "reason": arguments.get("reason"),
            "ticket": arguments.get("ticket"),
            "auto_grant": self.settings.auto_grant,
        }


def _pg_pattern(spec: str) -> str:
    """A level's privilege pattern, normalized like :class:`PgPrivilege`'s text."""
    m = re.match(r"^\s*(\S+)\s+on\s+(.+?)\s*$", spec, re.IGNORECASE)
    if not m:
        raise AccessError(f"access level privilege {spec!r}: write 'SELECT on schema.table'")
    target = m.group(2)
    if target.lower().startswith("schema "):
        target = "schema " + target[7:].strip()
    return f"{m.group(1).upper()} on {target}"


def _pg_scope(name: str, lv: AccessLevelSettings, wanted: list[str] | None) -> list[Any]:
    from stratusec.access import postgres as pg

    patterns = [_pg_pattern(p) for p in lv.privileges]
    if not wanted:
        if any(ch in p for p in patterns for ch in "*?["):
            raise AccessError(
                f"access level {name} allows privilege patterns ({', '.join(patterns)}): "
                "name the privileges you need, e.g. 'SELECT on public.orders'"
            )
        wanted = list(lv.privileges)
    try:
        privs = pg.parse_privileges(list(wanted))
    except pg.PgGrantError as exc:
        raise AccessError(str(exc)) from None
    for p in privs:
        if not any(fnmatch.fnmatchcase(str(p), pat) for pat in patterns):
            raise AccessError(
                f"privilege {p} is outside access level {name}; allowed: {', '.join(patterns)}"
            )
    return privs


def _check_level(
    config: Config, store: Store, name: str, arguments: dict[str, Any], seconds: int
) -> Resolved:
    """Check the request against level ``name`` (raises :class:`AccessError`)."""
    lv = _level_settings(config, name)
    if lv.kind == "aws":
        if arguments.get("privileges"):
            raise AccessError(f"access level {name} is an AWS level: privileges do not apply")
        level = level_of(config, name)
        account = config.account(level.account)
        role = target_role(store, account.name, level.target_role)
        role_max = role.max_seconds
        scope = scope_request(
            level,
            actions=arguments.get("actions"),
            resources=arguments.get("resources"),
            seconds=seconds,
            role_max_seconds=role_max,
        )
        enforced = min(level.max_seconds, role_max or level.max_seconds)
        return Resolved(
            name,
            lv,
            seconds,
            scope=scope,
            role_max_seconds=role_max,
            role=role,
            max_seconds=enforced,
        )
    if arguments.get("actions") or arguments.get("resources"):
        raise AccessError(
            f"access level {name} is a PostgreSQL level: ask for privileges, not actions "
            "or resources"
        )
    privs = _pg_scope(name, lv, arguments.get("privileges"))
    cap = _cap(config, lv)
    if seconds < PG_MIN_SECONDS:
        raise AccessError(f"duration {seconds} s is below the minimum of {PG_MIN_SECONDS} s")
    if seconds > cap:
        raise AccessError(f"duration {seconds} s is over the maximum of {cap} s for level {name}")
    return Resolved(name, lv, seconds, privileges=privs, max_seconds=cap)


@dataclass(frozen=True)
class TargetRole:
    """A target role from the account's latest scan, and a lookup into that scan."""

    scan_id: str
    resource: Resource
    store: Store

    def lookup(self, uid: str | None) -> Resource | None:
        return self.store.get_resource(self.scan_id, uid) if uid else None

    @property
    def max_seconds(self) -> int | None:
        value = self.resource.config.get("max_session_duration")
        return int(value) if value else None


def target_role(store: Store, account: str, role_arn: str) -> TargetRole:
    scan = store.latest_scan(account)
    res = store.get_resource(scan.id, role_arn) if scan else None
    if scan is None or res is None:
        raise AccessError(
            f"the target role {role_arn} is not in the latest scan of {account}: scan first "
            "(the evaluator needs its policies)"
        )
    return TargetRole(scan.id, res, store)


def _targets(config: Config) -> str:
    accounts = sorted({lv.account for lv in config.access.levels.values() if lv.account})
    dbs = sorted(config.access.databases)
    return (
        f"accounts with access levels: {', '.join(accounts) or 'none'}; "
        f"databases: {', '.join(dbs) or 'none'}"
    )


def resolve(config: Config, store: Store, role: str, arguments: dict[str, Any]) -> Resolved:
    """Which level a request falls under, and what it would grant. Raises
    :class:`AccessError`/:class:`NotFoundError` (bad input, nothing stored) or
    :class:`AccessDenied` (the caller's role may not request that level)."""
    unknown = sorted(set(arguments) - set(REQUEST_FIELDS))
    if unknown:
        raise AccessError(
            f"unknown request fields {', '.join(unknown)}; fields: {', '.join(REQUEST_FIELDS)}"
        )
    reason = arguments.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise AccessError("a request needs a reason")
    seconds = seconds_of(arguments.get("duration") or "15m")
    name, target = arguments.get("level"), arguments.get("target")
    if name:
        lv = _level_settings(config, str(name))
        if target and target != lv.target:
            raise AccessError(f"access level {name} is for {lv.target}, not {target}")
        if role not in lv.requesters:
            raise AccessDenied(
                f"role {role!r} may not request access level {name}; it is for: "
                f"{', '.join(lv.requesters)}",
                rule=f"access:level:{name}:requesters",
            )
        return _check_level(config, store, str(name), arguments, seconds)
    if not target:
        raise AccessError("name an access level (level) or a target account/database (target)")
    names = [n for n, lv in config.access.levels.items() if lv.target == target]
    if not names:
        if target not in config.access.databases and target not in {
            a.name for a in config.accounts
        }:
            raise NotFoundError(f"unknown target {target!r}; {_targets(config)}")
        raise AccessError(f"no access level is configured for {target}; {_targets(config)}")
    allowed = [n for n in names if role in config.access.levels[n].requesters]
    if not allowed:
        raise AccessDenied(
            f"role {role!r} may not request any access level of {target} ({', '.join(names)})",
            rule=f"access:target:{target}:requesters",
        )
    # auto-granted levels first, then the config's order
    allowed.sort(key=lambda n: not config.access.levels[n].auto_grant)
    problems: list[str] = []
    for n in allowed:
        try:
            return _check_level(config, store, n, arguments, seconds)
        except AccessError as exc:
            problems.append(f"{n}: {exc}")
    raise AccessError(f"no access level of {target} covers this request — " + "; ".join(problems))


class AccessDenied(StratusecError):
    """The caller's role may not request this access (a policy decision, not bad input)."""

    exit_code = 3

    def __init__(self, message: str, *, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


def decide_request(
    config: Config,
    store: Store,
    caller: Any,
    arguments: dict[str, Any],
    policy: RegoPolicy | None,
) -> tuple[Resolved | None, Decision]:
    """The decision for one request and the rule that made it: the level's (auto-grant or
    approval), made stricter by ``access.rego``. Bad input raises."""
    try:
        r = resolve(config, store, caller.role, arguments)
    except AccessDenied as exc:
        return None, Decision("deny", str(exc), exc.rule)
    decision = level_decision(r)
    if policy is not None:
        effect, reasons = policy.evaluate(r.policy_input(caller, arguments))
        why = "; ".join(reasons)
        if effect == "deny":
            return r, Decision("deny", why or "denied by the access policy", policy.rule)
        if effect == "require_approval" and decision.effect == "allow":
            return r, Decision(
                "require_approval", why or "the access policy requires approval", policy.rule
            )
    return r, decision


def level_decision(r: Resolved) -> Decision:
    """What the level alone decides: granted at once, or a different human approves."""
    if r.settings.auto_grant:
        return Decision(
            "allow", f"access level {r.level} is granted automatically", _rule(r, "auto_grant")
        )
    return Decision(
        "require_approval",
        f"access level {r.level} is granted only with a different human's approval",
        _rule(r, "approval"),
    )


def _rule(r: Resolved, how: str) -> str:
    return f"access:level:{r.level}:{how}"


# -- grants --------------------------------------------------------------------------------
def _iso(v: dt.datetime | None) -> str | None:
    if v is None:
        return None
    return _utc(v).isoformat()


def _utc(v: dt.datetime) -> dt.datetime:
    return v if v.tzinfo else v.replace(tzinfo=dt.UTC)


def _status(row: AccessGrantRow, now: dt.datetime) -> str:
    if row.status in ("granted", "delivered") and _utc(row.expires_at) <= now:
        return "expired"
    return row.status


def grant_dict(row: AccessGrantRow) -> dict[str, Any]:
    return {
        "grant_id": row.id,
        "kind": row.kind,
        "level": row.level,
        "account": row.account_name if row.kind == "aws" else None,
        "database": row.account_name if row.kind == "postgres" else None,
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
        "db_role": row.db_role,
        "revoked_at": _iso(row.revoked_at),
        "revoked_by": row.revoked_by,
        "revoke_reason": row.revoke_reason,
        "audit_call_id": row.audit_call_id,
        "delivered_call_id": row.delivered_call_id,
        "revoked_call_id": row.revoked_call_id,
    }


def _how_to_fetch(row: AccessGrantRow) -> str:
    if row.kind == "postgres":
        return (
            f"stratusec access credentials {row.id} (prints a postgresql:// URL once; "
            "--format pgpass for a .pgpass line, --env-file PATH for a 0600 file); the "
            "password is never sent through this conversation"
        )
    return (
        f"stratusec access credentials {row.id} (prints credential_process JSON, once), or "
        "--env-file PATH; the credentials are never sent through this conversation"
    )


def request_access(
    ctx: Context,
    *,
    requester: str,
    role: str,
    reason: str,
    level: str | None = None,
    target: str | None = None,
    duration: str = "15m",
    actions: list[str] | None = None,
    resources: list[str] | None = None,
    privileges: list[str] | None = None,
    ticket: str | None = None,
    on_behalf_of: str | None = None,
    agent: str | None = None,
    approval_id: str | None = None,
    call_id: str | None = None,
) -> dict[str, Any]:
    """Decide and prove a grant; store it (no credentials yet). The governance gate has
    already decided (and, for levels that need one, a different human approved); this
    re-checks the request so that a direct call cannot skip either."""
    from stratusec.governance.gate import current_call_id

    arguments = {
        k: v
        for k, v in {
            "level": level,
            "target": target,
            "actions": actions,
            "resources": resources,
            "privileges": privileges,
            "duration": duration,
            "reason": reason,
            "ticket": ticket,
        }.items()
        if v is not None
    }
    try:
        r = resolve(ctx.config, ctx.store, role, arguments)
    except AccessDenied as exc:
        raise AccessError(f"denied: {exc}") from None
    decision = level_decision(r)
    if decision.effect == "require_approval" and not approval_id:
        raise AccessError(f"{decision.reason}: ask through the gate and wait for approval")
    if r.kind == "aws":
        proof = _prove_aws(r)
    else:
        proof = {
            "ok": True,
            "method": "the role is created with exactly these GRANTs and checked with "
            "has_table_privilege when the credentials are delivered",
            "privileges": [str(p) for p in r.privileges or []],
        }
    now = utcnow()
    how = f"approval:{approval_id}" if approval_id else "auto_grant"
    row = AccessGrantRow(
        id=uuid.uuid4().hex,
        kind=r.kind,
        level=r.level,
        account_name=r.target,
        target=str(r.settings.target_role or r.settings.database),
        requester=requester[:256],
        on_behalf_of=on_behalf_of,
        agent=agent,
        scope=(
            {"actions": r.scope.actions, "resources": r.scope.resources}
            if r.scope
            else {"privileges": [str(p) for p in r.privileges or []]}
        ),
        seconds=r.seconds,
        reason=reason,
        ticket=ticket,
        status="granted",
        rule=_rule(r, how),
        approval_id=approval_id,
        proof=proof,
        created_at=now,
        expires_at=now + dt.timedelta(seconds=r.seconds),
        audit_call_id=call_id or current_call_id(),
    )
    with ctx.store.session() as s, s.begin():
        s.add(row)
    out = grant_dict(row)
    out["how_to_fetch"] = _how_to_fetch(row)
    return out


def _prove_aws(r: Resolved) -> dict[str, Any]:
    assert r.scope is not None and r.role is not None
    proof = prove(r.role.resource, r.role.lookup, r.scope)
    proof["scan_id"] = r.role.scan_id
    if not proof["ok"]:
        raise AccessError(
            "the evaluator cannot prove this grant: "
            + "; ".join(
                proof["granted_not_allowed"][:3]
                + proof["session_allows_outside"][:3]
                + proof["unread_policies"][:3]
            )
        )
    return proof


def load_grant(ctx: Context, grant_id: str) -> AccessGrantRow:
    with ctx.store.session() as s:
        row = s.get(AccessGrantRow, grant_id) if isinstance(grant_id, str) else None
    if row is None:
        raise NotFoundError(f"unknown grant id {grant_id!r}; see 'stratusec access list'")
    return row


def _admin_url(ctx: Context, database: str) -> tuple[str, str]:
    targets = ctx.config.access.databases
    if database not in targets:
        valid = ", ".join(sorted(targets)) or "none configured"
        raise NotFoundError(f"unknown database {database!r}; access.databases: {valid}")
    t = targets[database]
    return t.admin_url(database), t.role_prefix


def deliver(ctx: Context, grant_id: str, *, actor: str) -> dict[str, Any]:
    """Make and return the credentials, once, for the remaining time of the grant.

    AWS: ``credential_process`` JSON. PostgreSQL: ``{"url", "pgpass", ...}``. The caller
    must show them to the human once and never log or store them."""
    from stratusec.governance.gate import current_call_id

    row = load_grant(ctx, grant_id)
    now = utcnow()
    status = _status(row, now)
    if status != "granted":
        raise AccessError(f"grant {grant_id} is {status}; credentials are delivered once")
    if actor not in (row.requester, row.on_behalf_of):
        raise AccessError(f"grant {grant_id} belongs to {row.requester}")
    left = int((_utc(row.expires_at) - now).total_seconds())
    if row.kind == "aws" and left < 840:
        raise AccessError(
            f"grant {grant_id} has {left} s left, under the AWS minimum session of 900 s: "
            "request a new grant"
        )
    # Claim the delivery first: two concurrent fetches cannot both get credentials.
    with ctx.store.engine.begin() as conn:
        res = conn.execute(
            update(AccessGrantRow)
            .where(AccessGrantRow.id == grant_id, AccessGrantRow.status == "granted")
            .values(status="delivered", delivered_at=now, delivered_call_id=current_call_id())
        )
    if res.rowcount != 1:
        raise AccessError(f"grant {grant_id} was already delivered")
    try:
        if row.kind == "postgres":
            return _deliver_pg(ctx, row)
        account = ctx.config.account(row.account_name)
        broker = ctx.config.access.broker
        if broker is None:
            raise AccessError("no access broker is configured (access.broker in the config)")
        # STS sessions last at least 900 s: a grant fetched within a minute of being made
        # (the usual case for a 15-minute grant) gets the minimum.
        scope = Scope(
            actions=row.scope["actions"], resources=row.scope["resources"], seconds=max(left, 900)
        )
        creds = issue_credentials(account, broker, row.target, scope, f"stx-{row.id[:16]}")
    except BaseException:
        _undo_claim(ctx, grant_id)
        raise
    _set(ctx, grant_id, key_fingerprint=fingerprint(creds["AccessKeyId"]))
    return creds


def _undo_claim(ctx: Context, grant_id: str) -> None:
    """Nothing was issued (no session, no role): the grant can be fetched again."""
    with ctx.store.engine.begin() as conn:
        conn.execute(
            update(AccessGrantRow)
            .where(
                AccessGrantRow.id == grant_id,
                AccessGrantRow.status == "delivered",
                AccessGrantRow.key_fingerprint.is_(None),
                AccessGrantRow.db_role.is_(None),
            )
            .values(status="granted", delivered_at=None, delivered_call_id=None)
        )


def _deliver_pg(ctx: Context, row: AccessGrantRow) -> dict[str, Any]:
    from stratusec.access import postgres as pg

    url, prefix = _admin_url(ctx, row.account_name)
    privileges = pg.parse_privileges(list(row.scope["privileges"]))
    grant = pg.create_grant(url, privileges, _utc(row.expires_at), prefix=prefix)
    # From here a role exists: the claim stays, and a failure revokes it.
    _set(ctx, row.id, db_role=grant.role, key_fingerprint=fingerprint(grant.role))
    try:
        check = pg.verify_grant(url, grant.role, privileges)
    except pg.PgGrantError as exc:
        check = {"ok": False, "error": str(exc)}
    proof = dict(row.proof or {})
    proof["verified"] = check
    _set(ctx, row.id, proof=proof)
    if not check["ok"]:
        pg.revoke_grant(url, grant.role, prefix=prefix)
        _set(ctx, row.id, status="revoked", revoked_at=utcnow(), revoke_reason="proof failed")
        raise AccessError(f"the PostgreSQL grant did not verify and was dropped: {check}")
    return {
        "kind": "postgres",
        "role": grant.role,
        "url": grant.url(),
        "pgpass": grant.pgpass_line(),
        "expires_at": _iso(grant.expires_at),
    }


def _set(ctx: Context, grant_id: str, **values: Any) -> None:
    with ctx.store.engine.begin() as conn:
        conn.execute(update(AccessGrantRow).where(AccessGrantRow.id == grant_id).values(**values))


def revoke(ctx: Context, grant_id: str, *, by: str, reason: str | None) -> dict[str, Any]:
    """Revoke a grant now. AWS: the target role denies every session issued before now
    (which ends the other delivered grants of that role too: they are marked revoked with
    it). PostgreSQL: the role's sessions are terminated and the role dropped. Revoking
    twice is harmless."""
    from stratusec.access import postgres as pg
    from stratusec.governance.gate import current_call_id

    row = load_grant(ctx, grant_id)
    if row.status == "revoked":
        return grant_dict(row)
    now = utcnow()
    also: list[str] = []
    if row.kind == "aws":
        account = ctx.config.account(row.account_name)
        broker = ctx.config.access.broker
        if broker is None:
            raise AccessError("no access broker is configured (access.broker in the config)")
        revoke_sessions(account, broker, row.target, now)
        with ctx.store.session() as s:
            also = list(
                s.scalars(
                    select(AccessGrantRow.id).where(
                        AccessGrantRow.kind == "aws",
                        AccessGrantRow.target == row.target,
                        AccessGrantRow.status == "delivered",
                        AccessGrantRow.id != row.id,
                        AccessGrantRow.expires_at > now,
                    )
                )
            )
    elif row.db_role:
        url, prefix = _admin_url(ctx, row.account_name)
        pg.revoke_grant(url, row.db_role, prefix=prefix)
    call = current_call_id()
    _set(
        ctx,
        grant_id,
        status="revoked",
        revoked_at=now,
        revoked_by=by,
        revoke_reason=reason,
        revoked_call_id=call,
    )
    for other in also:
        _set(
            ctx,
            other,
            status="revoked",
            revoked_at=now,
            revoked_by=by,
            revoke_reason=f"revoked with grant {grant_id} (same role: AWS revokes every "
            "session issued before now)",
            revoked_call_id=call,
        )
    out = grant_dict(load_grant(ctx, grant_id))
    out["also_revoked"] = also
    return out


def reap(ctx: Context) -> dict[str, Any]:
    """Clean up every expired grant: drop the expired temporary PostgreSQL roles of every
    configured database (sessions terminated first) and mark expired grants expired."""
    from stratusec.access import postgres as pg

    now = utcnow()
    dropped: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name, target in ctx.config.access.databases.items():
        try:
            roles = pg.reap_expired(target.admin_url(name), prefix=target.role_prefix, now=now)
        except StratusecError as exc:
            errors[name] = str(exc)
            continue
        dropped[name] = len(roles)
    with ctx.store.engine.begin() as conn:
        res = conn.execute(
            update(AccessGrantRow)
            .where(
                AccessGrantRow.status.in_(("granted", "delivered")),
                AccessGrantRow.expires_at <= now,
            )
            .values(status="expired")
        )
    return {"expired_grants": res.rowcount, "roles_dropped": dropped, "errors": errors}


def list_grants(ctx: Context, status: str | None = None) -> list[dict[str, Any]]:
    q = select(AccessGrantRow).order_by(AccessGrantRow.created_at.desc()).limit(500)
    with ctx.store.session() as s:
        rows = [grant_dict(r) for r in s.scalars(q)]
    if status:
        valid = ("granted", "delivered", "expired", "revoked")
        if status not in valid:
            raise AccessError(f"unknown status {status!r}; one of {', '.join(valid)}")
        rows = [g for g in rows if g["status"] == status]
    return rows


# -- the binding chain --------------------------------------------------------------------
def _call_summary(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = (
        "seq",
        "time",
        "tool",
        "principal",
        "agent",
        "on_behalf_of",
        "face",
        "decision",
        "rule",
        "outcome",
        "approval_id",
        "call_id",
        "hash",
    )
    return [{k: r.get(k) for k in keys} for r in records]


def _proof_summary(row: AccessGrantRow) -> dict[str, Any]:
    p = row.proof or {}
    if row.kind == "aws":
        return {
            "ok": p.get("ok"),
            "granted_pairs": p.get("granted_pairs"),
            "granted_not_allowed": len(p.get("granted_not_allowed") or []),
            "sampled_outside": p.get("sampled_outside"),
            "role_allows_outside": p.get("role_allows_outside"),
            "session_allows_outside": len(p.get("session_allows_outside") or []),
            "scan_id": p.get("scan_id"),
        }
    v = p.get("verified") or {}
    return {
        "ok": v.get("ok") if v else p.get("ok"),
        "privileges": p.get("privileges"),
        "verified_at_delivery": bool(v),
        "privileges_checked": v.get("privileges_checked"),
        "unexpected": v.get("unexpected"),
        "missing": v.get("missing"),
    }


def grant_chain(ctx: Context, row: AccessGrantRow) -> dict[str, Any]:
    """Everything a grant is bound to: who asked (agent) for whom (human), the audit
    records of the call that asked, the rule that decided, the approval, the proof, the
    delivery and the revocation."""
    from stratusec.governance import approvals as approvals_mod
    from stratusec.governance.audit import AuditLog

    audit = AuditLog(ctx.store)
    approval: dict[str, Any] | None = None
    if row.approval_id:
        try:
            a = approvals_mod.get_approval(ctx.store, row.approval_id)
        except NotFoundError:
            a = {"id": row.approval_id, "status": "missing"}
        approval = {
            k: a.get(k)
            for k in (
                "id",
                "status",
                "requester",
                "on_behalf_of",
                "reason",
                "created_at",
                "decided_by",
                "decided_at",
                "decision_reason",
                "executed_at",
            )
        }
        approval["audit"] = _call_summary(audit.of_approval(row.approval_id))
    return {
        "grant_id": row.id,
        "status": _status(row, utcnow()),
        "requester": row.requester,
        "agent": row.agent,
        "on_behalf_of": row.on_behalf_of,
        "request": {
            "level": row.level,
            "target": row.target,
            "scope": row.scope,
            "seconds": row.seconds,
            "reason": row.reason,
            "ticket": row.ticket,
            "at": _iso(row.created_at),
            "audit": _call_summary(audit.of_call(row.audit_call_id)) if row.audit_call_id else [],
        },
        "rule": row.rule,
        "approval": approval,
        "proof": _proof_summary(row),
        "delivery": {
            "at": _iso(row.delivered_at),
            "key_fingerprint": row.key_fingerprint,
            "db_role": row.db_role,
            "audit": (
                _call_summary(audit.of_call(row.delivered_call_id)) if row.delivered_call_id else []
            ),
        },
        "expires_at": _iso(row.expires_at),
        "revocation": (
            {
                "at": _iso(row.revoked_at),
                "by": row.revoked_by,
                "reason": row.revoke_reason,
                "audit": (
                    _call_summary(audit.of_call(row.revoked_call_id)) if row.revoked_call_id else []
                ),
            }
            if row.revoked_at
            else None
        ),
    }


def _covers(patterns: list[str], uid: str) -> bool:
    """Whether a grant's resource patterns reach ``uid`` (the resource itself or what is
    inside it, e.g. the objects of a bucket)."""
    for p in patterns:
        if fnmatch.fnmatchcase(uid, p) or p == uid or p.startswith(uid.rstrip("/") + "/"):
            return True
    return False


def grants_touching(ctx: Context, account: str, uid: str, limit: int = 20) -> list[dict[str, Any]]:
    """The grants (newest first) on ``uid``: its role was the target, or the grant's
    resources reach it; each with its binding chain."""
    q = (
        select(AccessGrantRow)
        .where(AccessGrantRow.kind == "aws", AccessGrantRow.account_name == account)
        .order_by(AccessGrantRow.created_at.desc())
        .limit(1000)
    )
    with ctx.store.session() as s:
        rows = list(s.scalars(q))
    hits = [
        r
        for r in rows
        if r.target == uid or _covers(list((r.scope or {}).get("resources") or []), uid)
    ]
    return [grant_chain(ctx, r) for r in hits[:limit]]


def audit_annotator(ctx: Context) -> Any:
    """For the audit export: the grant (with its chain) a record requested, delivered or
    revoked."""
    with ctx.store.session() as s:
        rows = list(s.scalars(select(AccessGrantRow)))
    by_call: dict[str, AccessGrantRow] = {}
    for r in rows:
        for cid in (r.audit_call_id, r.delivered_call_id, r.revoked_call_id):
            if cid:
                by_call.setdefault(cid, r)

    def annotate(record: dict[str, Any]) -> dict[str, Any] | None:
        cid = record.get("call_id")
        row = by_call.get(cid) if cid else None
        if row is None or record.get("outcome") == "started":
            return None
        return {"access_grant": grant_chain(ctx, row)}

    return annotate


# -- the HTTP server's reaper ---------------------------------------------------------------
class Reaper:
    """Runs :func:`reap` every ``access.reap_interval`` in a daemon thread (the HTTP MCP
    server starts one). A pass that expired or dropped something is audited; errors are
    logged (without secrets: the admin URL never appears) and the next pass retries."""

    def __init__(self, ctx: Context, interval: float | None = None) -> None:
        import threading

        self.ctx = ctx
        self.interval = (
            interval if interval is not None else float(seconds_of(ctx.config.access.reap_interval))
        )
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stratusec-reaper", daemon=True)
        self.passes = 0

    def start(self) -> Reaper:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def run_once(self) -> dict[str, Any]:
        from stratusec.governance.gate import Caller, Governor

        result = reap(self.ctx)
        self.passes += 1
        if result["expired_grants"] or any(result["roles_dropped"].values()) or result["errors"]:
            gov = Governor(self.ctx.store, config=self.ctx.config)
            who = Caller(principal="stratusec-reaper", role="admin", face="mcp-http")
            gov.note(who, "access_reap", result)
        return result

    def _loop(self) -> None:
        import logging

        log = logging.getLogger("stratusec.access")
        while not self._stop.wait(self.interval):
            try:
                result = self.run_once()
            except Exception as exc:  # keep reaping; the next pass retries
                log.error("access reaper pass failed: %s", type(exc).__name__)
                continue
            for name, err in result["errors"].items():
                log.error("access reaper: database %s: %s", name, err)


# -- checking what a grant's session may do -----------------------------------------------
def check_grant(ctx: Context, grant_id: str, action: str, resource: str) -> dict[str, Any]:
    """What the IAM evaluator decides for one call made with a grant's credentials (the
    target role's policies intersected with the grant's session policy), next to what the
    role alone could do. (Emulators do not enforce session policies: this is the check.)"""
    from stratusec.access.aws import SessionDecider

    row = load_grant(ctx, grant_id)
    if row.kind != "aws":
        raise AccessError(f"grant {grant_id} is a {row.kind} grant: this checks AWS grants")
    if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action or ""):
        raise AccessError(f"malformed action {action!r}; write service:Action, e.g. s3:GetObject")
    if not re.match(r"^arn:aws[a-z-]*:[a-z0-9-]+:", resource or "") and resource != "*":
        raise AccessError(f"malformed resource ARN {resource!r}")
    role = target_role(ctx.store, row.account_name, row.target)
    scope = Scope(actions=row.scope["actions"], resources=row.scope["resources"], seconds=900)
    decider = SessionDecider(role.resource, role.lookup, scope)
    session = decider(action, resource, True)
    alone = decider(action, resource, False)
    return {
        "grant_id": grant_id,
        "status": _status(row, utcnow()),
        "action": action,
        "resource": resource,
        "decision": str(session.decision),
        "allowed": str(session.decision) == "allow",
        "reason": session.reason,
        "role_alone": str(alone.decision),
        "role_alone_reason": alone.reason,
        "scan_id": role.scan_id,
    }
