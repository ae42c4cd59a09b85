"""``stratusec guardrail lint``: Rego v1 only, the guardrail contract, and located errors.

Checks, each reported as ``file:line:col: level: message``:

- the metadata block (title, severity, resource_types, description);
- ``package stratusec.guardrails.<name>`` and at least one ``deny contains msg if`` rule;
- Rego v0 rule heads, with the v1 spelling: ``deny[msg] { ... }`` (which Rego v1 reads as
  an object, not a set) becomes ``deny contains msg if { ... }``;
- ``with``: refused in policies (rego-cpp 1.5 aborts the process when a rule evaluated
  under ``with`` calls a built-in); in ``*_test.rego`` files only ``with input as``;
- calls of functions that exist nowhere (rego-cpp only notices them when a rule reaches
  the call);
- parse and compile errors from the Rego engine, with line and column; and an evaluation
  of the policy on an empty resource, for errors the engine defers to evaluation.

Nothing here writes to stdout: the engine's own messages are captured.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from regopy import Interpreter

from stratusec.governance.rego import _CALL, _FUNC_DEF, _KEYWORDS, _strip
from stratusec.guardrails.compiler import (
    HELPERS_NAME,
    HELPERS_PACKAGE,
    Bundle,
    CompileError,
    helper_functions,
    helpers_source,
)
from stratusec.guardrails.model import PACKAGE_RE, GuardrailError, package_of, parse_metadata

DENY = "deny"
_SET_RULES = ("deny", "warn", "violation")
_V0_SET = re.compile(r"^([A-Za-z_]\w*)\s*\[\s*([^\]]*?)\s*\]\s*\{")
_V1_OBJECT_TRUE = re.compile(r"^([A-Za-z_]\w*)\s*\[\s*([^\]]*?)\s*\]\s*if\b")
_V0_OBJECT = re.compile(r"^([A-Za-z_]\w*)\s*\[\s*([^\]]*?)\s*\]\s*(:?=)\s*(\S.*?)\s*\{\s*$")
_V0_FUNC = re.compile(r"^([A-Za-z_]\w*\s*\([^)]*\))\s*(?:(:?=)\s*(\S.*?)\s*)?\{\s*$")
_V0_BODY = re.compile(r"^([A-Za-z_]\w*)\s*(?:(:?=)\s*(\S.*?)\s*)?\{\s*$")
_WITH = re.compile(r"\bwith\b(\s+(\S+)\s+as\b)?")
_IMPORT = re.compile(r"^import\s+([\w.]+)(?:\s+as\s+(\w+))?", re.M)
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.M)
_PROBE_TYPE = "stratusec_probe"


@dataclass(frozen=True)
class LintIssue:
    path: str
    line: int
    col: int
    level: str  # error | warning
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.level}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "level": self.level,
            "message": self.message,
        }


@dataclass
class LintReport:
    files: list[str] = field(default_factory=list)
    issues: list[LintIssue] = field(default_factory=list)

    @property
    def errors(self) -> list[LintIssue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[LintIssue]:
        return [i for i in self.issues if i.level == "warning"]

    def as_dict(self) -> dict[str, object]:
        return {
            "files": self.files,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "issues": [i.as_dict() for i in self.issues],
        }


def is_test_file(path: str | Path) -> bool:
    return str(path).endswith("_test.rego")


def _col(line: str) -> int:
    return len(line) - len(line.lstrip()) + 1


def _head_issues(path: str, lines: list[str], test_file: bool) -> list[LintIssue]:
    issues: list[LintIssue] = []

    def err(no: int, message: str, level: str = "error") -> None:
        issues.append(LintIssue(path, no, 1, level, message))

    for no, ln in enumerate(lines, 1):
        if not ln or ln[0].isspace() or ln.startswith(("package", "import", "default")):
            continue
        head = ln.rstrip()
        m = _V0_SET.match(head)
        if m:
            name, var = m.group(1), m.group(2) or "msg"
            err(
                no,
                f"Rego v0 rule head '{name}[{var}] {{ ... }}': Rego v1 reads it as an object, "
                f"not a set; write '{name} contains {var} if {{ ... }}'",
            )
            continue
        m = _V1_OBJECT_TRUE.match(head)
        if m:
            name, var = m.group(1), m.group(2) or "msg"
            level = "error" if name in _SET_RULES else "warning"
            err(
                no,
                f"'{name}[{var}] if' builds an object (Rego v0 set syntax); "
                f"write '{name} contains {var} if {{ ... }}'",
                level,
            )
            continue
        m = _V0_OBJECT.match(head)
        if m and not re.search(r"\bif\b", head):
            name, key, op, value = m.groups()
            err(
                no,
                f"Rego v0 rule head '{name}[{key}] {op} {value} {{ ... }}' has no 'if'; "
                f"write '{name}[{key}] := {value} if {{ ... }}'",
            )
            continue
        m = _V0_FUNC.match(head)
        if m and not re.search(r"\bif\b", head):
            sig, op, value = m.groups()
            spelled = f"{sig} := {value} if {{ ... }}" if op else f"{sig} if {{ ... }}"
            err(no, f"Rego v0 function head without 'if'; write '{spelled}'")
            continue
        m = _V0_BODY.match(head)
        if m and not re.search(r"\bif\b", head):
            name, op, value = m.groups()
            if op and value is None:
                continue  # 'x := {' : an object literal, not a rule body
            spelled = f"{name} := {value} if {{ ... }}" if op else f"{name} if {{ ... }}"
            err(
                no,
                f"Rego v0 rule head '{head.rstrip('{ ').strip()} {{' without 'if'; "
                f"write '{spelled}'",
            )
            continue
        word = re.match(r"(\w+)", head)
        if (
            not test_file
            and word
            and word.group(1) == DENY
            and not re.match(r"deny\s+contains\b", head)
        ):
            err(no, "'deny' must be a set rule: write 'deny contains msg if { ... }'")
    issues += _rule_kind_issues(path, lines)
    return issues


_HEAD_KIND = re.compile(r"^(?:default\s+)?([A-Za-z_]\w*)\s*(contains\b|:=|=|if\b|\{|\[)")


def _rule_kind_issues(path: str, lines: list[str]) -> list[LintIssue]:
    """A rule built both as a set ('contains') and as one value, or declared twice with
    ':=' (rego-cpp reports the first without a location and accepts the second)."""
    issues: list[LintIssue] = []
    sets: dict[str, int] = {}
    values: dict[str, int] = {}
    declared: dict[str, int] = {}
    for no, ln in enumerate(lines, 1):
        if not ln or ln[0].isspace() or ln.startswith(("package", "import")):
            continue
        m = _HEAD_KIND.match(ln)
        if not m:
            continue
        name, kind = m.group(1), m.group(2)
        if kind == "contains":
            sets.setdefault(name, no)
            first = values.get(name)
        elif kind in (":=", "=", "if"):
            values.setdefault(name, no)
            first = sets.get(name)
            if kind == ":=" and not ln.startswith("default"):
                if name in declared:
                    issues.append(
                        LintIssue(
                            path,
                            no,
                            1,
                            "error",
                            f"rule '{name}' is declared with ':=' again (first on line "
                            f"{declared[name]}); use '=' for rules with several definitions",
                        )
                    )
                declared.setdefault(name, no)
        else:
            continue
        if first is not None:
            issues.append(
                LintIssue(
                    path,
                    no,
                    1,
                    "error",
                    f"rule '{name}' is built both as a set ('contains', line "
                    f"{sets[name]}) and as a single value (line {values[name]})",
                )
            )
    return issues


def _with_issues(path: str, lines: list[str], test_file: bool) -> list[LintIssue]:
    issues: list[LintIssue] = []
    for no, ln in enumerate(lines, 1):
        for m in _WITH.finditer(ln):
            col = m.start() + 1
            if not test_file:
                issues.append(
                    LintIssue(
                        path,
                        no,
                        col,
                        "error",
                        "'with' is not supported in guardrail policies (the Rego engine, "
                        "rego-cpp 1.5, aborts when a rule evaluated under 'with' calls a "
                        "built-in); use it in *_test.rego files as '... with input as {...}'",
                    )
                )
            elif m.group(2) != "input":
                target = m.group(2) or "?"
                issues.append(
                    LintIssue(
                        path,
                        no,
                        col,
                        "error",
                        f"only 'with input as ...' is supported in tests, not 'with {target}'",
                    )
                )
    return issues


def _call_issues(path: str, stripped: str, lines: list[str]) -> list[LintIssue]:
    issues: list[LintIssue] = []
    user_funcs = set(_FUNC_DEF.findall(stripped))
    aliases: dict[str, str] = {}
    for m in _IMPORT.finditer(stripped):
        target = m.group(1)
        alias = m.group(2) or target.rsplit(".", 1)[-1]
        aliases[alias] = target
    probe = Interpreter()
    for no, ln in enumerate(lines, 1):
        if ln.startswith(("package", "import")):
            continue
        for m in _CALL.finditer(ln):
            name = m.group(1)
            if name in _KEYWORDS or name in user_funcs or name.startswith("data."):
                continue
            head, _, rest = name.partition(".")
            target = aliases.get(head)
            if target is not None and rest:
                if target == f"data.{HELPERS_PACKAGE}" and rest not in helper_functions():
                    valid = ", ".join(sorted(helper_functions()))
                    issues.append(
                        LintIssue(
                            path,
                            no,
                            m.start(1) + 1,
                            "error",
                            f"unknown helper {name!r}; {HELPERS_PACKAGE} defines: {valid}",
                        )
                    )
                continue
            if not probe.is_builtin(name):
                issues.append(
                    LintIssue(path, no, m.start(1) + 1, "error", f"unknown function {name!r}")
                )
    return issues


def lint_source(
    source: str,
    path: str | Path = "policy.rego",
    *,
    test_file: bool | None = None,
    compile_check: bool = True,
) -> list[LintIssue]:
    """Every problem found in one module (errors first in line order, then warnings)."""
    p = str(path)
    test = is_test_file(p) if test_file is None else test_file
    issues: list[LintIssue] = []
    stripped = _strip(source)
    lines = stripped.splitlines()
    package = package_of(source)
    if not test:
        _meta, meta_issues = parse_metadata(source, default_title=package or Path(p).stem)
        issues += [LintIssue(p, i.line, 1, i.level, i.message) for i in meta_issues]
    if package is None:
        issues.append(
            LintIssue(
                p,
                1,
                1,
                "error",
                "no 'package' declaration; write 'package stratusec.guardrails.<name>'",
            )
        )
    elif not test and not PACKAGE_RE.match(package):
        no = next(
            (i for i, ln in enumerate(lines, 1) if ln.startswith("package")),
            1,
        )
        issues.append(
            LintIssue(
                p,
                no,
                1,
                "error",
                f"package {package!r} is not a guardrail package; write "
                "'package stratusec.guardrails.<name>' (lower-case letters, digits, '_')",
            )
        )
    issues += _head_issues(p, lines, test)
    issues += _with_issues(p, lines, test)
    issues += _call_issues(p, stripped, lines)
    deny_head_reported = any("'deny" in i.message for i in issues)
    if (
        not test
        and not deny_head_reported
        and not any(re.match(r"deny\s+contains\b", ln) for ln in lines)
    ):
        issues.append(
            LintIssue(
                p,
                1,
                1,
                "error",
                "the policy has no 'deny contains msg if { ... }' rule",
            )
        )
    if test and not _TEST_RULE.search(stripped):
        issues.append(LintIssue(p, 1, 1, "warning", "no test_ rules in this test file"))
    errors = [i for i in issues if i.level == "error"]
    if (
        compile_check
        and package is not None
        and not any("does not parse" in i.message for i in errors)
    ):
        issues += _compile_issues(source, p, package, test, stripped, errors)
    order = {"error": 0, "warning": 1}

    def key(i: LintIssue) -> tuple[int, bool, int, int]:
        # The engine's own compile messages carry no location: after located errors.
        unlocated = i.line == 1 and i.col == 1 and i.message.startswith("does not compile")
        return (order.get(i.level, 2), unlocated, i.line, i.col)

    return sorted(issues, key=key)


def _compile_issues(
    source: str,
    path: str,
    package: str,
    test: bool,
    stripped: str,
    earlier: list[LintIssue],
) -> list[LintIssue]:
    pkg_path = package.replace(".", "/")
    if test:
        entrypoints = [f"{pkg_path}/{name}" for name in sorted(set(_TEST_RULE.findall(stripped)))]
    else:
        entrypoints = [f"{pkg_path}/{DENY}"]
    if not entrypoints:
        entrypoints = [pkg_path]
    if any("'with'" in i.message for i in earlier):
        return []  # never hand the engine a module it may abort on
    try:
        bundle = Bundle([(HELPERS_NAME, helpers_source()), (path, source)], entrypoints)
    except CompileError as exc:
        return [LintIssue(pr.path, pr.line, pr.col, "error", pr.message) for pr in exc.problems]
    except GuardrailError as exc:
        return [LintIssue(path, 1, 1, "error", str(exc))]
    if test:
        return []
    meta, _ = parse_metadata(source, default_title=package)
    probe = {
        "resource_type": meta.resource_types[0] if meta.resource_types else _PROBE_TYPE,
        "resource_name": "probe",
        "tags": {},
        "config": {},
    }
    _value, error = bundle.query(entrypoints[0], probe)
    if error:
        line = _near_line(source, error)
        return [LintIssue(path, line, 1, "error", f"evaluation fails: {error}")]
    return []


def _near_line(source: str, error: str) -> int:
    """The line of the rule an engine error names (``... data.x.y.rule``), else 1."""
    m = re.search(r"data\.[\w.]+\.(\w+)\b", error)
    if m:
        for no, ln in enumerate(source.splitlines(), 1):
            if re.match(rf"{re.escape(m.group(1))}\b", ln):
                return no
    return 1


def rego_files(path: Path) -> list[Path]:
    """The ``*.rego`` files of a path (a file, or a directory searched recursively)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*.rego") if p.is_file())
    raise GuardrailError(f"no such file or directory: {path}")


def lint_path(path: str | Path) -> LintReport:
    """Lint one file, or every ``*.rego`` file under a directory."""
    root = Path(path)
    files = rego_files(root)
    if not files:
        raise GuardrailError(f"no .rego files under {root}")
    report = LintReport()
    for f in files:
        report.files.append(str(f))
        try:
            source = f.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            report.issues.append(LintIssue(str(f), 1, 1, "error", f"cannot read: {exc}"))
            continue
        report.issues += lint_source(source, f)
    report.issues += _duplicate_packages(files, report)
    return report


def _duplicate_packages(files: Iterable[Path], report: LintReport) -> list[LintIssue]:
    seen: dict[str, str] = {}
    issues: list[LintIssue] = []
    for f in files:
        if is_test_file(f):
            continue
        try:
            package = package_of(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        if package is None:
            continue
        if package in seen:
            issues.append(
                LintIssue(
                    str(f),
                    1,
                    1,
                    "error",
                    f"package {package} is also declared in {seen[package]}: one package, "
                    "one policy file",
                )
            )
        else:
            seen[package] = str(f)
    return issues
