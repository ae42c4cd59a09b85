"""Least privilege for an over-broad S3 grant: a narrowed policy from what the principal
is seen to use, proven with the IAM evaluator (see ``stratusec.remediation.usage``)."""

from __future__ import annotations

import json
import re
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.remediation.model import ApiCall, FixerError, FixSpec
from stratusec.remediation.registry import Lookup, fixer
from stratusec.remediation.usage import CHECK_ID, UsageError, least_privilege_report, proof_lines

MAX_POLICY_VERSIONS = 5
_INLINE = {
    "aws_iam_role": ("role", "RoleName", "aws_iam_role_policy"),
    "aws_iam_user": ("user", "UserName", "aws_iam_user_policy"),
    "aws_iam_group": ("group", "GroupName", "aws_iam_group_policy"),
}


def _tf_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "policy"


def _heredoc(doc: Any) -> str:
    return "<<-EOT\n" + json.dumps(doc, indent=2) + "\n  EOT"


def _version_number(v: Any) -> int:
    m = re.fullmatch(r"v(\d+)", str(v or ""))
    return int(m.group(1)) if m else 0


def _managed(res: Resource, after: Any) -> tuple[list[ApiCall], list[ApiCall], str, str]:
    arn = str(res.config.get("arn") or res.uid)
    default = res.config.get("default_version_id")
    if not default:
        raise FixerError(f"the default version of {res.name} is unknown; scan IAM again")
    versions = res.config.get("policy_versions")
    known = [v.get("version_id") for v in versions or [] if isinstance(v, dict)]
    if len(known) >= MAX_POLICY_VERSIONS:
        others = ", ".join(str(v) for v in known if v != default)
        raise FixerError(
            f"policy {res.name} already has {len(known)} versions (IAM's maximum is "
            f"{MAX_POLICY_VERSIONS}); delete a non-default version first ({others})"
        )
    # IAM numbers versions in sequence and never reuses a number.
    new_id = f"v{max([_version_number(v) for v in [*known, default]]) + 1}"
    calls = [
        ApiCall(
            "iam",
            "create_policy_version",
            {"PolicyArn": arn, "PolicyDocument": json.dumps(after), "SetAsDefault": True},
            "add the narrowed document as a new version and make it the default",
            resource_arn=arn,
        )
    ]
    rollback = [
        ApiCall(
            "iam",
            "set_default_policy_version",
            {"PolicyArn": arn, "VersionId": default},
            f"make the previous version {default} the default again",
            resource_arn=arn,
        ),
        ApiCall(
            "iam",
            "delete_policy_version",
            {"PolicyArn": arn, "VersionId": new_id},
            f"delete the narrowed version ({new_id}, the next number IAM assigns)",
            resource_arn=arn,
        ),
    ]
    tf = (
        f'resource "aws_iam_policy" "{_tf_name(res.name)}" {{\n'
        f'  name   = "{res.name}"\n'
        f"  policy = {_heredoc(after)}\n}}\n"
    )
    return (
        calls,
        rollback,
        tf,
        (
            f"Rollback deletes version {new_id}: IAM numbers versions in sequence, so the new "
            f"one is {new_id} unless versions above {default} were created and deleted before; a "
            "version created after this plan changes its fingerprint and the apply is refused"
        ),
    )


def _inline(
    res: Resource, name: str, before: Any, after: Any
) -> tuple[list[ApiCall], list[ApiCall], str]:
    kind, param, tf_type = _INLINE[res.type]
    op = f"put_{kind}_policy"
    arn = str(res.config.get("arn") or res.uid)
    target = str(res.config.get("name") or res.name)
    call = ApiCall(
        "iam",
        op,
        {param: target, "PolicyName": name, "PolicyDocument": json.dumps(after)},
        f"replace inline policy {name} of {kind} {target} with the narrowed document",
        resource_arn=arn,
    )
    undo = ApiCall(
        "iam",
        op,
        {param: target, "PolicyName": name, "PolicyDocument": json.dumps(before)},
        f"restore inline policy {name} of {kind} {target}",
        resource_arn=arn,
    )
    tf = (
        f'resource "{tf_type}" "{_tf_name(target)}_{_tf_name(name)}" {{\n'
        f'  name   = "{name}"\n  {kind}   = "{target}"\n'
        f"  policy = {_heredoc(after)}\n}}\n"
    )
    return [call], [undo], tf


@fixer(
    CHECK_ID,
    id="iam_least_privilege_s3",
    title="Narrow an s3:* on * grant to the buckets the principal is seen to use",
    options={
        "resources": "buckets the principal also needs, beyond what is observed: bucket "
        "names, S3 ARNs or s3:// URIs, each optionally =read or =write (default read), as a "
        "list or comma-separated",
    },
)
def least_privilege_s3(
    res: Resource, _f: dict[str, Any], o: dict[str, Any], lookup: Lookup
) -> FixSpec:
    if res.type != "aws_iam_policy" and res.type not in _INLINE:
        raise FixerError(f"resources of type {res.type} hold no IAM policy")
    try:
        report = least_privilege_report(res, lookup, resources=o.get("resources"))
    except UsageError as exc:
        raise FixerError(str(exc)) from None
    calls: list[ApiCall] = []
    rollback: list[ApiCall] = []
    tf: list[str] = []
    extra: list[str] = []
    for p in report["policies"]:
        if res.type == "aws_iam_policy":
            c, r, t, note = _managed(res, p["after"])
            extra.append(note)
        else:
            c, r, t = _inline(res, p["name"], p["before"], p["after"])
        calls += c
        rollback += r
        tf.append(t)
    if res.type == "aws_iam_policy":
        after: dict[str, Any] = {"policy": report["policies"][0]["after"]}
        watch = ["policy", "default_version_id", "policy_versions", "attachment_count"]
    else:
        inline = dict(res.config.get("inline_policies") or {})
        inline.update({p["name"]: p["after"] for p in report["policies"]})
        after = {"inline_policies": inline}
        watch = ["inline_policies", "managed_policy_arns"]
    used = sorted({u["name"] for u in report["usage"]["uses"] if u["service"] == "s3"})
    notes = [
        "Policy diff:\n" + "\n".join(p["diff"] for p in report["policies"]),
        *proof_lines(report),
        f"Principals affected: {', '.join(report['principals']) or 'none'}",
        *extra,
    ]
    return FixSpec(
        title=f"Narrow {res.name} from s3:* on * to {', '.join(used)}",
        calls=calls,
        rollback=rollback,
        after=after,
        terraform="".join(tf),
        watch=watch,
        notes=notes,
    )
