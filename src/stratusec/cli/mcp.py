"""``stratusec mcp serve``: the MCP server for AI agents (stdio or Streamable HTTP)."""

from __future__ import annotations

from pathlib import Path

import typer

from stratusec.errors import StratusecError
from stratusec.operations.context import Context

app = typer.Typer(help="The MCP server for AI agents.", no_args_is_help=True)


@app.command("serve")
def serve(
    transport: str = typer.Option("stdio", "--transport", "-t", help="stdio or http."),
    host: str = typer.Option("127.0.0.1", "--host", help="HTTP: address to listen on."),
    port: int = typer.Option(8080, "--port", help="HTTP: port."),
    allow_remote: bool = typer.Option(
        False, "--allow-remote", help="HTTP: allow a non-loopback address (needs TLS)."
    ),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="HTTP: certificate (PEM)."),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="HTTP: private key (PEM)."),
    public_url: str | None = typer.Option(
        None,
        "--public-url",
        help="HTTP: the URL clients use (behind a proxy), e.g. https://sec.example.com/mcp.",
    ),
    workers: int = typer.Option(
        1, "--workers", help="HTTP: worker processes (per-token limits are shared out)."
    ),
    log_file: Path | None = typer.Option(
        None, "--log-file", help="Write logs here instead of stderr."
    ),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING, ERROR."),
) -> None:
    """Serve Stratusec's tools, resources and prompts over MCP.

    stdio (default) is for a local client (Claude Desktop, Claude Code, Cursor): the agent
    acts for the OS user with the role governance.stdio_role. HTTP requires a bearer token
    on every request ('stratusec token create' or OIDC). Every call is authorized and
    audited; nothing but protocol is written to stdout.
    """
    from stratusec.mcp.serve import HttpOptions, serve_http, serve_stdio, setup_logging

    if transport not in ("stdio", "http"):
        raise StratusecError(f"unknown transport {transport!r}; valid: stdio, http")
    level = log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise StratusecError(f"unknown log level {log_level!r}; valid: DEBUG, INFO, WARNING, ERROR")
    setup_logging(log_file, level)
    ctx = Context.load()
    try:
        if transport == "stdio":
            serve_stdio(ctx)
        else:
            serve_http(
                ctx,
                HttpOptions(
                    host=host,
                    port=port,
                    allow_remote=allow_remote,
                    tls_cert=tls_cert,
                    tls_key=tls_key,
                    public_url=public_url,
                    workers=workers,
                ),
            )
    finally:
        ctx.close()
