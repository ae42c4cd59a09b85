"""Glue: development endpoints and jobs (the roles they run as), per region.

Job argument VALUES are never stored (``--password`` style arguments are common): records
keep argument names only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import ec2_arn

SERVICE = "glue"
GLOBAL = False


def role_arn(ctx: CollectorContext, role: str | None) -> str | None:
    """Glue accepts a role name or ARN: always the ARN."""
    if not role:
        return None
    return role if role.startswith("arn:") else ctx.arn("iam", f"role/{role}", region="")


def _tags(ctx: CollectorContext, glue: Any, arn: str) -> tuple[dict[str, str], bool]:
    got = ctx.call(
        glue, "get_tags", ResourceArn=arn, resource=arn, absent=("EntityNotFoundException",)
    )
    return {str(k): str(v) for k, v in (got.data.get("Tags") or {}).items()}, not got.failed


def _dev_endpoint(ctx: CollectorContext, glue: Any, ep: dict[str, Any]) -> Resource:
    name = str(ep.get("EndpointName") or "")
    arn = ctx.arn("glue", f"devEndpoint/{name}")
    tags, tags_ok = _tags(ctx, glue, arn)
    keys = list(ep.get("PublicKeys") or [])
    if ep.get("PublicKey") and ep["PublicKey"] not in keys:
        keys.append(ep["PublicKey"])
    role = role_arn(ctx, ep.get("RoleArn"))
    subnet, sgs, vpc = ep.get("SubnetId"), list(ep.get("SecurityGroupIds") or []), ep.get("VpcId")
    raw = {k: v for k, v in ep.items() if k != "Arguments"}
    raw["ArgumentNames"] = sorted((ep.get("Arguments") or {}).keys())
    res = ctx.resource(
        uid=arn,
        type="aws_glue_dev_endpoint",
        name=name,
        tags=tags,
        config={
            "name": name,
            "arn": arn,
            "role_arn": role,
            "status": ep.get("Status"),
            "public_address": ep.get("PublicAddress"),
            "private_address": ep.get("PrivateAddress"),
            "public_keys_count": len(keys),
            "subnet_id": subnet,
            "security_group_ids": sgs,
            "vpc_id": vpc,
            "availability_zone": ep.get("AvailabilityZone"),
            "glue_version": ep.get("GlueVersion"),
            "worker_type": ep.get("WorkerType"),
            "number_of_workers": ep.get("NumberOfWorkers"),
            "number_of_nodes": ep.get("NumberOfNodes"),
            "security_configuration": ep.get("SecurityConfiguration"),
            "argument_names": raw["ArgumentNames"],
            "created_timestamp": ep.get("CreatedTimestamp"),
            "last_modified_timestamp": ep.get("LastModifiedTimestamp"),
        },
        raw={"DevEndpoint": raw},
        unavailable=[] if tags_ok else ["tags"],
    )
    res.relate("RUNS_AS", role)
    res.relate("IN_SUBNET", ec2_arn(ctx, "subnet", subnet))
    res.relate("IN_VPC", ec2_arn(ctx, "vpc", vpc))
    for sg in sgs:
        res.relate("HAS_SECURITY_GROUP", ec2_arn(ctx, "security-group", sg))
    return res


def _job(ctx: CollectorContext, glue: Any, job: dict[str, Any]) -> Resource:
    name = str(job.get("Name") or "")
    arn = ctx.arn("glue", f"job/{name}")
    tags, tags_ok = _tags(ctx, glue, arn)
    role = role_arn(ctx, job.get("Role"))
    cmd = job.get("Command") or {}
    default_args = sorted((job.get("DefaultArguments") or {}).keys())
    fixed_args = sorted((job.get("NonOverridableArguments") or {}).keys())
    raw = {k: v for k, v in job.items() if k not in ("DefaultArguments", "NonOverridableArguments")}
    raw["DefaultArgumentNames"], raw["NonOverridableArgumentNames"] = default_args, fixed_args
    res = ctx.resource(
        uid=arn,
        type="aws_glue_job",
        name=name,
        tags=tags,
        config={
            "name": name,
            "arn": arn,
            "role_arn": role,
            "command": {
                "name": cmd.get("Name"),
                "script_location": cmd.get("ScriptLocation"),
                "python_version": cmd.get("PythonVersion"),
            },
            "default_argument_names": default_args,
            "non_overridable_argument_names": fixed_args,
            "connections": list((job.get("Connections") or {}).get("Connections") or []),
            "glue_version": job.get("GlueVersion"),
            "worker_type": job.get("WorkerType"),
            "number_of_workers": job.get("NumberOfWorkers"),
            "max_retries": job.get("MaxRetries"),
            "timeout": job.get("Timeout"),
            "execution_class": job.get("ExecutionClass"),
            "security_configuration": job.get("SecurityConfiguration"),
            "created_on": job.get("CreatedOn"),
            "last_modified_on": job.get("LastModifiedOn"),
        },
        raw={"Job": raw},
        unavailable=[] if tags_ok else ["tags"],
    )
    res.relate("RUNS_AS", role)
    return res


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    glue = ctx.client()
    endpoints = ctx.pages(glue, "get_dev_endpoints", "DevEndpoints")
    yield from ctx.map(lambda ep: _dev_endpoint(ctx, glue, ep), endpoints)
    jobs = ctx.pages(glue, "get_jobs", "Jobs")
    yield from ctx.map(lambda job: _job(ctx, glue, job), jobs)
