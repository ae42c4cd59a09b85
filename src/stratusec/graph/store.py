"""The graph store interface, its result types, and ``open_graph(config)``.

Two implementations: ``LadybugStore`` (embedded, the default: one database file per
build under ``<STRATUSEC_HOME>/graph/<account>/``) and ``Neo4jStore`` (when
``storage.graph_url`` is ``neo4j://``, ``neo4j+s://``, ``bolt://`` ...).

Writers hand over plain rows (see ``stratusec.graph.schema``); readers get
``QueryResult``s from read-only Cypher.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from stratusec.config import ACCOUNT_NAME
from stratusec.errors import StratusecError
from stratusec.graph import schema
from stratusec.graph.readonly import Dialect, check_read_only

if TYPE_CHECKING:
    from stratusec.config import Config

DEFAULT_LIMIT = 1000
MAX_LIMIT = 100_000
DEFAULT_TIMEOUT_MS = 10_000
MAX_TIMEOUT_MS = 300_000

NEO4J_SCHEMES = ("neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt://", "bolt+s://", "bolt+ssc://")


class GraphQueryError(StratusecError):
    """The engine rejected the query (syntax, unknown variable, type error ...)."""


class GraphTimeoutError(StratusecError):
    """The query ran past its time limit and was stopped."""


class GraphChangedError(StratusecError):
    """A pinned reader's build is gone (the graph was rebuilt under it)."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool
    elapsed_ms: float
    limit: int
    build_id: str | None = None
    message: str | None = None
    account: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "columns": self.columns,
            "rows": self.rows,
            "row_count": len(self.rows),
            "truncated": self.truncated,
            "limit": self.limit,
            "elapsed_ms": round(self.elapsed_ms, 3),
            "build_id": self.build_id,
            "message": self.message,
        }


@dataclass
class BuildInfo:
    account: str
    build_id: str
    nodes: int
    edges: dict[str, int] = field(default_factory=dict)
    skipped_edges: int = 0
    seconds: float = 0.0
    location: str = ""
    phases: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "build_id": self.build_id,
            "nodes": self.nodes,
            "edges": dict(self.edges),
            "edge_total": sum(self.edges.values()),
            "skipped_edges": self.skipped_edges,
            "seconds": round(self.seconds, 3),
            "phases": {k: round(v, 3) for k, v in self.phases.items()},
            "location": self.location,
        }


