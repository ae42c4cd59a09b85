"""Benchmark: what governance + audit add to one MCP tool call.

Two measurements on the scanned demo account:

1. In-process, the SDK's own client against the real server object (the stdio face's
   identity, roles, argument checks, authorization, both audit records), with and without
   the governance middleware: overhead = p50(governed) - p50(bare), same get_findings call.
   The audited record count and `verify` are checked afterwards.
2. The governance path alone (Governor.begin + finish on the real SQLite store), per call.
3. End to end over stdio: the SDK client driving `stratusec mcp serve` as a subprocess.

Target (issue #6): overhead p50 < 5 ms.

    .venv/bin/python bench/mcp_governance.py [--calls 500]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any

from _common import STRATUSEC, emit
from _demo_home import scanned_demo_home

ARGS = {"limit": 20, "severity": ["critical", "high"]}
# The default per-token limit (600/min, burst 120) would stop a benchmark, not measure it.
CONFIG = """
governance:
  rate_limit:
    per_minute: 1000000
    burst: 100000
"""


def _stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {
        "p50_ms": round(statistics.median(s), 3),
        "p95_ms": round(s[int(len(s) * 0.95)], 3),
        "mean_ms": round(statistics.fmean(s), 3),
    }


async def _client_calls(server: Any, n: int) -> list[float]:
    from mcp import Client

    out = []
    async with Client(server) as c:
        for _ in range(20):  # warm up
            await c.call_tool("get_findings", ARGS)
        for _ in range(n):
            t = time.perf_counter()
            r = await c.call_tool("get_findings", ARGS)
            out.append((time.perf_counter() - t) * 1000)
            if r.is_error:
                raise SystemExit(f"call failed: {r.content}")
    return out


def in_process(n: int) -> dict[str, Any]:
    from stratusec.governance.audit import AuditLog
    from stratusec.governance.gate import Caller, Governor
    from stratusec.mcp.server import StratusecMCP
    from stratusec.operations.context import Context

    ctx = Context.load()
    gov = Governor.from_config(ctx.config, ctx.store)
    governed = StratusecMCP(ctx, gov, "stdio")
    bare = StratusecMCP(ctx, gov, "stdio")
    mw = bare.server._lowlevel_server.middleware
    mw[:] = [m for m in mw if getattr(m, "__self__", None) is not bare]
    log = AuditLog(ctx.store)
    before = log.verify().checked
    with_gov = asyncio.run(_client_calls(governed.server, n))
    without = asyncio.run(_client_calls(bare.server, n))
    after = log.verify()
    caller = Caller(principal="bench", role="reader", face="mcp-stdio", agent="bench")
    gate = []
    for _ in range(n):
        t = time.perf_counter()
        ticket = gov.begin(caller, "get_findings", ARGS)
        gov.finish(ticket, result_size=1000)  # type: ignore[arg-type]
        gate.append((time.perf_counter() - t) * 1000)
    ctx.close()
    g, b = _stats(with_gov), _stats(without)
    return {
        "calls": n,
        "governed": g,
        "bare": b,
        "overhead_p50_ms": round(g["p50_ms"] - b["p50_ms"], 3),
        "gate_only": _stats(gate),
        "audit_records_written": after.checked - before,
        "audit_records_expected": 2 * (n + 20),
        "audit_verify_ok": after.ok,
    }


async def _stdio(n: int, env: dict[str, str]) -> list[float]:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=STRATUSEC, args=["mcp", "serve"], env=env)
    out = []
    async with Client(params) as c:
        for _ in range(20):
            await c.call_tool("get_findings", ARGS)
        for _ in range(n):
            t = time.perf_counter()
            r = await c.call_tool("get_findings", ARGS)
            out.append((time.perf_counter() - t) * 1000)
            if r.is_error:
                raise SystemExit(f"call failed: {r.content}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=500)
    args = ap.parse_args()
    with scanned_demo_home(CONFIG) as env:
        os.environ["STRATUSEC_HOME"] = env["STRATUSEC_HOME"]
        result = in_process(args.calls)
        result["stdio_end_to_end"] = _stats(asyncio.run(_stdio(args.calls, env)))
    result["target_overhead_p50_ms"] = 5.0
    result["python"] = sys.version.split()[0]
    emit({"benchmark": "mcp_governance", **result})


if __name__ == "__main__":
    main()
