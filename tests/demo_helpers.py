"""The embedded demo account, started and scanned once for a test module."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from stratusec.demo import manager


def scan_demo() -> dict[str, Any]:
    """Scan acme-prod with the real CLI (STRATUSEC_HOME from the environment)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stratusec.cli.app",
            "scan",
            "--account",
            "acme-prod",
            "--output",
            "json",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dict(json.loads(proc.stdout)["scans"][0])


@contextmanager
def scanned_demo(
    tmp_path_factory: pytest.TempPathFactory, name: str, *, keep_running: bool = True
) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A fresh STRATUSEC_HOME with the demo server up and acme-prod scanned; yields
    (home, scan summary). The server stops at the end (or right after the scan)."""
    home = tmp_path_factory.mktemp(name)
    mp = pytest.MonkeyPatch()
    mp.setenv("STRATUSEC_HOME", str(home))
    mp.delenv("STRATUSEC_CONFIG", raising=False)
    running = False
    try:
        manager.up()
        running = True
        scan = scan_demo()
        if not keep_running:
            manager.down()
            running = False
        yield home, scan
    finally:
        if running:
            manager.down()
        mp.undo()
