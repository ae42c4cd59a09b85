"""The Neo4j store. Server tests run only when STRATUSEC_TEST_NEO4J_URL points at a Neo4j
5 server (credentials in the URL or STRATUSEC_NEO4J_USER / STRATUSEC_NEO4J_PASSWORD);
no Neo4j server can be installed on the development machine."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from stratusec.config import Config, Storage
from stratusec.errors import NotFoundError, StratusecError
from stratusec.graph import queries as Q
from stratusec.graph.ladybug_store import LadybugStore
from stratusec.graph.neo4j_store import Neo4jStore, parse_url
from stratusec.graph.readonly import ReadOnlyViolation
from stratusec.graph.store import GraphChangedError, GraphQueryError, GraphTimeoutError, open_graph
from tests.graph.conftest import (
    ADMIN_ROLE,
    BOB,
    chain_graph,
    sample_edges,
    sample_nodes,
)

NEO4J_URL = os.environ.get("STRATUSEC_TEST_NEO4J_URL")
needs_server = pytest.mark.skipif(
    not NEO4J_URL, reason="STRATUSEC_TEST_NEO4J_URL not set (no Neo4j server to test against)"
)


# --- no server needed ---------------------------------------------------------------------


def test_parse_url() -> None:
    assert parse_url("neo4j://db.example:7687") == ("neo4j://db.example:7687", None, None, None)
    assert parse_url("bolt+s://u%40x:p%3Aw@h:7687/graphs") == (
        "bolt+s://h:7687",
        "u@x",
        "p:w",
        "graphs",
    )
    with pytest.raises(StratusecError, match="no host"):
        parse_url("neo4j://")


@pytest.mark.parametrize("url", ["neo4j://h:7687", "neo4j+s://h", "bolt://h:7687", "BOLT://h"])
def test_open_graph_picks_neo4j(url: str) -> None:
    store = open_graph(Config(storage=Storage(graph_url=url)))
    try:
        assert isinstance(store, Neo4jStore) and store.backend == "neo4j"
    finally:
        store.close()


def test_open_graph_defaults_to_ladybug(stratusec_home: object, tmp_path: object) -> None:
    store = open_graph(Config())
    assert isinstance(store, LadybugStore) and store.backend == "ladybug"
    store.close()
    with pytest.raises(StratusecError, match="use neo4j://"):
        open_graph(Config(storage=Storage(graph_url="http://h:7474")))


def test_credentials_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATUSEC_NEO4J_USER", "reader")
    monkeypatch.setenv("STRATUSEC_NEO4J_PASSWORD", "pw")
    monkeypatch.setenv("STRATUSEC_NEO4J_DATABASE", "sec")
    s = Neo4jStore("neo4j://h:7687")
    assert (s.user, s.password, s.database) == ("reader", "pw", "sec")
    s = Neo4jStore("neo4j://other:secret@h:7687/graphs")
    assert (s.user, s.password, s.database) == ("other", "secret", "graphs")


def test_user_cypher_is_checked_before_any_connection() -> None:
    s = Neo4jStore("neo4j://127.0.0.1:9")  # nothing listens: the allowlist answers first
    with pytest.raises(ReadOnlyViolation, match="CREATE is not allowed"):
        s.query("acct", "CREATE (n:Node {uid: 'x'})")
    with pytest.raises(ReadOnlyViolation, match=r"CALL apoc\.load\.json"):
        s.query("acct", "CALL apoc.load.json('file:///etc/passwd') YIELD value RETURN value")
    s.close()


# --- against a server ---------------------------------------------------------------------


@pytest.fixture
def neo() -> Iterator[tuple[Neo4jStore, str]]:
    assert NEO4J_URL
    store = Neo4jStore(NEO4J_URL)
    account = f"t{uuid.uuid4().hex[:10]}"
    yield store, account

    def cleanup(tx):  # type: ignore[no-untyped-def]
        tx.run("MATCH (n) WHERE n.graph = $a DETACH DELETE n", a=account).consume()
        tx.run("MATCH (g:StratusecGraph {account: $a}) DELETE g", a=account).consume()

    store._write(cleanup)
    store.close()


@needs_server
def test_neo4j_replace_query_counts(neo: tuple[Neo4jStore, str]) -> None:
    store, account = neo
    info = store.replace(account, sample_nodes(), sample_edges(), strict=True)
    assert info.nodes == len(sample_nodes())
    r = store.query(account, "MATCH (n:Node {graph: $graph}) RETURN count(n) AS n")
    assert r.rows == [[len(sample_nodes())]] and r.build_id == info.build_id
    c = store.counts(account)
    assert c["total_nodes"] == len(sample_nodes())
    assert c["total_relationships"] == len(sample_edges())
    assert account in store.accounts()
    text, params = Q.PATHS_TO_ADMIN.render("neo4j", account, uid=BOB, max_paths=10)
    rows = store.query(account, text, params).rows
    assert rows[0][0] == ADMIN_ROLE and rows[0][2] == 3
    r = store.query(account, "MATCH (:Node {graph: $graph})-[e:CAN_ACCESS]->() RETURN e.actions")
    assert r.rows == [[["s3:GetObject", "s3:ListBucket"]]]


@needs_server
def test_neo4j_read_transaction_refuses_writes(neo: tuple[Neo4jStore, str]) -> None:
    store, account = neo
    store.replace(account, *chain_graph(5))
    with pytest.raises(ReadOnlyViolation):
        store.query(account, "MATCH (n:Node {graph: $graph}) SET n.name = 'x'")
    reader = store.snapshot(account)
    for cypher in [
        "CREATE (:Node {graph: $graph, uid: 'evil'})",
        "MATCH (n:Node {graph: $graph}) DETACH DELETE n",
        "MATCH (n:Node {graph: $graph}) SET n.name = 'pwned'",
    ]:
        with pytest.raises(ReadOnlyViolation, match="read-only"):
            reader._execute_unchecked(cypher)
    assert store.counts(account)["total_nodes"] == 5


@needs_server
def test_neo4j_limits_timeout_errors(neo: tuple[Neo4jStore, str]) -> None:
    store, account = neo
    store.replace(account, *chain_graph(2000))
    r = store.query(account, "MATCH (n:Node {graph: $graph}) RETURN n.uid", limit=7)
    assert len(r.rows) == 7 and r.truncated
    with pytest.raises(GraphTimeoutError):
        store.query(
            account,
            "MATCH (a:Node {graph: $graph}), (b:Node {graph: $graph}), (c:Node {graph: $graph}) "
            "WHERE a.uid + b.uid + c.uid = 'x' RETURN count(*)",
            timeout_ms=300,
        )
    with pytest.raises(GraphQueryError, match="invalid graph query"):
        store.query(account, "MATCH (n:Node RETURN n")
    with pytest.raises(NotFoundError):
        store.query(f"{account}-missing", "MATCH (n) RETURN n")


@needs_server
def test_neo4j_rebuild_switches_and_readers_notice(neo: tuple[Neo4jStore, str]) -> None:
    store, account = neo
    store.replace(account, *chain_graph(10, "old"))
    reader = store.snapshot(account)
    store.replace(account, *chain_graph(20, "new"))
    assert store.query(account, "MATCH (n:Node {graph: $graph}) RETURN count(n)").rows == [[20]]
    with pytest.raises(GraphChangedError):
        reader.query("MATCH (n:Node {graph: $graph}) RETURN count(n)")
    r = store.query(account, "MATCH (n:StagingNode {graph: $graph}) RETURN count(n)")
    assert r.rows == [[0]]
