"""``stratusec guardrail test --unit PATH``: conftest-style unit tests for policies.

A ``*_test.rego`` file holds ``test_`` rules; a test passes when its rule is true::

    package stratusec.guardrails.rds_production_encrypted_multi_az_test

    import data.stratusec.guardrails.rds_production_encrypted_multi_az as policy

    test_unencrypted_production_db_is_denied if {
        count(policy.deny) == 2 with input as {"resource_type": "aws_db_instance", ...}
    }

The policies under test are the ``*.rego`` files beside the tests (and the bundled
library, for packages not defined there).

How ``with input as`` runs: rego-cpp 1.5 aborts the whole process when a rule evaluated
under ``with`` calls a built-in (``sprintf``, ``count``, ...), so the engine never sees
``with``. Each test's ``with input as <value>`` clauses (one value per test) are cut out
(keeping every line and column in place), the value is evaluated on its own, and the test
rule is then evaluated with that value as its input. Statements of a test without
``with`` therefore see the same input; a test may not use two different inputs.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stratusec.governance.rego import _strip
from stratusec.guardrails.compiler import HELPERS_NAME, Bundle, helpers_source
from stratusec.guardrails.lint import is_test_file, lint_source, rego_files
from stratusec.guardrails.loader import bundled_policies, load_policy_file
from stratusec.guardrails.model import GuardrailError, Policy, package_of

_TEST_HEAD = re.compile(r"^(test_\w+)\b", re.M)
_WITH_INPUT = re.compile(r"\bwith\s+input\s+as\b")
_WITH = re.compile(r"\bwith\b")
_REF = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*|\[[^\]\n]*\])*")
_AUX = "__stratusec_input_"
_OPEN = {"{": "}", "[": "]", "(": ")"}


@dataclass(frozen=True)
class UnitResult:
    file: str
    package: str
    name: str
    line: int
    passed: bool
    message: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "package": self.package,
            "test": self.name,
            "line": self.line,
            "status": "pass" if self.passed else "fail",
            "message": self.message,
            "seconds": round(self.seconds, 6),
        }


@dataclass
class UnitReport:
    files: list[str] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    results: list[UnitResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if not r.passed)

    def as_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "policies": self.policies,
            "tests": [r.as_dict() for r in self.results],
            "summary": {"tests": len(self.results), "pass": self.passed, "fail": self.failed},
        }


@dataclass
class _Test:
    name: str
    line: int
    input_rule: str | None  # aux rule giving the test's input, or None


def _match_close(text: str, start: int) -> int:
    """Index just past the bracket that closes ``text[start]`` (text is stripped)."""
    stack = [_OPEN[text[start]]]
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch in _OPEN:
            stack.append(_OPEN[ch])
        elif ch in ")]}":
            if not stack or ch != stack.pop():
                raise ValueError(f"unbalanced {ch!r}")
            if not stack:
                return i + 1
        i += 1
    raise ValueError("unclosed bracket")


def _term_end(stripped: str, start: int) -> int:
    """End of the term starting at ``start`` (a literal, a reference, or a call)."""
    i = start
    if i < len(stripped) and stripped[i] in _OPEN:
        return _match_close(stripped, i)
    if i < len(stripped) and stripped[i] == '"':
        j = stripped.index('"', i + 1)
        return j + 1
    m = _REF.match(stripped, i)
    if not m:
        raise ValueError("expected a value after 'with input as'")
    end = m.end()
    if end < len(stripped) and stripped[end] == "(":
        end = _match_close(stripped, end)
    return end


def _body_span(stripped: str, head_start: int) -> tuple[int, int]:
    """(start, end) of a rule's body: the braces after its head, or the rest of the line."""
    line_end = stripped.find("\n", head_start)
    line_end = len(stripped) if line_end < 0 else line_end
    brace = stripped.find("{", head_start, line_end)
    if brace < 0:
        m = re.compile(r"\bif\b").search(stripped, head_start, line_end)
        return (m.end() if m else line_end), line_end
    return brace + 1, _match_close(stripped, brace) - 1


def _statement_start(stripped: str, body_start: int, pos: int) -> int:
    """Start of the body statement holding ``pos`` (after a newline or ';' at depth 0)."""
    depth = 0
    i = pos - 1
    while i >= body_start:
        ch = stripped[i]
        if ch in ")]}":
            depth += 1
        elif ch in "([{":
            depth -= 1
        elif depth == 0 and ch in "\n;":
            return i + 1
        i -= 1
    return body_start


