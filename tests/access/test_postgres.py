"""PostgreSQL just-in-time grants against a real server (STRATUSEC_TEST_PG_URL): the
temporary role reads exactly what it was granted, and cannot connect after revoke or expiry."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import errors as pg_errors

from stratusec.access.postgres import (
    PgGrant,
    PgGrantError,
    PgPrivilege,
    create_grant,
    parse_privileges,
    reap_expired,
    revoke_grant,
)
from tests.access.conftest import pg_roles, require_password_auth, scratch_database

# Roles are cluster-wide: a prefix unique to this run keeps parallel runs and other roles apart.
PREFIX = f"stx_t{uuid.uuid4().hex[:8]}_"


def _our_roles(admin: str) -> list[str]:
    return pg_roles(admin, PREFIX)


@pytest.fixture(scope="module")
def admin() -> Iterator[str]:
    """A scratch database with public.orders, public.customers and analytics.events."""
    with scratch_database(
        "stratusec_jit",
        [
            "CREATE TABLE public.orders (id int PRIMARY KEY, total numeric)",
            "CREATE TABLE public.customers (id int PRIMARY KEY, email text)",
            "CREATE SCHEMA analytics",
            "CREATE TABLE analytics.events (id int, kind text)",
            "INSERT INTO public.orders VALUES (1, 10.5), (2, 99)",
            "INSERT INTO public.customers VALUES (1, 'a@example.com')",
            "INSERT INTO analytics.events VALUES (1, 'login')",
        ],
        PREFIX,
    ) as url:
        yield url


@pytest.fixture(scope="module")
def password_auth(admin: str) -> None:
    require_password_auth(admin, "SELECT on public.orders", PREFIX)


def _in(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _grant(admin: str, *spec: str, seconds: float = 600) -> PgGrant:
    return create_grant(admin, parse_privileges(list(spec)), _in(seconds), prefix=PREFIX)


# --- parsing -------------------------------------------------------------------------------


def test_parse_privileges() -> None:
    got = parse_privileges(
        [
            "SELECT on public.orders",
            "insert ON public.orders",
            "SELECT on schema analytics",
            "USAGE on schema analytics",
            "SELECT on public.orders",  # duplicate: dropped
        ]
    )
    assert got == [
        PgPrivilege("SELECT", "public", "orders"),
        PgPrivilege("INSERT", "public", "orders"),
        PgPrivilege("SELECT", "analytics", None),
        PgPrivilege("USAGE", "analytics", None),
    ]
    assert str(got[0]) == "SELECT on public.orders"
    assert str(got[2]) == "SELECT on schema analytics"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("DROP on public.orders", "valid privileges: SELECT, INSERT, UPDATE, DELETE"),
        ("ALL on public.orders", "valid privileges:"),
        ("SELECT on orders", "schema.table"),
        ("SELECT on a.b.c", "schema.table"),
        ("SELECT public.orders", "cannot parse"),
        ("", "cannot parse"),
        ("USAGE on public.orders", "applies to schemas"),
        ('SELECT on public."orders"', "invalid table name"),
        ("SELECT on public.orders;DROP", "invalid table name"),
        ("SELECT on public.orders; DROP TABLE customers", "cannot parse"),
        ("SELECT on schema x'y", "invalid schema name"),
        ("SELECT on public.a" + "b" * 70, "at most 63"),
    ],
)
def test_parse_privileges_rejects_bad_input(spec: str, expected: str) -> None:
    with pytest.raises(PgGrantError) as info:
        parse_privileges([spec])
    assert expected in str(info.value)


def test_parse_privileges_rejects_empty_and_non_list() -> None:
    with pytest.raises(PgGrantError, match="no privileges"):
        parse_privileges([])
    with pytest.raises(PgGrantError, match="list of strings"):
        parse_privileges("SELECT on public.orders")  # type: ignore[arg-type]


# --- grants against the real server ------------------------------------------------------


def test_role_reads_only_the_granted_table(admin: str) -> None:
    grant = _grant(admin, "SELECT on public.orders")
    assert grant.role.startswith(PREFIX)
    with psycopg.connect(grant.url(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM public.orders").fetchone() == (2,)
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM public.customers")
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("INSERT INTO public.orders VALUES (3, 1)")
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM analytics.events")
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.mine (x int)")
    assert revoke_grant(admin, grant.role, prefix=PREFIX) is True


def test_role_writes_only_when_granted(admin: str) -> None:
    grant = _grant(admin, "SELECT on public.orders", "INSERT on public.orders")
    with psycopg.connect(grant.url(), autocommit=True) as conn:
        conn.execute("INSERT INTO public.orders VALUES (100, 1)")
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("DELETE FROM public.orders WHERE id = 100")
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("UPDATE public.orders SET total = 0")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DELETE FROM public.orders WHERE id = 100")
    revoke_grant(admin, grant.role, prefix=PREFIX)


def test_schema_wide_grant(admin: str) -> None:
    grant = _grant(admin, "SELECT on schema analytics")
    with psycopg.connect(grant.url(), autocommit=True) as conn:
        assert conn.execute("SELECT kind FROM analytics.events").fetchall() == [("login",)]
        with pytest.raises(pg_errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM public.customers")
    revoke_grant(admin, grant.role, prefix=PREFIX)


def test_delivery_formats_and_secrecy(admin: str) -> None:
    grant = _grant(admin, "SELECT on public.orders")
    try:
        assert grant.password not in repr(grant)
        assert grant.password not in str(grant)
        assert "password" not in repr(grant)
        assert grant.url() == (
            f"postgresql://{grant.role}:{grant.password}@{grant.host}:{grant.port}/{grant.database}"
        )
        host, port, db, role, password = grant.pgpass_line().split(":")
        assert (host, port, db, role, password) == (
            grant.host,
            str(grant.port),
            grant.database,
            grant.role,
            grant.password,
        )
        # The server holds only a SCRAM verifier, never the password.
        with psycopg.connect(admin) as conn:
            (stored,) = conn.execute(
                "SELECT rolpassword FROM pg_authid WHERE rolname = %s", (grant.role,)
            ).fetchone() or ("",)
        assert stored.startswith("SCRAM-SHA-256$")
        assert grant.password not in stored
    finally:
        revoke_grant(admin, grant.role, prefix=PREFIX)


def test_revoke_ends_sessions_and_blocks_login(admin: str) -> None:
    grant = _grant(admin, "SELECT on public.orders")
    held = psycopg.connect(grant.url(), autocommit=True)
    try:
        held.execute("SELECT 1 FROM public.orders")
        assert revoke_grant(admin, grant.role, prefix=PREFIX) is True
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1 FROM public.orders")
    finally:
        held.close()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(grant.url(), connect_timeout=5)
    assert grant.role not in _our_roles(admin)
    assert revoke_grant(admin, grant.role, prefix=PREFIX) is False  # already gone: harmless


def test_revoke_refuses_roles_that_are_not_grants(admin: str) -> None:
    for role in ("postgres", "stx_jit_x", f'{PREFIX}x"; DROP ROLE postgres; --'):
        with pytest.raises(PgGrantError):
            revoke_grant(admin, role, prefix=PREFIX)


@pytest.mark.usefixtures("password_auth")
def test_no_login_after_expiry(admin: str) -> None:
    grant = _grant(admin, "SELECT on public.orders", seconds=2)
    with psycopg.connect(grant.url(), connect_timeout=5) as conn:
        assert conn.execute("SELECT count(*) FROM public.orders").fetchone() == (2,)
    time.sleep(max(0.0, (grant.expires_at - datetime.now(UTC)).total_seconds()) + 1.0)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(grant.url(), connect_timeout=5)
    revoke_grant(admin, grant.role, prefix=PREFIX)


def test_reap_drops_expired_roles_only(admin: str) -> None:
    short = [_grant(admin, "SELECT on public.orders", seconds=30) for _ in range(3)]
    long = _grant(admin, "SELECT on public.orders", seconds=3600)
    held = psycopg.connect(short[0].url(), autocommit=True)
    try:
        assert reap_expired(admin, prefix=PREFIX) == []  # nothing expired yet
        reaped = reap_expired(admin, prefix=PREFIX, now=_in(60))
        assert sorted(reaped) == sorted(g.role for g in short)
        with pytest.raises(psycopg.OperationalError):  # its open session was ended
            held.execute("SELECT 1")
    finally:
        held.close()
    assert _our_roles(admin) == [long.role]
    with psycopg.connect(long.url()) as conn:
        conn.execute("SELECT 1 FROM public.orders")
    assert reap_expired(admin, prefix=PREFIX, now=_in(60)) == []
    revoke_grant(admin, long.role, prefix=PREFIX)


def test_reap_leaves_other_prefixes_alone(admin: str) -> None:
    other = create_grant(
        admin, parse_privileges(["SELECT on public.orders"]), _in(30), prefix=PREFIX + "o_"
    )
    try:
        mine = _grant(admin, "SELECT on public.orders", seconds=30)
        assert reap_expired(admin, prefix=PREFIX + "x_", now=_in(60)) == []
        assert reap_expired(admin, prefix=PREFIX + "o_", now=_in(60)) == [other.role]
        assert _our_roles(admin) == [mine.role]
        revoke_grant(admin, mine.role, prefix=PREFIX)
    finally:
        revoke_grant(admin, other.role, prefix=PREFIX)


# --- bad input: a clear error and nothing created -----------------------------------------


@pytest.mark.parametrize(
    ("privileges", "expected"),
    [
        ([PgPrivilege("SELECT", "public", "invoices")], "table public.invoices does not exist"),
        ([PgPrivilege("SELECT", "nowhere", None)], "schema 'nowhere' does not exist"),
        (
            [PgPrivilege("SELECT", "public", "orders"), PgPrivilege("SELECT", "public", "nope")],
            "table public.nope does not exist",
        ),
        ([PgPrivilege("DROP", "public", "orders")], "valid: SELECT"),
        ([PgPrivilege("SELECT", "public", 'orders"; DROP TABLE customers; --')], "invalid table"),
        ([PgPrivilege("SELECT", "public; DROP ROLE postgres", "orders")], "invalid schema"),
        ([PgPrivilege("USAGE", "public", "orders")], "applies to schemas"),
        ([], "no privileges"),
    ],
)
def test_create_grant_bad_input_creates_nothing(
    admin: str, privileges: list[PgPrivilege], expected: str
) -> None:
    before = _our_roles(admin)
    with pytest.raises(PgGrantError) as info:
        create_grant(admin, privileges, _in(600), prefix=PREFIX)
    assert expected in str(info.value)
    assert _our_roles(admin) == before
    with psycopg.connect(admin) as conn:  # the tables are untouched
        assert conn.execute("SELECT count(*) FROM public.customers").fetchone() == (1,)


def test_create_grant_rejects_bad_expiry_and_prefix(admin: str) -> None:
    privs = parse_privileges(["SELECT on public.orders"])
    with pytest.raises(PgGrantError, match="not in the future"):
        create_grant(admin, privs, _in(-5), prefix=PREFIX)
    with pytest.raises(PgGrantError, match="timezone-aware"):
        create_grant(admin, privs, datetime.now() + timedelta(hours=1), prefix=PREFIX)
    for bad in ("Bad-Prefix", "pg_jit_", "x", 'a"b'):
        with pytest.raises(PgGrantError, match="prefix"):
            create_grant(admin, privs, _in(600), prefix=bad)
    with pytest.raises(PgGrantError, match="timezone-aware"):
        reap_expired(admin, prefix=PREFIX, now=datetime.now())


def test_connection_errors_do_not_leak_admin_password() -> None:
    secret = "adm1n-s3cret-pw"
    url = f"postgresql://postgres:{secret}@127.0.0.1:1/nowhere"
    privs = parse_privileges(["SELECT on public.orders"])
    for call in (
        lambda: create_grant(url, privs, _in(600), prefix=PREFIX),
        lambda: revoke_grant(url, PREFIX + "abc", prefix=PREFIX),
        lambda: reap_expired(url, prefix=PREFIX),
    ):
        with pytest.raises(PgGrantError) as info:
            call()
        assert "cannot connect to PostgreSQL at 127.0.0.1:1/nowhere" in str(info.value)
        assert secret not in str(info.value)
