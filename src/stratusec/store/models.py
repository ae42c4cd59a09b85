"""Tables. Every schema change here needs an Alembic migration in migrations/versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    pass


class ScanRow(Base):
    __tablename__ = "scans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_name: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[str | None] = mapped_column(String(32))
    provider: Mapped[str] = mapped_column(String(16), default="aws")
    status: Mapped[str] = mapped_column(String(16), index=True)  # running|succeeded|partial|failed
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    regions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    services: Mapped[list[str]] = mapped_column(JSONType, default=list)
    resource_count: Mapped[int] = mapped_column(Integer, default=0)
    resource_counts: Mapped[dict[str, int]] = mapped_column(JSONType, default=dict)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    api_attempts: Mapped[int] = mapped_column(Integer, default=0)
    throttled: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text)


class ScanErrorRow(Base):
    __tablename__ = "scan_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    service: Mapped[str] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(32))
    api: Mapped[str] = mapped_column(String(128))
    code: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text, default="")
    resource: Mapped[str | None] = mapped_column(Text)


class ResourceRow(Base):
    __tablename__ = "resources"
    __table_args__ = (Index("ix_resources_scan_type", "scan_id", "type"),)

    scan_id: Mapped[str] = mapped_column(
        ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
    )
    uid: Mapped[str] = mapped_column(String(1024), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(32))
    region: Mapped[str] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(Text)
    tags: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    relationships: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    unavailable: Mapped[list[str]] = mapped_column(JSONType, default=list)
