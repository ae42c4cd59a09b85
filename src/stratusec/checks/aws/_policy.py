"""Resource-policy analysis shared by the checks: which statements of a resource policy
(S3 bucket, Lambda function, SQS queue, SNS topic, ...) grant access to everyone.

A statement is a *public grant* when it has ``Effect: Allow`` and

* its ``Principal`` is ``"*"`` or names ``"*"`` for ``AWS`` / ``CanonicalUser``
  (``{"AWS": "*"}``, ``{"AWS": ["*", ...]}``), or it uses ``NotPrincipal`` (everyone but
  the listed principals), and
* no ``Condition`` narrows who can use it: a *positive* operator (``StringEquals``,
  ``StringLike``, ``ArnEquals``, ``ArnLike``, ``IpAddress``, their ``ForAnyValue:`` and
  ``IgnoreCase`` forms; never an ``...IfExists`` or ``ForAllValues:`` form, which pass
  when the key is missing from the request) on one of :data:`RESTRICTING_KEYS` with
  values that are not wildcards (``"*"``, ``0.0.0.0/0``, an ARN in any account), and
* it is not cancelled by a ``Deny`` statement for everyone that covers its actions and
  resources and applies to every request outside a restricting key (``StringNotEquals
  aws:SourceVpce``, ``NotIpAddress aws:SourceIp``, ...): the usual "deny unless from my
  VPC endpoint / organization" guard.

This is deliberately conservative in one direction only: anything it cannot prove is
restricted counts as public. It does not evaluate the request context (which it cannot
know) and it does not consider identity policies, SCPs or block-public-access settings;
callers that know such settings (S3) apply them on top.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Condition keys that, matched with a positive operator against concrete values, limit a
# statement to known principals, accounts, organizations, networks or source resources.
RESTRICTING_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "aws:vpcsourceip",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:userid",
        "aws:username",
        "kms:calleraccount",
        "s3:dataaccesspointaccount",
        "s3:dataaccesspointarn",
        "lambda:eventsourcetoken",
    }
)

_IP_KEYS = frozenset({"aws:sourceip", "aws:vpcsourceip"})
_WORLD_CIDRS = frozenset({"0.0.0.0/0", "::/0"})
_POSITIVE_OPERATORS = frozenset(
    {
        "stringequals",
        "stringequalsignorecase",
        "stringlike",
        "arnequals",
        "arnlike",
        "ipaddress",
    }
)
_NEGATED_OPERATORS = frozenset(
    {
        "stringnotequals",
        "stringnotequalsignorecase",
        "stringnotlike",
        "arnnotequals",
        "arnnotlike",
        "notipaddress",
    }
)


class PolicyUnreadable(ValueError):
    """The policy document is not a JSON object with statements (it could not be parsed)."""


@dataclass(frozen=True)
class PublicGrant:
    """One statement that grants access to everyone."""

    index: int  # 0-based position in the Statement list
    sid: str | None
    principal: Any
    actions: list[str]
    resources: list[str]
    conditions: dict[str, Any] = field(default_factory=dict)
    not_principal: bool = False
    not_action: bool = False

    @property
    def label(self) -> str:
        """``statement "PublicRead"`` or ``statement #2`` (1-based)."""
        return f'statement "{self.sid}"' if self.sid else f"statement #{self.index + 1}"

    def describe(self) -> str:
        who = (
            f"everyone except {self.principal}"
            if self.not_principal
            else f"Principal {_short(self.principal)}"
        )
        acts = ", ".join(self.actions) or "(no action)"
        if self.not_action:
            acts = f"every action except {acts}"
        cond = (
            " with no restricting condition"
            if not self.conditions
            else (" (its conditions do not restrict who can call)")
        )
        return f"{self.label} allows {acts} to {who}{cond}"

    def as_evidence(self) -> dict[str, Any]:
        return {
            "statement_index": self.index,
            "sid": self.sid,
            "principal": self.principal,
            "not_principal": self.not_principal,
            "actions": self.actions,
            "not_action": self.not_action,
            "resources": self.resources,
            "condition": self.conditions or None,
        }


def _short(principal: Any) -> str:
    if principal == "*":
        return '"*"'
    if isinstance(principal, dict):
        return "{" + ", ".join(f'"{k}": {_short(v)}' for k, v in principal.items()) + "}"
    if isinstance(principal, list):
        return "[" + ", ".join(_short(p) for p in principal) + "]"
    return f'"{principal}"'


def as_list(value: Any) -> list[Any]:
    """A policy element (string, list or missing) as a list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def statements(policy: Any) -> list[dict[str, Any]]:
    """The statements of a parsed policy ([] for no policy).

    Raises :class:`PolicyUnreadable` for a document that is not a policy object (the
    collectors keep an unparsable document as its text).
    """
    if policy is None:
        return []
    if not isinstance(policy, dict):
        raise PolicyUnreadable(f"policy is not a JSON object: {str(policy)[:80]!r}")
    stmts = policy.get("Statement")
    if stmts is None:
        return []
    if isinstance(stmts, dict):
        stmts = [stmts]
    if not isinstance(stmts, list):
        raise PolicyUnreadable("policy Statement is neither an object nor a list")
    return [s for s in stmts if isinstance(s, dict)]


def is_world_principal(principal: Any) -> bool:
    """``"*"``, or ``{"AWS": "*"}`` / ``{"CanonicalUser": "*"}`` (also inside a list)."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        for key in ("AWS", "CanonicalUser"):
            if "*" in as_list(principal.get(key)):
                return True
    return False


