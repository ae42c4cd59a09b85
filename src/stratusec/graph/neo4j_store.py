"""The Neo4j graph store, for teams (``storage.graph_url: neo4j://host:7687``).

One Neo4j database holds every account's graph: each node carries ``graph`` (the
Stratusec account name). Product queries (``stratusec.graph.queries``) anchor on
``{graph: $graph}``; ``query`` sets ``$graph`` to the account for user Cypher too.

Rebuild: nodes are written as ``:StagingNode {graph, build_id}`` and edges between them,
in batches; then ONE write transaction deletes the account's live ``:Node``s, relabels
the staging nodes ``:Node`` and records the build on ``(:StratusecGraph {account})``.
Patterns anchored on ``:Node`` therefore see the old graph or the new one, never a half.
(Label-less patterns such as ``MATCH ()-[r]->()`` can see staging nodes and edges of a
build in progress, and Neo4j's read-committed isolation lets one long query straddle
the switch: anchor on ``:Node``.)

Reads run in READ access-mode transactions (``execute_read``) with a transaction
timeout, after the same statement allowlist as the embedded store.

Credentials: ``neo4j://user:password@host:7687/database`` or, better, the environment:
STRATUSEC_NEO4J_USER (default ``neo4j``), STRATUSEC_NEO4J_PASSWORD,
STRATUSEC_NEO4J_DATABASE (default: the server's default database).
"""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import neo4j
from neo4j.exceptions import (
    AuthError,
    ClientError,
    CypherSyntaxError,
    Neo4jError,
    ServiceUnavailable,
    TransientError,
)

from stratusec.errors import CredentialsError, NotFoundError, StratusecError
from stratusec.graph import schema
from stratusec.graph.readonly import ReadOnlyViolation
from stratusec.graph.store import (
    DEFAULT_LIMIT,
    DEFAULT_TIMEOUT_MS,
    BuildInfo,
    GraphChangedError,
    GraphQueryError,
    GraphTimeoutError,
    QueryResult,
    check_account,
    checked_query,
    jsonable,
    new_build_id,
    truncation_message,
)

T = TypeVar("T")
STAGING_LABEL = "StagingNode"
META_LABEL = "StratusecGraph"
BATCH = 5_000
BUILD_LEASE = "PT2H"  # a build that crashed frees its account after this long

SCHEMA_STATEMENTS = (
    f"CREATE INDEX stratusec_node_graph_uid IF NOT EXISTS "
    f"FOR (n:{schema.NODE_LABEL}) ON (n.graph, n.uid)",
    f"CREATE INDEX stratusec_node_graph_kind IF NOT EXISTS "
    f"FOR (n:{schema.NODE_LABEL}) ON (n.graph, n.kind)",
    f"CREATE INDEX stratusec_staging_graph_build_uid IF NOT EXISTS "
    f"FOR (n:{STAGING_LABEL}) ON (n.graph, n.build_id, n.uid)",
    f"CREATE CONSTRAINT stratusec_graph_account IF NOT EXISTS "
    f"FOR (g:{META_LABEL}) REQUIRE g.account IS UNIQUE",
)


def parse_url(url: str) -> tuple[str, str | None, str | None, str | None]:
    """``scheme://[user[:password]@]host[:port][/database]`` -> (url without credentials
    and database, user, password, database)."""
    parts = urllib.parse.urlsplit(url)
    hostport = parts.netloc.rsplit("@", 1)[-1]
    if not hostport:
        raise StratusecError(f"storage.graph_url {url!r} has no host")
    database = parts.path.strip("/") or None
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    return f"{parts.scheme}://{hostport}", user, password, database