def rewrite_tests(source: str, path: str) -> tuple[str, list[_Test]]:
    """The test module with ``with input as`` cut out and one input rule per test
    appended (after the original text: line and column numbers stay valid)."""
    stripped = _strip(source)
    out = list(source)
    tests: list[_Test] = []
    extra: list[str] = []
    seen: set[str] = set()
    for m in _TEST_HEAD.finditer(stripped):
        name = m.group(1)
        line = stripped.count("\n", 0, m.start()) + 1
        if name in seen:
            raise GuardrailError(f"{path}:{line}: test {name} is defined twice")
        seen.add(name)
        try:
            body_start, body_end = _body_span(stripped, m.end())
        except ValueError as exc:
            raise GuardrailError(f"{path}:{line}: cannot read test {name}: {exc}") from None
        terms: list[str] = []
        prefix = ""
        for w in _WITH_INPUT.finditer(stripped, body_start, body_end):
            value_start = w.end()
            while value_start < body_end and stripped[value_start] in " \t\r\n":
                value_start += 1
            try:
                value_end = _term_end(stripped, value_start)
            except ValueError as exc:
                wl = stripped.count("\n", 0, w.start()) + 1
                raise GuardrailError(f"{path}:{wl}: {exc}") from None
            term = source[value_start:value_end]
            if terms and term.strip() != terms[0].strip():
                wl = stripped.count("\n", 0, w.start()) + 1
                raise GuardrailError(
                    f"{path}:{wl}: test {name} uses two different 'with input as' values; "
                    "split it into one test per input"
                )
            if not terms:
                stmt = _statement_start(stripped, body_start, w.start())
                prefix = source[body_start:stmt]
            terms.append(term)
            for i in range(w.start(), value_end):
                if out[i] != "\n":
                    out[i] = " "
        input_rule = None
        if terms:
            input_rule = f"{_AUX}{name}"
            body = prefix.strip()
            if body:
                extra.append(f"{input_rule} := {terms[0].strip()} if {{\n{prefix}\n}}")
            else:
                extra.append(f"{input_rule} := {terms[0].strip()}")
        tests.append(_Test(name, line, input_rule))
    rewritten = "".join(out)
    left = _WITH.search(_strip(rewritten))
    if left:
        line = rewritten.count("\n", 0, left.start()) + 1
        raise GuardrailError(
            f"{path}:{line}: 'with' is only supported as 'with input as ...' inside test_ rules"
        )
    if extra:
        rewritten = rewritten.rstrip("\n") + "\n\n" + "\n\n".join(extra) + "\n"
    return rewritten, tests


def _test_files(root: Path) -> tuple[list[Path], list[Path]]:
    """(test files, policy files) for a PATH: a test file (policies beside it) or a
    directory (everything under it)."""
    if root.is_file():
        if not is_test_file(root):
            raise GuardrailError(
                f"{root} is not a test file (*_test.rego); to check a policy against "
                "resources use --against or --plan"
            )
        tests = [root]
        policies = [f for f in sorted(root.parent.glob("*.rego")) if not is_test_file(f)]
        return tests, policies
    files = rego_files(root)
    tests = [f for f in files if is_test_file(f)]
    if not tests:
        raise GuardrailError(f"no test files (*_test.rego) under {root}")
    return tests, [f for f in files if not is_test_file(f)]


def run_unit_tests(path: str | Path) -> UnitReport:
    """Run every ``test_`` rule of the ``*_test.rego`` files under ``path``."""
    root = Path(path)
    if not root.exists():
        raise GuardrailError(f"no such file or directory: {root}")
    test_files, policy_files = _test_files(root)
    local: list[Policy] = [load_policy_file(f) for f in policy_files]
    packages = {p.package for p in local}
    for p in local:
        if sum(1 for q in local if q.package == p.package) > 1:
            raise GuardrailError(f"package {p.package} is declared by more than one file")
    policies = local + [b for b in bundled_policies() if b.package not in packages]
    modules: list[tuple[str, str]] = [(HELPERS_NAME, helpers_source())]
    modules += [(p.path, p.source) for p in policies]
    plan: list[tuple[str, str, _Test]] = []  # (file, package, test)
    for f in test_files:
        try:
            source = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GuardrailError(f"cannot read {f}: {exc}") from None
        errors = [
            i
            for i in lint_source(source, f, test_file=True, compile_check=False)
            if i.level == "error"
        ]
        if errors:
            raise GuardrailError(str(errors[0]).replace(": error:", ":", 1))
        package = package_of(source)
        assert package is not None  # lint requires one
        rewritten, tests = rewrite_tests(source, str(f))
        modules.append((str(f), rewritten))
        plan += [(str(f), package, t) for t in tests]
    entrypoints: list[str] = []
    for _file, package, t in plan:
        base = package.replace(".", "/")
        entrypoints.append(f"{base}/{t.name}")
        if t.input_rule:
            entrypoints.append(f"{base}/{t.input_rule}")
    report = UnitReport(files=[str(f) for f in test_files], policies=[p.package for p in local])
    if not plan:
        return report
    bundle = Bundle(modules, entrypoints)
    for file, package, t in plan:
        t0 = time.perf_counter()
        base = package.replace(".", "/")
        inp: Any = {}
        if t.input_rule:
            value, error = bundle.query(f"{base}/{t.input_rule}", {})
            if error or value is None:
                why = error or "it is undefined"
                report.results.append(
                    UnitResult(
                        file,
                        package,
                        t.name,
                        t.line,
                        False,
                        f"cannot evaluate the 'with input as' value: {why}",
                        time.perf_counter() - t0,
                    )
                )
                continue
            inp = value
        value, error = bundle.query(f"{base}/{t.name}", inp)
        if error:
            passed, message = False, f"error: {error}"
        elif value is True:
            passed, message = True, ""
        elif value is None:
            passed, message = False, "a condition of the test is false (the rule is undefined)"
        else:
            passed, message = False, f"the rule is {json.dumps(value)[:200]}, not true"
        report.results.append(
            UnitResult(file, package, t.name, t.line, passed, message, time.perf_counter() - t0)
        )
    return report
