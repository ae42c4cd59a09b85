"""Just-in-time AWS access: a scoped, short-lived session on a target role, proven first.

The broker assumes the target role with ``DurationSeconds`` = the grant and an inline
session policy that allows exactly the granted actions on the granted resources. Before
any credential exists, the IAM evaluator proves the session: every granted (action,
resource) pair is allowed by the role's policies intersected with the session policy, and
a sample of what the role could otherwise do is not. Revocation attaches the
AWS-documented "revoke older sessions" policy to the target role (Deny ``*`` for sessions
issued before now).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stratusec.config import Account, CredentialSource
from stratusec.errors import StratusecError
from stratusec.governance.redact import secret_fingerprint
from stratusec.iam.actions import expand_actions
from stratusec.iam.evaluator import evaluate
from stratusec.iam.principals import principal_policies
from stratusec.iam.request import Request
from stratusec.inventory.models import Resource
from stratusec.providers.aws.session import home_region

AWS_MIN_SECONDS = 900
DEFAULT_MAX_SECONDS = 3600
REVOKE_POLICY_NAME = "AWSRevokeOlderSessions"
_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$")


class AccessError(StratusecError):
    """A request cannot be granted as asked; nothing was granted."""


@dataclass(frozen=True)
class AccessLevel:
    """A named, pre-agreed kind of access (from config)."""

    name: str
    account: str
    target_role: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    max_seconds: int = DEFAULT_MAX_SECONDS
    auto_grant: bool = False
    requesters: tuple[str, ...] = ("operator", "admin")


@dataclass
class Scope:
    """What a grant allows: exact actions on exact resources, for ``seconds``."""

    actions: list[str]
    resources: list[str]
    seconds: int
    notes: list[str] = field(default_factory=list)

    def session_policy(self) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "StratusecGrant",
                    "Effect": "Allow",
                    "Action": sorted(self.actions),
                    "Resource": sorted(self.resources),
                }
            ],
        }


def _within(value: str, patterns: Sequence[str], *, case: bool) -> bool:
    v = value if case else value.lower()
    return any(fnmatch.fnmatchcase(v, p if case else p.lower()) for p in patterns)


def scope_request(
    level: AccessLevel,
    *,
    actions: Sequence[str] | None,
    resources: Sequence[str] | None,
    seconds: int,
    role_max_seconds: int | None = None,
) -> Scope:
    """Check a request against its level and the AWS limits; the granted scope.

    Omitted actions/resources take the level's. Every requested action must fall within
    the level's actions, every resource within its resource patterns (cloud data plays no
    part here), and the duration within [900 s, min(level, role maximum)]."""
    acts = list(actions) if actions else list(level.actions)
    res = list(resources) if resources else list(level.resources)
    for a in acts:
        if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9*?]+", a):
            raise AccessError(f"malformed action {a!r}; write service:Action, e.g. s3:GetObject")
        if not _within(a, level.actions, case=False):
            raise AccessError(
                f"action {a} is outside access level {level.name}; allowed: "
                f"{', '.join(level.actions)}"
            )
    for r in res:
        if r != "*" and not _ARN.match(r):
            raise AccessError(f"malformed resource ARN {r!r}")
        if not _within(r, level.resources, case=True):
            raise AccessError(
                f"resource {r} is outside access level {level.name}; allowed: "
                f"{', '.join(level.resources)}"
            )
    limit = min(level.max_seconds, role_max_seconds or level.max_seconds)
    if seconds < AWS_MIN_SECONDS:
        raise AccessError(f"duration {seconds} s is below the AWS minimum of {AWS_MIN_SECONDS} s")
    if seconds > limit:
        raise AccessError(
            f"duration {seconds} s is over the maximum of {limit} s for level {level.name}"
            + (
                " (the target role's own MaxSessionDuration)"
                if role_max_seconds is not None and role_max_seconds < level.max_seconds
                else ""
            )
        )
    return Scope(actions=acts, resources=res, seconds=seconds)


class _Lookup:
    def __init__(self, lookup: Callable[[str | None], Resource | None]) -> None:
        self._lookup = lookup

    def get(self, uid: str | None) -> Resource | None:
        return self._lookup(uid)


class SessionDecider:
    """``decider(action, resource, with_session)``: the evaluator's decision for the role
    alone, or for a session of the role with the grant's session policy."""

    def __init__(
        self, role: Resource, lookup: Callable[[str | None], Resource | None], scope: Scope
    ) -> None:
        pp = principal_policies(role, _Lookup(lookup))
        if pp is None:
            raise AccessError(f"{role.uid} is not an IAM role")
        self.role = role
        self.pp = pp
        self.unread: tuple[str, ...] = tuple(pp.unread)
        self.policy = scope.session_policy()

    def __call__(self, action: str, resource: str, with_session: bool) -> Any:
        return evaluate(
            # S3 ARNs carry no account: the grant is within the role's own account.
            Request(
                principal=self.pp.principal,
                action=action,
                resource=resource,
                resource_account=self.role.account,
            ),
            identity_policies=self.pp.identity,
            permissions_boundary=self.pp.boundary,
            session_policies=[self.policy] if with_session else (),
        )


