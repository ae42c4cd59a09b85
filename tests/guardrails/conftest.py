"""Helpers for the guardrail tests: data files, and the ``stratusec guardrail`` CLI run
in-process (through the real entry point when the command is registered there)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import typer

from stratusec.cli import guardrail as guardrail_cli
from stratusec.cli.console import err
from stratusec.errors import StratusecError
from tests.cli_helpers import CliResult, run_cli

DATA = Path(__file__).parent / "data"


def _registered() -> bool:
    from stratusec.cli.app import app

    return any(g.name == "guardrail" for g in app.registered_groups)


def run_guardrail(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    """``stratusec guardrail ARGS`` as a user runs it (exit code 2 on a StratusecError)."""
    if _registered():
        return run_cli(capsys, "guardrail", *args)
    root = typer.Typer(pretty_exceptions_enable=False, add_completion=False)
    root.add_typer(guardrail_cli.app, name="guardrail")

    @root.callback()
    def _root() -> None:
        """stratusec"""

    capsys.readouterr()
    code = 0
    try:
        # standalone_mode=False: click returns typer.Exit's code instead of raising it
        result = root(["guardrail", *args], standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except StratusecError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        code = exc.exit_code
    except typer.Exit as exc:
        code = exc.exit_code
    except SystemExit as exc:  # pragma: no cover - click usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # click.UsageError and friends
        code = getattr(exc, "exit_code", 1)
        sys.stderr.write(str(exc) + "\n")
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)
