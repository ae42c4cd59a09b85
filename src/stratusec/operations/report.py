"""The ``report`` operation: one account's open findings and compliance as one file.

Data comes from the same operations every face uses (``get_findings``,
``check_compliance``); rendering is ``stratusec.report``'s pure functions.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from stratusec import __version__
from stratusec.checks.registry import get_check
from stratusec.compliance.frameworks import load_framework
from stratusec.config import Account
from stratusec.errors import NotFoundError, StratusecError
from stratusec.findings.query import FindingFilter
from stratusec.operations import findings as findings_op
from stratusec.operations.compliance import check_compliance
from stratusec.operations.context import Context
from stratusec.report import FORMATS, ReportData, render_html

PAGE = 10_000


@dataclass
class Report:
    data: ReportData
    format: str
    content: str

    @property
    def default_filename(self) -> str:
        day = dt.datetime.fromisoformat(self.data.generated_at).date().isoformat()
        return f"stratusec-report-{self.data.account}-{day}.{self.format}"

    def summary(self) -> dict[str, Any]:
        comp = self.data.compliance or {}
        return {
            "account": self.data.account,
            "scan_id": self.data.scan.get("id"),
            "open_findings": len(self.data.findings),
            "by_severity": self.data.severity_counts(),
            "framework": comp.get("framework"),
            "score": comp.get("score"),
        }


def validate_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise StratusecError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")


def _pick_account(ctx: Context, account: str | None) -> Account:
    if account:
        return ctx.config.account(account)
    accounts = ctx.config.select_accounts(None)  # raises when none is configured
    if len(accounts) == 1:
        return accounts[0]
    scanned = [a for a in accounts if ctx.store.latest_scan(a.name) is not None]
    if len(scanned) == 1:
        return scanned[0]
    raise StratusecError(
        "a report covers one account; choose it with --account: "
        + ", ".join(a.name for a in accounts)
    )


def _check_meta(check_id: str, fallback_title: str) -> dict[str, Any]:
    try:
        meta = get_check(check_id).meta
    except NotFoundError:  # a stored finding of a check that no longer exists
        return {"title": fallback_title, "description": "", "risk": "", "remediation": {}}
    data: dict[str, Any] = json.loads(meta.model_dump_json())
    return data


def report_data(
    ctx: Context, *, account: str | None = None, framework: str = "cis-aws-3.0"
) -> ReportData:
    """Everything a report shows about one account's latest scan."""
    load_framework(framework)  # unknown framework -> NotFoundError listing the valid ones
    acct = _pick_account(ctx, account)
    scan = ctx.store.latest_scan(acct.name)
    if scan is None:
        raise NotFoundError(
            f"account {acct.name!r} has no completed scan yet",
            hint=f"run 'stratusec scan --account {acct.name}'",
        )
    findings: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = findings_op.get_findings(
            ctx, FindingFilter(account=acct.name, status="open", limit=PAGE, cursor=cursor)
        )
        findings.extend(page.findings)
        cursor = page.next_cursor
        if cursor is None:
            break
    suppressed = findings_op.get_findings(
        ctx, FindingFilter(account=acct.name, status="suppressed", limit=1)
    ).total
    [compliance] = check_compliance(ctx, framework=framework, account=acct.name)
    checks = {f["check_id"]: _check_meta(f["check_id"], f["title"]) for f in findings}
    return ReportData(
        account=acct.name,
        account_id=scan.account_id or acct.account_id,
        scan={
            "id": scan.id,
            "status": scan.status,
            "started_at": _iso(scan.started_at),
            "finished_at": _iso(scan.finished_at),
            "regions": list(scan.regions or []),
            "resources": scan.resource_count,
            "errors": scan.error_count,
        },
        findings=findings,
        checks=checks,
        compliance=compliance,
        suppressed=suppressed,
        version=__version__,
    )


def build_report(
    ctx: Context,
    *,
    account: str | None = None,
    framework: str = "cis-aws-3.0",
    fmt: str = "html",
) -> Report:
    validate_format(fmt)
    data = report_data(ctx, account=account, framework=framework)
    return Report(data=data, format=fmt, content=render_html(data))


def _iso(v: dt.datetime | None) -> str | None:
    if v is None:
        return None
    if v.tzinfo is None:
        v = v.replace(tzinfo=dt.UTC)
    return v.isoformat()
