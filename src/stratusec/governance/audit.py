"""The tamper-evident audit log: every governed call, hash-chained.

Each record's ``hash`` is the SHA-256 of the canonical JSON (sorted keys, no spaces,
UTF-8) of all its fields except ``seq`` and ``hash`` — including ``prev_hash``, the hash
of the record before it (64 zeros for the first). Editing, deleting or reordering a
record therefore breaks the chain, and :meth:`AuditLog.verify` names the first record
where it breaks. (Truncating the *newest* records cannot be seen from the chain alone:
keep ``VerifyResult.head_hash`` somewhere else to detect that.)

Appending is serialised so the chain stays linear under concurrency, across threads,
processes and hosts: SQLite takes the write lock up front (``BEGIN IMMEDIATE``);
PostgreSQL takes a transaction-level advisory lock (``pg_advisory_xact_lock``). The last
hash is read and the new record inserted in that same transaction, with ``seq`` assigned
as last + 1 so that a gap always means a deletion.

Writing the record is part of the call: :meth:`AuditLog.append` raises
:class:`AuditWriteError` when it cannot write, and the caller must then not run the call.
Arguments, rule and error texts are redacted (:mod:`stratusec.governance.redact`) before
they are hashed or stored.
"""

from __future__ import annotations

import builtins
import datetime as dt
import fcntl
import hashlib
import json
import math
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection

from stratusec import __version__
from stratusec.errors import StratusecError
from stratusec.findings.query import parse_since
from stratusec.governance.redact import redact, redact_text
from stratusec.store.db import Store
from stratusec.store.models import AuditRow

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key: a fixed 64-bit number derived from a name.
AUDIT_LOCK_KEY = int.from_bytes(hashlib.sha256(b"stratusec.audit").digest()[:8], "big", signed=True)

HASHED_FIELDS = (
    "id",
    "time",
    "principal",
    "on_behalf_of",
    "agent",
    "face",
    "tool",
    "arguments",
    "decision",
    "rule",
    "approval_id",
    "outcome",
    "error",
    "duration_ms",
    "result_size",
    "prev_hash",
)
# Fields added after the first release: hashed only when set, so older chains still verify.
OPTIONAL_HASHED_FIELDS = ("call_id",)
# Column widths of audit_records (longer values are cut before hashing).
_WIDTHS = {
    "principal": 256,
    "on_behalf_of": 256,
    "agent": 256,
    "face": 32,
    "tool": 128,
    "decision": 32,
    "approval_id": 32,
    "outcome": 32,
    "call_id": 32,
}
ExportFormat = Literal["jsonl", "ocsf"]
EXPORT_FORMATS: tuple[str, ...] = ("jsonl", "ocsf")


class AuditWriteError(StratusecError):
    """The audit record could not be written; the call it describes must not run."""


@dataclass(kw_only=True)
class AuditEntry:
    """What a face or the governance layer knows about one call (``id`` and ``time`` are
    assigned by :meth:`AuditLog.append`)."""

    principal: str
    tool: str
    decision: str  # allow | deny | require_approval
    outcome: str  # ok | error | denied | pending
    face: str = "cli"  # cli | mcp-stdio | mcp-http
    on_behalf_of: str | None = None
    agent: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    rule: str | None = None
    approval_id: str | None = None
    error: str | None = None
    duration_ms: float | None = None
    result_size: int | None = None
    call_id: str | None = None


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_seq: int | None = None
    head_hash: str = GENESIS_HASH

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- canonical form ---------------------------------------------------------------------
def _jsonable(value: Any) -> Any:
    """A JSON value that survives a round trip through SQLite JSON and PostgreSQL JSONB
    unchanged (so the hash recomputed from the stored row matches)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return int(value) if value.is_integer() else value
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")  # JSONB refuses NUL
    return str(value).replace("\x00", "\ufffd")


def _fmt_time(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes that are hashed: the hashed fields of ``record`` as canonical JSON."""
    body = {}
    for name in HASHED_FIELDS:
        v = record.get(name)
        if name == "time" and isinstance(v, dt.datetime):
            v = _fmt_time(v)
        body[name] = _jsonable(v)
    for name in OPTIONAL_HASHED_FIELDS:
        if record.get(name) is not None:
            body[name] = _jsonable(record[name])
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(record)).hexdigest()


