"""Plan, apply (once, approved), verify and roll back a fix.

A plan is data, stored with an id and a digest: the exact API calls in order, the config
before and the expected config after, the Terraform change and AWS CLI commands, the blast
radius from the security graph, the rollback calls, and a fingerprint of the resource's
current config (the keys the fix depends on).

Applying re-reads the resource first: if its fingerprint no longer matches, nothing runs
and a new plan is needed. The calls run under the account's *remediation* credentials
(never the read-only scan credentials); when those assume a role, the session policy
allows only the plan's actions on the plan's resources. Afterwards the resource is
collected again and its check re-run: the finding is resolved with that evidence, or the
result says plainly that it is not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select, update

from stratusec.checks.inventory import Inventory
from stratusec.checks.model import Status
from stratusec.checks.registry import get_check
from stratusec.checks.runner import run_checks
from stratusec.config import Account
from stratusec.errors import NotFoundError, StratusecError
from stratusec.findings.query import get_finding
from stratusec.governance import approvals as approvals_mod
from stratusec.inventory.models import Resource
from stratusec.operations.context import Context
from stratusec.providers.aws import registry as collectors
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.session import ClientFactory, build_session, home_region
from stratusec.remediation.model import ApiCall, FixerError, FixSpec
from stratusec.remediation.registry import all_fixers, fixer_for
from stratusec.store.db import utcnow
from stratusec.store.models import RemediationPlanRow

PLAN_STATUSES = ("planned", "applying", "applied", "failed", "rolling_back", "rolled_back")


class RemediationError(StratusecError):
    """A plan cannot be made, applied or rolled back as asked; nothing was changed."""


class DriftError(RemediationError):
    """The resource changed since the plan was made."""


# -- helpers ------------------------------------------------------------------------------
def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def config_value(config: dict[str, Any], key: str) -> Any:
    """``config[key]``; a dotted key reads nested mappings ("metadata_options.http_tokens")."""
    if key in config or "." not in key:
        return config.get(key)
    value: Any = config
    for part in key.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal, with lists compared regardless of order (rule lists come back reordered)."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and sorted(map(canonical, a)) == sorted(map(canonical, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def fingerprint(config: dict[str, Any], keys: list[str]) -> str:
    """SHA-256 over the watched config keys (all of them when none are named)."""
    picked = {k: config_value(config, k) for k in keys} if keys else config
    return hashlib.sha256(canonical(picked).encode()).hexdigest()


def _iso(v: dt.datetime | None) -> str | None:
    if v is None:
        return None
    return (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).isoformat()


def _row_dict(row: RemediationPlanRow) -> dict[str, Any]:
    return {
        **row.plan,
        "id": row.id,
        "digest": row.digest,
        "status": row.status,
        "created_by": row.created_by,
        "created_at": _iso(row.created_at),
        "applied_by": row.applied_by,
        "applied_at": _iso(row.applied_at),
        "apply_approval_id": row.apply_approval_id,
        "result": row.result,
        "rolled_back_at": _iso(row.rolled_back_at),
        "rollback_approval_id": row.rollback_approval_id,
        "rollback_result": row.rollback_result,
    }


def stored_resource(ctx: Context, account: str, uid: str) -> Resource | None:
    """The resource as the account's latest scan recorded it."""
    scan = ctx.store.latest_scan(account)
    if scan is None:
        return None
    return ctx.store.get_resource(scan.id, uid)


# -- planning -----------------------------------------------------------------------------
def _manual(check_id: str) -> dict[str, Any]:
    try:
        meta = get_check(check_id).meta
    except StratusecError:
        return {}
    rem = meta.remediation
    return {k: v for k, v in rem.model_dump().items() if v} if rem else {}


