"""IAM (global): principals and their policies, credentials, account-level settings.

Principals, groups, roles, managed policies and instance profiles come from
GetAccountAuthorizationDetails (every filter). AWS-managed policies are kept only when
something in the account uses them (attached or as a permissions boundary), with their
default version document. ListUsers/ListRoles add what that call lacks (console password
last use, role session duration and description) and stand in for it when it fails.

Per-user credentials (access keys and their last use, MFA devices, console login
profile) are read per user on the shared detail pool. Account-level records: password
policy, account summary, credential report rows (including ``<root_account>``), virtual
MFA devices (including the root account's), SAML/OIDC providers and server certificates.
No secret is ever read: access key ids are kept, secrets and MFA seeds never.
"""

from __future__ import annotations

import csv
import io
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CALL_ERRORS, CollectError, CollectorContext
from stratusec.providers.aws.util import parse_policy

SERVICE = "iam"
GLOBAL = True

GAAD_FILTERS = ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]
# How long to wait for GenerateCredentialReport to reach COMPLETE (seconds).
CREDENTIAL_REPORT_TIMEOUT = 30.0
# Credential report cell values that mean "no value".
_REPORT_NONE = frozenset({"N/A", "not_supported", "no_information", ""})
_REPORT_BOOLS = frozenset(
    {"password_enabled", "mfa_active", "access_key_1_active", "access_key_2_active"}
    | {"cert_1_active", "cert_2_active"}
)
ROOT_REPORT_USER = "<root_account>"
# Keys never kept from ListVirtualMFADevices (the TOTP seed is a secret).
_MFA_SECRET_KEYS = ("Base32StringSeed", "QRCodePNG")
# Password policy: Terraform attribute -> API field.
_PASSWORD_POLICY_FIELDS = {
    "minimum_password_length": "MinimumPasswordLength",
    "require_symbols": "RequireSymbols",
    "require_numbers": "RequireNumbers",
    "require_uppercase_characters": "RequireUppercaseCharacters",
    "require_lowercase_characters": "RequireLowercaseCharacters",
    "allow_users_to_change_password": "AllowUsersToChangePassword",
    "expire_passwords": "ExpirePasswords",
    "max_password_age": "MaxPasswordAge",
    "password_reuse_prevention": "PasswordReusePrevention",
    "hard_expiry": "HardExpiry",
}
# What a user record lacks when GetAccountAuthorizationDetails failed.
_GAAD_USER_FIELDS = ["inline_policies", "managed_policy_arns", "groups", "permissions_boundary"]
_GAAD_ROLE_FIELDS = [
    "inline_policies",
    "managed_policy_arns",
    "permissions_boundary",
    "role_last_used",
    "instance_profile_arns",
]


# -- helpers ------------------------------------------------------------------------------
class _Pager:
    """Pages of one paginated operation; ``ok`` turns False (error recorded) on failure."""

    def __init__(self, ctx: CollectorContext, client: Any, operation: str, **params: Any):
        self.ctx = ctx
        self.client = client
        self.operation = operation
        self.params = params
        self.ok = True

    def pages(self) -> Iterator[dict[str, Any]]:
        try:
            yield from self.client.get_paginator(self.operation).paginate(**self.params)
        except CALL_ERRORS as exc:
            self.ok = False
            self.ctx.record(self.operation, exc)

    def items(self, key: str) -> Iterator[dict[str, Any]]:
        for page in self.pages():
            yield from page.get(key) or []


def _na(value: Any) -> Any:
    """AWS placeholders ("N/A") as None."""
    return None if value in (None, "N/A", "") else value


def _inline(items: Any) -> dict[str, Any]:
    return {
        str(p.get("PolicyName")): parse_policy(p.get("PolicyDocument"))
        for p in items or []
        if p.get("PolicyName") is not None
    }


def _attached(items: Any) -> list[str]:
    return [str(p["PolicyArn"]) for p in items or [] if p.get("PolicyArn")]


