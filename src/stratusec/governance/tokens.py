"""Static bearer tokens for the MCP HTTP face.

A token is ``stx_`` + 32 random bytes (URL-safe base64). It is shown once, at creation;
the store keeps only its SHA-256 and a short prefix (for listings). Verification hashes
the presented value, looks the row up by hash and compares the digests in constant
time. Unknown, expired and revoked tokens all verify to ``None``: the caller answers
401 without saying which.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from stratusec.errors import NotFoundError, StratusecError
from stratusec.store.db import Store, utcnow
from stratusec.store.models import TokenRow

TOKEN_SCHEME = "stx_"  # noqa: S105 - a public prefix, not a secret
DEFAULT_ROLES: tuple[str, ...] = ("reader", "operator", "admin")
PREFIX_LEN = len(TOKEN_SCHEME) + 6  # "stx_" + 6 characters: identifies, does not authenticate
MAX_PRESENTED_LEN = 256  # anything longer is not one of ours; refuse before hashing
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)  # at most one last_used_at write per minute
MAX_EXPIRY = dt.timedelta(days=3650)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class TokenError(StratusecError):
    """A token cannot be created or changed as asked."""


@dataclass(frozen=True)
class TokenIdentity:
    """Who a verified token speaks for."""

    token_id: str
    name: str
    role: str
    for_human: str
    expires_at: dt.datetime | None


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _iso(value: dt.datetime | None) -> str | None:
    v = _as_utc(value)
    return v.isoformat() if v is not None else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_duration(text: str) -> dt.timedelta:
    """``"30m"``, ``"12h"``, ``"30d"``, ``"2w"`` -> a timedelta (positive, at most 10 years)."""
    m = _DURATION_RE.match(text or "")
    if not m:
        raise TokenError(f"invalid duration {text!r}; use a number and a unit: 30m, 12h, 30d or 2w")
    amount = int(m.group(1))
    if amount <= 0:
        raise TokenError(f"invalid duration {text!r}; it must be greater than zero")
    try:
        delta = dt.timedelta(**{_UNITS[m.group(2)]: amount})
    except OverflowError:
        delta = MAX_EXPIRY + dt.timedelta(days=1)
    if delta > MAX_EXPIRY:
        raise TokenError(f"invalid duration {text!r}; at most {MAX_EXPIRY.days}d")
    return delta


def _status(row: Any, now: dt.datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    expires = _as_utc(row.expires_at)
    if expires is not None and expires <= now:
        return "expired"
    return "active"


def _public(row: TokenRow, now: dt.datetime) -> dict[str, Any]:
    """A token as listings show it: never the hash, never the secret."""
    return {
        "id": row.id,
        "name": row.name,
        "prefix": row.prefix,
        "role": row.role,
        "for_human": row.for_human,
        "created_by": row.created_by,
        "created_at": _iso(row.created_at),
        "expires_at": _iso(row.expires_at),
        "revoked_at": _iso(row.revoked_at),
        "revoked_by": row.revoked_by,
        "last_used_at": _iso(row.last_used_at),
        "status": _status(row, now),
    }


def create_token(
    store: Store,
    *,
    name: str,
    role: str,
    for_human: str,
    created_by: str,
    expires: dt.timedelta | None,
    roles: Iterable[str] = DEFAULT_ROLES,
) -> tuple[str, str]:
    """Create a token; returns ``(token_id, secret)``. The secret is not stored anywhere."""
    valid_roles = sorted(set(roles))
    if not _NAME_RE.match(name or ""):
        raise TokenError(f"invalid token name {name!r}; use 1-128 letters, digits, '.', '_' or '-'")
    if role not in valid_roles:
        raise TokenError(f"unknown role {role!r}; valid roles: {', '.join(valid_roles)}")
    for_human = (for_human or "").strip()
    if not for_human or len(for_human) > 256:
        raise TokenError("--for must name the human the token acts for (1-256 characters)")
    if expires is not None and (expires <= dt.timedelta(0) or expires > MAX_EXPIRY):
        raise TokenError(f"token expiry must be between 1 minute and {MAX_EXPIRY.days}d")
    now = utcnow()
    secret = TOKEN_SCHEME + secrets.token_urlsafe(32)
    token_id = uuid.uuid4().hex
    row = TokenRow(
        id=token_id,
        name=name,
        role=role,
        for_human=for_human,
        token_hash=hash_secret(secret),
        prefix=secret[:PREFIX_LEN],
        created_by=created_by[:256],
        created_at=now,
        expires_at=now + expires if expires is not None else None,
    )
    with store.session() as s:
        if s.scalars(select(TokenRow.id).where(TokenRow.name == name)).first() is not None:
            raise TokenError(f"a token named {name!r} already exists; pick another name")
        s.add(row)
        try:
            s.commit()
        except IntegrityError as exc:  # a concurrent create with the same name
            s.rollback()
            raise TokenError(f"a token named {name!r} already exists; pick another name") from exc
    return token_id, secret


def verify_token(store: Store, presented: str | None) -> TokenIdentity | None:
    """The identity behind a presented bearer token, or ``None`` (unknown, expired, revoked,
    malformed). Never raises on bad input and never echoes the presented value."""
    if not presented or not isinstance(presented, str) or len(presented) > MAX_PRESENTED_LEN:
        return None
    digest = hash_secret(presented)
    with store.engine.connect() as conn:
        row = conn.execute(_BY_HASH, {"h": digest}).first()
        if row is None:
            return None
        if not hmac.compare_digest(row.token_hash.encode("ascii"), digest.encode("ascii")):
            return None
        now = utcnow()
        if _status(row, now) != "active":
            return None
        last = _as_utc(row.last_used_at)
        if last is None or now - last >= LAST_USED_RESOLUTION:
            conn.execute(update(TokenRow).where(TokenRow.id == row.id).values(last_used_at=now))
            conn.commit()
        return TokenIdentity(
            token_id=row.id,
            name=row.name,
            role=row.role,
            for_human=row.for_human,
            expires_at=_as_utc(row.expires_at),
        )


# A Core lookup by hash (compiled once; the hot path of every HTTP request).
_BY_HASH = select(TokenRow.__table__).where(TokenRow.__table__.c.token_hash == bindparam("h"))


def list_tokens(store: Store) -> list[dict[str, Any]]:
    """Every token (active, expired, revoked), oldest first, without hashes or secrets."""
    with store.session() as s:
        rows = list(s.scalars(select(TokenRow).order_by(TokenRow.created_at, TokenRow.name)))
    now = utcnow()
    return [_public(r, now) for r in rows]


def revoke_token(store: Store, name_or_id: str, revoked_by: str) -> dict[str, Any]:
    """Revoke a token by name or id. Revoking a revoked token changes nothing."""
    with store.session() as s:
        row = s.scalars(select(TokenRow).where(TokenRow.name == name_or_id)).first()
        if row is None:
            row = s.get(TokenRow, name_or_id)
        if row is None:
            raise NotFoundError(f"unknown token {name_or_id!r}; see 'stratusec token list'")
        if row.revoked_at is None:
            s.execute(
                update(TokenRow)
                .where(TokenRow.id == row.id, TokenRow.revoked_at.is_(None))
                .values(revoked_at=utcnow(), revoked_by=revoked_by[:256])
            )
            s.commit()
            row = s.get(TokenRow, row.id, populate_existing=True)
            assert row is not None
        return _public(row, utcnow())
