"""The product queries (stratusec.graph.queries) on the sample graph, and the schema."""

from __future__ import annotations

from typing import Any

import pytest

from stratusec.graph import queries as Q
from stratusec.graph import schema
from stratusec.graph.ladybug_store import LadybugStore
from tests.graph.conftest import (
    ACCOUNT,
    ADMIN_ROLE,
    ADMINS,
    ALICE,
    APP_ROLE,
    BOB,
    BUCKET,
    DEVS,
    INSTANCE,
    PROFILE,
    sample_edges,
    sample_nodes,
)


def run(store: LadybugStore, q: Q.GraphQuery, **params: object) -> list[list[Any]]:
    text, bound = q.render("ladybug", ACCOUNT, **params)
    return store.query(ACCOUNT, text, bound).rows


def test_paths_to_admin(built: LadybugStore) -> None:
    rows = run(built, Q.PATHS_TO_ADMIN, uid=BOB, max_paths=10)
    assert rows == [
        [ADMIN_ROLE, "aws_iam_role", 3, [BOB, DEVS, APP_ROLE, ADMIN_ROLE],
         ["MEMBER_OF", "CAN_ASSUME", "CAN_ESCALATE"]],
    ]  # fmt: skip
    rows = run(built, Q.PATHS_TO_ADMIN, uid=ALICE, max_paths=10)
    assert rows == [[ADMIN_ROLE, "aws_iam_role", 2, [ALICE, ADMINS, ADMIN_ROLE],
                     ["MEMBER_OF", "CAN_ASSUME"]]]  # fmt: skip
    # from a compute resource through its instance profile
    rows = run(built, Q.PATHS_TO_ADMIN, uid=INSTANCE, max_paths=10)
    assert rows[0][3] == [INSTANCE, PROFILE, APP_ROLE, ADMIN_ROLE]
    # bounded hops
    short = Q.paths_to_admin(max_hops=2)
    assert run(built, short, uid=BOB, max_paths=10) == []


def test_paths_to_sensitive(built: LadybugStore) -> None:
    rows = sorted(run(built, Q.PATHS_TO_SENSITIVE, uid=BOB))
    assert rows == [[BUCKET, "aws_s3_bucket", "read", APP_ROLE, 3]]
    rows = sorted(run(built, Q.PATHS_TO_SENSITIVE, uid=APP_ROLE))
    assert rows == [[BUCKET, "aws_s3_bucket", "read", APP_ROLE, 1]]


def test_neighbourhood_exposure_access_counts(built: LadybugStore) -> None:
    rows = run(built, Q.NEIGHBOURHOOD, uid=APP_ROLE, limit=100)
    uids = {r[0] for r in rows}
    assert {DEVS, BUCKET, PROFILE, ADMIN_ROLE, BOB, INSTANCE} <= uids and APP_ROLE not in uids
    assert run(built, Q.INTERNET_EXPOSED) == [
        [INSTANCE, "aws_instance", "web", "22,443", "sg-1 allows 0.0.0.0/0"]
    ]
    assert run(built, Q.WHO_CAN_ACCESS, uid=BUCKET) == [
        [APP_ROLE, "aws_iam_role", "read", ["s3:GetObject", "s3:ListBucket"], False,
         "inline policy"]
    ]  # fmt: skip
    kinds = {k: n for k, n in run(built, Q.COUNTS_BY_KIND)}
    assert sum(kinds.values()) == len(sample_nodes())
    rels = {t: n for t, n in run(built, Q.COUNTS_BY_REL)}
    assert sum(rels.values()) == len(sample_edges())
    assert run(built, Q.NODE_BY_UID, uid=BUCKET)[0][0]["sensitive"] is True


def test_neo4j_render_scopes_by_graph() -> None:
    text, params = Q.NEIGHBOURHOOD.render("neo4j", "prod", uid="x", limit=5)
    assert "{graph: $graph, uid: $uid}" in text and params == {"uid": "x", "limit": 5,
                                                                "graph": "prod"}  # fmt: skip
    text, params = Q.NEIGHBOURHOOD.render("ladybug", "prod", uid="x", limit=5)
    assert "$graph" not in text and "graph" not in params
    assert "shortestPath(" in Q.PATHS_TO_ADMIN.neo4j and "SHORTEST 1..6" in Q.PATHS_TO_ADMIN.ladybug


def test_query_builders_validate() -> None:
    with pytest.raises(ValueError, match="max_hops"):
        Q.paths_to_admin(max_hops=0)
    with pytest.raises(ValueError, match="unknown relationship type"):
        Q.paths_to_admin(rels=["MEMBER_OF", "FOLLOWS"])


def test_describe_is_the_declared_schema(built: LadybugStore) -> None:
    d = schema.describe()
    [node] = d["labels"]
    assert node["label"] == "Node"
    assert [p["name"] for p in node["properties"]] == [
        "uid", "kind", "name", "account", "region", "service", "sensitive", "admin", "tags",
        "props",
    ]  # fmt: skip
    assert node["properties"][0]["primary_key"] is True
    types = {r["type"]: r for r in d["relationship_types"]}
    assert len(types) == 26
    assert types["CAN_ACCESS"]["category"] == "derived"
    assert {p["name"]: p["type"] for p in types["CAN_ACCESS"]["properties"]} == {
        "actions": "STRING[]", "level": "STRING", "conditional": "BOOLEAN", "reason": "STRING",
        "props": "JSON",
    }  # fmt: skip
    assert {p["name"] for p in types["CAN_ESCALATE"]["properties"]} >= {
        "method", "path_id", "reason", "conditional"}  # fmt: skip
    assert types["MEMBER_OF"]["properties"] == [
        {"name": "props", "type": "JSON", "description": schema.REL_BY_TYPE["MEMBER_OF"]
         .properties[0].description}
    ]  # fmt: skip
    assert "counts" not in d
    d = schema.describe(built, ACCOUNT)
    assert d["counts"]["labels"] == {"Node": len(sample_nodes())}
    assert d["account"] == ACCOUNT


def test_docs_describe_every_label_relationship_and_property() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "graph.md").read_text()
    assert f"`{schema.NODE_LABEL}`" in doc
    for p in schema.NODE.properties:
        assert f"| `{p.name}`" in doc, p.name
    for r in schema.RELS:
        assert f"| `{r.type}` |" in doc, r.type
        for p in r.properties:
            assert f"`{p.name}` {p.type}" in doc or p.name == "props", (r.type, p.name)