def _boundary(item: dict[str, Any]) -> str | None:
    pb = item.get("PermissionsBoundary") or {}
    arn = pb.get("PermissionsBoundaryArn")
    return str(arn) if arn else None


def _mfa_type(serial: str) -> str:
    if ":mfa/" in serial:
        return "virtual"
    if ":u2f/" in serial:
        return "u2f"
    return "hardware"


def _is_aws_managed(arn: str) -> bool:
    return ":iam::aws:policy/" in arn


def _timeout_error(ctx: CollectorContext, api: str, message: str) -> None:
    ctx.errors.add(CollectError(ctx.service, ctx.region, api, "Timeout", message))


def parse_credential_report(content: bytes | str) -> list[dict[str, Any]]:
    """Rows of the credential report CSV, typed: ``true``/``false`` columns as bool,
    ``N/A`` / ``not_supported`` / ``no_information`` as None, everything else (dates
    included) kept as the string AWS gave."""
    text = content.decode("utf-8") if isinstance(content, (bytes, bytearray)) else content
    rows: list[dict[str, Any]] = []
    for raw in csv.DictReader(io.StringIO(text)):
        row: dict[str, Any] = {}
        for key, value in raw.items():
            if key is None:
                continue
            val = (value or "").strip()
            if val in _REPORT_NONE:
                row[key] = None
            elif key in _REPORT_BOOLS or key.endswith("_active") or key.endswith("_enabled"):
                low = val.lower()
                row[key] = True if low == "true" else False if low == "false" else val
            else:
                row[key] = val
        rows.append(row)
    return rows


