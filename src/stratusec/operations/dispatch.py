"""Run an operation by its tool name with a stored argument document.

Used to run an approved request from a face other than the one that asked (the CLI's
``stratusec approvals run``): the approval holds the tool name and the exact arguments; this
maps them onto the operation. Argument names are the MCP tools' (the CLI records the same
names). Results are JSON documents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stratusec.errors import StratusecError
from stratusec.findings.query import FindingFilter
from stratusec.operations.context import Context


def _pick(args: dict[str, Any], allowed: set[str], tool: str) -> dict[str, Any]:
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise StratusecError(
            f"stored arguments of {tool} have unknown field(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(allowed))}"
        )
    return args


def _scan(ctx: Context, a: dict[str, Any]) -> Any:
    from stratusec.operations.scan import scan

    a = _pick(a, {"account", "regions", "services"}, "scan")
    results = scan(
        ctx, account=a.get("account"), regions=a.get("regions"), services=a.get("services")
    )
    return {
        "scans": [{**o.as_dict(), "evaluation": ev.as_dict() if ev else None} for o, ev in results]
    }


def _findings(ctx: Context, a: dict[str, Any]) -> Any:
    from stratusec.operations.findings import get_findings

    fields = set(FindingFilter.model_fields) - {"evidence"}
    a = _pick(a, fields | {"include_evidence"}, "get_findings")
    flt = {k: v for k, v in a.items() if k != "include_evidence"}
    page = get_findings(ctx, FindingFilter(**flt, evidence=bool(a.get("include_evidence"))))
    return page.model_dump()


def _explain(ctx: Context, a: dict[str, Any]) -> Any:
    from stratusec.operations.explain import explain_finding

    a = _pick(a, {"finding_id", "max_paths"}, "explain_finding")
    return explain_finding(ctx, a["finding_id"], max_paths=int(a.get("max_paths", 5)))


def _query(ctx: Context, a: dict[str, Any]) -> Any:
    from stratusec.graph.store import DEFAULT_LIMIT, DEFAULT_TIMEOUT_MS
    from stratusec.operations.graph import query_graph

    a = _pick(a, {"cypher", "account", "params", "limit", "timeout_ms"}, "query_graph")
    if a.get("account"):
        ctx.config.account(a["account"])
    return query_graph(
        ctx,
        a.get("account"),
        a["cypher"],
        a.get("params"),
        limit=int(a.get("limit", DEFAULT_LIMIT)),
        timeout_ms=int(a.get("timeout_ms", DEFAULT_TIMEOUT_MS)),
    ).as_dict()


def _paths(ctx: Context, a: dict[str, Any]) -> Any:
    from stratusec.operations.paths import get_attack_paths

    a = _pick(a, {"account", "source", "to", "max_hops", "all_paths", "limit"}, "get_attack_paths")
    acct, found = get_attack_paths(ctx, **a)
    return {"account": acct, "count": len(found), "paths": [p.as_dict() for p in found]}


def _compliance(ctx: Context, a: dict[str, Any]) -> Any:
    from stratusec.operations.compliance import check_compliance

    a = _pick(a, {"framework", "account"}, "check_compliance")
    fw = a.get("framework", "cis-aws-3.0")
    return {
        "framework": fw,
        "reports": check_compliance(ctx, framework=fw, account=a.get("account")),
    }


RUNNERS: dict[str, Callable[[Context, dict[str, Any]], Any]] = {
    "scan": _scan,
    "get_findings": _findings,
    "explain_finding": _explain,
    "query_graph": _query,
    "get_attack_paths": _paths,
    "check_compliance": _compliance,
}


def set_guardrail(
    ctx: Context, arguments: dict[str, Any], *, actor: str, approval_id: str | None
) -> dict[str, Any]:
    """Activate (or deactivate) a guardrail policy; only ever run under an approval."""
    from stratusec.governance import approvals as approvals_mod
    from stratusec.guardrails import store as guardrail_store

    a = _pick(arguments, {"policy", "active"}, "activate_guardrail")
    if not approval_id:
        raise StratusecError("activating a guardrail needs a human's approval")
    req = approvals_mod.get_approval(ctx.store, approval_id)
    if req["status"] != "executed" or req["tool"] != "activate_guardrail":
        raise StratusecError(f"approval {approval_id} does not cover this guardrail change")
    if a.get("active", True):
        act = guardrail_store.activate(
            ctx.store, a["policy"], actor, approval_id, config=ctx.config
        )
    else:
        act = guardrail_store.deactivate(ctx.store, a["policy"], actor)
    return act.as_dict()


def run_tool(
    ctx: Context,
    tool: str,
    arguments: dict[str, Any],
    *,
    actor: str = "",
    approval_id: str | None = None,
    record: Callable[[str, dict[str, Any]], Any] | None = None,
    role: str | None = None,
    on_behalf_of: str | None = None,
) -> Any:
    if tool == "remediate":
        from stratusec.operations.remediate import remediate

        a = _pick(
            dict(arguments),
            {"finding_id", "mode", "plan_id", "plan_digest", "options"},
            "remediate",
        )
        return remediate(ctx, actor=actor, approval_id=approval_id, record=record, **a)
    if tool == "request_access":
        from stratusec.operations.access import REQUEST_FIELDS, request_access

        a = _pick(dict(arguments), set(REQUEST_FIELDS), "request_access")
        return request_access(
            ctx,
            requester=actor,
            role=role or "operator",
            on_behalf_of=on_behalf_of,
            approval_id=approval_id,
            **a,
        )
    if tool == "activate_guardrail":
        return set_guardrail(ctx, dict(arguments), actor=actor, approval_id=approval_id)
    runner = RUNNERS.get(tool)
    if runner is None:
        raise StratusecError(
            f"no operation named {tool!r} can be run here; runnable: {', '.join(sorted(RUNNERS))}"
        )
    return runner(ctx, dict(arguments))
