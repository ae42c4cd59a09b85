"""The bundled library: at least 30 policies, all lint-clean, each with a passing and a
failing fixture (tests/guardrails/data/library_cases.yaml), judged by the real engine."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from stratusec.guardrails import GuardrailEngine, bundled_policies
from stratusec.guardrails.engine import config_keys
from stratusec.guardrails.lint import lint_path
from stratusec.guardrails.loader import LIBRARY
from tests.guardrails.conftest import DATA

CASES: dict[str, list[dict[str, Any]]] = yaml.safe_load((DATA / "library_cases.yaml").read_text())
POLICIES = {p.name: p for p in bundled_policies()}
ENGINE = GuardrailEngine(list(POLICIES.values()))
_DAYS_AGO = re.compile(r"\{\{days_ago:(\d+)\}\}")
# The resource types the issue names, and that our collectors emit.
CORE_TYPES = {
    "aws_s3_bucket",
    "aws_db_instance",
    "aws_security_group",
    "aws_iam_role",
    "aws_instance",
    "aws_ebs_volume",
    "aws_cloudtrail",
    "aws_kms_key",
    "aws_lambda_function",
}


def _fill(value: Any) -> Any:
    if isinstance(value, str):
        m = _DAYS_AGO.fullmatch(value)
        if m:
            when = dt.datetime.now(dt.UTC) - dt.timedelta(days=int(m.group(1)), hours=1)
            return when.isoformat()
        return value
    if isinstance(value, dict):
        return {k: _fill(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v) for v in value]
    return value


def _cases() -> list[Any]:
    out = []
    for policy, cases in CASES.items():
        for case in cases:
            out.append(pytest.param(policy, case, id=f"{policy}: {case['name']}"))
    return out


def test_library_size_and_coverage() -> None:
    assert len(POLICIES) >= 30
    judged = {t for p in POLICIES.values() for t in p.meta.resource_types}
    assert judged >= CORE_TYPES, CORE_TYPES - judged
    for p in POLICIES.values():
        assert p.package == f"stratusec.guardrails.{p.name}"
        assert Path(p.path).name == f"{p.name}.rego"
        assert p.meta.title and p.meta.description and p.meta.resource_types
        assert p.origin == "bundled"


def test_library_is_lint_clean() -> None:
    report = lint_path(LIBRARY)
    assert len(report.files) == len(POLICIES)
    assert report.issues == [], "\n".join(map(str, report.issues))


def test_every_policy_has_a_passing_and_a_failing_fixture() -> None:
    assert set(CASES) == set(POLICIES), set(POLICIES) ^ set(CASES)
    for name, cases in CASES.items():
        assert any("deny" in c for c in cases), f"{name}: no failing fixture"
        assert any("deny" not in c for c in cases), f"{name}: no passing fixture"
        for c in cases:
            assert c["input"]["resource_type"] in POLICIES[name].meta.resource_types, (
                f"{name}: {c['name']} uses a type the policy does not name"
            )


@pytest.mark.parametrize(("policy", "case"), _cases())
def test_library_case(policy: str, case: dict[str, Any]) -> None:
    inp = _fill(case["input"])
    decisions = {d.package: d for d in ENGINE.evaluate(inp)}
    d = decisions[POLICIES[policy].package]
    expected = sorted(case.get("deny", []))
    assert d.status == ("deny" if expected else "pass"), d
    assert sorted(d.messages) == expected


def test_policies_read_only_named_config_attributes() -> None:
    """Policies name the attributes they read (input.config.<name>), so that the engine
    can hand each resource type only what its policies read."""
    whole = sorted(name for name, p in POLICIES.items() if config_keys(p.source) is None)
    assert whole == []


def test_a_policy_sees_each_resource_type_it_names_only() -> None:
    for t in ENGINE.resource_types:
        for p in ENGINE.applicable(t):
            assert t in p.meta.resource_types
    assert ENGINE.applicable("aws_no_such_type") == []