# -- collector ----------------------------------------------------------------------------
def collect(ctx: CollectorContext) -> Iterator[Resource]:
    iam = ctx.client()
    # Start the credential report first: it is generated while the rest is collected.
    report_started = ctx.call(iam, "generate_credential_report")

    # ListUsers / ListRoles: what GAAD lacks, and a stand-in when GAAD fails.
    users_pager = _Pager(ctx, iam, "list_users")
    listed_users = {u["Arn"]: u for u in users_pager.items("Users") if u.get("Arn")}
    roles_pager = _Pager(ctx, iam, "list_roles")
    listed_roles = {r["Arn"]: r for r in roles_pager.items("Roles") if r.get("Arn")}

    gaad = _Pager(ctx, iam, "get_account_authorization_details", Filter=GAAD_FILTERS)
    users: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    seen_roles: set[str] = set()
    instance_profiles: dict[str, dict[str, Any]] = {}
    emitted_policies: set[str] = set()
    referenced_policies: set[str] = set()

    for page in gaad.pages():
        users.extend(page.get("UserDetailList") or [])
        groups.extend(page.get("GroupDetailList") or [])
        for role in page.get("RoleDetailList") or []:
            seen_roles.add(role.get("Arn", ""))
            for ip in role.get("InstanceProfileList") or []:
                if ip.get("Arn"):
                    instance_profiles.setdefault(ip["Arn"], ip)
            rec = _role_record(ctx, role, listed_roles.get(role.get("Arn", "")))
            referenced_policies.update(rec.targets("HAS_POLICY"))
            referenced_policies.update(rec.targets("HAS_PERMISSIONS_BOUNDARY"))
            yield rec
        for pol in page.get("Policies") or []:
            arn = pol.get("Arn")
            if not arn:
                continue
            used = (pol.get("AttachmentCount") or 0) > 0 or (
                pol.get("PermissionsBoundaryUsageCount") or 0
            ) > 0
            if _is_aws_managed(arn) and not used:
                continue
            emitted_policies.add(arn)
            yield _policy_record(ctx, pol)

    for u in users:
        referenced_policies.update(_attached(u.get("AttachedManagedPolicies")))
        if _boundary(u):
            referenced_policies.add(str(_boundary(u)))
    for g in groups:
        referenced_policies.update(_attached(g.get("AttachedManagedPolicies")))

    if not gaad.ok:
        # Stand-ins from ListRoles for roles GAAD did not deliver.
        for arn, role in listed_roles.items():
            if arn not in seen_roles:
                yield _role_record(ctx, role, role, partial=True)
        seen_users = {u.get("Arn") for u in users}
        users.extend(
            dict(u, _partial=True) for arn, u in listed_users.items() if arn not in seen_users
        )
    del listed_roles

    # Groups (with their members' names).
    group_arns: dict[str, str] = {}
    members: dict[str, list[str]] = defaultdict(list)
    for g in groups:
        if g.get("GroupName") and g.get("Arn"):
            group_arns[g["GroupName"]] = g["Arn"]
    for u in users:
        for gname in u.get("GroupList") or []:
            members[gname].append(u.get("UserName", ""))
    for g in groups:
        yield _group_record(ctx, g, members.get(g.get("GroupName", ""), []), gaad.ok)
    del groups, members

    # Users and their access keys (per-user detail calls on the pool).
    def user_details(user: dict[str, Any]) -> list[Resource]:
        return _user_records(ctx, iam, user, listed_users, users_pager.ok, group_arns)

    for recs in ctx.map(user_details, users):
        yield from recs
    users, listed_users = [], {}  # free them before the account-level calls

    # Instance profiles: ListInstanceProfiles (includes profiles without a role), plus any
    # only seen in GAAD.
    ip_pager = _Pager(ctx, iam, "list_instance_profiles")
    for ip in ip_pager.items("InstanceProfiles"):
        if ip.get("Arn"):
            instance_profiles[ip["Arn"]] = ip
    for ip in instance_profiles.values():
        yield _instance_profile_record(ctx, ip)
    del instance_profiles

    # Managed policies in use that GAAD did not deliver (e.g. it failed part-way).
    missing = sorted(referenced_policies - emitted_policies)

    def fetch_policy(arn: str) -> Resource | None:
        return _fetch_policy(ctx, iam, arn)

    for maybe in ctx.map(fetch_policy, missing):
        if maybe is not None:
            yield maybe

    yield from _virtual_mfa_devices(ctx, iam)
    yield _password_policy(ctx, iam)
    yield _account_summary(ctx, iam)
    yield from _saml_providers(ctx, iam)
    yield from _oidc_providers(ctx, iam)
    yield from _server_certificates(ctx, iam)
    yield from _credential_report(ctx, iam, report_started.data.get("State"))


# -- principals ---------------------------------------------------------------------------
def _role_record(
    ctx: CollectorContext,
    role: dict[str, Any],
    listed: dict[str, Any] | None,
    *,
    partial: bool = False,
) -> Resource:
    arn = role["Arn"]
    unavailable: list[str] = []
    if partial:
        unavailable += [*_GAAD_ROLE_FIELDS, "tags"]
    extra = listed or {}
    max_session = extra.get("MaxSessionDuration", role.get("MaxSessionDuration"))
    if max_session is None:  # ListRoles failed or did not (yet) list this role
        unavailable.append("max_session_duration")
    last_used = role.get("RoleLastUsed")
    ip_arns = [ip["Arn"] for ip in role.get("InstanceProfileList") or [] if ip.get("Arn")]
    attached = _attached(role.get("AttachedManagedPolicies"))
    boundary = _boundary(role)
    rec = ctx.resource(
        uid=arn,
        type="aws_iam_role",
        name=role.get("RoleName", arn.rsplit("/", 1)[-1]),
        tags=tags_from_list(role.get("Tags")),
        config={
            "arn": arn,
            "name": role.get("RoleName"),
            "path": role.get("Path"),
            "unique_id": role.get("RoleId"),
            "create_date": role.get("CreateDate"),
            "description": extra.get("Description"),
            "assume_role_policy": parse_policy(role.get("AssumeRolePolicyDocument")),
            "inline_policies": None if partial else _inline(role.get("RolePolicyList")),
            "managed_policy_arns": None if partial else attached,
            "permissions_boundary": None if partial else boundary,
            "max_session_duration": max_session,
            "role_last_used": None
            if partial or not last_used
            else {
                "last_used_date": last_used.get("LastUsedDate"),
                "region": last_used.get("Region"),
            },
            "instance_profile_arns": None if partial else ip_arns,
        },
        raw={"RoleDetail": role} if not partial else {"Role": role},
        unavailable=unavailable,
    )
    for p in attached:
        rec.relate("HAS_POLICY", p)
    rec.relate("HAS_PERMISSIONS_BOUNDARY", boundary)
    return rec


