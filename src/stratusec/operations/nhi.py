"""Non-human identities: the IAM users and roles that agents and automation use, with the
credentials they hold and their last use, from the account's latest scan.

Which principals are agents: the name patterns and tag of ``config.access`` when the
config sets them (``agent_patterns``, ``agent_tag``), else the defaults of
``stratusec.checks.aws.nhi`` (``*-agent``, ``*-bot``, ``ci-*``, tag ``stratusec:agent=true``)
-- the same designation the scan hands the checks.
Users with an active access key and no console use, and roles assumed by an AWS service or
through a federated (OIDC/SAML) provider, are listed as non-human whatever their name.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from stratusec.checks.aws import nhi as nhi_checks
from stratusec.checks.aws.iam import _is_service_linked, _statements, _user_keys, days_since
from stratusec.checks.inventory import Inventory
from stratusec.errors import NotFoundError
from stratusec.inventory.models import Resource
from stratusec.operations.context import Context
from stratusec.operations.scan import check_settings
from stratusec.store.models import FindingRow

IAM_TYPES = (
    "aws_iam_user",
    "aws_iam_access_key",
    "aws_iam_role",
    "aws_iam_credential_report_entry",
)


def agent_designation(ctx: Context) -> tuple[tuple[str, ...], str]:
    """(name patterns, tag key) that designate agents: ``config.access.agent_patterns`` /
    ``agent_tag`` when set, else the check module's defaults."""
    return nhi_checks.designation(Inventory((), settings=check_settings(ctx.config)))


def _role_reason(role: Resource, patterns: tuple[str, ...], tag: str) -> str | None:
    designated = nhi_checks.agent_reason(role, patterns, tag)
    if designated:
        return designated
    if _is_service_linked(role):
        return None
    services: list[str] = []
    federated: list[str] = []
    for st in _statements(role.config.get("assume_role_policy")) or []:
        principal = st.get("Principal")
        if str(st.get("Effect", "")).lower() != "allow" or not isinstance(principal, dict):
            continue
        for kind, out in (("Service", services), ("Federated", federated)):
            value = principal.get(kind)
            out += [str(v) for v in (value if isinstance(value, list) else [value]) if v]
    if federated:
        return f"assumed through federated provider(s) {', '.join(sorted(set(federated)))}"
    if services:
        return f"assumed by service(s) {', '.join(sorted(set(services)))}"
    return None


def _key_row(key: Resource) -> dict[str, Any]:
    created = key.config.get("create_date")
    last = None if "last_used_date" in key.unavailable else key.config.get("last_used_date")
    return {
        "access_key_id": key.name,
        "status": key.config.get("status"),
        "created": str(created) if created else None,
        "age_days": days_since(created, nhi_checks.now()),
        "last_used": str(last) if last else None,
        "last_used_unknown": "last_used_date" in key.unavailable,
        "last_used_service": key.config.get("last_used_service"),
    }


def identities(
    inv: Inventory,
    patterns: tuple[str, ...] | None = None,
    tag: str | None = None,
) -> list[dict[str, Any]]:
    """The non-human identities of an inventory (pure; no findings). ``patterns`` / ``tag``
    default to the inventory's designation (its settings, else the check defaults)."""
    default_patterns, default_tag = nhi_checks.designation(inv)
    patterns = default_patterns if patterns is None else patterns
    tag = default_tag if tag is None else tag
    out: list[dict[str, Any]] = []
    for user in inv.of_type("aws_iam_user"):
        why = nhi_checks.user_reason(user, inv, patterns, tag)
        if why is None:
            continue
        keys = _user_keys(user, inv) or []
        out.append(
            {
                "name": user.name,
                "kind": "user",
                "arn": user.uid,
                "why": why,
                "agent": nhi_checks.agent_reason(user, patterns, tag) is not None,
                "credentials": [_key_row(k) for k in keys],
                "last_used": nhi_checks.last_used(user, keys),
                "_uids": [user.uid, *(k.uid for k in keys)],
            }
        )
    for role in inv.of_type("aws_iam_role"):
        why = _role_reason(role, patterns, tag)
        if why is None:
            continue
        out.append(
            {
                "name": role.name,
                "kind": "role",
                "arn": role.uid,
                "why": why,
                "agent": nhi_checks.agent_reason(role, patterns, tag) is not None,
                "credentials": [],  # roles hold only temporary session credentials
                "last_used": nhi_checks.last_used(role),
                "_uids": [role.uid],
            }
        )
    out.sort(key=lambda r: (not r["agent"], r["kind"], r["name"]))
    return out


def non_human_identities(ctx: Context, account: str) -> list[dict[str, Any]]:
    """The non-human identities of a configured account, from its latest scan: name, kind
    (user/role), arn, why it is non-human, agent (designated), credentials (access key id,
    status, created, age_days, last_used), last_used, findings (open finding ids)."""
    ctx.config.account(account)  # NotFoundError naming the configured accounts
    scan = ctx.store.latest_scan(account)
    if scan is None:
        raise NotFoundError(
            f"account {account!r} has not been scanned yet",
            hint=f"run 'stratusec scan --account {account}'",
        )
    inv = Inventory(
        ctx.store.iter_resources(scan.id, types=IAM_TYPES, include_raw=False),
        settings=check_settings(ctx.config),
    )
    found = identities(inv)
    uids = {u for row in found for u in row["_uids"]}
    by_uid: dict[str, list[str]] = defaultdict(list)
    if uids:
        q = select(FindingRow.resource_uid, FindingRow.id).where(
            FindingRow.account_name == account,
            FindingRow.status == "open",
            FindingRow.resource_uid.in_(sorted(uids)),
        )
        with ctx.store.session() as s:
            for uid, fid in s.execute(q):
                by_uid[uid].append(fid)
    for row in found:
        row["findings"] = sorted(f for u in row.pop("_uids") for f in by_uid.get(u, []))
    return found
