"""Detective controls per region: GuardDuty enabled, AWS Config recording.

Both findings are on a region record (``aws_guardduty_region`` / ``aws_config_region``):
a plan fixes one region, in that region.
"""

from __future__ import annotations

import re
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.remediation.model import ApiCall, FixerError, FixSpec
from stratusec.remediation.registry import Lookup, fixer

PUBLISHING_FREQUENCY = "FIFTEEN_MINUTES"


def result_ref(index: int, key: str) -> str:
    """A parameter value that only the apply can know: ``key`` of the response to the
    plan's call number ``index`` (e.g. the id of a detector the plan creates). The
    rollback substitutes it from the stored apply result before it runs."""
    return f"${{call[{index}].{key}}}"


# -- GuardDuty --------------------------------------------------------------------------------
@fixer(
    "guardduty_enabled_all_regions",
    id="guardduty_enable_region",
    title="Enable GuardDuty in a region (create a detector, or enable the existing one)",
)
def guardduty(res: Resource, _f: dict[str, Any], _o: dict[str, Any], lookup: Lookup) -> FixSpec:
    region = res.region
    c = res.config
    if "enabled" in res.unavailable or c.get("enabled") is None:
        raise FixerError(f"whether GuardDuty is enabled in {region} could not be read")
    if c["enabled"] is True:
        raise FixerError(f"GuardDuty is already enabled in {region}; scan again")
    ids = [str(i) for i in c.get("detector_ids") or []]
    partition = res.uid.split(":")[1] if res.uid.startswith("arn:") else "aws"
    tf = (
        'resource "aws_guardduty_detector" "this" {\n'
        f"  # provider: {region}\n  enable                       = true\n"
        f'  finding_publishing_frequency = "{PUBLISHING_FREQUENCY}"\n}}\n'
    )
    if ids:
        detectors = {
            d.config.get("id"): d for d in lookup("aws_guardduty_detector") if d.region == region
        }
        det_id = ids[0]
        det = detectors.get(det_id)
        if det is None:
            raise FixerError(f"detector {det_id} ({region}) is not in the last scan; scan again")
        arn = det.uid
        return FixSpec(
            title=f"Enable GuardDuty detector {det_id} in {region}",
            calls=[
                ApiCall(
                    "guardduty",
                    "update_detector",
                    {"DetectorId": det_id, "Enable": True},
                    f"turn detector {det_id} on",
                    resource_arn=arn,
                )
            ],
            rollback=[
                ApiCall(
                    "guardduty",
                    "update_detector",
                    {"DetectorId": det_id, "Enable": False},
                    f"turn detector {det_id} off again",
                    resource_arn=arn,
                )
            ],
            after={"enabled": True},
            terraform=tf,
            watch=["enabled", "detector_ids"],
            notes=["GuardDuty is billed by the volume of events it analyses."],
        )
    return FixSpec(
        title=f"Enable GuardDuty in {region} (new detector)",
        calls=[
            ApiCall(
                "guardduty",
                "create_detector",
                {"Enable": True, "FindingPublishingFrequency": PUBLISHING_FREQUENCY},
                "create an enabled detector",
                resource_arn="*",  # guardduty:CreateDetector has no resource type
                # The first detector creates GuardDuty's service-linked role.
                extra_actions=(("iam:CreateServiceLinkedRole", "*"),),
            )
        ],
        rollback=[
            ApiCall(
                "guardduty",
                "delete_detector",
                {"DetectorId": result_ref(0, "DetectorId")},
                "delete the detector the plan created (its id comes from the apply)",
                resource_arn=f"arn:{partition}:guardduty:{region}:{res.account}:detector/*",
            )
        ],
        after={"enabled": True},
        terraform=tf,
        watch=["enabled", "detector_ids"],
        notes=[
            "GuardDuty is billed by the volume of events it analyses (30-day free trial "
            "for a new detector).",
            "The first detector creates the AWSServiceRoleForAmazonGuardDuty service-linked "
            "role (the caller needs iam:CreateServiceLinkedRole).",
        ],
    )


# -- AWS Config -------------------------------------------------------------------------------
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
DEFAULT_NAME = "default"


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise FixerError(f"option {name} must be true or false; got {value!r}")


