"""The decision logic: AWS's documented policy evaluation ("Policy evaluation logic",
"How AWS enforcement code logic evaluates requests", "Cross-account policy evaluation
logic"), over the policies the caller collected, with three-valued conditions.

Order of evaluation for one request:

1. **Explicit deny**: a Deny statement that applies in any policy (identity, resource,
   permissions boundary, session, an SCP or RCP that applies) gives ``deny``. A Deny
   whose conditions are unknown keeps an otherwise allowed request ``conditional``.
2. **RCPs** (resource's account; services that support them) and **SCPs** (principal's
   account; IAM principals only): every level of the hierarchy (root, OUs, account) must
   have an Allow that applies. They only restrict.
3. **Allows**, for an IAM principal (user, role, role session, federated user, root):

   * same account: identity policies (intersected with the permissions boundary and
     session policies when present) OR the resource policy. A resource policy that
     names the caller itself (user ARN, role session ARN, ``*``) is not limited by the
     boundary or session policies; one that names the role ARN of a session (or the IAM
     user behind a federated-user session) is. A resource policy that names the
     caller's account (``123456789012`` / ``arn:aws:iam::123456789012:root``) delegates
     to the identity side and grants nothing by itself.
   * IAM role trust policies (``sts:AssumeRole*``, ``sts:TagSession``,
     ``sts:SetSourceIdentity`` on a role) and KMS key policies are required even in the
     same account: the resource policy must allow the caller directly, or delegate to
     the account root (then the identity side must allow too). A key policy without a
     statement for the account root does not let IAM policies grant anything.
   * cross-account: the identity side AND the resource policy (naming the caller, its
     role, or its account) must both allow.
   * the account root user's identity side always allows (it has full access in its
     account): subject to SCPs, explicit denies, key / trust policies, and cross-account
     to the resource policy.

   For a service principal, a web-identity/SAML identity or an anonymous caller, only
   the resource policy can allow (with RCPs).

Simplifications (documented in docs/iam-evaluator.md too):

* Identity policies are taken as given: the caller gathers a user's inline, managed and
  group policies, or a role's. Session tags, ``aws:CalledVia`` chains and
  service-specific authorisation (S3 ACLs, Object Ownership, Block Public Access, KMS
  grants, VPC endpoint policies) are not modelled.
* SCPs/RCPs are applied when passed: the caller passes none for the management account.
  Service-linked roles (``/aws-service-role/``) are exempt from both, as in AWS.
* ``Principal: "*"`` (and ``{"AWS": "*"}``) names the caller directly, so it is not
  limited by a boundary or session policy (a conservative reading: it over-reports).
* A resource whose account is unknown (S3 ARNs without ``resource_account``) is taken
  to be in the caller's account (the more permissive reading).
* ``NotPrincipal`` with Allow is evaluated as "everyone except" (legacy behaviour that
  AWS no longer accepts); with Deny, the caller is excepted only when every layer
  (account, role, session / user) is listed, and never when it has a boundary.
* A role ``Principal`` of type ``role`` stands for any session of the role: a resource
  policy naming a specific session ARN does not match it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final

from stratusec.iam.conditions import evaluate_conditions
from stratusec.iam.context import MFA_KEYS, Lookup, make_lookup
from stratusec.iam.decision import Decision, Gate, PolicyKind, StatementRef
from stratusec.iam.matching import Tri, tri_and, tri_or
from stratusec.iam.policy import (
    ACCOUNT,
    DIRECT,
    NO_MATCH,
    PARENT,
    Policy,
    PolicyInput,
    Statement,
    as_policies,
    parse_policy,
)
from stratusec.iam.request import Request

TRUST_ACTIONS: Final = frozenset(
    {
        "sts:assumerole",
        "sts:assumerolewithsaml",
        "sts:assumerolewithwebidentity",
        "sts:tagsession",
        "sts:setsourceidentity",
        "sts:setcontext",
    }
)
"""Actions authorised against a role's trust policy."""

RCP_SERVICES: Final = frozenset(
    {
        "s3",
        "sts",
        "sqs",
        "kms",
        "secretsmanager",
        "cognito-identity",
        "ecr",
        "aoss",
        "dynamodb",
        "logs",
    }
)
"""Services whose resources RCPs apply to (AWS Organizations, 2025)."""

MFA_CONTEXT: Final[Mapping[str, Any]] = {
    "aws:MultiFactorAuthPresent": True,
    "aws:MultiFactorAuthAge": 0,
}
_SOURCE_KEYS: Final = frozenset(
    {"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"}
)

