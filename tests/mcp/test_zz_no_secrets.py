"""Last in the package: no secret these tests created or handled — bearer tokens, JWTs,
passwords in the config or in tool arguments, the demo's fake passwords — appears in the
audit table, the tokens or approvals tables, a server's stderr or log file, or an audit
export."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from stratusec.demo import seed
from tests.mcp.helpers import (
    ACCOUNT,
    DEMO_PASSWORDS,
    Demo,
    error_text,
    http_server,
    http_session,
    stdio_session,
)

pytestmark = pytest.mark.slow

ARG_PASSWORD = "Arg-Pa55word-Zq81-do-not-leak"


def _exercise(demo: Demo) -> list[str]:
    """A token of this module's own, used over HTTP (debug logging on), with a password in
    tool arguments under a secret-looking key and inside a query's text."""
    config = demo.write_config("no-secrets")
    token = demo.create_token("agent-zz", "reader", "gina", config)
    with (
        http_server(demo, config, name="http-no-secrets", args=("--log-level", "DEBUG")) as srv,
        http_session(srv.url, token) as s,
    ):
        out = s.ok(
            "query_graph",
            {
                "cypher": "MATCH (n:Node) WHERE n.name = $password RETURN count(n) AS c",
                "params": {"password": ARG_PASSWORD},
                "account": ACCOUNT,
            },
        )
        assert out["rows"] == [[0]]
        error_text(s.call("get_findings", {"api_token": ARG_PASSWORD}))
        error_text(
            s.call(
                "query_graph",
                {"cypher": f"MATCH (n) WHERE n.password = '{ARG_PASSWORD}' CREATE (m) RETURN m"},
            )
        )
    return [token, ARG_PASSWORD]


def _haystacks(demo: Demo) -> dict[str, str]:
    out: dict[str, str] = {}
    con = sqlite3.connect(demo.db_path)
    try:
        for table in ("audit_records", "tokens", "approvals"):
            rows = con.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - fixed names
            out[f"table {table}"] = "\n".join(repr(r) for r in rows)
    finally:
        con.close()
    for fmt in ("jsonl", "ocsf"):
        proc = demo.cli("audit", "export", "--format", fmt)
        assert proc.returncode == 0, proc.stderr
        out[f"audit export {fmt}"] = proc.stdout + proc.stderr
    for p in demo.log_files:
        if p.exists():
            out[f"log {p.name}"] = p.read_text(encoding="utf-8", errors="replace")
    return out


def test_no_secret_is_recorded_or_logged(demo: Demo) -> None:
    seed_source = Path(seed.__file__).read_text(encoding="utf-8")
    for pw in DEMO_PASSWORDS:
        assert pw in seed_source, f"update DEMO_PASSWORDS: {pw!r} is no longer seeded"
    secrets = [*_exercise(demo), *demo.secrets, *DEMO_PASSWORDS]
    haystacks = _haystacks(demo)
    assert any("agent-zz" in h for h in haystacks.values())
    assert any(p.name.startswith("http-no-secrets") for p in demo.log_files)
    leaks = [
        f"{secret[:12]}... in {where}"
        for secret in secrets
        for where, text in haystacks.items()
        if secret in text
    ]
    assert not leaks, leaks


def test_a_bare_stratusec_token_in_arguments_is_redacted(demo: Demo) -> None:
    # Runs after the scan above; its token is deliberately not in demo.secrets.
    token = demo.create_token("pasted-by-agent", "reader", "hank")
    demo.secrets.remove(token)
    before = demo.last_seq()
    with stdio_session(demo, name="stdio-bare-token") as s:
        s.ok(
            "query_graph",
            {
                "cypher": "MATCH (n:Node) WHERE n.name = $name RETURN count(n) AS c",
                "params": {"name": token},
                "account": ACCOUNT,
            },
        )
    recs = demo.audit_since(before)
    assert [r["tool"] for r in recs] == ["query_graph", "query_graph"]
    assert token not in json.dumps(recs)
