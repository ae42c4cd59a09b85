"""A throwaway STRATUSEC_HOME with the demo account up and scanned, for the MCP benchmarks."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from _common import STRATUSEC


@contextmanager
def scanned_demo_home(extra_config: str = "") -> Iterator[dict[str, str]]:
    """Yields the environment (STRATUSEC_HOME set); ``extra_config`` is appended to the
    config file after the scan (e.g. a governance section)."""
    home = tempfile.mkdtemp(prefix="stratusec-bench-mcp-")
    env = {**os.environ, "STRATUSEC_HOME": home}
    subprocess.run([STRATUSEC, "demo", "up"], env=env, check=True, capture_output=True)
    try:
        subprocess.run(
            [STRATUSEC, "scan", "--account", "acme-prod", "--no-progress", "--output", "json"],
            env=env,
            check=False,
            capture_output=True,
        )
        if extra_config:
            with open(os.path.join(home, "config.yaml"), "a", encoding="utf-8") as fh:
                fh.write(extra_config)
        yield env
    finally:
        subprocess.run([STRATUSEC, "demo", "down"], env=env, check=False, capture_output=True)
