"""Attack paths: every distinct acyclic path from an entry (the Internet, a principal) to
a target (admin-equivalent principals, sensitive data, or a named resource) in the stored
security graph, ranked by exploitability x impact, each hop with its reason.

The search is one Cypher query (``queries.attack_paths``) run read-only on the graph
store; this module resolves names, renders hops and ranks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from stratusec.errors import NotFoundError, StratusecError
from stratusec.graph import queries
from stratusec.graph.store import GraphStore

PRINCIPAL_KINDS = ["aws_iam_user", "aws_iam_role"]
LEVEL_IMPACT = {"admin": 1.0, "write": 0.9, "read": 0.7}
_TYPE_RANK = {"CAN_ESCALATE": 3, "CAN_ASSUME": 2, "CAN_ACCESS": 1}


@dataclass(frozen=True)
class Hop:
    source: str
    source_name: str
    target: str
    target_name: str
    type: str
    reason: str
    conditional: bool = False
    level: str | None = None
    path_id: str | None = None
    ports: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.source,
            "from_name": self.source_name,
            "to": self.target,
            "to_name": self.target_name,
            "type": self.type,
            "reason": self.reason,
            "conditional": self.conditional,
            "level": self.level,
            "path_id": self.path_id,
            "ports": self.ports,
        }


@dataclass
class AttackPath:
    entry: str
    entry_name: str
    target: str
    target_name: str
    target_kind: str
    impact: str  # admin | sensitive data (level) | resource
    hops: list[Hop] = field(default_factory=list)
    score: float = 0.0

    @property
    def conditional(self) -> bool:
        return any(h.conditional for h in self.hops)

    def chain(self) -> str:
        return " -> ".join([self.entry_name, *(h.target_name for h in self.hops)])

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "entry": self.entry,
            "entry_name": self.entry_name,
            "target": self.target,
            "target_name": self.target_name,
            "target_kind": self.target_kind,
            "impact": self.impact,
            "conditional": self.conditional,
            "chain": self.chain(),
            "hops": [h.as_dict() for h in self.hops],
        }


def _rows(
    store: GraphStore, account: str, q: queries.GraphQuery, **params: Any
) -> list[dict[str, Any]]:
    text, bound = q.render(store.backend, account, **params)  # type: ignore[arg-type]
    res = store.query(account, text, bound, limit=100_000)
    return [dict(zip(res.columns, row, strict=True)) for row in res.rows]


def resolve(store: GraphStore, account: str, name: str, kinds: Sequence[str] = ()) -> list[str]:
    """Node uids for a uid or name (``internet`` is the Internet node)."""
    if name.lower() == "internet":
        return ["internet"]
    rows = _rows(store, account, queries.NODES_BY_NAME, name=name, kinds=list(kinds))
    if not rows:
        what = "principal" if kinds else "resource"
        raise NotFoundError(
            f"no {what} named {name!r} in the graph of {account}; give an ARN or a name "
            "from 'stratusec graph query \"MATCH (n:Node) RETURN n.name, n.kind LIMIT 50\"'"
        )
    return [r["uid"] for r in rows]


def _hop_reason(etype: str, src: str, dst: str, reason: str | None, props: Any = None) -> str:
    if reason:
        return reason
    via = ""
    if isinstance(props, str):
        try:
            props = json.loads(props)
        except ValueError:
            props = None
    if isinstance(props, dict) and props.get("via"):
        # e.g. ".../task-definition/data-pipeline:1" -> "task-definition data-pipeline:1"
        kind_name = str(props["via"]).split(":", 5)[-1]
        via = " through " + kind_name.replace("/", " ", 1)
    return {
        "RUNS_AS": f"{src} runs as {dst}{via}",
        "USES_TASK_DEFINITION": f"service {src} runs task definition {dst}",
        "HAS_INSTANCE_PROFILE": f"instance {src} has instance profile {dst}",
        "MEMBER_OF": f"{src} is a member of group {dst}",
    }.get(etype, f"{src} {etype} {dst}")


def _score(entry_kind: str, hops: list[Hop], impact: float) -> float:
    exploit = 1.0 if entry_kind == "internet" else 0.7
    for h in hops:
        if h.conditional:
            exploit *= 0.5
    exploit /= 1 + 0.1 * (len(hops) - 1)
    return round(100 * exploit * impact, 1)


def find_paths(
    store: GraphStore,
    account: str,
    *,
    entries: Sequence[str] = (),
    to: str = "any",
    targets: Sequence[str] = (),
    max_hops: int = 6,
    limit: int = 200,
    all_paths: bool = False,
) -> list[AttackPath]:
    """Ranked attack paths. Without ``all_paths`` only the best path per (entry, target)
    pair is kept."""
    if to not in ("admin", "sensitive", "any"):
        raise StratusecError(f"unknown target {to!r}; valid: admin, sensitive, any, or a resource")
    if not 1 <= max_hops <= queries.MAX_PATH_HOPS:
        raise StratusecError(f"--max-hops must be between 1 and {queries.MAX_PATH_HOPS}")
    rows = _rows(
        store,
        account,
        queries.attack_paths(max_hops),
        entries=list(entries),
        targets=list(targets),
        to=to,
        max_paths=max(limit * 5, 500),
    )
    uids = sorted({u for r in rows for u in r["path"]})
    info = (
        {n["uid"]: n for n in _rows(store, account, queries.NODES_BY_UIDS, uids=uids)}
        if uids
        else {}
    )
    pairs = sorted({(r["path"][i], r["path"][i + 1]) for r in rows for i in range(r["hops"])})
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    if pairs:
        for e in _rows(store, account, queries.attack_hops(), pairs=[list(x) for x in pairs]):
            key = (e["source"], e["target"])
            best = edges.get(key)
            # Several edges between one pair: prefer a certain one, then the strongest kind.
            rank = (not e["conditional"], _TYPE_RANK.get(e["type"], 0))
            if best is None or rank > (not best["conditional"], _TYPE_RANK.get(best["type"], 0)):
                edges[key] = e

    def name(uid: str) -> str:
        n = info.get(uid)
        return str(n["name"]) if n and n.get("name") else uid

    paths: list[AttackPath] = []
    for r in rows:
        path = r["path"]
        found = [edges.get((path[i], path[i + 1])) for i in range(len(path) - 1)]
        hop_edges = [e for e in found if e is not None]
        if len(hop_edges) != len(found):
            continue
        # Data grants no further rights: CAN_ACCESS only as the last hop.
        if any(e["type"] == "CAN_ACCESS" for e in hop_edges[:-1]):
            continue
        hops = [
            Hop(
                source=e["source"],
                source_name=name(e["source"]),
                target=e["target"],
                target_name=name(e["target"]),
                type=e["type"],
                reason=_hop_reason(
                    e["type"], name(e["source"]), name(e["target"]), e["reason"], e.get("props")
                ),
                conditional=bool(e["conditional"]),
                level=e["level"],
                path_id=e["path_id"],
                ports=e["ports"],
            )
            for e in hop_edges
        ]
        tnode = info.get(r["target"], {})
        if tnode.get("admin"):
            impact, weight = "admin", 1.0
        elif hops and hops[-1].type == "CAN_ACCESS":
            level = hops[-1].level or "read"
            impact, weight = f"sensitive data ({level})", LEVEL_IMPACT.get(level, 0.7)
        elif tnode.get("sensitive") and hops and hops[-1].type == "EXPOSED_TO":
            impact, weight = "sensitive data (exposed)", 0.9
        else:
            impact, weight = "resource", 0.6
        entry_kind = "internet" if r["entry"] == "internet" else "principal"
        paths.append(
            AttackPath(
                entry=r["entry"],
                entry_name=name(r["entry"]),
                target=r["target"],
                target_name=name(r["target"]),
                target_kind=str(tnode.get("kind") or ""),
                impact=impact,
                hops=hops,
                score=_score(entry_kind, hops, weight),
            )
        )
    paths.sort(key=lambda p: (-p.score, len(p.hops), p.chain()))
    if not all_paths:
        per_pair: dict[tuple[str, str], AttackPath] = {}
        for p in paths:
            per_pair.setdefault((p.entry, p.target), p)
        paths = list(per_pair.values())
    return paths[:limit]


class GraphView:
    """What graph-aware checks see: attack paths in one account's stored graph."""

    def __init__(self, store: GraphStore, account: str) -> None:
        self.store = store
        self.account = account

    def attack_paths(
        self,
        *,
        entries: Sequence[str] = (),
        to: str = "any",
        max_hops: int = 6,
        limit: int = 10_000,
    ) -> list[AttackPath]:
        return find_paths(
            self.store, self.account, entries=entries, to=to, max_hops=max_hops, limit=limit
        )

    def admin_uids(self) -> set[str]:
        return {r["uid"] for r in _rows(self.store, self.account, queries.ADMIN_NODES)}
