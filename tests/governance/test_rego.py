"""The Rego policy: contract, fail-closed loading and evaluation, nothing on stdout."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratusec.errors import StratusecError
from stratusec.governance.rego import PolicyError, RegoPolicy, line_col

HEADER = "package stratusec.authz\n\n"


def _write(tmp_path: Path, text: str) -> Path:
    f = tmp_path / "authz.rego"
    f.write_text(text)
    return f


def _inp(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "principal": "alice",
        "on_behalf_of": None,
        "role": "reader",
        "agent": "claude",
        "tool": "scan",
        "arguments": {},
        "account": {"name": "dev", "tags": {}},
    }
    base.update(kw)
    return base


def test_line_col_counts_bytes() -> None:
    src = "ab\né\nxyz"
    assert line_col(src, 0) == (1, 1)
    assert line_col(src, 3) == (2, 1)
    assert line_col(src, 6) == (3, 1)  # 'é' is two bytes
    assert line_col(src, 8) == (3, 3)


def test_deny_and_approval_rules(tmp_path: Path) -> None:
    p = RegoPolicy.load(
        _write(
            tmp_path,
            HEADER
            + 'deny contains r if {\n  input.arguments.query == "MATCH (n) DETACH DELETE n"\n'
            '  r := "no deletes"\n}\n\n'
            "require_approval contains r if {\n"
            '  input.tool == "scan"\n  input.account.tags.environment == "production"\n'
            '  r := "production scan"\n}\n',
        )
    )
    assert p.evaluate(_inp()) == ("allow", [])
    prod = {"name": "prod", "tags": {"environment": "production"}}
    assert p.evaluate(_inp(account=prod)) == ("require_approval", ["production scan"])
    q = {"query": "MATCH (n) DETACH DELETE n"}
    assert p.evaluate(_inp(account=prod, arguments=q)) == ("deny", ["no deletes"])


def test_allow_false_denies(tmp_path: Path) -> None:
    p = RegoPolicy.load(
        _write(tmp_path, HEADER + 'default allow := false\n\nallow if input.principal == "alice"\n')
    )
    assert p.evaluate(_inp())[0] == "allow"
    assert p.evaluate(_inp(principal="mallory"))[0] == "deny"


def test_syntax_error_reports_file_and_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    f = _write(tmp_path, HEADER + "deny contains r if {\n  r := ((( \n}\n")
    with pytest.raises(StratusecError) as exc:
        RegoPolicy.load(f)
    assert f"{f}:4:" in str(exc.value)
    assert "does not parse" in str(exc.value)
    assert capfd.readouterr().out == ""


def test_compile_error_unknown_function(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    f = _write(
        tmp_path,
        HEADER + 'deny contains r if {\n  input.tool == "never"\n  r := foo.bar(input.tool)\n}\n',
    )
    with pytest.raises(StratusecError) as exc:
        RegoPolicy.load(f)
    assert f"{f}:5:" in str(exc.value)
    assert "foo.bar" in str(exc.value)
    assert capfd.readouterr().out == ""


def test_compile_error_found_at_load(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    f = _write(tmp_path, HEADER + 'deny contains r if {\n  r := concat("only-one-arg")\n}\n')
    with pytest.raises(StratusecError) as exc:
        RegoPolicy.load(f)
    assert f"{f}:4" in str(exc.value)
    assert "wrong number of arguments" in str(exc.value)
    assert capfd.readouterr().out == ""


@pytest.mark.parametrize(
    "body",
    [
        'deny[msg] {\n  msg := "v0"\n}\n',
        'deny[msg] if {\n  msg := "v0"\n}\n',
        'allow {\n  input.tool == "scan"\n}\n',
        'deny := "x" if { true }\n',
    ],
)
def test_v0_style_refused(tmp_path: Path, body: str) -> None:
    with pytest.raises(StratusecError, match=r"authz\.rego:3: .*(v0-style|set rule)"):
        RegoPolicy.load(_write(tmp_path, HEADER + body))


def test_wrong_package_or_empty_refused(tmp_path: Path) -> None:
    with pytest.raises(StratusecError, match=r"package stratusec\.authz"):
        RegoPolicy.load(_write(tmp_path, 'package other\n\ndeny contains "x" if { true }\n'))
    with pytest.raises(StratusecError, match="defines none"):
        RegoPolicy.load(_write(tmp_path, HEADER + "x := 1\n"))


def test_runtime_failure_fails_closed(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    # two complete definitions conflict only for tool == "query_graph"
    p = RegoPolicy.load(
        _write(
            tmp_path,
            HEADER + 'allow := true if input.tool == "query_graph"\n'
            'allow := false if input.tool == "query_graph"\n',
        )
    )
    assert p.evaluate(_inp())[0] == "allow"
    effect, reasons = p.evaluate(_inp(tool="query_graph"))
    assert effect == "deny"
    assert reasons[0].startswith("authorization policy failed: ")
    assert capfd.readouterr().out == ""


def test_unexpected_result_fails_closed(tmp_path: Path) -> None:
    p = RegoPolicy.load(_write(tmp_path, HEADER + "allow := input.arguments.flag\n"))
    effect, reasons = p.evaluate(_inp(arguments={"flag": "yes"}))
    assert effect == "deny"
    assert "'allow' must be a boolean" in reasons[0]
    assert p.evaluate(_inp(arguments={"flag": True}))[0] == "allow"


def test_unserializable_input_fails_closed(tmp_path: Path) -> None:
    p = RegoPolicy.load(_write(tmp_path, HEADER + 'deny contains "x" if { false }\n'))
    effect, reasons = p.evaluate(_inp(arguments={"n": float("nan")}))
    assert effect == "deny"
    assert reasons[0].startswith("authorization policy failed: input is not JSON")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StratusecError, match="cannot read authorization policy"):
        RegoPolicy.load(tmp_path / "nope.rego")


def test_non_ascii_input_matches_non_ascii_literals() -> None:
    policy = RegoPolicy.from_source(
        'package stratusec.authz\n\ndeny contains "café closed" if {\n'
        '    input.arguments.where == "café"\n}\n'
    )
    base = {"principal": "p", "role": "reader", "tool": "scan", "arguments": {"where": "café"}}
    assert policy.evaluate(base) == ("deny", ["café closed"])


def test_with_is_refused_with_its_line() -> None:
    with pytest.raises(PolicyError, match=r"authz.rego:4:\d+: 'with' is not supported"):
        RegoPolicy.from_source(
            'package stratusec.authz\n\ndeny contains "x" if {\n'
            '    startswith(input.tool, "s") with input as {"tool": "scan"}\n}\n'
        )