def make_plan(
    ctx: Context,
    finding_id: str,
    *,
    options: dict[str, Any] | None = None,
    created_by: str,
    blast_radius: bool = True,
) -> dict[str, Any]:
    """Plan the fix of one finding and store the plan. Changes nothing in the account."""
    options = dict(options or {})
    try:
        finding = get_finding(ctx.store, finding_id)
    except StratusecError:
        raise NotFoundError(
            f"unknown finding id {finding_id!r} (list them with get_findings)"
        ) from None
    if finding["status"] != "open":
        raise RemediationError(
            f"finding {finding_id} is {finding['status']}, not open: there is nothing to fix"
        )
    fx = fixer_for(finding["check_id"])
    if fx is None:
        manual = _manual(finding["check_id"])
        steps = "; ".join(f"{k}: {v}" for k, v in manual.items()) or "see the check's docs"
        raise RemediationError(
            f"no automated fix for check {finding['check_id']}; manual steps: {steps}"
        )
    unknown = sorted(set(options) - set(fx.options))
    if unknown:
        valid = ", ".join(sorted(fx.options)) or "none"
        raise RemediationError(
            f"unknown option(s) {', '.join(unknown)} for fixer {fx.id}; valid options: {valid}"
        )
    account = ctx.config.account(finding["account"])
    res = stored_resource(ctx, account.name, finding["resource"]["uid"])
    if res is None:
        raise RemediationError(
            f"the resource {finding['resource']['uid']} is not in the latest scan of "
            f"{account.name}; scan again before planning"
        )
    scan = ctx.store.latest_scan(account.name)

    def lookup(type_: str) -> list[Resource]:
        if scan is None:
            return []
        return list(ctx.store.iter_resources(scan.id, types=[type_], include_raw=False))

    try:
        spec: FixSpec = fx.fn(res, finding, options, lookup)
    except FixerError as exc:
        raise RemediationError(f"cannot plan {fx.id} for {res.uid}: {exc}") from None
    region = res.region if res.region != "global" else None
    before = {k: config_value(res.config, k) for k in spec.after}
    plan: dict[str, Any] = {
        "finding_id": finding_id,
        "check_id": finding["check_id"],
        "fixer": fx.id,
        "title": spec.title,
        "account": account.name,
        "account_id": finding.get("account_id"),
        "region": res.region,
        "resource": {"uid": res.uid, "type": res.type, "name": res.name, "service": res.service},
        "options": options,
        "calls": [c.as_dict() for c in spec.calls],
        "rollback": [c.as_dict() for c in spec.rollback],
        "before": before,
        "after": spec.after,
        "diff": [
            {"key": k, "before": before.get(k), "after": v}
            for k, v in spec.after.items()
            if not _same(before.get(k), v)
        ],
        "terraform": spec.terraform,
        "aws_cli": [c.cli(region) for c in spec.calls],
        "rollback_cli": [c.cli(region) for c in spec.rollback],
        "watch": spec.watch,
        "fingerprint": fingerprint(res.config, spec.watch),
        "notes": spec.notes,
        "verify_services": spec.verify_services,
        "gone_means_resolved": spec.gone_means_resolved,
        "session_policy": session_policy(spec.calls),
    }
    if blast_radius:
        plan["blast_radius"] = _blast_radius(ctx, account.name, res)
    digest = hashlib.sha256(
        canonical({k: v for k, v in plan.items() if k != "blast_radius"}).encode()
    ).hexdigest()
    row = RemediationPlanRow(
        id=uuid.uuid4().hex,
        finding_id=finding_id,
        check_id=finding["check_id"],
        fixer=fx.id,
        account_name=account.name,
        resource_uid=res.uid,
        digest=digest,
        fingerprint=plan["fingerprint"],
        status="planned",
        plan=json.loads(canonical(plan)),
        created_by=created_by[:256],
        created_at=utcnow(),
    )
    with ctx.store.session() as s, s.begin():
        s.add(row)
    return _row_dict(row)


def _blast_radius(ctx: Context, account: str, res: Resource) -> dict[str, Any]:
    """What else uses the resource (its graph neighbours) and the attack paths through it
    (which the fix may cut)."""
    from stratusec.operations.explain import graph_context

    g = graph_context(ctx, account, res.uid, res.type, max_paths=10, max_neighbours=50)
    users = [n for n in g["neighbourhood"] if n.get("direction") == "in"]
    return {
        "used_by": users,
        "uses": [n for n in g["neighbourhood"] if n.get("direction") == "out"],
        "attack_paths_through": g["paths"],
        "note": g["note"],
    }


