"""Benchmark: list and filter findings among 100,000 stored ones (SQLite, and PostgreSQL
when STRATUSEC_BENCH_PG_URL or STRATUSEC_TEST_PG_URL is set).

Inserts synthetic findings straight into a fresh store, then times the queries the CLI
and MCP make (a page of 100, most severe first). Prints JSON with p50/p95 ms per query.
Target (issue #4): each under 100 ms.

    .venv/bin/python bench/findings_query.py [--findings 100000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import tempfile
import time
import uuid
from typing import Any

from _common import emit
from sqlalchemy import insert

from stratusec.checks.model import SEVERITY_RANK
from stratusec.checks.registry import all_checks
from stratusec.findings.query import FindingFilter, query_findings
from stratusec.store.db import Store, open_store
from stratusec.store.models import FindingRow

SERVICES = ["s3", "ec2", "iam", "rds", "lambda", "kms", "cloudtrail"]


def populate(store: Store, n: int) -> str:
    rng = random.Random(7)
    checks = [c.meta for c in all_checks()]
    now = dt.datetime.now(dt.UTC)
    latest_scan = store.start_scan(
        account_name="acct-0", account_id="111111111111", regions=["us-east-1"], services=SERVICES
    )
    store.finish_scan(latest_scan, status="succeeded")
    batch: list[dict[str, Any]] = []
    for i in range(n):
        meta = checks[i % len(checks)]
        sev = meta.severity
        acct = f"acct-{i % 5}"
        first = now - dt.timedelta(hours=rng.randint(0, 24 * 60))
        batch.append(
            {
                "id": uuid.uuid4().hex,
                "account_name": acct,
                "account_id": "111111111111",
                "check_id": meta.id,
                "title": meta.title,
                "resource_uid": f"arn:aws:{meta.service}:us-east-1:111111111111:r/{i}",
                "resource_type": meta.resource_types[0],
                "resource_name": f"r-{i}",
                "resource_tags": {"team": f"t{i % 13}"},
                "region": rng.choice(["us-east-1", "eu-west-1"]),
                "service": meta.service,
                "severity": sev.value,
                "severity_rank": SEVERITY_RANK[sev],
                "status": rng.choices(["open", "resolved", "suppressed"], [7, 2, 1])[0],
                "result": "FAIL",
                "message": f"resource r-{i} fails {meta.id}",
                "evidence": {"i": i},
                "compliance": [],
                "first_seen": first,
                "last_seen": now,
                "resolved_at": None,
                "first_scan_id": latest_scan if i % 50 == 0 else "old",
                "last_scan_id": latest_scan,
                "suppression_id": None,
                "resolution": None,
            }
        )
        if len(batch) == 5000:
            with store.engine.begin() as conn:
                conn.execute(insert(FindingRow), batch)
            batch = []
    if batch:
        with store.engine.begin() as conn:
            conn.execute(insert(FindingRow), batch)
    return latest_scan


def time_queries(store: Store, repeat: int) -> dict[str, Any]:
    queries = {
        "open_page_account": FindingFilter(account="acct-1"),
        "open_all_accounts": FindingFilter(),
        "severity_high_critical": FindingFilter(account="acct-2", severity=["high", "critical"]),
        "service_s3": FindingFilter(account="acct-3", service=["s3"]),
        "control_cis_1_10": FindingFilter(account="acct-0", control="cis-aws-3.0:1.10"),
        "since_7d": FindingFilter(account="acct-4", since="7d"),
        "new_in_latest_scan": FindingFilter(account="acct-0", new=True),
        "status_all_page_3": FindingFilter(account="acct-1", status="all", limit=100),
    }
    out = {}
    for name, flt in queries.items():
        times = []
        total = 0
        for _ in range(repeat):
            t0 = time.perf_counter()
            page = query_findings(store, flt)
            times.append((time.perf_counter() - t0) * 1000)
            total = page.total
        times.sort()
        out[name] = {
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "matched": total,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--findings", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    backends: dict[str, str] = {"sqlite": f"sqlite:///{tempfile.mkdtemp()}/bench.db"}
    pg = os.environ.get("STRATUSEC_BENCH_PG_URL") or os.environ.get("STRATUSEC_TEST_PG_URL")
    if pg:
        import psycopg

        name = f"stratusec_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        backends["postgresql"] = pg.rsplit("/", 1)[0] + "/" + name
    result: dict[str, Any] = {
        "benchmark": "findings_query",
        "findings": args.findings,
        "target_ms": 100,
        "backends": {},
    }
    for backend, url in backends.items():
        store = open_store(url)
        t0 = time.perf_counter()
        populate(store, args.findings)
        load_s = time.perf_counter() - t0
        if backend == "postgresql":
            with store.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE findings")
        result["backends"][backend] = {
            "load_seconds": round(load_s, 1),
            "queries": time_queries(store, args.repeat),
        }
        store.close()
    if pg:
        with psycopg.connect(pg, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    emit(result)


if __name__ == "__main__":
    main()
