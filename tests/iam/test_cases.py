"""The decision table (cases.yaml): every case evaluated and checked."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from stratusec.iam import Decision, evaluate, parse_policy
from tests.iam.helpers import request_from_spec

CASES: list[dict[str, Any]] = yaml.safe_load((Path(__file__).with_name("cases.yaml")).read_text())


def _one(mapping: dict[str, Any] | None) -> Any:
    if not mapping:
        return None
    assert len(mapping) == 1, "resource/boundary take exactly one policy"
    ((name, document),) = mapping.items()
    return parse_policy(document, name)


def _many(mapping: dict[str, Any] | None) -> list[Any]:
    return [parse_policy(d, n) for n, d in (mapping or {}).items()]


def run_case(case: dict[str, Any]) -> Decision:
    return evaluate(
        request_from_spec(case["request"]),
        identity_policies=_many(case.get("identity")),
        resource_policy=_one(case.get("resource")),
        permissions_boundary=_one(case.get("boundary")),
        session_policies=_many(case.get("session")),
        scps=[_many(level) for level in case.get("scps", [])],
        rcps=[_many(level) for level in case.get("rcps", [])],
    )


def _refs(refs: Any) -> set[str]:
    return {f"{r.policy}#{r.index}" for r in refs}


def test_table_is_large_and_unique() -> None:
    names = [c["name"] for c in CASES]
    assert len(CASES) >= 80
    assert len(set(names)) == len(names), [n for n, k in Counter(names).items() if k > 1]
    decisions = Counter(c["expect"]["decision"] for c in CASES)
    assert set(decisions) == {"allow", "deny", "implicit_deny", "conditional"}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    expect = case["expect"]
    d = run_case(case)
    assert d.decision == expect["decision"], d.reason
    if "keys" in expect:
        assert d.conditional_keys == frozenset(expect["keys"]), d.reason
    if d.decision != "conditional":
        assert not d.conditional_keys
    if "mfa_required" in expect:
        assert d.mfa_required is expect["mfa_required"], d.reason
    elif d.decision != "conditional":
        assert d.mfa_required is False
    if "allowed_by" in expect:
        assert _refs(d.allowed_by) == set(expect["allowed_by"]), d.reason
    if "denied_by" in expect:
        assert _refs(d.denied_by) == set(expect["denied_by"]), d.reason
    if d.decision == "deny":
        assert d.denied_by, "an explicit deny names its statements"
    if "missing" in expect:
        assert any(expect["missing"] in m for m in d.missing), d.missing
    if "notes" in expect:
        assert any(expect["notes"] in n for n in d.notes), d.notes
    if d.decision == "conditional":
        assert d.gates, "a conditional decision names the statements it depends on"
        assert all(g.keys & d.conditional_keys for g in d.gates)
    assert d.reason.startswith(f"{case['request']['action']} on ")
