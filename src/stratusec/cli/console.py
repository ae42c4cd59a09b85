"""Consoles: results to stdout, progress and messages to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


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