def _group_record(
    ctx: CollectorContext, group: dict[str, Any], member_names: list[str], complete: bool
) -> Resource:
    arn = group["Arn"]
    attached = _attached(group.get("AttachedManagedPolicies"))
    rec = ctx.resource(
        uid=arn,
        type="aws_iam_group",
        name=group.get("GroupName", arn.rsplit("/", 1)[-1]),
        config={
            "arn": arn,
            "name": group.get("GroupName"),
            "path": group.get("Path"),
            "unique_id": group.get("GroupId"),
            "create_date": group.get("CreateDate"),
            "inline_policies": _inline(group.get("GroupPolicyList")),
            "managed_policy_arns": attached,
            # Members as seen in the users' group lists (complete only when GAAD was).
            "users": sorted(n for n in member_names if n) if complete else None,
        },
        raw={"GroupDetail": group},
        unavailable=[] if complete else ["users"],
    )
    for p in attached:
        rec.relate("HAS_POLICY", p)
    return rec


def _user_records(
    ctx: CollectorContext,
    iam: Any,
    user: dict[str, Any],
    listed_users: dict[str, dict[str, Any]],
    listed_ok: bool,
    group_arns: dict[str, str],
) -> list[Resource]:
    """The user's record plus one record per access key (detail calls happen here)."""
    name = user["UserName"]
    arn = user["Arn"]
    partial = bool(user.get("_partial"))
    unavailable: list[str] = [*_GAAD_USER_FIELDS, "tags"] if partial else []
    raw: dict[str, Any] = {("User" if partial else "UserDetail"): _strip_private(user)}
    out: list[Resource] = []

    listed = listed_users.get(arn) or {}
    if not listed_ok and not listed:
        unavailable.append("password_last_used")

    # Access keys.
    keys_res = ctx.call(iam, "list_access_keys", resource=arn, UserName=name)
    access_keys: list[dict[str, Any]] | None = None
    if keys_res.ok:
        metas = list(keys_res.data.get("AccessKeyMetadata") or [])
        marker = keys_res.data.get("Marker") if keys_res.data.get("IsTruncated") else None
        while marker:  # at most two keys per user; paginate anyway
            more = ctx.call(iam, "list_access_keys", resource=arn, UserName=name, Marker=marker)
            metas += more.data.get("AccessKeyMetadata") or []
            marker = more.data.get("Marker") if more.ok and more.data.get("IsTruncated") else None
        access_keys = []
        for meta in metas:
            rec = _access_key_record(ctx, iam, arn, name, meta)
            out.append(rec)
            access_keys.append(
                {
                    "id": meta.get("AccessKeyId"),
                    "status": meta.get("Status"),
                    "create_date": meta.get("CreateDate"),
                    "last_used_date": rec.config.get("last_used_date"),
                }
            )
        raw["AccessKeyMetadata"] = metas
    else:
        unavailable.append("access_keys")

    # MFA devices.
    mfa_items: list[dict[str, Any]] = []
    mfa_ok = True
    mfa = ctx.call(iam, "list_mfa_devices", resource=arn, UserName=name)
    while True:
        if not mfa.ok:
            mfa_ok = False
            break
        mfa_items += mfa.data.get("MFADevices") or []
        if not mfa.data.get("IsTruncated") or not mfa.data.get("Marker"):
            break
        mfa = ctx.call(
            iam, "list_mfa_devices", resource=arn, UserName=name, Marker=mfa.data["Marker"]
        )
    mfa_devices: list[dict[str, Any]] | None = None
    if mfa_ok:
        mfa_devices = [
            {
                "serial_number": d.get("SerialNumber"),
                "enable_date": d.get("EnableDate"),
                "type": _mfa_type(str(d.get("SerialNumber", ""))),
            }
            for d in mfa_items
        ]
        raw["MFADevices"] = mfa_items
    else:
        unavailable.append("mfa_devices")

    # Console password.
    lp = ctx.call(iam, "get_login_profile", absent=("NoSuchEntity",), resource=arn, UserName=name)
    login_profile: dict[str, Any] | None = None
    password_enabled: bool | None = None
    if lp.ok:
        prof = lp.data.get("LoginProfile") or {}
        login_profile = {
            "create_date": prof.get("CreateDate"),
            "password_reset_required": prof.get("PasswordResetRequired"),
        }
        password_enabled = True
        raw["LoginProfile"] = prof
    elif lp.absent:
        password_enabled = False
    else:
        unavailable += ["login_profile", "password_enabled"]

    group_names = list(user.get("GroupList") or [])
    attached = _attached(user.get("AttachedManagedPolicies"))
    boundary = _boundary(user)
    rec = ctx.resource(
        uid=arn,
        type="aws_iam_user",
        name=name,
        tags=tags_from_list(user.get("Tags")),
        config={
            "arn": arn,
            "name": name,
            "path": user.get("Path"),
            "user_id": user.get("UserId"),
            "unique_id": user.get("UserId"),
            "create_date": user.get("CreateDate"),
            "password_last_used": listed.get("PasswordLastUsed"),
            "inline_policies": None if partial else _inline(user.get("UserPolicyList")),
            "managed_policy_arns": None if partial else attached,
            "groups": None if partial else group_names,
            "permissions_boundary": None if partial else boundary,
            "access_keys": access_keys,
            "mfa_devices": mfa_devices,
            "login_profile": login_profile,
            "password_enabled": password_enabled,
        },
        raw=raw,
        unavailable=unavailable,
    )
    for g in group_names:
        rec.relate("MEMBER_OF", group_arns.get(g) or ctx.arn("iam", f"group/{g}", region=""))
    for p in attached:
        rec.relate("HAS_POLICY", p)
    rec.relate("HAS_PERMISSIONS_BOUNDARY", boundary)
    out.insert(0, rec)
    return out


