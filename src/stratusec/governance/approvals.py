"""Approval requests: one tool, exactly these arguments, decided out of band by a
different human, run at most once.

Life cycle: ``pending`` -> ``approved`` | ``denied`` | ``expired``; ``approved`` ->
``executed`` (by :func:`claim_for_execution`) | ``expired``. Every transition is a
conditional ``UPDATE ... WHERE status = <expected>`` whose row count is checked, so two
racing deciders or claimers cannot both win.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from typing import Any

from sqlalchemy import select, update

from stratusec.errors import NotFoundError, StratusecError
from stratusec.store.db import Store, utcnow
from stratusec.store.models import ApprovalRow

STATUSES: tuple[str, ...] = ("pending", "approved", "denied", "expired", "executed")
DEFAULT_TTL = dt.timedelta(hours=24)
MAX_TTL = dt.timedelta(days=30)


class ApprovalError(StratusecError):
    """An approval request cannot be created, decided or used as asked."""


class SelfApprovalError(ApprovalError):
    """The approver is the requester or the human the request acts for."""


class ApprovalExpiredError(ApprovalError):
    """The request expired before it was decided or used."""


class ApprovalStateError(ApprovalError):
    """The request is not in a state that allows this (already decided, not approved,
    denied, already used)."""


class ApprovalMismatchError(ApprovalError):
    """The tool or the arguments differ from what was approved."""


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _iso(value: dt.datetime | None) -> str | None:
    v = _as_utc(value)
    return v.isoformat() if v is not None else None


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, no NaN: the same value always gives the same text."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise ApprovalError(f"arguments are not plain JSON data: {exc}") from exc


def args_digest(tool: str, arguments: dict[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``{"tool": ..., "arguments": ...}``."""
    text = canonical_json({"tool": tool, "arguments": arguments})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _effective_status(row: ApprovalRow, now: dt.datetime) -> str:
    expires = _as_utc(row.expires_at)
    if row.status in ("pending", "approved") and expires is not None and expires <= now:
        return "expired"
    return row.status


def _to_dict(row: ApprovalRow, now: dt.datetime | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "tool": row.tool,
        "arguments": row.arguments,
        "args_digest": row.args_digest,
        "requester": row.requester,
        "on_behalf_of": row.on_behalf_of,
        "agent": row.agent,
        "reason": row.reason,
        "status": _effective_status(row, now or utcnow()),
        "created_at": _iso(row.created_at),
        "expires_at": _iso(row.expires_at),
        "decided_by": row.decided_by,
        "decided_at": _iso(row.decided_at),
        "decision_reason": row.decision_reason,
        "executed_at": _iso(row.executed_at),
        "result": row.result,
    }


def _load(store: Store, approval_id: str) -> ApprovalRow:
    with store.session() as s:
        row = s.get(ApprovalRow, approval_id)
    if row is None:
        raise NotFoundError(
            f"unknown approval request {approval_id!r}; see 'stratusec approvals list'"
        )
    return row


def request_approval(
    store: Store,
    *,
    tool: str,
    arguments: dict[str, Any],
    requester: str,
    on_behalf_of: str | None,
    agent: str | None,
    reason: str | None,
    ttl: dt.timedelta = DEFAULT_TTL,
) -> dict[str, Any]:
    """Record a pending request bound to ``tool`` and the digest of ``arguments``."""
    if not tool:
        raise ApprovalError("an approval request needs a tool name")
    if not requester or not requester.strip():
        raise ApprovalError("an approval request needs a requester")
    if not isinstance(arguments, dict):
        raise ApprovalError("arguments must be a JSON object")
    if ttl <= dt.timedelta(0) or ttl > MAX_TTL:
        raise ApprovalError(f"approval expiry must be positive and at most {MAX_TTL.days}d")
    digest = args_digest(tool, arguments)
    # Store what was hashed, exactly: a JSON round trip of the canonical text.
    stored_args = json.loads(canonical_json(arguments))
    now = utcnow()
    row = ApprovalRow(
        id=uuid.uuid4().hex,
        tool=tool,
        arguments=stored_args,
        args_digest=digest,
        requester=requester[:256],
        on_behalf_of=on_behalf_of[:256] if on_behalf_of else None,
        agent=agent[:256] if agent else None,
        reason=reason,
        status="pending",
        created_at=now,
        expires_at=now + ttl,
    )
    with store.session() as s, s.begin():
        s.add(row)
    return _to_dict(row, now)


def get_approval(store: Store, approval_id: str) -> dict[str, Any]:
    """The request as it stands (a pending or approved request past its expiry reads as
    ``expired``)."""
    return _to_dict(_load(store, approval_id))


def list_approvals(store: Store, status: str | None = None) -> list[dict[str, Any]]:
    """Requests, newest first, optionally with one status. Marks stale ones expired first."""
    if status is not None and status not in STATUSES:
        raise ApprovalError(f"unknown status {status!r}; valid: {', '.join(STATUSES)}")
    expire_stale(store)
    q = select(ApprovalRow).order_by(ApprovalRow.created_at.desc(), ApprovalRow.id)
    if status is not None:
        q = q.where(ApprovalRow.status == status)
    with store.session() as s:
        rows = list(s.scalars(q))
    now = utcnow()
    return [_to_dict(r, now) for r in rows]


