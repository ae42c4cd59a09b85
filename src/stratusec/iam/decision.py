"""The evaluator's answer: a decision with the statements behind it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from stratusec.iam.policy import Statement

DecisionValue = Literal["allow", "deny", "implicit_deny", "conditional"]
PolicyKind = Literal["identity", "resource", "boundary", "session", "scp", "rcp"]

_KIND_LABEL: dict[str, str] = {
    "identity": "policy",
    "resource": "resource policy",
    "boundary": "permissions boundary",
    "session": "session policy",
    "scp": "SCP",
    "rcp": "RCP",
}


@dataclass(frozen=True, slots=True)
class StatementRef:
    """One statement of one policy, as the evaluator saw it."""

    policy: str
    kind: PolicyKind
    statement: Statement

    @property
    def index(self) -> int:
        return self.statement.index

    @property
    def sid(self) -> str | None:
        return self.statement.sid

    @property
    def effect(self) -> str:
        return self.statement.effect

    def describe(self) -> str:
        """e.g. ``policy data-pipeline-s3 statement 0 allows s3:* on *``."""
        sid = f" ({self.sid})" if self.sid else ""
        label = _KIND_LABEL.get(self.kind, self.kind)
        return f"{label} {self.policy} statement {self.index}{sid} {self.statement.describe()}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "kind": self.kind,
            "statement": self.index,
            "sid": self.sid,
            "effect": self.effect,
            "summary": self.statement.describe(),
        }


@dataclass(frozen=True, slots=True)
class Gate:
    """A statement whose outcome depends on condition keys unknown at analysis time."""

    ref: StatementRef
    keys: frozenset[str]

    def describe(self) -> str:
        return f"{self.ref.describe()} [unknown: {', '.join(sorted(self.keys))}]"

    def to_dict(self) -> dict[str, Any]:
        return {**self.ref.to_dict(), "unknown_keys": sorted(self.keys)}


@dataclass(frozen=True, slots=True)
class Decision:
    """``decision`` is one of:

    * ``allow``: allowed whatever the unknown keys are;
    * ``deny``: an explicit Deny certainly applies;
    * ``implicit_deny``: nothing allows it (or a required layer does not);
    * ``conditional``: allowed or not depending on condition keys unknown at analysis
      time (``conditional_keys``; ``gates`` names the statements). ``mfa_required``:
      the only thing missing is MFA (allowed once ``aws:MultiFactorAuthPresent`` is
      true).

    ``allowed_by``: the identity/resource/session statements that allow it (certainly
    or conditionally); ``denied_by``: the Deny statements that certainly apply;
    ``missing``: for an implicit deny, which layer did not allow it; ``notes``: caveats.
    """

    decision: DecisionValue
    action: str
    resource: str
    allowed_by: tuple[StatementRef, ...] = ()
    denied_by: tuple[StatementRef, ...] = ()
    conditional_keys: frozenset[str] = frozenset()
    gates: tuple[Gate, ...] = ()
    mfa_required: bool = False
    missing: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision == "allow"

    @property
    def possibly_allowed(self) -> bool:
        return self.decision in ("allow", "conditional")

    @property
    def reason(self) -> str:
        what = f"{self.action} on {self.resource}"
        if self.decision == "deny":
            return f"{what} is explicitly denied: " + "; ".join(
                r.describe() for r in self.denied_by
            )
        if self.decision == "implicit_deny":
            why = "; ".join(self.missing) if self.missing else "no statement allows it"
            return f"{what} is implicitly denied: {why}"
        grants = "; ".join(r.describe() for r in self.allowed_by) or "; ".join(self.notes)
        if self.decision == "allow":
            return f"{what} is allowed: {grants}"
        keys = ", ".join(sorted(self.conditional_keys))
        head = "allowed only with MFA" if self.mfa_required else f"conditional on {keys}"
        gates = "; ".join(g.describe() for g in self.gates)
        return f"{what} is {head}: {grants}" + (f" (gated by: {gates})" if gates else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "action": self.action,
            "resource": self.resource,
            "reason": self.reason,
            "mfa_required": self.mfa_required,
            "conditional_keys": sorted(self.conditional_keys),
            "allowed_by": [r.to_dict() for r in self.allowed_by],
            "denied_by": [r.to_dict() for r in self.denied_by],
            "gates": [g.to_dict() for g in self.gates],
            "missing": list(self.missing),
            "notes": list(self.notes),
        }
