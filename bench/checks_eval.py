"""Benchmark: evaluate every check over a synthetic inventory of N resources (default 50,000).

The inventory is the real demo account's inventory (every resource type and config
shape the collectors produce) replicated with unique uids and names until it holds N
resources. Prints JSON: check count, results, seconds. Target (issue #4): < 5 s for 50k.

    .venv/bin/python bench/checks_eval.py [--resources 50000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time

from _common import STRATUSEC, emit

from stratusec.checks import Inventory
from stratusec.checks.registry import all_checks
from stratusec.checks.runner import run_checks
from stratusec.inventory.models import Resource


def demo_inventory() -> list[Resource]:
    home = tempfile.mkdtemp(prefix="stratusec-bench-")
    env = {**os.environ, "STRATUSEC_HOME": home}
    subprocess.run([STRATUSEC, "demo", "--no-progress"], env=env, check=False, capture_output=True)
    os.environ["STRATUSEC_HOME"] = home
    from stratusec.operations.context import Context

    ctx = Context.load()
    scan = ctx.store.list_scans()[0]
    resources = list(ctx.store.iter_resources(scan.id, include_raw=False))
    ctx.close()
    return resources


def replicate(templates: list[Resource], n: int) -> list[Resource]:
    # Account- and region-level records, and the few trails / recorders / detectors an
    # account has, stay as they are; resources people have thousands of are copied.
    per_account = {
        "aws_cloudtrail",
        "aws_guardduty_detector",
        "aws_config_configuration_recorder",
        "aws_config_delivery_channel",
        "aws_accessanalyzer_analyzer",
    }
    singletons = {
        t
        for t in {r.type for r in templates}
        if t in per_account
        or t.endswith(
            ("_region", "_summary", "_password_policy", "_public_access_block", "_by_default")
        )
    }
    fixed = [r for r in templates if r.type in singletons]
    pool = [r for r in templates if r.type not in singletons]
    out = list(fixed)
    i = 0
    while len(out) < n:
        t = pool[i % len(pool)]
        k = i // len(pool)
        out.append(t.model_copy(update={"uid": f"{t.uid}-copy{k}", "name": f"{t.name}-{k}"}))
        i += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resources", type=int, default=50_000)
    args = ap.parse_args()
    resources = replicate(demo_inventory(), args.resources)
    t0 = time.perf_counter()
    inv = Inventory(resources)
    index_s = time.perf_counter() - t0
    checks = all_checks()
    report = run_checks(inv, checks)
    emit(
        {
            "benchmark": "checks_eval",
            "resources": len(inv),
            "resource_types": len(inv.types()),
            "checks": len(checks),
            "results": len(report.results),
            "failing": len(report.failing()),
            "check_errors": report.errors,
            "index_seconds": round(index_s, 3),
            "evaluate_seconds": round(report.seconds, 3),
            "target_seconds": 5,
        }
    )


if __name__ == "__main__":
    main()
