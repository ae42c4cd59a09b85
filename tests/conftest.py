"""Shared fixtures: a real moto server on 127.0.0.1 (one per test worker), reset per test,
and an isolated STRATUSEC_HOME per test."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from stratusec.config import Account, CredentialSource
from stratusec.demo.emulator import patch_moto
from stratusec.providers.aws.base import CollectorContext, ErrorSink
from stratusec.providers.aws.session import ClientFactory

pytest_plugins = ["tests.issued_secrets"]

ACCOUNT_ID = "123456789012"  # moto's default account


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """Start moto in server mode on a free loopback port; yields its URL."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    patch_moto()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def moto_url(moto_server: str) -> Iterator[str]:
    """The moto server, wiped clean before the test."""
    req = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(req, timeout=10).read()  # noqa: S310 - loopback only
    yield moto_server


@pytest.fixture(autouse=True)
def stratusec_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own STRATUSEC_HOME and no ambient AWS credentials."""
    home = tmp_path / "stratusec-home"
    monkeypatch.setenv("STRATUSEC_HOME", str(home))
    monkeypatch.delenv("STRATUSEC_CONFIG", raising=False)
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    return home


@pytest.fixture
def account(moto_url: str) -> Account:
    """A configured account pointing at the moto server."""
    return Account(
        name="test",
        account_id=ACCOUNT_ID,
        regions=["us-east-1", "eu-west-1"],
        credentials=CredentialSource(source="emulator"),
        endpoint_url=moto_url,
    )


@pytest.fixture
def aws(account: Account):  # type: ignore[no-untyped-def]
    """``aws("s3", region)`` -> a boto3 client on the moto server, for seeding."""

    def make(service: str, region: str = "us-east-1"):  # type: ignore[no-untyped-def]
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=account.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return make


@pytest.fixture
def collector_ctx(account: Account):  # type: ignore[no-untyped-def]
    """``collector_ctx(service, region)`` -> a CollectorContext (no pool) on moto."""
    factory = ClientFactory(account)

    def make(service: str, region: str = "us-east-1") -> CollectorContext:
        return CollectorContext(
            factory=factory,
            account_id=ACCOUNT_ID,
            service=service,
            region=region,
            errors=ErrorSink(),
            regions=list(account.regions),
        )

    return make


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


def _pg_admin_url() -> str | None:
    return os.environ.get("STRATUSEC_TEST_PG_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite in tmp, or a new database on the test PostgreSQL.

    PostgreSQL tests are skipped only outside CI when STRATUSEC_TEST_PG_URL is unset;
    in CI a missing server is a failure.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    admin = _pg_admin_url()
    if not admin:
        if os.environ.get("CI"):
            pytest.fail("STRATUSEC_TEST_PG_URL is not set in CI (.ci/run starts PostgreSQL)")
        pytest.skip("STRATUSEC_TEST_PG_URL not set (run scripts/pg-test-server.sh start)")
    import uuid

    import psycopg

    name = f"stratusec_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
