"""The ``get_findings`` operation and suppressions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from stratusec.findings.lifecycle import reapply_suppressions
from stratusec.findings.query import FindingFilter, Page, get_finding, parse_since, query_findings
from stratusec.findings.suppressions import create_suppression, lift_suppression
from stratusec.operations.context import Context


def get_findings(ctx: Context, flt: FindingFilter) -> Page:
    if flt.account:
        ctx.config.account(flt.account)
    return query_findings(ctx.store, flt)


def finding(ctx: Context, finding_id: str) -> dict[str, Any]:
    return get_finding(ctx.store, finding_id)


def suppress(
    ctx: Context,
    *,
    reason: str,
    owner: str,
    created_by: str,
    account: str | None = None,
    check_id: str | None = None,
    resource: str | None = None,
    tag: str | None = None,
    expires: str | None = None,
) -> dict[str, Any]:
    """Create a suppression and apply it to existing findings at once."""
    if account:
        ctx.config.account(account)
    if check_id:
        from stratusec.checks.registry import get_check

        get_check(check_id)
    expires_at = _future(expires) if expires else None
    sid = create_suppression(
        ctx.store,
        reason=reason,
        owner=owner,
        created_by=created_by,
        account_name=account,
        check_id=check_id,
        resource_pattern=resource,
        tag=tag,
        expires_at=expires_at,
    )
    changed = reapply_suppressions(ctx.store, account)
    return {"suppression_id": sid, "findings_changed": changed}


def lift(ctx: Context, suppression_id: int, lifted_by: str) -> dict[str, Any]:
    lift_suppression(ctx.store, suppression_id, lifted_by)
    return {"suppression_id": suppression_id, "findings_changed": reapply_suppressions(ctx.store)}


def _future(value: str) -> dt.datetime:
    """'30d' -> now + 30 days; an ISO date stays as is."""
    past = parse_since(value)
    now = dt.datetime.now(dt.UTC)
    if past < now and value.strip()[-1:] in "mhdw" and value.strip()[:-1].isdigit():
        return now + (now - past)
    return past
