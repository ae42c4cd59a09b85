"""The statement allowlist on its own (no database): what passes, what is refused, and
that the refusal names the keyword."""

from __future__ import annotations

import pytest

from stratusec.graph import queries
from stratusec.graph.readonly import ReadOnlyViolation, check_read_only, tokenize

ALLOWED = [
    "MATCH (n) RETURN n",
    "MATCH (n:Node {uid: $uid}) RETURN n.name AS name",
    "OPTIONAL MATCH (n:Node)-[r:CAN_ACCESS]->(b) WHERE r.level = 'admin' RETURN n, b",
    "MATCH (n) WITH n ORDER BY n.uid SKIP 1 LIMIT 2 RETURN n.uid",
    "UNWIND [1, 2, 3] AS x RETURN x",
    "RETURN 1 AS a UNION RETURN 2 AS a",
    "RETURN 1 AS a UNION ALL RETURN 1 AS a",
    "MATCH (n) RETURN n // CREATE (m)",
    "MATCH (n) RETURN n /* DELETE n */",
    "RETURN 'CREATE' AS s",
    'RETURN "DETACH DELETE; DROP TABLE Node" AS s',
    "RETURN 'it\\'s; CREATE' AS s",
    "MATCH (n) WHERE n.name CONTAINS 'LOAD FROM' RETURN n",
    "MATCH (n) RETURN n.uid AS `create`",
    "MATCH (`set`:Node) RETURN `set`.uid",
    "MATCH (n) RETURN n.set, n.load, n.create",  # property names are not keywords
    "MATCH (n) RETURN n.uid;",
    "MATCH (n) RETURN n.uid; // trailing comment",
    "MATCH p = (a:Node)-[r:MEMBER_OF|CAN_ASSUME* SHORTEST 1..6]->(b:Node) RETURN length(r)",
    "MATCH (a)-[r:MEMBER_OF*1..3 (e, n | WHERE n.admin = false)]->(b) RETURN b",
    "RETURN list_transform([1, 2], x -> x + 1) AS l",
    "MATCH (n) RETURN CASE WHEN n.admin THEN 'a' ELSE 'b' END AS c",
    "MATCH (n) WHERE EXISTS { MATCH (n)-[:MEMBER_OF]->() } RETURN count(*)",
    "MATCH (n) RETURN COUNT { MATCH (n)-->() } AS degree",
    "MATCH (n) WHERE n.uid STARTS WITH 'arn:' AND NOT n.admin RETURN DISTINCT n.kind",
    "CALL show_tables() RETURN *",
    "CALL table_info('Node') RETURN *",
    "RETURN range(1, 10) AS r",
    "MATCH (n) RETURN {uid: n.uid, k: n.kind} AS m",
]

NEO4J_ALLOWED = [
    "MATCH (n:Node {graph: $graph}) RETURN [x IN labels(n) WHERE x <> 'Node' | x] AS l",
    "MATCH p = shortestPath((a:Node)-[:CAN_ASSUME*1..6]->(b:Node)) RETURN nodes(p)",
    "CALL db.labels() YIELD label RETURN label",
    "RETURN reduce(acc = 0, x IN [1, 2] | acc + x) AS s",
    "RETURN date.truncate('day', datetime()) AS d",
    "MATCH (n) RETURN n {.uid, .kind, extra: 1} AS m",
    "MATCH (n:Node) WHERE any(t IN n.actions WHERE t = 's3:*') RETURN n",
]