Levels = Sequence["PolicyInput | Sequence[PolicyInput]"]
# (policy kind, policy, statement, tri, principal match)
_Match = tuple[PolicyKind, Policy, Statement, Tri, int]


def resource_policy_requirement(req: Request) -> str | None:
    """``"role trust policy"`` / ``"KMS key policy"`` when the resource policy must
    allow the request even in the same account; else None."""
    if req.service_lc == "sts" and req.action_lc in TRUST_ACTIONS and ":role/" in req.resource:
        return "role trust policy"
    if req.service_lc == "kms" and ":key/" in req.resource:
        return "KMS key policy"
    return None


def _levels(levels: Levels, prefix: str) -> tuple[tuple[Policy, ...], ...]:
    if not levels:
        return ()
    out = []
    for i, level in enumerate(levels):
        if isinstance(level, (Policy, Mapping, str)):
            level = (level,)
        out.append(as_policies(level, prefix=f"{prefix}[{i}]"))
    return tuple(out)


def _name(doc: Any, default: str) -> str:
    if isinstance(doc, Policy):
        return doc.name
    pid = doc.get("Id") if isinstance(doc, Mapping) else None
    return str(pid) if pid else default


def _scan(
    policies: Sequence[Policy],
    kind: PolicyKind,
    req: Request,
    look: Lookup,
    check_principal: bool,
    has_boundary: bool,
    allows: list[_Match],
    denies: list[_Match],
) -> None:
    act = req.action_lc
    svc = req.service_lc
    res = req.resource
    p = req.principal
    for pol in policies:
        for st in pol.for_service(svc):
            if st.action_set.match(act) is st.not_action:
                continue
            t: Tri = True
            rs = st.resource_set
            if rs is not None:
                r = rs.match(res, look)
                if st.not_resource:
                    if r is True:
                        continue
                    t = True if r is False else r
                elif r is False:
                    continue
                else:
                    t = r
            how = DIRECT
            if check_principal:
                spec = st.principal
                if spec is None:
                    continue  # a resource policy statement must name its principals
                if st.not_principal:
                    if not (has_boundary and not st.allow) and spec.excludes(p):
                        continue
                else:
                    how = spec.match(p)
                    if how == NO_MATCH:
                        continue
            if st.conditions:
                c = evaluate_conditions(st.conditions, look)
                if c is False:
                    continue
                t = tri_and(t, c)
            (allows if st.allow else denies).append((kind, pol, st, t, how))


def _tri(matches: list[_Match], how: int | None = None) -> Tri:
    unknown: frozenset[str] | None = None
    for m in matches:
        if how is not None and m[4] != how:
            continue
        t = m[3]
        if t is True:
            return True
        assert isinstance(t, frozenset)
        unknown = t if unknown is None else unknown | t
    return unknown if unknown else False


def _ref(m: _Match) -> StatementRef:
    return StatementRef(m[1].name, m[0], m[2])


def _is_service_linked(arn: str | None) -> bool:
    return arn is not None and ":role/aws-service-role/" in arn


def evaluate(
    request: Request,
    *,
    identity_policies: Sequence[PolicyInput] = (),
    resource_policy: PolicyInput | None = None,
    permissions_boundary: PolicyInput | None = None,
    session_policies: Sequence[PolicyInput] = (),
    scps: Levels = (),
    rcps: Levels = (),
    resource_account: str | None = None,
) -> Decision:
    """Decide ``request`` against the policies that apply to it.

    ``identity_policies``: the principal's policies (user: inline + managed + groups';
    role: inline + managed). ``resource_policy``: the resource's policy (bucket/key/queue/
    topic/secret/function policy, or the role trust policy for ``sts:AssumeRole``).
    ``scps`` / ``rcps``: one item per level of the organisation (root, OUs, account), each
    a policy or a list of the policies attached there. Policies are parsed documents
    (``parse_policy``) or raw JSON dicts/texts. ``resource_account`` overrides the
    request's."""
    return _evaluate(
        request,
        *_prepare(
            identity_policies,
            resource_policy,
            permissions_boundary,
            session_policies,
            scps,
            rcps,
        ),
        resource_account,
    )


_Prepared = tuple[
    tuple[Policy, ...],
    Policy | None,
    Policy | None,
    tuple[Policy, ...],
    tuple[tuple[Policy, ...], ...],
    tuple[tuple[Policy, ...], ...],
]


