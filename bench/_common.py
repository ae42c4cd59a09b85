"""Helpers shared by the benchmarks: a moto server in its own process, a child-process
scan with its peak memory, and JSON output."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STRATUSEC = str(Path(sys.executable).parent / "stratusec")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_process(env: dict[str, str] | None = None) -> Iterator[str]:
    """moto in server mode (with the demo emulator's gap fills) in a separate process on
    127.0.0.1 (its own GIL)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "_moto_server.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).read()  # noqa: S310
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def timed_child(args: list[str], env: dict[str, str]) -> tuple[float, int, str, str, int]:
    """Run a child process; returns (wall seconds, peak RSS MB of children, stdout, stderr, rc).

    RUSAGE_CHILDREN's ru_maxrss is the largest RSS of any waited-for child, so run one
    child at a time."""
    t0 = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return wall, int(peak_mb), proc.stdout, proc.stderr, proc.returncode


def emit(result: dict[str, Any]) -> None:
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{result['benchmark']}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