def expire_stale(store: Store) -> int:
    """Mark pending and approved requests past their expiry as expired; returns how many."""
    with store.engine.begin() as conn:
        res = conn.execute(
            update(ApprovalRow)
            .where(ApprovalRow.status.in_(("pending", "approved")))
            .where(ApprovalRow.expires_at <= utcnow())
            .values(status="expired")
        )
    return int(res.rowcount or 0)


def _same_human(a: str | None, b: str | None) -> bool:
    """Whether two spellings may name the same human: equal ignoring case and spaces, or
    the same user part when either is an e-mail address ("alice" and "alice@example.com"
    are treated as one person). Erring towards "same" only ever refuses an approval."""
    if not a or not b:
        return False
    x, y = a.strip().casefold(), b.strip().casefold()
    if x == y:
        return True
    if "@" in x or "@" in y:
        return x.split("@", 1)[0] == y.split("@", 1)[0]
    return False


def decide(
    store: Store,
    approval_id: str,
    *,
    approver: str,
    approve: bool,
    reason: str | None,
) -> dict[str, Any]:
    """Approve or deny a pending request. The approver may be neither the requester nor the
    human the request acts for (compared case-insensitively). Anyone may deny."""
    if not approver or not approver.strip():
        raise ApprovalError("the approver must be named")
    row = _load(store, approval_id)
    if approve and (
        _same_human(approver, row.requester) or _same_human(approver, row.on_behalf_of)
    ):
        raise SelfApprovalError(
            f"{approver!r} cannot approve request {approval_id}: it was made by or for them; "
            "a different human must approve it"
        )
    now = utcnow()
    status = _effective_status(row, now)
    if status == "expired":
        expire_stale(store)
        raise ApprovalExpiredError(f"approval request {approval_id} has expired")
    if status != "pending":
        raise ApprovalStateError(
            f"approval request {approval_id} is already {status}"
            + (f" (by {row.decided_by})" if row.decided_by else "")
        )
    new_status = "approved" if approve else "denied"
    with store.engine.begin() as conn:
        res = conn.execute(
            update(ApprovalRow)
            .where(ApprovalRow.id == approval_id)
            .where(ApprovalRow.status == "pending")
            .where(ApprovalRow.expires_at > now)
            .values(
                status=new_status,
                decided_by=approver[:256],
                decided_at=now,
                decision_reason=reason,
            )
        )
    if res.rowcount != 1:
        current = get_approval(store, approval_id)
        if current["status"] == "expired":
            raise ApprovalExpiredError(f"approval request {approval_id} has expired")
        raise ApprovalStateError(f"approval request {approval_id} is already {current['status']}")
    return get_approval(store, approval_id)


def claim_for_execution(
    store: Store, approval_id: str, *, tool: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    """Move an approved request to ``executed`` if, and only if, ``tool`` and ``arguments``
    are exactly those approved and it has not expired. Succeeds once; the caller runs the
    tool only after this returns."""
    row = _load(store, approval_id)
    now = utcnow()
    status = _effective_status(row, now)
    if status == "executed":
        raise ApprovalStateError(f"approval request {approval_id} was already used")
    if status == "expired":
        expire_stale(store)
        raise ApprovalExpiredError(f"approval request {approval_id} has expired")
    if status == "pending":
        raise ApprovalStateError(f"approval request {approval_id} is still pending")
    if status == "denied":
        raise ApprovalStateError(f"approval request {approval_id} was denied")
    if tool != row.tool:
        raise ApprovalMismatchError(
            f"approval request {approval_id} is for tool {row.tool!r}, not {tool!r}"
        )
    digest = args_digest(tool, arguments)
    if not hmac.compare_digest(digest.encode("ascii"), row.args_digest.encode("ascii")):
        raise ApprovalMismatchError(
            f"the arguments differ from those approved in request {approval_id}; "
            "request a new approval"
        )
    with store.engine.begin() as conn:
        res = conn.execute(
            update(ApprovalRow)
            .where(ApprovalRow.id == approval_id)
            .where(ApprovalRow.status == "approved")
            .where(ApprovalRow.tool == tool)
            .where(ApprovalRow.args_digest == digest)
            .where(ApprovalRow.expires_at > now)
            .values(status="executed", executed_at=now)
        )
    if res.rowcount != 1:
        current = get_approval(store, approval_id)
        if current["status"] == "expired":
            raise ApprovalExpiredError(f"approval request {approval_id} has expired")
        raise ApprovalStateError(f"approval request {approval_id} was already used")
    return get_approval(store, approval_id)


def record_result(store: Store, approval_id: str, result: dict[str, Any]) -> None:
    """Attach the (redacted) result summary to an executed request."""
    with store.engine.begin() as conn:
        res = conn.execute(
            update(ApprovalRow)
            .where(ApprovalRow.id == approval_id)
            .where(ApprovalRow.status == "executed")
            .values(result=result)
        )
    if res.rowcount != 1:
        raise ApprovalStateError(f"approval request {approval_id} has not been executed")
