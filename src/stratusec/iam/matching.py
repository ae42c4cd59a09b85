"""Wildcard matching (actions, resources, ARNs) and policy variables.

* ``*`` matches any run of characters (including ``/`` and ``:``), ``?`` one character.
* Actions compare case-insensitively, resources and ARNs case-sensitively.
* ``ArnLike``/``ArnEquals`` compare the six colon-separated ARN segments one by one
  when both sides have six; otherwise the whole string is matched as one pattern.
* Policy variables ``${key}``, ``${key, 'default'}`` and the escapes ``${*}``, ``${?}``,
  ``${$}`` (a literal ``*``, ``?``, ``$``) are recognised in policies of version
  ``2012-10-17`` only (in ``2008-10-17`` they are literal text, as in AWS). A variable's
  value is inserted literally (its own ``*`` is not a wildcard). A variable whose key is
  unknown makes the match *unknown* on that key; a key known to be absent (without a
  default) makes that one pattern or value match nothing.

Three-valued results (``Tri``): ``True``, ``False``, or a non-empty ``frozenset`` of the
condition keys whose values would decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, TypeAlias

from stratusec.iam.context import Lookup, canonical_key
from stratusec.iam.request import ABSENT, UNKNOWN

Tri: TypeAlias = bool | frozenset[str]

_VAR = re.compile(r"\$\{([^}]*)\}")
_VAR_BODY = re.compile(r"^\s*([^,\s]+)\s*(?:,\s*'([^']*)'\s*)?$")
_ESCAPES: Final = {"*": "*", "?": "?", "$": "$"}


_GLOB_SPLIT = re.compile(r"([*?])")


@lru_cache(maxsize=65536)
def glob_source(pattern: str) -> str:
    """Regex source for a wildcard pattern (``*``, ``?``)."""
    return "".join(
        ".*" if part == "*" else "." if part == "?" else re.escape(part)
        for part in _GLOB_SPLIT.split(pattern)
        if part
    )


@lru_cache(maxsize=16384)
def compile_regex(source: str) -> re.Pattern[str]:
    return re.compile(source, re.DOTALL)


def glob_match(pattern: str, value: str) -> bool:
    """Case-sensitive wildcard match of the whole value."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == value
    return compile_regex(glob_source(pattern)).fullmatch(value) is not None


def arn_match(pattern: str, value: str) -> bool:
    """``ArnLike`` semantics: segment-wise when both are six-segment ARNs."""
    if pattern == "*":
        return True
    pp = pattern.split(":", 5)
    vp = value.split(":", 5)
    if len(pp) == 6 and len(vp) == 6:
        return all(glob_match(a, b) for a, b in zip(pp, vp, strict=True))
    return glob_match(pattern, value)


