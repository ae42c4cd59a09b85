"""CloudTrail: a logging multi-region trail, log file validation, KMS encryption."""

from __future__ import annotations

from typing import Any

from stratusec.inventory.models import Resource
from stratusec.remediation.model import ApiCall, FixerError, FixSpec
from stratusec.remediation.registry import Lookup, fixer

_TF = 'resource "aws_cloudtrail" "{name}" {{\n  name = "{name}"\n{body}  # ...\n}}\n'


def _trail(res: Resource) -> tuple[str, str, str]:
    name = res.config.get("name") or res.name
    return name, res.config.get("arn") or res.uid, res.config.get("home_region") or res.region


@fixer(
    "cloudtrail_multi_region_logging",
    id="cloudtrail_multi_region_logging",
    title="Make a trail multi-region, logging all management events, and start it",
    options={"trail_name": "the trail to use (default: a multi-region one, else the first)"},
)
def multi_region(res: Resource, _f: dict[str, Any], o: dict[str, Any], lookup: Lookup) -> FixSpec:
    trails = lookup("aws_cloudtrail")
    if not trails:
        raise FixerError(
            "the account has no trail to turn on: create one (a trail needs an S3 bucket "
            "with a CloudTrail bucket policy), e.g. with the Terraform in the check's docs"
        )
    want = o.get("trail_name")
    if want:
        picked = [t for t in trails if (t.config.get("name") or t.name) == want]
        if not picked:
            names = ", ".join(sorted(t.config.get("name") or t.name for t in trails))
            raise FixerError(f"no trail named {want!r}; trails: {names}")
        trail = picked[0]
    else:
        multi = [t for t in trails if t.config.get("is_multi_region_trail")]
        trail = (multi or sorted(trails, key=lambda t: t.uid))[0]
    name, arn, home = _trail(trail)
    c = trail.config
    calls: list[ApiCall] = []
    rollback: list[ApiCall] = []
    if not c.get("is_multi_region_trail") or not c.get("include_global_service_events"):
        calls.append(
            ApiCall(
                "cloudtrail",
                "update_trail",
                {"Name": name, "IsMultiRegionTrail": True, "IncludeGlobalServiceEvents": True},
                f"make trail {name} cover every region",
                region=home,
                resource_arn=arn,
            )
        )
        rollback.append(
            ApiCall(
                "cloudtrail",
                "update_trail",
                {
                    "Name": name,
                    "IsMultiRegionTrail": bool(c.get("is_multi_region_trail")),
                    "IncludeGlobalServiceEvents": bool(c.get("include_global_service_events")),
                },
                "restore its region coverage",
                region=home,
                resource_arn=arn,
            )
        )
    mgmt = c.get("management_events") or {}
    if mgmt.get("read_write_type") != "All" or not mgmt.get("include"):
        calls.append(
            ApiCall(
                "cloudtrail",
                "put_event_selectors",
                {
                    "TrailName": name,
                    "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}],
                },
                "log all management events, reads and writes",
                region=home,
                resource_arn=arn,
            )
        )
        previous = c.get("event_selectors")
        if previous:
            rollback.append(
                ApiCall(
                    "cloudtrail",
                    "put_event_selectors",
                    {"TrailName": name, "EventSelectors": previous},
                    "restore the previous event selectors",
                    region=home,
                    resource_arn=arn,
                )
            )
    if not c.get("enable_logging"):
        calls.append(
            ApiCall(
                "cloudtrail",
                "start_logging",
                {"Name": name},
                f"start logging on {name}",
                region=home,
                resource_arn=arn,
            )
        )
        rollback.append(
            ApiCall(
                "cloudtrail",
                "stop_logging",
                {"Name": name},
                "stop logging again",
                region=home,
                resource_arn=arn,
            )
        )
    if not calls:
        raise FixerError(f"trail {name} already logs every region; scan again")
    return FixSpec(
        title=f"Turn trail {name} into a logging multi-region trail",
        calls=calls,
        rollback=list(reversed(rollback)),
        after={},  # the finding is on the account; the trail changes
        terraform=_TF.format(
            name=name,
            body="  is_multi_region_trail         = true\n"
            "  include_global_service_events = true\n"
            "  enable_logging                = true\n",
        ),
        watch=[],
        notes=[
            f"Uses trail {name} ({home}); CloudTrail charges for additional copies of "
            "management events in other trails."
        ],
        verify_services=["cloudtrail"],
    )


@fixer(
    "cloudtrail_log_file_validation",
    id="cloudtrail_log_file_validation",
    title="Turn on log file integrity validation",
)
def validation(res: Resource, _f: dict[str, Any], _o: dict[str, Any], _lookup: Lookup) -> FixSpec:
    name, arn, home = _trail(res)
    return FixSpec(
        title=f"Turn on log file validation for trail {name}",
        calls=[
            ApiCall(
                "cloudtrail",
                "update_trail",
                {"Name": name, "EnableLogFileValidation": True},
                "write signed digest files so log tampering can be detected",
                region=home,
                resource_arn=arn,
            )
        ],
        rollback=[
            ApiCall(
                "cloudtrail",
                "update_trail",
                {"Name": name, "EnableLogFileValidation": False},
                "turn validation off again",
                region=home,
                resource_arn=arn,
            )
        ],
        after={"enable_log_file_validation": True},
        terraform=_TF.format(name=name, body="  enable_log_file_validation = true\n"),
        watch=["enable_log_file_validation", "name"],
    )


@fixer(
    "cloudtrail_kms_encryption",
    id="cloudtrail_kms_encryption",
    title="Encrypt the trail's log files with a KMS key (SSE-KMS)",
    options={"kms_key_id": "ARN of a KMS key whose policy lets CloudTrail use it (required)"},
)
def kms(res: Resource, _f: dict[str, Any], o: dict[str, Any], lookup: Lookup) -> FixSpec:
    name, arn, home = _trail(res)
    key = o.get("kms_key_id")
    if not key:
        keys = [
            k.config.get("arn") or k.uid
            for k in lookup("aws_kms_key")
            if k.region == home and k.config.get("key_manager") != "AWS"
        ]
        hint = f"; customer keys in {home}: {', '.join(keys)}" if keys else ""
        raise FixerError(
            "pass options.kms_key_id: the key must allow CloudTrail to encrypt with it" + hint
        )
    previous = res.config.get("kms_key_id")
    return FixSpec(
        title=f"Encrypt trail {name}'s logs with {key}",
        calls=[
            ApiCall(
                "cloudtrail",
                "update_trail",
                {"Name": name, "KmsKeyId": key},
                "encrypt new log files with the key",
                region=home,
                resource_arn=arn,
            )
        ],
        rollback=[
            ApiCall(
                "cloudtrail",
                "update_trail",
                {"Name": name, "KmsKeyId": previous or ""},
                "go back to the previous encryption",
                region=home,
                resource_arn=arn,
            )
        ],
        after={"kms_key_id": key},
        terraform=_TF.format(name=name, body=f'  kms_key_id = "{key}"\n'),
        watch=["kms_key_id", "name"],
        notes=["Readers of the logs now also need kms:Decrypt on the key."],
    )