def _strip_private(user: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in user.items() if not k.startswith("_")}


def _access_key_record(
    ctx: CollectorContext, iam: Any, user_arn: str, user_name: str, meta: dict[str, Any]
) -> Resource:
    key_id = str(meta.get("AccessKeyId"))
    uid = f"{user_arn}/access-key/{key_id}"
    lu = ctx.call(iam, "get_access_key_last_used", resource=uid, AccessKeyId=key_id)
    last = lu.data.get("AccessKeyLastUsed") or {}
    rec = ctx.resource(
        uid=uid,
        type="aws_iam_access_key",
        name=key_id,
        config={
            "id": key_id,
            "user": user_name,
            "user_arn": user_arn,
            "status": meta.get("Status"),
            "create_date": meta.get("CreateDate"),
            "last_used_date": last.get("LastUsedDate"),
            "last_used_service": _na(last.get("ServiceName")),
            "last_used_region": _na(last.get("Region")),
        },
        raw={"AccessKeyMetadata": meta, "AccessKeyLastUsed": last},
        unavailable=["last_used_date", "last_used_service", "last_used_region"]
        if lu.failed
        else [],
    )
    rec.relate("OWNED_BY", user_arn)
    return rec


# -- policies and instance profiles -------------------------------------------------------
def _policy_record(ctx: CollectorContext, pol: dict[str, Any]) -> Resource:
    arn = pol["Arn"]
    aws_managed = _is_aws_managed(arn)
    versions = list(pol.get("PolicyVersionList") or [])
    default_id = pol.get("DefaultVersionId")
    default = next(
        (v for v in versions if v.get("IsDefaultVersion") or v.get("VersionId") == default_id),
        None,
    )
    config: dict[str, Any] = {
        "arn": arn,
        "name": pol.get("PolicyName", arn.rsplit("/", 1)[-1]),
        "path": pol.get("Path"),
        "policy_id": pol.get("PolicyId"),
        "description": pol.get("Description"),
        "create_date": pol.get("CreateDate"),
        "update_date": pol.get("UpdateDate"),
        "default_version_id": default_id,
        "policy": parse_policy(default.get("Document")) if default else None,
        "attachment_count": pol.get("AttachmentCount"),
        "is_attachable": pol.get("IsAttachable"),
        "permissions_boundary_usage_count": pol.get("PermissionsBoundaryUsageCount"),
        "aws_managed": aws_managed,
    }
    raw_pol = dict(pol)
    if aws_managed:
        raw_pol["PolicyVersionList"] = [default] if default else []
    else:
        # Every version of a customer policy: a non-default version can be made default
        # (iam:SetDefaultPolicyVersion), so all of them matter.
        config["policy_versions"] = [
            {
                "version_id": v.get("VersionId"),
                "is_default_version": bool(v.get("IsDefaultVersion")),
                "create_date": v.get("CreateDate"),
                "policy": parse_policy(v.get("Document")),
            }
            for v in versions
        ]
    return ctx.resource(
        uid=arn,
        type="aws_iam_policy",
        name=str(config["name"]),
        config=config,
        raw={"Policy": raw_pol},
        unavailable=["policy"] if default is None else [],
    )