def value_str(v: Any) -> str | None:
    """A context value as IAM compares it as a string (booleans as ``true``/``false``)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return value_str(v[0]) if len(v) == 1 else None
    if v is None or v is ABSENT or v is UNKNOWN:
        return None
    iso = getattr(v, "isoformat", None)
    return str(iso()) if callable(iso) else str(v)


# ---- policy variables -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variable:
    key: str  # canonical spelling
    key_lc: str
    default: str | None


_GLOB, _LITERAL, _VARIABLE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Template:
    """A string with policy variables, resolved per request."""

    raw: str
    parts: tuple[tuple[int, Any], ...]

    @property
    def variables(self) -> tuple[Variable, ...]:
        return tuple(v for k, v in self.parts if k == _VARIABLE)

    def _pieces(self, lookup: Lookup, *, as_regex: bool) -> str | frozenset[str] | None:
        out: list[str] = []
        unknown: frozenset[str] = frozenset()
        for kind, val in self.parts:
            if kind == _GLOB:
                out.append(glob_source(val) if as_regex else val)
            elif kind == _LITERAL:
                out.append(re.escape(val) if as_regex else val)
            else:
                resolved = resolve_variable(val, lookup)
                if isinstance(resolved, frozenset):
                    unknown |= resolved
                    continue
                if resolved is None:  # absent without default: matches nothing
                    return None
                out.append(re.escape(resolved) if as_regex else resolved)
        if unknown:
            return unknown
        return "".join(out)

    def regex_source(self, lookup: Lookup) -> str | frozenset[str] | None:
        """Regex source with the variables substituted literally; the unknown keys; or
        None when a variable is absent without a default (matches nothing)."""
        return self._pieces(lookup, as_regex=True)

    def render(self, lookup: Lookup) -> str | frozenset[str] | None:
        """The plain string (for exact comparisons), like ``regex_source``."""
        return self._pieces(lookup, as_regex=False)


def resolve_variable(var: Variable, lookup: Lookup) -> str | frozenset[str] | None:
    v = lookup(var.key_lc)
    if v is UNKNOWN:
        return frozenset({var.key})
    if v is ABSENT or v is None:
        return var.default
    s = value_str(v)
    return s if s is not None else var.default


def parse_template(raw: str) -> Template | None:
    """A ``Template`` when ``raw`` holds at least one ``${...}``; else None."""
    if "${" not in raw:
        return None
    parts: list[tuple[int, Any]] = []
    pos = 0
    found = False
    for m in _VAR.finditer(raw):
        if m.start() > pos:
            parts.append((_GLOB, raw[pos : m.start()]))
        body = m.group(1)
        if body in _ESCAPES:
            parts.append((_LITERAL, _ESCAPES[body]))
            found = True
        else:
            bm = _VAR_BODY.match(body)
            if bm is None:  # not a variable: keep the text as written
                parts.append((_GLOB, m.group(0)))
            else:
                key = canonical_key(bm.group(1))
                parts.append((_VARIABLE, Variable(key, key.lower(), bm.group(2))))
                found = True
        pos = m.end()
    if pos < len(raw):
        parts.append((_GLOB, raw[pos:]))
    return Template(raw, tuple(parts)) if found else None


# ---- pattern sets -----------------------------------------------------------------


class PatternSet:
    """The values of an ``Action``/``NotAction``/``Resource``/``NotResource`` element,
    precompiled: exact values in a set, wildcard patterns in one regex, templates (policy
    variables) resolved per request. ``ignore_case`` lower-cases patterns (actions); the
    caller passes lower-cased values then."""

    __slots__ = ("exact", "match_all", "patterns", "regex", "templates")

    def __init__(
        self, patterns: tuple[str, ...], *, ignore_case: bool = False, variables: bool = False
    ) -> None:
        self.patterns = patterns
        self.match_all = False
        exact: set[str] = set()
        wild: list[str] = []
        templates: list[Template] = []
        for raw in patterns:
            p = raw.lower() if ignore_case else raw
            if p == "*":
                self.match_all = True
                continue
            tpl = parse_template(p) if variables else None
            if tpl is not None:
                templates.append(tpl)
            elif "*" in p or "?" in p:
                wild.append(glob_source(p))
            else:
                exact.add(p)
        self.exact = frozenset(exact)
        self.regex = re.compile("|".join(f"(?:{w})" for w in wild), re.DOTALL) if wild else None
        self.templates = tuple(templates)

    def match(self, value: str, lookup: Lookup | None = None) -> Tri:
        if self.match_all or value in self.exact:
            return True
        regex = self.regex
        if regex is not None and regex.fullmatch(value) is not None:
            return True
        if not self.templates or lookup is None:
            return False
        unknown: frozenset[str] = frozenset()
        for tpl in self.templates:
            src = tpl.regex_source(lookup)
            if src is None:
                continue
            if isinstance(src, frozenset):
                unknown |= src
            elif compile_regex(src).fullmatch(value) is not None:
                return True
        return unknown if unknown else False


# ---- three-valued logic -----------------------------------------------------------


def tri_and(a: Tri, b: Tri) -> Tri:
    if a is False or b is False:
        return False
    if a is True:
        return b
    if b is True:
        return a
    assert isinstance(a, frozenset) and isinstance(b, frozenset)
    return a | b


def tri_or(a: Tri, b: Tri) -> Tri:
    if a is True or b is True:
        return True
    if a is False:
        return b
    if b is False:
        return a
    assert isinstance(a, frozenset) and isinstance(b, frozenset)
    return a | b
