"""Roles and the authorization decision for one call.

A call is allowed only if the caller's role lists the tool. An optional Rego policy
(:mod:`stratusec.governance.rego`) may then *refine* that decision — deny it or require a
human approval — but it can never widen it: an ``allow`` from the policy for a tool the
role lacks is still a deny.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from stratusec.errors import ConfigError

if TYPE_CHECKING:
    from stratusec.governance.rego import RegoPolicy

Effect = Literal["allow", "deny", "require_approval"]

READ_TOOLS: tuple[str, ...] = (
    "scan",
    "get_findings",
    "explain_finding",
    "query_graph",
    "get_attack_paths",
    "check_compliance",
    "get_approval",
    "validate_guardrail",
)
OPERATOR_TOOLS: tuple[str, ...] = ("remediate", "request_access")
ADMIN_TOOLS: tuple[str, ...] = ("activate_guardrail", "approve")

#: Every tool name a role may list. Unknown names in a role definition are an error.
KNOWN_TOOLS: frozenset[str] = frozenset(READ_TOOLS + OPERATOR_TOOLS + ADMIN_TOOLS)

#: Used when the config has no ``roles`` section (same shape as ``config.roles``).
DEFAULT_ROLES: dict[str, dict[str, list[str]]] = {
    "reader": {"tools": list(READ_TOOLS), "inherits": []},
    "operator": {"tools": list(OPERATOR_TOOLS), "inherits": ["reader"]},
    "admin": {"tools": list(ADMIN_TOOLS), "inherits": ["operator"]},
}


@dataclass(frozen=True)
class Decision:
    effect: Effect
    reason: str
    rule: str

    @property
    def allowed(self) -> bool:
        return self.effect == "allow"


@dataclass(frozen=True)
class AuthzInput:
    """What the policy sees about one call (also the Rego ``input`` document)."""

    principal: str
    role: str
    tool: str
    on_behalf_of: str | None = None
    agent: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)
    account: Mapping[str, Any] | None = None

    def to_input(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "on_behalf_of": self.on_behalf_of,
            "role": self.role,
            "agent": self.agent,
            "tool": self.tool,
            "arguments": dict(self.arguments),
            "account": dict(self.account) if self.account is not None else None,
        }


@dataclass(frozen=True)
class Roles:
    """Validated role definitions, inheritance already resolved."""

    tools: Mapping[str, frozenset[str]]

    def names(self) -> list[str]:
        return sorted(self.tools)

    def tools_of(self, role: str) -> frozenset[str]:
        return self.tools.get(role, frozenset())


def load_roles(config_roles: Mapping[str, Any] | None = None) -> Roles:
    """Validate ``config.roles`` (role -> {tools: [...], inherits: [...]}) and resolve it.

    An empty or missing section gives :data:`DEFAULT_ROLES`. Raises :class:`ConfigError`
    naming unknown tools, unknown inherited roles, bad shapes and inheritance cycles.
    """
    raw: Mapping[str, Any] = config_roles if config_roles else DEFAULT_ROLES
    direct: dict[str, set[str]] = {}
    parents: dict[str, list[str]] = {}
    for name, spec in raw.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"roles: role name {name!r} must be a non-empty string")
        if spec is None:
            spec = {}
        if not isinstance(spec, Mapping):
            raise ConfigError(f"roles.{name}: must be a mapping with 'tools' and 'inherits'")
        extra = set(spec) - {"tools", "inherits"}
        if extra:
            raise ConfigError(
                f"roles.{name}: unknown key(s) {', '.join(sorted(map(str, extra)))}; "
                "valid keys: tools, inherits"
            )
        tools = _str_list(spec.get("tools", []), f"roles.{name}.tools")
        unknown = sorted(set(tools) - KNOWN_TOOLS)
        if unknown:
            raise ConfigError(
                f"roles.{name}.tools: unknown tool(s) {', '.join(unknown)}; "
                f"valid tools: {', '.join(sorted(KNOWN_TOOLS))}"
            )
        direct[name] = set(tools)
        parents[name] = _str_list(spec.get("inherits", []), f"roles.{name}.inherits")
    for name, ps in parents.items():
        missing = sorted(set(ps) - set(direct))
        if missing:
            raise ConfigError(
                f"roles.{name}.inherits: unknown role(s) {', '.join(missing)}; "
                f"defined roles: {', '.join(sorted(direct))}"
            )

    resolved: dict[str, frozenset[str]] = {}

    def resolve(name: str, stack: list[str]) -> frozenset[str]:
        if name in resolved:
            return resolved[name]
        if name in stack:
            cycle = " -> ".join([*stack[stack.index(name) :], name])
            raise ConfigError(f"roles: inheritance cycle {cycle}")
        out = set(direct[name])
        for p in parents[name]:
            out |= resolve(p, [*stack, name])
        resolved[name] = frozenset(out)
        return resolved[name]

    for name in direct:
        resolve(name, [])
    return Roles(tools=resolved)


def _str_list(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: must be a list of names")
    return list(value)


def visible_tools(role: str, roles: Roles) -> set[str]:
    """The tools a role sees in ``tools/list`` (and the only ones it may call)."""
    return set(roles.tools_of(role))


def authorize(request: AuthzInput, roles: Roles, policy: RegoPolicy | None = None) -> Decision:
    """Decide one call: the role first, then the optional Rego policy (deny-only refinement)."""
    role_rule = f"role:{request.role}"
    if request.role not in roles.tools:
        return Decision("deny", f"unknown role {request.role!r}", role_rule)
    if request.tool not in roles.tools[request.role]:
        return Decision("deny", f"role {request.role!r} may not call {request.tool!r}", role_rule)
    return refine(
        Decision("allow", f"role {request.role!r} may call {request.tool!r}", role_rule),
        request,
        policy,
    )


def refine(decision: Decision, request: AuthzInput, policy: RegoPolicy | None) -> Decision:
    """Let the Rego policy deny an allowed call or make it require approval (never widen)."""
    if policy is None or not decision.allowed:
        return decision
    effect, reasons = policy.evaluate(request.to_input())
    reason = "; ".join(reasons)
    if effect == "deny":
        return Decision("deny", reason or "denied by the authorization policy", policy.rule)
    if effect == "require_approval":
        return Decision(
            "require_approval", reason or "the authorization policy requires approval", policy.rule
        )
    return decision
