"""Persistence: scans, inventory, (later) findings, approvals and audit.

SQLAlchemy 2 with SQLite by default and PostgreSQL for teams; schema changes are Alembic
migrations applied when a store is opened.
"""

from stratusec.store.db import Store, open_store

__all__ = ["Store", "open_store"]
