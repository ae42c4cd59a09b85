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


class CheckRunRow(Base):
    """Per scan and check: how many resources passed, failed, were unknown; or the crash."""

    __tablename__ = "check_runs"

    scan_id: Mapped[str] = mapped_column(
        ForeignKey("scans.id", ondelete="CASCADE"), primary_key=True
    )
    check_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    unknown: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class FindingRow(Base):
    """A (check, resource) pair that failed at least once. Its id is stable across scans."""

    __tablename__ = "findings"
    __table_args__ = (
        Index("ix_findings_list", "account_name", "status", "severity_rank", "last_seen"),
        Index("ix_findings_status", "status", "severity_rank", "last_seen"),
        Index("ix_findings_check", "check_id"),
        Index("ix_findings_service", "service"),
        Index("ix_findings_first_scan", "first_scan_id"),
        Index("ix_findings_last_seen", "last_seen"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_name: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(32))
    check_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(Text)
    resource_uid: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(String(128))
    resource_name: Mapped[str] = mapped_column(Text)
    resource_tags: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    region: Mapped[str] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    severity_rank: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # open | resolved | suppressed
    result: Mapped[str] = mapped_column(String(16))  # FAIL | UNKNOWN (the last failing result)
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    compliance: Mapped[list[str]] = mapped_column(JSONType, default=list)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    first_scan_id: Mapped[str] = mapped_column(String(32))
    last_scan_id: Mapped[str] = mapped_column(String(32))
    suppression_id: Mapped[int | None] = mapped_column(Integer)
    resolution: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class SuppressionRow(Base):
    """Mute a check, a resource (glob) or a tag pattern. Never deleted: expired or lifted."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_name: Mapped[str | None] = mapped_column(String(64))
    check_id: Mapped[str | None] = mapped_column(String(128))
    resource_pattern: Mapped[str | None] = mapped_column(Text)
    tag_key: Mapped[str | None] = mapped_column(String(128))
    tag_value_pattern: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[str | None] = mapped_column(String(128))


class AuditRow(Base):
    """One governed call (allowed, denied, failed, pending), hash-chained: ``hash`` covers
    the record's canonical content and ``prev_hash`` (the previous record's hash)."""

    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(32), unique=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    principal: Mapped[str] = mapped_column(String(256), index=True)
    on_behalf_of: Mapped[str | None] = mapped_column(String(256))
    agent: Mapped[str | None] = mapped_column(String(256))
    face: Mapped[str] = mapped_column(String(32))  # cli | mcp-stdio | mcp-http
    tool: Mapped[str] = mapped_column(String(128), index=True)
    arguments: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # redacted
    decision: Mapped[str] = mapped_column(String(32))  # allow | deny | require_approval
    rule: Mapped[str | None] = mapped_column(Text)
    approval_id: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))  # ok | error | denied | pending
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float | None] = mapped_column()
    result_size: Mapped[int | None] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # Links a call's "started" record to its outcome record (same value in both).
    call_id: Mapped[str | None] = mapped_column(String(32), index=True)


class TokenRow(Base):
    """A static bearer token: only its SHA-256 is stored; shown once at creation."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(64))
    for_human: Mapped[str] = mapped_column(String(256))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings, not a secret
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(256))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ApprovalRow(Base):
    """A request to run one tool with exactly these arguments, decided out of band by a
    different human; runs once."""

    __tablename__ = "approvals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tool: Mapped[str] = mapped_column(String(128))
    arguments: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    args_digest: Mapped[str] = mapped_column(String(64))
    requester: Mapped[str] = mapped_column(String(256))
    on_behalf_of: Mapped[str | None] = mapped_column(String(256))
    agent: Mapped[str | None] = mapped_column(String(256))
    reason: Mapped[str | None] = mapped_column(Text)
    # pending | approved | denied | expired | executed
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(256))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    executed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class RemediationPlanRow(Base):
    """A remediation plan: the exact calls, rollback, diff, blast radius and fingerprint
    (``plan``), applied at most once after an approval bound to its ``digest``."""

    __tablename__ = "remediation_plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    finding_id: Mapped[str] = mapped_column(String(32), index=True)
    check_id: Mapped[str] = mapped_column(String(128))
    fixer: Mapped[str] = mapped_column(String(128))
    account_name: Mapped[str] = mapped_column(String(64), index=True)
    resource_uid: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # planned | applying | applied | failed | rolling_back | rolled_back
    status: Mapped[str] = mapped_column(String(16), index=True)
    plan: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_by: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    applied_by: Mapped[str | None] = mapped_column(String(256))
    applied_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    apply_approval_id: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    rolled_back_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    rollback_approval_id: Mapped[str | None] = mapped_column(String(32))
    rollback_result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class GuardrailActivationRow(Base):
    """An activated guardrail policy: its exact source (text + SHA-256) as activated, so
    later edits of the file do not silently change what runs at every scan."""

    __tablename__ = "guardrail_activations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    package: Mapped[str] = mapped_column(String(256), index=True)
    source_path: Mapped[str | None] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    activated_by: Mapped[str] = mapped_column(String(256))
    approval_id: Mapped[str | None] = mapped_column(String(32))
    activated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deactivated_by: Mapped[str | None] = mapped_column(String(256))


class AccessGrantRow(Base):
    """A just-in-time access request and, once decided, its grant (never its secrets)."""

    __tablename__ = "access_grants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # aws | postgres
    level: Mapped[str] = mapped_column(String(128))
    account_name: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(Text)
    requester: Mapped[str] = mapped_column(String(256), index=True)
    on_behalf_of: Mapped[str | None] = mapped_column(String(256))
    agent: Mapped[str | None] = mapped_column(String(256))
    scope: Mapped[dict[str, Any]] = mapped_column(JSONType)
    seconds: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    ticket: Mapped[str | None] = mapped_column(String(128))
    # granted | delivered | revoked | expired (also computed from expires_at)
    status: Mapped[str] = mapped_column(String(16), index=True)
    rule: Mapped[str] = mapped_column(Text)
    approval_id: Mapped[str | None] = mapped_column(String(32))
    proof: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    key_fingerprint: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(256))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    # The audit call_ids of the request, the delivery and the revocation.
    audit_call_id: Mapped[str | None] = mapped_column(String(32))
    delivered_call_id: Mapped[str | None] = mapped_column(String(32))
    revoked_call_id: Mapped[str | None] = mapped_column(String(32))
    # The temporary PostgreSQL role of a database grant (once delivered).
    db_role: Mapped[str | None] = mapped_column(String(64), index=True)