def _group_api(g: dict[str, Any]) -> dict[str, Any]:
    """A recording group in the collector's form -> PutConfigurationRecorder's form."""
    out: dict[str, Any] = {
        "allSupported": bool(g.get("all_supported")),
        "includeGlobalResourceTypes": bool(g.get("include_global_resource_types")),
    }
    if g.get("resource_types"):
        out["resourceTypes"] = list(g["resource_types"])
    if g.get("exclusion_by_resource_types"):
        out["exclusionByResourceTypes"] = {"resourceTypes": list(g["exclusion_by_resource_types"])}
    if g.get("recording_strategy"):
        out["recordingStrategy"] = {"useOnly": g["recording_strategy"]}
    return out


def _mode_api(m: dict[str, Any] | None) -> dict[str, Any] | None:
    if not m or not m.get("recording_frequency"):
        return None
    out: dict[str, Any] = {"recordingFrequency": m["recording_frequency"]}
    overrides = [
        {
            k: v
            for k, v in (
                ("description", o.get("description")),
                ("resourceTypes", o.get("resource_types")),
                ("recordingFrequency", o.get("recording_frequency")),
            )
            if v
        }
        for o in m.get("recording_mode_override") or []
    ]
    if overrides:
        out["recordingModeOverrides"] = overrides
    return out


def _config_roles(lookup: Lookup) -> list[str]:
    """Roles that AWS Config can assume (trusted by config.amazonaws.com)."""
    out = []
    for r in lookup("aws_iam_role"):
        doc = r.config.get("assume_role_policy")
        stmts = doc.get("Statement") if isinstance(doc, dict) else None
        stmts = [stmts] if isinstance(stmts, dict) else stmts or []
        for st in stmts:
            principal = st.get("Principal") if isinstance(st, dict) else None
            svc = principal.get("Service") if isinstance(principal, dict) else None
            svcs = svc if isinstance(svc, list) else [svc]
            if "config.amazonaws.com" in svcs and st.get("Effect") == "Allow":
                out.append(str(r.config.get("arn") or r.uid))
                break
    return sorted(out)


