"""CodeBuild: projects (the service role builds run as, batch configuration, source,
environment, VPC), per region.

Environment variable VALUES are never stored (PLAINTEXT variables often hold tokens):
records keep names and types. Credentials embedded in a source URL
(``https://user:token@host/...``) are stripped; inline buildspecs are not kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import ec2_arn, key_ref_uid

SERVICE = "codebuild"
GLOBAL = False

_BATCH = 100  # BatchGetProjects limit
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def strip_credentials(url: Any) -> Any:
    """A URL without the ``user:password@`` part."""
    return _USERINFO.sub("", url) if isinstance(url, str) else url


def _source(src: dict[str, Any] | None) -> dict[str, Any] | None:
    if not src:
        return None
    return {
        "type": src.get("type"),
        "location": strip_credentials(src.get("location")),
        "git_clone_depth": src.get("gitCloneDepth"),
        "insecure_ssl": src.get("insecureSsl"),
        "report_build_status": src.get("reportBuildStatus"),
        "source_identifier": src.get("sourceIdentifier"),
        "inline_buildspec": bool(src.get("buildspec"))
        and not str(src.get("buildspec")).strip().endswith((".yml", ".yaml")),
    }


def redact_project(p: dict[str, Any]) -> dict[str, Any]:
    """The project as evidence: no variable values, no URL credentials, no buildspec."""
    out = dict(p)
    env = dict(p.get("environment") or {})
    if "environmentVariables" in env:
        env["environmentVariables"] = [
            {"name": v.get("name"), "type": v.get("type")} for v in env["environmentVariables"]
        ]
    out["environment"] = env
    for key in ("source", "secondarySources"):
        srcs = p.get(key)
        if isinstance(srcs, dict):
            out[key] = {
                **{k: v for k, v in srcs.items() if k != "buildspec"},
                "location": strip_credentials(srcs.get("location")),
            }
        elif isinstance(srcs, list):
            out[key] = [
                {
                    **{k: v for k, v in s.items() if k != "buildspec"},
                    "location": strip_credentials(s.get("location")),
                }
                for s in srcs
            ]
    return out


def _project(ctx: CollectorContext, p: dict[str, Any]) -> Resource:
    name = str(p.get("name") or "")
    arn = str(p.get("arn") or ctx.arn("codebuild", f"project/{name}"))
    env = p.get("environment") or {}
    vpc = p.get("vpcConfig") or {}
    batch = p.get("buildBatchConfig") or {}
    role = p.get("serviceRole")
    batch_role = batch.get("serviceRole")
    subnets = list(vpc.get("subnets") or [])
    sgs = list(vpc.get("securityGroupIds") or [])
    kms = p.get("encryptionKey")
    res = ctx.resource(
        uid=arn,
        type="aws_codebuild_project",
        name=name,
        tags=tags_from_list(p.get("tags"), key="key", value="value"),
        config={
            "name": name,
            "arn": arn,
            "description": p.get("description"),
            "service_role": role,
            "build_batch_config": {
                "service_role": batch_role,
                "combine_artifacts": batch.get("combineArtifacts"),
                "timeout_in_mins": batch.get("timeoutInMins"),
                "restrictions": batch.get("restrictions"),
            }
            if batch
            else None,
            "source": _source(p.get("source")),
            "secondary_sources": [_source(s) for s in p.get("secondarySources") or []],
            "environment": {
                "type": env.get("type"),
                "image": env.get("image"),
                "compute_type": env.get("computeType"),
                "privileged_mode": env.get("privilegedMode"),
                "image_pull_credentials_type": env.get("imagePullCredentialsType"),
                "environment_variables": [
                    {"name": v.get("name"), "type": v.get("type")}
                    for v in env.get("environmentVariables") or []
                ],
            },
            "encryption_key": kms,
            "vpc_config": {
                "vpc_id": vpc.get("vpcId"),
                "subnets": subnets,
                "security_group_ids": sgs,
            }
            if vpc
            else None,
            "logs_config": p.get("logsConfig"),
            "badge_enabled": (p.get("badge") or {}).get("badgeEnabled"),
            "concurrent_build_limit": p.get("concurrentBuildLimit"),
            "project_visibility": p.get("projectVisibility"),
            "resource_access_role": p.get("resourceAccessRole"),
            "build_timeout": p.get("timeoutInMinutes"),
            "queued_timeout": p.get("queuedTimeoutInMinutes"),
            "created": p.get("created"),
            "last_modified": p.get("lastModified"),
        },
        raw={"Project": redact_project(p)},
    )
    res.relate("RUNS_AS", role)
    if batch_role and batch_role != role:
        res.relate("RUNS_AS", batch_role, purpose="batch")
    res.relate("IN_VPC", ec2_arn(ctx, "vpc", vpc.get("vpcId")))
    for sn in subnets:
        res.relate("IN_SUBNET", ec2_arn(ctx, "subnet", sn))
    for sg in sgs:
        res.relate("HAS_SECURITY_GROUP", ec2_arn(ctx, "security-group", sg))
    res.relate("USES_KEY", key_ref_uid(ctx, kms), purpose="artifacts")
    return res


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    cb = ctx.client()
    names = list(ctx.pages(cb, "list_projects", "projects"))
    batches = [names[i : i + _BATCH] for i in range(0, len(names), _BATCH)]

    def fetch(batch: list[str]) -> list[Resource]:
        got = ctx.call(cb, "batch_get_projects", names=batch, resource=",".join(batch)[:200])
        return [_project(ctx, p) for p in got.data.get("projects") or []]

    for records in ctx.map(fetch, batches):
        yield from records
