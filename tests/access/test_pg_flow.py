"""Just-in-time PostgreSQL access end to end, against a real server (STRATUSEC_TEST_PG_URL):
`stratusec access request|credentials|show|revoke|reap`, `approve` by a different human
and `approvals run` by the requester. The temporary role reads exactly what was granted,
loses its sessions on revoke and expiry, and its password is never recorded anywhere."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors as pg_errors
from psycopg import sql
from sqlalchemy import select, update

from stratusec.access import postgres as pg
from stratusec.config import (
    AccessLevelSettings,
    AccessSettings,
    Config,
    DatabaseTarget,
    save,
)
from stratusec.governance import approvals as approvals_mod
from stratusec.governance.audit import AuditLog
from stratusec.operations import access as access_op
from stratusec.operations.context import Context
from stratusec.store.db import utcnow
from stratusec.store.models import AccessGrantRow, ApprovalRow, AuditRow
from tests.access.conftest import pg_roles, require_password_auth, scratch_database
from tests.cli_helpers import CliResult, run_cli

pytestmark = pytest.mark.postgres

# Roles are cluster-wide: every role this module creates starts with BASE (each test adds
# its own suffix), so parallel runs and other modules' roles are never touched.
BASE = f"stx_f{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def scratch() -> Iterator[str]:
    """A scratch database: app.orders (two rows) and app.secrets (one row)."""
    with scratch_database(
        "stratusec_jitflow",
        [
            "CREATE SCHEMA app",
            "CREATE TABLE app.orders (id int PRIMARY KEY, total numeric)",
            "CREATE TABLE app.secrets (id int PRIMARY KEY, value text)",
            "INSERT INTO app.orders VALUES (1, 10.5), (2, 99)",
            "INSERT INTO app.secrets VALUES (1, 'the launch codes')",
        ],
        BASE,
    ) as url:
        yield url


@pytest.fixture(scope="module")
def password_auth(scratch: str) -> None:
    require_password_auth(scratch, "SELECT on app.orders", f"{BASE}pw_")


@dataclass
class Flow:
    ctx: Context
    admin: str  # the scratch database's admin URL (the broker's)
    prefix: str  # this test's role prefix

    def roles(self) -> list[str]:
        return pg_roles(self.admin, self.prefix)


@pytest.fixture
def flow(scratch: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flow]:
    """orders_db with `orders-read` (auto-granted SELECT on app.orders) and `app-write`
    (INSERT/UPDATE on app.*, a different human approves); the CLI user is alice."""
    prefix = f"{BASE}{uuid.uuid4().hex[:4]}_"
    save(
        Config(
            access=AccessSettings(
                databases={"orders_db": DatabaseTarget(url=scratch, role_prefix=prefix)},
                levels={
                    "orders-read": AccessLevelSettings(
                        database="orders_db",
                        privileges=["SELECT on app.orders"],
                        auto_grant=True,
                    ),
                    "app-write": AccessLevelSettings(
                        database="orders_db",
                        privileges=["INSERT on app.*", "UPDATE on app.*"],
                        max_duration="30m",
                        auto_grant=False,
                    ),
                },
            )
        )
    )
    monkeypatch.setenv("LOGNAME", "alice")
    ctx = Context.load()
    yield Flow(ctx, scratch, prefix)
    for role in pg_roles(scratch, prefix):  # whatever a failing test left behind
        pg.revoke_grant(scratch, role, prefix=prefix)
    ctx.close()


@pytest.fixture
def secret_dir(tmp_path: Path) -> Iterator[Path]:
    """Where a test writes delivered credentials (a .pgpass, an --env-file): removed after
    the test, so no password outlives it on disk."""
    d = tmp_path / "secrets"
    d.mkdir(mode=0o700)
    yield d
    shutil.rmtree(d)


# -- helpers ----------------------------------------------------------------------------
def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
    return run_cli(capsys, *args)


def _ok(r: CliResult) -> CliResult:
    assert r.code == 0, (r.code, r.out, r.err)
    return r


def _request(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    r = _ok(_cli(capsys, "access", "request", "--reason", "read yesterday's orders", *args))
    grant: dict[str, Any] = json.loads(r.out)
    return grant


def _credentials(capsys: pytest.CaptureFixture[str], gid: str, *args: str) -> str:
    return _ok(_cli(capsys, "access", "credentials", gid, *args)).out.strip()


def _password(url: str) -> str:
    pw = psycopg.conninfo.conninfo_to_dict(url).get("password")
    assert isinstance(pw, str) and len(pw) >= 32
    return pw


def _stored(ctx: Context, gid: str) -> AccessGrantRow:
    with ctx.store.session() as s:
        row = s.get(AccessGrantRow, gid)
    assert row is not None
    return row


def _pending_id(err: str) -> str:
    m = re.search(r"request ([0-9a-f]{32}) is\s+pending", err)
    assert m, err
    return m.group(1)


def _force_expiry(f: Flow, gid: str, role: str) -> None:
    """The grant ran out a minute ago: its row (through the store) and its role's VALID
    UNTIL (as the admin), as if the clock had moved on."""
    past = utcnow() - dt.timedelta(minutes=1)
    with f.ctx.store.engine.begin() as conn:
        conn.execute(update(AccessGrantRow).where(AccessGrantRow.id == gid).values(expires_at=past))
    with psycopg.connect(f.admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} VALID UNTIL {}").format(
                sql.Identifier(role), sql.Literal(past.isoformat())
            )
        )


# -- auto-granted level: credentials once, exactly the privileges, proof ---------------------
def test_auto_granted_level_delivers_a_url_once(
    flow: Flow, capsys: pytest.CaptureFixture[str]
) -> None:
    grant = _request(capsys, "--level", "orders-read")
    assert grant["status"] == "granted" and grant["kind"] == "postgres"
    assert grant["database"] == "orders_db" and grant["level"] == "orders-read"
    assert grant["scope"] == {"privileges": ["SELECT on app.orders"]}
    assert grant["rule"] == "access:level:orders-read:auto_grant"
    assert grant["requester"] == "alice" and grant["db_role"] is None  # no role until fetched
    assert "credentials" in grant["how_to_fetch"]
    assert flow.roles() == []
    gid = grant["grant_id"]

    url = _credentials(capsys, gid)
    assert url.startswith("postgresql://") and "\n" not in url
    role = psycopg.conninfo.conninfo_to_dict(url)["user"]
    assert isinstance(role, str) and role.startswith(flow.prefix)
    assert flow.roles() == [role]
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        assert conn.execute("SELECT count(*) FROM app.orders").fetchone() == (2,)
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM app.secrets")
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("INSERT INTO app.orders VALUES (3, 1)")
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE app.mine (x int)")

    again = _cli(capsys, "access", "credentials", gid)
    assert again.code == 2 and "delivered once" in again.err
    assert again.out == "" and "postgresql://" not in again.err
    assert flow.roles() == [role]  # the second fetch made no second role

    shown = _ok(_cli(capsys, "access", "show", gid))
    g = json.loads(shown.out)
    assert g["status"] == "delivered" and g["db_role"] == role
    assert g["key_fingerprint"].startswith("sha256:")
    proof = g["chain"]["proof"]
    assert proof["ok"] is True and proof["verified_at_delivery"] is True
    assert proof["privileges_checked"] > 0
    assert proof["privileges_checked"] == 2 * len(pg.TABLE_PRIVILEGES)  # orders and secrets
    assert proof["unexpected"] == [] and proof["missing"] == []
    assert proof["privileges"] == ["SELECT on app.orders"]
    req_audit = g["chain"]["request"]["audit"]
    assert [(r["tool"], r["outcome"]) for r in req_audit] == [
        ("request_access", "started"),
        ("request_access", "ok"),
    ]
    assert [r["outcome"] for r in g["chain"]["delivery"]["audit"]] == ["started", "ok"]
    assert _password(url) not in shown.out
    access_op.revoke(flow.ctx, gid, by="alice", reason="done")
    assert flow.roles() == []


def test_pgpass_format(flow: Flow, capsys: pytest.CaptureFixture[str], secret_dir: Path) -> None:
    gid = _request(capsys, "--level", "orders-read")["grant_id"]
    # A format that does not apply is refused before anything is delivered.
    wrong = _cli(capsys, "access", "credentials", gid, "--format", "json")
    assert wrong.code == 2 and "use url or pgpass" in wrong.err
    assert _stored(flow.ctx, gid).status == "granted" and flow.roles() == []

    line = _credentials(capsys, gid, "--format", "pgpass")
    host, port, db, role, password = line.split(":")
    admin = psycopg.conninfo.conninfo_to_dict(flow.admin)
    assert (host, port, db) == (admin["host"], str(admin["port"]), admin["dbname"])
    assert role.startswith(flow.prefix) and len(password) >= 32
    # libpq reads the line from a passfile: no password on the command line
    passfile = secret_dir / "pgpass"
    passfile.write_text(line + "\n")
    passfile.chmod(0o600)
    with psycopg.connect(
        host=host, port=port, dbname=db, user=role, passfile=str(passfile), connect_timeout=5
    ) as conn:
        assert conn.execute("SELECT max(id) FROM app.orders").fetchone() == (2,)
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM app.secrets")
    again = _cli(capsys, "access", "credentials", gid, "--format", "url")
    assert again.code == 2 and "delivered once" in again.err
    access_op.revoke(flow.ctx, gid, by="alice", reason=None)


def test_env_file_holds_database_url(
    flow: Flow, capsys: pytest.CaptureFixture[str], secret_dir: Path
) -> None:
    gid = _request(capsys, "--level", "orders-read")["grant_id"]
    env = secret_dir / "db.env"
    r = _ok(_cli(capsys, "access", "credentials", gid, "--env-file", str(env)))
    assert r.out == "" and "mode 0600" in r.err
    assert env.stat().st_mode & 0o777 == 0o600
    (line,) = env.read_text().splitlines()
    assert line.startswith("DATABASE_URL=postgresql://")
    with psycopg.connect(line.split("=", 1)[1], connect_timeout=5) as conn:
        assert conn.execute("SELECT count(*) FROM app.orders").fetchone() == (2,)
    access_op.revoke(flow.ctx, gid, by="alice", reason=None)


def test_target_picks_the_level(flow: Flow, capsys: pytest.CaptureFixture[str]) -> None:
    grant = _request(capsys, "--target", "orders_db", "--privilege", "SELECT on app.orders")
    assert grant["level"] == "orders-read" and grant["status"] == "granted"
    assert grant["rule"] == "access:level:orders-read:auto_grant"
    assert grant["scope"] == {"privileges": ["SELECT on app.orders"]}
    # a write only app-write covers: that level's rule (a human's approval) applies
    w = _cli(capsys, "access", "request", "--target", "orders_db", "--reason", "fix",
             "--privilege", "INSERT on app.orders")  # fmt: skip
    assert w.code == 4, (w.out, w.err)
    a = approvals_mod.get_approval(flow.ctx.store, _pending_id(w.err))
    assert a["tool"] == "request_access" and a["status"] == "pending"
    assert a["arguments"]["privileges"] == ["INSERT on app.orders"]
    assert [g["grant_id"] for g in access_op.list_grants(flow.ctx)] == [grant["grant_id"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--level", "orders-read", "--privilege", "SELECT on app.secrets"],
            "privilege SELECT on app.secrets is outside access level orders-read; "
            "allowed: SELECT on app.orders",
        ),
        (
            ["--target", "orders_db", "--privilege", "SELECT on app.secrets"],
            "no access level of orders_db covers this request",
        ),
        (
            ["--level", "orders-read", "--privilege", "SELECT app.orders"],
            "cannot parse privilege 'SELECT app.orders'",
        ),
        (
            ["--level", "orders-read", "--privilege", "SELECT on app.orders; DROP TABLE app.x"],
            "cannot parse privilege",
        ),
        (
            ["--level", "orders-read", "--privilege", "DROP on app.orders"],
            "unknown privilege 'DROP'",
        ),
        (
            ["--level", "orders-read", "--privilege", "SELECT on orders"],
            "name the table as schema.table",
        ),
        (
            ["--target", "nope_db", "--privilege", "SELECT on app.orders"],
            "unknown target 'nope_db'; accounts with access levels: none; databases: orders_db",
        ),
        (["--level", "orders-read", "--duration", "2h"], "over the maximum of 3600 s"),
        (["--level", "orders-read", "--duration", "30s"], "below the minimum of 60 s"),
        (["--level", "app-write"], "name the privileges you need"),
        (
            ["--level", "orders-read", "--action", "s3:GetObject"],
            "is a PostgreSQL level: ask for privileges",
        ),
    ],
)
def test_bad_requests_exit_2_and_grant_nothing(
    flow: Flow, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    r = _cli(capsys, "access", "request", "--reason", "r", *args)
    assert r.code == 2, (r.out, r.err)
    assert message in r.err and r.out == ""
    assert access_op.list_grants(flow.ctx) == []
    assert approvals_mod.list_approvals(flow.ctx.store) == []
    assert flow.roles() == []
    (rec,) = AuditLog(flow.ctx.store).list(tool="request_access")
    assert (rec["decision"], rec["rule"], rec["outcome"]) == (
        "invalid",
        "invalid:request_access",
        "error",
    )
    assert message in rec["error"] and rec["principal"] == "alice"


# -- revoke --------------------------------------------------------------------------------
def test_revoke_ends_sessions_and_blocks_login(
    flow: Flow, capsys: pytest.CaptureFixture[str]
) -> None:
    gid = _request(capsys, "--level", "orders-read")["grant_id"]
    url = _credentials(capsys, gid)
    held = psycopg.connect(url, autocommit=True, connect_timeout=5)
    try:
        assert held.execute("SELECT count(*) FROM app.orders").fetchone() == (2,)
        r = _ok(_cli(capsys, "access", "revoke", gid, "--reason", "incident closed"))
        g = json.loads(r.out)
        assert g["status"] == "revoked" and g["revoked_by"] == "alice"
        assert g["revoke_reason"] == "incident closed" and g["revoked_call_id"]
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1 FROM app.orders")
    finally:
        held.close()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)
    assert flow.roles() == []
    twice = _ok(_cli(capsys, "access", "revoke", gid, "--reason", "again"))
    g2 = json.loads(twice.out)
    assert g2["status"] == "revoked" and g2["revoked_at"] == g["revoked_at"]
    assert g2["revoke_reason"] == "incident closed"  # the first revocation stands
    late = _cli(capsys, "access", "credentials", gid)
    assert late.code == 2 and f"grant {gid} is revoked" in late.err
    chain = json.loads(_ok(_cli(capsys, "access", "show", gid)).out)["chain"]
    assert chain["revocation"]["by"] == "alice"
    assert [r["tool"] for r in chain["revocation"]["audit"]] == ["access_revoke"] * 2


def test_revoking_an_undelivered_grant(flow: Flow, capsys: pytest.CaptureFixture[str]) -> None:
    gid = _request(capsys, "--level", "orders-read")["grant_id"]
    g = json.loads(_ok(_cli(capsys, "access", "revoke", gid)).out)
    assert g["status"] == "revoked" and g["db_role"] is None
    late = _cli(capsys, "access", "credentials", gid)
    assert late.code == 2 and "is revoked" in late.err
    assert flow.roles() == []


# -- expiry and reap -------------------------------------------------------------------------
@pytest.mark.usefixtures("password_auth")
def test_expired_grant_is_reaped(flow: Flow, capsys: pytest.CaptureFixture[str]) -> None:
    gid = _request(capsys, "--level", "orders-read")["grant_id"]
    keep = _request(capsys, "--level", "orders-read")["grant_id"]  # still valid
    url = _credentials(capsys, gid)
    keep_url = _credentials(capsys, keep)
    role = psycopg.conninfo.conninfo_to_dict(url)["user"]
    assert isinstance(role, str)
    held = psycopg.connect(url, autocommit=True, connect_timeout=5)
    try:
        held.execute("SELECT 1 FROM app.orders")
        _force_expiry(flow, gid, role)
        with pytest.raises(psycopg.OperationalError):  # VALID UNTIL is past: no new login
            psycopg.connect(url, connect_timeout=5)
        listed = json.loads(_ok(_cli(capsys, "access", "list", "-o", "json")).out)["grants"]
        assert {g["grant_id"]: g["status"] for g in listed} == {
            gid: "expired",
            keep: "delivered",
        }
        r = _ok(_cli(capsys, "access", "reap"))
        assert json.loads(r.out) == {
            "expired_grants": 1,
            "roles_dropped": {"orders_db": 1},
            "errors": {},
        }
        with pytest.raises(psycopg.OperationalError):  # the open session was ended
            held.execute("SELECT 1 FROM app.orders")
    finally:
        held.close()
    assert role not in flow.roles() and len(flow.roles()) == 1
    assert _stored(flow.ctx, gid).status == "expired"
    assert _stored(flow.ctx, keep).status == "delivered"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)
    with psycopg.connect(keep_url, connect_timeout=5) as conn:  # the other grant lives on
        conn.execute("SELECT 1 FROM app.orders")
    late = _cli(capsys, "access", "credentials", gid)
    assert late.code == 2 and f"grant {gid} is expired" in late.err
    again = json.loads(_ok(_cli(capsys, "access", "reap")).out)
    assert again == {"expired_grants": 0, "roles_dropped": {"orders_db": 0}, "errors": {}}
    reaps = AuditLog(flow.ctx.store).list(tool="access_reap")
    assert [r["outcome"] for r in reaps] == ["ok", "started", "ok", "started"]


def test_an_undelivered_grant_that_expired(flow: Flow, capsys: pytest.CaptureFixture[str]) -> None:
    gid = _request(capsys, "--level", "orders-read")["grant_id"]
    past = utcnow() - dt.timedelta(seconds=1)
    with flow.ctx.store.engine.begin() as conn:
        conn.execute(update(AccessGrantRow).where(AccessGrantRow.id == gid).values(expires_at=past))
    late = _cli(capsys, "access", "credentials", gid)
    assert late.code == 2 and f"grant {gid} is expired" in late.err
    assert flow.roles() == [] and _stored(flow.ctx, gid).delivered_at is None
    out = json.loads(_ok(_cli(capsys, "access", "reap")).out)
    assert out["expired_grants"] == 1 and out["roles_dropped"] == {"orders_db": 0}


# -- the approval level ----------------------------------------------------------------------
def test_approval_level_needs_a_different_human(
    flow: Flow, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    r = _cli(capsys, "access", "request", "--level", "app-write", "--reason", "backfill",
             "--privilege", "INSERT on app.orders", "--duration", "20m")  # fmt: skip
    assert r.code == 4, (r.out, r.err)
    aid = _pending_id(r.err)
    assert access_op.list_grants(flow.ctx) == []
    (pending,) = AuditLog(flow.ctx.store).list(tool="request_access")
    assert pending["decision"] == "require_approval" and pending["approval_id"] == aid
    assert pending["rule"] == "access:level:app-write:approval"

    # alice cannot approve her own request
    own = _cli(capsys, "access", "approve", aid, "--reason", "me")
    assert own.code == 2 and "a different human must approve it" in own.err
    assert approvals_mod.get_approval(flow.ctx.store, aid)["status"] == "pending"

    monkeypatch.setenv("LOGNAME", "bob")
    ok = _ok(_cli(capsys, "access", "approve", aid, "--reason", "reviewed the backfill"))
    assert "approved by bob" in ok.out
    # bob approved it; only alice, who asked, may run it
    theft = _cli(capsys, "approvals", "run", aid)
    assert theft.code == 3 and "only that caller can run it" in theft.err
    assert access_op.list_grants(flow.ctx) == []

    monkeypatch.setenv("LOGNAME", "alice")
    ran = json.loads(_ok(_cli(capsys, "approvals", "run", aid)).out)
    grant = ran["result"]
    assert ran["tool"] == "request_access" and grant["status"] == "granted"
    assert grant["level"] == "app-write" and grant["approval_id"] == aid
    assert grant["rule"] == f"access:level:app-write:approval:{aid}"
    assert grant["scope"] == {"privileges": ["INSERT on app.orders"]}
    assert grant["seconds"] == 1200
    rerun = _cli(capsys, "approvals", "run", aid)
    assert rerun.code == 3  # an approval runs once
    assert len(access_op.list_grants(flow.ctx)) == 1

    url = _credentials(capsys, grant["grant_id"])
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("INSERT INTO app.orders VALUES (100, 1)")
            with pytest.raises(pg_errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM app.orders")
            with pytest.raises(pg_errors.InsufficientPrivilege):
                conn.execute("INSERT INTO app.secrets VALUES (100, 'x')")
            with pytest.raises(pg_errors.InsufficientPrivilege):
                conn.execute("DELETE FROM app.orders")
        chain = json.loads(_ok(_cli(capsys, "access", "show", grant["grant_id"])).out)["chain"]
        assert chain["approval"]["decided_by"] == "bob"
        assert chain["approval"]["status"] == "executed"
        assert chain["proof"]["ok"] is True and chain["proof"]["privileges_checked"] > 0
    finally:
        with psycopg.connect(flow.admin, autocommit=True) as conn:
            conn.execute("DELETE FROM app.orders WHERE id = 100")
        access_op.revoke(flow.ctx, grant["grant_id"], by="alice", reason=None)


def test_an_unreachable_database_never_shows_the_broker_password(
    flow: Flow, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "br0ker-s3cret-pw"
    cfg = flow.ctx.config
    cfg.access.databases["down_db"] = DatabaseTarget(
        url=f"postgresql://broker:{secret}@127.0.0.1:1/shop", role_prefix=flow.prefix
    )
    cfg.access.levels["down-read"] = AccessLevelSettings(
        database="down_db", privileges=["SELECT on app.orders"], auto_grant=True
    )
    save(cfg)
    gid = _request(capsys, "--level", "down-read")["grant_id"]  # deciding needs no connection
    r = _cli(capsys, "access", "credentials", gid)
    assert r.code == 2 and "cannot connect to PostgreSQL at 127.0.0.1:1/shop" in r.err
    assert r.out == ""
    assert _stored(flow.ctx, gid).status == "granted"  # not burnt: it can be fetched later
    reap = _cli(capsys, "access", "reap")
    assert reap.code == 1
    out = json.loads(reap.out)
    assert out["roles_dropped"] == {"orders_db": 0}
    assert "cannot connect to PostgreSQL at 127.0.0.1:1/shop" in out["errors"]["down_db"]
    exported = _ok(_cli(capsys, "audit", "export")).out
    assert "cannot connect to PostgreSQL" in exported
    for text in (r.err, reap.out, reap.err, exported):
        assert secret not in text


def test_a_missing_url_env_does_not_burn_the_grant(
    flow: Flow, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = flow.ctx.config
    cfg.access.databases["orders_db"] = DatabaseTarget(
        url_env="STX_TEST_ORDERS_ADMIN_URL", role_prefix=flow.prefix
    )
    save(cfg)
    monkeypatch.delenv("STX_TEST_ORDERS_ADMIN_URL", raising=False)
    gid = _request(capsys, "--level", "orders-read")["grant_id"]
    r = _cli(capsys, "access", "credentials", gid)
    assert r.code == 2 and "STX_TEST_ORDERS_ADMIN_URL is not set" in r.err
    assert flow.roles() == []
    monkeypatch.setenv("STX_TEST_ORDERS_ADMIN_URL", flow.admin)
    url = _credentials(capsys, gid)  # the grant was never delivered: it can be fetched now
    with psycopg.connect(url, connect_timeout=5) as conn:
        assert conn.execute("SELECT count(*) FROM app.orders").fetchone() == (2,)
    access_op.revoke(flow.ctx, gid, by="alice", reason=None)


# -- no password is ever recorded --------------------------------------------------------
def test_no_password_is_ever_recorded(
    flow: Flow,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    secret_dir: Path,
) -> None:
    caplog.set_level(logging.DEBUG)
    passwords: list[str] = []
    roles: list[str] = []

    # an auto grant as a URL, revoked
    a = _request(capsys, "--level", "orders-read")["grant_id"]
    url = _credentials(capsys, a)
    passwords.append(_password(url))
    with psycopg.connect(url, connect_timeout=5) as conn:
        conn.execute("SELECT 1 FROM app.orders")
    _ok(_cli(capsys, "access", "revoke", a, "--reason", "done"))
    # one as a .pgpass line, expired and reaped
    b = _request(capsys, "--level", "orders-read")["grant_id"]
    line = _credentials(capsys, b, "--format", "pgpass")
    passwords.append(line.rsplit(":", 1)[1])
    roles.append(line.split(":")[3])
    _force_expiry(flow, b, roles[-1])
    _ok(_cli(capsys, "access", "reap"))
    # one through an approval, into an env file
    r = _cli(capsys, "access", "request", "--level", "app-write", "--reason", "fix",
             "--privilege", "UPDATE on app.orders")  # fmt: skip
    assert r.code == 4
    aid = _pending_id(r.err)
    monkeypatch.setenv("LOGNAME", "bob")
    _ok(_cli(capsys, "access", "approve", aid))
    monkeypatch.setenv("LOGNAME", "alice")
    c = json.loads(_ok(_cli(capsys, "approvals", "run", aid)).out)["result"]["grant_id"]
    env = secret_dir / "c.env"
    _ok(_cli(capsys, "access", "credentials", c, "--env-file", str(env)))
    passwords.append(_password(env.read_text().strip().split("=", 1)[1]))
    _ok(_cli(capsys, "access", "show", c))
    _ok(_cli(capsys, "access", "list"))
    # a second fetch fails and is audited with its error
    assert _cli(capsys, "access", "credentials", c).code == 2
    assert len(set(passwords)) == 3

    store = flow.ctx.store
    with store.session() as s:
        audit_rows = [
            json.dumps({k: str(v) for k, v in vars(row).items() if not k.startswith("_")})
            for row in s.scalars(select(AuditRow))
        ]
        approval_rows = [
            json.dumps({k: str(v) for k, v in vars(row).items() if not k.startswith("_")})
            for row in s.scalars(select(ApprovalRow))
        ]
        grant_rows = [
            json.dumps({k: str(v) for k, v in vars(row).items() if not k.startswith("_")})
            for row in s.scalars(select(AccessGrantRow))
        ]
    exported = "\n".join(AuditLog(store).export())
    exported_ocsf = "\n".join(AuditLog(store).export("ocsf"))
    cli_export = _ok(_cli(capsys, "audit", "export"))
    # the places checked really hold the grants (so the check below can fail)
    assert len(audit_rows) > 20 and len(approval_rows) == 1 and len(grant_rows) == 3
    assert all(g in exported for g in (a, b, c)) and roles[0] in cli_export.out
    assert "access_grant" in cli_export.out and aid in "".join(approval_rows)
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG is captured
    db_file = Path(store.engine.url.database or "")
    raw = b"".join(p.read_bytes() for p in (db_file, Path(f"{db_file}-wal")) if p.exists())
    assert raw
    for pw in passwords:
        assert pw not in "\n".join(audit_rows)
        assert pw not in exported and pw not in exported_ocsf
        assert pw not in cli_export.out and pw not in cli_export.err
        assert pw not in "\n".join(approval_rows)
        assert pw not in "\n".join(grant_rows)
        assert pw not in caplog.text
        assert pw.encode() not in raw
    access_op.revoke(flow.ctx, c, by="alice", reason=None)
