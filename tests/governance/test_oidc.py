"""OIDC JWT verification: real keys, real signatures, a real JWKS file and HTTP endpoint;
every bad token refused (and logged by fingerprint), never raised."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from pydantic import ValidationError

from stratusec.config import OidcSettings
from stratusec.governance.oidc import OidcError, OidcIdentity, OidcVerifier

ISSUER = "https://idp.example.com/"
AUDIENCE = "https://stratusec.example.com/mcp"
ROLES = ("reader", "operator", "admin")


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def rsa_key2() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _rsa_jwk(key: rsa.RSAPrivateKey, kid: str, **extra: Any) -> dict[str, Any]:
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", **extra}


def _ec_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig"}


@pytest.fixture
def jwks_file(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> Path:
    f = tmp_path / "jwks.json"
    f.write_text(json.dumps({"keys": [_rsa_jwk(rsa_key, "rsa1"), _ec_jwk(ec_key, "ec1")]}))
    return f


def _settings(**kw: Any) -> OidcSettings:
    base: dict[str, Any] = {"issuer": ISSUER, "audience": AUDIENCE}
    base.update(kw)
    return OidcSettings(**base)


@pytest.fixture
def verifier(jwks_file: Path) -> Iterator[OidcVerifier]:
    v = OidcVerifier(
        _settings(
            jwks_file=str(jwks_file),
            group_roles={"sec-admins": "admin", "sec-ops": "operator"},
        ),
        ROLES,
    )
    yield v
    v.close()


def _claims(**kw: Any) -> dict[str, Any]:
    now = int(time.time())
    c: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-123",
        "email": "alice@example.com",
        "iat": now,
        "exp": now + 600,
    }
    for k, v in kw.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def _sign(key: Any, kid: str | None = "rsa1", alg: str = "RS256", **claims: Any) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(_claims(**claims), key, algorithm=alg, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A token PyJWT refuses to produce: alg none, or HS256 keyed with a public key."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(sig)}"


def _refused(v: OidcVerifier, token: str, reason_part: str) -> None:
    assert v.verify(token) is None
    reason = v.last_error()
    assert reason is not None and reason_part in reason, reason


# -- accepted tokens ---------------------------------------------------------------------


def test_role_from_role_claim(verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    token = _sign(rsa_key, stratusec_role="operator", groups=["sec-admins"])
    ident = verifier.verify(token)
    assert isinstance(ident, OidcIdentity)
    assert ident.subject == "user-123"
    assert ident.human == "alice@example.com"
    assert ident.role == "operator"  # the explicit claim wins over groups
    assert ident.issuer == ISSUER
    assert ident.expires_at is not None and abs(ident.expires_at - (time.time() + 600)) < 5
    assert ident.token_fingerprint == hashlib.sha256(token.encode()).hexdigest()[:16]
    assert verifier.last_error() is None


def test_role_from_groups(verifier: OidcVerifier, rsa_key: rsa.RSAPrivateKey) -> None:
    ident = verifier.verify(_sign(rsa_key, groups=["staff", "sec-ops", "sec-admins"]))
    assert ident is not None and ident.role == "operator"  # first mapped group in token order


def test_default_role(jwks_file: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    v = OidcVerifier(_settings(jwks_file=str(jwks_file), default_role="reader"), ROLES)
    ident = v.verify(_sign(rsa_key, groups=["unmapped"]))
    assert ident is not None and ident.role == "reader"


def test_ec_key(verifier: OidcVerifier, ec_key: ec.EllipticCurvePrivateKey) -> None:
    ident = verifier.verify(_sign(ec_key, kid="ec1", alg="ES256", stratusec_role="admin"))
    assert ident is not None and ident.role == "admin"


def test_ps256_with_rsa_key_without_alg(verifier: OidcVerifier, rsa_key: Any) -> None:
    ident = verifier.verify(_sign(rsa_key, alg="PS256", stratusec_role="reader"))
    assert ident is not None and ident.role == "reader"


def test_token_without_kid_tries_matching_keys(verifier: OidcVerifier, rsa_key: Any) -> None:
    assert verifier.verify(_sign(rsa_key, kid=None, stratusec_role="reader")) is not None


def test_audience_list_containing_ours(verifier: OidcVerifier, rsa_key: Any) -> None:
    token = _sign(rsa_key, aud=["https://other.example.com", AUDIENCE], stratusec_role="reader")
    assert verifier.verify(token) is not None


def test_small_clock_skew_within_leeway(verifier: OidcVerifier, rsa_key: Any) -> None:
    now = int(time.time())
    token = _sign(rsa_key, iat=now + 10, nbf=now + 10, stratusec_role="reader")
    assert verifier.verify(token) is not None


def test_relative_jwks_file_is_under_home(stratusec_home: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    stratusec_home.mkdir(parents=True, exist_ok=True)
    (stratusec_home / "idp-jwks.json").write_text(json.dumps({"keys": [_rsa_jwk(rsa_key, "rsa1")]}))
    v = OidcVerifier(_settings(jwks_file="idp-jwks.json", default_role="reader"), ROLES)
    assert v.verify(_sign(rsa_key)) is not None


# -- refused tokens ----------------------------------------------------------------------


def test_wrong_audience(verifier: OidcVerifier, rsa_key: Any) -> None:
    _refused(
        verifier,
        _sign(rsa_key, aud="https://other.example.com", stratusec_role="reader"),
        "audience",
    )
    _refused(
        verifier,
        _sign(rsa_key, aud=["https://a", "https://b"], stratusec_role="reader"),
        "audience",
    )


def test_wrong_issuer(verifier: OidcVerifier, rsa_key: Any) -> None:
    _refused(
        verifier, _sign(rsa_key, iss="https://evil.example.com/", stratusec_role="reader"), "issuer"
    )


def test_expired(verifier: OidcVerifier, rsa_key: Any) -> None:
    now = int(time.time())
    token = _sign(rsa_key, iat=now - 3600, exp=now - 120, stratusec_role="reader")
    _refused(verifier, token, "expired")


def test_not_yet_valid(verifier: OidcVerifier, rsa_key: Any) -> None:
    now = int(time.time())
    _refused(verifier, _sign(rsa_key, nbf=now + 600, stratusec_role="reader"), "not yet valid")
    _refused(verifier, _sign(rsa_key, iat=now + 600, stratusec_role="reader"), "not yet valid")


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "sub"])
def test_required_claims(verifier: OidcVerifier, rsa_key: Any, claim: str) -> None:
    claims: dict[str, Any] = {claim: None, "stratusec_role": "reader"}
    _refused(verifier, _sign(rsa_key, **claims), claim)


def test_bad_signature_other_key(verifier: OidcVerifier, rsa_key2: Any) -> None:
    _refused(verifier, _sign(rsa_key2, kid="rsa1", stratusec_role="reader"), "signature")


def test_tampered_payload(verifier: OidcVerifier, rsa_key: Any) -> None:
    token = _sign(rsa_key, stratusec_role="reader")
    head, _payload, sig = token.split(".")
    forged = _b64(json.dumps(_claims(stratusec_role="admin")).encode())
    _refused(verifier, f"{head}.{forged}.{sig}", "signature")


def test_unknown_kid(verifier: OidcVerifier, rsa_key2: Any) -> None:
    _refused(verifier, _sign(rsa_key2, kid="nope", stratusec_role="reader"), "unknown key id")


def test_alg_none_refused(verifier: OidcVerifier) -> None:
    token = _hand_made({"alg": "none", "kid": "rsa1"}, _claims(stratusec_role="admin"), None)
    _refused(verifier, token, "algorithm")


def test_hs256_key_confusion_refused(verifier: OidcVerifier, rsa_key: Any) -> None:
    """The classic attack: HMAC-sign with the (public) RSA key as the shared secret."""
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (pem, pem.strip()):
        token = _hand_made(
            {"alg": "HS256", "typ": "JWT", "kid": "rsa1"}, _claims(stratusec_role="admin"), secret
        )
        _refused(verifier, token, "algorithm")


def test_alg_key_type_mismatch_refused(verifier: OidcVerifier, ec_key: Any) -> None:
    # An ES256 token naming the RSA key's kid.
    _refused(
        verifier, _sign(ec_key, kid="rsa1", alg="ES256", stratusec_role="reader"), "cannot verify"
    )


def test_alg_not_in_settings(jwks_file: Path, ec_key: Any) -> None:
    v = OidcVerifier(_settings(jwks_file=str(jwks_file), algorithms=["RS256"]), ROLES)
    _refused(v, _sign(ec_key, kid="ec1", alg="ES256", stratusec_role="reader"), "algorithm")


def test_missing_human_claim(verifier: OidcVerifier, rsa_key: Any) -> None:
    _refused(verifier, _sign(rsa_key, email=None, stratusec_role="reader"), "'email'")
    _refused(verifier, _sign(rsa_key, email="  ", stratusec_role="reader"), "'email'")
    _refused(verifier, _sign(rsa_key, email=["a@b"], stratusec_role="reader"), "'email'")


def test_role_not_valid(verifier: OidcVerifier, rsa_key: Any) -> None:
    _refused(
        verifier, _sign(rsa_key, stratusec_role="root"), "valid roles: admin, operator, reader"
    )
    _refused(verifier, _sign(rsa_key, stratusec_role=["admin"]), "not a valid role")


def test_no_role_resolvable(verifier: OidcVerifier, rsa_key: Any) -> None:
    _refused(verifier, _sign(rsa_key, groups=["staff"]), "no role")
    _refused(verifier, _sign(rsa_key), "no role")


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "x" * 20000, "..", "e30.e30.e30"])
def test_garbage_never_raises(verifier: OidcVerifier, token: str) -> None:
    assert verifier.verify(token) is None
    assert verifier.last_error()


def test_refusal_logged_by_fingerprint_only(
    verifier: OidcVerifier, rsa_key2: Any, caplog: pytest.LogCaptureFixture
) -> None:
    token = _sign(rsa_key2, stratusec_role="reader")
    with caplog.at_level(logging.INFO, logger="stratusec.oidc"):
        assert verifier.verify(token) is None
    text = caplog.text
    assert hashlib.sha256(token.encode()).hexdigest()[:16] in text
    assert "signature" in text
    for part in token.split("."):
        assert part not in text


def test_closed_verifier_refuses(jwks_file: Path, rsa_key: Any) -> None:
    v = OidcVerifier(_settings(jwks_file=str(jwks_file), default_role="reader"), ROLES)
    assert v.verify(_sign(rsa_key)) is not None
    v.close()
    assert v.verify(_sign(rsa_key)) is None


# -- configuration -----------------------------------------------------------------------


def test_unreadable_jwks_file(tmp_path: Path) -> None:
    with pytest.raises(OidcError, match="cannot read oidc jwks_file"):
        OidcVerifier(_settings(jwks_file=str(tmp_path / "missing.json")), ROLES)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a"]', '"keys" list'),
        ('{"keys": []}', "no usable public signing key"),
        ('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}', "no usable public signing key"),
        ('{"keys": [{"kty": "RSA", "n": "bad"}]}', "no usable public signing key"),
    ],
)
def test_bad_jwks_file(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "jwks.json"
    f.write_text(content)
    with pytest.raises(OidcError, match=message):
        OidcVerifier(_settings(jwks_file=str(f)), ROLES)


def test_private_key_material_is_skipped(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> None:
    private = RSAAlgorithm.to_jwk(rsa_key, as_dict=True)
    f = tmp_path / "jwks.json"
    f.write_text(json.dumps({"keys": [{**private, "kid": "rsa1"}]}))
    with pytest.raises(OidcError, match="no usable public signing key"):
        OidcVerifier(_settings(jwks_file=str(f)), ROLES)


def test_role_mapping_checked_against_roles(jwks_file: Path) -> None:
    with pytest.raises(OidcError, match="valid roles: admin, operator, reader"):
        OidcVerifier(_settings(jwks_file=str(jwks_file), default_role="root"), ROLES)
    with pytest.raises(OidcError, match="'ops' to 'superuser'"):
        OidcVerifier(_settings(jwks_file=str(jwks_file), group_roles={"ops": "superuser"}), ROLES)


@pytest.mark.parametrize("algs", [["HS256"], ["RS256", "HS512"], ["none"]])
def test_settings_refuse_symmetric_and_none(jwks_file: Path, algs: list[str]) -> None:
    with pytest.raises(ValidationError, match="not accepted"):
        _settings(jwks_file=str(jwks_file), algorithms=algs)


def test_settings_need_exactly_one_key_source(jwks_file: Path) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        _settings()
    with pytest.raises(ValidationError, match="exactly one"):
        _settings(jwks_file=str(jwks_file), jwks_url="https://idp.example.com/jwks")
    with pytest.raises(ValidationError, match="https"):
        _settings(jwks_url="http://idp.example.com/jwks")


# -- JWKS over HTTP ----------------------------------------------------------------------


class _JwksServer:
    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.hits = 0
        self.status = 200
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = json.dumps({"keys": outer.keys}).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def jwks_server() -> Iterator[_JwksServer]:
    s = _JwksServer()
    yield s
    s.close()


def test_jwks_url_cached(jwks_server: _JwksServer, rsa_key: Any) -> None:
    jwks_server.keys = [_rsa_jwk(rsa_key, "rsa1")]
    v = OidcVerifier(_settings(jwks_url=jwks_server.url, default_role="reader"), ROLES)
    assert jwks_server.hits == 0  # fetched on first use, not at construction
    for _ in range(3):
        assert v.verify(_sign(rsa_key)) is not None
    assert jwks_server.hits == 1


def test_jwks_url_key_rotation(jwks_server: _JwksServer, rsa_key: Any, rsa_key2: Any) -> None:
    jwks_server.keys = [_rsa_jwk(rsa_key, "rsa1")]
    v = OidcVerifier(
        _settings(jwks_url=jwks_server.url, default_role="reader"), ROLES, min_refetch_seconds=0.3
    )
    assert v.verify(_sign(rsa_key)) is not None
    assert jwks_server.hits == 1
    jwks_server.keys = [_rsa_jwk(rsa_key, "rsa1"), _rsa_jwk(rsa_key2, "rsa2")]
    new_token = _sign(rsa_key2, kid="rsa2")
    # Just fetched: an unknown kid does not trigger another fetch yet.
    _refused(v, new_token, "unknown key id 'rsa2'")
    _refused(v, _sign(rsa_key2, kid="bogus"), "unknown key id")
    assert jwks_server.hits == 1
    time.sleep(0.35)
    ident = v.verify(new_token)
    assert ident is not None, v.last_error()
    assert jwks_server.hits == 2
    assert v.verify(_sign(rsa_key)) is not None  # the old key still works
    # A kid that is still unknown after the refetch: refused, and no refetch storm.
    for _ in range(5):
        _refused(v, _sign(rsa_key2, kid="bogus"), "unknown key id")
    assert jwks_server.hits == 2


def test_jwks_url_concurrent_first_use_fetches_once(jwks_server: _JwksServer, rsa_key: Any) -> None:
    jwks_server.keys = [_rsa_jwk(rsa_key, "rsa1")]
    v = OidcVerifier(_settings(jwks_url=jwks_server.url, default_role="reader"), ROLES)
    token = _sign(rsa_key)
    results: list[OidcIdentity | None] = []

    def work() -> None:
        results.append(v.verify(token))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and all(r is not None for r in results)
    assert jwks_server.hits == 1


def test_jwks_url_http_error_fails_closed(jwks_server: _JwksServer, rsa_key: Any) -> None:
    jwks_server.keys = [_rsa_jwk(rsa_key, "rsa1")]
    jwks_server.status = 500
    v = OidcVerifier(_settings(jwks_url=jwks_server.url, default_role="reader"), ROLES)
    _refused(v, _sign(rsa_key), "HTTP 500")


def test_unreachable_jwks_url_refuses(rsa_key: Any, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/jwks.json"
    v = OidcVerifier(_settings(jwks_url=url, default_role="reader"), ROLES)
    with caplog.at_level(logging.INFO, logger="stratusec.oidc"):
        _refused(v, _sign(rsa_key), "signing keys unavailable")
    assert "cannot fetch JWKS" in caplog.text
