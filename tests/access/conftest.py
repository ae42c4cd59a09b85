"""The AWS lab the access tests share: a broad target role on moto, scanned, with access
levels of the test's choosing and the emulator as broker."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql

from stratusec.access.postgres import PgGrant, create_grant, parse_privileges, revoke_grant
from stratusec.config import AccessLevelSettings, AccessSettings, Config, CredentialSource, save
from stratusec.operations.context import Context
from stratusec.operations.scan import scan

ACCT = "123456789012"
ROLE = f"arn:aws:iam::{ACCT}:role/jit-target"
READ = {
    "actions": ["s3:GetObject", "s3:ListBucket"],
    "resources": ["arn:aws:s3:::orders-*", "arn:aws:s3:::orders-*/*"],
}
WRITE = {"actions": ["s3:PutObject"], "resources": ["arn:aws:s3:::orders-*/*"]}

MakeLab = Callable[[dict[str, dict[str, Any]]], Context]


@pytest.fixture
def make_lab(account: Any, aws: Any, monkeypatch: pytest.MonkeyPatch) -> MakeLab:
    """``make_lab({name: level fields})``: the role ``jit-target`` (``s3:*`` on ``*``, max
    session 1 h), scanned, and a config with those levels on it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    def make(levels: dict[str, dict[str, Any]]) -> Context:
        iam = aws("iam")
        iam.create_role(
            RoleName="jit-target", AssumeRolePolicyDocument="{}", MaxSessionDuration=3600
        )
        iam.put_role_policy(
            RoleName="jit-target",
            PolicyName="broad",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
                }
            ),
        )
        settings = {
            name: AccessLevelSettings(account=account.name, target_role=ROLE, **fields)
            for name, fields in levels.items()
        }
        save(
            Config(
                accounts=[account],
                access=AccessSettings(broker=CredentialSource(source="emulator"), levels=settings),
            )
        )
        ctx = Context.load()
        scan(ctx, account=account.name, services=["iam"])
        return ctx

    return make


# -- a real PostgreSQL (STRATUSEC_TEST_PG_URL, started by scripts/pg-test-server.sh) ---------
def pg_admin_url() -> str:
    """The test server's superuser URL; skips the test when unset (fails it in CI)."""
    url = os.environ.get("STRATUSEC_TEST_PG_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("STRATUSEC_TEST_PG_URL is not set in CI (.ci/run starts PostgreSQL)")
        pytest.skip("STRATUSEC_TEST_PG_URL not set (run scripts/pg-test-server.sh start)")
    return url


def pg_roles(admin: str, prefix: str) -> list[str]:
    """The cluster's roles whose name starts with ``prefix``."""
    with psycopg.connect(admin) as conn:
        rows = conn.execute(
            "SELECT rolname FROM pg_roles WHERE starts_with(rolname, %s) ORDER BY 1", (prefix,)
        ).fetchall()
    return [r for (r,) in rows]


@contextmanager
def scratch_database(name: str, statements: list[str], role_prefix: str) -> Iterator[str]:
    """A new database ``name_<random>`` set up with ``statements``; its admin URL. Dropped
    afterwards with every role named ``role_prefix...`` (roles are cluster-wide)."""
    base = pg_admin_url()
    db = f"{name}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db)))
    url = f"{base.rsplit('/', 1)[0]}/{db}"
    with psycopg.connect(url) as conn:
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]
    try:
        yield url
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db))
            )
            for role in pg_roles(base, role_prefix):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def require_password_auth(admin: str, privilege: str, prefix: str) -> None:
    """Expiry (VALID UNTIL) binds only password logins: a server that trusts every loopback
    login cannot show it. Skip outside CI, fail in CI."""
    grant = create_grant(
        admin, parse_privileges([privilege]), datetime.now(UTC) + timedelta(minutes=10),
        prefix=prefix,
    )  # fmt: skip
    wrong = PgGrant(**{**grant.__dict__, "password": "not-the-password"})
    try:
        with psycopg.connect(wrong.url(), connect_timeout=5):
            trusted = True
    except psycopg.OperationalError:
        trusted = False
    finally:
        revoke_grant(admin, grant.role, prefix=prefix)
    if trusted:
        msg = (
            "the test PostgreSQL accepts any password for non-superusers (trust auth in "
            "pg_hba.conf), so VALID UNTIL cannot be tested"
        )
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
