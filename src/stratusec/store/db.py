"""The Store: an SQLAlchemy engine plus the queries the rest of Stratusec needs.

``open_store(url)`` creates the database if needed and applies pending Alembic
migrations. SQLite runs in WAL mode with foreign keys on; PostgreSQL via psycopg 3.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, delete, event, func, insert, inspect, select, update
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, defer, sessionmaker

from stratusec.errors import ConfigError, NotFoundError
from stratusec.inventory.models import Relationship, Resource
from stratusec.store.models import ResourceRow, ScanErrorRow, ScanRow

MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def _normalise_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


class Store:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = _normalise_url(url)
        try:
            parsed = make_url(self.url)
        except ArgumentError as exc:
            raise ConfigError(f"storage.url {url!r} is not a database URL") from exc
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine: Engine = create_engine(self.url, **kwargs)
        if parsed.get_backend_name() == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.dialect = parsed.get_backend_name()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    # -- schema ----------------------------------------------------------------------------
    def migrate(self) -> None:
        """Apply pending migrations (no-op when the schema is current)."""
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        try:
            with self.engine.begin() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                if current == head:
                    return
                command.upgrade(alembic_config(conn), "head")
        except OperationalError as exc:
            raise ConfigError(f"cannot open the store at {self.safe_url}: {exc.orig}") from exc

    @property
    def safe_url(self) -> str:
        """The URL with any password masked (for messages and logs)."""
        return make_url(self.url).render_as_string(hide_password=True)

    def session(self) -> Session:
        return self._sessions()

    def close(self) -> None:
        self.engine.dispose()

    # -- scans -----------------------------------------------------------------------------
    def start_scan(
        self,
        *,
        account_name: str,
        account_id: str | None,
        regions: Sequence[str],
        services: Sequence[str],
        provider: str = "aws",
    ) -> str:
        scan_id = uuid.uuid4().hex
        with self.session() as s, s.begin():
            s.add(
                ScanRow(
                    id=scan_id,
                    account_name=account_name,
                    account_id=account_id,
                    provider=provider,
                    status="running",
                    started_at=utcnow(),
                    regions=list(regions),
                    services=list(services),
                    resource_count=0,
                    resource_counts={},
                    api_calls=0,
                    api_attempts=0,
                    throttled=0,
                    error_count=0,
                )
            )
        return scan_id

    def add_resources(self, scan_id: str, resources: Iterable[Resource]) -> int:
        rows = [
            {
                "scan_id": scan_id,
                "uid": r.uid,
                "provider": r.provider,
                "account": r.account,
                "region": r.region,
                "service": r.service,
                "type": r.type,
                "name": r.name,
                "tags": r.tags,
                "config": r.config,
                "relationships": [rel.model_dump() for rel in r.relationships],
                "raw": r.raw,
                "unavailable": r.unavailable,
            }
            for r in resources
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(ResourceRow), rows)
        return len(rows)

    def add_errors(self, scan_id: str, errors: Iterable[dict[str, Any]]) -> None:
        rows = [{"scan_id": scan_id, **e} for e in errors]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(ScanErrorRow), rows)

    def finish_scan(self, scan_id: str, *, status: str, **fields: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(ScanRow)
                .where(ScanRow.id == scan_id)
                .values(status=status, finished_at=utcnow(), **fields)
            )

    def get_scan(self, scan_id: str) -> ScanRow:
        with self.session() as s:
            row = s.get(ScanRow, scan_id)
        if row is None:
            raise NotFoundError(f"unknown scan id {scan_id!r}")
        row.started_at = _as_utc(row.started_at)  # type: ignore[assignment]
        row.finished_at = _as_utc(row.finished_at)
        return row

    def list_scans(self, account_name: str | None = None, limit: int = 20) -> list[ScanRow]:
        q = select(ScanRow).order_by(ScanRow.started_at.desc()).limit(limit)
        if account_name:
            q = q.where(ScanRow.account_name == account_name)
        with self.session() as s:
            rows = list(s.scalars(q))
        for r in rows:
            r.started_at = _as_utc(r.started_at)  # type: ignore[assignment]
            r.finished_at = _as_utc(r.finished_at)
        return rows

    def latest_scan(self, account_name: str) -> ScanRow | None:
        """The newest completed (succeeded or partial) scan of the account."""
        q = (
            select(ScanRow)
            .where(ScanRow.account_name == account_name)
            .where(ScanRow.status.in_(("succeeded", "partial")))
            .order_by(ScanRow.finished_at.desc())
            .limit(1)
        )
        with self.session() as s:
            return s.scalars(q).first()

    def scan_errors(self, scan_id: str) -> list[ScanErrorRow]:
        with self.session() as s:
            return list(
                s.scalars(
                    select(ScanErrorRow)
                    .where(ScanErrorRow.scan_id == scan_id)
                    .order_by(ScanErrorRow.id)
                )
            )

    def mark_interrupted(self) -> int:
        """Scans left 'running' by a killed process become 'failed' (called at scan start)."""
        with self.engine.begin() as conn:
            res = conn.execute(
                update(ScanRow)
                .where(ScanRow.status == "running")
                .where(ScanRow.started_at < utcnow() - dt.timedelta(hours=6))
                .values(
                    status="failed", message="interrupted (process ended)", finished_at=utcnow()
                )
            )
        return res.rowcount or 0

    # -- inventory -------------------------------------------------------------------------
    def iter_resources(
        self,
        scan_id: str,
        *,
        types: Sequence[str] | None = None,
        service: str | None = None,
        batch: int = 1000,
        include_raw: bool = True,
    ) -> Iterator[Resource]:
        """Stream the resources of a scan (bounded memory). ``include_raw=False`` skips
        the raw API evidence (checks and the graph do not need it)."""
        q = select(ResourceRow).where(ResourceRow.scan_id == scan_id)
        if not include_raw:
            q = q.options(defer(ResourceRow.raw, raiseload=True))
        if types:
            q = q.where(ResourceRow.type.in_(list(types)))
        if service:
            q = q.where(ResourceRow.service == service)
        q = q.order_by(ResourceRow.type, ResourceRow.uid).execution_options(yield_per=batch)
        with self.session() as s:
            for row in s.scalars(q):
                yield _to_resource(row)

    def get_resource(self, scan_id: str, uid: str) -> Resource | None:
        """One resource of a scan, with its raw evidence."""
        with self.session() as s:
            row = s.get(ResourceRow, (scan_id, uid))
            return _to_resource(row) if row is not None else None

    def count_resources(self, scan_id: str) -> dict[str, int]:
        q = (
            select(ResourceRow.type, func.count())
            .where(ResourceRow.scan_id == scan_id)
            .group_by(ResourceRow.type)
        )
        with self.session() as s:
            return {t: int(n) for t, n in s.execute(q)}

    def delete_scan(self, scan_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(ResourceRow).where(ResourceRow.scan_id == scan_id))
            conn.execute(delete(ScanErrorRow).where(ScanErrorRow.scan_id == scan_id))
            conn.execute(delete(ScanRow).where(ScanRow.id == scan_id))


def _to_resource(row: ResourceRow) -> Resource:
    raw = row.__dict__.get("raw") if "raw" not in inspect(row).unloaded else None
    return Resource(
        uid=row.uid,
        provider=row.provider,
        account=row.account,
        region=row.region,
        service=row.service,
        type=row.type,
        name=row.name,
        tags=row.tags or {},
        config=row.config or {},
        relationships=[Relationship(**r) for r in row.relationships or []],
        raw=raw or {},
        unavailable=row.unavailable or [],
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def open_store(url: str) -> Store:
    """Open (and migrate) the store at ``url``."""
    store = Store(url)
    store.migrate()
    return store
