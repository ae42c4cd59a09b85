"""Benchmark: 10,000 resources x the 50 bundled guardrail policies (target: under 5 s).

The resources are the real demo account's inventory (every config shape the collectors
produce) replicated with unique uids and names until there are N resources that some
policy judges. Records an account has once stay single: per-account and per-region
settings (password policy, account summary, public access block, EBS default
encryption, trails, recorders, detectors) and AWS managed IAM policies (the same
documents in every account, some 100 KB: ReadOnlyAccess, SecurityAudit).

Every resource is evaluated on its own (one engine call per resource, all of its type's
policies at once); the policies are compiled once, before the clock starts (the compile
time is reported separately). Prints JSON, with the process's CPU seconds and the load
average beside the wall time (the build machine is shared).

    .venv/bin/python bench/guardrails.py [--resources 10000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections import Counter

from _common import STRATUSEC, emit

from stratusec.guardrails import GuardrailEngine, bundled_policies
from stratusec.inventory.models import Resource

SINGLE_TYPES = {
    "aws_cloudtrail",
    "aws_guardduty_detector",
    "aws_config_configuration_recorder",
    "aws_iam_account_password_policy",
    "aws_iam_account_summary",
    "aws_s3_account_public_access_block",
    "aws_ebs_encryption_by_default",
}


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
    single = [r for r in templates if r.type in SINGLE_TYPES or r.config.get("aws_managed") is True]
    pool = [r for r in templates if r not in single]
    out = list(single)
    i = 0
    while len(out) < n:
        t = pool[i % len(pool)]
        k = i // len(pool)
        out.append(t.model_copy(update={"uid": f"{t.uid}-copy{k}", "name": f"{t.name}-{k}"}))
        i += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--resources", type=int, default=10_000)
    args = ap.parse_args()
    policies = bundled_policies()
    engine = GuardrailEngine(policies)
    judged = [r for r in demo_inventory() if engine.applicable(r.type)]
    resources = replicate(judged, args.resources)

    t0 = time.perf_counter()
    engine.compile_all()
    compile_s = time.perf_counter() - t0

    t0, c0 = time.perf_counter(), time.process_time()
    decisions = engine.evaluate_all(resources)
    evaluate_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0

    statuses = Counter(d.status for d in decisions)
    emit(
        {
            "benchmark": "guardrails",
            "resources": len(resources),
            "resource_types": len({r.type for r in resources}),
            "policies": len(policies),
            "bundles": engine.stats.bundles,
            "decisions": len(decisions),
            "policies_per_resource": round(len(decisions) / len(resources), 2),
            "deny": statuses["deny"],
            "pass": statuses["pass"],
            "error": statuses["error"],
            "engine_calls": engine.stats.calls,
            "fallbacks": engine.stats.fallbacks,
            "compile_seconds": round(compile_s, 3),
            "evaluate_seconds": round(evaluate_s, 3),
            # CPU time of this process: the wall time above moves with other load
            "evaluate_cpu_seconds": round(cpu_s, 3),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "per_resource_ms": round(evaluate_s / len(resources) * 1000, 4),
            "target_seconds": 5,
        }
    )


if __name__ == "__main__":
    main()
