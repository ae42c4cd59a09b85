"""Benchmark: a remediation plan (blast radius included) for demo findings.

Scans the demo account, then times `remediate(mode=plan)` for findings that have a fixer
(each plan is stored, nothing changes in the account). Target (issue #8): under 300 ms.

    .venv/bin/python bench/remediation_plan.py [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from _common import emit
from _demo_home import scanned_demo_home


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    with scanned_demo_home() as env:
        os.environ["STRATUSEC_HOME"] = env["STRATUSEC_HOME"]
        from stratusec.findings.query import FindingFilter
        from stratusec.operations.context import Context
        from stratusec.operations.findings import get_findings
        from stratusec.remediation.engine import RemediationError, make_plan
        from stratusec.remediation.registry import fixer_for

        ctx = Context.load()
        findings = get_findings(ctx, FindingFilter(limit=1000, evidence=False)).findings
        fixable = [f for f in findings if fixer_for(f["check_id"])]
        per_check: dict[str, list[float]] = {}
        samples: list[float] = []
        skipped: dict[str, str] = {}
        for f in fixable:
            for _ in range(args.repeat):
                t = time.perf_counter()
                try:
                    make_plan(ctx, f["id"], created_by="bench")
                except RemediationError as exc:  # e.g. a fixer that needs an option
                    skipped[f["check_id"]] = str(exc)[:120]
                    break
                ms = (time.perf_counter() - t) * 1000
                samples.append(ms)
                per_check.setdefault(f["check_id"], []).append(ms)
        ctx.close()
    samples.sort()
    emit(
        {
            "benchmark": "remediation_plan",
            "findings_with_a_fixer": len(fixable),
            "plans": len(samples),
            "p50_ms": round(statistics.median(samples), 1) if samples else None,
            "p95_ms": round(samples[int(len(samples) * 0.95)], 1) if samples else None,
            "max_ms": round(samples[-1], 1) if samples else None,
            "p50_ms_by_check": {
                k: round(statistics.median(v), 1) for k, v in sorted(per_check.items())
            },
            "needs_options": skipped,
            "target_ms": 300,
            "python": sys.version.split()[0],
        }
    )


if __name__ == "__main__":
    main()
