"""The ``stratusec`` command (Typer + Rich). A face: parse, call one operation, render."""

from __future__ import annotations

import sys

import typer

from stratusec import __version__
from stratusec.cli import access as access_cmd
from stratusec.cli import audit as audit_cmd
from stratusec.cli import demo as demo_cmd
from stratusec.cli import explain as explain_cmd
from stratusec.cli import findings as findings_cmd
from stratusec.cli import fix as fix_cmd
from stratusec.cli import governance as governance_cmd
from stratusec.cli import graph as graph_cmd
from stratusec.cli import guardrail as guardrail_cmd
from stratusec.cli import init as init_cmd
from stratusec.cli import mcp as mcp_cmd
from stratusec.cli import paths as paths_cmd
from stratusec.cli import report as report_cmd
from stratusec.cli import scan as scan_cmd
from stratusec.cli.console import err
from stratusec.errors import StratusecError

app = typer.Typer(
    name="stratusec",
    help="Stratusec: cloud security inventory, graph, findings and governed AI agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"stratusec {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Stratusec command line."""


app.command("init")(init_cmd.init)
app.command("scan")(scan_cmd.scan)
app.command("scans")(scan_cmd.scans)
app.command("findings")(findings_cmd.findings)
app.command("explain")(explain_cmd.explain)
app.command("fix")(fix_cmd.fix)
app.command("compliance")(findings_cmd.compliance)
app.command("checks")(findings_cmd.checks)
app.add_typer(findings_cmd.suppress_app, name="suppress")
app.command("report")(report_cmd.report)
app.command("paths")(paths_cmd.paths)
app.add_typer(graph_cmd.app, name="graph")
app.add_typer(guardrail_cmd.app, name="guardrail")
app.add_typer(governance_cmd.token_app, name="token")
app.add_typer(governance_cmd.approvals_app, name="approvals")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(access_cmd.app, name="access")
app.add_typer(demo_cmd.app, name="demo")
app.add_typer(mcp_cmd.app, name="mcp")


def main() -> None:
    try:
        app()
    except StratusecError as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
