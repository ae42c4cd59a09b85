"""The MCP server over Streamable HTTP on 127.0.0.1, end to end: bearer tokens (static and
OIDC) on every request, 401 with the RFC 9728 pointer otherwise, per-token roles, rate
limits, and the refusal to listen in clear text on a non-loopback address."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import update

from stratusec.store.models import TokenRow
from tests.mcp.helpers import (
    CLI,
    TOOLS,
    Demo,
    HttpServer,
    error_text,
    free_port,
    http_server,
    http_session,
    rpc,
)

pytestmark = pytest.mark.slow

ISSUER = "https://idp.stratusec.test"
KID = "mcp-test-key"
AUDITOR_TOOLS = {"get_findings", "get_approval"}
ACCEPT = "application/json, text/event-stream"


@dataclass
class Http:
    server: HttpServer
    config: Path
    tokens: dict[str, str]
    key: rsa.RSAPrivateKey

    @property
    def url(self) -> str:
        return self.server.url

    def jwt(
        self,
        *,
        role: str = "reader",
        audience: str | None = None,
        expires_in: int = 300,
        key: rsa.RSAPrivateKey | None = None,
        email: str = "erin@example.com",
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": "erin-0001",
            "aud": audience or self.url,
            "iat": min(now, now + expires_in - 60),
            "nbf": min(now, now + expires_in - 60),
            "exp": now + expires_in,
            "email": email,
            "stratusec_role": role,
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": KID})


@pytest.fixture(scope="module")
def http(demo: Demo) -> Iterator[Http]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=KID, use="sig", alg="RS256")
    jwks = demo.home / "mcp-jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}), encoding="utf-8")
    config = demo.write_config(
        "http",
        roles={"reader": {"tools": sorted(TOOLS)}, "auditor": {"tools": sorted(AUDITOR_TOOLS)}},
        governance={"oidc": {"issuer": ISSUER, "audience": url, "jwks_file": str(jwks)}},
    )
    tokens = {
        "reader": demo.create_token("agent-reader", "reader", "carol", config),
        "auditor": demo.create_token("agent-auditor", "auditor", "dave", config),
        "revoked": demo.create_token("agent-revoked", "reader", "carol", config),
        "expired": demo.create_token("agent-expired", "reader", "carol", config),
    }
    proc = demo.cli("token", "revoke", "agent-revoked", config=config)
    assert proc.returncode == 0, proc.stderr
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    with demo.store.engine.begin() as conn:
        res = conn.execute(
            update(TokenRow).where(TokenRow.name == "agent-expired").values(expires_at=past)
        )
        assert res.rowcount == 1
    with http_server(demo, config, port=port, name="http-main") as server:
        yield Http(server, config, tokens, key)


def _post(url: str, authorization: str | None) -> httpx2.Response:
    headers = {"Accept": ACCEPT, "Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = rpc("tools/call", {"name": "get_findings", "arguments": {"limit": 1}})
    return httpx2.post(url, json=body, headers=headers, timeout=10)


# -- 8. no valid token: 401, nothing runs ----------------------------------------------------
def test_requests_without_a_valid_token_get_401(http: Http, demo: Demo) -> None:
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cases: dict[str, str | None] = {
        "no header": None,
        "not bearer": "Basic YWxpY2U6c2VjcmV0",
        "bearer without a token": "Bearer",
        "wrong static token": "Bearer stx_" + "A" * 43,
        "expired static token": f"Bearer {http.tokens['expired']}",
        "revoked static token": f"Bearer {http.tokens['revoked']}",
        "jwt for another audience": f"Bearer {http.jwt(audience='https://other.example/mcp')}",
        "expired jwt": f"Bearer {http.jwt(expires_in=-3600)}",
        "jwt signed by another key": f"Bearer {http.jwt(key=other_key)}",
        "jwt with an undefined role": f"Bearer {http.jwt(role='superuser')}",
    }
    for value in cases.values():
        if value and value.startswith("Bearer ey"):
            demo.secrets.append(value.removeprefix("Bearer "))
    metadata = f"{http.url.rsplit('/mcp', 1)[0]}/.well-known/oauth-protected-resource/mcp"
    before = demo.last_seq()
    for what, value in cases.items():
        r = _post(http.url, value)
        assert r.status_code == 401, (what, r.status_code, r.text)
        challenge = r.headers.get("www-authenticate", "")
        assert challenge.startswith("Bearer"), (what, challenge)
        assert f'resource_metadata="{metadata}"' in challenge, (what, challenge)
        assert "stx_" not in r.text and "eyJ" not in r.text
    assert demo.last_seq() == before, "a refused request must not reach the gate"
    log = http.server.stderr.read_text(encoding="utf-8")
    assert "refused" in log


def test_protected_resource_metadata(http: Http) -> None:
    base = http.url.rsplit("/mcp", 1)[0]
    r = httpx2.get(f"{base}/.well-known/oauth-protected-resource/mcp", timeout=10)
    assert r.status_code == 200
    doc = r.json()
    assert doc["resource"] == http.url
    assert doc["bearer_methods_supported"] == ["header"]
    assert doc["authorization_servers"]


# -- 9. a static reader token ----------------------------------------------------------------
def test_reader_token(http: Http, demo: Demo) -> None:
    before = demo.last_seq()
    with http_session(http.url, http.tokens["reader"]) as s:
        assert {t.name for t in s.tools()} == TOOLS
        page = s.ok("get_findings", {"account": "acme-prod", "limit": 3})
        assert len(page["findings"]) == 3 and page["total"] > 3
        policies = s.read("stratusec://policies")
    assert policies["you"] == {
        "principal": "token:agent-reader",
        "on_behalf_of": "carol",
        "agent": "http-agent",
        "role": "reader",
        "tools": sorted(TOOLS),
    }
    recs = demo.audit_since(before)
    assert [(r["tool"], r["outcome"]) for r in recs] == [
        ("get_findings", "started"),
        ("get_findings", "ok"),
        ("read_resource", "started"),
        ("read_resource", "ok"),
    ]
    for r in recs:
        assert r["principal"] == "token:agent-reader" and r["on_behalf_of"] == "carol"
        assert r["face"] == "mcp-http" and r["agent"] == "http-agent"


def test_token_role_limits_the_tools(http: Http, demo: Demo) -> None:
    with http_session(http.url, http.tokens["auditor"]) as s:
        assert {t.name for t in s.tools()} == AUDITOR_TOOLS
        before = demo.last_seq()
        text = error_text(s.call("query_graph", {"cypher": "MATCH (n) RETURN count(n)"}))
        assert "tool 'query_graph' is not available to role 'auditor'" in text
        [rec] = demo.audit_since(before)
        assert (rec["tool"], rec["decision"]) == ("query_graph", "deny")
        assert rec["rule"] == "role:auditor"
        assert rec["principal"] == "token:agent-auditor" and rec["on_behalf_of"] == "dave"


# -- 10. OIDC ----------------------------------------------------------------------------------
def test_oidc_jwt(http: Http, demo: Demo) -> None:
    token = http.jwt()
    demo.secrets.append(token)
    before = demo.last_seq()
    with http_session(http.url, token, client_name="oidc-agent") as s:
        you = s.read("stratusec://policies")["you"]
        assert s.ok("get_findings", {"limit": 1})["total"] > 0
    assert you == {
        "principal": "oidc:erin-0001",
        "on_behalf_of": "erin@example.com",
        "agent": "oidc-agent",
        "role": "reader",
        "tools": sorted(TOOLS),
    }
    recs = demo.audit_since(before)
    assert recs and {r["principal"] for r in recs} == {"oidc:erin-0001"}
    assert {r["on_behalf_of"] for r in recs} == {"erin@example.com"}

    auditor = http.jwt(role="auditor", email="frank@example.com")
    demo.secrets.append(auditor)
    with http_session(http.url, auditor) as s:
        assert {t.name for t in s.tools()} == AUDITOR_TOOLS
        you = s.read("stratusec://policies")["you"]
    assert (you["on_behalf_of"], you["role"]) == ("frank@example.com", "auditor")


# -- 11. no clear-text listener on a public address ----------------------------------------------
@pytest.mark.parametrize(
    "extra", [[], ["--allow-remote"]], ids=["no-allow-remote", "allow-remote-without-tls"]
)
def test_non_loopback_host_without_tls_is_refused(demo: Demo, extra: list[str]) -> None:
    port = free_port()
    host = "0.0.0.0"  # noqa: S104 - refused before anything binds
    args = ["--transport", "http", "--host", host, "--port", str(port), *extra]
    proc = demo.cli("mcp", "serve", *args)
    assert proc.returncode != 0
    assert "refusing to listen on 0.0.0.0" in proc.stderr
    assert "--allow-remote" in proc.stderr and "--tls-cert" in proc.stderr
    assert "reverse proxy" in proc.stderr
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"http://127.0.0.1:{port}/mcp", timeout=2)


# -- 12. rate limit --------------------------------------------------------------------------
def test_rate_limit(http: Http, demo: Demo) -> None:
    cfg: dict[str, Any] = json.loads(json.dumps(demo.base.get("governance", {})))
    cfg["rate_limit"] = {"per_minute": 60, "burst": 3}
    config = demo.write_config("http-rate-limit", governance=cfg)
    with (
        http_server(demo, config, name="http-rate-limit") as server,
        http_session(server.url, http.tokens["reader"]) as s,
    ):
        before = demo.last_seq()
        results = [s.call("get_findings", {"limit": 1}) for _ in range(4)]
        assert [bool(r.is_error) for r in results] == [False, False, False, True]
        text = error_text(results[3])
        assert "rate limit exceeded for token:agent-reader; retry in" in text
        recs = demo.audit_since(before)
    assert [r["outcome"] for r in recs] == ["started", "ok"] * 3 + ["denied"]
    last = recs[-1]
    assert (last["tool"], last["decision"], last["rule"]) == ("get_findings", "deny", "rate_limit")
    assert last["principal"] == "token:agent-reader"


def test_several_workers_share_the_port_and_stop_together(demo: Demo) -> None:
    """--workers 2: each worker listens on the port (SO_REUSEPORT); SIGTERM stops them all."""
    import signal

    port = free_port()
    env = {**os.environ, "STRATUSEC_HOME": str(demo.home)}
    proc = subprocess.Popen(
        [*CLI, "mcp", "serve", "--transport", "http", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        codes: list[int] = []
        while time.monotonic() < deadline and len(codes) < 10:
            try:
                codes.append(httpx2.post(f"http://127.0.0.1:{port}/mcp", content=b"{}").status_code)
            except httpx2.HTTPError:
                time.sleep(0.3)
        assert codes and set(codes) == {401}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode is not None
