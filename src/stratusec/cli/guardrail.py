"""``stratusec guardrail``: list, test (against an account, a plan, or unit tests) and lint
Rego guardrail policies. Exit codes: 0 all pass, 1 something denied / failed / has lint
errors, 2 bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from stratusec.cli.console import err, out, print_json, split_csv
from stratusec.cli.governed import recorded, size_of
from stratusec.errors import StratusecError
from stratusec.guardrails.lint import LintReport, lint_path
from stratusec.guardrails.loader import (
    bundled_policies,
    resolve_policies,
    user_policy_dir,
    user_policy_problems,
)
from stratusec.guardrails.store import list_activations
from stratusec.guardrails.unit import UnitReport, run_unit_tests
from stratusec.guardrails.validate import account_inputs, evaluate_target, plan_target
from stratusec.operations.context import Context

app = typer.Typer(
    help="Rego guardrail policies: list, test against an account or a Terraform plan, lint.",
    no_args_is_help=True,
)

OUTPUTS = ("table", "json")
SEV_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}
STATUS_STYLE = {"pass": "green", "deny": "bold red", "error": "yellow", "fail": "bold red"}


def _check_output(output: str) -> None:
    if output not in OUTPUTS:
        raise StratusecError(f"unknown output {output!r}; valid: {', '.join(OUTPUTS)}")


# -- list -----------------------------------------------------------------------------------
@app.command("list")
def list_(
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Bundled and user policies, and which are active at scans."""
    _check_output(output)
    ctx = Context.load()
    try:
        users, problems = user_policy_problems(ctx.config)
        policies = bundled_policies() + users
        activations = list_activations(ctx.store)
    finally:
        ctx.close()
    active = {a.package: a for a in activations}
    rows: list[dict[str, Any]] = []
    for p in policies:
        row = p.summary()
        act = active.pop(p.package, None)
        row["active"] = act is not None
        row["changed_since_activation"] = act is not None and act.source_sha256 != p.sha256
        rows.append(row)
    for act in active.values():  # activated from a file that is not in the library or dir
        pol = act.policy()
        row = pol.summary()
        row["active"] = True
        row["changed_since_activation"] = False
        rows.append(row)
    if output == "json":
        print_json(
            {
                "policies": rows,
                "user_directory": str(user_policy_dir(ctx.config)),
                "active": [a.as_dict() for a in activations],
                "problems": problems,
            }
        )
        return
    t = Table(
        title=f"Guardrail policies: {len(rows)} ({len(activations)} active)", title_justify="left"
    )
    for col in ("policy", "severity", "origin", "active", "resource types", "title"):
        t.add_column(col, overflow="fold")
    for r in rows:
        state = "yes" if r["active"] else ""
        if r["changed_since_activation"]:
            state = "yes (file changed since activation)"
        t.add_row(
            Text(r["name"]),
            Text(r["severity"], style=SEV_STYLE.get(r["severity"], "")),
            r["origin"],
            Text(state, style="green" if r["active"] else ""),
            Text(", ".join(r["resource_types"]) or "(any)"),
            Text(r["title"]),
        )
    out.print(t)
    out.print(Text(f"User policies: {user_policy_dir(ctx.config)}", style="dim"), highlight=False)
    for problem in problems:
        err.print(Text(f"not loaded: {problem}", style="yellow"), highlight=False)


# -- test -----------------------------------------------------------------------------------
def _render_test(result: dict[str, Any]) -> None:
    target = result["target"]
    if target["kind"] == "account":
        where = f"account {target['account']} (scan {target['scan_id'][:12]})"
    else:
        where = f"plan {target['plan']}"
    pols = result["policies"]
    if len(pols) > 3:
        origins = {p["origin"] for p in pols}
        names = f"{len(pols)} {'bundled ' if origins == {'bundled'} else ''}policies"
    else:
        names = ", ".join(p["name"] for p in pols)
    t = Table(title=f"Guardrails {names} against {where}", title_justify="left")
    for col in ("result", "resource", "type", "region", "policy", "message"):
        t.add_column(col, overflow="fold")
    order = {"deny": 0, "error": 1, "pass": 2}
    resource_key = "resource_uid" if target["kind"] == "plan" else "resource_name"
    for r in sorted(result["resources"], key=lambda r: order[r["status"]]):
        failing = [d for d in r["decisions"] if d["status"] != "pass"]
        if not failing:
            t.add_row(
                Text("pass", style=STATUS_STYLE["pass"]),
                Text(r[resource_key]),
                r["resource_type"],
                r["region"],
                Text(f"{len(r['decisions'])} passed", style="dim"),
                "",
            )
            continue
        for d in failing:
            for msg in d["messages"]:
                t.add_row(
                    Text(d["status"], style=STATUS_STYLE[d["status"]]),
                    Text(r[resource_key]),
                    r["resource_type"],
                    r["region"],
                    Text(d["policy"].removeprefix("stratusec.guardrails.")),
                    Text(msg),
                )
    out.print(t)
    s = result["summary"]
    out.print(
        f"{s['resources']} resources judged: {s['deny']} denied, {s['pass']} passed, "
        f"{s['error']} errors ({s['not_judged']} not covered by these policies)",
        highlight=False,
        markup=False,
    )