def _prepare(
    identity_policies: Sequence[PolicyInput],
    resource_policy: PolicyInput | None,
    permissions_boundary: PolicyInput | None,
    session_policies: Sequence[PolicyInput],
    scps: Levels,
    rcps: Levels,
    resource_policy_name: str = "resource-policy",
) -> _Prepared:
    """The policy inputs normalised to parsed policies (raw documents named by their
    ``Id`` or their role), in ``_evaluate``'s argument order."""
    return (
        as_policies(identity_policies, prefix="identity"),
        None
        if resource_policy is None
        else parse_policy(resource_policy, _name(resource_policy, resource_policy_name)),
        None
        if permissions_boundary is None
        else parse_policy(permissions_boundary, _name(permissions_boundary, "boundary")),
        as_policies(session_policies, prefix="session") if session_policies else (),
        _levels(scps, "scp"),
        _levels(rcps, "rcp"),
    )


def _evaluate(
    request: Request,
    ids: tuple[Policy, ...],
    rbp: Policy | None,
    bnd: Policy | None,
    sess: tuple[Policy, ...],
    scp_levels: tuple[tuple[Policy, ...], ...],
    rcp_levels: tuple[tuple[Policy, ...], ...],
    resource_account: str | None,
    requirement: str | None = None,
    identity_assumed: bool = False,
) -> Decision:
    args = (ids, rbp, bnd, sess, scp_levels, rcp_levels, resource_account)
    d = _decide(request, *args, requirement, identity_assumed)
    if d.decision == "conditional" and all(k.lower() in MFA_KEYS for k in d.conditional_keys):
        with_mfa = _decide(request.with_context(MFA_CONTEXT), *args, requirement, identity_assumed)
        if with_mfa.decision == "allow":
            d = replace(d, mfa_required=True)
    return d


def _decide(
    req: Request,
    ids: tuple[Policy, ...],
    rbp: Policy | None,
    bnd: Policy | None,
    sess: tuple[Policy, ...],
    scp_levels: tuple[tuple[Policy, ...], ...],
    rcp_levels: tuple[tuple[Policy, ...], ...],
    resource_account: str | None,
    requirement: str | None,
    identity_assumed: bool,
) -> Decision:
    p = req.principal
    racct = resource_account if resource_account is not None else req.resource_account
    look = make_lookup(req, racct)
    has_boundary = bnd is not None
    if requirement is None:
        requirement = resource_policy_requirement(req)

    id_allows: list[_Match] = []
    denies: list[_Match] = []
    _scan(ids, "identity", req, look, False, has_boundary, id_allows, denies)
    bnd_allows: list[_Match] = []
    if bnd is not None:
        _scan((bnd,), "boundary", req, look, False, has_boundary, bnd_allows, denies)
    sess_allows: list[_Match] = []
    if sess:
        _scan(sess, "session", req, look, False, has_boundary, sess_allows, denies)
    rb_allows: list[_Match] = []
    if rbp is not None:
        _scan((rbp,), "resource", req, look, True, has_boundary, rb_allows, denies)
    scp_t: Tri = True
    rcp_t: Tri = True
    missing: list[str] = []
    if scp_levels or rcp_levels:
        slr = _is_service_linked(p.arn) or _is_service_linked(p.parent_arn)
        if scp_levels and p.is_iam and not slr:
            for i, level in enumerate(scp_levels):
                allows: list[_Match] = []
                _scan(level, "scp", req, look, False, has_boundary, allows, denies)
                lt = _tri(allows)
                if lt is False:
                    missing.append(f"no SCP at level {i} ({_names(level)}) allows it")
                scp_t = tri_and(scp_t, lt)
        if rcp_levels and req.service_lc in RCP_SERVICES and not slr:
            for i, level in enumerate(rcp_levels):
                allows = []
                _scan(level, "rcp", req, look, True, has_boundary, allows, denies)
                lt = _tri(allows)
                if lt is False:
                    missing.append(f"no RCP at level {i} ({_names(level)}) allows it")
                rcp_t = tri_and(rcp_t, lt)

    # 1. explicit deny
    deny_t = _tri(denies) if denies else False
    if deny_t is True:
        return Decision(
            "deny",
            req.action,
            req.resource,
            allowed_by=tuple([_ref(m) for m in id_allows + rb_allows]),
            denied_by=tuple([_ref(m) for m in denies if m[3] is True]),
        )

    # 2. allows
    notes: list[str] = []
    allow: Tri
    if p.is_iam:
        same_account = racct is None or p.account is None or p.account == racct
        if identity_assumed:
            id_t: Tri = True
            bnd_t: Tri = True
            sess_t: Tri = True
            notes.append(
                "identity side not evaluated: the principal's own policies must also allow it"
            )
        else:
            if p.type == "root":
                id_t = True
                notes.append("the account root user is allowed by its own account")
            else:
                id_t = _tri(id_allows)
            bnd_t = _tri(bnd_allows) if bnd is not None else True
            sess_t = _tri(sess_allows) if sess else True
        identity_side = tri_and(tri_and(id_t, bnd_t), sess_t)
        if rb_allows:
            direct = _tri(rb_allows, DIRECT)
            parent = _tri(rb_allows, PARENT)
            acct = _tri(rb_allows, ACCOUNT)
        else:
            direct = parent = acct = False
        if same_account:
            if direct is False and parent is False:
                via_rbp: Tri = False
            else:
                via_rbp = tri_or(direct, tri_and(parent, tri_and(bnd_t, sess_t)))
            if requirement is not None:
                allow = tri_or(via_rbp, tri_and(acct, identity_side))
            else:
                allow = tri_or(identity_side, via_rbp)
        else:
            allow = tri_and(identity_side, tri_or(tri_or(direct, parent), acct))
        if allow is False:
            _explain_iam(
                missing, same_account, requirement, rbp, bnd, id_t, bnd_t, sess_t,
                direct, parent, acct,
            )  # fmt: skip
        if racct is None and p.account is not None and rbp is not None:
            notes.append("resource account unknown: evaluated as the principal's account")
    else:
        allow = _tri(rb_allows)
        if allow is False:
            missing.append(
                "no resource policy" if rbp is None
                else f"resource policy {rbp.name} does not allow this {p.type} principal"
            )  # fmt: skip
    if scp_t is not True or rcp_t is not True:
        allow = tri_and(tri_and(allow, scp_t), rcp_t)

    allowed_by = tuple([_ref(m) for m in id_allows + rb_allows])
    if allow is False:
        return Decision(
            "implicit_deny",
            req.action,
            req.resource,
            allowed_by=allowed_by,
            missing=tuple(missing) or ("no statement allows it",),
            notes=tuple(notes),
        )
    if p.type == "service":
        notes.extend(_confused_deputy_notes(rb_allows))
    if allow is True and deny_t is False:
        return Decision(
            "allow", req.action, req.resource, allowed_by=allowed_by, notes=tuple(notes)
        )

    keys: frozenset[str] = frozenset()
    if isinstance(allow, frozenset):
        keys |= allow
    if isinstance(deny_t, frozenset):
        keys |= deny_t
    everything = id_allows + bnd_allows + sess_allows + rb_allows + denies
    gates = tuple(
        Gate(_ref(m), m[3]) for m in everything if isinstance(m[3], frozenset) and m[3] & keys
    )
    return Decision(
        "conditional",
        req.action,
        req.resource,
        allowed_by=allowed_by,
        conditional_keys=keys,
        gates=gates,
        notes=tuple(notes),
    )


