"""Alembic environment: always run with a connection handed in by stratusec.store.db."""

from __future__ import annotations

from alembic import context

from stratusec.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via stratusec.store.db.migrate
    raise RuntimeError("run migrations through stratusec.store.db.Store.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
