"""``stratusec report``: one self-contained HTML file per account."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from stratusec.cli.console import err
from stratusec.cli.governed import recorded
from stratusec.errors import StratusecError
from stratusec.operations.context import Context
from stratusec.operations.report import build_report, validate_format


def _target(output: str | None, default_name: str) -> Path:
    if not output:
        return Path.cwd() / default_name
    path = Path(output).expanduser()
    if path.is_dir():
        return path / default_name
    return path


def _check_writable(path: Path) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise StratusecError(
            f"cannot write the report to {path}: directory {parent} does not exist"
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise StratusecError(f"cannot write the report to {path}: permission denied")
    if not path.exists() and not os.access(parent, os.W_OK):
        raise StratusecError(
            f"cannot write the report to {path}: directory {parent} is not writable"
        )


def report(
    fmt: str = typer.Option("html", "--format", help="Report format: html."),
    account: str | None = typer.Option(
        None, "--account", "-a", help="Account name (needed when several are configured)."
    ),
    framework: str = typer.Option(
        "cis-aws-3.0", "--framework", "-f", help="Compliance framework to include."
    ),
    output: str | None = typer.Option(
        None,
        "--output",
        "-o",
        help="File or directory to write (default ./stratusec-report-ACCOUNT-DATE.html).",
    ),
) -> None:
    """Write a self-contained HTML report (findings, charts, compliance) and print its path.

    The file needs no network and runs no scripts: open it in any browser or attach it.
    """
    validate_format(fmt)
    if output:
        # Fail on an impossible path before doing any work.
        probe = Path(output).expanduser()
        if not probe.is_dir():
            _check_writable(probe)
    ctx = Context.load()
    try:
        rep = recorded(
            ctx,
            "report",
            {"account": account, "framework": framework, "format": fmt},
            lambda: build_report(ctx, account=account, framework=framework, fmt=fmt),
            size=lambda r: len(r.content.encode("utf-8")),
        )
    finally:
        ctx.close()
    path = _target(output, rep.default_filename)
    _check_writable(path)
    try:
        path.write_text(rep.content, encoding="utf-8")
    except OSError as exc:
        raise StratusecError(f"cannot write the report to {path}: {exc.strerror or exc}") from None
    s = rep.summary()
    score = "n/a" if s["score"] is None else f"{s['score']}%"
    err.print(
        f"report for {s['account']}: {s['open_findings']} open findings, "
        f"{s['framework']} score {score}",
        highlight=False,
    )
    typer.echo(str(path))