def row_dict(row: AuditRow) -> dict[str, Any]:
    """A stored record as a plain dict (time as ISO 8601 UTC)."""
    return {
        "seq": row.seq,
        "id": row.id,
        "time": _fmt_time(row.time),
        "principal": row.principal,
        "on_behalf_of": row.on_behalf_of,
        "agent": row.agent,
        "face": row.face,
        "tool": row.tool,
        "arguments": row.arguments if row.arguments is not None else {},
        "decision": row.decision,
        "rule": row.rule,
        "approval_id": row.approval_id,
        "outcome": row.outcome,
        "error": row.error,
        "duration_ms": row.duration_ms,
        "result_size": row.result_size,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
        "call_id": row.call_id,
    }


def _cut(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).replace("\x00", "\ufffd")
    width = _WIDTHS.get(name)
    return value[:width] if width else value


# -- the log ----------------------------------------------------------------------------
# A Core insert with bound parameters: compiled once, unlike an ORM insert().values(**row).
_INSERT = insert(AuditRow.__table__)  # type: ignore[arg-type]
_LAST = select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)

_PROCESS_LOCKS: dict[str, threading.Lock] = {}
_PROCESS_LOCKS_GUARD = threading.Lock()


def _process_lock(url: str) -> threading.Lock:
    """One lock per database in this process: appends from threads queue on it instead of
    colliding in SQLite's busy handler (which sleeps in steps of milliseconds)."""
    with _PROCESS_LOCKS_GUARD:
        return _PROCESS_LOCKS.setdefault(url, threading.Lock())


_LOCK_FDS: dict[str, int] = {}
# A forked child shares its parent's open file descriptions, and with them their flocks:
# it must open its own.
os.register_at_fork(after_in_child=_LOCK_FDS.clear)


