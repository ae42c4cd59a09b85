"""Start, find, check and stop the background demo server (``stratusec demo up|down|status``).

State lives in ``<STRATUSEC_HOME>/demo/state.json``; a state whose process is gone, is not
our demo server, or does not answer is stale and is cleaned up.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config as BotoConfig

from stratusec import config as config_mod
from stratusec import paths
from stratusec.config import AccessLevelSettings, Account, CredentialSource
from stratusec.demo import DEMO_ACCOUNT_NAME, DEMO_REGIONS
from stratusec.errors import StratusecError

START_TIMEOUT = 120.0


@dataclass
class DemoState:
    pid: int
    port: int
    url: str
    account_id: str
    facts: dict[str, Any]
    started_at: float

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DemoState:
        return cls(
            pid=int(d["pid"]),
            port=int(d["port"]),
            url=str(d["url"]),
            account_id=str(d["account_id"]),
            facts=dict(d.get("facts") or {}),
            started_at=float(d.get("started_at") or 0),
        )


def demo_dir() -> Path:
    return paths.home() / "demo"


def state_file() -> Path:
    return demo_dir() / "state.json"


def log_file() -> Path:
    return demo_dir() / "server.log"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _is_demo_process(pid: int) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return _pid_alive(pid)  # no /proc: trust the pid
    return b"stratusec.demo.server" in cmd


def _answers(url: str) -> bool:
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - emulator dummy key
        config=BotoConfig(connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
    )
    try:
        sts.get_caller_identity()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
        return False
    return True


def read_state() -> DemoState | None:
    try:
        return DemoState.from_dict(json.loads(state_file().read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def status() -> tuple[str, DemoState | None]:
    """('running', state) | ('stale', state) | ('stopped', None)."""
    st = read_state()
    if st is None:
        return "stopped", None
    if _pid_alive(st.pid) and _is_demo_process(st.pid) and _answers(st.url):
        return "running", st
    return "stale", st


def _reap(pid: int) -> None:
    """Collect the exit status when the server is our own child (tests, one-shot demo)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _clean_stale() -> None:
    state_file().unlink(missing_ok=True)


def register_account(st: DemoState) -> Path:
    """Add or update the demo account in the config, pointing at the running server."""
    cfg = config_mod.load()
    cfg.upsert_account(
        Account(
            name=DEMO_ACCOUNT_NAME,
            account_id=st.account_id,
            regions=list(DEMO_REGIONS),
            credentials=CredentialSource(source="emulator"),
            # Fixes run under their own credential source (an emulator needs no other).
            remediation=CredentialSource(source="emulator"),
            endpoint_url=st.url,
        )
    )
    _demo_access(cfg, st.account_id)
    return config_mod.save(cfg)


def _demo_access(cfg: config_mod.Config, account_id: str) -> None:
    """The demo's just-in-time access: its broker role and two levels on the customer-data
    bucket (read: granted at once to operators; write: a different human approves). Levels
    the user already configured are kept."""
    if cfg.access.broker is None:
        cfg.access.broker = CredentialSource(
            source="assume_role",
            role_arn=f"arn:aws:iam::{account_id}:role/stratusec-broker",
            external_id="stratusec-demo-broker",
            session_name="stratusec-broker",
            emulator_base=True,
        )
    target = f"arn:aws:iam::{account_id}:role/jit-data-access"
    bucket = "arn:aws:s3:::acme-customer-data"
    levels = {
        "s3-read:acme-customer-data": AccessLevelSettings(
            account=DEMO_ACCOUNT_NAME,
            target_role=target,
            actions=["s3:GetObject", "s3:ListBucket"],
            resources=[bucket, f"{bucket}/*"],
            max_duration="1h",
            auto_grant=True,
            description="read the customer-data bucket",
        ),
        "s3-write:acme-customer-data": AccessLevelSettings(
            account=DEMO_ACCOUNT_NAME,
            target_role=target,
            actions=["s3:PutObject", "s3:DeleteObject"],
            resources=[f"{bucket}/*"],
            max_duration="30m",
            auto_grant=False,
            description="write objects in the customer-data bucket (approval)",
        ),
    }
    merged = dict(levels)
    merged.update(cfg.access.levels)
    cfg.access.levels = merged


def up(*, port: int = 0, timeout: float = START_TIMEOUT) -> tuple[DemoState, bool]:
    """Ensure the demo server runs; returns (state, started_now)."""
    state, st = status()
    if state == "running" and st is not None:
        register_account(st)
        return st, False
    if state == "stale":
        _clean_stale()
    demo_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
    log = open(log_file(), "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stratusec.demo.server",
            "--state",
            str(state_file()),
            "--port",
            str(port),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
        close_fds=True,
    )
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StratusecError(
                f"the demo server exited with code {proc.returncode}; see {log_file()}"
            )
        st = read_state()
        if st is not None and st.pid == proc.pid:
            register_account(st)
            return st, True
        time.sleep(0.1)
    proc.terminate()
    raise StratusecError(f"the demo server did not start within {timeout:.0f} s; see {log_file()}")


def down(timeout: float = 15.0) -> str:
    """Stop the demo server. Returns 'stopped', 'stale' (cleaned) or 'not running'."""
    state, st = status()
    if st is None:
        return "not running"
    if state == "stale":
        if _pid_alive(st.pid) and _is_demo_process(st.pid):
            os.kill(st.pid, signal.SIGKILL)
        _clean_stale()
        return "stale"
    os.kill(st.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(st.pid):
        _reap(st.pid)
        time.sleep(0.1)
    if _pid_alive(st.pid):
        os.kill(st.pid, signal.SIGKILL)
    _clean_stale()
    return "stopped"
