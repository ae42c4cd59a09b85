"""The package fixture of the MCP end-to-end tests: the demo server running and acme-prod
scanned once, in a home that every MCP server of these tests shares (see helpers.py)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest
import yaml

from stratusec.demo import manager
from tests.mcp.helpers import ACCOUNT, CLI, Demo


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo server running and acme-prod scanned, once for all MCP tests."""
    home = tmp_path_factory.mktemp("mcp-demo-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("STRATUSEC_HOME", str(home))
    mp.delenv("STRATUSEC_CONFIG", raising=False)
    d: Demo | None = None
    try:
        manager.up()
        proc = subprocess.run(
            [*CLI, "scan", "--account", ACCOUNT, "--output", "json", "--no-progress"],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            env={k: v for k, v in os.environ.items() if k != "STRATUSEC_CONFIG"},
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        base = yaml.safe_load((home / "config.yaml").read_text(encoding="utf-8"))
        d = Demo(home=home, base=base)
        yield d
    finally:
        if d is not None:
            d.close()
        mp.setenv("STRATUSEC_HOME", str(home))
        manager.down()
        mp.undo()
