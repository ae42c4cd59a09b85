"""``stratusec scan`` and ``stratusec scans``."""

from __future__ import annotations

import sys
import threading
from collections import defaultdict
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from stratusec.cli.console import err, out, print_json, split_csv
from stratusec.cli.governed import governed, recorded
from stratusec.errors import StratusecError
from stratusec.governance.gate import json_size
from stratusec.operations.context import Context
from stratusec.operations.scan import Evaluation
from stratusec.operations.scan import scan as scan_op
from stratusec.providers.aws.scanner import ScanEvent, ScanOutcome


class _Progress:
    """Per-service progress bars on a TTY; plain lines on stderr otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = err.is_terminal
        self.lock = threading.Lock()
        self.progress: Progress | None = None
        self.tasks: dict[tuple[str, str], Any] = {}
        self.done = 0
        self.total = 0
        self.counts: dict[tuple[str, str], int] = defaultdict(int)

    def __enter__(self) -> _Progress:
        if self.enabled and self.tty:
            self.progress = Progress(
                TextColumn("{task.description:<28}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                console=err,
                transient=False,
            )
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress:
            self.progress.stop()

    def __call__(self, account: str, ev: ScanEvent) -> None:
        if not self.enabled:
            return
        with self.lock:
            if ev.kind == "plan":
                self.total += len(ev.tasks)
                per_service: dict[str, int] = defaultdict(int)
                for svc, _r in ev.tasks:
                    per_service[svc] += 1
                if self.progress:
                    for svc, n in per_service.items():
                        self.tasks[(account, svc)] = self.progress.add_task(
                            f"{account}/{svc}", total=n, info=""
                        )
                else:
                    err.print(f"scanning {account}: {len(ev.tasks)} tasks", highlight=False)
            elif ev.kind == "done":
                self.done += 1
                key = (account, ev.service)
                self.counts[key] += ev.resources
                note = f"{self.counts[key]} resources" + (
                    f", {ev.errors} errors" if ev.errors else ""
                )
                if self.progress:
                    self.progress.update(self.tasks[key], advance=1, info=note)
                else:
                    err.print(
                        f"[{self.done}/{self.total}] {account} {ev.service}/{ev.region}: "
                        f"{ev.resources} resources"
                        + (f", {ev.errors} errors" if ev.errors else ""),
                        highlight=False,
                    )


def render_summary(o: ScanOutcome) -> None:
    t = Table(title=f"Scan of {o.account_name} ({o.account_id}) — {o.status}", title_justify="left")
    t.add_column("service")
    t.add_column("resources", justify="right")
    t.add_column("errors", justify="right")
    errs_by_service: dict[str, int] = defaultdict(int)
    for e in o.errors:
        errs_by_service[e.service] += 1
    for svc in o.services:
        n_err = errs_by_service.get(svc, 0)
        t.add_row(svc, str(o.counts_by_service.get(svc, 0)), f"[red]{n_err}[/]" if n_err else "0")
    t.add_section()
    t.add_row("[bold]total[/]", f"[bold]{o.resource_count}[/]", str(len(o.errors)))
    out.print(t)
    out.print(
        f"scan {o.scan_id}: {len(o.regions)} regions ({', '.join(o.regions)}), "
        f"{o.api_calls} API calls, {o.duration:.1f} s",
        highlight=False,
    )
    if o.errors:
        out.print(
            f"[yellow]partial:[/] {len(o.errors)} API errors in {', '.join(o.failed_services())}"
        )
        for e in o.errors[:15]:
            where = f" ({e.resource})" if e.resource else ""
            out.print(f"  {e.service}/{e.region} {e.api}: {e.code}{where}", highlight=False)
        if len(o.errors) > 15:
            out.print(f"  ... {len(o.errors) - 15} more (see --output json)")


def exit_code(results: list[tuple[ScanOutcome, Evaluation | None]]) -> int:
    partial = any(
        o.status != "succeeded" or (ev is not None and (ev.graph_error or ev.check_errors))
        for o, ev in results
    )
    return 1 if partial else 0


def render_evaluation(ev: Evaluation | None) -> None:
    if ev is None:
        return
    f = ev.findings
    out.print(
        f"checks: {ev.checks} run, {ev.results} results, {ev.failing} failing "
        f"({ev.seconds:.2f} s); findings: {f.new} new, {f.still_open} still open, "
        f"{f.reopened} reopened, {f.resolved} resolved, {f.suppressed} suppressed",
        highlight=False,
    )
    if ev.graph and ev.graph.get("kept"):
        out.print(f"graph: not rebuilt ({ev.graph['reason']})", highlight=False)
    elif ev.graph:
        g = ev.graph
        out.print(
            f"graph: {g['nodes']} nodes, {sum((g['edges'] or {}).values())} edges "
            f"({g['seconds']:.2f} s), {g['escalation_paths'] or 0} escalation paths",
            highlight=False,
        )
    if ev.graph_error:
        out.print(f"[red]graph not rebuilt:[/] {ev.graph_error}", highlight=False)
    for cid, err_text in ev.check_errors.items():
        out.print(f"[red]check {cid} failed to run:[/] {err_text}", highlight=False)


def scan_json(results: list[tuple[ScanOutcome, Evaluation | None]]) -> dict[str, Any]:
    return {
        "scans": [{**o.as_dict(), "evaluation": ev.as_dict() if ev else None} for o, ev in results]
    }


def scan(
    account: str | None = typer.Option(
        None, "--account", "-a", help="Account name (default: all)."
    ),
    regions: list[str] | None = typer.Option(
        None, "--regions", help="Override regions (repeat or comma-separate)."
    ),
    services: list[str] | None = typer.Option(
        None, "--services", help="Only these services (repeat or comma-separate)."
    ),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
    progress: bool = typer.Option(
        True, "--progress/--no-progress", help="Show progress on stderr."
    ),
) -> None:
    """Collect the inventory, run the checks and rebuild the security graph.

    Exit codes: 0 success, 1 partial (some APIs failed, listed), 2 bad input or config.
    """
    if output not in ("table", "json"):
        raise StratusecError(f"unknown output {output!r}; valid: table, json")
    ctx = Context.load()
    try:
        regs, svcs = split_csv(regions), split_csv(services)
        with _Progress(progress) as prog:
            results = governed(
                ctx,
                "scan",
                {"account": account, "regions": regs, "services": svcs},
                lambda: scan_op(ctx, account=account, regions=regs, services=svcs, on_event=prog),
                size=lambda r: json_size(scan_json(r)),
            )
    finally:
        ctx.close()
    if output == "json":
        print_json(scan_json(results))
    else:
        for o, ev in results:
            render_summary(o)
            render_evaluation(ev)
    code = exit_code(results)
    if code:
        sys.exit(code)


def scans(
    account: str | None = typer.Option(None, "--account", "-a", help="Only this account."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000),
    output: str = typer.Option("table", "--output", "-o", help="table or json."),
) -> None:
    """List past scans."""
    ctx = Context.load()
    try:
        if account:
            ctx.config.account(account)
        rows = recorded(
            ctx,
            "scans",
            {"account": account, "limit": limit},
            lambda: ctx.store.list_scans(account, limit),
            size=len,
        )
    finally:
        ctx.close()
    data = [
        {
            "scan_id": r.id,
            "account": r.account_name,
            "account_id": r.account_id,
            "status": r.status,
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "resources": r.resource_count,
            "api_calls": r.api_calls,
            "errors": r.error_count,
        }
        for r in rows
    ]
    if output == "json":
        print_json({"scans": data})
        return
    t = Table(title="Scans")
    for col in ("scan_id", "account", "status", "started_at", "resources", "api_calls", "errors"):
        t.add_column(col)
    for d in data:
        t.add_row(
            *(
                str(d[c])
                for c in (
                    "scan_id",
                    "account",
                    "status",
                    "started_at",
                    "resources",
                    "api_calls",
                    "errors",
                )
            )
        )
    out.print(t)