def _fetch_policy(ctx: CollectorContext, iam: Any, arn: str) -> Resource | None:
    got = ctx.call(iam, "get_policy", resource=arn, PolicyArn=arn)
    if not got.ok:
        return None
    pol = dict(got.data.get("Policy") or {})
    pol.setdefault("Arn", arn)
    version_id = pol.get("DefaultVersionId")
    ver = (
        ctx.call(iam, "get_policy_version", resource=arn, PolicyArn=arn, VersionId=version_id)
        if version_id
        else None
    )
    if ver is not None and ver.ok:
        pv = dict(ver.data.get("PolicyVersion") or {})
        pv["IsDefaultVersion"] = True
        pol["PolicyVersionList"] = [pv]
    rec = _policy_record(ctx, pol)
    rec.tags = tags_from_list(pol.get("Tags"))
    if not _is_aws_managed(arn):
        # Only the default version was read here.
        rec.config["policy_versions"] = None
        rec.unavailable.append("policy_versions")
    return rec


def _instance_profile_record(ctx: CollectorContext, ip: dict[str, Any]) -> Resource:
    arn = ip["Arn"]
    role_arns = [r["Arn"] for r in ip.get("Roles") or [] if r.get("Arn")]
    raw = dict(ip)
    raw["Roles"] = [
        {k: r.get(k) for k in ("RoleName", "RoleId", "Arn", "Path")} for r in ip.get("Roles") or []
    ]
    rec = ctx.resource(
        uid=arn,
        type="aws_iam_instance_profile",
        name=ip.get("InstanceProfileName", arn.rsplit("/", 1)[-1]),
        tags=tags_from_list(ip.get("Tags")),
        config={
            "arn": arn,
            "name": ip.get("InstanceProfileName"),
            "path": ip.get("Path"),
            "unique_id": ip.get("InstanceProfileId"),
            "create_date": ip.get("CreateDate"),
            "role": role_arns[0].rsplit("/", 1)[-1] if role_arns else None,
            "roles": role_arns,
        },
        raw={"InstanceProfile": raw},
    )
    for r in role_arns:
        rec.relate("RUNS_AS", r)
    return rec


