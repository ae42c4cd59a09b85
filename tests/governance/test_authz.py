"""Roles: defaults, inheritance, validation, and the role-then-policy decision order."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratusec.errors import ConfigError
from stratusec.governance.authz import (
    READ_TOOLS,
    AuthzInput,
    authorize,
    load_roles,
    visible_tools,
)
from stratusec.governance.rego import RegoPolicy


def _req(role: str, tool: str, **kw: object) -> AuthzInput:
    return AuthzInput(principal="alice", role=role, tool=tool, **kw)  # type: ignore[arg-type]


def test_default_roles_and_visible_tools() -> None:
    roles = load_roles({})
    assert visible_tools("reader", roles) == set(READ_TOOLS)
    assert visible_tools("operator", roles) == set(READ_TOOLS) | {"remediate", "request_access"}
    assert visible_tools("admin", roles) >= {"approve", "activate_guardrail", "remediate", "scan"}
    assert visible_tools("nobody", roles) == set()


def test_reader_allowed_and_denied() -> None:
    roles = load_roles(None)
    d = authorize(_req("reader", "get_findings"), roles)
    assert (d.effect, d.rule) == ("allow", "role:reader")
    d = authorize(_req("reader", "remediate"), roles)
    assert (d.effect, d.rule) == ("deny", "role:reader")
    assert "remediate" in d.reason
    assert authorize(_req("ghost", "scan"), roles).effect == "deny"


def test_custom_roles_with_inheritance() -> None:
    roles = load_roles(
        {
            "viewer": {"tools": ["get_findings"]},
            "analyst": {"tools": ["query_graph"], "inherits": ["viewer"]},
            "lead": {"tools": ["approve"], "inherits": ["analyst"]},
        }
    )
    assert visible_tools("lead", roles) == {"get_findings", "query_graph", "approve"}
    assert visible_tools("viewer", roles) == {"get_findings"}
    assert authorize(_req("analyst", "approve"), roles).effect == "deny"


def test_unknown_tool_is_named() -> None:
    with pytest.raises(ConfigError, match=r"roles\.x\.tools: unknown tool\(s\) drop_db, nuke"):
        load_roles({"x": {"tools": ["scan", "nuke", "drop_db"]}})


def test_inheritance_cycle_and_unknown_parent() -> None:
    with pytest.raises(ConfigError, match="inheritance cycle a -> b -> a"):
        load_roles({"a": {"inherits": ["b"]}, "b": {"inherits": ["a"]}})
    with pytest.raises(ConfigError, match="unknown role"):
        load_roles({"a": {"inherits": ["missing"]}})
    with pytest.raises(ConfigError, match="unknown key"):
        load_roles({"a": {"tool": ["scan"]}})
    with pytest.raises(ConfigError, match="list of names"):
        load_roles({"a": {"tools": "scan"}})


POLICY = """package stratusec.authz

deny contains reason if {
    input.tool == "query_graph"
    input.agent == "untrusted-bot"
    reason := "untrusted-bot may not query the graph"
}

require_approval contains reason if {
    input.tool == "scan"
    input.account.tags.environment == "production"
    reason := sprintf("scan of production account %s", [input.account.name])
}

allow := true if input.tool == "remediate"
"""


@pytest.fixture
def policy(tmp_path: Path) -> RegoPolicy:
    f = tmp_path / "authz.rego"
    f.write_text(POLICY)
    return RegoPolicy.load(f)


def test_policy_refines_role(policy: RegoPolicy) -> None:
    roles = load_roles({})
    prod = {"name": "prod", "tags": {"environment": "production"}}
    d = authorize(_req("reader", "scan", account=prod), roles, policy)
    assert d.effect == "require_approval"
    assert d.reason == "scan of production account prod"
    assert d.rule == "rego:authz.rego"
    d = authorize(_req("reader", "scan", account={"name": "dev", "tags": {}}), roles, policy)
    assert (d.effect, d.rule) == ("allow", "role:reader")
    d = authorize(_req("reader", "query_graph", agent="untrusted-bot"), roles, policy)
    assert (d.effect, d.reason) == ("deny", "untrusted-bot may not query the graph")


def test_policy_cannot_widen_role(policy: RegoPolicy) -> None:
    roles = load_roles({})
    # the policy says allow for remediate, but a reader's role does not list it
    assert policy.evaluate(_req("reader", "remediate").to_input())[0] == "allow"
    d = authorize(_req("reader", "remediate"), roles, policy)
    assert (d.effect, d.rule) == ("deny", "role:reader")
