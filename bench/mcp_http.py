"""Benchmark: get_findings over MCP Streamable HTTP, 20 concurrent clients.

Starts `stratusec mcp serve --transport http --workers W` on 127.0.0.1 against the scanned
demo account, creates a reader token, and drives it with C concurrent clients, each on its
own keep-alive connection, each sending N `tools/call get_findings` requests (protocol
revision 2026-07-28, the JSON-RPC body and headers the SDK client sends, over a minimal
keep-alive HTTP/1.1 client so that the load generator does not take the CPU the server is
measured on; the official SDK client is checked against the same server first). Checks afterwards: zero errors, two audit records per call (started + ok)
in the chain, `stratusec audit verify` clean.

Target (issue #6): >= 300 calls/s with 20 concurrent clients on this 2-core machine.

    .venv/bin/python bench/mcp_http.py [--clients 20] [--calls 100] [--workers 2] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import httpx2
from _common import STRATUSEC, emit, free_port
from _demo_home import scanned_demo_home

CONFIG = """
governance:
  rate_limit:
    per_minute: 1000000
    burst: 100000
"""
PAGE = 20


def _body(i: int, client: int) -> bytes:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": i,
            "method": "tools/call",
            "params": {
                "name": "get_findings",
                "arguments": {"limit": PAGE},
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientInfo": {
                        "name": f"bench-{client}",
                        "version": "1",
                    },
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
            },
        }
    ).encode()


async def _client(
    host: str, port: int, token: str, n: int, cid: int, lat: list[float], errs: list[str]
) -> None:
    """One keep-alive HTTP/1.1 connection, requests one after another. Deliberately minimal
    (asyncio streams, Content-Length framing): on a 2-core machine a full HTTP client library
    would take a large share of the CPU the server is being measured on."""
    reader, writer = await asyncio.open_connection(host, port)
    head = (
        "POST /mcp HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Accept: application/json, text/event-stream\r\n"
        "Content-Type: application/json\r\n"
        "MCP-Protocol-Version: 2026-07-28\r\n"
        "Mcp-Method: tools/call\r\n"
        "Mcp-Name: get_findings\r\n"
    )
    try:
        for i in range(n):
            body = _body(i, cid)
            t = time.perf_counter()
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            payload = await reader.readexactly(length)
            lat.append((time.perf_counter() - t) * 1000)
            status = int(status_line.split()[1]) if status_line else 0
            try:
                doc = json.loads(payload)
                bad = status != 200 or "error" in doc or doc["result"].get("isError")
                if not bad and len(doc["result"]["structuredContent"]["findings"]) != PAGE:
                    bad = True
            except (ValueError, KeyError):
                bad = True
            if bad:
                errs.append(f"{status} {payload[:200]!r}")
    finally:
        writer.close()


async def _run(port: int, token: str, clients: int, calls: int) -> dict[str, Any]:
    lat: list[float] = []
    errs: list[str] = []
    t = time.perf_counter()
    await asyncio.gather(
        *(_client("127.0.0.1", port, token, calls, c, lat, errs) for c in range(clients))
    )
    wall = time.perf_counter() - t
    lat.sort()
    return {
        "calls": len(lat),
        "seconds": round(wall, 3),
        "calls_per_second": round(len(lat) / wall, 1),
        "p50_ms": round(statistics.median(lat), 2),
        "p95_ms": round(lat[int(len(lat) * 0.95)], 2),
        "errors": len(errs),
        "first_error": errs[0] if errs else None,
    }


async def _sdk_check(url: str, token: str) -> int:
    """The official SDK client works against the same server."""
    from mcp.client.streamable_http import streamable_http_client

    from mcp import Client

    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers) as h,
        Client(streamable_http_client(url, http_client=h)) as c,
    ):
        return len((await c.list_tools()).tools)


def _audit_count(env: dict[str, str]) -> tuple[int, bool]:
    out = subprocess.run(
        [STRATUSEC, "audit", "verify", "--output", "json"], env=env, capture_output=True, text=True
    )
    doc = json.loads(out.stdout)
    return int(doc["checked"]), bool(doc["ok"])


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--sdk-check":
        print(asyncio.run(_sdk_check(sys.argv[2], sys.argv[3])))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--calls", type=int, default=100, help="per client, per run")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with scanned_demo_home(CONFIG) as env:
        token = subprocess.run(
            [STRATUSEC, "token", "create", "--name", "bench", "--role", "reader", "--for", "bench"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        port = free_port()
        url = f"http://127.0.0.1:{port}/mcp"
        log = open(f"{env['STRATUSEC_HOME']}/mcp-http.log", "w")  # noqa: SIM115
        server = subprocess.Popen(
            [
                STRATUSEC,
                "mcp",
                "serve",
                "--transport",
                "http",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx2.post(url, content=b"{}").status_code == 401:
                        break
                except httpx2.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("the MCP HTTP server did not start")
                time.sleep(0.3)
            # The SDK check runs in its own process: its client leaves background work
            # behind that would compete with the load generator for the CPU.
            tools = int(
                subprocess.run(
                    [sys.executable, __file__, "--sdk-check", url, token],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
            )
            # warm every worker (statement caches, connection pools, imports)
            asyncio.run(_run(port, token, args.clients, 30))
            before, _ = _audit_count(env)
            runs = [
                asyncio.run(_run(port, token, args.clients, args.calls)) for _ in range(args.runs)
            ]
            after, ok = _audit_count(env)
        finally:
            server.terminate()
            server.wait(timeout=20)
            log.close()
    total = sum(r["calls"] for r in runs)
    # 2 records per call, plus the first `audit verify`'s outcome record and the second's
    # "started" record (written before it reads)
    expected = 2 * total + 2
    emit(
        {
            "benchmark": "mcp_http",
            "clients": args.clients,
            "calls_per_client_per_run": args.calls,
            "workers": args.workers,
            "page_size": PAGE,
            "sdk_client_tools_listed": tools,
            "runs": runs,
            "median_calls_per_second": statistics.median(r["calls_per_second"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "audit_records_added": after - before,
            "audit_records_expected": expected,
            "audit_verify_ok": ok,
            "target_calls_per_second": 300,
        }
    )


if __name__ == "__main__":
    main()
