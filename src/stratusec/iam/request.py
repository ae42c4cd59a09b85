"""The request model: who (``Principal``) does what (action) to which resource, with the
condition keys known at analysis time.

Condition keys have three states:

* a value (``str``, ``bool``, ``int``, ``float``, ``datetime``, ``bytes`` or a list of
  those for multi-valued keys such as ``aws:TagKeys``);
* ``ABSENT``: known not to be in the request (``Null`` is true, ``...IfExists`` holds);
* unknown: simply not in the context and not derivable. A condition on an unknown key
  makes the decision *conditional* (see ``evaluator``), never silently allowed or denied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

PrincipalType = Literal[
    "user",  # IAM user (long-term credentials or its sessions)
    "role",  # an IAM role as a whole: any session of it, session name unknown
    "assumed-role",  # one role session (arn:aws:sts::ACCT:assumed-role/NAME/SESSION)
    "federated-user",  # sts:GetFederationToken session (arn:aws:sts::ACCT:federated-user/N)
    "root",  # the account root user
    "service",  # an AWS service principal (lambda.amazonaws.com)
    "federated",  # a web-identity / SAML identity (provider: cognito, SAML/OIDC ARN)
    "anonymous",  # unauthenticated
    "unknown",  # an IAM principal of unknown shape (principal-derived keys are unknown)
]

IAM_TYPES: Final = frozenset({"user", "role", "assumed-role", "federated-user", "root", "unknown"})


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __reduce__(self) -> str:
        return self._name


ABSENT: Final = _Sentinel("ABSENT")
"""Context value: the key is known to be absent from the request."""

UNKNOWN: Final = _Sentinel("UNKNOWN")
"""Lookup result: the key's value cannot be known at analysis time."""

_ARN_ACCOUNT = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:(\d{12}):")
_IAM_ARN = re.compile(
    r"^arn:(?P<partition>[^:]+):(?P<svc>iam|sts)::(?P<account>\d{12}):"
    r"(?P<kind>user|role|assumed-role|federated-user|root)(?:/(?P<rest>.*))?$"
)


def arn_account(arn: str) -> str | None:
    """The 12-digit account of an ARN, or None (S3 buckets, service names, ``*``)."""
    m = _ARN_ACCOUNT.match(arn)
    return m.group(1) if m else None


def arn_region(arn: str) -> str | None:
    parts = arn.split(":", 4)
    if len(parts) < 5 or parts[0] != "arn" or not parts[3]:
        return None
    return parts[3]


def _lower_tags(tags: Mapping[str, str] | None) -> dict[str, str] | None:
    if tags is None:
        return None
    return {str(k).lower(): str(v) for k, v in tags.items()}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller. Build with ``Principal.from_arn`` or the named constructors.

    ``tags`` is ``None`` when the principal's tags are unknown (``aws:PrincipalTag/*``
    conditions become conditional); ``{}`` means known to have no tags.
    ``parent_arn`` is the role ARN of an assumed-role session (or of a ``role``), or the
    IAM user ARN behind a federated-user session.
    """

    arn: str = ""
    type: PrincipalType = "unknown"
    account: str | None = None
    tags: Mapping[str, str] | None = None
    username: str | None = None
    userid: str | None = None
    parent_arn: str | None = None
    service: str | None = None
    provider: str | None = None
    org_id: str | None = None
    canonical_id: str | None = None
    tags_lc: dict[str, str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.account is None and self.arn:
            object.__setattr__(self, "account", arn_account(self.arn))
        if self.type == "role" and self.parent_arn is None:
            object.__setattr__(self, "parent_arn", self.arn)
        if self.type == "service" and self.service is None:
            object.__setattr__(self, "service", self.arn)
        object.__setattr__(self, "tags_lc", _lower_tags(self.tags))

    # ---- constructors -------------------------------------------------------------

    @classmethod
    def from_arn(cls, arn: str, **kw: Any) -> Principal:
        """Infer type, account, username and (for sessions) the role ARN from an ARN.

        For an assumed-role session the role ARN is rebuilt without a path; pass
        ``parent_arn`` when the role has a path."""
        m = _IAM_ARN.match(arn)
        if not m:
            if arn.endswith(".amazonaws.com") or arn.endswith(".amazonaws.com.cn"):
                return cls(arn=arn, type="service", service=arn, **kw)
            return cls(arn=arn, type="unknown", **kw)
        kind, rest, acct, part = m["kind"], m["rest"] or "", m["account"], m["partition"]
        if kind == "user":
            kw.setdefault("username", rest.rsplit("/", 1)[-1])
            return cls(arn=arn, type="user", account=acct, **kw)
        if kind == "role":
            return cls(arn=arn, type="role", account=acct, **kw)
        if kind == "assumed-role":
            role_name = rest.split("/", 1)[0]
            kw.setdefault("parent_arn", f"arn:{part}:iam::{acct}:role/{role_name}")
            return cls(arn=arn, type="assumed-role", account=acct, **kw)
        if kind == "federated-user":
            return cls(arn=arn, type="federated-user", account=acct, **kw)
        return cls(arn=arn, type="root", account=acct, **kw)

    @classmethod
    def root(cls, account: str, partition: str = "aws") -> Principal:
        return cls(arn=f"arn:{partition}:iam::{account}:root", type="root", account=account)

    @classmethod
    def for_service(cls, service: str) -> Principal:
        return cls(arn=service, type="service", service=service)

    @classmethod
    def federated_identity(cls, provider: str, **kw: Any) -> Principal:
        return cls(arn=kw.pop("arn", provider), type="federated", provider=provider, **kw)

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(arn="*", type="anonymous", userid="anonymous")

    @property
    def is_iam(self) -> bool:
        """An IAM identity (has identity policies, subject to SCPs), not a service,
        web/SAML identity or anonymous caller."""
        return self.type in IAM_TYPES


_EMPTY: Mapping[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Request:
    """One (principal, action, resource) question.

    ``resource_account`` defaults to the account in the resource ARN (S3 ARNs have none:
    pass it). ``resource_tags`` is ``None`` when unknown. ``context`` maps condition
    keys (any case) to values or ``ABSENT``."""

    principal: Principal
    action: str
    resource: str = "*"
    resource_account: str | None = None
    resource_tags: Mapping[str, str] | None = None
    context: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    action_lc: str = field(init=False, repr=False, compare=False)
    service_lc: str = field(init=False, repr=False, compare=False)
    context_lc: Mapping[str, Any] = field(init=False, repr=False, compare=False)
    resource_tags_lc: dict[str, str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        a = self.action.lower()
        object.__setattr__(self, "action_lc", a)
        object.__setattr__(self, "service_lc", a.split(":", 1)[0] if ":" in a else "")
        if self.resource_account is None:
            object.__setattr__(self, "resource_account", arn_account(self.resource))
        ctx = self.context
        object.__setattr__(
            self, "context_lc", {k.lower(): v for k, v in ctx.items()} if ctx else _EMPTY
        )
        object.__setattr__(self, "resource_tags_lc", _lower_tags(self.resource_tags))

    def with_context(self, extra: Mapping[str, Any]) -> Request:
        """A copy with ``extra`` merged over the context."""
        return Request(
            principal=self.principal,
            action=self.action,
            resource=self.resource,
            resource_account=self.resource_account,
            resource_tags=self.resource_tags,
            context={**self.context, **extra},
        )