def prove(
    role: Resource,
    lookup: Callable[[str | None], Resource | None],
    scope: Scope,
    *,
    sample: int = 60,
) -> dict[str, Any]:
    """The evaluator's proof that the session allows the grant and only the grant."""
    evaluate_pair = SessionDecider(role, lookup, scope)
    unread = evaluate_pair.unread
    policy = evaluate_pair.policy

    def decide(action: str, resource: str, with_session: bool) -> str:
        return str(evaluate_pair(action, resource, with_session).decision)

    granted = [
        (a, r)
        for pattern in scope.actions
        for a in (expand_actions(pattern) or (pattern,))
        for r in scope.resources
    ]
    not_allowed = [(a, r) for a, r in granted if decide(a, r, True) != "allow"]
    # What the role alone may do on the same services, outside the grant: sampled.
    services = sorted({a.split(":", 1)[0] for a in scope.actions})
    outside: list[tuple[str, str]] = []
    for svc in services:
        for a in expand_actions(f"{svc}:*"):
            if _within(a, scope.actions, case=False):
                continue
            outside.extend((a, r) for r in [*scope.resources, "*"][:2])
    step = max(1, len(outside) // sample) if outside else 1
    sampled = outside[::step][:sample]
    role_allows = [(a, r) for a, r in sampled if decide(a, r, False) == "allow"]
    leaks = [(a, r) for a, r in role_allows if decide(a, r, True) != "implicit_deny"]
    return {
        "ok": not not_allowed and not leaks and not unread,
        "granted_pairs": len(granted),
        "granted_not_allowed": [f"{a} on {r}" for a, r in not_allowed],
        "sampled_outside": len(sampled),
        "role_allows_outside": len(role_allows),
        "session_allows_outside": [f"{a} on {r}" for a, r in leaks],
        "unread_policies": list(unread),
        "session_policy": policy,
    }


_BROKER_CLIENTS: dict[tuple[str, ...], Any] = {}
_BROKER_LOCK = threading.Lock()


def _broker_client(account: Account, broker: CredentialSource, service: str) -> Any:
    """The broker's client for ``service`` (cached per process: a boto3 client costs tens of
    milliseconds to build, and an assumed broker role refreshes its own credentials)."""
    from stratusec.providers.aws.session import build_session

    region = home_region(account)
    key = (
        account.name,
        account.endpoint_url or "",
        broker.model_dump_json(),
        service,
        region,
    )
    with _BROKER_LOCK:
        client = _BROKER_CLIENTS.get(key)
        if client is None:
            session = build_session(account, broker)
            client = session.client(service, region_name=region, endpoint_url=account.endpoint_url)
            _BROKER_CLIENTS[key] = client
        return client


def issue_credentials(
    account: Account,
    broker: CredentialSource,
    target_role: str,
    scope: Scope,
    session_name: str,
) -> dict[str, Any]:
    """AssumeRole with the grant's duration and session policy: the credentials (to be
    delivered once, never stored or logged)."""
    resp = _broker_client(account, broker, "sts").assume_role(
        RoleArn=target_role,
        RoleSessionName=session_name[:64],
        DurationSeconds=scope.seconds,
        Policy=json.dumps(scope.session_policy(), separators=(",", ":")),
    )
    creds = resp["Credentials"]
    exp = creds["Expiration"]
    return {
        "Version": 1,
        "AccessKeyId": creds["AccessKeyId"],
        "SecretAccessKey": creds["SecretAccessKey"],
        "SessionToken": creds["SessionToken"],
        "Expiration": exp.isoformat() if isinstance(exp, dt.datetime) else str(exp),
    }


def revoke_sessions(
    account: Account, broker: CredentialSource, target_role: str, now: dt.datetime
) -> dict[str, Any]:
    """Attach the AWS-documented session-revocation policy to the target role: every
    session issued before ``now`` is denied everything. Harmless to repeat."""

    stamp = now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": stamp}},
            }
        ],
    }
    iam = _broker_client(account, broker, "iam")
    name = target_role.rsplit("/", 1)[-1]
    iam.put_role_policy(
        RoleName=name, PolicyName=REVOKE_POLICY_NAME, PolicyDocument=json.dumps(doc)
    )
    return {"role": target_role, "policy": REVOKE_POLICY_NAME, "revoked_before": stamp}


def fingerprint(access_key_id: str) -> str:
    """What the audit keeps of delivered credentials: a hash of the key id."""
    return "sha256:" + secret_fingerprint(access_key_id)
