"""The optional Rego authorization policy (``authz.rego``), evaluated with regopy.

Contract (Rego v1 syntax)::

    package stratusec.authz

    deny contains reason if { ... }              # any reason -> deny
    require_approval contains reason if { ... }  # any reason -> pending approval
    allow := <bool>                              # optional; false -> deny

The policy is compiled once into a bundle and evaluated through the bundle entrypoint.
Everything fails closed: a policy that does not parse or compile raises a
:class:`StratusecError` naming ``file:line[:col]``; an evaluation error or an unexpected
result is a deny with reason ``authorization policy failed: ...``. Nothing the C library
prints may reach fd 1 (the MCP stdio stream): compilation runs with fd 1 redirected.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from regopy import Interpreter, LogLevel, NodeKind, RegoError
from regopy.rego_shared import (
    rego_bundle_query_entrypoint,
    rego_free_output,
    rego_node_get,
    rego_node_json,
    rego_node_size,
    rego_node_type,
    rego_node_value,
    rego_output_node,
    rego_output_ok,
    rego_output_string,
    rego_set_input_term,
)

from stratusec.errors import StratusecError

PACKAGE = "stratusec.authz"
ENTRYPOINT = "stratusec/authz"

_KEYWORDS = frozenset(
    {"if", "contains", "in", "some", "every", "not", "with", "else", "default", "as", "import"}
)
# rego-cpp error header: (error <len>:<file>|<byte offset>|<length> (errormsg <len>:<text>)
_PARSE_ERR = re.compile(r"\(error \d+:[^|\n]*\|(\d+)\|\d+\s*\(errormsg \d+:([^\n]*?)\)*\s*$", re.M)
# a file:line:col the C library may print on fd 1
_PRINTED_LOC = re.compile(r":(\d+):(\d+)")
_V0_PARTIAL = re.compile(r"^(\w+)\s*\[[^\]]*\]\s*(\{|if\b|=|:=)")
_V0_BODY = re.compile(r"^(\w+)(\s*(:?=)\s*[^{]*?)?\s*\{")
_CALL = re.compile(r"(?<![\w.])([A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*)\s*\(")
_FUNC_DEF = re.compile(r"^([A-Za-z_]\w*)\s*\(", re.M)
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`]*`')


class PolicyError(StratusecError):
    """The authorization policy cannot be loaded (it does not parse, compile or lint)."""


def line_col(source: str, byte_offset: int) -> tuple[int, int]:
    """1-based line and column of a UTF-8 byte offset into ``source``."""
    prefix = source.encode("utf-8")[: max(byte_offset, 0)].decode("utf-8", errors="ignore")
    line = prefix.count("\n") + 1
    return line, len(prefix) - (prefix.rfind("\n") + 1) + 1


@contextlib.contextmanager
def _capture_fd1() -> Iterator[list[str]]:
    """Redirect fd 1 to a temp file for the block; the captured text lands in the list."""
    out: list[str] = []
    sys.stdout.flush()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(1)
        try:
            os.dup2(tmp.fileno(), 1)
            yield out
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            out.append(tmp.read().decode("utf-8", errors="replace"))


def _strip(source: str) -> str:
    """Blank out comments and string literals (keeping offsets and newlines)."""
    out = _STRING.sub(lambda m: '"' + re.sub(r"[^\n]", " ", m.group(0)[1:-1]) + '"', source)
    return re.sub(r"#[^\n]*", lambda m: " " * len(m.group(0)), out)


def _errors(node: Any) -> list[tuple[str, str]]:
    """(message, ast text) pairs from a regopy error node tree."""
    found: list[tuple[str, str]] = []

    def walk(n: Any) -> None:
        kind = rego_node_type(n)
        if kind == NodeKind.Error:
            msg, ast = "", ""
            for i in range(rego_node_size(n)):
                child = rego_node_get(n, i)
                ck = rego_node_type(child)
                if ck == NodeKind.ErrorMessage:
                    msg = rego_node_value(child)
                elif ck == NodeKind.ErrorAst and rego_node_size(child):
                    with contextlib.suppress(Exception):
                        ast = rego_node_json(rego_node_get(child, 0))
            found.append((msg, ast))
            return
        for i in range(rego_node_size(n)):
            walk(rego_node_get(n, i))

    walk(node)
    return found


class RegoPolicy:
    """A compiled ``authz.rego``; :meth:`evaluate` is thread-safe."""

    PACKAGE = PACKAGE
    ENTRYPOINT = ENTRYPOINT
    KIND = "authorization"
    #: The input evaluated once at load (deferred compile errors surface there).
    PROBE: dict[str, Any] = {
        "principal": "probe",
        "on_behalf_of": "probe",
        "role": "reader",
        "agent": "probe",
        "tool": "scan",
        "arguments": {},
        "account": {"name": "probe", "id": "000000000000", "tags": {}},
    }

    def __init__(self, path: Path, interp: Interpreter, bundle: Any) -> None:
        self.path = path
        self._interp = interp
        self._bundle = bundle
        self._lock = threading.Lock()

    @property
    def rule(self) -> str:
        return f"rego:{self.path.name}"

    # -- loading -------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str) -> RegoPolicy:
        p = Path(path)
        try:
            source = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"cannot read {cls.KIND} policy {p}: {exc}") from exc
        return cls.from_source(source, p)

    @classmethod
    def from_source(cls, source: str, path: Path | str = "authz.rego") -> RegoPolicy:
        p = Path(path)
        cls._lint(source, p)
        interp = Interpreter()
        # Compile errors (with file:line:col) are printed by the C library on fd 1 at level
        # ERROR: capture them there, then silence it for evaluation.
        interp.log_level = LogLevel.ERROR
        with _capture_fd1() as printed:
            try:
                interp.add_module(p.name, source)
                bundle = interp.build(None, [cls.ENTRYPOINT])
                ok = bundle.ok()
            except RegoError as exc:
                raise cls._parse_error(str(exc), source, p) from None
            finally:
                interp.log_level = LogLevel.NONE
        text = "".join(printed).strip()
        if not ok or text:
            # The error sequence (message, then "-- file:line:col") is on the bundle's node
            # even when the C library printed nothing.
            detail = text or (str(bundle.node()) if not ok else "")
            m = _PRINTED_LOC.search(detail)
            where = f"{p}:{m.group(1)}:{m.group(2)}" if m else f"{p}"
            raise PolicyError(
                f"{where}: {cls.KIND} policy does not compile: {_first_error(detail)}"
            )
        policy = cls(p, interp, bundle)
        policy._probe(source)
        return policy

    @classmethod
    def _parse_error(cls, message: str, source: str, p: Path) -> PolicyError:
        m = _PARSE_ERR.search(message)
        if not m:
            return PolicyError(f"{p}: {cls.KIND} policy does not parse: {message.strip()}")
        line, col = line_col(source, int(m.group(1)))
        return PolicyError(f"{p}:{line}:{col}: {cls.KIND} policy does not parse: {m.group(2)}")

    @classmethod
    def _lint(cls, source: str, p: Path) -> None:
        stripped = _strip(source)
        lines = stripped.splitlines()
        if not any(ln.strip() == f"package {cls.PACKAGE}" for ln in lines):
            raise PolicyError(f"{p}:1: {cls.KIND} policy must declare 'package {cls.PACKAGE}'")
        heads = {"deny", "require_approval", "allow"}
        defined: set[str] = set()
        for no, ln in enumerate(lines, 1):
            w = re.search(r"\bwith\s+(input|data)\b", ln)
            if w:
                # rego-cpp 1.5 aborts the whole process on a builtin called under 'with'.
                raise PolicyError(
                    f"{p}:{no}:{w.start() + 1}: 'with' is not supported in the {cls.KIND} policy"
                )
            if not ln or ln[0].isspace():
                continue
            m = _V0_PARTIAL.match(ln)
            if m:
                raise PolicyError(
                    f"{p}:{no}: v0-style rule '{m.group(1)}[...]' is not allowed (in Rego v1 it "
                    "builds an object, not a set); write "
                    f"'{m.group(1)} contains reason if {{ ... }}'"
                )
            m = _V0_BODY.match(ln)
            if m and not re.search(r"\bif\b", ln):
                raise PolicyError(
                    f"{p}:{no}: v0-style rule '{m.group(1)} {{ ... }}' without 'if' is not "
                    "allowed; use Rego v1 syntax ('... if { ... }')"
                )
            word = re.match(r"(?:default\s+)?(\w+)", ln)
            if word and word.group(1) in heads:
                defined.add(word.group(1))
                if word.group(1) in ("deny", "require_approval") and not re.match(
                    rf"{word.group(1)}\s+contains\b", ln
                ):
                    raise PolicyError(
                        f"{p}:{no}: '{word.group(1)}' must be a set rule: "
                        f"'{word.group(1)} contains reason if {{ ... }}'"
                    )
        if not defined:
            raise PolicyError(
                f"{p}: {cls.KIND} policy defines none of deny, require_approval, allow"
            )
        # Unknown functions: rego-cpp only reports them when a rule reaches the call.
        user_funcs = set(_FUNC_DEF.findall(stripped))
        probe = Interpreter()
        for no, ln in enumerate(lines, 1):
            for m in _CALL.finditer(ln):
                name = m.group(1)
                if name in _KEYWORDS or name in user_funcs or name.startswith("data."):
                    continue
                if not probe.is_builtin(name):
                    raise PolicyError(
                        f"{p}:{no}:{m.start(1) + 1}: {cls.KIND} policy does not compile: "
                        f"unknown function {name!r}"
                    )

    def _probe(self, source: str) -> None:
        """Evaluate once at load: errors the compiler defers to evaluation surface here."""
        sample = self.PROBE
        with _capture_fd1():
            result = self._run(sample)
        if isinstance(result, str):
            block = _culprit_rule(source, self.path, type(self))
            lo, hi = block or (1, len(source.splitlines()))
            m = re.search(r"near (.+)$", result)
            hits = [
                i
                for i, ln in enumerate(source.splitlines(), 1)
                if m and lo <= i <= hi and m.group(1) in ln
            ]
            line = (
                hits[0]
                if len(hits) == 1
                else (_culprit_line(source, self.path, block, type(self)) if block else None)
            )
            where = f"{self.path}:{line}" if line else str(self.path)
            raise PolicyError(f"{where}: {self.KIND} policy does not compile: {result}")

    # -- evaluation ----------------------------------------------------------------------

    def _run(self, value: dict[str, Any]) -> dict[str, Any] | str:
        """The package document for ``value``, or an error string."""
        try:
            # Unescaped UTF-8: rego-cpp compares "\u00e9" and "é" as different strings.
            term = json.dumps(value, allow_nan=False, default=str, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            return f"input is not JSON: {exc}"
        with self._lock:
            try:
                rego_set_input_term(self._interp._impl, term)
                out = rego_bundle_query_entrypoint(
                    self._interp._impl, self._bundle._impl, self.ENTRYPOINT
                )
            except RegoError as exc:
                return str(exc).strip().splitlines()[0] if str(exc).strip() else "evaluation error"
            try:
                ok = rego_output_ok(out)
                text = rego_output_string(out) if ok else ""
                if ok and text.startswith("{"):
                    try:
                        doc = json.loads(text)
                    except ValueError:
                        doc = None
                    exprs = doc.get("expressions") if isinstance(doc, dict) else None
                    if isinstance(exprs, list) and len(exprs) == 1 and isinstance(exprs[0], dict):
                        return exprs[0]
                    return f"unexpected result {text[:200]}"
                if ok and text.strip() == "undefined":
                    return "the policy document is undefined"
                errs = _errors(rego_output_node(out))
                if not errs:
                    return f"unexpected result {text[:200]}"
                msg, ast = errs[0]
                return f"{msg} near {ast}" if ast else msg
            finally:
                rego_free_output(out)

    def evaluate(self, value: dict[str, Any]) -> tuple[str, list[str]]:
        """``(effect, reasons)`` for one call; any failure is ``("deny", [...failed...])``."""
        failed = f"{self.KIND} policy failed: "
        result = self._run(value)
        if isinstance(result, str):
            return "deny", [failed + result]
        deny = result.get("deny", [])
        approval = result.get("require_approval", [])
        allow = result.get("allow", True)
        for name, v in (("deny", deny), ("require_approval", approval)):
            if not isinstance(v, list):
                return "deny", [failed + f"'{name}' must be a set of reasons, got {json.dumps(v)}"]
        if not isinstance(allow, bool):
            return "deny", [failed + f"'allow' must be a boolean, got {json.dumps(allow)}"]
        if deny:
            return "deny", [_reason(r) for r in deny]
        if not allow:
            return "deny", [f"the {self.KIND} policy does not allow this call"]
        if approval:
            return "require_approval", [_reason(r) for r in approval]
        return "allow", []


def _rule_blocks(source: str) -> list[tuple[int, int]]:
    """(first, last) line numbers (1-based) of each top-level rule."""
    lines = source.splitlines()
    starts = [
        i
        for i, ln in enumerate(lines)
        if ln[:1] and not ln[0].isspace() and not ln.startswith(("#", "}", "package", "import"))
    ]
    return [
        (a + 1, (starts[k + 1] if k + 1 < len(starts) else len(lines)))
        for k, a in enumerate(starts)
    ]


def _culprit_rule(source: str, path: Path, cls: type[RegoPolicy]) -> tuple[int, int] | None:
    """The line of the rule whose removal makes an evaluation error go away (rego-cpp
    reports no location for errors found while evaluating)."""
    lines = source.splitlines()
    for first, last in _rule_blocks(source):
        head = re.match(r"(?:default\s+)?(\w+)(\s+contains\b)?", lines[first - 1])
        if not head or "(" in lines[first - 1].split("if")[0]:
            continue  # functions and oddities: leave them in place
        name = head.group(1)
        # The same rule, never true: the policy keeps its shape without this body.
        stub = (
            f'{name} contains "disabled" if {{ false }}'
            if head.group(2)
            else (f"{name} := false if {{ false }}")
        )
        rest = "\n".join([*lines[: first - 1], stub, *lines[last:]])
        try:
            with _capture_fd1():
                cls.from_source(rest, path)
        except PolicyError:
            continue
        return first, last
    return None


def _culprit_line(source: str, path: Path, block: tuple[int, int], cls: type[RegoPolicy]) -> int:
    """Within the failing rule, the body line whose replacement by ``true`` makes the policy
    load (else the rule's first line)."""
    lines = source.splitlines()
    first, last = block
    for no in range(first + 1, last + 1):
        if not lines[no - 1].strip() or lines[no - 1].strip() in ("}", "{"):
            continue
        trial = [*lines[: no - 1], "  true", *lines[no:]]
        try:
            with _capture_fd1():
                cls.from_source("\n".join(trial), path)
        except PolicyError:
            continue
        return no
    return first


def _first_error(detail: str) -> str:
    """The first message of a rego-cpp error report ("Errors:" then the message)."""
    lines = [ln.strip() for ln in detail.splitlines()]
    if "Errors:" in lines:
        lines = lines[lines.index("Errors:") + 1 :]
    for ln in lines:
        if ln and not ln.startswith(("rego-", "--", "~")):
            return ln
    return "the policy does not compile"


def _reason(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


class AccessPolicy(RegoPolicy):
    """``access.rego``: refines just-in-time access decisions (same contract, package
    ``stratusec.access``); see docs/access.md for its input."""

    PACKAGE = "stratusec.access"
    ENTRYPOINT = "stratusec/access"
    KIND = "access"
    PROBE: dict[str, Any] = {
        "requester": "probe",
        "on_behalf_of": "probe",
        "role": "operator",
        "agent": "probe",
        "level": "probe",
        "kind": "aws",
        "target": "probe",
        "actions": ["s3:GetObject"],
        "resources": ["arn:aws:s3:::probe/*"],
        "privileges": [],
        "seconds": 900,
        "reason": "probe",
        "ticket": None,
        "auto_grant": True,
        "max_seconds": 3600,
    }