def _value_restricts(key: str, value: Any) -> bool:
    text = str(value).strip()
    if not text.strip("*?"):
        return False
    if key in _IP_KEYS:
        return text not in _WORLD_CIDRS
    if key.endswith("arn") and text.startswith("arn:"):
        parts = text.split(":", 5)
        if len(parts) < 6:
            return False
        account, resource = parts[4], parts[5]
        if account:
            return bool(account.strip("*?"))
        # No account field (S3): restricting unless the resource is all wildcards.
        return bool(resource.strip("*?/"))
    return True


def restricting_condition(condition: Any) -> tuple[str, str, list[Any]] | None:
    """(operator, key, values) of the first condition that limits who can use a statement,
    or None when no condition does."""
    if not isinstance(condition, dict):
        return None
    for operator, block in condition.items():
        op = str(operator).lower()
        if op.startswith("forallvalues:") or op.endswith("ifexists"):
            continue
        op = op.removeprefix("foranyvalue:")
        if op not in _POSITIVE_OPERATORS or not isinstance(block, dict):
            continue
        for key, values in block.items():
            k = str(key).lower()
            vals = as_list(values)
            if k in RESTRICTING_KEYS and vals and all(_value_restricts(k, v) for v in vals):
                return str(operator), str(key), vals
    return None


def _negated_restriction(condition: Any) -> tuple[str, str, list[Any]] | None:
    """(operator, key, values) of a negated condition on a restricting key: a Deny with it
    applies to every request that does NOT come from the named account / network."""
    if not isinstance(condition, dict):
        return None
    for operator, block in condition.items():
        op = str(operator).lower().removeprefix("foranyvalue:")
        if op not in _NEGATED_OPERATORS or not isinstance(block, dict):
            continue
        for key, values in block.items():
            k = str(key).lower()
            vals = as_list(values)
            if k in RESTRICTING_KEYS and vals and all(_value_restricts(k, v) for v in vals):
                return str(operator), str(key), vals
    return None


def _matches_any(value: str, patterns: Iterable[str]) -> bool:
    v = value.lower()
    return any(fnmatch.fnmatchcase(v, str(p).lower()) for p in patterns)


def _guarding_deny(allow: dict[str, Any], denies: list[dict[str, Any]]) -> bool:
    """Whether a Deny-for-everyone statement cancels ``allow`` outside a restricting key."""
    if "NotAction" in allow:
        allow_actions: list[str] = ["*"]
    else:
        allow_actions = [str(a) for a in as_list(allow.get("Action"))]
    allow_resources = [str(r) for r in as_list(allow.get("Resource"))] or ["*"]
    for deny in denies:
        if not is_world_principal(deny.get("Principal")) or "NotAction" in deny:
            continue
        if "NotResource" in deny or _negated_restriction(deny.get("Condition")) is None:
            continue
        deny_actions = [str(a) for a in as_list(deny.get("Action"))]
        deny_resources = [str(r) for r in as_list(deny.get("Resource"))] or ["*"]
        if all(_matches_any(a, deny_actions) for a in allow_actions) and all(
            _matches_any(r, deny_resources) for r in allow_resources
        ):
            return True
    return False


def public_grants(policy: Any) -> list[PublicGrant]:
    """Every statement of ``policy`` that grants access to everyone (see module doc).

    ``policy`` is the parsed document (dict) or None; raises :class:`PolicyUnreadable`
    for anything else.
    """
    stmts = statements(policy)
    denies = [s for s in stmts if str(s.get("Effect", "")).lower() == "deny"]
    out: list[PublicGrant] = []
    for i, st in enumerate(stmts):
        if str(st.get("Effect", "")).lower() != "allow":
            continue
        not_principal = "NotPrincipal" in st
        if not not_principal and not is_world_principal(st.get("Principal")):
            continue
        if restricting_condition(st.get("Condition")) is not None:
            continue
        if _guarding_deny(st, denies):
            continue
        not_action = "NotAction" in st
        out.append(
            PublicGrant(
                index=i,
                sid=st.get("Sid") or None,
                principal=st.get("NotPrincipal") if not_principal else st.get("Principal"),
                actions=[str(a) for a in as_list(st.get("NotAction" if not_action else "Action"))],
                resources=[str(r) for r in as_list(st.get("Resource"))],
                conditions=st.get("Condition") or {},
                not_principal=not_principal,
                not_action=not_action,
            )
        )
    return out


def describe_grants(grants: list[PublicGrant]) -> str:
    """One sentence per grant, joined with '; '."""
    return "; ".join(g.describe() for g in grants)


def action_allows(actions: Iterable[str], wanted: str) -> bool:
    """Whether any of ``actions`` (with IAM wildcards, case-insensitive) matches ``wanted``."""
    return _matches_any(wanted, actions)