def _names(level: Sequence[Policy]) -> str:
    return ", ".join(p.name for p in level) or "none attached"


def _explain_iam(
    missing: list[str],
    same_account: bool,
    requirement: str | None,
    rbp: Policy | None,
    bnd: Policy | None,
    id_t: Tri,
    bnd_t: Tri,
    sess_t: Tri,
    direct: Tri,
    parent: Tri,
    acct: Tri,
) -> None:
    rbp_grants = direct is not False or parent is not False
    if not same_account:
        if id_t is False:
            missing.append("cross-account: the principal's identity policies do not allow it")
        if rbp is None:
            missing.append("cross-account: the resource has no resource policy to allow it")
        elif not rbp_grants and acct is False:
            missing.append(
                f"cross-account: the resource policy {rbp.name} does not allow the principal"
            )
    elif requirement is not None:
        if rbp is None:
            missing.append(f"no {requirement} was supplied (it must allow the principal)")
        elif not rbp_grants and acct is False:
            extra = (
                " and does not delegate to IAM (no statement for the account root)"
                if requirement == "KMS key policy"
                else ""
            )
            missing.append(f"the {requirement} {rbp.name} does not allow this principal{extra}")
        elif not rbp_grants and id_t is False:
            missing.append(
                f"the {requirement} {rbp.name} delegates to the account, but no "
                "identity-based policy allows it"
            )
    elif id_t is False and not rbp_grants:
        missing.append("no identity-based or resource-based policy allows it")
    if bnd_t is False and bnd is not None:
        missing.append(f"the permissions boundary {bnd.name} does not allow it")
    if sess_t is False:
        missing.append("the session policies do not allow it")


def _confused_deputy_notes(rb_allows: list[_Match]) -> list[str]:
    out = []
    for m in rb_allows:
        st = m[2]
        if m[4] == DIRECT and not any(c.key_lc in _SOURCE_KEYS for c in st.conditions):
            out.append(
                f"resource policy {m[1].name} statement {st.index} grants a service principal "
                "without aws:SourceArn/aws:SourceAccount (confused deputy)"
            )
    return out