def _render_unit(report: UnitReport) -> None:
    t = Table(title=f"Guardrail unit tests: {len(report.results)}", title_justify="left")
    for col in ("result", "test", "file", "message"):
        t.add_column(col, overflow="fold")
    for r in report.results:
        status = "pass" if r.passed else "fail"
        t.add_row(
            Text(status, style=STATUS_STYLE[status]),
            Text(r.name),
            Text(f"{r.file}:{r.line}"),
            Text(r.message),
        )
    out.print(t)
    out.print(f"{report.passed} passed, {report.failed} failed", highlight=False, markup=False)


@app.command("test")
def test(
    policy: str | None = typer.Argument(
        None,
        help="A policy file, a directory of policies, a bundled or user policy name, "
        "or 'bundled' (the whole library).",
    ),
    against: str | None = typer.Option(
        None, "--against", "-a", help="Judge the account's latest scan."
    ),
    plan: Path | None = typer.Option(
        None, "--plan", help="Judge a Terraform plan ('terraform show -json tfplan')."
    ),
    unit: Path | None = typer.Option(
        None, "--unit", help="Run the test_ rules of the *_test.rego files under PATH."
    ),
    resource_type: list[str] | None = typer.Option(
        None, "--resource-type", "-t", help="Only resources of this type (repeatable)."
    ),
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Per-resource pass/deny of policies on an account or a plan, or run unit tests.
    Exit 1 when anything is denied (or a unit test fails)."""
    _check_output(output)
    if unit is not None:
        if policy is not None or against is not None or plan is not None or resource_type:
            raise StratusecError(
                "--unit PATH runs unit tests on its own: drop POLICY_OR_DIR, --against, "
                "--plan and --resource-type"
            )
        _unit(unit, output)
        return
    if policy is None:
        raise StratusecError(
            "give POLICY_OR_DIR with --against ACCOUNT or --plan FILE (or --unit PATH)"
        )
    if (against is None) == (plan is None):
        raise StratusecError("give exactly one of --against ACCOUNT or --plan FILE")
    types = split_csv(resource_type)
    ctx = Context.load()
    try:

        def run() -> dict[str, Any]:
            policies = resolve_policies(policy, ctx.config)
            if against is not None:
                inputs, target = account_inputs(ctx, against)
            else:
                assert plan is not None
                inputs, target = plan_target(str(plan), from_file=True)
            return evaluate_target(policies, inputs, target, resource_types=types)

        result = recorded(
            ctx,
            "guardrail_test",
            {
                "policy": policy,
                "against": against,
                "plan": str(plan) if plan else None,
                "resource_type": types,
            },
            run,
            size=lambda r: len(r["resources"]),
        )
    finally:
        ctx.close()
    if output == "json":
        print_json(result)
    else:
        _render_test(result)
    s = result["summary"]
    if s["deny"] or s["error"]:
        raise typer.Exit(1)


def _unit(path: Path, output: str) -> None:
    ctx = Context.load()
    try:
        report = recorded(
            ctx,
            "guardrail_test",
            {"unit": str(path)},
            lambda: run_unit_tests(path),
            size=lambda r: len(r.results),
        )
    finally:
        ctx.close()
    if output == "json":
        print_json(report.as_dict())
    else:
        _render_unit(report)
    if report.failed:
        raise typer.Exit(1)


# -- lint -----------------------------------------------------------------------------------
@app.command("lint")
def lint(
    path: Path = typer.Argument(..., help="A .rego file or a directory of them."),
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Check policies: Rego v1 syntax, the guardrail contract, parse and compile errors
    (file:line:col). Exit 1 when there are errors."""
    _check_output(output)
    ctx = Context.load()
    try:
        report: LintReport = recorded(
            ctx,
            "guardrail_lint",
            {"path": str(path)},
            lambda: lint_path(path),
            size=size_of(0),
        )
    finally:
        ctx.close()
    if output == "json":
        print_json(report.as_dict())
    else:
        for issue in report.issues:
            style = "red" if issue.level == "error" else "yellow"
            out.print(Text(str(issue), style=style), highlight=False)
        out.print(
            f"{len(report.files)} files: {len(report.errors)} errors, "
            f"{len(report.warnings)} warnings",
            highlight=False,
            markup=False,
        )
    if report.errors:
        raise typer.Exit(1)


def _change(policy: str, active: bool) -> None:
    from stratusec.cli.governed import governed
    from stratusec.governance.gate import ApprovalPending

    ctx = Context.load()
    try:
        governed(
            ctx,
            "activate_guardrail",
            {"policy": policy, "active": active},
            lambda: None,  # never reached: the gate always asks for an approval first
        )
    except ApprovalPending as pending:
        err.print(Text(str(pending)))
        raise typer.Exit(pending.exit_code) from None
    finally:
        ctx.close()


@app.command("activate")
def activate_cmd(
    policy: str = typer.Argument(..., help="A bundled or user policy's name or package."),
) -> None:
    """Ask to run a policy at every scan (findings guardrail:<package>). A different human
    approves ('stratusec approvals approve ID'); then 'stratusec approvals run ID'."""
    _change(policy, True)


@app.command("deactivate")
def deactivate_cmd(policy: str = typer.Argument(..., help="An active policy.")) -> None:
    """Ask to stop running a policy at scans (also behind a different human's approval)."""
    _change(policy, False)
