"""Benchmark: scan the embedded demo account (both regions, every service).

Prints JSON: wall time and peak memory of the scanning process, resource and API counts.
Target (issue #3): under 30 s and under 500 MB.

    .venv/bin/python bench/demo_scan.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from _common import STRATUSEC, emit, timed_child


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="stratusec-bench-")
    env = {**os.environ, "STRATUSEC_HOME": home}
    subprocess.run([STRATUSEC, "demo", "up"], env=env, check=True, capture_output=True)
    try:
        walls, peaks, last = [], [], {}
        for _ in range(args.runs):
            wall, peak, out, err, rc = timed_child(
                [STRATUSEC, "scan", "--account", "acme-prod", "--output", "json", "--no-progress"],
                env,
            )
            if rc not in (0, 1):
                sys.exit(f"scan failed ({rc}): {err}")
            walls.append(wall)
            peaks.append(peak)
            last = json.loads(out)["scans"][0]
    finally:
        subprocess.run([STRATUSEC, "demo", "down"], env=env, check=False, capture_output=True)
    emit(
        {
            "benchmark": "demo_scan",
            "runs": args.runs,
            "wall_seconds_median": round(statistics.median(walls), 2),
            "wall_seconds_max": round(max(walls), 2),
            "scan_seconds_reported": last["duration_seconds"],
            "peak_rss_mb": max(peaks),
            "status": last["status"],
            "regions": last["regions"],
            "resources": last["resource_count"],
            "resources_by_service": last["counts_by_service"],
            "api_calls": last["api_calls"],
            "api_errors": len(last["errors"]),
            "targets": {"wall_seconds": 30, "peak_rss_mb": 500},
        }
    )


if __name__ == "__main__":
    main()
