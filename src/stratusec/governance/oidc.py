"""OIDC JWTs as bearer tokens for the MCP HTTP server.

A token is accepted only when its signature verifies against a key from the configured JWKS
(``jwks_file`` or ``jwks_url``) with an asymmetric algorithm listed in ``algorithms``, and its
issuer, audience, expiry (required), not-before and issued-at check out. The human comes from
``human_claim``; the role from ``role_claim``, else the first group in ``groups_claim`` that
``group_roles`` maps, else ``default_role``; it must be one of the valid roles.

``OidcVerifier.verify`` never raises on a bad token: it returns ``None`` and logs the reason
(with a short fingerprint of the token, never the token) on the ``stratusec.oidc`` logger.
Keys are cached for ``jwks_cache_seconds``; a token whose ``kid`` is unknown triggers at most
one refetch per ``min_refetch_seconds`` (key rotation). A JWKS that cannot be loaded means
every token is refused (fail closed).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

from stratusec import paths
from stratusec.config import OidcSettings
from stratusec.errors import StratusecError
from stratusec.governance.redact import secret_fingerprint

log = logging.getLogger("stratusec.oidc")

FETCH_TIMEOUT_SECONDS = 5.0
MIN_REFETCH_SECONDS = 30.0  # unknown kid / failed fetch: at most one refetch per this interval
MAX_TOKEN_LEN = 16 * 1024  # anything longer is refused before parsing
MAX_JWKS_BYTES = 1024 * 1024
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")

# Which JWK (kty, crv) each accepted algorithm may verify with. Symmetric algorithms and
# "none" are absent on purpose: they are never accepted, whatever the settings say.
_KEY_TYPES: dict[str, tuple[str, frozenset[str] | None]] = {
    "RS256": ("RSA", None),
    "RS384": ("RSA", None),
    "RS512": ("RSA", None),
    "PS256": ("RSA", None),
    "PS384": ("RSA", None),
    "PS512": ("RSA", None),
    "ES256": ("EC", frozenset({"P-256"})),
    "ES256K": ("EC", frozenset({"secp256k1"})),
    "ES384": ("EC", frozenset({"P-384"})),
    "ES512": ("EC", frozenset({"P-521"})),
    "ES521": ("EC", frozenset({"P-521"})),
    "EdDSA": ("OKP", frozenset({"Ed25519", "Ed448"})),
}
# Private or symmetric key members: a JWK carrying one is not a public verification key.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


class OidcError(StratusecError):
    """The OIDC configuration cannot be used (unreadable JWKS file, bad JSON, bad role map)."""


@dataclass(frozen=True)
class OidcIdentity:
    """Who a verified OIDC token speaks for."""

    subject: str
    human: str
    role: str
    expires_at: int | None
    issuer: str
    token_fingerprint: str


class _Refused(Exception):
    """Internal: a token is refused for the given reason."""


#: Names a token in logs, never the token itself.
fingerprint = secret_fingerprint


@dataclass
class _KeySet:
    """One loaded JWKS: the public JWK dicts, plus keys built from them (per algorithm)."""

    jwks: list[dict[str, Any]]
    loaded_at: float
    _built: dict[tuple[int, str], jwt.PyJWK] = field(default_factory=dict)

    def candidates(self, kid: str | None, alg: str) -> list[tuple[int, dict[str, Any]]]:
        kty, crvs = _KEY_TYPES[alg]
        out: list[tuple[int, dict[str, Any]]] = []
        for i, k in enumerate(self.jwks):
            if kid is not None and k.get("kid") != kid:
                continue
            if k.get("kty") != kty or (crvs is not None and k.get("crv") not in crvs):
                continue
            if k.get("use") not in (None, "sig"):
                continue
            if k.get("alg") not in (None, alg):
                continue
            out.append((i, k))
        return out

    def has_kid(self, kid: str) -> bool:
        return any(k.get("kid") == kid for k in self.jwks)

    def key(self, index: int, alg: str) -> jwt.PyJWK:
        built = self._built.get((index, alg))
        if built is None:
            built = jwt.PyJWK(self.jwks[index], algorithm=alg)
            self._built[(index, alg)] = built
        return built


def _probe_alg(jwk: dict[str, Any]) -> str:
    """An algorithm to test-build a JWK with (its own ``alg`` may name an encryption one)."""
    for alg, (kty, crvs) in _KEY_TYPES.items():
        if jwk.get("kty") == kty and (crvs is None or jwk.get("crv") in crvs):
            return alg
    return "unsupported"


def _parse_jwks(raw: bytes, source: str) -> list[dict[str, Any]]:
    """JWKS bytes -> the usable public JWK dicts. Raises ``OidcError`` when none is usable."""
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise OidcError(f"JWKS from {source} is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise OidcError(f'JWKS from {source} must be a JSON object with a "keys" list')
    keys: list[dict[str, Any]] = []
    for i, k in enumerate(doc["keys"]):
        label = f"key #{i}" + (f" (kid {k.get('kid')!r})" if isinstance(k, dict) else "")
        if not isinstance(k, dict):
            log.warning("JWKS from %s: %s is not a JSON object; skipped", source, label)
            continue
        if any(m in k for m in _PRIVATE_MEMBERS):
            log.warning(
                "JWKS from %s: %s holds private or symmetric key material; skipped", source, label
            )
            continue
        if k.get("kty") not in ("RSA", "EC", "OKP"):
            log.warning(
                "JWKS from %s: %s has unsupported kty %r (valid: EC, OKP, RSA); skipped",
                source,
                label,
                k.get("kty"),
            )
            continue
        if "kid" in k and not isinstance(k["kid"], str):
            log.warning("JWKS from %s: %s has a non-string kid; skipped", source, label)
            continue
        try:
            jwt.PyJWK(k, algorithm=_probe_alg(k))
        except jwt.PyJWTError:
            log.warning("JWKS from %s: %s is not a valid public key; skipped", source, label)
            continue
        keys.append(k)
    if not keys:
        raise OidcError(f"JWKS from {source} contains no usable public signing key")
    return keys


class OidcVerifier:
    """Verify OIDC JWTs against the configured issuer, audience and keys. Thread-safe."""

    def __init__(
        self,
        settings: OidcSettings,
        roles: Iterable[str],
        *,
        min_refetch_seconds: float = MIN_REFETCH_SECONDS,
    ) -> None:
        self._settings = settings
        self._roles = frozenset(roles)
        valid = ", ".join(sorted(self._roles)) or "none"
        if settings.default_role is not None and settings.default_role not in self._roles:
            raise OidcError(
                f"oidc default_role {settings.default_role!r} is not a role; valid roles: {valid}"
            )
        for group, role in settings.group_roles.items():
            if role not in self._roles:
                raise OidcError(
                    f"oidc group_roles maps group {group!r} to {role!r}, which is not a role; "
                    f"valid roles: {valid}"
                )
        self._algorithms = [a for a in settings.algorithms if a in _KEY_TYPES]
        if not self._algorithms:
            raise OidcError(
                f"oidc algorithms {', '.join(settings.algorithms) or '(empty)'} include none "
                f"that can be used; valid: {', '.join(sorted(_KEY_TYPES))}"
            )
        self._min_refetch = float(min_refetch_seconds)
        self._lock = threading.Lock()
        self._keys: _KeySet | None = None
        self._last_attempt: float | None = None
        self._last_fetch_error: str | None = None
        self._last_error: str | None = None
        self._closed = False
        self._jwks_path: Path | None = None
        if settings.jwks_file:
            p = Path(settings.jwks_file).expanduser()
            self._jwks_path = p if p.is_absolute() else paths.home() / p
            # A bad file is a configuration error: say so now, not on the first request.
            self._keys = _KeySet(self._load(), time.monotonic())
            self._last_attempt = self._keys.loaded_at

    # -- key loading -----------------------------------------------------------------

    def _source(self) -> str:
        return str(self._jwks_path) if self._jwks_path else str(self._settings.jwks_url)

    def _load(self) -> list[dict[str, Any]]:
        """Read the JWKS from its file or URL. Raises ``OidcError``."""
        if self._jwks_path is not None:
            try:
                raw = self._jwks_path.read_bytes()
            except OSError as e:
                raise OidcError(
                    f"cannot read oidc jwks_file {self._jwks_path}: {e.strerror or e}"
                ) from None
            return _parse_jwks(raw, str(self._jwks_path))
        url = str(self._settings.jwks_url)
        return _parse_jwks(_fetch(url), url)

    def _refresh(self, now: float) -> None:
        """Reload the keys (caller holds the lock). On failure the keys are dropped."""
        self._last_attempt = now
        try:
            self._keys = _KeySet(self._load(), now)
            self._last_fetch_error = None
        except OidcError as e:
            self._keys = None
            self._last_fetch_error = str(e)
            log.warning("OIDC keys unavailable (tokens refused): %s", e)

    def _current_keys(self) -> _KeySet:
        """The cached keys, reloaded when older than ``jwks_cache_seconds``."""
        with self._lock:
            now = time.monotonic()
            ks = self._keys
            stale = ks is None or now - ks.loaded_at >= self._settings.jwks_cache_seconds
            if stale:
                recently_failed = (
                    ks is None
                    and self._last_attempt is not None
                    and now - self._last_attempt < self._min_refetch
                )
                if not recently_failed:
                    self._refresh(now)
            if self._keys is None:
                raise _Refused(
                    f"signing keys unavailable: {self._last_fetch_error or 'not loaded'}"
                )
            return self._keys

    def _keys_after_unknown_kid(self, seen: _KeySet, kid: str) -> _KeySet:
        """A token names a kid we do not know: refetch once (rate-limited) for key rotation."""
        with self._lock:
            now = time.monotonic()
            if self._keys is not seen and self._keys is not None:
                return self._keys  # another thread already refetched
            if self._last_attempt is not None and now - self._last_attempt < self._min_refetch:
                raise _Refused(
                    f"unknown key id {kid!r} (keys refetched less than {self._min_refetch:g}s ago)"
                )
            self._refresh(now)
            if self._keys is None:
                raise _Refused(f"signing keys unavailable: {self._last_fetch_error}")
            return self._keys

    # -- verification ----------------------------------------------------------------

    def verify(self, token: str) -> OidcIdentity | None:
        """The identity a valid token speaks for; ``None`` (reason logged) for any bad token."""
        fp = fingerprint(token) if isinstance(token, str) else "-"
        try:
            ident = self._verify(token, fp)
        except _Refused as e:
            self._refuse(fp, str(e))
            return None
        except Exception as e:  # a bad token must never turn into a server error
            self._refuse(fp, f"unexpected {type(e).__name__} while verifying")
            return None
        self._last_error = None
        return ident

    def _refuse(self, fp: str, reason: str) -> None:
        self._last_error = reason
        log.info("OIDC token %s refused: %s", fp, reason)

    def last_error(self) -> str | None:
        """Why the last refused token was refused (``None`` after an accepted one)."""
        return self._last_error

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._keys = None

    def _verify(self, token: str, fp: str) -> OidcIdentity:
        if self._closed:
            raise _Refused("verifier is closed")
        if not isinstance(token, str) or not token:
            raise _Refused("empty token")
        if len(token) > MAX_TOKEN_LEN:
            raise _Refused(f"token longer than {MAX_TOKEN_LEN} characters")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise _Refused(f"malformed token: {e}") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise _Refused(
                f"algorithm {alg!r} not accepted; accepted: {', '.join(self._algorithms)}"
            )
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _Refused("kid header is not a string")

        keys = self._current_keys()
        if kid is not None and not keys.has_kid(kid):
            keys = self._keys_after_unknown_kid(keys, kid)
            if not keys.has_kid(kid):
                raise _Refused(f"unknown key id {kid!r}")
        candidates = keys.candidates(kid, alg)
        if not candidates:
            what = f"key {kid!r}" if kid is not None else "no key in the JWKS"
            raise _Refused(f"{what} cannot verify algorithm {alg}")

        s = self._settings
        claims: dict[str, Any] | None = None
        last: str = "signature verification failed"
        for index, _jwk in candidates:
            try:
                key = keys.key(index, alg)
            except jwt.PyJWTError:
                last = f"key #{index} in the JWKS cannot be used for {alg}"
                continue
            try:
                claims = jwt.decode(
                    token,
                    key=key,
                    algorithms=[alg],
                    audience=s.audience,
                    issuer=s.issuer,
                    leeway=s.leeway_seconds,
                    options={
                        "verify_signature": True,
                        "verify_exp": True,
                        "verify_nbf": True,
                        "verify_iat": True,
                        "verify_aud": True,
                        "verify_iss": True,
                        "require": list(REQUIRED_CLAIMS),
                    },
                )
                break
            except jwt.InvalidSignatureError:
                last = "signature verification failed"
                continue  # without a kid, another key may match
            except jwt.PyJWTError as e:
                raise _Refused(_describe(e)) from None
        if claims is None:
            raise _Refused(last)
        return self._identity(claims, fp)

    def _identity(self, claims: dict[str, Any], fp: str) -> OidcIdentity:
        s = self._settings
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub.strip():
            raise _Refused("sub claim is missing or empty")
        human = claims.get(s.human_claim)
        if not isinstance(human, str) or not human.strip():
            raise _Refused(f"human claim {s.human_claim!r} is missing, empty or not a string")
        role = self._role(claims)
        exp = claims.get("exp")
        return OidcIdentity(
            subject=sub,
            human=human.strip(),
            role=role,
            expires_at=int(exp) if exp is not None else None,
            issuer=str(claims["iss"]),
            token_fingerprint=fp,
        )

    def _role(self, claims: dict[str, Any]) -> str:
        s = self._settings
        valid = ", ".join(sorted(self._roles)) or "none"
        if s.role_claim and claims.get(s.role_claim) is not None:
            role = claims[s.role_claim]
            if not isinstance(role, str) or role not in self._roles:
                raise _Refused(
                    f"role claim {s.role_claim!r} is {_short(role)}, not a valid role; "
                    f"valid roles: {valid}"
                )
            return role
        if s.groups_claim and claims.get(s.groups_claim) is not None:
            groups = claims[s.groups_claim]
            if isinstance(groups, str):
                groups = [groups]
            if not isinstance(groups, list):
                raise _Refused(f"groups claim {s.groups_claim!r} is not a list of strings")
            for g in groups:
                if isinstance(g, str) and g in s.group_roles:
                    return s.group_roles[g]  # validated against the roles at construction
        if s.default_role is not None:
            return s.default_role
        raise _Refused(
            f"no role: no {s.role_claim!r} claim, no group mapped by group_roles, "
            "and no default_role"
        )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(e: jwt.PyJWTError) -> str:
    if isinstance(e, jwt.ExpiredSignatureError):
        return "token has expired"
    if isinstance(e, jwt.ImmatureSignatureError):
        return f"token is not yet valid: {e}"
    if isinstance(e, jwt.InvalidAudienceError):
        return f"wrong audience: {e}"
    if isinstance(e, jwt.InvalidIssuerError):
        return f"wrong issuer: {e}"
    if isinstance(e, jwt.MissingRequiredClaimError):
        return f"required claim {e.claim!r} is missing"
    if isinstance(e, jwt.InvalidAlgorithmError):
        return f"algorithm refused: {e}"
    return f"invalid token: {type(e).__name__}: {e}"


def _fetch(url: str) -> bytes:
    """GET the JWKS URL (https, or http on loopback: enforced by OidcSettings). Raises OidcError."""
    host = urllib.parse.urlsplit(url).hostname or ""
    handlers: list[urllib.request.BaseHandler] = []
    if host in ("127.0.0.1", "localhost", "::1") or host.startswith("127."):
        handlers.append(urllib.request.ProxyHandler({}))  # never send loopback via a proxy
    opener = urllib.request.build_opener(*handlers)
    req = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with opener.open(req, timeout=FETCH_TIMEOUT_SECONDS) as resp:
            raw: bytes = resp.read(MAX_JWKS_BYTES + 1)
    except urllib.error.HTTPError as e:
        raise OidcError(f"cannot fetch JWKS from {url}: HTTP {e.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise OidcError(f"cannot fetch JWKS from {url}: {reason}") from None
    if len(raw) > MAX_JWKS_BYTES:
        raise OidcError(f"JWKS from {url} is larger than {MAX_JWKS_BYTES} bytes")
    return raw
