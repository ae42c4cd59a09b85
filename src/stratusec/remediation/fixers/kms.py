"""KMS: automatic rotation of a customer managed key."""

from __future__ import annotations

from typing import Any

from stratusec.inventory.models import Resource
from stratusec.remediation.model import ApiCall, FixerError, FixSpec
from stratusec.remediation.registry import Lookup, fixer

#: The rotation period KMS accepts (days); yearly when not given.
PERIOD_MIN, PERIOD_MAX = 90, 2560


def _period(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        value = None
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        days = -1
    if not PERIOD_MIN <= days <= PERIOD_MAX:
        raise FixerError(
            f"option rotation_period_days must be a whole number of days from {PERIOD_MIN} "
            f"to {PERIOD_MAX}; got {value!r}"
        )
    return days


@fixer(
    "kms_key_rotation_enabled",
    id="kms_key_rotation",
    title="Turn on automatic rotation of a customer managed KMS key",
    options={
        "rotation_period_days": f"days between rotations, {PERIOD_MIN}-{PERIOD_MAX} "
        "(default: KMS's yearly rotation)"
    },
)
def key_rotation(res: Resource, _f: dict[str, Any], o: dict[str, Any], _lookup: Lookup) -> FixSpec:
    c = res.config
    key_id = c.get("key_id") or res.name
    arn = c.get("arn") or res.uid
    if c.get("key_manager") not in (None, "CUSTOMER"):
        raise FixerError(f"key {key_id} is managed by {c.get('key_manager')}: AWS rotates it")
    if c.get("rotation_unavailable_reason"):
        raise FixerError(
            f"key {key_id} cannot rotate automatically ({c['rotation_unavailable_reason']})"
        )
    state = c.get("key_state")
    if state not in (None, "Enabled"):
        raise FixerError(
            f"key {key_id} is {state}: KMS only turns on rotation for an Enabled key "
            "(enable the key first, or schedule its deletion if it is unused)"
        )
    if c.get("enable_key_rotation") is True:
        raise FixerError(f"key {key_id} already rotates; scan again")
    period = _period(o.get("rotation_period_days"))
    params: dict[str, Any] = {"KeyId": key_id}
    after: dict[str, Any] = {"enable_key_rotation": True}
    if period is not None:
        params["RotationPeriodInDays"] = period
        after["rotation_period_in_days"] = period
    every = f"every {period} days" if period else "every year"
    tf_period = f"  rotation_period_in_days = {period}\n" if period else ""
    aliases = c.get("aliases") or []
    label = f"{key_id} ({', '.join(aliases)})" if aliases else key_id
    return FixSpec(
        title=f"Rotate KMS key {label} automatically {every}",
        calls=[
            ApiCall(
                "kms",
                "enable_key_rotation",
                params,
                f"rotate the key material {every}",
                resource_arn=arn,
            )
        ],
        rollback=[
            ApiCall(
                "kms",
                "disable_key_rotation",
                {"KeyId": key_id},
                "turn automatic rotation off again",
                resource_arn=arn,
            )
        ],
        after=after,
        terraform=(
            f'# KMS key {key_id}\nresource "aws_kms_key" "this" {{\n  # ...\n'
            f"  enable_key_rotation     = true\n{tf_period}}}\n"
        ),
        watch=["enable_key_rotation", "key_state", "rotation_unavailable_reason"],
        notes=[
            "Rotation keeps every older key material: existing ciphertexts still decrypt, "
            "and nothing that uses the key needs to change.",
            "Each rotation adds a monthly charge for the retained key material (up to the "
            "second rotation).",
        ],
    )