@fixer(
    "config_recorder_enabled_all_regions",
    id="config_recorder_enable_region",
    title="Record all resource types with AWS Config in a region (recorder, delivery "
    "channel, start)",
    options={
        "role_arn": "IAM role AWS Config records with (trusted by config.amazonaws.com); "
        "required when the region has no recorder, else replaces the recorder's role",
        "bucket": "S3 bucket for the configuration history; required when the region has "
        "no delivery channel (its policy must let AWS Config write)",
        "global_resources": "record global resource types (IAM) in this region too: true "
        "(the default, as CIS says) or false (record them in one region only)",
    },
)
def config_recorder(
    res: Resource, _f: dict[str, Any], o: dict[str, Any], lookup: Lookup
) -> FixSpec:
    region = res.region
    c = res.config
    for key in ("recording", "recorders", "delivery_channels"):
        if key in res.unavailable or (c.get(key) is None and key != "recording"):
            raise FixerError(f"the AWS Config {key.replace('_', ' ')} of {region} were not read")
    if c.get("recording") is True:
        raise FixerError(f"AWS Config already records everything in {region}; scan again")
    glob = _flag(o.get("global_resources", True), "global_resources")
    recorders = [
        r
        for r in lookup("aws_config_configuration_recorder")
        if r.region == region and not r.config.get("service_principal")
    ]
    existing = recorders[0] if recorders else None
    name = str(existing.config.get("name") or existing.name) if existing else DEFAULT_NAME
    role = o.get("role_arn") or (existing.config.get("role_arn") if existing else None)
    if not role:
        cands = _config_roles(lookup)
        hint = (
            f"; roles trusted by config.amazonaws.com: {', '.join(cands)}"
            if cands
            else "; no role in the last scan is trusted by config.amazonaws.com (create one "
            "with the AWS_ConfigRole managed policy)"
        )
        raise FixerError(f"pass options.role_arn: the role AWS Config records with{hint}")
    role = str(role)
    if not _ROLE_ARN.match(role):
        raise FixerError(f"option role_arn must be an IAM role ARN; got {role!r}")
    calls: list[ApiCall] = []
    rollback: list[ApiCall] = []
    notes: list[str] = []
    group = (existing.config.get("recording_group") or {}) if existing else {}
    status = (existing.config.get("status") or {}) if existing else {}
    wanted_group = {"allSupported": True, "includeGlobalResourceTypes": glob}
    if (
        existing is None
        or not group.get("all_supported")
        or group.get("exclusion_by_resource_types")
        or existing.config.get("role_arn") != role
    ):
        recorder: dict[str, Any] = {"name": name, "roleARN": role, "recordingGroup": wanted_group}
        prev_mode = _mode_api(existing.config.get("recording_mode")) if existing else None
        if prev_mode:
            recorder["recordingMode"] = prev_mode
        calls.append(
            ApiCall(
                "config",
                "put_configuration_recorder",
                {"ConfigurationRecorder": recorder},
                f"record all supported resource types with recorder {name}",
                extra_actions=(("iam:PassRole", recorder["roleARN"]),),
            )
        )
        if existing is None:
            rollback.append(
                ApiCall(
                    "config",
                    "delete_configuration_recorder",
                    {"ConfigurationRecorderName": name},
                    f"delete recorder {name} again",
                )
            )
        else:
            before: dict[str, Any] = {
                "name": name,
                "roleARN": existing.config.get("role_arn"),
                "recordingGroup": _group_api(group),
            }
            if prev_mode:
                before["recordingMode"] = prev_mode
            rollback.append(
                ApiCall(
                    "config",
                    "put_configuration_recorder",
                    {"ConfigurationRecorder": before},
                    f"restore recorder {name}'s previous settings",
                )
            )
    channels = list(c.get("delivery_channels") or [])
    if not channels:
        bucket = o.get("bucket")
        if not bucket:
            names = sorted(str(b.config.get("bucket") or b.name) for b in lookup("aws_s3_bucket"))
            hint = f"; buckets in the last scan: {', '.join(names[:20])}" if names else ""
            raise FixerError(
                f"pass options.bucket: {region} has no delivery channel, and AWS Config needs "
                f"a bucket to deliver to{hint}"
            )
        bucket = str(bucket)
        if not _BUCKET.match(bucket):
            raise FixerError(f"option bucket must be an S3 bucket name; got {bucket!r}")
        calls.append(
            ApiCall(
                "config",
                "put_delivery_channel",
                {"DeliveryChannel": {"name": DEFAULT_NAME, "s3BucketName": bucket}},
                f"deliver configuration history to s3://{bucket}",
            )
        )
        rollback.append(
            ApiCall(
                "config",
                "delete_delivery_channel",
                {"DeliveryChannelName": DEFAULT_NAME},
                "delete the delivery channel again",
            )
        )
        notes.append(f"The bucket policy of {bucket} must allow config.amazonaws.com to write.")
    elif o.get("bucket"):
        notes.append(
            f"{region} already delivers through channel {channels[0]}: option bucket is unused."
        )
    if not status.get("recording"):
        calls.append(
            ApiCall(
                "config",
                "start_configuration_recorder",
                {"ConfigurationRecorderName": name},
                f"start recorder {name}",
            )
        )
        rollback.append(
            ApiCall(
                "config",
                "stop_configuration_recorder",
                {"ConfigurationRecorderName": name},
                f"stop recorder {name} again",
            )
        )
    notes.append(
        "AWS Config is billed per configuration item recorded."
        + ("" if glob else " Global resource types are not recorded in this region.")
    )
    return FixSpec(
        title=f"Record all resource types with AWS Config in {region}",
        calls=calls,
        rollback=list(reversed(rollback)),
        after={"recording": True, "include_global_resource_types": glob},
        terraform=(
            f"# provider: {region}\n"
            f'resource "aws_config_configuration_recorder" "this" {{\n  name     = "{name}"\n'
            f'  role_arn = "{role}"\n  recording_group {{\n    all_supported                 '
            f"= true\n    include_global_resource_types = {str(glob).lower()}\n  }}\n}}\n"
            + (
                'resource "aws_config_delivery_channel" "this" {\n'
                f'  name           = "{DEFAULT_NAME}"\n  s3_bucket_name = "{o.get("bucket")}"\n'
                "  depends_on     = [aws_config_configuration_recorder.this]\n}\n"
                if not channels
                else ""
            )
            + 'resource "aws_config_configuration_recorder_status" "this" {\n'
            "  name       = aws_config_configuration_recorder.this.name\n"
            "  is_enabled = true\n}\n"
        ),
        watch=["recording", "recorders", "delivery_channels"],
        notes=notes,
    )
