"""The ``scan`` operation: collect one or every configured account into the store, then
evaluate the check catalog and update the account's findings."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stratusec.checks import Inventory
from stratusec.checks.runner import run_checks
from stratusec.config import Config
from stratusec.errors import StratusecError
from stratusec.findings.lifecycle import RecordSummary, record_results
from stratusec.graph.paths import GraphView
from stratusec.graph.security_graph import store_security_graph
from stratusec.graph.store import GraphStore
from stratusec.operations.context import Context
from stratusec.operations.graph import graph_store
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
    graph: dict[str, Any] | None = None
    graph_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "checks": self.checks,
            "results": self.results,
            "failing": self.failing,
            "check_errors": self.check_errors,
            "seconds": round(self.seconds, 3),
            "findings": self.findings.as_dict(),
            "graph": self.graph,
            "graph_error": self.graph_error,
        }


def check_settings(config: Config) -> dict[str, Any]:
    """The settings the checks read from ``Inventory.settings`` (None: the check's default)."""
    return {
        "agent_patterns": config.access.agent_patterns,
        "agent_tag": config.access.agent_tag,
    }


def evaluate(
    store: Store,
    outcome: ScanOutcome,
    graph: GraphStore | None = None,
    *,
    settings: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Rebuild the account's security graph (atomically for readers) when a graph store
    is given, run every check over the scan's inventory (graph-aware checks read attack
    paths from that graph; ``settings`` from :func:`check_settings`) and record the
    findings."""
    inv = Inventory(
        store.iter_resources(outcome.scan_id, include_raw=False),
        regions=outcome.regions,
        settings=settings,
    )
    graph_info: dict[str, Any] | None = None
    graph_error: str | None = None
    complete = outcome.status == "succeeded" and set(outcome.services) == set(
        registry.all_services()
    )
    keep = graph is not None and not complete and outcome.account_name in graph.accounts()
    if graph is not None and keep:
        # A scan of some services (or a failed one) sees part of the account: rebuilding the
        # graph from it would drop every node and path it did not collect.
        graph_info = {
            "kept": True,
            "reason": "partial scan: the account's last graph is kept",
        }
        inv.graph = GraphView(graph, outcome.account_name)
    elif graph is not None:
        try:
            info = store_security_graph(graph, inv, outcome.account_name)
            build = info.get("build") or {}
            graph_info = {
                "build_id": info.get("build_id"),
                "nodes": info.get("nodes"),
                "edges": info.get("edges"),
                "seconds": round(float(info.get("seconds") or 0), 3),
                "escalation_paths": build.get("escalation_paths"),
            }
            inv.graph = GraphView(graph, outcome.account_name)
        except StratusecError as exc:
            graph_error = str(exc)
    report = run_checks(inv)
    _add_guardrails(store, inv, report)
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
        graph=graph_info,
        graph_error=graph_error,
    )


def _add_guardrails(store: Store, inv: Inventory, report: Any) -> None:
    """Activated guardrail policies run at every scan, as checks ``guardrail:<package>``."""
    from stratusec.guardrails.engine import guardrail_report
    from stratusec.guardrails.store import active_policies

    active = active_policies(store)
    if not active:
        return
    g = guardrail_report(inv.all(), active)
    report.results.extend(g.results)
    report.counts.update(g.counts)
    report.errors.update(g.errors)


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
        if not checks:
            results.append((outcome, None))
            continue
        with graph_store(ctx) as gs:
            ev = evaluate(ctx.store, outcome, gs, settings=check_settings(ctx.config))
            results.append((outcome, ev))
    return results
