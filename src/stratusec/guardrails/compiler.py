"""regopy plumbing for guardrails: compile modules into a bundle once, evaluate entrypoints.

Built on the helpers of :mod:`stratusec.governance.rego` (v1 lint patterns, byte offset
to line:col, fd-1 capture, error trees). The C library prints compile errors on fd 1 —
the MCP stdio stream — so every build runs with logging off; only when a build fails is
it repeated with logging on and fd 1 captured, to give the user the message.
"""

from __future__ import annotations

import ctypes
import functools
import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from regopy import Interpreter, LogLevel, NodeKind, RegoError
from regopy.rego_shared import rego as _rego_lib
from regopy.rego_shared import (
    rego_bundle_query_entrypoint,
    rego_free_input,
    rego_free_output,
    rego_new_input,
    rego_node_get,
    rego_node_size,
    rego_node_type,
    rego_node_value,
    rego_output_node,
    rego_output_ok,
    rego_output_string,
    rego_set_input,
    rego_set_input_term,
)

from stratusec.governance.rego import _capture_fd1, _errors, line_col
from stratusec.guardrails.model import GuardrailError

HELPERS_PATH = Path(__file__).with_name("helpers.rego")
HELPERS_NAME = "stratusec/guardrails/helpers.rego"
HELPERS_PACKAGE = "stratusec.lib"

# rego-cpp parse error: (error <n>:<file>|<byte offset>|<len> (errormsg <n>:<text>)
_PARSE_ERR = re.compile(
    r"\(error \d+:([^|\n]*)\|(\d+)\|\d+\s*\(errormsg \d+:([^\n]*?)\)*\s*$", re.M
)
_PRINTED_LOC = re.compile(r"([^\s:]+\.rego):(\d+):(\d+)")


@dataclass(frozen=True)
class Problem:
    """A located problem in a Rego module."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class CompileError(GuardrailError):
    """Modules do not parse or compile; ``problems`` carries every location found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{first}{more}")


@functools.cache
def helpers_source() -> str:
    return HELPERS_PATH.read_text(encoding="utf-8")


@functools.cache
def helper_functions() -> frozenset[str]:
    """Names of the functions ``data.stratusec.lib`` defines."""
    return frozenset(re.findall(r"^([a-z_]\w*)\(", helpers_source(), re.M))


def _parse_problems(message: str, sources: dict[str, str]) -> list[Problem]:
    found: list[Problem] = []
    for m in _PARSE_ERR.finditer(message):
        name, offset, text = m.group(1), int(m.group(2)), m.group(3).strip()
        source = sources.get(name)
        if source is None:
            line, col = 1, 1
        else:
            line, col = line_col(source, offset)
        p = Problem(name, line, col, f"does not parse: {text}")
        if p not in found:
            found.append(p)
    if not found:
        first = next(iter(sources), "<policy>")
        text = message.strip().splitlines()[0] if message.strip() else "unknown parse error"
        found.append(Problem(first, 1, 1, f"does not parse: {text}"))
    return found


def _printed_problems(printed: str, sources: dict[str, str]) -> list[Problem]:
    """Problems from what the C library printed for a failed build."""
    text = printed.strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # rego-cpp prints "Errors:", then the message, then AST snippets ("-- ", "~~~").
    messages = [
        ln
        for ln in lines
        if ln not in ("Errors:", "--")
        and not set(ln) <= {"~"}
        and not ln.startswith("Pass ")
        and not re.match(r"^[\w$]+$", ln)
    ]
    message = messages[0] if messages else "does not compile"
    m = _PRINTED_LOC.search(text)
    if m and m.group(1) in sources:
        return [
            Problem(m.group(1), int(m.group(2)), int(m.group(3)), f"does not compile: {message}")
        ]
    first = next((n for n in sources if n != HELPERS_NAME), next(iter(sources), "<policy>"))
    return [Problem(first, 1, 1, f"does not compile: {message}")]


