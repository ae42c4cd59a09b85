"""Statement allowlist for user Cypher: the second wall behind the read-only handle.

A read-only Ladybug handle refuses CREATE/MERGE/SET/DELETE/COPY/DDL, but not CHECKPOINT
(which leaves sidecar files that break later opens), ``LOAD FROM '<any file>'``, INSTALL /
LOAD EXTENSION, ATTACH, EXPORT/IMPORT DATABASE, or ``CALL timeout=0`` (which would lift
the query time limit). So every user statement is tokenized first (comments and string
literals stripped, backtick identifiers kept apart) and must be a single read query:

- it starts with MATCH, OPTIONAL MATCH, WITH, UNWIND, RETURN or an allowlisted CALL;
- no word anywhere is a write, admin or transaction keyword (list below);
- every other bare word is a known read keyword, a function name, a label, property,
  map key, parameter, or a variable bound in the statement - anything else is unknown
  and rejected;
- ``CALL`` only names an allowlisted read-only procedure of the dialect;
- ``range()`` only takes literal bounds of a bounded size (an unbounded range is
  materialized before the time limit can interrupt it).

To be safe against a lexer that disagrees with the engine's, the checks run twice: once
reading ``\\`` inside strings as an escape (what both engines do) and once not; a
statement must pass both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from stratusec.errors import StratusecError

Dialect = Literal["ladybug", "neo4j"]


class ReadOnlyViolation(StratusecError):
    """The statement is not a single read-only query."""

    def __init__(self, message: str, *, keyword: str | None = None) -> None:
        super().__init__(message)
        self.keyword = keyword


START_KEYWORDS = frozenset({"MATCH", "OPTIONAL", "WITH", "UNWIND", "RETURN", "CALL"})

# Words that never appear in a read query. Checked anywhere outside strings, comments,
# backtick identifiers, parameters and property lookups (``n.name``): quote a label or
# map key that happens to be one of these with backticks.
DENIED_KEYWORDS = frozenset(
    {
        # writes
        "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "FOREACH", "TRUNCATE",
        # schema and storage
        "DROP", "ALTER", "RENAME", "COMMENT", "ANALYZE", "CHECKPOINT", "VACUUM",
        # data in and out, files, extensions, other databases
        "COPY", "LOAD", "INSTALL", "UNINSTALL", "UPDATE", "EXTENSION", "ATTACH", "USE",
        "EXPORT", "IMPORT", "PROJECT", "FORCE", "CSV", "PERIODIC",
        # transactions
        "BEGIN", "COMMIT", "ROLLBACK", "TRANSACTION", "TRANSACTIONS",
        # administration (Neo4j) and plan display
        "SHOW", "TERMINATE", "GRANT", "DENY", "REVOKE", "START", "STOP", "ENABLE",
        "DISABLE", "DATABASE", "DATABASES", "USER", "USERS", "ROLE", "ROLES", "PRIVILEGES",
        "EXPLAIN", "PROFILE", "USING", "FINISH",
    }
)  # fmt: skip

# Keywords that may appear inside a read query.
READ_KEYWORDS = frozenset(
    {
        "MATCH", "OPTIONAL", "WHERE", "WITH", "RETURN", "ORDER", "BY", "SKIP", "OFFSET",
        "LIMIT", "UNWIND", "UNION", "ALL", "DISTINCT", "AS", "AND", "OR", "NOT", "XOR",
        "IN", "IS", "NULL", "TRUE", "FALSE", "CASE", "WHEN", "THEN", "ELSE", "END", "ASC",
        "DESC", "ASCENDING", "DESCENDING", "STARTS", "ENDS", "CONTAINS", "EXISTS", "COUNT",
        "COLLECT", "ANY", "NONE", "SINGLE", "SHORTEST", "WSHORTEST", "TRAIL", "ACYCLIC",
        "WALK", "GROUPS", "PATH", "PATHS", "YIELD", "NULLS", "FIRST", "LAST", "CALL",
        "NAN", "INF", "INFINITY",
    }
)  # fmt: skip

# Read-only procedures a user may CALL, per dialect.
CALL_ALLOWLIST: dict[str, frozenset[str]] = {
    "ladybug": frozenset({"show_tables", "table_info", "show_connection"}),
    "neo4j": frozenset(
        {
            "db.labels",
            "db.relationshiptypes",
            "db.propertykeys",
            "db.schema.visualization",
            "db.schema.nodetypeproperties",
            "db.schema.reltypeproperties",
        }
    ),
}

# Dotted function namespaces allowed in Neo4j (apoc.*, gds.* and plugins are not).
NEO4J_FUNCTION_NAMESPACES = frozenset(
    {"date", "datetime", "localdatetime", "localtime", "time", "duration", "point", "vector"}
)
# Functions with side effects on state.
DENIED_FUNCTIONS = frozenset({"nextval", "setval"})
MAX_RANGE = 100_000


@dataclass(frozen=True)
class Token:
    kind: Literal["word", "qident", "string", "number", "param", "punct"]
    text: str
    pos: int
    space_before: bool


_WORD = re.compile(r"[^\W\d]\w*")
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|0[oO][0-7]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LINE_END = "\n\r\u2028\u2029\x0b\x0c\x85"


def tokenize(cypher: str, *, backslash_escapes: bool = True) -> list[Token]:
    """Split Cypher into tokens, dropping whitespace and comments.

    Raises ReadOnlyViolation for an unterminated string, identifier or comment (the
    engine would reject it; refusing it here keeps its contents from being misread).
    """
    tokens: list[Token] = []
    i, n = 0, len(cypher)
    space = True
    while i < n:
        ch = cypher[i]
        if ch.isspace():
            i += 1
            space = True
            continue
        if cypher.startswith("//", i):
            j = i + 2
            while j < n and cypher[j] not in _LINE_END:
                j += 1
            i, space = j, True
            continue
        if cypher.startswith("/*", i):
            j = cypher.find("*/", i + 2)
            if j < 0:
                raise ReadOnlyViolation(f"unterminated /* comment at offset {i}")
            i, space = j + 2, True
            continue
        if ch in "'\"`":
            j = i + 1
            while True:
                if j >= n:
                    what = "identifier" if ch == "`" else "string"
                    raise ReadOnlyViolation(f"unterminated {what} starting at offset {i}")
                c = cypher[j]
                if c == "\\" and backslash_escapes and ch != "`":
                    j += 2
                    continue
                if c == ch:
                    if ch == "`" and j + 1 < n and cypher[j + 1] == "`":
                        j += 2  # `` is an escaped backtick
                        continue
                    break
                j += 1
            kind: Literal["qident", "string"] = "qident" if ch == "`" else "string"
            tokens.append(Token(kind, cypher[i : j + 1], i, space))
            i, space = j + 1, False
            continue
        if ch == "$":
            m = _WORD.match(cypher, i + 1) or re.compile(r"\d+").match(cypher, i + 1)
            if m:
                tokens.append(Token("param", cypher[i : m.end()], i, space))
                i, space = m.end(), False
                continue
            tokens.append(Token("punct", ch, i, space))  # $`name`: the qident follows
            i, space = i + 1, False
            continue
        m = _NUMBER.match(cypher, i)
        if m:
            tokens.append(Token("number", m.group(), i, space))
            i, space = m.end(), False
            continue
        m = _WORD.match(cypher, i)
        if m:
            tokens.append(Token("word", m.group(), i, space))
            i, space = m.end(), False
            continue
        tokens.append(Token("punct", ch, i, space))
        i, space = i + 1, False
    return tokens


def _is_property_lookup(tokens: list[Token], k: int) -> bool:
    """tokens[k] is the name in ``expr.name`` written without spaces (n.name, a.b.c)."""
    if k < 2:
        return False
    dot, prev = tokens[k - 1], tokens[k - 2]
    return (
        dot.text == "."
        and dot.kind == "punct"
        and not dot.space_before
        and not tokens[k].space_before
        and (prev.kind in ("word", "qident") or prev.text in (")", "]", "}"))
    )


def _next_text(tokens: list[Token], k: int) -> str:
    return tokens[k + 1].text if k + 1 < len(tokens) else ""


def _prev_text(tokens: list[Token], k: int) -> str:
    return tokens[k - 1].text if k > 0 else ""


def _dotted_name(tokens: list[Token], k: int) -> tuple[str, int]:
    """The name a.b.c starting at word k, and the index after it."""
    parts = [tokens[k].text]
    j = k + 1
    while (
        j + 1 < len(tokens)
        and tokens[j].text == "."
        and tokens[j].kind == "punct"
        and tokens[j + 1].kind == "word"
    ):
        parts.append(tokens[j + 1].text)
        j += 2
    return ".".join(parts), j


def _bound_names(tokens: list[Token]) -> set[str]:
    """Names in binding positions: pattern and comprehension variables, AS / YIELD
    aliases, path and reduce accumulators (x =), lambda and quantifier variables."""
    names: set[str] = set()
    in_yield = False
    for k, t in enumerate(tokens):
        prev, nxt = _prev_text(tokens, k), _next_text(tokens, k)
        if t.kind != "word":
            if t.text != ",":
                in_yield = False
            continue
        up = t.text.upper()
        nxt2 = tokens[k + 2].text if k + 2 < len(tokens) else ""
        if up == "YIELD":
            in_yield = True
            continue
        if (
            in_yield
            or prev in ("(", "[")
            or prev.upper() == "AS"
            or (nxt == "=" and nxt2 not in ("=", "~"))
            or nxt.upper() == "IN"
            or (nxt == "-" and nxt2 == ">")
            or nxt == "|"
        ):
            names.add(up)
        if in_yield and up != "AS" and nxt.upper() != "AS" and nxt != ",":
            in_yield = False
    return names


def _check_range(tokens: list[Token], k: int) -> None:
    """range(a, b[, step]) with integer literals spanning at most MAX_RANGE values."""
    j = k + 2
    args: list[int] = []
    sign = 1
    while j < len(tokens) and tokens[j].text != ")":
        t = tokens[j]
        if t.text == "-":
            sign = -sign
        elif t.kind == "number" and re.fullmatch(r"\d+", t.text):
            args.append(sign * int(t.text))
            sign = 1
        elif t.text != ",":
            raise ReadOnlyViolation(
                f"range() needs integer literal bounds (spanning at most {MAX_RANGE:,} "
                "values): an unbounded range is built in memory before the time limit "
                "can stop it",
                keyword="range",
            )
        j += 1
    if len(args) in (2, 3):
        step = args[2] if len(args) == 3 and args[2] else 1
        if abs(args[1] - args[0]) // abs(step) + 1 <= MAX_RANGE:
            return
    raise ReadOnlyViolation(
        f"range() may span at most {MAX_RANGE:,} values in a graph query", keyword="range"
    )


def _denied(tokens: list[Token], k: int) -> ReadOnlyViolation:
    up = tokens[k].text.upper()
    follow = _next_text(tokens, k).upper()
    shown = f"{up} {follow}" if up in ("LOAD", "DETACH") and follow.isalpha() else up
    return ReadOnlyViolation(
        f"{shown} is not allowed: graph queries are read-only (MATCH ... RETURN); "
        "if this is a name, quote it with backticks",
        keyword=up,
    )


def _check_tokens(tokens: list[Token], dialect: Dialect, *, full: bool = True) -> None:
    """Check one token stream. ``full=False`` checks only the walls that matter for a
    misread string: one statement, the start keyword and the denied keywords."""
    if not tokens:
        raise ReadOnlyViolation("empty query")
    for k, t in enumerate(tokens):
        if t.kind == "punct" and t.text == ";" and k != len(tokens) - 1:
            raise ReadOnlyViolation(
                "only one statement is allowed per query (found ';' followed by more)",
                keyword=";",
            )
    first = tokens[0]
    if first.kind == "word" and first.text.upper() in DENIED_KEYWORDS:
        raise _denied(tokens, 0)
    if first.kind != "word" or first.text.upper() not in START_KEYWORDS:
        word = first.text.upper() if first.kind == "word" else first.text
        raise ReadOnlyViolation(
            f"{word} is not allowed: a graph query must be a read query starting with "
            "MATCH, OPTIONAL MATCH, WITH, UNWIND, RETURN or CALL <read procedure>",
            keyword=word,
        )
    bound = _bound_names(tokens)
    allowed_calls = CALL_ALLOWLIST[dialect]
    skip_to = 0
    for k, t in enumerate(tokens):
        if t.kind != "word" or _is_property_lookup(tokens, k):
            continue
        up = t.text.upper()
        if k < skip_to and up not in DENIED_KEYWORDS:
            continue  # the name of an allowlisted procedure
        if up in DENIED_KEYWORDS:
            raise _denied(tokens, k)
        if up == "CALL":
            if _next_text(tokens, k) == "{" or k + 1 >= len(tokens):
                raise ReadOnlyViolation(
                    "CALL subqueries are not allowed in graph queries", keyword="CALL"
                )
            if tokens[k + 1].kind != "word":
                raise ReadOnlyViolation(
                    f"CALL is only allowed for: {', '.join(sorted(allowed_calls))}",
                    keyword="CALL",
                )
            name, after = _dotted_name(tokens, k + 1)
            if name.lower() not in allowed_calls:
                raise ReadOnlyViolation(
                    f"CALL {name} is not allowed: only these read-only procedures may be "
                    f"called: {', '.join(sorted(allowed_calls))}",
                    keyword="CALL",
                )
            skip_to = after
            continue
        if _prev_text(tokens, k) == "." and tokens[k - 1].kind == "punct":
            # the tail of a dotted function name (db.labels), checked at its head
            continue
        name, after = _dotted_name(tokens, k)
        if after < len(tokens) and tokens[after].text == "(" and _prev_text(tokens, k) != ":":
            # a function call (or a keyword written like one: COUNT(*), EXISTS(...))
            if "." in name:
                ns = name.split(".", 1)[0].lower()
                if dialect == "ladybug" or ns not in NEO4J_FUNCTION_NAMESPACES:
                    raise ReadOnlyViolation(
                        f"function {name}() is not allowed in graph queries", keyword=name
                    )
            if name.lower() in DENIED_FUNCTIONS:
                raise ReadOnlyViolation(
                    f"function {name}() is not allowed in graph queries", keyword=name
                )
            if name.lower() == "range":
                _check_range(tokens, k)
            continue
        if not full or up in READ_KEYWORDS or up in bound:
            continue
        prev, nxt = _prev_text(tokens, k), _next_text(tokens, k)
        if prev in (":", "|", "&", "!", "%") or nxt in (":", "."):
            continue  # label, relationship type, label expression, map key, n.prop
        raise ReadOnlyViolation(
            f"unknown keyword or unbound name {t.text!r} at offset {t.pos}: graph queries "
            "allow MATCH, OPTIONAL MATCH, WHERE, WITH, RETURN, ORDER BY, SKIP, LIMIT, "
            "UNWIND and UNION",
            keyword=t.text,
        )


def check_read_only(cypher: str, dialect: Dialect = "ladybug") -> str:
    """Return the statement if it is a single read-only query, else raise ReadOnlyViolation.

    The returned text has a trailing ``;`` (and anything after it but whitespace and
    comments) removed.
    """
    if not isinstance(cypher, str):
        raise ReadOnlyViolation("the query must be a string")
    if "\x00" in cypher:
        raise ReadOnlyViolation("the query contains a NUL character")
    strict = tokenize(cypher, backslash_escapes=True)
    _check_tokens(strict, dialect)
    # Read strings without escapes too: a statement must be safe both ways.
    try:
        loose = tokenize(cypher, backslash_escapes=False)
    except ReadOnlyViolation:
        loose = None
    if loose is not None:
        _check_tokens(loose, dialect, full=False)
    if strict[-1].text == ";" and strict[-1].kind == "punct":
        return cypher[: strict[-1].pos].rstrip()
    return cypher
