"""The engine: one call per resource, grouped by type, trimmed input, a broken policy
isolated, rego-cpp output quirks decoded, findings-compatible results."""

from __future__ import annotations

import pytest

from stratusec.checks.model import Severity, Status
from stratusec.guardrails import (
    GuardrailEngine,
    GuardrailError,
    evaluate_inventory,
    guardrail_report,
    policy_from_source,
    resource_input,
)
from stratusec.guardrails.engine import config_keys
from stratusec.inventory.models import Resource

HEAD = "# title: {title}\n# severity: {sev}\n# resource_types: [{types}]\n"


def _policy(name: str, body: str, types: str = "aws_s3_bucket", sev: str = "high") -> object:
    src = HEAD.format(title=name, sev=sev, types=types)
    src += f"package stratusec.guardrails.{name}\n\nimport data.stratusec.lib\n\n{body}"
    return policy_from_source(src, f"/tmp/{name}.rego", origin="file")


VERSIONED = _policy(
    "versioned",
    'deny contains msg if {\n\tinput.config.versioning.status != "Enabled"\n'
    '\tmsg := sprintf("%s: not versioned", [input.resource_name])\n}\n',
)
TAGGED = _policy(
    "tagged",
    'deny contains msg if {\n\tnot input.tags.owner\n\tmsg := sprintf("%s: no owner tag", '
    "[input.resource_name])\n}\n",
    types="aws_s3_bucket, aws_db_instance",
    sev="low",
)


def _bucket(name: str, status: str, **tags: str) -> Resource:
    return Resource(
        uid=f"arn:aws:s3:::{name}",
        account="123456789012",
        region="us-east-1",
        service="s3",
        type="aws_s3_bucket",
        name=name,
        tags=tags,
        config={"versioning": {"status": status}, "policy": {"big": "x" * 1000}},
    )


def test_decisions_per_applicable_policy() -> None:
    engine = GuardrailEngine([VERSIONED, TAGGED])  # type: ignore[list-item]
    ok = engine.evaluate(_bucket("good", "Enabled", owner="team"))
    assert [(d.package, d.status, d.messages) for d in ok] == [
        ("stratusec.guardrails.versioned", "pass", ()),
        ("stratusec.guardrails.tagged", "pass", ()),
    ]
    bad = engine.evaluate(_bucket("bad", "Suspended"))
    assert {d.package.rsplit(".", 1)[1]: d.messages for d in bad} == {
        "versioned": ("bad: not versioned",),
        "tagged": ("bad: no owner tag",),
    }
    d = bad[0]
    assert (d.resource_uid, d.region, d.account, d.severity, d.title) == (
        "arn:aws:s3:::bad",
        "us-east-1",
        "123456789012",
        "high",
        "versioned",
    )
    # a type no policy names: nothing to evaluate, no call
    calls = engine.stats.calls
    assert engine.evaluate({"resource_type": "aws_vpc", "resource_name": "v"}) == []
    assert engine.stats.calls == calls
    db = engine.evaluate({"resource_type": "aws_db_instance", "resource_name": "db"})
    assert [(d.package, d.status) for d in db] == [("stratusec.guardrails.tagged", "deny")]


def test_one_call_per_resource_and_lazy_compile() -> None:
    engine = GuardrailEngine([VERSIONED, TAGGED])  # type: ignore[list-item]
    assert engine.stats.bundles == 0
    for i in range(5):
        engine.evaluate(_bucket(f"b{i}", "Enabled"))
    assert engine.stats.calls == 5
    assert engine.stats.bundles == 1  # one group (aws_s3_bucket) compiled once
    engine.compile_all()
    assert engine.stats.bundles == 2  # and aws_db_instance's


def test_input_is_trimmed_to_the_attributes_policies_read() -> None:
    assert config_keys(VERSIONED.source) == frozenset({"versioning"})  # type: ignore[attr-defined]
    assert config_keys(TAGGED.source) == frozenset()  # type: ignore[attr-defined]
    pkg = "package stratusec.guardrails.x\n"
    src = pkg + 'deny contains m if {\n c := input.config\n m := "x"\n}\n'
    assert config_keys(src) is None
    src = pkg + 'deny contains m if {\n input.config["a-b"] == 1\n m := "x"\n}\n'
    assert config_keys(src) == frozenset({"a-b"})
    # an attribute named in a comment or a string is not a read
    src = pkg + '# input.config.secret\ndeny contains m if {\n input.config.a == "input.config"\n'
    src += ' m := "x"\n}\n'
    assert config_keys(src) == frozenset({"a"})
    # a policy that sees the whole config still gets it
    whole = _policy(
        "whole",
        'deny contains msg if {\n\tc := input.config\n\tc.policy.big\n\tmsg := "has big"\n}\n',
    )
    (d,) = GuardrailEngine([whole]).evaluate(_bucket("b", "Enabled"))  # type: ignore[list-item]
    assert d.messages == ("has big",)
    # and a trimmed one does not see what it did not name
    peek = _policy(
        "peek",
        'deny contains msg if {\n\tinput.config.versioning\n\tnot input.config["policy"]\n'
        '\tmsg := "policy trimmed"\n}\n',
    )
    (d,) = GuardrailEngine([peek]).evaluate(_bucket("b", "Enabled"))  # type: ignore[list-item]
    assert d.messages == ()  # 'policy' is named (by index), so it is kept


