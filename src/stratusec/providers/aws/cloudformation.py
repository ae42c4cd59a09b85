"""CloudFormation: stacks (with their service role) and self-managed StackSets (with their
administration role, execution role name and stack instances), per region.

A stack's service role is what CloudFormation acts as when anyone updates the stack, so
it matters for privilege escalation (``cloudformation:UpdateStack`` on a stack whose role
is admin). Parameter and output VALUES are never stored (they may hold secrets): records
keep their keys only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext

SERVICE = "cloudformation"
GLOBAL = False

_NOT_FOUND = ("StackSetNotFoundException",)


def _keys(items: Any, key: str) -> list[str]:
    return [str(i[key]) for i in items or [] if isinstance(i, dict) and i.get(key) is not None]


def _redacted_stack(st: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in st.items() if k not in ("Parameters", "Outputs")}
    out["ParameterKeys"] = _keys(st.get("Parameters"), "ParameterKey")
    out["OutputKeys"] = _keys(st.get("Outputs"), "OutputKey")
    return out


def _stack(ctx: CollectorContext, st: dict[str, Any]) -> Resource:
    name = str(st.get("StackName") or "")
    arn = str(st.get("StackId") or ctx.arn("cloudformation", f"stack/{name}"))
    role = st.get("RoleARN")
    drift = st.get("DriftInformation") or {}
    res = ctx.resource(
        uid=arn,
        type="aws_cloudformation_stack",
        name=name,
        tags=tags_from_list(st.get("Tags")),
        config={
            "name": name,
            "arn": arn,
            "stack_id": arn,
            # The stack's service role (Terraform calls it iam_role_arn).
            "role_arn": role,
            "iam_role_arn": role,
            "status": st.get("StackStatus"),
            "status_reason": st.get("StackStatusReason"),
            "capabilities": list(st.get("Capabilities") or []),
            "parameter_keys": _keys(st.get("Parameters"), "ParameterKey"),
            "output_keys": _keys(st.get("Outputs"), "OutputKey"),
            "notification_arns": list(st.get("NotificationARNs") or []),
            "disable_rollback": st.get("DisableRollback"),
            "enable_termination_protection": st.get("EnableTerminationProtection"),
            "timeout_in_minutes": st.get("TimeoutInMinutes"),
            "parent_id": st.get("ParentId"),
            "root_id": st.get("RootId"),
            "drift_status": drift.get("StackDriftStatus"),
            "creation_time": st.get("CreationTime"),
            "last_updated_time": st.get("LastUpdatedTime"),
        },
        raw={"Stack": _redacted_stack(st)},
    )
    res.relate("RUNS_AS", role)
    return res


def _stack_set(ctx: CollectorContext, cf: Any, summary: dict[str, Any]) -> Resource:
    name = str(summary.get("StackSetName") or "")
    set_id = str(summary.get("StackSetId") or name)
    unavailable: list[str] = []
    got = ctx.call(cf, "describe_stack_set", absent=_NOT_FOUND, StackSetName=name, resource=name)
    ss: dict[str, Any] = dict(got.data.get("StackSet") or {}) if got.ok else {}
    if got.failed:
        unavailable += ["administration_role_arn", "execution_role_name", "capabilities", "tags"]
    arn = str(ss.get("StackSetARN") or ctx.arn("cloudformation", f"stackset/{set_id}"))
    listing = ctx.listing(cf, "list_stack_instances", "Summaries", StackSetName=name, resource=arn)
    instances: list[dict[str, Any]] | None = None
    if listing.ok:
        instances = [
            {
                "account": i.get("Account"),
                "region": i.get("Region"),
                "status": i.get("Status"),
                "detailed_status": (i.get("StackInstanceStatus") or {}).get("DetailedStatus"),
                "stack_id": i.get("StackId"),
            }
            for i in listing.items
        ]
    else:
        unavailable.append("instances")
    model = ss.get("PermissionModel") or summary.get("PermissionModel")
    admin_role = ss.get("AdministrationRoleARN")
    exec_name = ss.get("ExecutionRoleName")
    raw_set = {k: v for k, v in ss.items() if k not in ("TemplateBody", "Parameters")}
    raw_set["ParameterKeys"] = _keys(ss.get("Parameters"), "ParameterKey")
    res = ctx.resource(
        uid=arn,
        type="aws_cloudformation_stack_set",
        name=name,
        tags=tags_from_list(ss.get("Tags")),
        config={
            "name": name,
            "arn": arn,
            "stack_set_id": set_id,
            "status": ss.get("Status") or summary.get("Status"),
            "permission_model": model,
            "administration_role_arn": admin_role,
            "execution_role_name": exec_name,
            "capabilities": list(ss.get("Capabilities") or []),
            "description": ss.get("Description"),
            "parameter_keys": raw_set["ParameterKeys"],
            "auto_deployment": ss.get("AutoDeployment") or summary.get("AutoDeployment"),
            "managed_execution": ss.get("ManagedExecution") or summary.get("ManagedExecution"),
            "instances": instances,
        },
        raw={"StackSet": raw_set, "StackSetSummary": summary, "StackInstances": listing.items},
        unavailable=unavailable,
    )
    # CloudFormation acts as the administration role, which assumes the execution role in
    # each target account: in this account when an instance is deployed here.
    res.relate("RUNS_AS", admin_role, role="administration")
    if exec_name and any(i.get("account") == ctx.account_id for i in instances or []):
        res.relate("RUNS_AS", ctx.arn("iam", f"role/{exec_name}", region=""), role="execution")
    return res


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    cf = ctx.client()
    for st in ctx.pages(cf, "describe_stacks", "Stacks"):
        yield _stack(ctx, st)
    summaries = ctx.pages(cf, "list_stack_sets", "Summaries", Status="ACTIVE")
    yield from ctx.map(lambda s: _stack_set(ctx, cf, s), summaries)