# -- account-level ------------------------------------------------------------------------
def _virtual_mfa_devices(ctx: CollectorContext, iam: Any) -> Iterator[Resource]:
    root_arn = ctx.arn("iam", "root", region="")
    for d in _Pager(ctx, iam, "list_virtual_mfa_devices").items("VirtualMFADevices"):
        serial = d.get("SerialNumber")
        if not serial:
            continue
        dev = {k: v for k, v in d.items() if k not in _MFA_SECRET_KEYS}
        user = dev.get("User") or {}
        device_name = str(serial).rsplit("/", 1)[-1]
        user_arn = user.get("Arn")
        is_root = device_name == "root-account-mfa-device" or (
            bool(user_arn) and str(user_arn).endswith(":root")
        )
        if is_root and not user_arn and dev.get("EnableDate"):
            user_arn = root_arn
        rec = ctx.resource(
            uid=str(serial),
            type="aws_iam_virtual_mfa_device",
            name=device_name,
            tags=tags_from_list(dev.get("Tags")),
            config={
                "arn": serial,
                "serial_number": serial,
                "virtual_mfa_device_name": device_name,
                "path": str(serial).split(":mfa", 1)[-1].rsplit("/", 1)[0] + "/"
                if ":mfa" in str(serial)
                else None,
                "enable_date": dev.get("EnableDate"),
                "assigned": bool(dev.get("EnableDate") or user_arn),
                "user_name": user.get("UserName"),
                "user_arn": user_arn,
                "root_account": is_root,
            },
            raw={"VirtualMFADevice": dev},
        )
        rec.relate("OWNED_BY", user_arn)
        yield rec


def _password_policy(ctx: CollectorContext, iam: Any) -> Resource:
    res = ctx.call(iam, "get_account_password_policy", absent=("NoSuchEntity",))
    pol = res.data.get("PasswordPolicy") or {}
    config: dict[str, Any] = {
        "exists": True if res.ok else False if res.absent else None,
    }
    for tf_name, api_name in _PASSWORD_POLICY_FIELDS.items():
        config[tf_name] = pol.get(api_name) if res.ok else None
    if res.ok and config["max_password_age"] is None:
        config["max_password_age"] = 0  # Terraform's "never expires"
    return ctx.resource(
        uid=ctx.arn("iam", "account-password-policy", region=""),
        type="aws_iam_account_password_policy",
        name="account-password-policy",
        config=config,
        raw={"PasswordPolicy": pol} if res.ok else {},
        unavailable=list(config) if res.failed else [],
    )


def _account_summary(ctx: CollectorContext, iam: Any) -> Resource:
    res = ctx.call(iam, "get_account_summary")
    summary = dict(res.data.get("SummaryMap") or {})
    config: dict[str, Any] = dict(summary)

    def flag(key: str) -> bool | None:
        return bool(summary[key]) if res.ok and key in summary else None

    config["account_mfa_enabled"] = flag("AccountMFAEnabled")
    config["account_access_keys_present"] = flag("AccountAccessKeysPresent")
    config["account_signing_certificates_present"] = flag("AccountSigningCertificatesPresent")
    unavailable: list[str] = []
    if res.failed:
        unavailable = [
            "account_mfa_enabled",
            "account_access_keys_present",
            "account_signing_certificates_present",
        ]
    return ctx.resource(
        uid=ctx.arn("iam", "account-summary", region=""),
        type="aws_iam_account_summary",
        name="account-summary",
        config=config,
        raw={"SummaryMap": summary},
        unavailable=unavailable,
    )


def _saml_providers(ctx: CollectorContext, iam: Any) -> Iterator[Resource]:
    for p in ctx.pages(iam, "list_saml_providers", "SAMLProviderList"):
        arn = p.get("Arn")
        if not arn:
            continue
        yield ctx.resource(
            uid=arn,
            type="aws_iam_saml_provider",
            name=str(arn).rsplit("/", 1)[-1],
            tags=tags_from_list(p.get("Tags")),
            config={
                "arn": arn,
                "name": str(arn).rsplit("/", 1)[-1],
                "valid_until": p.get("ValidUntil"),
                "create_date": p.get("CreateDate"),
            },
            raw={"SAMLProvider": p},
        )