def session_policy(calls: list[ApiCall]) -> dict[str, Any]:
    """Only the plan's actions on the plan's resources."""
    by_arn: dict[str, set[str]] = {}
    for c in calls:
        by_arn.setdefault(c.resource_arn, set()).add(c.action)
        for action, arn in c.extra_actions:
            by_arn.setdefault(arn, set()).add(action)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": sorted(actions), "Resource": arn}
            for arn, actions in sorted(by_arn.items())
        ],
    }


def get_plan(ctx: Context, plan_id: str) -> dict[str, Any]:
    return _row_dict(_load(ctx, plan_id))


def list_plans(ctx: Context, finding_id: str | None = None) -> list[dict[str, Any]]:
    q = select(RemediationPlanRow).order_by(RemediationPlanRow.created_at.desc())
    if finding_id:
        q = q.where(RemediationPlanRow.finding_id == finding_id)
    with ctx.store.session() as s:
        return [_row_dict(r) for r in s.scalars(q.limit(200))]


def _load(ctx: Context, plan_id: str) -> RemediationPlanRow:
    with ctx.store.session() as s:
        row = s.get(RemediationPlanRow, plan_id) if isinstance(plan_id, str) else None
    if row is None:
        raise NotFoundError(f"unknown plan id {plan_id!r} (make one with remediate mode=plan)")
    return row


# -- applying -----------------------------------------------------------------------------
def _check_approval(
    ctx: Context, approval_id: str | None, plan_id: str, digest: str, mode: str
) -> None:
    """The call must be running under an approval that was claimed for exactly this plan."""
    if not approval_id:
        raise RemediationError(
            f"{mode} needs a human's approval: request it with remediate mode={mode}"
        )
    a = approvals_mod.get_approval(ctx.store, approval_id)
    args = a["arguments"]
    if (
        a["status"] != "executed"
        or a["tool"] != "remediate"
        or args.get("mode") != mode
        or args.get("plan_id") != plan_id
        or args.get("plan_digest") != digest
    ):
        raise RemediationError(
            f"approval {approval_id} does not cover {mode} of plan {plan_id} with digest "
            f"{digest[:12]}"
        )


def _transition(ctx: Context, plan_id: str, frm: tuple[str, ...], to: str, **values: Any) -> bool:
    with ctx.store.engine.begin() as conn:
        res = conn.execute(
            update(RemediationPlanRow)
            .where(RemediationPlanRow.id == plan_id)
            .where(RemediationPlanRow.status.in_(frm))
            .values(status=to, **values)
        )
    return res.rowcount == 1


def collect_service(
    ctx: Context, account: Account, service: str, regions: list[str] | None = None
) -> list[Resource]:
    """Collect one service again, live, with the read-only scan credentials (in memory:
    nothing is stored)."""
    mod = collectors.load(service)
    factory = ClientFactory(account, ctx.config.scan)
    all_regions = list(account.regions) or [factory.home_region]
    account_id = (
        account.account_id
        or factory.session.client(
            "sts", endpoint_url=account.endpoint_url, region_name=factory.home_region
        ).get_caller_identity()["Account"]
    )
    out: list[Resource] = []
    for region in ["global"] if mod.GLOBAL else (regions or all_regions):
        cc = CollectorContext(
            factory=factory,
            account_id=account_id,
            service=service,
            region=region,
            regions=all_regions,
        )
        out.extend(mod.collect(cc))
    return out


def refetch(ctx: Context, account: Account, res: dict[str, Any], region: str) -> Resource | None:
    """The resource, collected again live."""
    for r in collect_service(ctx, account, res["service"], [region]):
        if r.uid == res["uid"]:
            return r
    return None


_REF = re.compile(r"\$\{call\[(\d+)\]\.([\w.]+)\}")


def _refs(value: Any) -> set[tuple[int, str]]:
    """``${call[N].Path}`` references in a rollback's parameters (values only the apply's
    responses know, such as the id of a created detector)."""
    return {(int(m.group(1)), m.group(2)) for m in _REF.finditer(canonical(value))}