class Bundle:
    """Modules compiled once into a regopy bundle; :meth:`query` is thread-safe (one
    evaluation at a time per bundle: use several bundles to evaluate in parallel)."""

    def __init__(self, modules: Sequence[tuple[str, str]], entrypoints: Sequence[str]) -> None:
        names = [n for n, _ in modules]
        if len(set(names)) != len(names):
            raise GuardrailError(f"duplicate module names: {names}")
        self.modules = list(modules)
        self.entrypoints = list(entrypoints)
        self._lock = threading.Lock()
        self._interp, self._bundle = self._build(LogLevel.NONE)

    def _build(self, level: LogLevel) -> tuple[Interpreter, Any]:
        sources = dict(self.modules)
        interp = Interpreter()
        interp.log_level = level
        try:
            for name, source in self.modules:
                interp.add_module(name, source)
        except RegoError as exc:
            raise CompileError(_parse_problems(str(exc), sources)) from None
        if level == LogLevel.NONE:
            bundle = interp.build(None, self.entrypoints)
            if bundle.ok():
                return interp, bundle
            return self._build(LogLevel.ERROR)  # again, to say why
        with _capture_fd1() as printed:
            try:
                bundle = interp.build(None, self.entrypoints)
                ok = bundle.ok()
            except RegoError as exc:
                raise CompileError(_parse_problems(str(exc), sources)) from None
        if ok:  # pragma: no cover - it failed a moment ago
            interp.log_level = LogLevel.NONE
            return interp, bundle
        raise CompileError(_printed_problems("".join(printed), sources))

    def query(self, entrypoint: str, value: Any, *, tree: bool = False) -> tuple[Any, str | None]:
        """Evaluate an entrypoint on an input (a JSON-ready value, or JSON text):
        ``(value, None)``; ``(None, None)`` when undefined; ``(None, error)``.

        A value is handed to the engine as a tree (about 2-4x faster than its JSON text,
        which the engine would have to parse). The result is read from the engine's JSON
        text, or from its node tree when that text is not JSON or ``tree`` is set: a
        string a built-in made (concat, lower, ...) and sprintf("%s") put inside another
        keeps bare quotes, so only the tree says for sure where each string ends. Input
        strings are escaped (see :func:`_input_handle`): cloud data alone cannot make a
        string from nothing, at most split one (the engine re-reads such results)."""
        with self._lock:
            try:
                if isinstance(value, str):
                    rego_set_input_term(self._interp._impl, value)
                else:
                    handle = _input_handle(value)
                    try:
                        rego_set_input(self._interp._impl, handle)
                    finally:
                        rego_free_input(handle)
                out = rego_bundle_query_entrypoint(
                    self._interp._impl, self._bundle._impl, entrypoint
                )
            except RegoError as exc:
                text = str(exc).strip()
                return None, text.splitlines()[0] if text else "evaluation error"
            try:
                ok = rego_output_ok(out)
                text = rego_output_string(out) if ok else ""
                if ok and text.startswith("{"):
                    try:
                        doc = json.loads(text)
                    except ValueError:
                        # rego-cpp renders sprintf("%v") of a string literal from the
                        # policy with bare quotes: read the value from the node tree.
                        return _tree_result(rego_output_node(out))
                    exprs = doc.get("expressions") if isinstance(doc, dict) else None
                    if isinstance(exprs, list) and len(exprs) == 1:
                        if tree:
                            return _tree_result(rego_output_node(out))
                        return exprs[0], None
                    return None, f"unexpected result {text[:200]}"
                if ok and text.strip() == "undefined":
                    return None, None
                errs = _errors(rego_output_node(out))
                if not errs:
                    return None, f"evaluation error {text[:200]}".strip()
                return None, errs[0][0] or "evaluation error"
            finally:
                rego_free_output(out)


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')


