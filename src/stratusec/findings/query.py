"""List and filter findings (the CLI's ``findings``, MCP's ``get_findings``, reports)."""

from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from stratusec.checks.model import SEVERITY_RANK, Severity
from stratusec.checks.registry import all_checks, get_check
from stratusec.compliance.frameworks import framework_ids, load_framework
from stratusec.errors import StratusecError
from stratusec.store.db import Store, utcnow
from stratusec.store.models import FindingRow, ScanRow

FindingStatus = Literal["open", "resolved", "suppressed", "all"]
STATUSES = ("open", "resolved", "suppressed", "all")
SEVERITIES = [s.value for s in Severity]


class FindingFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str | None = None
    severity: list[str] = Field(default_factory=list)
    service: list[str] = Field(default_factory=list)
    check: list[str] = Field(default_factory=list)
    control: str | None = None  # "cis-aws-3.0:1.4"
    status: str = "open"
    since: str | None = None  # "24h", "7d", "30m" or an ISO date/datetime (first_seen >=)
    new: bool = False  # first seen in the account's latest scan
    limit: int = Field(default=100, ge=1, le=10_000)
    cursor: str | None = None
    # False leaves each finding's (possibly large) evidence out of the page.
    evidence: bool = True


class Page(BaseModel):
    findings: list[dict[str, Any]]
    total: int
    next_cursor: str | None


def parse_since(value: str, now: dt.datetime | None = None) -> dt.datetime:
    now = now or utcnow()
    m = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", value)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        delta = {
            "m": dt.timedelta(minutes=n),
            "h": dt.timedelta(hours=n),
            "d": dt.timedelta(days=n),
            "w": dt.timedelta(weeks=n),
        }[unit]
        return now - delta
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise StratusecError(
            f"--since {value!r} is not a duration (30m, 24h, 7d, 2w) or a date (2026-11-01)"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def control_checks(control: str) -> list[str]:
    fid, sep, cid = control.partition(":")
    if not sep or not cid:
        raise StratusecError(
            f"--control {control!r} must be FRAMEWORK:CONTROL, e.g. cis-aws-3.0:1.4; "
            f"frameworks: {', '.join(framework_ids())}"
        )
    ctl = load_framework(fid).control(cid)
    if not ctl.checks:
        raise StratusecError(
            f"control {control} has no automated check ({ctl.status}: {ctl.reason})"
        )
    return list(ctl.checks)


def validate(f: FindingFilter) -> None:
    bad = [s for s in f.severity if s not in SEVERITIES]
    if bad:
        raise StratusecError(
            f"unknown severity {bad[0]!r}; valid severities: {', '.join(SEVERITIES)}"
        )
    if f.status not in STATUSES:
        raise StratusecError(f"unknown status {f.status!r}; valid statuses: {', '.join(STATUSES)}")
    for c in f.check:
        get_check(c)
    if not f.service:
        return
    # "guardrail": findings of activated guardrail policies (checks guardrail:<package>)
    services = sorted({c.meta.service for c in all_checks()} | {"guardrail"})
    bad = [s for s in f.service if s not in services]
    if bad:
        raise StratusecError(
            f"unknown service {bad[0]!r}; services with checks: {', '.join(services)}"
        )


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("o:"))
    except (ValueError, UnicodeDecodeError):
        raise StratusecError("invalid cursor (use the next_cursor of a previous page)") from None


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def _latest_scan_ids(store: Store, account: str | None) -> list[str]:
    """The newest completed scan of each account (or of one)."""
    q = select(ScanRow.account_name, ScanRow.id, ScanRow.finished_at).where(
        ScanRow.status.in_(("succeeded", "partial"))
    )
    if account:
        q = q.where(ScanRow.account_name == account)
    latest: dict[str, tuple[Any, str]] = {}
    with store.session() as s:
        for name, sid, finished in s.execute(q):
            if name not in latest or finished > latest[name][0]:
                latest[name] = (finished, sid)
    return [sid for _f, sid in latest.values()]


def query_findings(store: Store, f: FindingFilter) -> Page:
    validate(f)
    conds: list[Any] = []
    if f.account:
        conds.append(FindingRow.account_name == f.account)
    if f.status != "all":
        conds.append(FindingRow.status == f.status)
    if f.severity:
        conds.append(FindingRow.severity_rank.in_([SEVERITY_RANK[Severity(s)] for s in f.severity]))
    if f.service:
        conds.append(FindingRow.service.in_(f.service))
    checks = list(f.check)
    if f.control:
        ctl = control_checks(f.control)
        checks = [c for c in checks if c in ctl] if checks else ctl
        if not checks:
            checks = ["\x00none"]
    if checks:
        conds.append(FindingRow.check_id.in_(checks))
    if f.since:
        conds.append(FindingRow.first_seen >= parse_since(f.since))
    if f.new:
        conds.append(FindingRow.first_scan_id.in_(_latest_scan_ids(store, f.account) or ["-"]))
    offset = _decode_cursor(f.cursor)
    t = FindingRow.__table__
    cols = [c for c in t.c if f.evidence or c.name != "evidence"]
    with store.engine.connect() as conn:
        total = int(conn.scalar(select(func.count()).select_from(FindingRow).where(*conds)) or 0)
        # A Core select (rows with the same attribute names as FindingRow): a page is read
        # on every get_findings call, and ORM instances cost more than the query.
        rows = list(
            conn.execute(
                select(*cols)
                .where(*conds)
                .order_by(
                    FindingRow.severity_rank.desc(), FindingRow.last_seen.desc(), FindingRow.id
                )
                .offset(offset)
                .limit(f.limit)
            )
        )
    nxt = offset + len(rows)
    return Page(
        findings=[finding_dict(r, evidence=f.evidence) for r in rows],  # type: ignore[arg-type]
        total=total,
        next_cursor=_encode_cursor(nxt) if nxt < total else None,
    )


def _iso(v: dt.datetime | None) -> str | None:
    if v is None:
        return None
    if v.tzinfo is None:
        v = v.replace(tzinfo=dt.UTC)
    return v.isoformat()


def finding_dict(r: FindingRow, *, evidence: bool = True) -> dict[str, Any]:
    out = {
        "id": r.id,
        "check_id": r.check_id,
        "title": r.title,
        "severity": r.severity,
        "status": r.status,
        "result": r.result,
        "message": r.message,
        "account": r.account_name,
        "account_id": r.account_id,
        "region": r.region,
        "service": r.service,
        "resource": {
            "uid": r.resource_uid,
            "type": r.resource_type,
            "name": r.resource_name,
            "tags": r.resource_tags,
        },
        "compliance": r.compliance,
        "first_seen": _iso(r.first_seen),
        "last_seen": _iso(r.last_seen),
        "resolved_at": _iso(r.resolved_at),
        "first_scan_id": r.first_scan_id,
        "last_scan_id": r.last_scan_id,
        "suppression_id": r.suppression_id,
        "resolution": r.resolution,
    }
    if evidence:
        out["evidence"] = r.evidence
    return out


def get_finding(store: Store, fid: str) -> dict[str, Any]:
    with store.session() as s:
        row = s.get(FindingRow, fid)
    if row is None:
        raise StratusecError(f"unknown finding id {fid!r} (list them with 'stratusec findings')")
    return finding_dict(row)