class GraphReader(Protocol):
    """A reader pinned to one build (Ladybug); see ``GraphStore.snapshot``."""

    build_id: str

    def query(
        self,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> QueryResult: ...

    def counts(self) -> dict[str, Any]: ...

    def close(self) -> None: ...

    def __enter__(self) -> GraphReader: ...

    def __exit__(self, *exc: object) -> None: ...


class GraphStore(Protocol):
    backend: str
    """``ladybug`` or ``neo4j``: the Cypher dialect of ``stratusec.graph.queries``."""

    def replace(
        self,
        account: str,
        nodes: Iterable[Mapping[str, Any]],
        edges: Iterable[Mapping[str, Any]],
        *,
        strict: bool = False,
    ) -> BuildInfo:
        """Rebuild the account's graph from rows; readers see the old graph until the
        new one is complete, then the new one. ``strict``: an edge whose end is not a
        node is an error (else it is skipped and counted)."""
        ...

    def query(
        self,
        account: str,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> QueryResult:
        """Run one read-only statement; at most ``limit`` rows (``truncated`` says if
        there were more); stopped after ``timeout_ms``."""
        ...

    def snapshot(self, account: str) -> GraphReader:
        """A reader on the account's current build (Ladybug keeps seeing that build
        across rebuilds until closed)."""
        ...

    def counts(self, account: str) -> dict[str, Any]:
        """Node count per label and per kind, relationship count per type."""
        ...

    def accounts(self) -> list[str]:
        """Accounts that have a graph."""
        ...

    def close(self) -> None: ...


# --- helpers shared by the implementations ------------------------------------------------


def new_build_id() -> str:
    """Sortable and unique: ``20261124T054913-894078-c49aeb`` (UTC time, random tail)."""
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%S}-{now:%f}-{secrets.token_hex(3)}"


def check_account(account: str) -> str:
    if not isinstance(account, str) or not ACCOUNT_NAME.match(account):
        raise StratusecError(
            f"invalid account name {account!r}: 1-63 letters, digits, '_', '.' or '-'"
        )
    return account


def check_limits(limit: int, timeout_ms: int) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise StratusecError(f"limit must be between 1 and {MAX_LIMIT:,}, got {limit!r}")
    if (
        not isinstance(timeout_ms, int)
        or isinstance(timeout_ms, bool)
        or not 1 <= timeout_ms <= MAX_TIMEOUT_MS
    ):
        raise StratusecError(
            f"timeout must be between 1 and {MAX_TIMEOUT_MS:,} ms, got {timeout_ms!r}"
        )


_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def checked_query(
    cypher: str,
    params: Mapping[str, Any] | None,
    limit: int,
    timeout_ms: int,
    dialect: Dialect,
) -> tuple[str, dict[str, Any]]:
    """The gate every user statement passes: limits, the read-only allowlist, parameters.
    Returns (statement, params) ready for the backend's read-only execution."""
    check_limits(limit, timeout_ms)
    return check_read_only(cypher, dialect), check_params(params)


def check_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in (params or {}).items():
        if not isinstance(k, str) or not _PARAM_NAME.match(k):
            raise StratusecError(f"invalid parameter name {k!r}")
        out[k] = v
    return out


def truncation_message(limit: int) -> str:
    return (
        f"result truncated to the first {limit:,} rows; add LIMIT/ORDER BY to the query "
        "or raise the limit"
    )


_REL_PROPS: dict[Any, frozenset[str]] = {
    r.type: frozenset(p.name for p in r.properties) for r in schema.RELS
}


def jsonable(value: Any) -> Any:
    """Plain JSON values for results from either engine: nodes and relationships become
    ``{"_label": ..., **properties}`` (engine-internal ids dropped)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        if "_NODES" in value and "_RELS" in value:  # Ladybug recursive relationship
            return {
                "nodes": [jsonable(v) for v in value["_NODES"]],
                "relationships": [jsonable(v) for v in value["_RELS"]],
            }
        out: dict[str, Any] = {}
        # A relationship read through an untyped variable carries every relationship
        # table's columns (NULL where not its own): keep only its own.
        own = _REL_PROPS.get(value.get("_LABEL")) if "_SRC" in value else None
        for k, v in value.items():
            if k in ("_ID", "_SRC", "_DST") or (own is not None and k != "_LABEL" and k not in own):
                continue
            key = "_label" if k == "_LABEL" else str(k)
            out[key] = jsonable(v)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    converted = _neo4j_value(value)
    if converted is not None:
        return converted
    return str(value)


def _neo4j_value(value: Any) -> Any | None:
    try:
        from neo4j.graph import Node, Path, Relationship
    except ImportError:  # pragma: no cover - neo4j is a dependency
        return None
    if isinstance(value, Node):
        label = next(iter(value.labels), None)
        return {"_label": label, **{k: jsonable(v) for k, v in value.items()}}
    if isinstance(value, Relationship):
        return {"_label": value.type, **{k: jsonable(v) for k, v in value.items()}}
    if isinstance(value, Path):
        return {
            "nodes": [jsonable(n) for n in value.nodes],
            "relationships": [jsonable(r) for r in value.relationships],
        }
    iso = getattr(value, "iso_format", None)  # neo4j.time types
    if callable(iso):
        return iso()
    return None


def graph_backend(config: Config) -> str:
    url = config.storage.graph_url
    if url and url.lower().startswith(NEO4J_SCHEMES):
        return "neo4j"
    return "ladybug"


def open_graph(config: Config) -> GraphStore:
    """The configured graph store: Neo4j when ``storage.graph_url`` is a Neo4j URL,
    else the embedded Ladybug store under STRATUSEC_HOME (or under a ``file://`` /
    plain path given as graph_url)."""
    url = config.storage.graph_url
    if url and graph_backend(config) == "neo4j":
        from stratusec.graph.neo4j_store import Neo4jStore

        return Neo4jStore(url)
    from stratusec.graph.ladybug_store import LadybugStore

    if url:
        if "://" in url and not url.startswith("file://"):
            raise StratusecError(
                f"storage.graph_url {url!r}: use neo4j://, neo4j+s://, bolt:// for Neo4j, "
                "or leave it unset for the embedded graph"
            )
        from pathlib import Path

        return LadybugStore(Path(url.removeprefix("file://")).expanduser())
    return LadybugStore()
