"""The ``scan`` operation: collect one or every configured account into the store."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from stratusec.operations.context import Context
from stratusec.providers.aws.scanner import (
    ScanEvent,
    ScanOutcome,
    run_scan,
    validate_regions,
    validate_services,
)


def scan(
    ctx: Context,
    *,
    account: str | None = None,
    regions: Sequence[str] | None = None,
    services: Sequence[str] | None = None,
    on_event: Callable[[str, ScanEvent], None] | None = None,
) -> list[ScanOutcome]:
    """Scan the named account (or every configured one). Bad input raises before any
    account is touched: unknown account, region or service name."""
    accounts = ctx.config.select_accounts(account)
    if regions:
        validate_regions(regions)
    validate_services(services)
    outcomes = []
    for acct in accounts:
        cb = (lambda ev, _n=acct.name: on_event(_n, ev)) if on_event else None
        outcomes.append(
            run_scan(
                acct,
                ctx.store,
                settings=ctx.config.scan,
                regions=regions,
                services=services,
                on_event=cb,
            )
        )
    return outcomes
