"""The CLI face's side of governance: who the caller is, and running a command through
the gate so that CLI calls are authorized and audited like MCP calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from stratusec.governance.gate import Caller, Governor, json_size, os_user
from stratusec.operations.context import Context

T = TypeVar("T")


def cli_caller(ctx: Context) -> Caller:
    """The OS user at the terminal, with the role ``governance.cli_role``."""
    return Caller(principal=os_user(), role=ctx.config.governance.cli_role, face="cli")


def governed(
    ctx: Context,
    tool: str,
    arguments: Mapping[str, Any],
    run: Callable[[], T],
    *,
    size: Callable[[T], int] = json_size,
) -> T:
    """Authorize (role + Rego policy), audit and run one operation as the CLI user."""
    gov = Governor.from_config(ctx.config, ctx.store)
    return gov.call(cli_caller(ctx), tool, _clean(arguments), run, size=size)


def recorded(
    ctx: Context,
    command: str,
    arguments: Mapping[str, Any],
    run: Callable[[], T],
    *,
    size: Callable[[T], int] = json_size,
) -> T:
    """Audit and run a local administrative command (no policy: it must keep working when
    the policy file is broken, so an admin can inspect and fix things)."""
    gov = Governor(ctx.store, config=ctx.config)
    return gov.record(cli_caller(ctx), command, _clean(arguments), run, size=size)


def _clean(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments as the audit keeps them: unset options left out."""
    return {k: v for k, v in arguments.items() if v not in (None, [], False, "")}


def size_of(n: int) -> Callable[[Any], int]:
    """A result size for commands whose output is rendered, not returned."""
    return lambda _result: n
