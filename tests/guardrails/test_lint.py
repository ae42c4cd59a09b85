"""lint: Rego v1 only (v0 heads reported with the line and the v1 spelling), the guardrail
contract, parse and compile errors as file:line:col, and nothing on fd 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratusec.guardrails import GuardrailError, policy_from_source
from stratusec.guardrails.lint import lint_path, lint_source
from stratusec.guardrails.loader import load_policy_file

META = "# title: Test\n# severity: high\n# resource_types: [aws_s3_bucket]\n"
PKG = "package stratusec.guardrails.demo_policy\n\n"
GOOD = META + PKG + 'deny contains msg if {\n\tinput.config.x == 1\n\tmsg := "x is 1"\n}\n'


def _errors(source: str, path: str = "p.rego") -> list[str]:
    return [str(i) for i in lint_source(source, path) if i.level == "error"]


def test_a_good_policy_is_clean() -> None:
    assert lint_source(GOOD, "p.rego") == []


def test_v0_partial_set_rule_reported_with_line_and_v1_spelling() -> None:
    src = META + PKG + 'deny[msg] {\n\tinput.config.x == 1\n\tmsg := "x"\n}\n'
    errors = _errors(src)
    assert errors[0] == (
        "p.rego:6:1: error: Rego v0 rule head 'deny[msg] { ... }': Rego v1 reads it as an "
        "object, not a set; write 'deny contains msg if { ... }'"
    )
    # 'deny[reason] if' is v1 syntax for an object: also refused for deny
    src = META + PKG + 'deny[reason] if {\n\treason := "r"\n}\n'
    assert "write 'deny contains reason if { ... }'" in _errors(src)[0]


def test_other_v0_heads() -> None:
    src = META + PKG + "allowed {\n\tinput.x\n}\n\nf(x) = y {\n\ty := x\n}\n\n" + GOOD.split(PKG)[1]
    errors = _errors(src)
    assert any(":6:1:" in e and "write 'allowed if { ... }'" in e for e in errors), errors
    assert any(":10:1:" in e and "write 'f(x) := y if { ... }'" in e for e in errors), errors
    # an object literal is not a rule body
    assert _errors(META + PKG + 'm := {\n\t"a": 1,\n}\n\n' + GOOD.split(PKG)[1]) == []


def test_contract_errors() -> None:
    assert any("no 'package'" in e for e in _errors("deny contains m if { m := 1 }\n"))
    src = "package other.thing\n\n" + GOOD.split(PKG)[1]
    assert any("is not a guardrail package" in e for e in _errors(META + src))
    src = META + PKG + "deny := {1}\n"
    errors = _errors(src)
    assert any("'deny' must be a set rule" in e for e in errors)
    assert _errors(META + PKG + "allow := true\n") == [
        "p.rego:1:1: error: the policy has no 'deny contains msg if { ... }' rule"
    ]


def test_metadata_problems() -> None:
    src = (
        "# title: T\n# severity: urgent\n# resource_types: [aws_s3_bucket, Bad-Type]\n# owner: me\n"
    )
    issues = {str(i) for i in lint_source(src + PKG + GOOD.split(PKG)[1], "p.rego")}
    assert (
        "p.rego:1:1: error: metadata severity 'urgent' is not valid; valid: critical, high, "
        "medium, low, info"
    ) in issues
    assert any("'Bad-Type' is not a Terraform resource type" in i for i in issues)
    assert any("warning: unknown metadata key 'owner'" in i for i in issues)
    no_meta = lint_source(PKG + GOOD.split(PKG)[1], "p.rego")
    assert {i.level for i in no_meta} == {"warning"}
    assert any("no 'resource_types'" in i.message for i in no_meta)


def test_parse_error_has_file_line_col() -> None:
    src = META + PKG + "deny contains msg if {\n\tmsg := \n}\n"
    (error,) = _errors(src, "dir/broken.rego")
    assert error == "dir/broken.rego:7:6: error: does not parse: Invalid assignment operator"
    with pytest.raises(GuardrailError, match=r"^dir/broken\.rego:7:6: does not parse"):
        policy_from_source(src, "dir/broken.rego")
    # a draft is located too
    with pytest.raises(GuardrailError, match=r"^<draft>:7:6: does not parse"):
        policy_from_source(src)


def test_unknown_functions_and_helpers() -> None:
    src = (
        META
        + PKG
        + "import data.stratusec.lib\n\n"
        + "deny contains msg if {\n\tfoo.bar(input.x)\n\tlib.nope(1)\n"
        + '\tlib.block(input.x)\n\tmsg := "m"\n}\n'
    )
    errors = _errors(src)
    assert "p.rego:9:2: error: unknown function 'foo.bar'" in errors
    assert any(e.startswith("p.rego:10:2: error: unknown helper 'lib.nope'") for e in errors)
    assert not any("lib.block" in e for e in errors)


def test_with_is_refused_in_policies() -> None:
    src = (
        META
        + PKG
        + (
            "deny contains msg if {\n\tx := data.stratusec.guardrails.other.deny with input as {}\n"
            "\tmsg := x\n}\n"
        )
    )
    (error,) = _errors(src)
    assert error.startswith("p.rego:7:")
    assert "'with' is not supported in guardrail policies" in error


def test_test_files_allow_only_with_input(tmp_path: Path) -> None:
    ok = "package t\n\ntest_a if {\n\tcount(data.x.deny) == 0 with input as {}\n}\n"
    assert [i for i in lint_source(ok, "a_test.rego") if i.level == "error"] == []
    bad = "package t\n\ntest_a if {\n\tdata.x.deny with data.y as {}\n}\n"
    (error,) = [str(i) for i in lint_source(bad, "a_test.rego") if i.level == "error"]
    assert "only 'with input as ...' is supported in tests, not 'with data.y'" in error


def test_compile_error_is_located_and_fd1_stays_clean(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # A rule built both as a set and as a value: rego-cpp fails the build and prints why
    # on fd 1 (the MCP stdio stream) unless captured.
    src = (
        META
        + PKG
        + 'deny contains msg if {\n\tmsg := "a"\n}\n\nx contains 1 if input.a\n\nx := 5\n'
    )
    capfd.readouterr()
    issues = [str(i) for i in lint_source(src, "conflict.rego")]
    out, _err = capfd.readouterr()
    assert out == ""
    assert issues == [
        "conflict.rego:12:1: error: rule 'x' is built both as a set ('contains', line 10) "
        "and as a single value (line 12)",
        "conflict.rego:1:1: error: does not compile: Invalid rule body for set rule",
    ]
    with pytest.raises(GuardrailError, match=r"^conflict\.rego:12:1: rule 'x' is built"):
        policy_from_source(src, "conflict.rego")
    assert capfd.readouterr().out == ""


def test_rules_declared_twice() -> None:
    src = META + PKG + 'deny contains msg if {\n\tmsg := "a"\n}\n\nx := 5\n\nx := 6\n'
    assert _errors(src) == [
        "p.rego:12:1: error: rule 'x' is declared with ':=' again (first on line 10); use "
        "'=' for rules with several definitions"
    ]


def test_evaluation_errors_surface_at_lint() -> None:
    src = (
        META
        + PKG
        + (
            "x = 1 if input.resource_type\n\nx = 2 if input.resource_type\n\n"
            'deny contains msg if {\n\tx == 1\n\tmsg := "m"\n}\n'
        )
    )
    errors = _errors(src)
    assert any("evaluation fails" in e for e in errors), errors


def test_lint_path_reports_every_file_and_duplicates(tmp_path: Path) -> None:
    (tmp_path / "a.rego").write_text(GOOD)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.rego").write_text(GOOD)
    (tmp_path / "c.rego").write_text(
        META + PKG.replace("demo_policy", "c") + "deny[m] { m := 1 }\n"
    )
    report = lint_path(tmp_path)
    assert len(report.files) == 3
    messages = [str(i) for i in report.errors]
    assert any("is also declared in" in m for m in messages)
    assert any(m.startswith(f"{tmp_path / 'c.rego'}:6:1: error: Rego v0") for m in messages)
    with pytest.raises(GuardrailError, match="no such file or directory"):
        lint_path(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(GuardrailError, match=r"no \.rego files"):
        lint_path(empty)


def test_loading_refuses_what_lint_refuses(tmp_path: Path) -> None:
    f = tmp_path / "v0.rego"
    f.write_text(META + PKG + "deny[msg] {\n\tmsg := 1\n}\n")
    with pytest.raises(GuardrailError, match=r"v0\.rego:6:1: Rego v0 rule head"):
        load_policy_file(f)
