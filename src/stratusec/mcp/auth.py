"""Who is calling the MCP server.

stdio: the OS user running the server, the agent named by the client's ``initialize`` info
(overridden by ``STRATUSEC_AGENT``), the role ``governance.stdio_role``.

HTTP: a bearer token, always. Static tokens (``stx_...``, created with ``stratusec token
create``) are looked up by hash; with ``governance.oidc`` configured, OIDC JWTs are
verified (signature, issuer, audience, expiry). The verified identity travels in the SDK's
``AccessToken`` — which holds a fingerprint of the token, never the token itself, so the
bearer secret cannot leak into anything downstream (or upstream: it is never passed on).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import anyio.to_thread
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken

from stratusec.governance.gate import Caller, Governor, os_user
from stratusec.governance.redact import secret_fingerprint
from stratusec.governance.tokens import verify_token
from stratusec.store.db import Store

log = logging.getLogger("stratusec.mcp.auth")

STATIC_PREFIX = "stx_"


def fingerprint(token: str) -> str:
    return "sha256:" + secret_fingerprint(token)


class StratusecTokenVerifier:
    """The SDK's ``TokenVerifier``: static tokens from the store, else OIDC JWTs."""

    def __init__(self, store: Store, oidc: Any | None = None, roles: frozenset[str] = frozenset()):
        self.store = store
        self.oidc = oidc
        self.roles = roles

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            if token.startswith(STATIC_PREFIX) and self.store.dialect == "sqlite":
                # One indexed local read: cheaper inline than a thread hop.
                return self._verify(token)
            return await anyio.to_thread.run_sync(self._verify, token)
        except Exception as exc:  # fail closed, and never with the token in the message
            log.warning("token verification failed (%s): refused", type(exc).__name__)
            return None

    def _verify(self, token: str) -> AccessToken | None:
        fp = fingerprint(token)
        if token.startswith(STATIC_PREFIX):
            ident = verify_token(self.store, token)
            if ident is None:
                log.info("bearer token %s refused: unknown, expired or revoked", fp)
                return None
            if self.roles and ident.role not in self.roles:
                log.info("bearer token %s refused: role %r is not defined", fp, ident.role)
                return None
            return AccessToken(
                token=fp,
                client_id=f"token:{ident.name}",
                subject=f"token:{ident.name}",
                scopes=[],
                expires_at=int(ident.expires_at.timestamp()) if ident.expires_at else None,
                claims={
                    "kind": "static",
                    "token_id": ident.token_id,
                    "role": ident.role,
                    "human": ident.for_human,
                },
            )
        if self.oidc is None:
            log.info("bearer token %s refused: not a Stratusec token and OIDC is off", fp)
            return None
        oi = self.oidc.verify(token)
        if oi is None:
            return None
        return AccessToken(
            token=fp,
            client_id=f"oidc:{oi.subject}",
            subject=oi.subject,
            scopes=[],
            expires_at=oi.expires_at,
            claims={
                "kind": "oidc",
                "token_id": f"oidc:{oi.issuer}:{oi.subject}",
                "role": oi.role,
                "human": oi.human,
                "iss": oi.issuer,
            },
        )


def agent_name(client_name: str | None) -> str | None:
    """The agent: ``STRATUSEC_AGENT`` if set, else the client's self-declared name."""
    override = os.environ.get("STRATUSEC_AGENT", "").strip()
    if override:
        return override[:128]
    return client_name[:128] if client_name else None


def caller_for(governor: Governor, transport: str, client_name: str | None) -> Caller | None:
    """The caller of the current request, or None when no identity can be established
    (HTTP without a verified token: the SDK answers 401 before we get here)."""
    agent = agent_name(client_name)
    if transport == "stdio":
        user = os_user()
        return Caller(
            principal=user,
            role=governor.config.governance.stdio_role,
            face="mcp-stdio",
            on_behalf_of=user,
            agent=agent,
        )
    tok = get_access_token()
    if tok is None or not tok.claims:
        return None
    claims = tok.claims
    return Caller(
        principal=tok.client_id,
        role=str(claims.get("role") or ""),
        face="mcp-http",
        on_behalf_of=str(claims.get("human") or "") or None,
        agent=agent,
        limit_key=str(claims.get("token_id") or tok.client_id),
    )
