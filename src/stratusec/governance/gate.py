"""The governance gate: every operation call from every face passes through here.

One call is: identify (the face says who), rate-limit, authorize (role, then the optional
Rego policy), write the audit record, run, write the outcome record. The first audit
record ("started") is written *before* the operation runs: if it cannot be written, the
call does not run. The outcome record (``ok`` / ``error``, duration, result size) shares
the first record's ``call_id``. A denied, refused or pending call is one record.

``require_approval`` turns the call into a pending approval request bound to the tool and
the digest of its arguments; nothing runs. Once a different human approved it out of band,
:meth:`Governor.begin_approved` (the requester asking again, through ``get_approval``)
claims it — once — and the face runs exactly the stored arguments.

Faces use :meth:`Governor.call` (synchronous) or the pair :meth:`Governor.begin` /
:meth:`Governor.finish` (around an ``await``).
"""

from __future__ import annotations

import contextlib
import contextvars
import getpass
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from stratusec import paths
from stratusec.config import Config
from stratusec.errors import StratusecError
from stratusec.governance import approvals as approvals_mod
from stratusec.governance.audit import AuditEntry, AuditLog
from stratusec.governance.authz import (
    AuthzInput,
    Decision,
    Roles,
    authorize,
    load_roles,
    refine,
)
from stratusec.governance.ratelimit import RateLimiter
from stratusec.governance.rego import AccessPolicy, PolicyError, RegoPolicy
from stratusec.governance.tokens import parse_duration
from stratusec.store.db import Store

log = logging.getLogger("stratusec.governance")

FACES: tuple[str, ...] = ("cli", "mcp-stdio", "mcp-http")
#: Reads every defined role may make (MCP resources and prompts); the Rego policy still
#: sees them and may deny them.
OPEN_ACTIONS: frozenset[str] = frozenset({"read_resource", "get_prompt"})
T = TypeVar("T")

#: The audit ``call_id`` of the call running in this context (operations bind what they
#: create, e.g. an access grant, to the call that asked for it).
_CURRENT_CALL: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "stratusec_current_call", default=None
)


def current_call_id() -> str | None:
    """The audit ``call_id`` of the governed call running now, if any."""
    return _CURRENT_CALL.get()


@contextlib.contextmanager
def running(call_id: str) -> Iterator[None]:
    token = _CURRENT_CALL.set(call_id)
    try:
        yield
    finally:
        _CURRENT_CALL.reset(token)


def _remediate_approval(arguments: dict[str, Any], _config: Config) -> str | None:
    from stratusec.operations.remediate import approval_reason

    return approval_reason(arguments)


#: Calls that need a human's approval whatever the policy says (it may still deny them).
BUILTIN_APPROVALS: dict[str, Callable[[dict[str, Any], Config], str | None]] = {
    "remediate": _remediate_approval,
    "activate_guardrail": lambda a, _c: (
        f"{'activating' if a.get('active', True) else 'deactivating'} guardrail "
        f"{a.get('policy')} changes what every scan judges: a different human must approve it"
    ),
}