@contextmanager
def _file_lock(path: str | None) -> Iterator[None]:
    """Across processes on one SQLite file: an advisory lock the kernel hands over the
    moment it is released (SQLite's own busy handler polls with millisecond sleeps).
    Called with the process lock held, so one descriptor per file serves every thread."""
    if path is None:
        yield
        return
    fd = _LOCK_FDS.get(path)
    if fd is None:
        fd = _LOCK_FDS[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = _process_lock(str(store.engine.url))
        db = store.engine.url.database if store.dialect == "sqlite" else None
        self._lock_file = f"{db}.audit-lock" if db and db != ":memory:" else None

    # append -------------------------------------------------------------------------------
    def append(self, entry: AuditEntry) -> dict[str, Any]:
        """Redact, chain and write one record; return it as a dict (with seq and hash).

        Raises :class:`AuditWriteError` if the record is not durably written."""
        try:
            record: dict[str, Any] = {
                "id": uuid.uuid4().hex,
                "principal": _cut("principal", entry.principal) or "",
                "on_behalf_of": _cut("on_behalf_of", entry.on_behalf_of),
                "agent": _cut("agent", entry.agent),
                "face": _cut("face", entry.face) or "",
                "tool": _cut("tool", entry.tool) or "",
                "arguments": _jsonable(redact(entry.arguments)),
                "decision": _cut("decision", entry.decision) or "",
                "rule": redact_text(_cut("rule", entry.rule) or "") or None,
                "approval_id": _cut("approval_id", entry.approval_id),
                "outcome": _cut("outcome", entry.outcome) or "",
                "error": redact_text(_cut("error", entry.error) or "") or None,
                "duration_ms": None
                if entry.duration_ms is None
                else round(float(entry.duration_ms), 3),
                "result_size": None if entry.result_size is None else int(entry.result_size),
                "call_id": _cut("call_id", entry.call_id),
            }
        except (TypeError, ValueError) as exc:
            raise AuditWriteError(f"invalid audit record: {type(exc).__name__}") from None
        try:
            with self._lock, _file_lock(self._lock_file), self.store.engine.connect() as conn:
                if self.store.dialect == "sqlite":
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
                try:
                    self._chain_and_insert(conn, record)
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
        except Exception as exc:
            # The message names the failure, never the record's values.
            raise AuditWriteError(
                f"cannot write the audit record ({type(exc).__name__}); the call was not run"
            ) from exc
        return record

    @staticmethod
    def _chain_and_insert(conn: Connection, record: dict[str, Any]) -> None:
        last = conn.execute(_LAST).first()
        record["seq"] = (last.seq + 1) if last else 1
        record["prev_hash"] = last.hash if last else GENESIS_HASH
        now = dt.datetime.now(dt.UTC)
        record["time"] = now
        record["hash"] = record_hash(record)
        conn.execute(_INSERT, record)
        record["time"] = _fmt_time(now)

    # read ---------------------------------------------------------------------------------
    def list(
        self,
        *,
        principal: str | None = None,
        tool: str | None = None,
        decision: str | None = None,
        since: str | dt.datetime | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        """Records matching every given filter, newest first."""
        q = select(AuditRow).order_by(AuditRow.seq.desc()).limit(max(1, min(limit, 100_000)))
        if principal:
            q = q.where(AuditRow.principal == principal)
        if tool:
            q = q.where(AuditRow.tool == tool)
        if decision:
            q = q.where(AuditRow.decision == decision)
        if since:
            when = parse_since(since) if isinstance(since, str) else since
            q = q.where(AuditRow.time >= when)
        with self.store.session() as s:
            return [row_dict(r) for r in s.scalars(q)]

    def of_call(self, call_id: str) -> builtins.list[dict[str, Any]]:
        """The records of one call (its "started" and outcome records), oldest first."""
        q = select(AuditRow).where(AuditRow.call_id == call_id).order_by(AuditRow.seq)
        with self.store.session() as s:
            return [row_dict(r) for r in s.scalars(q)]

    def of_approval(self, approval_id: str) -> builtins.list[dict[str, Any]]:
        """The records that name an approval request, oldest first."""
        q = select(AuditRow).where(AuditRow.approval_id == approval_id).order_by(AuditRow.seq)
        with self.store.session() as s:
            return [row_dict(r) for r in s.scalars(q)]

    def get(self, seq: int) -> dict[str, Any] | None:
        """The record with this sequence number, or None."""
        with self.store.session() as s:
            row = s.get(AuditRow, seq)
        return row_dict(row) if row is not None else None

    def _iter_rows(self, batch: int = 1000) -> Iterator[AuditRow]:
        """All records in seq order, in batches (bounded memory)."""
        after = 0
        while True:
            q = select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(batch)
            with self.store.session() as s:
                rows = list(s.scalars(q))
            if not rows:
                return
            yield from rows
            after = rows[-1].seq

    # verify -------------------------------------------------------------------------------
    def verify(self) -> VerifyResult:
        """Walk the chain; report the first record where it breaks, and why."""
        expected_seq = 1
        prev_hash = GENESIS_HASH
        checked = 0
        for row in self._iter_rows():
            rec = row_dict(row)
            seq = row.seq
            if seq != expected_seq:
                return self._bad(
                    checked,
                    seq,
                    f"deleted: record(s) {expected_seq}..{seq - 1} are missing "
                    f"(sequence jumps from {expected_seq - 1} to {seq})",
                )
            if record_hash(rec) != row.hash:
                return self._bad(
                    checked, seq, "edited: the record's content does not match its hash"
                )
            if row.prev_hash != prev_hash:
                return self._bad(checked, seq, self._explain_prev_mismatch(row))
            prev_hash = row.hash
            expected_seq = seq + 1
            checked += 1
        return VerifyResult(
            ok=True,
            checked=checked,
            head_seq=expected_seq - 1 if checked else None,
            head_hash=prev_hash,
        )

    @staticmethod
    def _bad(checked: int, seq: int, problem: str) -> VerifyResult:
        return VerifyResult(ok=False, checked=checked, first_bad_seq=seq, problem=problem)

    def _explain_prev_mismatch(self, row: AuditRow) -> str:
        with self.store.session() as s:
            owner = s.scalars(select(AuditRow.seq).where(AuditRow.hash == row.prev_hash)).first()
        base = f"prev_hash does not match the hash of record {row.seq - 1}"
        if owner is not None and owner > row.seq:
            return f"reordered: {base}; it chains after record {owner}, which comes later"
        if owner is not None:
            return f"{base}; it chains after record {owner}: records were moved or renumbered"
        return (
            f"{base}: the record before it was deleted and the rest renumbered, "
            "or it was edited and re-hashed"
        )

    # export -------------------------------------------------------------------------------
    def export(
        self,
        fmt: str = "jsonl",
        annotate: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
    ) -> Iterator[str]:
        """One JSON document per record, oldest first (no trailing newline).

        ``annotate(record)`` may return facts to add under ``stratusec_context`` (e.g. the
        access grant a record made); they are outside the hashed record."""
        if fmt not in EXPORT_FORMATS:
            raise StratusecError(
                f"unknown audit export format {fmt!r}; valid: {', '.join(EXPORT_FORMATS)}"
            )
        for row in self._iter_rows():
            rec = row_dict(row)
            extra = annotate(rec) if annotate is not None else None
            doc = rec if fmt == "jsonl" else to_ocsf(rec)
            if extra:
                doc = {**doc, "stratusec_context": extra}
            yield json.dumps(doc, sort_keys=False, ensure_ascii=False, default=str)


# -- OCSF -------------------------------------------------------------------------------
OCSF_VERSION = "1.3.0"
_ACTIVITY = {1: "Create", 2: "Read", 3: "Update", 4: "Delete", 99: "Other"}
_READ_PREFIXES = ("get", "list", "query", "explain", "check", "show", "read", "export", "verify")
_CREATE_PREFIXES = ("scan", "create", "add", "request", "init")
_UPDATE_PREFIXES = ("apply", "update", "set", "approve", "deny", "activate", "suppress")
_DELETE_PREFIXES = ("delete", "remove", "revoke", "deactivate", "lift")


def _activity_id(tool: str) -> int:
    name = tool.lower().replace(" ", "_").replace("-", "_")
    for prefixes, aid in (
        (_READ_PREFIXES, 2),
        (_CREATE_PREFIXES, 1),
        (_UPDATE_PREFIXES, 3),
        (_DELETE_PREFIXES, 4),
    ):
        if name.startswith(prefixes):
            return aid
    return 99


def to_ocsf(rec: dict[str, Any]) -> dict[str, Any]:
    """An audit record as an OCSF API Activity event (class 6003)."""
    activity_id = _activity_id(rec["tool"])
    ok = rec["outcome"] == "ok"
    status_id = 1 if ok else (0 if rec["outcome"] in ("pending", "started") else 2)
    status = {0: "Unknown", 1: "Success", 2: "Failure"}[status_id]
    when = dt.datetime.strptime(rec["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    actor: dict[str, Any] = {
        "user": {"name": rec["principal"], "type": "User" if not rec["agent"] else "Other"},
        "authorizations": [
            {
                "decision": rec["decision"],
                **({"policy": {"name": rec["rule"]}} if rec["rule"] else {}),
            }
        ],
    }
    if rec["agent"]:
        actor["app_name"] = rec["agent"]
    if rec["on_behalf_of"]:
        actor["invoked_by"] = rec["on_behalf_of"]
    event: dict[str, Any] = {
        "activity_id": activity_id,
        "activity_name": _ACTIVITY[activity_id],
        "category_uid": 6,
        "category_name": "Application Activity",
        "class_uid": 6003,
        "class_name": "API Activity",
        "type_uid": 6003 * 100 + activity_id,
        "severity_id": 1,
        "severity": "Informational",
        "time": int(when.timestamp() * 1000),
        "time_dt": rec["time"],
        "status_id": status_id,
        "status": status,
        "status_detail": rec["outcome"],
        "actor": actor,
        "api": {
            "operation": rec["tool"],
            "request": {"uid": rec.get("call_id") or rec["id"]},
            "response": {
                **({"error": "error", "message": rec["error"]} if rec["error"] else {}),
                **({"length": rec["result_size"]} if rec["result_size"] is not None else {}),
            },
            "service": {"name": "stratusec"},
        },
        "src_endpoint": {"name": rec["face"]},
        "metadata": {
            "version": OCSF_VERSION,
            "uid": rec["id"],
            "log_name": "audit",
            **({"correlation_uid": rec["call_id"]} if rec.get("call_id") else {}),
            "product": {"name": "Stratusec", "vendor_name": "Stratusec", "version": __version__},
        },
        "unmapped": {
            "seq": rec["seq"],
            "prev_hash": rec["prev_hash"],
            "hash": rec["hash"],
            "face": rec["face"],
            "on_behalf_of": rec["on_behalf_of"],
            "arguments": rec["arguments"],
            "decision": rec["decision"],
            "rule": rec["rule"],
            "approval_id": rec["approval_id"],
            "outcome": rec["outcome"],
            "call_id": rec.get("call_id"),
        },
    }
    if rec["duration_ms"] is not None:
        event["duration"] = round(rec["duration_ms"])
    return event
