"""Builders for IAM check tests: records shaped as the IAM and Access Analyzer collectors
make them (see src/stratusec/providers/aws/iam.py and accessanalyzer.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from stratusec.inventory.models import Resource
from tests.checks.fixtures import ACCOUNT, res

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def ago(days: float) -> str:
    """An ISO timestamp ``days`` before NOW, as the collectors store them."""
    return (NOW - dt.timedelta(days=days)).isoformat()


def iam_arn(resource: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{resource}"


def iam(type_: str, name: str, uid: str, **kw: Any) -> Resource:
    return res(type_, name, uid=uid, region="global", service="iam", **kw)


def summary(**config: Any) -> Resource:
    base = {
        "account_mfa_enabled": True,
        "account_access_keys_present": False,
        "account_signing_certificates_present": False,
    }
    base.update(config)
    unavailable = [k for k, v in base.items() if v == "UNAVAILABLE"]
    for k in unavailable:
        base[k] = None
    return iam(
        "aws_iam_account_summary",
        "account-summary",
        iam_arn("account-summary"),
        config=base,
        unavailable=unavailable,
    )


def report_row(user: str, **config: Any) -> Resource:
    root = user == "<root_account>"
    base: dict[str, Any] = {
        "user": user,
        "arn": iam_arn("root") if root else iam_arn(f"user/{user}"),
        "password_enabled": True,
        "password_last_used": None,
        "mfa_active": True,
        "access_key_1_active": False,
        "access_key_1_last_used_date": None,
        "access_key_2_active": False,
        "access_key_2_last_used_date": None,
        "root_account": root,
    }
    base.update(config)
    return iam(
        "aws_iam_credential_report_entry",
        user,
        iam_arn(f"credential-report/{user}"),
        config=base,
        relationships=[("OWNED_BY", base["arn"])],
    )


def virtual_mfa(name: str, *, root: bool = False, user: str | None = None) -> Resource:
    serial = iam_arn(f"mfa/{name}")
    return iam(
        "aws_iam_virtual_mfa_device",
        name,
        serial,
        config={
            "serial_number": serial,
            "assigned": True,
            "root_account": root,
            "user_name": user,
            "user_arn": iam_arn("root") if root else iam_arn(f"user/{user}") if user else None,
        },
    )


def password_policy(**config: Any) -> Resource:
    base: dict[str, Any] = {
        "exists": True,
        "minimum_password_length": 14,
        "require_symbols": True,
        "require_numbers": True,
        "require_uppercase_characters": True,
        "require_lowercase_characters": True,
        "allow_users_to_change_password": True,
        "expire_passwords": True,
        "max_password_age": 90,
        "password_reuse_prevention": 24,
        "hard_expiry": False,
    }
    base.update(config)
    unavailable = list(base) if base["exists"] is None else []
    return iam(
        "aws_iam_account_password_policy",
        "account-password-policy",
        iam_arn("account-password-policy"),
        config=base,
        unavailable=unavailable,
    )


def access_key(
    user: str,
    key_id: str,
    *,
    created_days: float = 10,
    used_days: float | None = None,
    status: str = "Active",
    last_used_unavailable: bool = False,
) -> Resource:
    user_arn = iam_arn(f"user/{user}")
    return iam(
        "aws_iam_access_key",
        key_id,
        f"{user_arn}/access-key/{key_id}",
        config={
            "id": key_id,
            "user": user,
            "user_arn": user_arn,
            "status": status,
            "create_date": ago(created_days),
            "last_used_date": None if used_days is None else ago(used_days),
        },
        unavailable=["last_used_date"] if last_used_unavailable else [],
        relationships=[("OWNED_BY", user_arn)],
    )


def user(
    name: str,
    *,
    keys: list[Resource] | None = None,
    console: bool | None = False,
    mfa: list[str] | None = None,
    password_last_used_days: float | None = None,
    password_created_days: float = 5,
    inline: dict[str, Any] | None = None,
    attached: list[str] | None = None,
    unavailable: list[str] | None = None,
) -> Resource:
    """An aws_iam_user; ``keys`` are access_key() records (listed in config too)."""
    config: dict[str, Any] = {
        "arn": iam_arn(f"user/{name}"),
        "name": name,
        "create_date": ago(400),
        "password_last_used": None
        if password_last_used_days is None
        else ago(password_last_used_days),
        "inline_policies": inline or {},
        "managed_policy_arns": attached or [],
        "groups": [],
        "access_keys": [
            {
                "id": k.config["id"],
                "status": k.config["status"],
                "create_date": k.config["create_date"],
                "last_used_date": k.config["last_used_date"],
            }
            for k in keys or []
        ],
        "mfa_devices": [
            {"serial_number": iam_arn(f"mfa/{m}"), "type": "virtual"} for m in mfa or []
        ],
        "login_profile": {"create_date": ago(password_created_days)} if console else None,
        "password_enabled": console,
    }
    for k in unavailable or []:
        config[k] = None
    return iam(
        "aws_iam_user", name, iam_arn(f"user/{name}"), config=config, unavailable=unavailable
    )


def policy(
    name: str, document: Any, *, aws_managed: bool = False, attachments: int = 1
) -> Resource:
    arn = f"arn:aws:iam::aws:policy/{name}" if aws_managed else iam_arn(f"policy/{name}")
    return iam(
        "aws_iam_policy",
        name,
        arn,
        config={
            "arn": arn,
            "name": name,
            "policy": document,
            "attachment_count": attachments,
            "aws_managed": aws_managed,
        },
    )


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def trust(principal: Any, condition: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    st: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        st["Condition"] = condition
    st.update(extra)
    return st


def role(
    name: str,
    *trust_statements: dict[str, Any],
    inline: dict[str, Any] | None = None,
    attached: list[str] | None = None,
    unavailable: list[str] | None = None,
) -> Resource:
    arn = iam_arn(f"role/{name}")
    config: dict[str, Any] = {
        "arn": arn,
        "name": name,
        "assume_role_policy": doc(*trust_statements),
        "inline_policies": inline or {},
        "managed_policy_arns": attached or [],
        "permissions_boundary": None,
    }
    for k in unavailable or []:
        config[k] = None
    return iam(
        "aws_iam_role",
        name,
        arn,
        config=config,
        unavailable=unavailable,
        relationships=[("HAS_POLICY", a) for a in attached or []],
    )


def lambda_function(name: str, role_arn: str | None) -> Resource:
    return res(
        "aws_lambda_function",
        name,
        uid=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}",
        service="lambda",
        config={"function_name": name, "role": role_arn},
        relationships=[("RUNS_AS", role_arn)] if role_arn else [],
    )


def aa_region(region: str, enabled: bool | None, active: list[str] | None = None) -> Resource:
    return res(
        "aws_accessanalyzer_region",
        region,
        uid=f"arn:aws:access-analyzer:{region}:{ACCOUNT}:region-settings",
        region=region,
        service="accessanalyzer",
        config={
            "analyzers": active or [],
            "active_analyzers": active or [],
            "enabled": enabled,
        },
        unavailable=["enabled"] if enabled is None else [],
    )