REFUSED = [
    ("CREATE (:Node {uid: 'x'})", "CREATE"),
    ("MERGE (n:Node {uid: 'x'})", "MERGE"),
    ("MATCH (n) SET n.name = 'x'", "SET"),
    ("MATCH (n) DELETE n", "DELETE"),
    ("MATCH (n) DETACH DELETE n", "DETACH"),
    ("MATCH (n) REMOVE n.name", "REMOVE"),
    ("DROP TABLE Node", "DROP"),
    ("ALTER TABLE Node ADD x INT64", "ALTER"),
    ("COPY Node FROM '/tmp/x.csv'", "COPY"),
    ("LOAD FROM '/etc/passwd' RETURN *", "LOAD"),
    ("LOAD WITH HEADERS (a STRING) FROM '/etc/passwd' RETURN *", "LOAD"),
    ("LOAD EXTENSION json", "LOAD"),
    ("INSTALL json", "INSTALL"),
    ("UNINSTALL json", "UNINSTALL"),
    ("ATTACH '/tmp/other.lbdb' AS other (dbtype lbug)", "ATTACH"),
    ("DETACH other", "DETACH"),
    ("USE other", "USE"),
    ("EXPORT DATABASE '/tmp/out'", "EXPORT"),
    ("IMPORT DATABASE '/tmp/out'", "IMPORT"),
    ("CHECKPOINT", "CHECKPOINT"),
    ("BEGIN TRANSACTION", "BEGIN"),
    ("COMMIT", "COMMIT"),
    ("ROLLBACK", "ROLLBACK"),
    ("EXPLAIN MATCH (n) RETURN n", "EXPLAIN"),
    ("PROFILE MATCH (n) RETURN n", "PROFILE"),
    ("CALL timeout=0", "CALL"),
    ("CALL threads=64", "CALL"),
    ("CALL current_setting('timeout') RETURN *", "CALL"),
    ("CALL { MATCH (n) RETURN n } RETURN 1", "CALL"),
    ("MATCH (n) CALL apoc.periodic.iterate('a', 'b', {}) YIELD batches RETURN 1", "CALL"),
    ("MATCH (n) RETURN n; CREATE (m:Node {uid: 'y'})", ";"),
    ("RETURN 1; RETURN 2", ";"),
    ("RETURN 1;;", ";"),
    ("MATCH (n) /* */ CREATE (m)", "CREATE"),
    ("MATCH (n) RETURN n /* CREATE */ CREATE (m)", "CREATE"),
    ("MATCH (n) RETURN n //\rCREATE (m)", "CREATE"),
    ("MATCH (n) RETURN n // x\u2028CREATE (m)", "CREATE"),
    ("MATCH (n) RETURN n /* /* */ CREATE (m) */", "CREATE"),
    ("UNWIND [1] AS x CREATE (:Node {uid: 'x'})", "CREATE"),
    ("MATCH (n) FOREACH (x IN [1] | SET n.a = x)", "FOREACH"),
    ("MATCH (n) RETURN n UNION CREATE (m) RETURN m", "CREATE"),
    ("MATCH (n:CREATE) RETURN n", "CREATE"),
    ("RETURN 1.CREATE (m)", "CREATE"),
    ("MATCH (n) RETURN n . CREATE", "CREATE"),
    ("match (n) detach delete n", "DETACH"),
    ("MaTcH (n) SeT n.a = 1", "SET"),
    ("MATCH (n) RETURN n FROBNICATE", "FROBNICATE"),
    ("MATCH (n) RETURN m", "m"),
    ("SHOW DATABASES", "SHOW"),
    ("PROJECT GRAPH g (Node, MEMBER_OF)", "PROJECT"),
    ("RETURN nextval('seq')", "nextval"),
    ("UNWIND range(1, 1000000000) AS x RETURN sum(x)", "range"),
    ("UNWIND range(1, $n) AS x RETURN sum(x)", "range"),
    ("UNWIND range(0, 10 * 1000000) AS x RETURN sum(x)", "range"),
    # a misread escape: without backslash escapes the CREATE is code
    ("RETURN 'a\\' CREATE (m) //'", "CREATE"),
    ("RETURN 'unterminated", None),
    ("MATCH (n) /* unterminated", None),
    ("", None),
    ("   // only a comment", None),
]


@pytest.mark.parametrize("cypher", ALLOWED)
def test_allowed(cypher: str) -> None:
    check_read_only(cypher, "ladybug")


@pytest.mark.parametrize("cypher", NEO4J_ALLOWED)
def test_neo4j_allowed(cypher: str) -> None:
    check_read_only(cypher, "neo4j")


@pytest.mark.parametrize(("cypher", "keyword"), REFUSED)
@pytest.mark.parametrize("dialect", ["ladybug", "neo4j"])
def test_refused_names_keyword(cypher: str, keyword: str | None, dialect: str) -> None:
    with pytest.raises(ReadOnlyViolation) as exc:
        check_read_only(cypher, dialect)  # type: ignore[arg-type]
    if keyword is not None:
        assert exc.value.keyword is not None
        assert exc.value.keyword.upper() == keyword.upper()
        assert keyword.upper() in str(exc.value).upper()


def test_neo4j_only_procedures_and_namespaces() -> None:
    with pytest.raises(ReadOnlyViolation, match=r"CALL apoc\.load\.json"):
        check_read_only(
            "CALL apoc.load.json('file:///etc/passwd') YIELD value RETURN value", "neo4j"
        )
    with pytest.raises(ReadOnlyViolation, match=r"apoc\.text\.join\(\)"):
        check_read_only("RETURN apoc.text.join(['a'], ',') AS s", "neo4j")
    with pytest.raises(ReadOnlyViolation, match=r"CALL db\.labels"):
        check_read_only("CALL db.labels() YIELD label RETURN label", "ladybug")
    with pytest.raises(ReadOnlyViolation, match="CALL show_tables"):
        check_read_only("CALL show_tables() RETURN *", "neo4j")


def test_trailing_semicolon_is_stripped() -> None:
    assert check_read_only("MATCH (n) RETURN n; // done") == "MATCH (n) RETURN n"
    assert check_read_only("RETURN ';' AS s") == "RETURN ';' AS s"


def test_messages_are_clear() -> None:
    with pytest.raises(ReadOnlyViolation) as exc:
        check_read_only("MATCH (n) DETACH DELETE n")
    assert "DETACH DELETE is not allowed" in str(exc.value)
    assert "read-only" in str(exc.value)
    with pytest.raises(ReadOnlyViolation) as exc:
        check_read_only("LOAD FROM 'x.csv' RETURN *")
    assert str(exc.value).startswith("LOAD FROM is not allowed")
    with pytest.raises(ReadOnlyViolation, match="only one statement"):
        check_read_only("RETURN 1; RETURN 2")


def test_tokenizer_strips_comments_and_keeps_literals_apart() -> None:
    toks = tokenize("MATCH (n) // CREATE\nRETURN 'a // b', `x``y` /* c */ , $p")
    kinds = [(t.kind, t.text) for t in toks]
    assert ("word", "CREATE") not in kinds
    assert ("string", "'a // b'") in kinds
    assert ("qident", "`x``y`") in kinds
    assert ("param", "$p") in kinds


@pytest.mark.parametrize("q", queries.ALL, ids=lambda q: q.name)
@pytest.mark.parametrize("dialect", ["ladybug", "neo4j"])
def test_every_product_query_passes_the_allowlist(q: queries.GraphQuery, dialect: str) -> None:
    check_read_only(q.text(dialect), dialect)  # type: ignore[arg-type]
