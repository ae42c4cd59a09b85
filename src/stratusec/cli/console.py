"""Consoles: results to stdout, progress and messages to stderr."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console


def _console(stderr: bool) -> Console:
    c = Console(stderr=stderr, soft_wrap=True)
    if not c.is_terminal and "COLUMNS" not in os.environ:
        c = Console(stderr=stderr, soft_wrap=True, width=160)  # files and pipes: no 80-col wrap
    return c


out = _console(False)
err = _console(True)


def print_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def split_csv(values: list[str] | None) -> list[str] | None:
    """Accept repeated options and comma-separated lists alike."""
    if not values:
        return None
    out_: list[str] = []
    for v in values:
        out_.extend(p.strip() for p in v.split(",") if p.strip())
    return out_ or None
