"""The embedded store: build, query, read-only enforcement, atomic rebuilds, limits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ladybug as lb
import pytest

from stratusec import paths
from stratusec.errors import NotFoundError, StratusecError
from stratusec.graph import schema
from stratusec.graph.ladybug_store import LadybugStore
from stratusec.graph.readonly import ReadOnlyViolation
from stratusec.graph.store import GraphQueryError, GraphTimeoutError
from tests.graph.conftest import (
    ACCOUNT,
    ADMIN_ROLE,
    ALICE,
    BUCKET,
    chain_graph,
    sample_edges,
    sample_nodes,
    tree_state,
)

COUNT = "MATCH (n:Node) RETURN count(*) AS n"
PAIR = "MATCH (n:Node) WITH count(n) AS nodes MATCH ()-[r]->() RETURN nodes, count(r) AS edges"


# --- build and query ------------------------------------------------------------------


def test_replace_then_query(built: LadybugStore) -> None:
    r = built.query(ACCOUNT, "MATCH (n:Node {uid: $uid}) RETURN n.name, n.tags, n.admin",
                    {"uid": ALICE})  # fmt: skip
    assert r.columns == ["n.name", "n.tags", "n.admin"]
    assert r.rows == [["alice", '{"team":"sec"}', False]]
    assert not r.truncated and r.account == ACCOUNT and r.build_id
    r = built.query(
        ACCOUNT,
        "MATCH (p)-[e:CAN_ACCESS]->(b:Node {uid: $b}) RETURN p.name, e.actions, e.level",
        {"b": BUCKET},
    )
    assert r.rows == [["app", ["s3:GetObject", "s3:ListBucket"], "read"]]
    r = built.query(ACCOUNT, "MATCH (:Node)-[e:CAN_ASSUME]->(r) WHERE e.conditional "
                    "RETURN e.condition_keys, r.uid")  # fmt: skip
    assert r.rows == [[["aws:MultiFactorAuthPresent"], ADMIN_ROLE]]


def test_build_info_and_layout(store: LadybugStore, stratusec_home: Path) -> None:
    edges = [*sample_edges(), {"type": "MEMBER_OF", "from": ALICE, "to": "arn:missing"}]
    info = store.replace(ACCOUNT, sample_nodes(), edges)
    assert info.nodes == len(sample_nodes())
    assert sum(info.edges.values()) == len(sample_edges())
    assert info.skipped_edges == 1
    d = stratusec_home / "graph" / ACCOUNT
    assert Path(info.location) == d / f"{info.build_id}.lbdb"
    assert (d / "current").read_text().strip() == info.build_id
    names = sorted(p.name for p in d.iterdir())
    assert names == sorted([f"{info.build_id}.lbdb", f"{info.build_id}.lock", "build.lock",
                            "current"])  # fmt: skip
    assert store.accounts() == [ACCOUNT]


def test_values_round_trip(store: LadybugStore) -> None:
    odd = "multi\nline, \"quoted\", back\\slash, 'single'"
    nodes: list[dict[str, Any]] = [
        {"uid": "a", "kind": "aws_iam_role", "name": odd, "props": {"k": odd}},
        {"uid": "b", "kind": "aws_s3_bucket", "name": ""},
    ]
    edges = [{"type": "CAN_ACCESS", "from": "a", "to": "b", "level": "write",
              "actions": ["s3:Put*", "a,b", "[x]", "'q'", '"dq"'], "reason": odd}]  # fmt: skip
    store.replace(ACCOUNT, nodes, edges, strict=True)
    r = store.query(ACCOUNT, "MATCH (a)-[e]->(b) RETURN a.name, a.props, e.actions, e.reason, "
                    "b.name, b.sensitive, b.tags")  # fmt: skip
    [[name, props, actions, reason, bname, sensitive, tags]] = r.rows
    assert name == odd and reason == odd and json.loads(props) == {"k": odd}
    assert actions == ["s3:Put*", "a,b", "[x]", "'q'", '"dq"']
    assert bname is None  # empty strings are stored as NULL
    assert sensitive is False and tags == "{}"


def test_row_validation(store: LadybugStore) -> None:
    with pytest.raises(schema.RowError, match="duplicate node uid"):
        store.replace(ACCOUNT, [{"uid": "a", "kind": "k"}] * 2, [])
    with pytest.raises(schema.RowError, match="unknown type 'LIKES'"):
        store.replace(ACCOUNT, [{"uid": "a", "kind": "k"}],
                      [{"type": "LIKES", "from": "a", "to": "a"}])  # fmt: skip
    with pytest.raises(schema.RowError, match="unknown properties"):
        store.replace(ACCOUNT, [{"uid": "a", "kind": "k", "colour": "red"}], [])
    with pytest.raises(schema.RowError, match="no node with uid 'zz'"):
        store.replace(ACCOUNT, [{"uid": "a", "kind": "k"}],
                      [{"type": "MEMBER_OF", "from": "a", "to": "zz"}], strict=True)  # fmt: skip
    with pytest.raises(schema.RowError, match="level must be"):
        store.replace(ACCOUNT, [{"uid": "a", "kind": "k"}],
                      [{"type": "CAN_ACCESS", "from": "a", "to": "a", "level": "god"}])  # fmt: skip
    # nothing was built, nothing left behind but the (empty) lock file
    assert store.accounts() == []
    assert sorted(p.name for p in store.account_dir(ACCOUNT).iterdir()) == ["build.lock"]


def test_failed_rebuild_keeps_previous_graph(built: LadybugStore) -> None:
    before = built.counts(ACCOUNT)
    d = built.account_dir(ACCOUNT)
    listing = sorted(p.name for p in d.iterdir())

    def bad_nodes() -> Iterator[dict[str, str]]:  # fails halfway through the rows
        yield {"uid": "x", "kind": "k"}
        raise RuntimeError("collector crashed")

    with pytest.raises(RuntimeError, match="collector crashed"):
        built.replace(ACCOUNT, bad_nodes(), [])
    assert built.counts(ACCOUNT) == before
    assert sorted(p.name for p in d.iterdir()) == listing


def test_empty_graph(store: LadybugStore) -> None:
    store.replace(ACCOUNT, [], [])
    assert store.query(ACCOUNT, COUNT).rows == [[0]]
    assert store.counts(ACCOUNT)["total_nodes"] == 0


def test_counts(built: LadybugStore) -> None:
    c = built.counts(ACCOUNT)
    assert c["labels"] == {"Node": len(sample_nodes())}
    assert c["kinds"]["aws_iam_user"] == 2 and c["kinds"]["internet"] == 1
    assert c["relationships"]["CAN_ASSUME"] == 2
    assert c["relationships"]["DELIVERS_TO"] == 0
    assert set(c["relationships"]) == set(schema.REL_TYPES)
    assert c["total_relationships"] == len(sample_edges())


def _engine_type(p: schema.Prop) -> str:
    return {"BOOLEAN": "BOOL"}.get(p.storage_type, p.storage_type)  # how table_info shows it


def test_tables_match_the_declared_schema(built: LadybugStore) -> None:
    with built.snapshot(ACCOUNT) as reader:
        info = reader.query("CALL table_info('Node') RETURN *").rows
        assert [(r[1], r[2], r[4]) for r in info] == [
            (p.name, _engine_type(p), p.primary_key) for p in schema.NODE.properties
        ]
        tables = {r[1]: r[2] for r in reader.query("CALL show_tables() RETURN *").rows}
        assert tables == {"Node": "NODE", **{t: "REL" for t in schema.REL_TYPES}}
        ca = reader.query("CALL table_info('CAN_ACCESS') RETURN *").rows
        assert [(r[1], r[2]) for r in ca] == [
            (p.name, _engine_type(p)) for p in schema.REL_BY_TYPE["CAN_ACCESS"].properties
        ]


def test_unknown_account_names_accounts_with_graphs(built: LadybugStore) -> None:
    with pytest.raises(NotFoundError, match="no security graph has been built for account "
                       "'prod'; accounts with a graph: test"):  # fmt: skip
        built.query("prod", COUNT)
    with pytest.raises(StratusecError, match="invalid account name"):
        built.query("../etc", COUNT)


# --- read-only enforcement --------------------------------------------------------------


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    p = tmp_path / "secret.csv"
    p.write_text("uid,kind\nsecret-uid,secret-kind\n")
    return p


def refused_statements(tmp_path: Path, secret: Path) -> list[tuple[str, str]]:
    out = tmp_path / "exported"
    other = tmp_path / "other.lbdb"
    return [
        ("CREATE (:Node {uid: 'evil', kind: 'x'})", "CREATE"),
        ("MERGE (n:Node {uid: 'evil'})", "MERGE"),
        ("MATCH (n:Node) SET n.name = 'pwned'", "SET"),
        ("MATCH (n:Node) REMOVE n.name", "REMOVE"),
        ("MATCH ()-[r:MEMBER_OF]->() DELETE r", "DELETE"),
        ("MATCH (n:Node) DETACH DELETE n", "DETACH"),
        (f"COPY Node FROM '{secret}' (header=true)", "COPY"),
        (f"LOAD FROM '{secret}' (header=true) RETURN *", "LOAD"),
        (f"LOAD WITH HEADERS (uid STRING, kind STRING) FROM '{secret}' RETURN *", "LOAD"),
        ("CHECKPOINT", "CHECKPOINT"),
        ("INSTALL json", "INSTALL"),
        ("LOAD EXTENSION json", "LOAD"),
        (f"ATTACH '{other}' AS other (dbtype lbug)", "ATTACH"),
        ("DETACH other", "DETACH"),
        (f"EXPORT DATABASE '{out}'", "EXPORT"),
        (f"IMPORT DATABASE '{out}'", "IMPORT"),
        ("CALL timeout=0", "CALL"),
        ("CALL threads=64", "CALL"),
        ("DROP TABLE MEMBER_OF", "DROP"),
        ("ALTER TABLE Node ADD evil STRING", "ALTER"),
        ("CREATE NODE TABLE Evil(id STRING, PRIMARY KEY (id))", "CREATE"),
        ("BEGIN TRANSACTION", "BEGIN"),
        ("COMMIT", "COMMIT"),
        ("MATCH (n:Node) RETURN count(*); CREATE (:Node {uid: 'evil', kind: 'x'})", ";"),
        ("MATCH (n:Node) RETURN n.uid; MATCH (n:Node) DETACH DELETE n", ";"),
        ("MATCH (n:Node) /* */ CREATE (m:Node {uid: 'evil', kind: 'x'})", "CREATE"),
        ("MATCH (n:Node) RETURN n //\rCREATE (m:Node {uid: 'evil', kind: 'x'})", "CREATE"),
        ("RETURN 'a\\' CREATE (m:Node {uid: \\'evil\\'}) //'", "CREATE"),
        ("UNWIND [1] AS x CREATE (:Node {uid: 'evil', kind: 'x'})", "CREATE"),
        ("UNWIND range(1, 1000000000) AS x RETURN sum(x)", "range"),
    ]


def test_writes_and_escapes_are_refused_and_change_nothing(
    built: LadybugStore, tmp_path: Path, secret_file: Path, stratusec_home: Path
) -> None:
    home_before = tree_state(stratusec_home)
    tmp_before = tree_state(tmp_path)
    counts_before = built.counts(ACCOUNT)
    for cypher, keyword in refused_statements(tmp_path, secret_file):
        with pytest.raises(ReadOnlyViolation) as exc:
            built.query(ACCOUNT, cypher)
        assert exc.value.keyword is not None, cypher
        assert exc.value.keyword.upper() == keyword.upper(), cypher
        assert "secret" not in str(exc.value).replace(str(secret_file), "")
    assert built.counts(ACCOUNT) == counts_before
    assert built.query(ACCOUNT, "MATCH (n:Node {uid: 'evil'}) RETURN n").rows == []
    assert tree_state(stratusec_home) == home_before  # no file created, changed or removed
    assert tree_state(tmp_path) == tmp_before  # no export, no attached database
    # a fresh store (a new process) still opens the graph read-only without trouble
    fresh = LadybugStore()
    try:
        assert fresh.counts(ACCOUNT) == counts_before
    finally:
        fresh.close()


def test_comments_and_strings_do_not_hide_or_fake_keywords(built: LadybugStore) -> None:
    n = len(sample_nodes())
    assert built.query(ACCOUNT, "MATCH (n:Node) RETURN count(*) // CREATE (m)").rows == [[n]]
    assert built.query(ACCOUNT, "MATCH (n:Node) /* DETACH DELETE n */ RETURN count(*)").rows == [
        [n]
    ]
    assert built.query(ACCOUNT, "RETURN 'CREATE' AS s").rows == [["CREATE"]]
    assert built.query(ACCOUNT, 'RETURN "x; DROP TABLE Node" AS s').rows == [["x; DROP TABLE Node"]]
    assert built.query(ACCOUNT, "RETURN 'it\\'s' AS s").rows == [["it's"]]
    assert built.query(ACCOUNT, "MATCH (n:Node) RETURN count(*) AS `create`;").rows == [[n]]
    assert built.query(ACCOUNT, "CALL show_tables() RETURN count(*)").rows == [
        [1 + len(schema.REL_TYPES)]
    ]


def test_read_only_handle_refuses_writes_without_the_allowlist(built: LadybugStore) -> None:
    """The second wall: even if the allowlist were bypassed, the handle refuses writes."""
    before = built.counts(ACCOUNT)
    with built.snapshot(ACCOUNT) as reader:
        for cypher in [
            "CREATE (:Node {uid: 'evil', kind: 'x'})",
            "MERGE (n:Node {uid: 'evil'})",
            "MATCH (n:Node) SET n.name = 'pwned'",
            "MATCH (n:Node) DETACH DELETE n",
            "MATCH ()-[r]->() DELETE r",
            "DROP TABLE MEMBER_OF",
            "CREATE NODE TABLE Evil(id STRING, PRIMARY KEY (id))",
            "MATCH (n:Node) RETURN count(*); CREATE (:Node {uid: 'evil', kind: 'x'})",
        ]:
            with pytest.raises(ReadOnlyViolation, match="read-only"):
                reader._execute_unchecked(cypher)
    assert built.counts(ACCOUNT) == before


def test_read_only_handle_alone_would_read_any_file(built: LadybugStore, secret_file: Path) -> None:
    """Why the allowlist exists: the read-only handle lets LOAD FROM read any file."""
    with built.snapshot(ACCOUNT) as reader:
        r = reader._execute_unchecked(f"LOAD FROM '{secret_file}' (header=true) RETURN *")
    assert r.rows == [["secret-uid", "secret-kind"]]
    with pytest.raises(ReadOnlyViolation):
        built.query(ACCOUNT, f"LOAD FROM '{secret_file}' (header=true) RETURN *")


def test_checkpoint_on_a_read_only_handle_breaks_the_build(stratusec_home: Path) -> None:
    """Why CHECKPOINT is refused: on a read-only handle it leaves sidecar files behind."""
    s = LadybugStore()
    try:
        s.replace("scratch", *chain_graph(3))
        d = s.account_dir("scratch")
        before = sorted(p.name for p in d.iterdir())
        with s.snapshot("scratch") as reader, pytest.raises(GraphQueryError):
            reader._execute_unchecked("CHECKPOINT")
        after = sorted(p.name for p in d.iterdir())
        assert set(after) - set(before), "expected CHECKPOINT to leave sidecar files"
    finally:
        s.close()


# --- limits, timeouts, errors -----------------------------------------------------------


def test_row_cap_and_truncation(store: LadybugStore) -> None:
    store.replace(ACCOUNT, *chain_graph(50))
    r = store.query(ACCOUNT, "MATCH (n:Node) RETURN n.uid", limit=10)
    assert len(r.rows) == 10 and r.truncated and r.limit == 10
    assert r.message and "truncated to the first 10 rows" in r.message
    r = store.query(ACCOUNT, "MATCH (n:Node) RETURN n.uid", limit=50)
    assert len(r.rows) == 50 and not r.truncated and r.message is None
    r = store.query(ACCOUNT, "MATCH (n:Node) RETURN n.uid")
    assert len(r.rows) == 50 and not r.truncated and r.limit == 1000
    with pytest.raises(StratusecError, match="limit must be between"):
        store.query(ACCOUNT, "MATCH (n) RETURN n", limit=0)


def test_huge_result_is_capped_quickly(store: LadybugStore) -> None:
    store.replace(ACCOUNT, *chain_graph(3000))
    r = store.query(ACCOUNT, "MATCH (a:Node), (b:Node) RETURN a.uid, b.uid", limit=5)
    assert len(r.rows) == 5 and r.truncated


def test_runaway_query_times_out(store: LadybugStore) -> None:
    store.replace(ACCOUNT, *chain_graph(3000))
    cypher = (
        "MATCH (a:Node), (b:Node), (c:Node) WHERE a.uid + b.uid + c.uid = 'nothing' RETURN count(*)"
    )
    with pytest.raises(GraphTimeoutError) as exc:
        store.query(ACCOUNT, cypher, timeout_ms=300)
    assert "time limit of 300 ms" in str(exc.value)
    assert "bound variable-length paths" in str(exc.value)
    # the store still answers afterwards
    assert store.query(ACCOUNT, COUNT).rows == [[3000]]


@pytest.mark.parametrize(
    ("cypher", "fragment"),
    [
        ("MATCH (n:Node RETURN n", "Parser exception"),
        ("MATCH (n:Node) RETURN n.uid ORDER BY", "Parser exception"),
        ("MATCH (n:Nope) RETURN n", "Nope"),
        ("MATCH (n:Node) RETURN n.nope", "nope"),
    ],
)
def test_malformed_cypher_gives_the_parser_message(
    built: LadybugStore, cypher: str, fragment: str
) -> None:
    with pytest.raises(GraphQueryError) as exc:
        built.query(ACCOUNT, cypher)
    assert str(exc.value).startswith("invalid graph query: ")
    assert fragment in str(exc.value)


def test_bad_parameters(built: LadybugStore) -> None:
    with pytest.raises(StratusecError, match="invalid parameter name"):
        built.query(ACCOUNT, "RETURN $x", {"x y": 1})
    assert built.query(ACCOUNT, "RETURN $x AS x", {"x": [1, 2]}).rows == [[[1, 2]]]


# --- atomic rebuilds --------------------------------------------------------------------


def test_reader_keeps_its_build_across_rebuilds(store: LadybugStore) -> None:
    store.replace(ACCOUNT, *chain_graph(10, "old"))
    reader = store.snapshot(ACCOUNT)
    old_build = reader.build_id
    store.replace(ACCOUNT, *chain_graph(20, "new"))
    assert reader.query(COUNT).rows == [[10]]  # the pinned reader sees the old graph
    assert store.query(ACCOUNT, COUNT).rows == [[20]]  # new readers see the new one
    # a third build: the pinned build is neither current nor previous, but held
    store.replace(ACCOUNT, *chain_graph(30, "newer"))
    d = store.account_dir(ACCOUNT)
    assert (d / f"{old_build}.lbdb").exists()
    assert reader.query("MATCH (n:Node) RETURN min(n.uid)").rows == [["old0"]]
    reader.close()
    info = store.replace(ACCOUNT, *chain_graph(40, "newest"))
    builds = sorted(p.name for p in d.glob("*.lbdb"))
    assert len(builds) == 2 and f"{info.build_id}.lbdb" in builds  # current + previous
    assert not (d / f"{old_build}.lbdb").exists()
    assert not list(d.glob(".tmp-*"))


def test_concurrent_readers_never_see_a_partial_graph(stratusec_home: Path) -> None:
    sizes = [500, 1500, 800, 2500, 1200]
    expected = {(n, n - 1) for n in sizes}
    writer = LadybugStore()
    writer.replace(ACCOUNT, *chain_graph(sizes[0]))
    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read_loop(shared: bool) -> None:
        # the writer's own store (shared handle cache), or another "process"'s store
        reader_store = writer if shared else LadybugStore()
        try:
            while not stop.is_set():
                [[nodes, edges]] = reader_store.query(ACCOUNT, PAIR).rows
                seen.append((nodes, edges))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            if not shared:
                reader_store.close()

    threads = [threading.Thread(target=read_loop, args=(shared,)) for shared in (True, False)]
    for t in threads:
        t.start()
    try:
        for n in sizes[1:]:
            writer.replace(ACCOUNT, *chain_graph(n))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        writer.close()
    assert not errors, errors
    assert seen and set(seen) <= expected
    assert len(set(seen)) >= 2  # the readers did see rebuilds happen


READER_SCRIPT = textwrap.dedent(
    """
    import sys
    from stratusec.graph.ladybug_store import LadybugStore
    store = LadybugStore()
    reader = store.snapshot(sys.argv[1])
    print(reader.build_id, flush=True)
    sys.stdin.readline()
    print(reader.query("MATCH (n:Node) RETURN count(*)").rows[0][0], flush=True)
    reader.close()
    store.close()
    """
)


def test_reader_in_another_process_holds_its_build(
    store: LadybugStore, stratusec_home: Path
) -> None:
    store.replace(ACCOUNT, *chain_graph(7, "old"))
    env = {**os.environ, "STRATUSEC_HOME": str(paths.home())}
    proc = subprocess.Popen(
        [sys.executable, "-c", READER_SCRIPT, ACCOUNT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdin and proc.stdout
    try:
        held = proc.stdout.readline().strip()
        for n in (8, 9, 10):  # three rebuilds: the held build would normally be deleted
            store.replace(ACCOUNT, *chain_graph(n))
        d = store.account_dir(ACCOUNT)
        assert (d / f"{held}.lbdb").exists()
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "7"
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    store.replace(ACCOUNT, *chain_graph(11))
    assert not (store.account_dir(ACCOUNT) / f"{held}.lbdb").exists()


def test_read_only_open_sets_buffer_pool_and_threads(
    built: LadybugStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[dict[str, object]] = []
    real = lb.Database

    def spy(*args: object, **kwargs: object) -> lb.Database:
        seen.append(kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lb, "Database", spy)
    fresh = LadybugStore()
    try:
        fresh.query(ACCOUNT, COUNT)
        fresh.replace("other", *chain_graph(2))
    finally:
        fresh.close()
    reads = [k for k in seen if k.get("read_only")]
    builds = [k for k in seen if not k.get("read_only")]
    assert reads and builds
    for k in seen:
        assert int(k["buffer_pool_size"]) > 0  # type: ignore[call-overload]
        assert int(k["max_num_threads"]) > 0  # type: ignore[call-overload]


def test_random_token_soup_never_writes(
    built: LadybugStore, stratusec_home: Path, tmp_path: Path
) -> None:
    """Differential check: whatever the allowlist lets through, the read-only handle
    never has to refuse as a write, and nothing on disk changes."""
    import random

    pieces = [
        "MATCH (n:Node)", "RETURN n.uid", "RETURN 1", "CREATE (m:Node {uid: 'evil'})",
        "SET n.name = 'x'", "DELETE n", "DETACH DELETE n", "WITH n", "UNWIND [1] AS x",
        "'", '"', "`", "//", "/*", "*/", "\n", "\r", ";", "\\", "'CREATE'", "\"SET\"",
        "`DROP`", "CALL", "show_tables()", "LOAD FROM", "COPY Node FROM", "CHECKPOINT",
        "OPTIONAL MATCH (n)-[r]->(m)", "WHERE n.admin", "UNION", "ORDER BY n.uid", "LIMIT 1",
        "/* CREATE (x) */", "// MERGE (x)\n", "RETURN count(*)", "MERGE (q:Node {uid: 'q'})",
    ]  # fmt: skip
    rng = random.Random(1234)
    before = tree_state(stratusec_home)
    counts = built.counts(ACCOUNT)
    passed = 0
    with built.snapshot(ACCOUNT) as reader:
        for _ in range(2000):
            cypher = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 7)))
            try:
                reader.query(cypher, timeout_ms=2000)
                passed += 1
            except ReadOnlyViolation as exc:
                assert "refused by the read-only database" not in str(exc), cypher
            except (GraphQueryError, GraphTimeoutError):
                passed += 1
    assert passed > 50  # the soup does produce read queries too
    assert built.counts(ACCOUNT) == counts
    assert tree_state(stratusec_home) == before
