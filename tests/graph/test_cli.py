"""``stratusec graph query`` / ``graph schema`` through the real entry point."""

from __future__ import annotations

import json

import pytest

from stratusec.cli import app as app_mod
from stratusec.cli import graph as graph_cmd
from stratusec.errors import StratusecError
from stratusec.graph.ladybug_store import LadybugStore
from tests.cli_helpers import run_cli
from tests.graph.conftest import ACCOUNT, ALICE, BUCKET, sample_nodes


@pytest.fixture(autouse=True)
def _graph_command() -> None:
    """Mount ``graph`` on the main app if app.py does not (yet)."""
    if not any(g.name == "graph" for g in app_mod.app.registered_groups):
        app_mod.app.add_typer(graph_cmd.app, name="graph")


def test_query_table_and_json(capsys: pytest.CaptureFixture[str], built: LadybugStore) -> None:
    r = run_cli(capsys, "graph", "query", "MATCH (n:Node {uid: $uid}) RETURN n.name AS name, "
                "n.tags AS tags", "--param", f"uid={ALICE}")  # fmt: skip
    assert r.code == 0, r.err
    assert "alice" in r.out and "name" in r.out
    assert "1 rows from account test" in r.err
    r = run_cli(capsys, "graph", "query", "MATCH (n:Node) RETURN n.uid AS uid ORDER BY uid",
                "--account", ACCOUNT, "--limit", "3", "--output", "json")  # fmt: skip
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["columns"] == ["uid"] and len(data["rows"]) == 3
    assert data["truncated"] is True and "truncated to the first 3 rows" in data["message"]
    assert data["account"] == ACCOUNT and data["limit"] == 3


def test_query_params_are_typed(capsys: pytest.CaptureFixture[str], built: LadybugStore) -> None:
    r = run_cli(capsys, "graph", "query", "RETURN $i AS i, $f AS f, $b AS b, $l AS l, $s AS s, "
                "$q AS q", "-p", "i=42", "-p", "f=1.5", "-p", "b=true", "-p", 'l=["a","b"]',
                "-p", "s=hello world", "-p", 'q="42"', "-o", "json")  # fmt: skip
    assert r.code == 0, r.err
    assert json.loads(r.out)["rows"] == [[42, 1.5, True, ["a", "b"], "hello world", "42"]]


def test_parse_value() -> None:
    assert graph_cmd.parse_value("-3") == -3
    assert graph_cmd.parse_value("2e3") == 2000.0
    assert graph_cmd.parse_value("FALSE") is False
    assert graph_cmd.parse_value("nan") == "nan"
    assert graph_cmd.parse_value("arn:aws:s3:::b") == "arn:aws:s3:::b"
    assert graph_cmd.parse_value('{"a": 1}') == {"a": 1}
    with pytest.raises(StratusecError, match="not valid JSON"):
        graph_cmd.parse_value("[1, 2")
    with pytest.raises(StratusecError, match="bad --param"):
        graph_cmd.parse_params(["no-equals"])


@pytest.mark.parametrize(
    ("cypher", "message"),
    [
        ("MATCH (n:Node) DETACH DELETE n", "DETACH DELETE is not allowed"),
        ("CREATE (:Node {uid: 'x', kind: 'k'})", "CREATE is not allowed"),
        ("MATCH (n) RETURN n; MATCH (n) DELETE n", "only one statement"),
        ("MATCH (n:Node RETURN n", "invalid graph query: Parser exception"),
    ],
)
def test_refused_and_malformed_exit_2(
    capsys: pytest.CaptureFixture[str], built: LadybugStore, cypher: str, message: str
) -> None:
    r = run_cli(capsys, "graph", "query", cypher)
    assert r.code == 2
    assert message in r.err
    assert "Traceback" not in r.err + r.out
    assert built.counts(ACCOUNT)["total_nodes"] == len(sample_nodes())


def test_unknown_account(capsys: pytest.CaptureFixture[str], built: LadybugStore) -> None:
    r = run_cli(capsys, "graph", "query", "MATCH (n) RETURN n", "--account", "prod")
    assert r.code == 2
    assert "no security graph has been built for account 'prod'" in r.err
    assert "accounts with a graph: test" in r.err


def test_no_graph_yet(capsys: pytest.CaptureFixture[str], store: LadybugStore) -> None:
    r = run_cli(capsys, "graph", "query", "MATCH (n) RETURN n")
    assert r.code == 2 and "no security graph has been built yet" in r.err


def test_schema(capsys: pytest.CaptureFixture[str], built: LadybugStore) -> None:
    r = run_cli(capsys, "graph", "schema", "--output", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["account"] == ACCOUNT and data["backend"] == "ladybug"
    assert data["counts"]["labels"]["Node"] == len(sample_nodes())
    assert len(data["relationship_types"]) == 26
    r = run_cli(capsys, "graph", "schema", "--account", ACCOUNT)
    assert r.code == 0, r.err
    assert "CAN_ESCALATE" in r.out and "aws_s3_bucket" in r.out and "uid (key)" in r.out


def test_schema_without_graph(capsys: pytest.CaptureFixture[str], store: LadybugStore) -> None:
    r = run_cli(capsys, "graph", "schema", "-o", "json")
    assert r.code == 0, r.err
    assert "counts" not in json.loads(r.out)


def test_bad_output(capsys: pytest.CaptureFixture[str], built: LadybugStore) -> None:
    r = run_cli(capsys, "graph", "query", "MATCH (n) RETURN n", "-o", "xml")
    assert r.code == 2 and "unknown output 'xml'" in r.err


def test_query_values_in_table(capsys: pytest.CaptureFixture[str], built: LadybugStore) -> None:
    r = run_cli(capsys, "graph", "query", "MATCH (n:Node {uid: $u}) RETURN n", "-p", f"u={BUCKET}")
    assert r.code == 0, r.err
    assert "customer-data" in r.out and "_label" in r.out
