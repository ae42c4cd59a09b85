"""Benchmark: build the security graph (``graph.builder.build_graph``) of a synthetic
account of 100,000 resources, IAM evaluation included, then ``replace`` it into the
embedded Ladybug store. Target: the build under 30 s on a 2-core machine.

The inventory is the real demo account's (every resource type and config shape the
collectors produce) replicated with unique uids and names, as bench/checks_eval.py
does, but each copy is wired to itself: a copy's relationships point at the same copy
of their targets (its ECS service uses its task definition, which runs as its role ...).
IAM principals (users, groups, roles, policies, instance profiles, keys) are copied into
the first ``--principal-copies`` copies only (copy 0 is the demo itself, so that config
references such as a role's managed policy ARNs resolve); later copies' compute runs as
the roles of copy ``k % principal-copies``. Every copy of an admin role can reach every data resource
of every copy, so the number of principal copies sets the number of CAN_ACCESS edges
(the default gives about 500,000 edges in all).

Prints JSON (and writes bench/results/graph_build.json): resources, nodes, edges by
type, build seconds and phases, evaluator decisions made (and the time spent in the
evaluator, so decisions per second), answers reused from equivalent (principal,
resource) pairs, and the Ladybug ``replace`` time. ``--no-cache`` evaluates every pair
afresh (raw evaluator throughput; use a smaller ``--resources``).

    .venv/bin/python bench/graph_build.py [--resources 100000] [--principal-copies 7]
        [--inventory /tmp/demo-inventory.json]   # reuse a saved demo inventory
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from _common import STRATUSEC, emit

from stratusec.checks import Inventory
from stratusec.graph.builder import build_graph
from stratusec.graph.ladybug_store import LadybugStore
from stratusec.inventory.models import Relationship, Resource

PRINCIPAL_TYPES = {
    "aws_iam_user",
    "aws_iam_group",
    "aws_iam_role",
    "aws_iam_policy",
    "aws_iam_instance_profile",
    "aws_iam_access_key",
    "aws_iam_credential_report_entry",
    "aws_iam_virtual_mfa_device",
}
PER_ACCOUNT = {
    "aws_cloudtrail",
    "aws_guardduty_detector",
    "aws_config_configuration_recorder",
    "aws_config_delivery_channel",
    "aws_accessanalyzer_analyzer",
}
SINGLETON_SUFFIXES = (
    "_region",
    "_summary",
    "_password_policy",
    "_public_access_block",
    "_by_default",
)


def demo_inventory(cache: Path | None) -> list[Resource]:
    if cache is not None and cache.exists():
        return [Resource(**d) for d in json.loads(cache.read_text())]
    home = tempfile.mkdtemp(prefix="stratusec-bench-")
    env = {**os.environ, "STRATUSEC_HOME": home}
    subprocess.run([STRATUSEC, "demo", "--no-progress"], env=env, check=False, capture_output=True)
    os.environ["STRATUSEC_HOME"] = home
    from stratusec.operations.context import Context

    ctx = Context.load()
    scan = ctx.store.list_scans()[0]
    resources = list(ctx.store.iter_resources(scan.id, include_raw=False))
    ctx.close()
    if cache is not None:
        cache.write_text(json.dumps([r.model_dump(mode="json") for r in resources]))
    return resources


def replicate(templates: list[Resource], n: int, principal_copies: int) -> list[Resource]:
    singletons = {
        r.type for r in templates if r.type in PER_ACCOUNT or r.type.endswith(SINGLETON_SUFFIXES)
    }
    fixed = [r for r in templates if r.type in singletons]
    pool = [r for r in templates if r.type not in singletons]
    copied = {r.uid: r.type for r in pool}

    def copy_uid(uid: str, k: int) -> str:
        kind = copied.get(uid)
        if kind is None:
            return uid
        if kind in PRINCIPAL_TYPES:
            k %= principal_copies
        return uid if k == 0 else f"{uid}-copy{k}"

    out = list(fixed)
    k = 0
    while len(out) < n:
        for t in pool:
            if len(out) >= n:
                break
            if t.type in PRINCIPAL_TYPES and k >= principal_copies:
                continue
            if k == 0:  # copy 0 is the demo itself: config references resolve to it
                out.append(t)
                continue
            rels = [
                Relationship(
                    type=rel.type, target=copy_uid(rel.target, k), properties=rel.properties
                )
                for rel in t.relationships
            ]
            out.append(
                t.model_copy(
                    update={
                        "uid": f"{t.uid}-copy{k}",
                        "name": f"{t.name}-{k}",
                        "relationships": rels,
                    }
                )
            )
        k += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resources", type=int, default=100_000)
    ap.add_argument("--principal-copies", type=int, default=7)
    ap.add_argument(
        "--no-cache",
        action="store_true",
        help="evaluate every (principal, resource) pair afresh (raw evaluator throughput)",
    )
    ap.add_argument("--inventory", type=Path, default=None, help="demo inventory cache (JSON)")
    args = ap.parse_args()
    resources = replicate(demo_inventory(args.inventory), args.resources, args.principal_copies)
    inv = Inventory(resources)
    t0 = time.perf_counter()
    data = build_graph(inv, cache=not args.no_cache)
    build_s = time.perf_counter() - t0
    ev = data.stats["evaluator"]
    with tempfile.TemporaryDirectory(prefix="stratusec-graph-build-") as tmp:
        store = LadybugStore(Path(tmp))
        t1 = time.perf_counter()
        info = store.replace("bench", data.nodes, data.edges)
        replace_s = time.perf_counter() - t1
        store.close()
    emit(
        {
            "benchmark": "graph_build",
            "resources": len(inv),
            "principals": sum(1 for r in resources if r.type in ("aws_iam_user", "aws_iam_role")),
            "principal_copies": args.principal_copies,
            "nodes": len(data.nodes),
            "edges": data.stats["edges"],
            "edge_total": len(data.edges),
            "skipped_edges": sum(data.stats["skipped_edges"].values()),
            "build_seconds": round(build_s, 3),
            "phases": data.stats["phases"],
            "cache": not args.no_cache,
            "evaluator_decisions": ev["decisions"],
            "evaluator_seconds": ev["seconds"],
            "decisions_per_s": ev["decisions_per_s"],
            "answers_reused": ev["cache_hits"],
            "principal_resource_pairs": ev["principal_resource_pairs"],
            "replace_seconds": round(replace_s, 3),
            "replace_phases": info.phases,
            "loaded_edges": sum(info.edges.values()),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "target_build_seconds": 30,
        }
    )


if __name__ == "__main__":
    main()
