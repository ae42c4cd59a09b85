"""Static bearer tokens on SQLite and PostgreSQL: created once, stored as a hash, compared in
constant time, expirable and revocable; and the ``stratusec token`` commands."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text, update

from stratusec.cli import governance as gov_cli
from stratusec.cli.app import app
from stratusec.config import Config, Storage, save
from stratusec.errors import NotFoundError
from stratusec.governance import tokens
from stratusec.governance.tokens import (
    TokenError,
    create_token,
    list_tokens,
    parse_duration,
    revoke_token,
    verify_token,
)
from stratusec.store.db import Store, open_store
from stratusec.store.models import TokenRow
from tests.cli_helpers import run_cli


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


def _make(store: Store, name: str = "ci", **kw: Any) -> tuple[str, str]:
    args: dict[str, Any] = {
        "name": name,
        "role": "reader",
        "for_human": "alice",
        "created_by": "root",
        "expires": None,
    }
    args.update(kw)
    return create_token(store, **args)


def test_round_trip(store: Store) -> None:
    token_id, secret = _make(store, expires=dt.timedelta(days=30))
    assert secret.startswith("stx_") and len(secret) >= 40
    ident = verify_token(store, secret)
    assert ident is not None
    assert (ident.token_id, ident.name, ident.role, ident.for_human) == (
        token_id,
        "ci",
        "reader",
        "alice",
    )
    assert ident.expires_at is not None and ident.expires_at > dt.datetime.now(dt.UTC)
    [row] = list_tokens(store)
    assert row["last_used_at"] is not None and row["status"] == "active"
    assert row["prefix"] == secret[: tokens.PREFIX_LEN]
    assert "token_hash" not in row and secret not in repr(row)


def test_wrong_malformed_and_unknown_tokens(store: Store) -> None:
    _id, secret = _make(store)
    assert verify_token(store, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert verify_token(store, "stx_" + "x" * 43) is None
    assert verify_token(store, "") is None
    assert verify_token(store, None) is None
    assert verify_token(store, secret + "x" * 500) is None
    assert verify_token(store, secret.upper()) is None


def test_expired_token_is_refused(store: Store) -> None:
    token_id, secret = _make(store, expires=dt.timedelta(hours=1))
    assert verify_token(store, secret) is not None
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    with store.engine.begin() as conn:
        conn.execute(update(TokenRow).where(TokenRow.id == token_id).values(expires_at=past))
    assert verify_token(store, secret) is None
    assert list_tokens(store)[0]["status"] == "expired"


def test_revoked_token_is_refused_and_revoke_is_idempotent(store: Store) -> None:
    token_id, secret = _make(store)
    _make(store, name="other")
    first = revoke_token(store, "ci", "bob")
    assert first["status"] == "revoked" and first["revoked_by"] == "bob"
    assert verify_token(store, secret) is None
    again = revoke_token(store, token_id, "carol")  # by id, second time: unchanged
    assert again["revoked_at"] == first["revoked_at"] and again["revoked_by"] == "bob"
    statuses = {t["name"]: t["status"] for t in list_tokens(store)}
    assert statuses == {"ci": "revoked", "other": "active"}
    with pytest.raises(NotFoundError, match="unknown token"):
        revoke_token(store, "nope", "bob")


def test_only_the_hash_is_stored(store: Store) -> None:
    _id, secret = _make(store)
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM tokens")).mappings().all()
    dump = repr([dict(r) for r in rows])
    assert secret not in dump
    assert secret[tokens.PREFIX_LEN :] not in dump  # not even the secret part
    assert rows[0]["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert len(rows[0]["prefix"]) <= 16


def test_constant_time_comparison_is_used(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _id, secret = _make(store)
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    assert verify_token(store, secret) is not None
    assert len(calls) == 1
    # And a failed comparison refuses the token even if the lookup matched.
    monkeypatch.setattr(tokens.hmac, "compare_digest", lambda a, b: False)
    assert verify_token(store, secret) is None


def test_creation_is_validated(store: Store) -> None:
    _make(store)
    with pytest.raises(TokenError, match="already exists"):
        _make(store, role="admin")
    with pytest.raises(TokenError, match=r"unknown role 'root'; valid roles: admin, operator"):
        _make(store, name="x", role="root")
    with pytest.raises(TokenError, match="unknown role 'reader'"):
        _make(store, name="x", roles=["auditor"])
    _make(store, name="custom", role="auditor", roles=["auditor"])
    with pytest.raises(TokenError, match="invalid token name"):
        _make(store, name="bad name")
    with pytest.raises(TokenError, match="--for"):
        _make(store, name="y", for_human="  ")
    with pytest.raises(TokenError, match="expiry"):
        _make(store, name="z", expires=dt.timedelta(0))
    assert [t["name"] for t in list_tokens(store)] == ["ci", "custom"]


@pytest.mark.parametrize(
    ("text_", "delta"),
    [
        ("30d", dt.timedelta(days=30)),
        ("12h", dt.timedelta(hours=12)),
        ("2w", dt.timedelta(weeks=2)),
        ("45m", dt.timedelta(minutes=45)),
        (" 7d ", dt.timedelta(days=7)),
    ],
)
def test_parse_duration(text_: str, delta: dt.timedelta) -> None:
    assert parse_duration(text_) == delta


@pytest.mark.parametrize("bad", ["", "30", "d", "0d", "-1d", "1y", "1.5d", "99999999w"])
def test_parse_duration_rejects(bad: str) -> None:
    with pytest.raises(TokenError, match="invalid duration"):
        parse_duration(bad)


# -- CLI ------------------------------------------------------------------------------------
@pytest.fixture
def cli_store(store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """A config pointing at the test store, and the governance sub-apps on the real CLI
    (a no-op once cli/app.py registers them)."""
    save(Config(storage=Storage(url=store_url)))
    names = {g.name for g in app.registered_groups}
    if "token" not in names:
        monkeypatch.setattr(app, "registered_groups", list(app.registered_groups))
        app.add_typer(gov_cli.token_app, name="token")
        app.add_typer(gov_cli.approvals_app, name="approvals")
    monkeypatch.setattr("getpass.getuser", lambda: "root")
    s = open_store(store_url)
    yield s
    s.close()


def test_cli_token_create_list_revoke(cli_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    r = run_cli(capsys, "token", "create", "--name", "ci", "--role", "reader", "--for", "alice",
                "--expires", "30d")  # fmt: skip
    assert r.code == 0, r.err
    secret = r.out.strip()
    assert secret.startswith("stx_") and r.out == secret + "\n"  # the secret and nothing else
    assert "only time" in r.err and secret not in r.err
    ident = verify_token(cli_store, secret)
    assert ident is not None and ident.for_human == "alice"
    digest = hashlib.sha256(secret.encode()).hexdigest()

    r = run_cli(capsys, "token", "list")
    assert r.code == 0, r.err
    for word in ("ci", "reader", "alice", "active", secret[: tokens.PREFIX_LEN]):
        assert word in r.out
    assert secret not in r.out + r.err and digest not in r.out + r.err

    r = run_cli(capsys, "token", "list", "-o", "json")
    assert r.code == 0 and secret not in r.out and digest not in r.out
    assert '"role": "reader"' in r.out

    r = run_cli(capsys, "token", "create", "--name", "ci", "--role", "reader", "--for", "bob")
    assert r.code == 2 and "already exists" in r.err and "stx_" not in r.out

    r = run_cli(capsys, "token", "revoke", "ci")
    assert r.code == 0 and "revoked" in r.out and "root" in r.out
    assert verify_token(cli_store, secret) is None
    r = run_cli(capsys, "token", "revoke", "ci")
    assert r.code == 0
    r = run_cli(capsys, "token", "list")
    assert "revoked" in r.out
    r = run_cli(capsys, "token", "revoke", "missing")
    assert r.code == 2 and "unknown token 'missing'" in r.err


def test_cli_token_roles(
    cli_store: Store, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    r = run_cli(capsys, "token", "create", "--name", "x", "--role", "god", "--for", "alice")
    assert r.code == 2 and "valid roles: admin, operator, reader" in r.err and r.out == ""
    r = run_cli(capsys, "token", "create", "--name", "x", "--role", "reader", "--for", "a",
                "--expires", "soon")  # fmt: skip
    assert r.code == 2 and "invalid duration 'soon'" in r.err
    save(Config(storage=Storage(url=store_url), roles={"auditor": {"tools": ["get_findings"]}}))
    r = run_cli(capsys, "token", "create", "--name", "x", "--role", "reader", "--for", "alice")
    assert r.code == 2 and "valid roles: auditor" in r.err
    r = run_cli(capsys, "token", "create", "--name", "x", "--role", "auditor", "--for", "alice")
    assert r.code == 0 and r.out.startswith("stx_")
