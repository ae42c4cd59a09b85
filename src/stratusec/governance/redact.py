"""Secret redaction for anything that is recorded (audit arguments, error texts).

Two rules, applied recursively through dicts, lists and tuples:

1. **Secret-looking keys.** A value whose key names a secret is replaced by
   ``"[REDACTED]"`` whatever it holds (string, number, dict, list). A key is secret when,
   lower-cased and with ``-``/space normalised to ``_``, it contains one of ``password``,
   ``passwd``, ``passphrase``, ``secret``, ``token``, ``authorization``, ``credential``,
   ``private_key``, ``api_key``/``apikey``, ``session_key``, ``signature``, ``cookie``;
   or it is a ``key`` qualified by ``secret``/``access``/``private``/``signing``/
   ``encryption`` (``SecretAccessKey``, ``aws_secret_access_key``, ``access_key``). A bare
   ``key`` or ``access_key_id`` is *not* a secret (``AccessKeyId`` identifies a key and is
   needed to investigate it); its value is still scanned by rule 2.

2. **Secret-looking values**, wherever they appear inside any string:

   - PEM private key blocks (``-----BEGIN ... PRIVATE KEY----- ... -----END ...``);
   - ``Bearer <token>`` (the token is replaced, the word ``Bearer`` kept);
   - JWTs (three base64url segments, the first starting ``eyJ``);
   - ``name=value`` / ``name: value`` pairs whose name is a secret key (rule 1), as in
     ``password=hunter2`` inside an error message;
   - URLs with a password (``postgresql://user:pw@host/db``): only the password is
     masked, the rest of the URL stays readable;
   - AWS session tokens (``FwoGZXIvYXdzE...``/``IQoJb3JpZ2luX2Vj...``, long base64);
   - 40-character base64 strings standing alone (the shape of an AWS secret access key),
     which must mix letters with a digit or ``/``/``+`` to avoid masking ordinary words.

   Access key ids (``AKIA...``/``ASIA...``), ARNs, hashes in hex and uuids are kept.

``redact`` never mutates its input; it returns a new structure. Non-string leaves
(numbers, booleans, None) under non-secret keys are returned unchanged.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_KEY_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "authorization",
    "credential",
    "private_key",
    "privatekey",
    "api_key",
    "apikey",
    "session_key",
    "signature",
    "cookie",
)
_KEY_QUALIFIERS = ("secret", "access", "private", "signing", "encryption")
_NOT_SECRET_KEYS = frozenset({"access_key_id", "accesskeyid", "key_id", "keyid"})

_PEM = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_URL_PASSWORD = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@]+:)([^\s@/]+)(@)")
_SESSION_TOKEN = re.compile(r"(?<![A-Za-z0-9+/])(?:FwoGZXIvYXdzE|IQoJb3JpZ2lu)[A-Za-z0-9+/=]{20,}")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40}(?![A-Za-z0-9+/=])")
_KV_SECRET = re.compile(
    r"(?i)\b([\w-]*(?:password|passwd|secret|token|api[_-]?key|private[_-]?key|access[_-]?key)"
    r"[\w-]*)([\"']?\s*[=:]\s*)([\"']?)([^\s\"'&,;]+)"
)
_HEX = re.compile(r"[0-9a-fA-F]{40}")
# Stratusec's own bearer tokens: "stx_" and 43 URL-safe base64 characters.
_STX_TOKEN = re.compile(r"\bstx_[A-Za-z0-9_-]{20,}")


def is_secret_key(key: object) -> bool:
    """True when a mapping key names a secret (see the module docstring)."""
    if not isinstance(key, str):
        return False
    k = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key)  # SecretAccessKey -> Secret_Access_Key
    k = re.sub(r"[\s\-.]+", "_", k).lower()
    if k in _NOT_SECRET_KEYS:
        return False
    compact = k.replace("_", "")
    if any(w in k or w.replace("_", "") in compact for w in _SECRET_KEY_WORDS):
        return True
    return _qualified_key(k.split("_"))


def _qualified_key(parts: list[str]) -> bool:
    return ("key" in parts or "keys" in parts) and any(q in parts for q in _KEY_QUALIFIERS)


def _mask_aws_secret(m: re.Match[str]) -> str:
    s = m.group(0)
    if _HEX.fullmatch(s):  # a SHA-1 or other hex digest: not a secret key
        return s
    has_digit_or_sym = any(c.isdigit() or c in "/+" for c in s)
    has_upper = any(c.isupper() for c in s)
    has_lower = any(c.islower() for c in s)
    return REDACTED if has_digit_or_sym and has_upper and has_lower else s


def _mask_kv(m: re.Match[str]) -> str:
    name = m.group(1)
    if not is_secret_key(name) or m.group(4) == REDACTED:
        return m.group(0)
    return f"{name}{m.group(2)}{m.group(3)}{REDACTED}"


def redact_text(text: str) -> str:
    """Mask secret-looking substrings of ``text`` (rule 2)."""
    if not text:
        return text
    text = _PEM.sub(REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _JWT.sub(REDACTED, text)
    text = _STX_TOKEN.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
    text = _KV_SECRET.sub(_mask_kv, text)
    text = _SESSION_TOKEN.sub(REDACTED, text)
    return _AWS_SECRET.sub(_mask_aws_secret, text)


def secret_fingerprint(value: str) -> str:
    """First 16 hex characters of the value's SHA-256: names a secret (a token, a key id)
    in logs and records without revealing it."""
    return hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:16]


def redact(arguments: Mapping[str, Any] | None) -> dict[str, Any]:
    """A copy of ``arguments`` with secret values replaced by ``"[REDACTED]"``."""
    if not arguments:
        return {}
    return {str(k): _redact_value(k, v) for k, v in arguments.items()}


def redact_value(value: Any) -> Any:
    """Redact any JSON-like value (dict, list, string, scalar)."""
    return _redact_value(None, value)


def _redact_value(key: object, value: Any) -> Any:
    if key is not None and is_secret_key(key) and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): _redact_value(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(None, v) for v in value]
    if isinstance(value, bytes):
        return REDACTED
    return value