def test_a_failing_policy_is_isolated() -> None:
    broken = _policy(
        "broken",
        "x = 1 if input.config.versioning\n\nx = 2 if input.config.versioning\n\n"
        'deny contains msg if {\n\tx == 1\n\tmsg := "x"\n}\n',
    )
    engine = GuardrailEngine([VERSIONED, broken])  # type: ignore[list-item]
    out = {d.package.rsplit(".", 1)[1]: d for d in engine.evaluate(_bucket("b", "Off"))}
    assert out["versioned"].status == "deny"
    assert out["broken"].status == "error"
    assert out["broken"].messages[0].startswith("policy evaluation failed")
    assert engine.stats.fallbacks == 1


def test_messages_with_quotes_and_builtin_strings_are_decoded() -> None:
    # rego-cpp renders strings made by built-ins (concat, lower, ...) with bare quotes;
    # cloud data with quotes must come back exactly as it was.
    pol = _policy(
        "quotes",
        'deny contains msg if {\n\tmsg := concat("", [input.resource_name, ": ", '
        'lower("A")])\n}\n\n'
        'deny contains msg if {\n\tmsg := sprintf("%s has %v", [input.resource_name, '
        "input.config.versioning])\n}\n",
    )
    name = 'evil", "injected'
    (d,) = GuardrailEngine([pol]).evaluate(_bucket(name, 'x"y'))  # type: ignore[list-item]
    assert set(d.messages) == {
        f"{name}: a",
        f'{name} has {{"status": "x\\"y"}}',
    }


def test_inputs_need_a_type_and_packages_are_unique() -> None:
    with pytest.raises(ValueError, match="resource_type"):
        resource_input({"resource_name": "x"})
    with pytest.raises(GuardrailError, match="declared by both"):
        GuardrailEngine([VERSIONED, VERSIONED])  # type: ignore[list-item]


def test_evaluate_inventory_and_guardrail_report() -> None:
    resources = [_bucket("good", "Enabled", owner="t"), _bucket("bad", "Suspended")]
    decisions = evaluate_inventory(resources, [VERSIONED, TAGGED])  # type: ignore[list-item]
    assert [(d.resource_name, d.status) for d in decisions] == [
        ("good", "pass"),
        ("good", "pass"),
        ("bad", "deny"),
        ("bad", "deny"),
    ]
    report = guardrail_report(resources, [VERSIONED, TAGGED])  # type: ignore[list-item]
    assert [r.check_id for r in report.results] == [
        "guardrail:stratusec.guardrails.versioned",
        "guardrail:stratusec.guardrails.tagged",
    ] * 2
    fail = report.failing()
    assert {(r.resource_name, r.check_id.rsplit(".", 1)[1]) for r in fail} == {
        ("bad", "versioned"),
        ("bad", "tagged"),
    }
    r = fail[0]
    assert r.status == Status.FAIL and r.severity == Severity.HIGH
    assert r.message == "bad: not versioned"
    assert r.evidence["guardrail"] == "stratusec.guardrails.versioned"
    assert r.evidence["policy_sha256"] == VERSIONED.sha256  # type: ignore[attr-defined]
    assert (r.service, r.account, r.region) == ("s3", "123456789012", "us-east-1")
    assert report.counts["guardrail:stratusec.guardrails.versioned"] == {"PASS": 1, "FAIL": 1}
    assert report.results[0].as_dict()["status"] == "PASS"


def test_object_messages_and_builtin_strings_inside_sprintf() -> None:
    pol = _policy(
        "shapes",
        'deny contains {"msg": sprintf("%s: as an object", [input.resource_name]), "n": 1} if {\n'
        "\tinput.config.versioning\n}\n\n"
        'deny contains msg if {\n\tmsg := sprintf("name=%s!", [lower(input.resource_name)])\n}\n',
    )
    (d,) = GuardrailEngine([pol]).evaluate(_bucket("Data, Lake", "x"))  # type: ignore[list-item]
    # rego-cpp prints a built-in's string inside sprintf("%s") with its quotes
    assert set(d.messages) == {"Data, Lake: as an object", 'name="data, lake"!'}


def test_helper_rules_reading_input_are_known_to_the_trimmer() -> None:
    """A data.stratusec.lib rule that reads input.config must be in the engine's table of
    what it reads, or policies using it would be handed a trimmed config."""
    import re

    from stratusec.guardrails import engine
    from stratusec.guardrails.compiler import helpers_source

    src = helpers_source()
    reading = set()
    for m in re.finditer(r"^(\w+) contains \w+ if \{\n(.*?)^\}", src, re.M | re.S):
        if "input" in m.group(2) or "ingress" in m.group(2):
            reading.add(m.group(1))
    assert reading == set(engine._HELPER_RULE_READS)
    functions_with_config = set(re.findall(r"^(\w+)\(rtype, config\)", src, re.M))
    assert functions_with_config <= set(engine._HELPER_READS)