# -- who is calling -----------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    """The identity a face established for one call. ``role`` comes from the token, the
    OIDC claims or the config (never from the call's arguments or from cloud data)."""

    principal: str
    role: str
    face: str
    on_behalf_of: str | None = None
    agent: str | None = None
    #: The rate-limit bucket (a token id); defaults to the principal.
    limit_key: str | None = None

    def __post_init__(self) -> None:
        if self.face not in FACES:
            raise ValueError(f"unknown face {self.face!r}")
        if not self.principal:
            raise ValueError("a call needs a principal")


# -- outcomes -------------------------------------------------------------------------------
class CallDenied(StratusecError):
    """The call was refused (role, policy, rate limit or approval state); it did not run."""

    exit_code = 3

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule


class RateLimited(CallDenied):
    def __init__(self, message: str, *, retry_after: float, rule: str) -> None:
        super().__init__(message, rule=rule)
        self.retry_after = retry_after


class ApprovalPending(StratusecError):
    """The call needs a human approval; a pending request was created (for the CLI face)."""

    exit_code = 4

    def __init__(self, pending: PendingApproval) -> None:
        super().__init__(pending.message())
        self.pending = pending


@dataclass(frozen=True)
class PendingApproval:
    approval: dict[str, Any]
    reason: str
    rule: str

    @property
    def approval_id(self) -> str:
        return str(self.approval["id"])

    def message(self) -> str:
        return (
            f"this call needs a human approval ({self.reason}); request {self.approval_id} is "
            f"pending until {self.approval['expires_at']}. A different human decides with "
            f"'stratusec approvals approve {self.approval_id}' (or deny); then the requester "
            f"runs it once: an agent with get_approval('{self.approval_id}'), the CLI with "
            f"'stratusec approvals run {self.approval_id}'."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "pending_approval",
            "approval_id": self.approval_id,
            "tool": self.approval["tool"],
            "reason": self.reason,
            "rule": self.rule,
            "expires_at": self.approval["expires_at"],
            "next_step": f"poll get_approval with approval_id={self.approval_id}",
        }


@dataclass
class Ticket:
    """An authorized call in flight (its "started" record is written)."""

    call_id: str
    caller: Caller
    tool: str
    arguments: dict[str, Any]
    decision: Decision
    approval_id: str | None = None
    started: float = field(default_factory=time.perf_counter)


# -- the policy file, reloaded when it changes ------------------------------------------------
class _PolicyHolder:
    """The configured ``authz.rego``. Reloaded when its mtime changes; a broken or missing
    (once configured) policy makes every call fail closed with the file:line error."""

    def __init__(
        self,
        path: Path | None,
        kind: type[RegoPolicy] = RegoPolicy,
        *,
        raise_errors: bool = True,
    ) -> None:
        self.path = path
        self.kind = kind
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._policy: RegoPolicy | None = None
        self._error: str | None = None
        if path is not None:
            self._load(raise_errors=raise_errors)

    def _stat(self) -> tuple[int, int] | None:
        assert self.path is not None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _load(self, raise_errors: bool = False) -> None:
        assert self.path is not None
        stamp = self._stat()
        try:
            if stamp is None:
                raise PolicyError(f"{self.kind.KIND} policy {self.path} is missing")
            policy = self.kind.load(self.path)
        except PolicyError as exc:
            self._stamp, self._policy, self._error = stamp, None, str(exc)
            if raise_errors:
                raise
            log.error("%s policy rejected, failing closed: %s", self.kind.KIND, exc)
            return
        self._stamp, self._policy, self._error = stamp, policy, None

    def current(self) -> tuple[RegoPolicy | None, str | None]:
        """``(policy, error)``: the policy to apply, or why every call must be denied."""
        if self.path is None:
            return None, None
        stamp = self._stat()
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._load()
        return self._policy, self._error


def os_user() -> str:
    """The OS user running this process (the human at a CLI, the user behind stdio)."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return f"uid:{os.getuid()}"


def policy_path(config: Config) -> Path | None:
    """``governance.policy`` (relative paths are relative to the home directory), else
    ``<home>/authz.rego`` when that file exists, else no policy."""
    configured = config.governance.policy
    if configured:
        p = Path(os.path.expanduser(configured))
        return p if p.is_absolute() else paths.home() / p
    default = paths.home() / "authz.rego"
    return default if default.exists() else None


def access_policy_path(config: Config) -> Path | None:
    """``access.policy`` (relative to the home directory), else ``<home>/access.rego`` when
    that file exists, else none."""
    configured = config.access.policy
    if configured:
        p = Path(os.path.expanduser(configured))
        return p if p.is_absolute() else paths.home() / p
    default = paths.home() / "access.rego"
    return default if default.exists() else None


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact JSON (the audit's result size)."""
    if value is None:
        return 0
    try:
        return len(json.dumps(value, separators=(",", ":"), default=str).encode("utf-8"))
    except (TypeError, ValueError):
        return len(str(value).encode("utf-8"))


# -- the gate -------------------------------------------------------------------------------
class Governor:
    def __init__(
        self,
        store: Store,
        *,
        config: Config | None = None,
        roles: Roles | None = None,
        policy_file: Path | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.store = store
        self.config = config or Config()
        self.roles = roles or load_roles(self.config.roles)
        self.audit = AuditLog(store)
        self._policy = _PolicyHolder(policy_file)
        self._access_policy: _PolicyHolder | None = None
        self.limiter = limiter
        self.approval_ttl = parse_duration(self.config.governance.approval_ttl)

    @classmethod
    def from_config(cls, config: Config, store: Store) -> Governor:
        """The gate as configured: roles, the Rego policy (a broken one raises
        :class:`PolicyError` with file and line), the per-token rate limit."""
        rl = config.governance.rate_limit
        return cls(
            store,
            config=config,
            policy_file=policy_path(config),
            limiter=RateLimiter(rl.per_minute, rl.burst),
        )

    @property
    def policy_file(self) -> Path | None:
        return self._policy.path

    # -- what a caller may see ---------------------------------------------------------------
    def tools_for(self, caller: Caller) -> frozenset[str]:
        """The tools the caller's role lists (the only ones its ``tools/list`` shows)."""
        return self.roles.tools_of(caller.role)

    def known_role(self, role: str) -> bool:
        return role in self.roles.tools

    # -- decide ------------------------------------------------------------------------------
    def _account_info(self, arguments: Mapping[str, Any]) -> dict[str, Any] | None:
        name = arguments.get("account")
        if not isinstance(name, str):
            return None
        for a in self.config.accounts:
            if a.name == name:
                return {
                    "name": a.name,
                    "account_id": a.account_id,
                    "provider": a.provider,
                    "regions": list(a.regions),
                }
        return None

    def decide(self, caller: Caller, tool: str, arguments: Mapping[str, Any]) -> Decision:
        """The authorization decision for one call (role first, then the policy)."""
        request = AuthzInput(
            principal=caller.principal,
            role=caller.role,
            tool=tool,
            on_behalf_of=caller.on_behalf_of,
            agent=caller.agent,
            arguments=arguments,
            account=self._account_info(arguments),
        )
        if tool in OPEN_ACTIONS and self.known_role(caller.role):
            role_decision = Decision(
                "allow", f"role {caller.role!r} may {tool.replace('_', ' ')}", f"role:{caller.role}"
            )
        else:
            role_decision = authorize(request, self.roles, None)
        if not role_decision.allowed:
            return role_decision
        policy, error = self._policy.current()
        if error is not None:
            return Decision("deny", f"the authorization policy is broken: {error}", "rego:error")
        decision = refine(role_decision, request, policy)
        if tool == "request_access" and decision.allowed:
            return self._access_decision(caller, arguments, decision)
        builtin = BUILTIN_APPROVALS.get(tool)
        reason = builtin(dict(arguments), self.config) if builtin and decision.allowed else None
        if reason:
            return Decision("require_approval", reason, f"builtin:{tool}")
        return decision

    def access_policy(self) -> tuple[RegoPolicy | None, str | None]:
        """``access.rego`` (loaded on first use; a broken one fails closed)."""
        if self._access_policy is None:
            self._access_policy = _PolicyHolder(
                access_policy_path(self.config), AccessPolicy, raise_errors=False
            )
        return self._access_policy.current()

    def _access_decision(
        self, caller: Caller, arguments: Mapping[str, Any], decision: Decision
    ) -> Decision:
        """The access levels (and ``access.rego``) decide a request. Invalid requests raise
        a :class:`StratusecError` naming the limit."""
        from stratusec.operations.access import decide_request

        policy, error = self.access_policy()
        if error is not None:
            return Decision("deny", f"the access policy is broken: {error}", "rego:access:error")
        _resolved, access = decide_request(self.config, self.store, caller, dict(arguments), policy)
        if decision.effect == "require_approval" and access.effect == "allow":
            return decision  # the authorization policy asked for a human: it stays
        return access

    def _decide_or_refuse(
        self, caller: Caller, tool: str, args: dict[str, Any], t0: float
    ) -> Decision:
        """:meth:`decide`, recording an invalid request (bad arguments) before re-raising."""
        try:
            return self.decide(caller, tool, args)
        except CallDenied:
            raise
        except StratusecError as exc:
            self.refuse(
                caller,
                tool,
                args,
                reason=str(exc),
                rule=f"invalid:{tool}",
                decision="invalid",
                outcome="error",
                duration_ms=(time.perf_counter() - t0) * 1000,
            )
            raise

    def _entry(self, caller: Caller, tool: str, arguments: Mapping[str, Any]) -> AuditEntry:
        return AuditEntry(
            principal=caller.principal,
            on_behalf_of=caller.on_behalf_of,
            agent=caller.agent,
            face=caller.face,
            tool=tool,
            arguments=dict(arguments),
            decision="deny",
            outcome="denied",
        )

    def refuse(
        self,
        caller: Caller,
        tool: str,
        arguments: Mapping[str, Any],
        *,
        reason: str,
        rule: str,
        decision: str = "deny",
        outcome: str = "denied",
        duration_ms: float | None = None,
    ) -> dict[str, Any]:
        """Record a call that did not run (unknown tool, invalid arguments, denied)."""
        e = self._entry(caller, tool, arguments)
        e.decision, e.outcome, e.rule, e.error = decision, outcome, rule, reason
        e.duration_ms = duration_ms
        return self.audit.append(e)

    def begin(
        self, caller: Caller, tool: str, arguments: Mapping[str, Any]
    ) -> Ticket | PendingApproval:
        """Authorize one call and write its "started" record.

        Raises :class:`CallDenied` (recorded) or :class:`AuditWriteError` (nothing runs);
        returns a :class:`PendingApproval` (recorded) when a human must approve it first."""
        t0 = time.perf_counter()
        args = dict(arguments)
        if self.limiter is not None:
            key = caller.limit_key or caller.principal
            ok, wait = self.limiter.allow(key)
            if not ok:
                rule = "rate_limit"
                msg = f"rate limit exceeded for {caller.principal}; retry in {wait:.1f} s"
                self.refuse(caller, tool, args, reason=msg, rule=rule)
                raise RateLimited(msg, retry_after=wait, rule=rule)
        decision = self._decide_or_refuse(caller, tool, args, t0)
        if decision.effect == "deny":
            ms = (time.perf_counter() - t0) * 1000
            self.refuse(
                caller, tool, args, reason=decision.reason, rule=decision.rule, duration_ms=ms
            )
            raise CallDenied(f"denied: {decision.reason}", rule=decision.rule)
        if decision.effect == "require_approval":
            approval = approvals_mod.request_approval(
                self.store,
                tool=tool,
                arguments=args,
                requester=caller.principal,
                on_behalf_of=caller.on_behalf_of,
                agent=caller.agent,
                reason=decision.reason,
                ttl=self.approval_ttl,
            )
            e = self._entry(caller, tool, args)
            e.decision, e.outcome, e.rule = "require_approval", "pending", decision.rule
            e.approval_id = approval["id"]
            e.duration_ms = (time.perf_counter() - t0) * 1000
            self.audit.append(e)
            return PendingApproval(approval=approval, reason=decision.reason, rule=decision.rule)
        return self._start(caller, tool, args, decision, None)

    def _start(
        self,
        caller: Caller,
        tool: str,
        args: dict[str, Any],
        decision: Decision,
        approval_id: str | None,
    ) -> Ticket:
        ticket = Ticket(
            call_id=uuid.uuid4().hex,
            caller=caller,
            tool=tool,
            arguments=args,
            decision=decision,
            approval_id=approval_id,
        )
        e = self._entry(caller, tool, args)
        e.decision, e.outcome, e.rule = decision.effect, "started", decision.rule
        e.approval_id, e.call_id = approval_id, ticket.call_id
        self.audit.append(e)
        return ticket

    def begin_approved(self, caller: Caller, approval_id: str) -> Ticket:
        """Claim an approved request for its requester and write its "started" record.

        Only the principal that asked may run it, its role must still allow the tool, and
        the policy must not now deny it. Succeeds once (the claim is atomic)."""
        req = approvals_mod.get_approval(self.store, approval_id)
        tool, args = str(req["tool"]), dict(req["arguments"])
        if req["requester"] != caller.principal:
            msg = (
                f"approval request {approval_id} was made by {req['requester']}; only that "
                "caller can run it"
            )
            self.refuse(
                caller, tool, {"approval_id": approval_id}, reason=msg, rule="approval:requester"
            )
            raise CallDenied(msg, rule="approval:requester")
        decision = self._decide_or_refuse(caller, tool, args, time.perf_counter())
        if decision.effect == "deny":
            self.refuse(caller, tool, args, reason=decision.reason, rule=decision.rule)
            raise CallDenied(f"denied: {decision.reason}", rule=decision.rule)
        try:
            approvals_mod.claim_for_execution(self.store, approval_id, tool=tool, arguments=args)
        except approvals_mod.ApprovalError as exc:
            self.refuse(caller, tool, args, reason=str(exc), rule="approval:state")
            raise CallDenied(str(exc), rule="approval:state") from None
        approved = Decision("allow", f"approved by {req['decided_by']}", f"approval:{approval_id}")
        return self._start(caller, tool, args, approved, approval_id)

    def finish(
        self,
        ticket: Ticket,
        *,
        error: str | None = None,
        result_size: int | None = None,
    ) -> dict[str, Any]:
        """Write the outcome record of a started call."""
        e = self._entry(ticket.caller, ticket.tool, ticket.arguments)
        e.decision, e.rule = ticket.decision.effect, ticket.decision.rule
        e.outcome = "error" if error is not None else "ok"
        e.error = error
        e.approval_id, e.call_id = ticket.approval_id, ticket.call_id
        e.duration_ms = (time.perf_counter() - ticket.started) * 1000
        e.result_size = result_size
        rec = self.audit.append(e)
        if ticket.approval_id:
            summary = {
                "outcome": e.outcome,
                "error": error,
                "result_size": result_size,
                "audit_call_id": ticket.call_id,
            }
            try:
                approvals_mod.record_result(self.store, ticket.approval_id, summary)
            except approvals_mod.ApprovalError:  # pragma: no cover - claimed just before
                log.warning("could not attach the result to approval %s", ticket.approval_id)
        return rec

    # -- the synchronous path (CLI) -----------------------------------------------------------
    def call(
        self,
        caller: Caller,
        tool: str,
        arguments: Mapping[str, Any],
        run: Callable[[], T],
        *,
        size: Callable[[T], int] = json_size,
    ) -> T:
        """Govern and run one call. Raises :class:`CallDenied`, :class:`ApprovalPending`,
        :class:`AuditWriteError`, or whatever ``run`` raised (after recording it)."""
        started = self.begin(caller, tool, arguments)
        if isinstance(started, PendingApproval):
            raise ApprovalPending(started)
        return self.run_ticket(started, run, size=size)

    def note(
        self,
        caller: Caller,
        event: str,
        arguments: Mapping[str, Any],
        *,
        approval_id: str | None = None,
    ) -> dict[str, Any]:
        """Append a fact that happened inside an authorized call (e.g. a remediation's
        verification) to the audit chain, as its own record."""
        e = self._entry(caller, event, arguments)
        e.decision, e.outcome, e.rule = "allow", "ok", "builtin:record"
        e.approval_id = approval_id
        return self.audit.append(e)

    def record(
        self,
        caller: Caller,
        command: str,
        arguments: Mapping[str, Any],
        run: Callable[[], T],
        *,
        size: Callable[[T], int] = json_size,
    ) -> T:
        """Audit and run a local administrative command (token, approvals, audit,
        suppressions at the CLI). No role or policy check — whoever runs the CLI already
        holds the store — but the same write-before-run audit records."""
        decision = Decision("allow", "local administrative command", f"{caller.face}:local")
        ticket = self._start(caller, command, dict(arguments), decision, None)
        return self.run_ticket(ticket, run, size=size)

    def run_ticket(
        self, ticket: Ticket, run: Callable[[], T], *, size: Callable[[T], int] = json_size
    ) -> T:
        try:
            with running(ticket.call_id):
                result = run()
        except BaseException as exc:
            self.finish(ticket, error=error_text(exc))
            raise
        self.finish(ticket, result_size=size(result))
        return result


def error_text(exc: BaseException) -> str:
    """What the audit keeps of an error: its type and message (redacted by the log)."""
    if isinstance(exc, StratusecError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return f"{type(exc).__name__}: {exc}"