def _oidc_providers(ctx: CollectorContext, iam: Any) -> Iterator[Resource]:
    arns = [
        p["Arn"]
        for p in ctx.pages(iam, "list_open_id_connect_providers", "OpenIDConnectProviderList")
        if p.get("Arn")
    ]

    def detail(arn: str) -> Resource:
        got = ctx.call(
            iam, "get_open_id_connect_provider", resource=arn, OpenIDConnectProviderArn=arn
        )
        d = got.data
        return ctx.resource(
            uid=arn,
            type="aws_iam_openid_connect_provider",
            name=str(arn).split(":oidc-provider/", 1)[-1],
            tags=tags_from_list(d.get("Tags")),
            config={
                "arn": arn,
                "url": d.get("Url"),
                "client_id_list": d.get("ClientIDList") if got.ok else None,
                "thumbprint_list": d.get("ThumbprintList") if got.ok else None,
                "create_date": d.get("CreateDate"),
            },
            raw={"OpenIDConnectProvider": d},
            unavailable=["url", "client_id_list", "thumbprint_list"] if got.failed else [],
        )

    yield from ctx.map(detail, arns)


def _server_certificates(ctx: CollectorContext, iam: Any) -> Iterator[Resource]:
    for c in ctx.pages(iam, "list_server_certificates", "ServerCertificateMetadataList"):
        arn = c.get("Arn")
        if not arn:
            continue
        yield ctx.resource(
            uid=arn,
            type="aws_iam_server_certificate",
            name=c.get("ServerCertificateName", str(arn).rsplit("/", 1)[-1]),
            config={
                "arn": arn,
                "name": c.get("ServerCertificateName"),
                "path": c.get("Path"),
                "server_certificate_id": c.get("ServerCertificateId"),
                "upload_date": c.get("UploadDate"),
                "expiration": c.get("Expiration"),
            },
            raw={"ServerCertificateMetadata": c},
        )


def _credential_report(ctx: CollectorContext, iam: Any, state: str | None) -> Iterator[Resource]:
    """Wait (bounded) for the report started at the beginning, then one record per row."""
    deadline = time.monotonic() + CREDENTIAL_REPORT_TIMEOUT
    delay = 0.5
    while state != "COMPLETE":
        res = ctx.call(iam, "generate_credential_report")
        if not res.ok:
            return
        state = res.data.get("State")
        if state == "COMPLETE":
            break
        if time.monotonic() + delay > deadline:
            _timeout_error(
                ctx,
                "generate_credential_report",
                f"credential report not COMPLETE after {CREDENTIAL_REPORT_TIMEOUT:.0f}s",
            )
            return
        time.sleep(delay)
        delay = min(delay * 2, 4.0)
    got = ctx.call(iam, "get_credential_report")
    if not got.ok:
        return
    generated = got.data.get("GeneratedTime")
    root_arn = ctx.arn("iam", "root", region="")
    for row in parse_credential_report(got.data.get("Content") or b""):
        user = row.get("user")
        if not user:
            continue
        owner = row.get("arn") or (
            root_arn if user == ROOT_REPORT_USER else ctx.arn("iam", f"user/{user}", region="")
        )
        config = dict(row)
        config["root_account"] = user == ROOT_REPORT_USER
        config["report_generated_time"] = generated
        rec = ctx.resource(
            uid=ctx.arn("iam", f"credential-report/{user}", region=""),
            type="aws_iam_credential_report_entry",
            name=str(user),
            config=config,
            raw={"row": row, "GeneratedTime": generated},
        )
        rec.relate("OWNED_BY", owner)
        yield rec
