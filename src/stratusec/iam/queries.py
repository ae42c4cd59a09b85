"""Questions the graph builder and checks ask, built on ``evaluate``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from stratusec.iam.decision import Decision, Gate, StatementRef
from stratusec.iam.evaluator import Levels, _evaluate, _prepare
from stratusec.iam.policy import PolicyInput
from stratusec.iam.request import Principal, Request

ANALYSIS_PRINCIPAL: Final = Principal(arn="", type="unknown")
"""A principal of unknown shape: principal-derived keys are unknown."""

# Actions across services plus a made-up one (only "*" grants it) on "*" and on a made-up
# ARN (catches NotResource carve-outs): all must be allowed for "effectively *:* on *".
ADMIN_PROBES: Final = (
    ("iam:AttachRolePolicy", "*"),
    ("iam:CreatePolicyVersion", "*"),
    ("iam:PassRole", "*"),
    ("iam:CreateAccessKey", "*"),
    ("sts:AssumeRole", "*"),
    ("s3:GetObject", "*"),
    ("ec2:RunInstances", "*"),
    ("lambda:CreateFunction", "*"),
    ("kms:Decrypt", "*"),
    ("secretsmanager:GetSecretValue", "*"),
    ("organizations:LeaveOrganization", "*"),
    ("stratusecprobe:AnyAction", "*"),
    ("stratusecprobe:AnyAction", "arn:aws:stratusecprobe:us-east-1:000000000000:thing/probe"),
)


def allowed_actions(
    policies: Sequence[PolicyInput],
    resource: str,
    candidates: Iterable[str],
    *,
    principal: Principal | None = None,
    context: Mapping[str, Any] | None = None,
    resource_policy: PolicyInput | None = None,
    permissions_boundary: PolicyInput | None = None,
    session_policies: Sequence[PolicyInput] = (),
    scps: Levels = (),
    rcps: Levels = (),
    resource_account: str | None = None,
    resource_tags: Mapping[str, str] | None = None,
    include_denied: bool = False,
) -> dict[str, Decision]:
    """Evaluate each candidate action on ``resource`` for a principal holding
    ``policies`` (its identity policies). Returns ``{action: Decision}`` for the actions
    that are allowed or conditional (all of them with ``include_denied``)."""
    who = principal or ANALYSIS_PRINCIPAL
    prepared = _prepare(
        policies, resource_policy, permissions_boundary, session_policies, scps, rcps
    )
    out: dict[str, Decision] = {}
    for action in candidates:
        req = Request(
            who,
            action,
            resource,
            resource_account=resource_account,
            resource_tags=resource_tags,
            context=context or {},
        )
        d = _evaluate(req, *prepared, resource_account)
        if include_denied or d.possibly_allowed:
            out[action] = d
    return out


def admin_decision(
    policies: Sequence[PolicyInput],
    *,
    principal: Principal | None = None,
    context: Mapping[str, Any] | None = None,
    permissions_boundary: PolicyInput | None = None,
    session_policies: Sequence[PolicyInput] = (),
    scps: Levels = (),
) -> Decision:
    """Whether ``policies`` effectively allow ``*:*`` on ``*`` (considering NotAction,
    NotResource, denies, the boundary, session policies and SCPs): ``allow`` when every
    probe is allowed, ``conditional`` when each is allowed or conditional (``mfa_required``
    when MFA is all that is missing), else the first failing probe's decision."""
    who = principal or ANALYSIS_PRINCIPAL
    prepared = _prepare(policies, None, permissions_boundary, session_policies, scps, ())
    decisions: list[Decision] = []
    for action, resource in ADMIN_PROBES:
        req = Request(who, action, resource, context=context or {})
        d = _evaluate(req, *prepared, None)
        if not d.possibly_allowed:
            return d
        decisions.append(d)
    first = decisions[0]
    if all(d.allowed for d in decisions):
        return Decision("allow", "*", "*", allowed_by=_union_refs(decisions))
    keys = frozenset().union(*(d.conditional_keys for d in decisions))
    gates: dict[tuple[str, str, int], Gate] = {}
    for d in decisions:
        for g in d.gates:
            gates.setdefault((g.ref.kind, g.ref.policy, g.ref.index), g)
    return Decision(
        "conditional",
        "*",
        "*",
        allowed_by=_union_refs(decisions),
        conditional_keys=keys,
        gates=tuple(gates.values()),
        mfa_required=all(d.mfa_required or d.allowed for d in decisions)
        and any(d.mfa_required for d in decisions),
        notes=first.notes,
    )


def is_admin(
    policies: Sequence[PolicyInput],
    *,
    principal: Principal | None = None,
    context: Mapping[str, Any] | None = None,
    permissions_boundary: PolicyInput | None = None,
    session_policies: Sequence[PolicyInput] = (),
    scps: Levels = (),
) -> bool:
    """True when the policies certainly allow effectively ``*:*`` on ``*`` (see
    ``admin_decision`` for the conditional / MFA-gated answer)."""
    return admin_decision(
        policies,
        principal=principal,
        context=context,
        permissions_boundary=permissions_boundary,
        session_policies=session_policies,
        scps=scps,
    ).allowed


def _union_refs(decisions: list[Decision]) -> tuple[StatementRef, ...]:
    seen: dict[tuple[str, str, int], StatementRef] = {}
    for d in decisions:
        for r in d.allowed_by:
            seen.setdefault((r.kind, r.policy, r.index), r)
    return tuple(seen.values())


def trust_allows(
    trust_policy: PolicyInput | None,
    principal: Principal,
    *,
    role_arn: str | None = None,
    action: str = "sts:AssumeRole",
    context: Mapping[str, Any] | None = None,
    identity_policies: Sequence[PolicyInput] | None = None,
    permissions_boundary: PolicyInput | None = None,
    session_policies: Sequence[PolicyInput] = (),
    scps: Levels = (),
    rcps: Levels = (),
) -> Decision:
    """May ``principal`` assume the role with this trust policy?

    With ``identity_policies`` (and boundary, session policies, SCPs), the full decision.
    Without, only the trust side is judged: a trust policy that names the principal's
    account (``:root``) is reported as allowing, with a note that the principal's own
    policies must allow ``sts:AssumeRole`` too."""
    resource = role_arn or "*"
    req = Request(principal, action, resource, context=context or {})
    prepared = _prepare(
        identity_policies or (),
        trust_policy,
        permissions_boundary,
        session_policies,
        scps,
        rcps,
        "trust-policy",
    )
    return _evaluate(
        req,
        *prepared,
        req.resource_account,
        requirement="role trust policy",
        identity_assumed=identity_policies is None,
    )
