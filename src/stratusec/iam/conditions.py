"""Condition operators (IAM JSON policy elements: Condition operators).

One ``Condition`` is one (operator, key, values) triple of a statement's ``Condition``
element. A statement's conditions are ANDed (all blocks, all keys); a key's values are
ORed. Semantics implemented, with ``v`` the request's value(s) for the key:

* positive operators (``StringEquals``, ``ArnLike``, ``IpAddress`` ...): true when ``v``
  matches any policy value; negated operators (``StringNotEquals``, ``NotIpAddress``,
  ``ArnNotLike`` ...): true when ``v`` matches none;
* key known ABSENT: positive operators false, negated operators true; ``...IfExists``
  true; ``ForAllValues:`` true (vacuously); ``ForAnyValue:`` false;
* ``Null``: ``"true"`` holds when the key is absent, ``"false"`` when present;
* multi-valued keys: ``ForAnyValue:`` needs one request value to satisfy the operator,
  ``ForAllValues:`` every one (an empty set satisfies it); a plain operator on a
  multi-valued key behaves as "any request value matches" (negated: "none matches");
* a key that is UNKNOWN makes the condition unknown on that key (also with
  ``...IfExists``: the key might be present with another value);
* ``Bool`` compares ``true``/``false`` case-insensitively; ``Numeric*`` as floats;
  ``Date*`` as instants (ISO 8601, naive = UTC, or epoch seconds); ``IpAddress`` by CIDR
  (v4 and v6); ``BinaryEquals`` by the base64-decoded bytes; ``ArnEquals`` and
  ``ArnLike`` both segment-wise with wildcards (as in AWS).

An unparseable policy value never matches; an unknown operator makes the condition
unknown on its key (and is reported in the policy's ``errors``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from stratusec.iam.context import Lookup, canonical_key
from stratusec.iam.matching import (
    Template,
    Tri,
    arn_match,
    compile_regex,
    glob_source,
    parse_template,
    value_str,
)
from stratusec.iam.request import ABSENT, UNKNOWN

Matcher = Callable[[Any], bool]

SET_NONE, SET_ANY, SET_ALL = 0, 1, 2

# base operator (lower case) -> (kind, negated)
_OPS: Final[dict[str, tuple[str, bool]]] = {
    "stringequals": ("str", False),
    "stringnotequals": ("str", True),
    "stringequalsignorecase": ("str_ic", False),
    "stringnotequalsignorecase": ("str_ic", True),
    "stringlike": ("like", False),
    "stringnotlike": ("like", True),
    "numericequals": ("num_eq", False),
    "numericnotequals": ("num_eq", True),
    "numericlessthan": ("num_lt", False),
    "numericlessthanequals": ("num_le", False),
    "numericgreaterthan": ("num_gt", False),
    "numericgreaterthanequals": ("num_ge", False),
    "dateequals": ("date_eq", False),
    "datenotequals": ("date_eq", True),
    "datelessthan": ("date_lt", False),
    "datelessthanequals": ("date_le", False),
    "dategreaterthan": ("date_gt", False),
    "dategreaterthanequals": ("date_ge", False),
    "bool": ("bool", False),
    "binaryequals": ("binary", False),
    "ipaddress": ("ip", False),
    "notipaddress": ("ip", True),
    "arnequals": ("arn", False),
    "arnlike": ("arn", False),
    "arnnotequals": ("arn", True),
    "arnnotlike": ("arn", True),
    "null": ("null", False),
}

_CMP: Final[dict[str, Callable[[float, float], bool]]] = {
    "eq": operator.eq,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}

_EPOCH = re.compile(r"^-?\d+(?:\.\d+)?$")


# ---- value parsing ------------------------------------------------------------------


def parse_number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return None


def parse_date(v: Any) -> float | None:
    """Seconds since the epoch, from a datetime, a number, an epoch string or ISO 8601."""
    if isinstance(v, bool):
        return None
    if isinstance(v, dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).timestamp()
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day, tzinfo=dt.UTC).timestamp()
    if isinstance(v, (int, float)):
        return float(v)
    s = str(v).strip()
    if _EPOCH.match(s):
        return float(s)
    try:
        d = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    return (d if d.tzinfo else d.replace(tzinfo=dt.UTC)).timestamp()


def parse_ip(v: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    s = value_str(v)
    if s is None:
        return None
    try:
        return ipaddress.ip_address(s.strip())
    except ValueError:
        try:
            return ipaddress.ip_network(s.strip(), strict=False).network_address
        except ValueError:
            return None


def parse_binary(v: Any) -> bytes | None:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    s = value_str(v)
    if s is None:
        return None
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None


# ---- matchers (positive semantics: "matches any policy value") ----------------------


def build_matcher(kind: str, values: Iterable[str]) -> Matcher:
    vals = tuple(values)
    if kind == "str":
        exact = frozenset(vals)
        return lambda v: value_str(v) in exact
    if kind == "str_ic":
        folded = frozenset(x.casefold() for x in vals)

        def _ic(v: Any) -> bool:
            s = value_str(v)
            return s is not None and s.casefold() in folded

        return _ic
    if kind == "like":
        return _like_matcher([glob_source(x) for x in vals])
    if kind.startswith("num_"):
        nums = [n for n in (parse_number(x) for x in vals) if n is not None]
        return _compare_matcher(nums, _CMP[kind[4:]], parse_number)
    if kind.startswith("date_"):
        dates = [d for d in (parse_date(x) for x in vals) if d is not None]
        return _compare_matcher(dates, _CMP[kind[5:]], parse_date)
    if kind == "bool":
        bools = frozenset(x.strip().lower() for x in vals)
        return lambda v: (s := value_str(v)) is not None and s.strip().lower() in bools
    if kind == "binary":
        blobs = frozenset(b for b in (parse_binary(x) for x in vals) if b is not None)
        return lambda v: parse_binary(v) in blobs
    if kind == "ip":
        nets = []
        for x in vals:
            try:
                nets.append(ipaddress.ip_network(x.strip(), strict=False))
            except ValueError:
                continue

        def _ip(v: Any) -> bool:
            addr = parse_ip(v)
            return addr is not None and any(addr.version == n.version and addr in n for n in nets)

        return _ip
    if kind == "arn":

        def _arn(v: Any) -> bool:
            s = value_str(v)
            return s is not None and any(arn_match(p, s) for p in vals)

        return _arn
    raise ValueError(f"no matcher for {kind}")


def _like_matcher(sources: list[str]) -> Matcher:
    if not sources:
        return lambda v: False
    rx = compile_regex("|".join(f"(?:{s})" for s in sources))

    def _like(v: Any) -> bool:
        s = value_str(v)
        return s is not None and rx.fullmatch(s) is not None

    return _like


def _compare_matcher(
    policy_values: list[float], cmp: Callable[[float, float], bool], parse: Callable[[Any], Any]
) -> Matcher:
    def _cmp(v: Any) -> bool:
        x = parse(v)
        return x is not None and any(cmp(x, pv) for pv in policy_values)

    return _cmp


# ---- the condition ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Condition:
    """One operator/key/values triple, parsed and precompiled."""

    operator: str
    key: str
    key_lc: str
    values: tuple[str, ...]
    kind: str
    negated: bool
    set_op: int
    if_exists: bool
    templates: tuple[Template | None, ...]
    matcher: Matcher | None
    unknown: frozenset[str]

    def evaluate(self, lookup: Lookup) -> Tri:
        v = lookup(self.key_lc)
        if v is UNKNOWN or self.kind == "invalid":
            return self.unknown
        absent = v is ABSENT or v is None
        if self.kind == "null":
            if isinstance(v, (list, tuple, set, frozenset)) and not v:
                absent = True
            return any((x.strip().lower() == "true") == absent for x in self.values)
        if absent:
            if self.if_exists or self.set_op == SET_ALL:
                return True
            if self.set_op == SET_ANY:
                return False
            return self.negated
        matcher = self.matcher
        if matcher is None:
            resolved = self._resolve(lookup)
            if isinstance(resolved, frozenset):
                return resolved
            matcher = resolved
        vals = v if isinstance(v, (list, tuple, set, frozenset)) else (v,)
        neg = self.negated
        if self.set_op == SET_ANY:
            return any(matcher(x) != neg for x in vals)
        if self.set_op == SET_ALL:
            return all(matcher(x) != neg for x in vals)
        return any(matcher(x) for x in vals) != neg

    def _resolve(self, lookup: Lookup) -> Matcher | frozenset[str]:
        """Substitute policy variables in the values; unknown keys if any is unknown."""
        unknown: frozenset[str] = frozenset()
        if self.kind == "like":
            sources: list[str] = []
            for raw, tpl in zip(self.values, self.templates, strict=True):
                if tpl is None:
                    sources.append(glob_source(raw))
                    continue
                src = tpl.regex_source(lookup)
                if isinstance(src, frozenset):
                    unknown |= src
                elif src is not None:
                    sources.append(src)
            return unknown if unknown else _like_matcher(sources)
        plain: list[str] = []
        for raw, tpl in zip(self.values, self.templates, strict=True):
            if tpl is None:
                plain.append(raw)
                continue
            text = tpl.render(lookup)
            if isinstance(text, frozenset):
                unknown |= text
            elif text is not None:
                plain.append(text)
        return unknown if unknown else build_matcher(self.kind, plain)

    def describe(self) -> str:
        vals = self.values[0] if len(self.values) == 1 else list(self.values)
        return f"{self.operator} {self.key} {vals}"


def _as_str(v: Any) -> str | None:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (str, int, float)):
        return str(v)
    return None


def parse_condition(
    op: str, key: str, raw_values: Any, *, variables: bool, errors: list[str]
) -> Condition:
    lc = op.strip().lower()
    set_op = SET_NONE
    if lc.startswith("foranyvalue:"):
        set_op, lc = SET_ANY, lc[len("foranyvalue:") :]
    elif lc.startswith("forallvalues:"):
        set_op, lc = SET_ALL, lc[len("forallvalues:") :]
    if_exists = False
    if lc.endswith("ifexists") and lc != "ifexists":
        if_exists, lc = True, lc[: -len("ifexists")]
    spec = _OPS.get(lc)
    canon = canonical_key(key)
    items = raw_values if isinstance(raw_values, (list, tuple)) else [raw_values]
    values = tuple(s for s in (_as_str(x) for x in items) if s is not None)
    if len(values) != len(items):
        errors.append(f"condition {op} {key}: non-scalar values ignored")
    if spec is None:
        errors.append(f"unknown condition operator {op!r}")
        kind, negated = "invalid", False
    else:
        kind, negated = spec
    templates: tuple[Template | None, ...] = tuple(
        parse_template(x) if variables and kind not in ("null", "invalid") else None for x in values
    )
    matcher: Matcher | None = None
    if kind not in ("null", "invalid") and not any(templates):
        matcher = build_matcher(kind, values)
    return Condition(
        operator=op,
        key=canon,
        key_lc=canon.lower(),
        values=values,
        kind=kind,
        negated=negated,
        set_op=set_op,
        if_exists=if_exists,
        templates=templates,
        matcher=matcher,
        unknown=frozenset({canon}),
    )


def parse_conditions(block: Any, *, variables: bool, errors: list[str]) -> tuple[Condition, ...]:
    """The ``Condition`` element of a statement, flattened to (operator, key) clauses."""
    if not block:
        return ()
    if not isinstance(block, Mapping):
        errors.append("Condition is not an object")
        return (
            Condition(
                operator="?",
                key="Condition",
                key_lc="condition",
                values=(),
                kind="invalid",
                negated=False,
                set_op=SET_NONE,
                if_exists=False,
                templates=(),
                matcher=None,
                unknown=frozenset({"Condition"}),
            ),
        )
    out: list[Condition] = []
    for op, keys in block.items():
        if not isinstance(keys, Mapping):
            errors.append(f"condition {op}: not an object")
            continue
        for key, vals in keys.items():
            out.append(parse_condition(str(op), str(key), vals, variables=variables, errors=errors))
    return tuple(out)


def evaluate_conditions(conditions: tuple[Condition, ...], lookup: Lookup) -> Tri:
    """AND of the clauses: False as soon as one is False, else the unknown keys, else True."""
    unknown: frozenset[str] | None = None
    for c in conditions:
        r = c.evaluate(lookup)
        if r is True:
            continue
        if r is False:
            return False
        unknown = r if unknown is None else unknown | r
    return unknown if unknown else True
