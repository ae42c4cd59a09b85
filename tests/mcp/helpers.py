"""Helpers for the MCP end-to-end tests: one scanned demo home for the whole package, the
real SDK client (stdio and Streamable HTTP) driven from synchronous tests through an anyio
portal, and ``stratusec mcp serve`` subprocesses.

Every server these tests start shares the demo home (one SQLite store, one graph); what
differs between them is the config file (``STRATUSEC_CONFIG``): roles, the Rego policy,
rate limits, OIDC. Secrets the tests create and the log files the servers write are
collected on :class:`Demo` so that ``test_zz_no_secrets`` can check them last.
"""

from __future__ import annotations

import copy
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import yaml
from anyio.from_thread import BlockingPortal, start_blocking_portal
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult, GetPromptResult, Implementation, Tool

from mcp import Client, StdioServerParameters
from stratusec.governance.audit import AuditLog
from stratusec.store.db import Store, open_store

PY = sys.executable
CLI = [PY, "-m", "stratusec.cli.app"]
ACCOUNT = "acme-prod"
#: The OS user every stdio server runs as (getpass reads LOGNAME first).
HUMAN = "alice"
CLIENT_NAME = "test-agent"
TOOLS = frozenset(
    {
        "scan",
        "get_findings",
        "explain_finding",
        "query_graph",
        "get_attack_paths",
        "check_compliance",
        "get_approval",
        "validate_guardrail",
    }
)
#: Passwords the demo seeds into the emulated account (src/stratusec/demo/seed.py).
DEMO_PASSWORDS = ("Winter2026!", "A-much-longer-passphrase-42!", "not-a-real-password-1")


@dataclass
class Demo:
    """The scanned demo home and what the tests learn about it."""

    home: Path
    base: dict[str, Any]
    secrets: list[str] = field(default_factory=list)
    log_files: list[Path] = field(default_factory=list)
    _store: Store | None = None

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.home / 'stratusec.db'}"

    @property
    def db_path(self) -> Path:
        return self.home / "stratusec.db"

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.db_url)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- configs ---------------------------------------------------------------------------
    def write_config(
        self,
        name: str,
        *,
        governance: dict[str, Any] | None = None,
        roles: dict[str, Any] | None = None,
        extra_accounts: list[dict[str, Any]] | None = None,
        storage: dict[str, Any] | None = None,
    ) -> Path:
        """A copy of the demo config with these sections changed, under the home."""
        cfg = copy.deepcopy(self.base)
        if governance:
            cfg.setdefault("governance", {}).update(governance)
        if roles is not None:
            cfg["roles"] = roles
        if extra_accounts:
            cfg["accounts"] = [*cfg.get("accounts", []), *extra_accounts]
        if storage:
            cfg.setdefault("storage", {}).update(storage)
        path = self.home / "configs" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
        return path

    def env(self, config: Path | None = None, **extra: str) -> dict[str, str]:
        """The full environment for a subprocess on this home (and config)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATUSEC_")}
        env["STRATUSEC_HOME"] = str(self.home)
        if config is not None:
            env["STRATUSEC_CONFIG"] = str(config)
        env.update(extra)
        return env

    def log_path(self, name: str) -> Path:
        """A new file for a server's stderr or log, remembered for the secret scan."""
        d = self.home / "test-logs"
        d.mkdir(exist_ok=True)
        p = d / name
        n = 1
        while p.exists():
            n += 1
            p = d / f"{name}.{n}"
        self.log_files.append(p)
        return p

    # -- CLI -------------------------------------------------------------------------------
    def cli(
        self, *args: str, config: Path | None = None, user: str | None = None, timeout: int = 60
    ) -> subprocess.CompletedProcess[str]:
        extra = {"LOGNAME": user, "USER": user} if user else {}
        return subprocess.run(
            [*CLI, *args],
            env=self.env(config, **extra),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )

    def create_token(self, name: str, role: str, for_human: str, config: Path | None = None) -> str:
        proc = self.cli(
            "token", "create", "--name", name, "--role", role, "--for", for_human, config=config
        )
        assert proc.returncode == 0, proc.stderr
        secret = proc.stdout.strip()
        assert secret.startswith("stx_"), proc.stdout
        self.secrets.append(secret)
        return secret

    # -- audit -----------------------------------------------------------------------------
    def last_seq(self) -> int:
        rows = AuditLog(self.store).list(limit=1)
        return int(rows[0]["seq"]) if rows else 0

    def audit_since(self, seq: int) -> list[dict[str, Any]]:
        """Records after ``seq``, oldest first."""
        rows = AuditLog(self.store).list(limit=100_000)
        return sorted((r for r in rows if r["seq"] > seq), key=lambda r: r["seq"])