def _chunks(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for r in rows:
        batch.append(r)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _no_nulls(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def _map_error(exc: Exception, timeout_ms: int) -> StratusecError:
    if isinstance(exc, AuthError):
        return CredentialsError(f"Neo4j refused the credentials: {exc.message}")
    if isinstance(exc, ServiceUnavailable):
        return StratusecError(f"Neo4j is unreachable: {exc}")
    if isinstance(exc, Neo4jError):
        code = exc.code or ""
        if "TransactionTimedOut" in code or "Terminated" in code:
            return GraphTimeoutError(
                f"query stopped: it ran longer than its time limit of {timeout_ms:,} ms",
                hint="bound variable-length paths, anchor the MATCH on a uid, or add LIMIT",
            )
        if "AccessMode" in code or "ForbiddenOnReadOnlyDatabase" in code:
            return ReadOnlyViolation(f"refused by the read-only transaction: {exc.message}")
        if isinstance(exc, (CypherSyntaxError, ClientError)):
            return GraphQueryError(f"invalid graph query: {exc.message}")
        return GraphQueryError(f"graph query failed: {exc.message or exc}")
    return StratusecError(f"graph query failed: {exc}")


class Neo4jReader:
    """Queries for one account that fail with GraphChangedError once the account's
    graph is rebuilt (Neo4j keeps one build, so a reader cannot keep seeing the old)."""

    def __init__(self, store: Neo4jStore, account: str, build_id: str) -> None:
        self._store = store
        self.account = account
        self.build_id = build_id

    def __enter__(self) -> Neo4jReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        pass

    def query(
        self,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> QueryResult:
        statement, bound = checked_query(cypher, params, limit, timeout_ms, "neo4j")
        return self._execute_unchecked(statement, bound, limit=limit, timeout_ms=timeout_ms)

    def _execute_unchecked(
        self,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> QueryResult:
        """Run Cypher in a READ transaction WITHOUT the allowlist (internal queries and
        tests proving the read transaction itself refuses writes)."""
        return self._store._read(
            self.account, cypher, params, limit, timeout_ms, expect_build=self.build_id
        )

    def counts(self) -> dict[str, Any]:
        return self._store._counts(self.account, self.build_id)


class Neo4jStore:
    backend = "neo4j"

    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        batch_size: int = BATCH,
    ) -> None:
        self.url, url_user, url_password, url_db = parse_url(url)
        self.user = user or url_user or os.environ.get("STRATUSEC_NEO4J_USER") or "neo4j"
        self.password = password or url_password or os.environ.get("STRATUSEC_NEO4J_PASSWORD") or ""
        self.database = database or url_db or os.environ.get("STRATUSEC_NEO4J_DATABASE")
        self.batch_size = batch_size
        self._driver: neo4j.Driver | None = None
        self._schema_ready = False

    # --- plumbing -----------------------------------------------------------------------

    @property
    def driver(self) -> neo4j.Driver:
        if self._driver is None:
            self._driver = neo4j.GraphDatabase.driver(self.url, auth=(self.user, self.password))
        return self._driver

    def _session(self, access_mode: str) -> neo4j.Session:
        return self.driver.session(database=self.database, default_access_mode=access_mode)

    def _write(self, work: Callable[[neo4j.ManagedTransaction], T]) -> T:
        try:
            with self._session(neo4j.WRITE_ACCESS) as s:
                return s.execute_write(work)
        except (Neo4jError, ServiceUnavailable) as exc:
            raise _map_error(exc, 0) from None

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        try:
            with self._session(neo4j.WRITE_ACCESS) as s:
                for stmt in SCHEMA_STATEMENTS:
                    s.run(stmt).consume()
        except (Neo4jError, ServiceUnavailable) as exc:
            raise _map_error(exc, 0) from None
        self._schema_ready = True

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    # --- readers ------------------------------------------------------------------------

    def accounts(self) -> list[str]:
        def work(tx: neo4j.ManagedTransaction) -> list[str]:
            res = tx.run(
                f"MATCH (g:{META_LABEL}) WHERE g.build_id IS NOT NULL "
                "RETURN g.account AS account ORDER BY account"
            )
            return [str(r["account"]) for r in res]

        try:
            with self._session(neo4j.READ_ACCESS) as s:
                return s.execute_read(work)
        except (Neo4jError, ServiceUnavailable) as exc:
            raise _map_error(exc, 0) from None

    def current_build(self, account: str) -> str | None:
        def work(tx: neo4j.ManagedTransaction) -> str | None:
            rec = tx.run(
                f"MATCH (g:{META_LABEL} {{account: $a}}) RETURN g.build_id AS b",
                a=check_account(account),
            ).single()
            return None if rec is None or rec["b"] is None else str(rec["b"])

        try:
            with self._session(neo4j.READ_ACCESS) as s:
                return s.execute_read(work)
        except (Neo4jError, ServiceUnavailable) as exc:
            raise _map_error(exc, 0) from None

    def _not_found(self, account: str) -> NotFoundError:
        have = self.accounts()
        return NotFoundError(
            f"no security graph has been built for account {account!r}; "
            + (f"accounts with a graph: {', '.join(have)}" if have else "no graph built yet")
        )

    def _read(
        self,
        account: str,
        cypher: str,
        params: Mapping[str, Any] | None,
        limit: int,
        timeout_ms: int,
        *,
        expect_build: str | None = None,
    ) -> QueryResult:
        bound = dict(params or {})
        bound.setdefault("graph", account)
        meta_param = "_stratusec_graph_account"

        @neo4j.unit_of_work(timeout=timeout_ms / 1000)
        def work(
            tx: neo4j.ManagedTransaction,
        ) -> tuple[str | None, list[str], list[list[Any]], bool]:
            rec = tx.run(
                f"MATCH (g:{META_LABEL} {{account: ${meta_param}}}) RETURN g.build_id AS b",
                {meta_param: account},
            ).single()
            build = None if rec is None else rec["b"]
            if build is None or (expect_build is not None and build != expect_build):
                return build, [], [], False
            result = tx.run(cypher, bound)
            keys = list(result.keys())
            records = result.fetch(limit + 1)
            result.consume()
            rows = [[jsonable(v) for v in r.values()] for r in records]
            return build, keys, rows, len(rows) > limit

        started = time.perf_counter()
        try:
            with self._session(neo4j.READ_ACCESS) as s:
                build, columns, rows, truncated = s.execute_read(work)
        except (Neo4jError, ServiceUnavailable, TransientError) as exc:
            raise _map_error(exc, timeout_ms) from None
        elapsed = (time.perf_counter() - started) * 1000
        if build is None:
            raise self._not_found(account)
        if expect_build is not None and build != expect_build:
            raise GraphChangedError(
                f"the graph of account {account!r} was rebuilt (build {expect_build} -> "
                f"{build}); open a new reader"
            )
        if truncated:
            del rows[limit:]
        return QueryResult(
            columns=columns,
            rows=rows,
            truncated=truncated,
            elapsed_ms=elapsed,
            limit=limit,
            build_id=build,
            message=truncation_message(limit) if truncated else None,
            account=account,
        )

    def query(
        self,
        account: str,
        cypher: str,
        params: Mapping[str, Any] | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> QueryResult:
        check_account(account)
        statement, bound = checked_query(cypher, params, limit, timeout_ms, "neo4j")
        return self._read(account, statement, bound, limit, timeout_ms)

    def snapshot(self, account: str) -> Neo4jReader:
        build = self.current_build(account)
        if build is None:
            raise self._not_found(account)
        return Neo4jReader(self, account, build)

    def _counts(self, account: str, expect_build: str | None = None) -> dict[str, Any]:
        kinds = self._read(
            account,
            f"MATCH (n:{schema.NODE_LABEL} {{graph: $graph}}) RETURN n.kind, count(*)",
            None,
            100_000,
            DEFAULT_TIMEOUT_MS,
            expect_build=expect_build,
        )
        rels = self._read(
            account,
            f"MATCH (:{schema.NODE_LABEL} {{graph: $graph}})-[r]->(:{schema.NODE_LABEL}) "
            "RETURN type(r), count(*)",
            None,
            1000,
            DEFAULT_TIMEOUT_MS,
            expect_build=expect_build,
        )
        by_kind = {str(k): int(n) for k, n in sorted(kinds.rows, key=lambda r: str(r[0]))}
        by_rel = {t: 0 for t in schema.REL_TYPES}
        for t, n in rels.rows:
            by_rel[str(t)] = int(n)
        return {
            "build_id": kinds.build_id,
            "labels": {schema.NODE_LABEL: sum(by_kind.values())},
            "kinds": by_kind,
            "relationships": by_rel,
            "total_nodes": sum(by_kind.values()),
            "total_relationships": sum(by_rel.values()),
        }

    def counts(self, account: str) -> dict[str, Any]:
        return self._counts(check_account(account))

    # --- writer -------------------------------------------------------------------------

    def _take_lease(self, account: str, build_id: str) -> None:
        def work(tx: neo4j.ManagedTransaction) -> str | None:
            rec = tx.run(
                f"MERGE (g:{META_LABEL} {{account: $a}}) "
                "WITH g WHERE g.building IS NULL OR g.building_until < datetime() "
                "SET g.building = $b, g.building_until = datetime() + duration($lease) "
                "RETURN g.building AS b",
                a=account,
                b=build_id,
                lease=BUILD_LEASE,
            ).single()
            return None if rec is None else str(rec["b"])

        if self._write(work) != build_id:
            raise StratusecError(
                f"another graph build for account {account!r} is in progress; try again later"
            )

    def _drop_lease(self, account: str, build_id: str) -> None:
        def work(tx: neo4j.ManagedTransaction) -> None:
            tx.run(
                f"MATCH (g:{META_LABEL} {{account: $a, building: $b}}) "
                "REMOVE g.building, g.building_until",
                a=account,
                b=build_id,
            ).consume()

        self._write(work)

    def _delete_staging(self, account: str, keep_build: str | None = None) -> None:
        """Delete staging nodes of the account (but ``keep_build``'s), in batches."""

        def work(tx: neo4j.ManagedTransaction) -> int:
            rec = tx.run(
                f"MATCH (n:{STAGING_LABEL} {{graph: $a}}) "
                "WHERE $keep IS NULL OR n.build_id <> $keep "
                "WITH n LIMIT $batch DETACH DELETE n RETURN count(*) AS c",
                a=account,
                keep=keep_build,
                batch=self.batch_size,
            ).single()
            return 0 if rec is None else int(rec["c"])

        while self._write(work):
            pass

    def replace(
        self,
        account: str,
        nodes: Iterable[Mapping[str, Any]],
        edges: Iterable[Mapping[str, Any]],
        *,
        strict: bool = False,
    ) -> BuildInfo:
        started = time.perf_counter()
        check_account(account)
        self._ensure_schema()
        build_id = new_build_id()
        # Validate everything before touching the database.
        node_rows: list[dict[str, Any]] = []
        uids: set[str] = set()
        for raw in nodes:
            row = schema.normalize_node(raw)
            if row["uid"] in uids:
                raise schema.RowError(f"duplicate node uid {row['uid']!r}")
            uids.add(row["uid"])
            node_rows.append(row)
        edge_rows: dict[str, list[dict[str, Any]]] = {}
        skipped = 0
        for raw in edges:
            e = schema.normalize_edge(raw)
            if e["from"] not in uids or e["to"] not in uids:
                if strict:
                    missing = e["from"] if e["from"] not in uids else e["to"]
                    raise schema.RowError(
                        f"{e['type']} edge {e['from']!r} -> {e['to']!r}: "
                        f"no node with uid {missing!r}"
                    )
                skipped += 1
                continue
            props = _no_nulls({k: v for k, v in e.items() if k not in schema.EDGE_KEYS})
            edge_rows.setdefault(e["type"], []).append(
                {"from": e["from"], "to": e["to"], "props": props}
            )

        self._take_lease(account, build_id)
        try:
            self._delete_staging(account)  # leftovers of crashed builds
            for batch in _chunks(node_rows, self.batch_size):
                rows = [_no_nulls(r) for r in batch]

                def put_nodes(tx: neo4j.ManagedTransaction, rows: list[Any] = rows) -> None:
                    tx.run(
                        f"UNWIND $rows AS row CREATE (n:{STAGING_LABEL}) "
                        "SET n = row, n.graph = $a, n.build_id = $b",
                        rows=rows,
                        a=account,
                        b=build_id,
                    ).consume()

                self._write(put_nodes)
            for rel_type, erows in edge_rows.items():
                rel = schema.REL_BY_TYPE[rel_type]  # the type name comes from the schema
                for batch in _chunks(erows, self.batch_size):

                    def put_edges(
                        tx: neo4j.ManagedTransaction,
                        rows: list[Any] = batch,
                        rel_type: str = rel.type,
                    ) -> None:
                        tx.run(
                            "UNWIND $rows AS row "
                            f"MATCH (s:{STAGING_LABEL} {{graph: $a, build_id: $b, uid: row.from}}) "
                            f"MATCH (t:{STAGING_LABEL} {{graph: $a, build_id: $b, uid: row.to}}) "
                            f"CREATE (s)-[r:{rel_type}]->(t) SET r = row.props",
                            rows=rows,
                            a=account,
                            b=build_id,
                        ).consume()

                    self._write(put_edges)

            def switch(tx: neo4j.ManagedTransaction) -> None:
                tx.run(
                    f"MATCH (n:{schema.NODE_LABEL} {{graph: $a}}) DETACH DELETE n", a=account
                ).consume()
                tx.run(
                    f"MATCH (n:{STAGING_LABEL} {{graph: $a, build_id: $b}}) "
                    f"REMOVE n:{STAGING_LABEL} SET n:{schema.NODE_LABEL}",
                    a=account,
                    b=build_id,
                ).consume()
                tx.run(
                    f"MATCH (g:{META_LABEL} {{account: $a}}) "
                    "SET g.build_id = $b, g.built_at = datetime(), g.nodes = $n",
                    a=account,
                    b=build_id,
                    n=len(node_rows),
                ).consume()

            self._write(switch)
        except BaseException:
            try:
                self._delete_staging(account)
            finally:
                self._drop_lease(account, build_id)
            raise
        self._drop_lease(account, build_id)
        return BuildInfo(
            account=account,
            build_id=build_id,
            nodes=len(node_rows),
            edges={t: len(r) for t, r in edge_rows.items()},
            skipped_edges=skipped,
            seconds=time.perf_counter() - started,
            location=f"{self.url} database={self.database or '(default)'}",
        )
