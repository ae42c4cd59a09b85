"""The ``check_compliance`` operation: a framework's controls judged from the latest scan."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from stratusec.compliance.frameworks import evaluate_framework, load_framework
from stratusec.errors import NotFoundError
from stratusec.operations.context import Context
from stratusec.store.models import CheckRunRow


def check_counts(ctx: Context, scan_id: str) -> dict[str, dict[str, int]]:
    """check id -> {"PASS": n, "FAIL": n, "UNKNOWN": n}; a crashed check counts UNKNOWN."""
    with ctx.store.session() as s:
        rows = list(s.scalars(select(CheckRunRow).where(CheckRunRow.scan_id == scan_id)))
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out[r.check_id] = {
            "PASS": r.passed,
            "FAIL": r.failed,
            "UNKNOWN": r.unknown + (1 if r.error else 0),
        }
    return out


def check_compliance(
    ctx: Context, *, framework: str = "cis-aws-3.0", account: str | None = None
) -> list[dict[str, Any]]:
    """One report per account (the named one, or every configured account with a scan)."""
    fw = load_framework(framework)
    accounts = ctx.config.select_accounts(account)
    reports = []
    for acct in accounts:
        scan = ctx.store.latest_scan(acct.name)
        if scan is None:
            if account:
                raise NotFoundError(
                    f"account {acct.name!r} has no completed scan yet",
                    hint=f"run 'stratusec scan --account {acct.name}'",
                )
            continue
        rep = evaluate_framework(fw, check_counts(ctx, scan.id))
        rep.update(account=acct.name, account_id=scan.account_id, scan_id=scan.id)
        reports.append(rep)
    if not reports:
        raise NotFoundError("no account has a completed scan yet", hint="run 'stratusec scan'")
    return reports
