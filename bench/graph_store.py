"""Benchmark: the embedded graph store (Ladybug) at 100,000 nodes and ~500,000 edges.

Synthesizes an AWS-shaped graph (users, groups, roles, policies, buckets, instances,
network, keys ...) with edges spread over every relationship table, then times:

- ``replace``: CSV staging + bulk COPY into a new database file + pointer switch;
- a 2-hop neighbourhood from one node (product query ``NEIGHBOURHOOD``), 50 runs from
  different nodes; target p50 < 20 ms;
- shortest privilege paths up to 6 hops from one principal to every admin node
  (product query ``PATHS_TO_ADMIN``), 50 runs from different users; target p50 < 200 ms.

Queries go through ``LadybugStore.query``: allowlist, read-only handle, row cap. Prints
JSON (and writes bench/results/graph_store.json).

    .venv/bin/python bench/graph_store.py [--nodes 100000] [--edges 500000] [--runs 50]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import emit

from stratusec.graph import queries as Q
from stratusec.graph.ladybug_store import LadybugStore
from stratusec.graph.schema import REL_TYPES

ACCOUNT_ID = "123456789012"

# kind -> share of nodes
KINDS: dict[str, float] = {
    "aws_iam_user": 0.05,
    "aws_iam_group": 0.005,
    "aws_iam_role": 0.10,
    "aws_iam_policy": 0.05,
    "aws_iam_instance_profile": 0.02,
    "aws_s3_bucket": 0.12,
    "aws_instance": 0.15,
    "aws_ebs_volume": 0.10,
    "aws_ebs_snapshot": 0.05,
    "aws_network_interface": 0.10,
    "aws_security_group": 0.05,
    "aws_subnet": 0.02,
    "aws_vpc": 0.005,
    "aws_route_table": 0.01,
    "aws_kms_key": 0.02,
    "aws_kms_alias": 0.02,
    "aws_lambda_function": 0.04,
    "aws_sns_topic": 0.01,
    "aws_sqs_queue": 0.01,
    "aws_ecs_task_definition": 0.01,
    "aws_ecs_service": 0.01,
    "aws_ecs_cluster": 0.002,
    "aws_cloudtrail": 0.001,
    "aws_cloudwatch_log_group": 0.017,
}

# rel type -> (share of edges, source kinds, target kinds)
RELS: dict[str, tuple[float, tuple[str, ...], tuple[str, ...]]] = {
    "MEMBER_OF": (0.03, ("aws_iam_user",), ("aws_iam_group",)),
    "HAS_POLICY": (0.08, ("aws_iam_user", "aws_iam_group", "aws_iam_role"), ("aws_iam_policy",)),
    "HAS_PERMISSIONS_BOUNDARY": (0.01, ("aws_iam_user", "aws_iam_role"), ("aws_iam_policy",)),
    "HAS_INSTANCE_PROFILE": (0.02, ("aws_instance",), ("aws_iam_instance_profile",)),
    "RUNS_AS": (0.02, ("aws_iam_instance_profile", "aws_lambda_function"), ("aws_iam_role",)),
    "USES_EXECUTION_ROLE": (0.005, ("aws_ecs_task_definition",), ("aws_iam_role",)),
    "USES_TASK_DEFINITION": (0.005, ("aws_ecs_service",), ("aws_ecs_task_definition",)),
    "IN_CLUSTER": (0.005, ("aws_ecs_service",), ("aws_ecs_cluster",)),
    "IN_VPC": (0.01, ("aws_subnet", "aws_security_group"), ("aws_vpc",)),
    "IN_SUBNET": (0.06, ("aws_instance", "aws_network_interface", "aws_lambda_function"),
                  ("aws_subnet",)),
    "HAS_SECURITY_GROUP": (0.06, ("aws_instance", "aws_network_interface"),
                           ("aws_security_group",)),
    "ATTACHED_TO": (0.04, ("aws_ebs_volume",), ("aws_instance",)),
    "ROUTES_TO": (0.005, ("aws_route_table",), ("aws_subnet",)),
    "ASSOCIATED_WITH": (0.005, ("aws_route_table",), ("aws_subnet",)),
    "SNAPSHOT_OF": (0.02, ("aws_ebs_snapshot",), ("aws_ebs_volume",)),
    "USES_KEY": (0.04, ("aws_s3_bucket", "aws_ebs_volume", "aws_sqs_queue"), ("aws_kms_key",)),
    "LOGS_TO": (0.005, ("aws_cloudtrail", "aws_lambda_function"), ("aws_cloudwatch_log_group",)),
    "OWNED_BY": (0.10, tuple(KINDS), ("aws_account",)),
    "HAS_NETWORK_INTERFACE": (0.04, ("aws_instance",), ("aws_network_interface",)),
    "ALIAS_OF": (0.01, ("aws_kms_alias",), ("aws_kms_key",)),
    "SUBSCRIBED_TO": (0.01, ("aws_sqs_queue", "aws_lambda_function"), ("aws_sns_topic",)),
    "DELIVERS_TO": (0.01, ("aws_sns_topic",), ("aws_sqs_queue", "aws_lambda_function")),
    "CAN_ASSUME": (0.04, ("aws_iam_user", "aws_iam_group", "aws_iam_role"), ("aws_iam_role",)),
    "CAN_ACCESS": (0.35, ("aws_iam_user", "aws_iam_role"),
                   ("aws_s3_bucket", "aws_sqs_queue", "aws_kms_key", "aws_lambda_function")),
    "EXPOSED_TO": (0.005, ("aws_instance", "aws_s3_bucket"), ("internet",)),
    "CAN_ESCALATE": (0.005, ("aws_iam_user", "aws_iam_role"), ("aws_iam_role",)),
}  # fmt: skip


def synthesize(
    n_nodes: int, n_edges: int, seed: int = 7
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, list[str]]]:
    rng = random.Random(seed)
    nodes: list[dict[str, Any]] = [
        {"uid": "internet", "kind": "internet", "name": "Internet"},
        {"uid": f"arn:aws:iam::{ACCOUNT_ID}:root", "kind": "aws_account", "name": ACCOUNT_ID},
    ]
    by_kind: dict[str, list[str]] = {"internet": ["internet"], "aws_account": [nodes[1]["uid"]]}
    total_share = sum(KINDS.values())
    remaining = n_nodes - len(nodes)
    for kind, share in KINDS.items():
        count = max(1, int(remaining * share / total_share))
        service = kind.split("_")[1]
        uids = by_kind.setdefault(kind, [])
        for i in range(count):
            uid = f"arn:aws:{service}:us-east-1:{ACCOUNT_ID}:{kind}/{i}"
            uids.append(uid)
            nodes.append(
                {
                    "uid": uid,
                    "kind": kind,
                    "name": f"{kind}-{i}",
                    "account": ACCOUNT_ID,
                    "region": "us-east-1",
                    "service": service,
                    "admin": kind == "aws_iam_role" and rng.random() < 0.02,
                    "sensitive": kind == "aws_s3_bucket" and rng.random() < 0.1,
                    "tags": {"env": rng.choice(["prod", "dev", "test"])},
                    "props": {"i": i},
                }
            )
    while len(nodes) < n_nodes:  # rounding: top up with buckets
        i = len(by_kind["aws_s3_bucket"])
        uid = f"arn:aws:s3:::bucket-{i}"
        by_kind["aws_s3_bucket"].append(uid)
        nodes.append({"uid": uid, "kind": "aws_s3_bucket", "name": f"bucket-{i}"})
    edges: list[dict[str, Any]] = []
    shares = sum(s for s, _, _ in RELS.values())
    for rel, (share, sources, targets) in RELS.items():
        src_pool = [u for k in sources for u in by_kind[k]]
        dst_pool = [u for k in targets for u in by_kind[k]]
        for _ in range(int(n_edges * share / shares)):
            e: dict[str, Any] = {
                "type": rel,
                "from": rng.choice(src_pool),
                "to": rng.choice(dst_pool),
            }
            if rel == "CAN_ACCESS":
                e["actions"] = rng.sample(["s3:GetObject", "s3:PutObject", "kms:Decrypt",
                                           "sqs:SendMessage", "lambda:InvokeFunction"], 2)  # fmt: skip
                e["level"] = rng.choice(["read", "write", "admin"])
                e["reason"] = "synthetic"
            elif rel == "CAN_ASSUME":
                e["reason"] = "trust policy"
                e["conditional"] = rng.random() < 0.2
                e["condition_keys"] = ["aws:SourceIp"] if e["conditional"] else []
            elif rel == "CAN_ESCALATE":
                e["method"] = "iam:PassRole"
                e["path_id"] = "iam-001"
            elif rel == "EXPOSED_TO":
                e["ports"] = "443"
            edges.append(e)
    return nodes, edges, by_kind


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return round(s[min(len(s) - 1, round(q * (len(s) - 1)))], 3)


def stats(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": pct(samples, 0.50),
        "p99_ms": pct(samples, 0.99),
        "mean_ms": round(statistics.fmean(samples), 3),
        "max_ms": round(max(samples), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=100_000)
    ap.add_argument("--edges", type=int, default=500_000)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument(
        "--dense",
        action="store_true",
        help="4x the privilege edges (MEMBER_OF, CAN_ASSUME, CAN_ESCALATE): a harder path query",
    )
    args = ap.parse_args()
    if args.dense:
        for rel in ("MEMBER_OF", "CAN_ASSUME", "CAN_ESCALATE"):
            share, src, dst = RELS[rel]
            RELS[rel] = (share * 4, src, dst)

    t0 = time.perf_counter()
    nodes, edges, by_kind = synthesize(args.nodes, args.edges)
    synth_s = time.perf_counter() - t0
    rng = random.Random(11)
    with tempfile.TemporaryDirectory(prefix="stratusec-graph-bench-") as tmp:
        store = LadybugStore(Path(tmp))
        try:
            info = store.replace("bench", nodes, edges)
            rebuild = store.replace("bench", nodes, edges)  # second build: switch + cleanup
            db_mb = Path(rebuild.location).stat().st_size / 1e6

            text2, _ = Q.NEIGHBOURHOOD.render("ladybug", "bench")
            starts = [rng.choice(nodes)["uid"] for _ in range(args.runs)]
            store.query("bench", text2, {"uid": starts[0], "limit": 1000})  # open + warm
            hop2: list[float] = []
            hop2_rows: list[int] = []
            for uid in starts:
                r = store.query("bench", text2, {"uid": uid, "limit": 1000})
                hop2.append(r.elapsed_ms)
                hop2_rows.append(len(r.rows))

            textp, _ = Q.PATHS_TO_ADMIN.render("ladybug", "bench")
            users = [rng.choice(by_kind["aws_iam_user"]) for _ in range(args.runs)]
            paths: list[float] = []
            path_rows: list[int] = []
            wall: list[float] = []
            for uid in users:
                t = time.perf_counter()
                r = store.query("bench", textp, {"uid": uid, "max_paths": 100})
                wall.append((time.perf_counter() - t) * 1000)
                paths.append(r.elapsed_ms)
                path_rows.append(len(r.rows))
            counts = store.counts("bench")
        finally:
            store.close()

    result = {
        "benchmark": "graph_store",
        "backend": "ladybug",
        "dense": args.dense,
        "cpus": os.cpu_count(),
        "nodes": info.nodes,
        "edges": sum(info.edges.values()),
        "edges_by_type": {t: info.edges.get(t, 0) for t in REL_TYPES},
        "synthesize_s": round(synth_s, 2),
        "replace_s": round(info.seconds, 2),
        "replace_phases_s": {k: round(v, 2) for k, v in info.phases.items()},
        "replace_again_s": round(rebuild.seconds, 2),
        "database_mb": round(db_mb, 1),
        "two_hop_neighbourhood": {
            **stats(hop2),
            "target_p50_ms": 20,
            "runs": len(hop2),
            "rows_median": statistics.median(hop2_rows),
        },
        "paths_to_admin_6_hops": {
            **stats(paths),
            "wall_p50_ms": pct(wall, 0.5),
            "target_p50_ms": 200,
            "runs": len(paths),
            "rows_median": statistics.median(path_rows),
            "admin_nodes": sum(1 for n in nodes if n.get("admin")),
        },
        "counts_total_nodes": counts["total_nodes"],
        "counts_total_relationships": counts["total_relationships"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        "query": {"neighbourhood": text2, "paths_to_admin": textp},
    }
    emit(result)


if __name__ == "__main__":
    main()