# -- the SDK client, synchronously ---------------------------------------------------------
@dataclass
class Session:
    """A connected SDK client, called from synchronous tests through a blocking portal."""

    portal: BlockingPortal
    client: Client
    stderr: Path | None = None

    def tools(self) -> list[Tool]:
        return list(self.portal.call(lambda: self.client.list_tools(cache_mode="bypass")).tools)

    def call(self, name: str, arguments: dict[str, Any] | None = None) -> CallToolResult:
        return self.portal.call(lambda: self.client.call_tool(name, arguments or {}))

    def ok(self, name: str, arguments: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call a tool that must succeed; its structured content."""
        r = self.call(name, arguments)
        text = r.content[0].text if r.content and hasattr(r.content[0], "text") else ""
        assert not r.is_error, f"{name} failed: {text}"
        assert isinstance(r.structured_content, dict), text
        return r.structured_content

    def read_text(self, uri: str) -> str:
        res = self.portal.call(lambda: self.client.read_resource(uri, cache_mode="bypass"))
        [content] = res.contents
        text = getattr(content, "text", None)
        assert isinstance(text, str), content
        return text

    def read(self, uri: str) -> dict[str, Any]:
        data = json.loads(self.read_text(uri))
        assert isinstance(data, dict)
        return data

    def prompt(self, name: str, arguments: dict[str, str]) -> GetPromptResult:
        return self.portal.call(lambda: self.client.get_prompt(name, arguments))


def error_text(r: CallToolResult) -> str:
    assert r.is_error, f"expected an error, got {r.structured_content}"
    texts = [getattr(c, "text", "") for c in r.content]
    return "\n".join(texts)


@contextmanager
def stdio_session(
    demo: Demo,
    *,
    config: Path | None = None,
    name: str = "stdio",
    client_name: str = CLIENT_NAME,
    user: str = HUMAN,
    args: tuple[str, ...] = (),
    **env: str,
) -> Iterator[Session]:
    """``stratusec mcp serve`` over stdio, with the SDK client connected to it."""
    server_env = {"STRATUSEC_HOME": str(demo.home), "LOGNAME": user, "USER": user, **env}
    if config is not None:
        server_env["STRATUSEC_CONFIG"] = str(config)
    params = StdioServerParameters(
        command=PY, args=["-m", "stratusec.cli.app", "mcp", "serve", *args], env=server_env
    )
    errpath = demo.log_path(f"{name}.stderr")
    with (
        open(errpath, "w", encoding="utf-8") as errlog,
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(
            Client(
                stdio_client(params, errlog=errlog),
                client_info=Implementation(name=client_name, version="1"),
                read_timeout_seconds=120,
            )
        ) as client,
    ):
        yield Session(portal, client, errpath)


# -- HTTP ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class HttpServer:
    proc: subprocess.Popen[bytes]
    port: int
    stderr: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


@contextmanager
def http_server(
    demo: Demo,
    config: Path,
    *,
    port: int | None = None,
    name: str = "http",
    args: tuple[str, ...] = (),
) -> Iterator[HttpServer]:
    """``stratusec mcp serve --transport http`` on a loopback port, until the block ends."""
    port = port or free_port()
    errpath = demo.log_path(f"{name}.stderr")
    with open(errpath, "wb") as errlog:
        proc = subprocess.Popen(
            [*CLI, "mcp", "serve", "--transport", "http", "--port", str(port), *args],
            env=demo.env(config),
            stdin=subprocess.DEVNULL,
            stdout=errlog,
            stderr=errlog,
        )
    server = HttpServer(proc, port, errpath)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(
                    f"HTTP server exited {proc.returncode}: {errpath.read_text(errors='replace')}"
                )
            try:
                r = httpx2.post(server.url, json={}, timeout=2)
                if r.status_code == 401:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"HTTP server did not answer: {errpath.read_text()}")
            time.sleep(0.05)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@asynccontextmanager
async def _http_client(url: str, token: str, client_name: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60) as h,
        Client(
            streamable_http_client(url, http_client=h),
            client_info=Implementation(name=client_name, version="1"),
            read_timeout_seconds=120,
        ) as client,
    ):
        yield client


@contextmanager
def http_session(url: str, token: str, client_name: str = "http-agent") -> Iterator[Session]:
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(_http_client(url, token, client_name)) as client,
    ):
        yield Session(portal, client)


def rpc(method: str, params: dict[str, Any], id_: int = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


def walk_strings(value: Any, needle: str, at: str = "$") -> list[str]:
    """JSON paths of every string in ``value`` that contains ``needle``."""
    if isinstance(value, str):
        return [at] if needle in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in walk_strings(v, needle, f"{at}.{k}")]
    if isinstance(value, list):
        return [p for v in value for p in walk_strings(v, needle, f"{at}[*]")]
    return []