def _input_handle(value: Any) -> Any:
    """An engine input built from a JSON-ready Python value, through the C API directly.

    The engine keeps strings in their JSON-escaped form (what its JSON parser produces):
    a string handed over raw would compare unequal to the same text in a policy, and
    come back out unescaped (a quote in a tag could then forge output). So strings that
    need it are escaped first, exactly as JSON text would carry them (UTF-8, not \\u
    escapes: the engine does not decode those). This is also 2-4x faster than handing
    over JSON text for the engine to parse, and skips regopy's own builder, which
    copies every string into a ctypes buffer and does not escape. Freed on any error;
    values that are not JSON types are converted with ``str``."""
    handle = rego_new_input()
    h = ctypes.c_void_p(handle)  # converted once, not at every call
    lib = _rego_lib
    put_str, put_int, put_float = lib.regoInputString, lib.regoInputInt, lib.regoInputFloat
    put_bool, put_null = lib.regoInputBoolean, lib.regoInputNull
    put_item, put_object, put_array = (
        lib.regoInputObjectItem,
        lib.regoInputObject,
        lib.regoInputArray,
    )
    needs_escape = _NEEDS_ESCAPE.search

    def text(v: str) -> int:
        if needs_escape(v):
            v = json.dumps(v, ensure_ascii=False)[1:-1]
        return int(put_str(h, v.encode("utf-8", "replace")))

    def add(v: Any) -> int:
        t = type(v)
        if t is str:
            return text(v)
        if t is dict:
            for k, x in v.items():
                if text(k if type(k) is str else str(k)) or add(x) or put_item(h):
                    return 1
            return int(put_object(h, len(v)))
        if t is list or t is tuple:
            for x in v:
                if add(x):
                    return 1
            return int(put_array(h, len(v)))
        if t is bool:
            return int(put_bool(h, v))
        if t is int:
            return int(put_int(h, v)) if -(2**63) <= v < 2**63 else text(str(v))
        if t is float:
            return int(put_float(h, v))
        if v is None:
            return int(put_null(h))
        # subclasses (a str enum, an OrderedDict, ...): their plain JSON form
        if isinstance(v, str):
            return text(str(v))
        if isinstance(v, Mapping):
            return add(dict(v))
        if isinstance(v, (list, tuple)):
            return add(list(v))
        if isinstance(v, bool):
            return add(bool(v))
        if isinstance(v, int):
            return add(int(v))
        if isinstance(v, float):
            return add(float(v))
        return text(str(v))

    try:
        if add(value):
            raise RegoError("cannot build the input document", 1)
    except BaseException:
        rego_free_input(handle)
        raise
    return handle


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def _unescape(text: str) -> str:
    """A string node's text: JSON escapes without surrounding quotes. Strings made by some
    built-ins (concat, lower, format_int, ...) arrive quoted; in the normal form a quote
    is always escaped, so a bare quote at both ends can only be that wrapping."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"' and text[-2] != "\\":
        text = text[1:-1]
    try:
        value = json.loads(f'"{text}"')
        return value if isinstance(value, str) else text
    except ValueError:

        def one(m: re.Match[str]) -> str:
            esc = m.group(1)
            if esc.startswith("u") and len(esc) == 5:
                return chr(int(esc[1:], 16))
            return _SIMPLE_ESCAPES.get(esc, esc)

        return _ESCAPE.sub(one, text)


def _node_value(node: Any) -> Any:
    kind = rego_node_type(node)
    size = rego_node_size(node)
    if kind == NodeKind.String:
        return _unescape(rego_node_value(node))
    if kind == NodeKind.Int:
        return int(rego_node_value(node))
    if kind == NodeKind.Float:
        return float(rego_node_value(node))
    if kind in (NodeKind.Boolean, NodeKind.True_, NodeKind.False_):
        return rego_node_value(node) == "true"
    if kind == NodeKind.Null:
        return None
    if kind in (NodeKind.Array, NodeKind.Set):
        return [_node_value(rego_node_get(node, i)) for i in range(size)]
    if kind == NodeKind.Object:
        out: dict[str, Any] = {}
        for i in range(size):
            item = rego_node_get(node, i)
            if rego_node_size(item) == 2:
                key = _node_value(rego_node_get(item, 0))
                out[key if isinstance(key, str) else json.dumps(key)] = _node_value(
                    rego_node_get(item, 1)
                )
        return out
    if size == 1:  # Term, Scalar and other wrappers
        return _node_value(rego_node_get(node, 0))
    raise ValueError(f"unexpected Rego node kind {kind}")


def _tree_result(node: Any) -> tuple[Any, str | None]:
    """The first expression's value, read from the output node tree."""
    try:
        results = node
        while rego_node_type(results) != NodeKind.Results and rego_node_size(results) == 1:
            results = rego_node_get(results, 0)
        result = rego_node_get(results, 0)
        for i in range(rego_node_size(result)):
            child = rego_node_get(result, i)
            if rego_node_type(child) == NodeKind.Terms and rego_node_size(child):
                return _node_value(rego_node_get(child, 0)), None
    except (ValueError, RegoError) as exc:
        return None, f"unreadable result: {exc}"
    return None, "unreadable result"
