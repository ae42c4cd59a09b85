"""The ``scan`` operation: collect one or every configured account into the store, then
evaluate the check catalog and update the account's findings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from stratusec.checks import Inventory
from stratusec.checks.runner import run_checks
from stratusec.findings.lifecycle import RecordSummary, record_results
from stratusec.operations.context import Context
from stratusec.providers.aws import registry
from stratusec.providers.aws.scanner import (
    ScanEvent,
    ScanOutcome,
    run_scan,
    validate_regions,
    validate_services,
)
from stratusec.store.db import Store


@dataclass
class Evaluation:
    checks: int
    results: int
    failing: int
    check_errors: dict[str, str]
    seconds: float
    findings: RecordSummary

    def as_dict(self) -> dict[str, Any]:
        return {
            "checks": self.checks,
            "results": self.results,
            "failing": self.failing,
            "check_errors": self.check_errors,
            "seconds": round(self.seconds, 3),
            "findings": self.findings.as_dict(),
        }


def evaluate(store: Store, outcome: ScanOutcome) -> Evaluation:
    """Run every check over the scan's inventory and record the findings."""
    inv = Inventory(
        store.iter_resources(outcome.scan_id, include_raw=False), regions=outcome.regions
    )
    report = run_checks(inv)
    complete = outcome.status == "succeeded" and set(outcome.services) == set(
        registry.all_services()
    )
    summary = record_results(
        store,
        scan_id=outcome.scan_id,
        account_name=outcome.account_name,
        account_id=outcome.account_id,
        report=report,
        resource_tags={r.uid: r.tags for r in inv.all()},
        complete=complete,
    )
    return Evaluation(
        checks=len(report.counts),
        results=len(report.results),
        failing=len(report.failing()),
        check_errors=report.errors,
        seconds=report.seconds,
        findings=summary,
    )


def scan(
    ctx: Context,
    *,
    account: str | None = None,
    regions: Sequence[str] | None = None,
    services: Sequence[str] | None = None,
    on_event: Callable[[str, ScanEvent], None] | None = None,
    checks: bool = True,
) -> list[tuple[ScanOutcome, Evaluation | None]]:
    """Scan the named account (or every configured one). Bad input raises before any
    account is touched: unknown account, region or service name."""
    accounts = ctx.config.select_accounts(account)
    if regions:
        validate_regions(regions)
    validate_services(services)
    results: list[tuple[ScanOutcome, Evaluation | None]] = []
    for acct in accounts:
        cb = (lambda ev, _n=acct.name: on_event(_n, ev)) if on_event else None
        outcome = run_scan(
            acct,
            ctx.store,
            settings=ctx.config.scan,
            regions=regions,
            services=services,
            on_event=cb,
        )
        results.append((outcome, evaluate(ctx.store, outcome) if checks else None))
    return results
