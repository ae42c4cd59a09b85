"""Benchmark: reap 1,000 expired PostgreSQL just-in-time grants (target: under 10 s).

Needs STRATUSEC_TEST_PG_URL (scripts/pg-test-server.sh start). Works in a scratch database
it creates and drops; the expired roles are created directly with a past VALID UNTIL and
the same privileges a real grant holds (CONNECT, USAGE on the schema, SELECT on a table).
JSON on stdout and in bench/results/access_reap.json."""

from __future__ import annotations

import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from _common import emit
from psycopg import sql

from stratusec.access.postgres import create_grant, parse_privileges, reap_expired, revoke_grant

N = int(os.environ.get("STRATUSEC_BENCH_REAP_N", "1000"))


def main() -> None:
    admin = os.environ.get("STRATUSEC_TEST_PG_URL")
    if not admin:
        sys.exit('STRATUSEC_TEST_PG_URL is not set (eval "$(scripts/pg-test-server.sh start)")')
    prefix = f"stx_b{uuid.uuid4().hex[:6]}_"
    dbname = f"stratusec_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    url = f"{admin.rsplit('/', 1)[0]}/{dbname}"
    try:
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE public.orders (id int PRIMARY KEY)")
        # One live grant that must survive the reap.
        live = create_grant(
            url,
            parse_privileges(["SELECT on public.orders"]),
            datetime.now(UTC) + timedelta(hours=1),
            prefix=prefix,
        )
        t0 = time.perf_counter()
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            for i in range(N):
                role = sql.Identifier(f"{prefix}{i:06d}")
                cur.execute(
                    sql.SQL("CREATE ROLE {} LOGIN VALID UNTIL '2000-01-01 00:00:00+00'").format(
                        role
                    )
                )
                cur.execute(
                    sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                        sql.Identifier(dbname), role
                    )
                )
                cur.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role))
                cur.execute(sql.SQL("GRANT SELECT ON TABLE public.orders TO {}").format(role))
        setup_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        reaped = reap_expired(url, prefix=prefix)
        reap_s = time.perf_counter() - t0

        with psycopg.connect(url) as conn:
            left = conn.execute(
                "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (prefix,)
            ).fetchall()
        ok = len(reaped) == N and [r for (r,) in left] == [live.role]
        revoke_grant(url, live.role, prefix=prefix)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
            )
            for (role,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s)", (prefix,)
            ).fetchall():
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))

    emit(
        {
            "benchmark": "access_reap",
            "expired_grants": N,
            "reaped": len(reaped),
            "live_grant_kept": ok,
            "setup_seconds": round(setup_s, 2),
            "reap_seconds": round(reap_s, 3),
            "roles_per_second": round(len(reaped) / reap_s) if reap_s else None,
            "target_seconds": 10,
            "pass": ok and reap_s < 10,
        }
    )
    if not ok:
        sys.exit("reap did not drop exactly the expired roles")


if __name__ == "__main__":
    main()
