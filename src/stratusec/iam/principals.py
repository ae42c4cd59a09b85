"""From inventory records to evaluator inputs: the policies that apply to an IAM user or
role (inline, attached managed, group policies for users) and its permissions boundary.

One place for this, used by the IAM checks, the graph builder (CAN_ACCESS, CAN_ASSUME)
and privilege-escalation detection, so every part judges a principal the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from stratusec.iam.policy import Policy, parse_policy
from stratusec.iam.request import Principal
from stratusec.inventory.models import Resource

PRINCIPAL_TYPES = ("aws_iam_user", "aws_iam_role")


class ResourceLookup(Protocol):
    def get(self, uid: str | None) -> Resource | None: ...


@dataclass(frozen=True)
class PrincipalPolicies:
    """What the evaluator needs to judge requests made by one user or role."""

    resource: Resource
    principal: Principal
    identity: tuple[Policy, ...]
    boundary: Policy | None
    # Policies that apply but could not be read (ARNs or "inline policies of ..."): a
    # missing policy could hold a Deny, so allows found without it are not certain.
    unread: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.unread


def _managed(arn: str, inv: ResourceLookup, unread: list[str]) -> Policy | None:
    rec = inv.get(arn)
    doc = rec.config.get("policy") if rec is not None else None
    if rec is None or "policy" in rec.unavailable or not isinstance(doc, Mapping):
        unread.append(arn)
        return None
    return parse_policy(doc, rec.name)


def _inline(r: Resource, unread: list[str]) -> list[Policy]:
    docs = r.config.get("inline_policies")
    if "inline_policies" in r.unavailable or not isinstance(docs, Mapping):
        unread.append(f"inline policies of {r.name}")
        return []
    return [parse_policy(doc, str(name)) for name, doc in sorted(docs.items())]


def _attached(r: Resource, inv: ResourceLookup, unread: list[str]) -> list[Policy]:
    arns = r.config.get("managed_policy_arns")
    if "managed_policy_arns" in r.unavailable or arns is None:
        unread.append(f"managed policies of {r.name}")
        return []
    out = []
    for arn in arns:
        pol = _managed(str(arn), inv, unread)
        if pol is not None:
            out.append(pol)
    return out


def principal_of(r: Resource) -> Principal:
    """The evaluator's Principal for a user or role record (tags known from the record)."""
    return Principal.from_arn(r.uid, tags=dict(r.tags), userid=r.config.get("unique_id"))


def principal_policies(r: Resource, inv: ResourceLookup) -> PrincipalPolicies | None:
    """The policies of an ``aws_iam_user`` or ``aws_iam_role``; None for other types."""
    if r.type not in PRINCIPAL_TYPES:
        return None
    unread: list[str] = []
    identity = _inline(r, unread) + _attached(r, inv, unread)
    if r.type == "aws_iam_user":
        for group_arn in r.targets("MEMBER_OF"):
            group = inv.get(group_arn)
            if group is None:
                unread.append(group_arn)
                continue
            identity += _inline(group, unread) + _attached(group, inv, unread)
    boundary = None
    boundary_arn: Any = r.config.get("permissions_boundary")
    if isinstance(boundary_arn, Mapping):  # some records keep {"arn": ..., "type": ...}
        boundary_arn = boundary_arn.get("arn") or boundary_arn.get("PermissionsBoundaryArn")
    if boundary_arn:
        # An unreadable boundary is listed in ``unread`` and judged as absent: over-reporting
        # access is the safe side for a security tool.
        boundary = _managed(str(boundary_arn), inv, unread)
    return PrincipalPolicies(
        resource=r,
        principal=principal_of(r),
        identity=tuple(identity),
        boundary=boundary,
        unread=tuple(unread),
    )