def _dig(doc: Any, path: str) -> Any:
    for part in path.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def _substitute(value: Any, outputs: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, outputs) for v in value]
    if isinstance(value, str):
        whole = _REF.fullmatch(value)
        if whole:
            key = f"call[{whole.group(1)}].{whole.group(2)}"
            if key not in outputs:
                raise RemediationError(f"the rollback needs {key}, which the apply did not record")
            return outputs[key]
    return value


def _execute(
    factory: ClientFactory,
    calls: list[ApiCall],
    region: str,
    responses: list[dict[str, Any]] | None = None,
) -> Iterator[dict[str, Any]]:
    for c in calls:
        client = factory.client(c.service, c.region or region)
        resp = getattr(client, c.operation)(**c.params) or {}
        if responses is not None:
            responses.append(resp)
        meta = resp.get("ResponseMetadata", {})
        yield {"call": f"{c.service}:{c.operation}", "status": meta.get("HTTPStatusCode")}


def _write_factory(ctx: Context, account: Account, plan: dict[str, Any]) -> ClientFactory:
    src = account.remediation
    if src is None:
        raise RemediationError(
            f"account {account.name} has no remediation credentials: add a 'remediation:' "
            "credential source (a profile, or a role to assume) to its config. Fixes never "
            "run with the read-only scan credentials."
        )
    policy = plan["session_policy"] if src.source == "assume_role" else None
    session = build_session(account, src, session_policy=policy)
    return ClientFactory(account, ctx.config.scan, session=session)


def _approved(
    ctx: Context, plan_id: str, plan_digest: str, approval_id: str | None, mode: str
) -> tuple[RemediationPlanRow, dict[str, Any], Account, str]:
    """The stored plan behind an approved apply or rollback: its digest must be the one
    approved, and the approval claimed for exactly this plan and mode."""
    row = _load(ctx, plan_id)
    if plan_digest != row.digest:
        raise RemediationError(
            f"plan {plan_id} has digest {row.digest[:12]}, not {plan_digest[:12]}"
        )
    _check_approval(ctx, approval_id, plan_id, row.digest, mode)
    plan = row.plan
    account = ctx.config.account(plan["account"])
    region = plan["region"] if plan["region"] != "global" else home_region(account)
    return row, plan, account, region


def apply_plan(
    ctx: Context, plan_id: str, plan_digest: str, *, approval_id: str | None, applied_by: str
) -> dict[str, Any]:
    """Run an approved plan once: drift check, the calls, re-collect, re-check."""
    row, plan, account, region = _approved(ctx, plan_id, plan_digest, approval_id, "apply")
    if row.status != "planned":
        raise RemediationError(f"plan {plan_id} is {row.status}; a plan is applied once")
    live = refetch(ctx, account, plan["resource"], region)
    if live is None:
        raise DriftError(f"{plan['resource']['uid']} no longer exists; nothing was changed")
    now_fp = fingerprint(live.config, plan["watch"])
    if now_fp != plan["fingerprint"]:
        raise DriftError(
            f"{plan['resource']['uid']} changed since plan {plan_id} was made (fingerprint "
            f"{plan['fingerprint'][:12]} -> {now_fp[:12]}); nothing was changed: make a new plan"
        )
    factory = _write_factory(ctx, account, plan)
    if not _transition(
        ctx,
        plan_id,
        ("planned",),
        "applying",
        applied_by=applied_by[:256],
        applied_at=utcnow(),
        apply_approval_id=approval_id,
    ):
        raise RemediationError(f"plan {plan_id} is already being applied")
    done: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    calls = [ApiCall.from_dict(c) for c in plan["calls"]]

    def outputs() -> dict[str, Any]:
        return {
            f"call[{i}].{path}": _dig(responses[i], path)
            for i, path in _refs(plan["rollback"])
            if i < len(responses)
        }

    try:
        for step in _execute(factory, calls, region, responses):
            done.append(step)
    except Exception as exc:
        result = {
            "applied": False,
            "calls_done": done,
            "outputs": outputs(),
            "error": f"{type(exc).__name__}: {exc}",
            "next": f"stratusec fix --rollback {plan_id} restores the before state",
        }
        _transition(ctx, plan_id, ("applying",), "failed", result=result)
        raise RemediationError(
            f"plan {plan_id} failed after {len(done)} of {len(calls)} calls: {result['error']}"
        ) from None
    verification = verify(ctx, account, plan, region)
    result = {
        "applied": True,
        "calls_done": done,
        "outputs": outputs(),
        "verification": verification,
    }
    _transition(ctx, plan_id, ("applying",), "applied", result=result)
    if verification["resolved"]:
        from stratusec.findings.lifecycle import mark_resolved

        mark_resolved(
            ctx.store,
            plan["finding_id"],
            {
                "by": "remediation",
                "plan_id": plan_id,
                "approval_id": approval_id,
                "verification": verification,
            },
        )
    return get_plan(ctx, plan_id)


