"""``stratusec mcp serve``: run the MCP server over stdio or Streamable HTTP."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette

from stratusec.errors import ConfigError, StratusecError
from stratusec.governance.gate import Governor
from stratusec.governance.ratelimit import RateLimiter
from stratusec.mcp.auth import StratusecTokenVerifier
from stratusec.mcp.server import StratusecMCP
from stratusec.operations.context import Context

log = logging.getLogger("stratusec.mcp")
DOCS_URL = "https://github.com/stratusec/stratusec/blob/main/docs/mcp.md"


@dataclass(frozen=True)
class HttpOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    allow_remote: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    public_url: str | None = None
    workers: int = 1

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert else "http"

    def resource_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}/mcp"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_http_options(opts: HttpOptions) -> None:
    """Refuse a listener that would expose bearer tokens in clear text."""
    if not 1 <= opts.port <= 65535:
        raise StratusecError(f"invalid port {opts.port}; use 1-65535")
    if bool(opts.tls_cert) != bool(opts.tls_key):
        raise StratusecError("TLS needs both --tls-cert and --tls-key")
    for p in (opts.tls_cert, opts.tls_key):
        if p is not None and not p.is_file():
            raise StratusecError(f"TLS file {p} does not exist")
    if is_loopback(opts.host):
        return
    if not opts.allow_remote or not opts.tls_cert:
        raise StratusecError(
            f"refusing to listen on {opts.host}: a non-loopback address needs --allow-remote "
            "and TLS (--tls-cert, --tls-key). Or keep the default 127.0.0.1 and put a "
            "TLS-terminating reverse proxy in front of it."
        )


class HttpStratusecMCP(StratusecMCP):
    """The HTTP variant: bearer tokens required on every request (static or OIDC)."""

    def __init__(self, ctx: Context, governor: Governor, opts: HttpOptions) -> None:
        self.opts = opts
        self.verifier = self._verifier(ctx, governor)
        super().__init__(ctx, governor, "http")

    @staticmethod
    def _verifier(ctx: Context, governor: Governor) -> StratusecTokenVerifier:
        oidc = None
        settings = ctx.config.governance.oidc
        if settings is not None:
            from stratusec.governance.oidc import OidcVerifier

            oidc = OidcVerifier(settings, governor.roles.names())
        return StratusecTokenVerifier(ctx.store, oidc, frozenset(governor.roles.names()))

    def _auth_kwargs(self) -> dict[str, Any]:
        oidc = self.ctx.config.governance.oidc
        resource = self.opts.resource_url()
        issuer = oidc.issuer if oidc else resource.rsplit("/mcp", 1)[0]
        return {
            "token_verifier": self.verifier,
            "auth": AuthSettings(
                issuer_url=AnyHttpUrl(issuer),
                resource_server_url=AnyHttpUrl(resource),
                # The verifier checks an OIDC token's audience itself; static tokens have none.
                validate_token_resource=False,
                service_documentation_url=AnyHttpUrl(DOCS_URL),
            ),
        }

    def app(self) -> Starlette:
        security = None
        if not is_loopback(self.opts.host) or self.opts.public_url:
            from urllib.parse import urlsplit

            public = urlsplit(self.opts.resource_url())
            # Behind a TLS proxy the public scheme (https) differs from the listener's.
            security = TransportSecuritySettings(
                enable_dns_rebinding_protection=True,
                allowed_hosts=[public.netloc, f"{self.opts.host}:*"],
                allowed_origins=[f"{public.scheme}://{public.netloc}"],
            )
        return self.server.streamable_http_app(
            streamable_http_path="/mcp",
            transport_security=security,
            host=self.opts.host,
            # With several worker processes a session made by one is unknown to the others:
            # serve clients of the older session handshake statelessly instead.
            stateless_http=self.opts.workers > 1,
        )


_LOG_ENV = ("STRATUSEC_MCP_LOG_FILE", "STRATUSEC_MCP_LOG_LEVEL")


def setup_logging(log_file: Path | None, level: str = "INFO") -> None:
    """Logs go to stderr or a file; stdout belongs to the protocol. (Remembered in the
    environment so HTTP worker processes log the same way.)"""
    os.environ[_LOG_ENV[0]] = str(log_file or "")
    os.environ[_LOG_ENV[1]] = level
    handler: logging.Handler
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "uvicorn.access", "mcp.server.lowlevel.server", "sqlalchemy", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # botocore at DEBUG logs whole API responses, AssumeRole's credentials included: the
    # AWS libraries never log below WARNING, whatever the server's level.
    for secretive in ("botocore", "boto3", "s3transfer", "urllib3", "psycopg"):
        logging.getLogger(secretive).setLevel(logging.WARNING)


def governor_for(ctx: Context) -> Governor:
    """The configured gate; a broken config or policy stops the server from starting."""
    try:
        return Governor.from_config(ctx.config, ctx.store)
    except StratusecError:
        raise
    except ValueError as exc:  # pragma: no cover - config already validated
        raise ConfigError(str(exc)) from exc


def serve_stdio(ctx: Context) -> None:
    gov = governor_for(ctx)
    if not gov.known_role(ctx.config.governance.stdio_role):
        raise ConfigError(
            f"governance.stdio_role {ctx.config.governance.stdio_role!r} is not a defined role; "
            f"roles: {', '.join(gov.roles.names())}"
        )
    smcp = StratusecMCP(ctx, gov, "stdio")
    log.info("MCP server on stdio (role %s)", ctx.config.governance.stdio_role)
    smcp.server.run("stdio")


_OPTS_ENV = "STRATUSEC_MCP_HTTP_OPTIONS"


def build_http_app(ctx: Context, opts: HttpOptions) -> Starlette:
    gov = governor_for(ctx)
    if opts.workers > 1 and gov.limiter is not None:
        # Each worker process keeps its own buckets and the kernel spreads connections
        # evenly: give each worker its share of the configured per-token limit.
        rl = ctx.config.governance.rate_limit
        gov.limiter = RateLimiter(
            max(1, rl.per_minute // opts.workers), max(1, rl.burst // opts.workers)
        )
    return HttpStratusecMCP(ctx, gov, opts).app()


def worker_app() -> Starlette:
    """The app factory each worker process calls (``--workers`` > 1)."""
    log_file = os.environ.get(_LOG_ENV[0])
    setup_logging(Path(log_file) if log_file else None, os.environ.get(_LOG_ENV[1], "INFO"))
    raw = json.loads(os.environ[_OPTS_ENV])
    for key in ("tls_cert", "tls_key"):
        raw[key] = Path(raw[key]) if raw.get(key) else None
    return build_http_app(Context.load(), HttpOptions(**raw))


def serve_http(ctx: Context, opts: HttpOptions) -> None:
    import uvicorn

    check_http_options(opts)
    if not 1 <= opts.workers <= 32:
        raise StratusecError(f"invalid --workers {opts.workers}; use 1-32")
    common: dict[str, Any] = {
        "host": opts.host,
        "port": opts.port,
        "log_level": "warning",
        "access_log": False,
        "ssl_certfile": str(opts.tls_cert) if opts.tls_cert else None,
        "ssl_keyfile": str(opts.tls_key) if opts.tls_key else None,
        "server_header": False,
        "log_config": None,
    }
    reaper = _start_reaper(ctx)
    try:
        if opts.workers == 1:
            app = build_http_app(ctx, opts)
            log.info("MCP server on %s (bearer tokens required)", opts.resource_url())
            uvicorn.Server(uvicorn.Config(app, **common)).run()
            return
        _serve_workers(ctx, opts, common)
    finally:
        if reaper is not None:
            reaper.stop()


def _start_reaper(ctx: Context) -> Any:
    """Expired just-in-time grants are cleaned up while the server runs (one reaper, in
    this process, whatever the number of workers)."""
    if not ctx.config.access.levels and not ctx.config.access.databases:
        return None
    from stratusec.operations.access import Reaper

    reaper = Reaper(ctx).start()
    log.info("access reaper every %s", ctx.config.access.reap_interval)
    return reaper


def _serve_workers(ctx: Context, opts: HttpOptions, common: dict[str, Any]) -> None:
    # Fail here, not in every worker, on a broken config or policy.
    governor_for(ctx)
    os.environ[_OPTS_ENV] = json.dumps(
        {**asdict(opts), "tls_cert": _s(opts.tls_cert), "tls_key": _s(opts.tls_key)}
    )
    log.info(
        "MCP server on %s with %d workers (bearer tokens required)",
        opts.resource_url(),
        opts.workers,
    )
    _run_workers(opts, common)


def _reuseport_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker_main(common: dict[str, Any]) -> None:
    """One worker process: its own listening socket on the shared port (SO_REUSEPORT), so
    the kernel spreads new connections over the workers instead of letting whichever worker
    wakes first accept a burst of them."""
    import uvicorn

    sock = _reuseport_socket(common["host"], common["port"])
    config = uvicorn.Config(worker_app, factory=True, **common)
    uvicorn.Server(config).run(sockets=[sock])


def _run_workers(opts: HttpOptions, common: dict[str, Any]) -> None:
    import multiprocessing
    import signal

    # Bind once in the parent first: a port in use fails here, with a clear message.
    try:
        probe = _reuseport_socket(opts.host, opts.port)
    except OSError as exc:
        raise StratusecError(f"cannot listen on {opts.host}:{opts.port}: {exc.strerror}") from None
    mp = multiprocessing.get_context("spawn")
    procs = [
        mp.Process(target=_worker_main, args=(common,), daemon=True) for _ in range(opts.workers)
    ]
    for p in procs:
        p.start()
    probe.close()

    def stop(*_a: Any) -> None:
        for p in procs:
            if p.is_alive():
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while any(p.is_alive() for p in procs):
            for p in procs:
                p.join(timeout=0.5)
            if any(p.exitcode not in (None, 0, -signal.SIGTERM) for p in procs):
                log.error("a worker stopped unexpectedly; stopping the server")
                stop()
    finally:
        stop()
        for p in procs:
            p.join(timeout=10)


def _s(p: Path | None) -> str | None:
    return str(p) if p else None
