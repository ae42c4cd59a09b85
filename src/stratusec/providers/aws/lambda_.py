"""Lambda: functions (configuration, resource policy, function URLs, tags) and function
URLs, per region.

Environment variable VALUES are never stored (they often hold secrets): records keep
only ``environment_variable_names``, and the raw listing is redacted the same way.

Function URLs come from ``ListFunctionUrlConfigs`` (every alias); where that API is not
implemented (emulators answer a bare 404), the unqualified URL is read with
``GetFunctionUrlConfig`` instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import UNSUPPORTED_CODES, CollectorContext
from stratusec.providers.aws.util import (
    ec2_arn,
    environment_references,
    key_ref_uid,
    parse_policy,
)

SERVICE = "lambda"
GLOBAL = False

_NOT_FOUND = "ResourceNotFoundException"
# Answers meaning "ListFunctionUrlConfigs is not implemented here".
_URL_LIST_UNSUPPORTED = frozenset({"404", *UNSUPPORTED_CODES})


def redact_function(fn: dict[str, Any]) -> dict[str, Any]:
    """A copy of a function configuration without environment variable values."""
    out = dict(fn)
    env = fn.get("Environment")
    if isinstance(env, dict):
        red: dict[str, Any] = {"VariableNames": sorted((env.get("Variables") or {}).keys())}
        if env.get("Error"):
            red["Error"] = env["Error"]
        out["Environment"] = red
    return out


def _url_record(cfg: dict[str, Any]) -> dict[str, Any]:
    return {
        "function_url": cfg.get("FunctionUrl"),
        "function_arn": cfg.get("FunctionArn"),
        "authorization_type": cfg.get("AuthType"),
        "cors": cfg.get("Cors"),
        "invoke_mode": cfg.get("InvokeMode"),
        "creation_time": cfg.get("CreationTime"),
        "last_modified_time": cfg.get("LastModifiedTime"),
    }


def _list_urls(
    ctx: CollectorContext, lam: Any, name: str, arn: str
) -> tuple[list[dict[str, Any]] | None, str]:
    """All URL configs of a function (None when unreadable) and the API that answered."""
    configs: list[dict[str, Any]] = []
    params: dict[str, Any] = {"FunctionName": name, "MaxItems": 50}
    while True:
        page = ctx.call(
            lam,
            "list_function_url_configs",
            absent=(_NOT_FOUND, *_URL_LIST_UNSUPPORTED),
            resource=arn,
            **params,
        )
        if page.absent and page.code in _URL_LIST_UNSUPPORTED:
            break
        if page.absent:  # the function was deleted meanwhile: it has no URL
            return [], "list_function_url_configs"
        if page.failed:
            return None, "list_function_url_configs"
        configs.extend(page.data.get("FunctionUrlConfigs") or [])
        marker = page.data.get("NextMarker")
        if not marker:
            return configs, "list_function_url_configs"
        params["Marker"] = marker
    # Fallback: the unqualified function URL only.
    one = ctx.call(
        lam, "get_function_url_config", absent=(_NOT_FOUND,), FunctionName=name, resource=arn
    )
    if one.failed:
        return None, "get_function_url_config"
    return ([one.data] if one.ok else []), "get_function_url_config"


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    lam = ctx.client()

    def detail(fn: dict[str, Any]) -> list[Resource]:
        name = fn.get("FunctionName") or ""
        arn = fn.get("FunctionArn") or ctx.arn("lambda", f"function:{name}")
        unavailable: list[str] = []
        raw: dict[str, Any] = {"ListFunctions": redact_function(fn)}

        pol = ctx.call(lam, "get_policy", absent=(_NOT_FOUND,), FunctionName=name, resource=arn)
        policy = parse_policy(pol.data.get("Policy")) if pol.ok else None
        if pol.ok:
            raw["GetPolicy"] = {"Policy": policy, "RevisionId": pol.data.get("RevisionId")}
        elif pol.failed:
            unavailable.append("policy")

        url_cfgs, url_api = _list_urls(ctx, lam, name, arn)
        urls: list[dict[str, Any]] | None = None
        public_url: bool | None = None
        if url_cfgs is None:
            unavailable += ["function_urls", "public_url"]
        else:
            urls = [_url_record(u) for u in url_cfgs]
            public_url = any(u.get("AuthType") == "NONE" for u in url_cfgs)
            raw[url_api] = url_cfgs

        tr = ctx.call(lam, "list_tags", Resource=arn, resource=arn)
        tags = tags_from_list(tr.data.get("Tags")) if tr.ok else {}
        if tr.ok:
            raw["ListTags"] = tr.data.get("Tags") or {}
        else:
            unavailable.append("tags")

        vpc = fn.get("VpcConfig") or {}
        subnet_ids = list(vpc.get("SubnetIds") or [])
        sg_ids = list(vpc.get("SecurityGroupIds") or [])
        vpc_id = vpc.get("VpcId") or None
        env = fn.get("Environment") or {}
        logging_cfg = fn.get("LoggingConfig") or {}
        kms_key = fn.get("KMSKeyArn")
        res = ctx.resource(
            uid=arn,
            type="aws_lambda_function",
            name=name,
            tags=tags,
            config={
                "function_name": name,
                "arn": arn,
                "description": fn.get("Description"),
                "role": fn.get("Role"),
                "runtime": fn.get("Runtime"),
                "handler": fn.get("Handler"),
                "package_type": fn.get("PackageType"),
                "image_uri": (fn.get("ImageConfigResponse") or {}).get("ImageUri"),
                "architectures": fn.get("Architectures"),
                "memory_size": fn.get("MemorySize"),
                "timeout": fn.get("Timeout"),
                "ephemeral_storage": (fn.get("EphemeralStorage") or {}).get("Size"),
                "version": fn.get("Version"),
                "last_modified": fn.get("LastModified"),
                "state": fn.get("State"),
                "code_sha256": fn.get("CodeSha256"),
                "vpc_config": {
                    "subnet_ids": subnet_ids,
                    "security_group_ids": sg_ids,
                    "vpc_id": vpc_id,
                    "ipv6_allowed_for_dual_stack": vpc.get("Ipv6AllowedForDualStack"),
                }
                if subnet_ids or sg_ids or vpc_id
                else None,
                "environment_variable_names": sorted((env.get("Variables") or {}).keys()),
                # Values only of the variables that name a resource (bucket, table, queue).
                "environment_references": environment_references(env.get("Variables")),
                "kms_key_arn": kms_key,
                "tracing_config": {"mode": (fn.get("TracingConfig") or {}).get("Mode")},
                "layers": [la.get("Arn") for la in fn.get("Layers") or []],
                "dead_letter_config": {
                    "target_arn": (fn.get("DeadLetterConfig") or {}).get("TargetArn")
                }
                if fn.get("DeadLetterConfig")
                else None,
                "file_system_config": [
                    {"arn": f.get("Arn"), "local_mount_path": f.get("LocalMountPath")}
                    for f in fn.get("FileSystemConfigs") or []
                ],
                "signing_profile_version_arn": fn.get("SigningProfileVersionArn"),
                "signing_job_arn": fn.get("SigningJobArn"),
                "logging_config": {
                    "log_format": logging_cfg.get("LogFormat"),
                    "log_group": logging_cfg.get("LogGroup"),
                    "application_log_level": logging_cfg.get("ApplicationLogLevel"),
                    "system_log_level": logging_cfg.get("SystemLogLevel"),
                }
                if logging_cfg
                else None,
                "snap_start": fn.get("SnapStart"),
                "master_arn": fn.get("MasterArn"),
                "policy": policy,
                "function_urls": urls,
                "public_url": public_url,
            },
            raw=raw,
            unavailable=unavailable,
        )
        res.relate("RUNS_AS", fn.get("Role"))
        for sn in subnet_ids:
            res.relate("IN_SUBNET", ec2_arn(ctx, "subnet", sn))
        for sg in sg_ids:
            res.relate("HAS_SECURITY_GROUP", ec2_arn(ctx, "security-group", sg))
        res.relate("IN_VPC", ec2_arn(ctx, "vpc", vpc_id))
        res.relate("USES_KEY", key_ref_uid(ctx, kms_key), purpose="environment")
        if logging_cfg.get("LogGroup"):
            res.relate("LOGS_TO", ctx.arn("logs", f"log-group:{logging_cfg['LogGroup']}"))

        out = [res]
        for u in url_cfgs or []:
            fn_arn = u.get("FunctionArn") or arn
            qualifier = fn_arn.split(":")[7] if fn_arn.count(":") >= 7 else None
            url = ctx.resource(
                uid=f"{fn_arn}/url",
                type="aws_lambda_function_url",
                name=f"{name}:{qualifier}" if qualifier else name,
                config={
                    "function_name": name,
                    "qualifier": qualifier,
                    "function_url": u.get("FunctionUrl"),
                    "authorization_type": u.get("AuthType"),
                    "cors": u.get("Cors"),
                    "invoke_mode": u.get("InvokeMode"),
                    "url_id": _url_id(u.get("FunctionUrl")),
                },
                raw={"FunctionUrlConfig": u},
            )
            url.relate("ATTACHED_TO", arn)
            out.append(url)
        return out

    for records in ctx.map(detail, ctx.pages(lam, "list_functions", "Functions")):
        yield from records


def _url_id(url: str | None) -> str | None:
    """The id part of ``https://<url_id>.lambda-url.<region>.on.aws/``."""
    if not url:
        return None
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return host.split(".", 1)[0] or None