def verify(ctx: Context, account: Account, plan: dict[str, Any], region: str) -> dict[str, Any]:
    """Collect the resource (and the services the fix touched) again and re-run the
    finding's check against that fresh inventory."""
    services = [plan["resource"]["service"], *plan.get("verify_services", [])]
    fresh: dict[str, Resource] = {}
    for svc in dict.fromkeys(services):
        for r in collect_service(ctx, account, svc):
            fresh[r.uid] = r
    live = fresh.get(plan["resource"]["uid"])
    if live is None:
        if plan.get("gone_means_resolved"):
            return {
                "resolved": True,
                "check_status": "not applicable",
                "message": "the collector no longer reports the resource (as the fix intends)",
                "config_after": None,
                "matches_expected": True,
            }
        return {"resolved": False, "reason": "the resource could not be collected again"}
    scan = ctx.store.latest_scan(account.name)
    stored = ctx.store.iter_resources(scan.id, include_raw=False) if scan else iter(())
    inv = Inventory(
        [*(r for r in stored if r.uid not in fresh), *fresh.values()],
        regions=list(account.regions),
    )
    report = run_checks(inv, [get_check(plan["check_id"])])
    mine = [r for r in report.results if r.resource_uid == live.uid]
    if report.errors:
        return {"resolved": False, "reason": f"the check failed to run: {report.errors}"}
    status = mine[0].status if mine else None
    after_actual = {k: config_value(live.config, k) for k in plan["after"]}
    # No result for a resource that is still there: the check no longer applies to it
    # (an inactive key, a policy with no attachments left). That is resolved, too.
    return {
        "resolved": status in (Status.PASS, None),
        "check_status": status.value if status else "not applicable",
        "message": mine[0].message if mine else "the check no longer applies to the resource",
        "config_after": after_actual,
        "matches_expected": _same(after_actual, plan["after"]),
    }


def rollback_plan(
    ctx: Context, plan_id: str, plan_digest: str, *, approval_id: str | None, by: str
) -> dict[str, Any]:
    row, plan, account, region = _approved(ctx, plan_id, plan_digest, approval_id, "rollback")
    if row.status not in ("applied", "failed"):
        raise RemediationError(
            f"plan {plan_id} is {row.status}; only an applied or failed plan can be rolled back"
        )
    recorded = (row.result or {}).get("outputs") or {}
    rb = [
        ApiCall.from_dict({**c, "params": _substitute(c["params"], recorded)})
        for c in plan["rollback"]
    ]
    factory = _write_factory(ctx, account, {**plan, "session_policy": session_policy(rb)})
    if not _transition(
        ctx, plan_id, ("applied", "failed"), "rolling_back", rollback_approval_id=approval_id
    ):
        raise RemediationError(f"plan {plan_id} is already being rolled back")
    try:
        done = list(_execute(factory, rb, region))
    except Exception as exc:
        _transition(
            ctx,
            plan_id,
            ("rolling_back",),
            "failed",
            rollback_result={"error": f"{type(exc).__name__}: {exc}"},
        )
        raise RemediationError(f"rollback of plan {plan_id} failed: {exc}") from None
    _transition(
        ctx,
        plan_id,
        ("rolling_back",),
        "rolled_back",
        rolled_back_at=utcnow(),
        rollback_result={"calls_done": done, "by": by},
    )
    return get_plan(ctx, plan_id)


def fixers_catalog() -> list[dict[str, Any]]:
    return [
        {"id": f.id, "title": f.title, "checks": list(f.check_ids), "options": f.options}
        for f in all_fixers()
    ]
