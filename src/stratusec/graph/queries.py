"""Every Cypher query the product runs on the security graph, per dialect.

Ladybug and Neo4j agree on plain MATCH ... RETURN but differ on paths:

- variable-length shortest paths: Ladybug ``-[r:A|B* SHORTEST 1..6]->`` binds ``r`` to a
  recursive relationship whose ``nodes(r)`` are only the nodes BETWEEN the ends; Neo4j
  uses ``p = shortestPath((a)-[:A|B*1..6]->(b))`` and ``nodes(p)`` includes both ends;
- list comprehensions: Ladybug ``list_transform(xs, x -> f(x))``, Neo4j ``[x IN xs | f(x)]``;
- relationship type: Ladybug ``label(r)``, Neo4j ``type(r)``;
- scope: a Ladybug database holds one account's graph; a Neo4j database holds all of
  them, so Neo4j queries anchor on ``{graph: $graph}`` (``render`` fills it in).

Every query here passes the read-only allowlist (tests/graph/test_queries.py checks it)
and is run through ``GraphStore.query``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stratusec.graph.readonly import Dialect
from stratusec.graph.schema import REL_BY_TYPE, REL_TYPES

# Edges along which a principal gains another principal's rights.
PRIVILEGE_RELS: tuple[str, ...] = (
    "MEMBER_OF",
    "CAN_ASSUME",
    "CAN_ESCALATE",
    "HAS_INSTANCE_PROFILE",
    "RUNS_AS",
    "USES_EXECUTION_ROLE",
)
MAX_PATH_HOPS = 10


@dataclass(frozen=True)
class GraphQuery:
    name: str
    description: str
    ladybug: str
    neo4j: str

    def text(self, dialect: Dialect) -> str:
        return self.ladybug if dialect == "ladybug" else self.neo4j

    def render(self, dialect: Dialect, account: str, **params: Any) -> tuple[str, dict[str, Any]]:
        """The statement and its parameters (Neo4j ones are scoped with ``graph``)."""
        bound = dict(params)
        if dialect == "neo4j":
            bound["graph"] = account
        return self.text(dialect), bound


def _rel_union(rels: Sequence[str]) -> str:
    for r in rels:
        if r not in REL_BY_TYPE:
            raise ValueError(f"unknown relationship type {r!r}")
    if not rels:
        raise ValueError("at least one relationship type is needed")
    return "|".join(rels)


def _hops(max_hops: int) -> int:
    if not isinstance(max_hops, int) or not 1 <= max_hops <= MAX_PATH_HOPS:
        raise ValueError(f"max_hops must be between 1 and {MAX_PATH_HOPS}")
    return max_hops


NODE_BY_UID = GraphQuery(
    "node_by_uid",
    "One node by uid. Params: uid.",
    "MATCH (n:Node {uid: $uid}) RETURN n",
    "MATCH (n:Node {graph: $graph, uid: $uid}) RETURN n",
)

COUNTS_BY_KIND = GraphQuery(
    "counts_by_kind",
    "Node count per kind.",
    "MATCH (n:Node) RETURN n.kind AS kind, count(*) AS nodes ORDER BY kind",
    "MATCH (n:Node {graph: $graph}) RETURN n.kind AS kind, count(*) AS nodes ORDER BY kind",
)

COUNTS_BY_REL = GraphQuery(
    "counts_by_rel",
    "Relationship count per type.",
    "MATCH (:Node)-[r]->(:Node) RETURN label(r) AS type, count(*) AS relationships ORDER BY type",
    "MATCH (:Node {graph: $graph})-[r]->(:Node {graph: $graph}) "
    "RETURN type(r) AS type, count(*) AS relationships ORDER BY type",
)

# Every resource is OWNED_BY its account node: a neighbourhood through that hub would be
# the whole account, so it is left out.
NEIGHBOURHOOD_RELS: tuple[str, ...] = tuple(t for t in REL_TYPES if t != "OWNED_BY")
_NB = "|".join(NEIGHBOURHOOD_RELS)

NEIGHBOURHOOD = GraphQuery(
    "neighbourhood",
    "Nodes within two hops of a node, either direction, not through the account node. "
    "Params: uid, limit.",
    f"MATCH (a:Node {{uid: $uid}})-[:{_NB}*1..2]-(b:Node) WHERE b.uid <> $uid "
    "RETURN DISTINCT b.uid AS uid, b.kind AS kind, b.name AS name "
    "ORDER BY uid LIMIT $limit",
    f"MATCH (a:Node {{graph: $graph, uid: $uid}})-[:{_NB}*1..2]-(b:Node) WHERE b.uid <> $uid "
    "RETURN DISTINCT b.uid AS uid, b.kind AS kind, b.name AS name "
    "ORDER BY uid LIMIT $limit",
)

INTERNET_EXPOSED = GraphQuery(
    "internet_exposed",
    "Resources the Internet can reach, with ports and why.",
    "MATCH (i:Node {kind: 'internet'})-[e:EXPOSED_TO]->(r:Node) "
    "RETURN r.uid AS uid, r.kind AS kind, r.name AS name, e.ports AS ports, "
    "e.reason AS reason ORDER BY uid",
    "MATCH (i:Node {graph: $graph, kind: 'internet'})-[e:EXPOSED_TO]->(r:Node {graph: $graph}) "
    "RETURN r.uid AS uid, r.kind AS kind, r.name AS name, e.ports AS ports, "
    "e.reason AS reason ORDER BY uid",
)

WHO_CAN_ACCESS = GraphQuery(
    "who_can_access",
    "Principals with derived access to a resource. Params: uid.",
    "MATCH (p:Node)-[e:CAN_ACCESS]->(r:Node {uid: $uid}) "
    "RETURN p.uid AS principal, p.kind AS kind, e.level AS level, e.actions AS actions, "
    "e.conditional AS conditional, e.reason AS reason ORDER BY principal",
    "MATCH (p:Node {graph: $graph})-[e:CAN_ACCESS]->(r:Node {graph: $graph, uid: $uid}) "
    "RETURN p.uid AS principal, p.kind AS kind, e.level AS level, e.actions AS actions, "
    "e.conditional AS conditional, e.reason AS reason ORDER BY principal",
)


def paths_to_admin(max_hops: int = 6, rels: Sequence[str] = PRIVILEGE_RELS) -> GraphQuery:
    """Shortest privilege path (one per admin target) from one principal to every node
    with ``admin = true`` within ``max_hops``. Params: uid, max_paths.

    Columns: target, kind, hops, path (node uids, start and end included), edges
    (relationship types along the path).
    """
    hops, union = _hops(max_hops), _rel_union(rels)
    ladybug = (
        f"MATCH (a:Node {{uid: $uid}})-[r:{union}* SHORTEST 1..{hops}]->(b:Node) "
        "WHERE b.admin = true AND b.uid <> a.uid "
        "RETURN b.uid AS target, b.kind AS kind, length(r) AS hops, "
        "list_concat(list_concat([a.uid], properties(nodes(r), 'uid')), [b.uid]) AS path, "
        "list_transform(rels(r), x -> label(x)) AS edges "
        "ORDER BY hops, target LIMIT $max_paths"
    )
    neo4j = (
        "MATCH (a:Node {graph: $graph, uid: $uid}), (b:Node {graph: $graph, admin: true}) "
        "WHERE b.uid <> a.uid "
        f"MATCH p = shortestPath((a)-[:{union}*1..{hops}]->(b)) "
        "RETURN b.uid AS target, b.kind AS kind, length(p) AS hops, "
        "[n IN nodes(p) | n.uid] AS path, [x IN relationships(p) | type(x)] AS edges "
        "ORDER BY hops, target LIMIT $max_paths"
    )
    return GraphQuery(
        f"paths_to_admin_{hops}",
        "Shortest privilege paths from a principal to admin nodes.",
        ladybug,
        neo4j,
    )


def paths_to_sensitive(max_hops: int = 5, rels: Sequence[str] = PRIVILEGE_RELS) -> GraphQuery:
    """From one principal: every sensitive resource it can act on, directly or through
    privilege edges (up to ``max_hops``) and then one CAN_ACCESS edge. Params: uid.

    Columns: target, kind, level, via (the principal holding the access), hops. Rows
    come unordered (Ladybug's shortest paths start at 1 hop, so the direct case is a
    UNION ALL part; callers sort).
    """
    hops, union = _hops(max_hops), _rel_union(rels)
    ladybug = (
        "MATCH (a:Node {uid: $uid})-[e:CAN_ACCESS]->(t:Node) WHERE t.sensitive = true "
        "RETURN t.uid AS target, t.kind AS kind, e.level AS level, a.uid AS via, 1 AS hops "
        "UNION ALL "
        f"MATCH (a:Node {{uid: $uid}})-[r:{union}* SHORTEST 1..{hops}]->(m:Node)"
        "-[e:CAN_ACCESS]->(t:Node) WHERE t.sensitive = true "
        "RETURN t.uid AS target, t.kind AS kind, e.level AS level, m.uid AS via, "
        "length(r) + 1 AS hops"
    )
    neo4j = (
        f"MATCH (a:Node {{graph: $graph, uid: $uid}})-[r:{union}*0..{hops}]->(m:Node)"
        "-[e:CAN_ACCESS]->(t:Node {sensitive: true}) "
        "WITH t, e, m, min(size(r)) + 1 AS hops "
        "RETURN t.uid AS target, t.kind AS kind, e.level AS level, m.uid AS via, hops"
    )
    return GraphQuery(
        f"paths_to_sensitive_{hops}",
        "Sensitive resources a principal can reach.",
        ladybug,
        neo4j,
    )


PATHS_TO_ADMIN = paths_to_admin()
PATHS_TO_SENSITIVE = paths_to_sensitive()

ALL: tuple[GraphQuery, ...] = (
    NODE_BY_UID,
    COUNTS_BY_KIND,
    COUNTS_BY_REL,
    NEIGHBOURHOOD,
    INTERNET_EXPOSED,
    WHO_CAN_ACCESS,
    PATHS_TO_ADMIN,
    PATHS_TO_SENSITIVE,
)


# Edges an attacker follows from an entry (the Internet, a principal) to a target: reach a
# resource, run as its role, assume or escalate to another principal, act on data.
ATTACK_RELS: tuple[str, ...] = (
    "EXPOSED_TO",
    "RUNS_AS",
    "USES_TASK_DEFINITION",
    "HAS_INSTANCE_PROFILE",
    "MEMBER_OF",
    "CAN_ASSUME",
    "CAN_ESCALATE",
    "CAN_ACCESS",
)

# The path query returns node uids only: Ladybug 0.22 can mislabel relationships inside a
# filtered recursive pattern (label() and properties of rels(r) came back from the wrong
# table), so hop details come from a plain one-hop query (ATTACK_HOPS) instead.
_ATTACK_RETURN_LADYBUG = (
    "RETURN a.uid AS entry, b.uid AS target, length(r) AS hops, "
    "list_concat(list_concat([a.uid], properties(nodes(r), 'uid')), [b.uid]) AS path "
    "LIMIT $max_paths"
)
_ATTACK_RETURN_NEO4J = (
    "RETURN a.uid AS entry, b.uid AS target, length(p) AS hops, "
    "[n IN nodes(p) | n.uid] AS path LIMIT $max_paths"
)

# Which nodes a path may start from and end at; parameters: $entries (uids, or empty for
# "the Internet and every principal that is not already admin"), $targets (uids, or
# empty), $to ("admin", "sensitive", "any").
_ENTRY = (
    "((size($entries) = 0 AND (a.kind = 'internet' OR "
    "(a.kind IN ['aws_iam_user', 'aws_iam_role'] AND a.admin = false))) "
    "OR list_contains($entries, a.uid))"
)
_TARGET = (
    "b.uid <> a.uid AND ((size($targets) > 0 AND list_contains($targets, b.uid)) OR "
    "(size($targets) = 0 AND (($to = 'admin' AND b.admin = true) OR "
    "($to = 'sensitive' AND b.sensitive = true) OR "
    "($to = 'any' AND (b.admin = true OR b.sensitive = true)))))"
)


def attack_paths(max_hops: int = 6) -> GraphQuery:
    """Every distinct acyclic path (up to $max_paths) from an entry to a target along
    ATTACK_RELS, as node uids (hop details: ``attack_hops``)."""
    hops, union = _hops(max_hops), _rel_union(ATTACK_RELS)
    ladybug = (
        f"MATCH (a:Node)-[r:{union}* ACYCLIC 1..{hops}]->(b:Node) "
        f"WHERE {_ENTRY} AND {_TARGET} " + _ATTACK_RETURN_LADYBUG
    )
    entry4 = _ENTRY.replace("list_contains($entries, a.uid)", "a.uid IN $entries")
    target4 = _TARGET.replace("list_contains($targets, b.uid)", "b.uid IN $targets")
    neo4j = (
        f"MATCH p = (a:Node {{graph: $graph}})-[:{union}*1..{hops}]->(b:Node {{graph: $graph}}) "
        f"WHERE {entry4} AND {target4} "
        "AND all(n IN nodes(p) WHERE size([m IN nodes(p) WHERE m = n]) = 1) " + _ATTACK_RETURN_NEO4J
    )
    return GraphQuery(
        f"attack_paths_{hops}", "Attack paths from entries to targets.", ladybug, neo4j
    )


NODES_BY_UIDS = GraphQuery(
    "nodes_by_uids",
    "Name, kind and flags of the given nodes. Params: uids.",
    "MATCH (n:Node) WHERE list_contains($uids, n.uid) "
    "RETURN n.uid AS uid, n.name AS name, n.kind AS kind, n.admin AS admin, "
    "n.sensitive AS sensitive",
    "MATCH (n:Node {graph: $graph}) WHERE n.uid IN $uids "
    "RETURN n.uid AS uid, n.name AS name, n.kind AS kind, n.admin AS admin, "
    "n.sensitive AS sensitive",
)

NODES_BY_NAME = GraphQuery(
    "nodes_by_name",
    "Nodes whose uid or name is $name (optionally of the kinds in $kinds).",
    "MATCH (n:Node) WHERE (n.uid = $name OR n.name = $name) "
    "AND (size($kinds) = 0 OR list_contains($kinds, n.kind)) "
    "RETURN n.uid AS uid, n.name AS name, n.kind AS kind",
    "MATCH (n:Node {graph: $graph}) WHERE (n.uid = $name OR n.name = $name) "
    "AND (size($kinds) = 0 OR n.kind IN $kinds) "
    "RETURN n.uid AS uid, n.name AS name, n.kind AS kind",
)


def attack_hops() -> GraphQuery:
    """The ATTACK_RELS edges between given node pairs. Params: pairs ([from, to] lists)."""
    union = _rel_union(ATTACK_RELS)
    cols = (
        "a.uid AS source, b.uid AS target, {label} AS type, r.reason AS reason, "
        "r.conditional AS conditional, r.level AS level, r.path_id AS path_id, "
        "r.ports AS ports, r.props AS props"
    )
    return GraphQuery(
        "attack_hops",
        "Hop details for attack paths.",
        f"UNWIND $pairs AS p MATCH (a:Node {{uid: p[1]}})-[r:{union}]->(b:Node {{uid: p[2]}}) "
        "RETURN " + cols.format(label="label(r)"),
        f"UNWIND $pairs AS p MATCH (a:Node {{graph: $graph, uid: p[0]}})-[r:{union}]->"
        "(b:Node {graph: $graph, uid: p[1]}) RETURN " + cols.format(label="type(r)"),
    )


ADMIN_NODES = GraphQuery(
    "admin_nodes",
    "Admin-equivalent nodes.",
    "MATCH (n:Node) WHERE n.admin = true RETURN n.uid AS uid",
    "MATCH (n:Node {graph: $graph, admin: true}) RETURN n.uid AS uid",
)
