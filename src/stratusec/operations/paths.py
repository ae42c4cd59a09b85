"""The ``get_attack_paths`` operation: ranked attack paths with a reason for every hop."""

from __future__ import annotations

from stratusec.graph.paths import PRINCIPAL_KINDS, AttackPath, find_paths, resolve
from stratusec.operations.context import Context
from stratusec.operations.graph import graph_store, resolve_account


def get_attack_paths(
    ctx: Context,
    *,
    account: str | None = None,
    source: str | None = None,
    to: str = "any",
    max_hops: int = 6,
    all_paths: bool = False,
    limit: int = 20,
) -> tuple[str, list[AttackPath]]:
    """Paths from ``source`` (``internet``, a principal ARN or name; default: the Internet
    and every principal that is not admin) to ``to`` (``admin``, ``sensitive``, ``any``,
    or a resource ARN or name). Returns (account, paths)."""
    if account:
        ctx.config.account(account)
    with graph_store(ctx) as store:
        acct = resolve_account(ctx, store, account)
        entries = resolve(store, acct, source, PRINCIPAL_KINDS) if source else []
        targets: list[str] = []
        if to not in ("admin", "sensitive", "any"):
            targets, to = resolve(store, acct, to), "any"
        paths = find_paths(
            store,
            acct,
            entries=entries,
            to=to,
            targets=targets,
            max_hops=max_hops,
            limit=limit,
            all_paths=all_paths,
        )
    return acct, paths
