"""Where Stratusec keeps its files: STRATUSEC_HOME (default ~/.stratusec) and STRATUSEC_CONFIG."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """The Stratusec home directory (not created here)."""
    env = os.environ.get("STRATUSEC_HOME")
    return Path(env).expanduser() if env else Path.home() / ".stratusec"


def config_path() -> Path:
    """The configuration file: STRATUSEC_CONFIG, else <home>/config.yaml."""
    env = os.environ.get("STRATUSEC_CONFIG")
    return Path(env).expanduser() if env else home() / "config.yaml"


def ensure_home() -> Path:
    """Create the home directory with owner-only permissions and return it."""
    h = home()
    h.mkdir(parents=True, exist_ok=True, mode=0o700)
    return h
