"""The audit log on real SQLite and PostgreSQL: chain, tamper detection, concurrency,
redaction at rest, fail-closed writes, exports and the CLI."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import delete, insert, select, text, update
from typer.testing import CliRunner

from stratusec import paths
from stratusec.cli import audit as audit_cli
from stratusec.governance.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditLog,
    AuditWriteError,
    record_hash,
)
from stratusec.store.db import Store, open_store
from stratusec.store.models import AuditRow

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEJr//////////wEaDM3q4x8+example+session+token+value+0123456789=="
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXBhcnQ"
PG_PASSWORD = "Pg-P4ssw0rd-value"
STATIC_TOKEN = "stx_live_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"
)
SECRETS = (AWS_SECRET, SESSION_TOKEN, JWT, PG_PASSWORD, STATIC_TOKEN, "MIIEvQIBADANBgkqhkiG9w0B")


def entry(i: int = 0, **kw: Any) -> AuditEntry:
    base: dict[str, Any] = {
        "principal": "alice",
        "on_behalf_of": "alice@example.com",
        "agent": "claude-code",
        "face": "mcp-stdio",
        "tool": "get_findings",
        "arguments": {"account": "prod", "severity": ["high"], "page": i, "ratio": 0.5},
        "decision": "allow",
        "rule": "role reader may call get_findings",
        "outcome": "ok",
        "duration_ms": 1.25,
        "result_size": 10 + i,
    }
    base.update(kw)
    return AuditEntry(**base)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def log(store: Store) -> AuditLog:
    return AuditLog(store)


def fill(log: AuditLog, n: int = 5) -> list[dict[str, Any]]:
    return [log.append(entry(i)) for i in range(n)]


def sql(store: Store, stmt: str, **params: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(stmt), params)


# -- chain ---------------------------------------------------------------------------------
def test_append_chains_and_verifies(log: AuditLog) -> None:
    recs = fill(log, 5)
    assert [r["seq"] for r in recs] == [1, 2, 3, 4, 5]
    assert recs[0]["prev_hash"] == GENESIS_HASH
    for a, b in itertools.pairwise(recs):
        assert b["prev_hash"] == a["hash"]
    stored = log.list(limit=10)
    assert [r["seq"] for r in stored] == [5, 4, 3, 2, 1]  # newest first
    for r in stored:
        assert record_hash(r) == r["hash"]  # recomputed from what the database returns
    assert stored[-1]["arguments"] == {
        "account": "prod",
        "severity": ["high"],
        "page": 0,
        "ratio": 0.5,
    }
    assert stored[-1]["time"].endswith("Z")
    res = log.verify()
    assert res.ok and res.checked == 5 and res.first_bad_seq is None
    assert res.head_seq == 5 and res.head_hash == recs[-1]["hash"]


def test_empty_log_verifies(log: AuditLog) -> None:
    res = log.verify()
    assert res.ok and res.checked == 0 and res.head_hash == GENESIS_HASH


def test_every_decision_and_outcome_is_recorded(log: AuditLog) -> None:
    log.append(entry(decision="deny", outcome="denied", rule="role reader: tool hidden"))
    log.append(entry(decision="require_approval", outcome="pending", approval_id="a" * 32))
    log.append(entry(outcome="error", error="AccessDenied calling iam:ListUsers"))
    assert [r["outcome"] for r in log.list()] == ["error", "pending", "denied"]
    assert log.verify().ok


def test_list_filters(log: AuditLog) -> None:
    log.append(entry(principal="alice", tool="scan"))
    log.append(entry(principal="bob", tool="get_findings", decision="deny", outcome="denied"))
    log.append(entry(principal="bob", tool="scan"))
    assert {r["seq"] for r in log.list(principal="bob")} == {2, 3}
    assert {r["seq"] for r in log.list(tool="scan")} == {1, 3}
    assert [r["seq"] for r in log.list(decision="deny")] == [2]
    assert [r["seq"] for r in log.list(principal="bob", tool="scan")] == [3]
    assert len(log.list(since="1h")) == 3
    assert log.list(since="2999-01-01") == []
    assert [r["seq"] for r in log.list(limit=1)] == [3]


def test_long_values_are_cut_to_the_column_not_rejected(log: AuditLog) -> None:
    rec = log.append(entry(principal="p" * 1000, tool="t" * 500))
    assert len(rec["principal"]) == 256 and len(rec["tool"]) == 128
    assert log.verify().ok


def test_awkward_json_values_keep_the_chain_valid(log: AuditLog) -> None:
    log.append(
        entry(
            arguments={
                "big": 1e20,
                "whole": 2.0,
                "tiny": 1.5e-7,
                "nan": float("nan"),
                "nul": "a\x00b",
                "unicode": "café ✓",
                "nested": {"z": 1, "a": [True, None]},
            }
        )
    )
    assert log.verify().ok


# -- tamper detection ----------------------------------------------------------------------
def test_edited_field_is_pinpointed(log: AuditLog, store: Store) -> None:
    fill(log, 6)
    sql(store, "UPDATE audit_records SET principal = 'mallory' WHERE seq = 4")
    res = log.verify()
    assert not res.ok and res.first_bad_seq == 4 and res.checked == 3
    assert res.problem and res.problem.startswith("edited")


def test_edited_arguments_are_pinpointed(log: AuditLog, store: Store) -> None:
    fill(log, 4)
    with store.engine.begin() as conn:
        conn.execute(
            update(AuditRow)
            .where(AuditRow.seq == 2)
            .values(arguments={"account": "other", "severity": ["high"], "page": 1, "ratio": 0.5})
        )
    res = log.verify()
    assert (res.ok, res.first_bad_seq) == (False, 2)


def test_edited_and_rehashed_record_breaks_the_next_link(log: AuditLog, store: Store) -> None:
    fill(log, 5)
    forged = {**log.get(3), "outcome": "denied"}  # type: ignore[dict-item]
    sql(
        store,
        "UPDATE audit_records SET outcome = 'denied', hash = :h WHERE seq = 3",
        h=record_hash(forged),
    )
    res = log.verify()
    assert (res.ok, res.first_bad_seq) == (False, 4)
    assert res.problem and "prev_hash" in res.problem


def test_deleted_record_is_pinpointed(log: AuditLog, store: Store) -> None:
    fill(log, 6)
    sql(store, "DELETE FROM audit_records WHERE seq = 3")
    res = log.verify()
    assert not res.ok and res.first_bad_seq == 4 and res.checked == 2
    assert res.problem and res.problem.startswith("deleted") and "3..3" in res.problem


def test_deleted_first_record_is_detected(log: AuditLog, store: Store) -> None:
    fill(log, 3)
    sql(store, "DELETE FROM audit_records WHERE seq = 1")
    res = log.verify()
    assert (res.ok, res.first_bad_seq) == (False, 2)


def test_deleted_and_renumbered_is_detected(log: AuditLog, store: Store) -> None:
    fill(log, 5)
    sql(store, "DELETE FROM audit_records WHERE seq = 3")
    sql(store, "UPDATE audit_records SET seq = seq - 1 WHERE seq > 3")
    res = log.verify()
    assert (res.ok, res.first_bad_seq) == (False, 3)
    assert res.problem and "prev_hash" in res.problem


def test_reordered_records_are_pinpointed(log: AuditLog, store: Store) -> None:
    fill(log, 6)
    table = AuditRow.__table__
    with store.engine.begin() as conn:
        rows = {
            r.seq: dict(r._mapping)
            for r in conn.execute(select(table).where(table.c.seq.in_((3, 4))))
        }
        conn.execute(delete(AuditRow).where(AuditRow.seq.in_((3, 4))))
        # Swap the two records' whole contents (hashes included): a pure reordering.
        conn.execute(insert(AuditRow), [{**rows[4], "seq": 3}, {**rows[3], "seq": 4}])
    res = log.verify()
    assert not res.ok and res.first_bad_seq == 3
    assert res.problem and res.problem.startswith("reordered")


# -- concurrency ---------------------------------------------------------------------------
def _hammer(logs: list[AuditLog], threads: int, per_thread: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads)

    def work(n: int) -> None:
        log = logs[n % len(logs)]
        barrier.wait()
        for i in range(per_thread):
            try:
                log.append(entry(i, principal=f"worker-{n}"))
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

    ts = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


def test_concurrent_appends_keep_one_chain(log: AuditLog) -> None:
    assert _hammer([log], threads=8, per_thread=25) == []
    res = log.verify()
    assert res.ok and res.checked == 200


def test_concurrent_appends_from_two_stores(store_url: str, log: AuditLog) -> None:
    other = open_store(store_url)
    try:
        assert _hammer([log, AuditLog(other)], threads=8, per_thread=20) == []
    finally:
        other.close()
    res = log.verify()
    assert res.ok and res.checked == 160
    assert len({r["principal"] for r in log.list(limit=1000)}) == 8


# -- secrets -------------------------------------------------------------------------------
def test_secrets_never_reach_the_table(log: AuditLog, store: Store, store_url: str) -> None:
    log.append(
        entry(
            arguments={
                "password": "hunter2-plain",
                "SecretAccessKey": AWS_SECRET,
                "options": {"session_token": SESSION_TOKEN, "items": [f"Bearer {STATIC_TOKEN}"]},
                "dsn": f"postgresql://app:{PG_PASSWORD}@db:5432/x",
                "note": f"jwt {JWT} and {AWS_SECRET}",
                "pem": PRIVATE_KEY,
            },
            error=f"upstream said: Authorization: Bearer {STATIC_TOKEN} password={PG_PASSWORD}",
            rule=f"token {JWT} matched",
        )
    )
    with store.engine.connect() as conn:
        dump = json.dumps(
            [list(r) for r in conn.execute(text("SELECT * FROM audit_records"))], default=str
        )
    for secret in (*SECRETS, "hunter2-plain"):
        assert secret not in dump
    assert "[REDACTED]" in dump
    if store_url.startswith("sqlite"):
        db = Path(store_url.removeprefix("sqlite:///"))
        raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
        for secret in (*SECRETS, "hunter2-plain"):
            assert secret.encode() not in raw
    exported = "\n".join(log.export("jsonl")) + "\n".join(log.export("ocsf"))
    for secret in SECRETS:
        assert secret not in exported
    assert log.verify().ok


# -- fail closed ---------------------------------------------------------------------------
def test_append_fails_closed_when_the_table_is_gone(log: AuditLog, store: Store) -> None:
    fill(log, 2)
    sql(store, "DROP TABLE audit_records")
    with pytest.raises(AuditWriteError) as info:
        log.append(entry(arguments={"password": "hunter2-plain"}))
    assert "hunter2" not in str(info.value)
    assert "not run" in str(info.value)


def test_append_fails_closed_when_the_database_is_unreachable(tmp_path: Path) -> None:
    bad = Store("postgresql://nobody@127.0.0.1:1/none")  # nothing listens on port 1
    with pytest.raises(AuditWriteError):
        AuditLog(bad).append(entry())
    ro = tmp_path / "ro"
    ro.mkdir()
    s = Store(f"sqlite:///{ro / 'missing.db'}")  # no schema: the table does not exist
    with pytest.raises(AuditWriteError):
        AuditLog(s).append(entry())
    s.close()


def test_failed_append_leaves_no_partial_record(
    log: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(log, 2)

    def explode(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as m:
        m.setattr(AuditLog, "_chain_and_insert", staticmethod(explode))
        with pytest.raises(AuditWriteError, match="RuntimeError"):
            log.append(entry())
    log.append(entry())  # the lock was released
    res = log.verify()
    assert res.ok and res.checked == 3


# -- export --------------------------------------------------------------------------------
def test_export_jsonl(log: AuditLog) -> None:
    fill(log, 3)
    lines = list(log.export("jsonl"))
    docs = [json.loads(line) for line in lines]
    assert [d["seq"] for d in docs] == [1, 2, 3]  # oldest first
    assert set(docs[0]) == {
        "seq",
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
        "hash",
        "call_id",
    }
    assert all(record_hash(d) == d["hash"] for d in docs)  # verifiable offline


def test_export_ocsf(log: AuditLog) -> None:
    log.append(entry())
    log.append(entry(tool="scan", decision="deny", outcome="denied", rule="no"))
    log.append(entry(tool="apply_fix", decision="require_approval", outcome="pending"))
    docs = [json.loads(line) for line in log.export("ocsf")]
    first, denied, pending = docs
    for d in docs:
        assert d["class_uid"] == 6003 and d["category_uid"] == 6
        assert d["type_uid"] == 600300 + d["activity_id"]
        assert isinstance(d["time"], int) and d["time"] > 1_700_000_000_000
        assert d["actor"]["user"]["name"] == "alice"
        assert d["metadata"]["product"]["name"] == "Stratusec"
        assert d["metadata"]["version"]
        assert set(d["unmapped"]) >= {"seq", "prev_hash", "hash", "arguments"}
    assert first["api"]["operation"] == "get_findings" and first["activity_id"] == 2
    assert (first["status"], first["status_id"]) == ("Success", 1)
    assert first["actor"]["app_name"] == "claude-code"
    assert first["actor"]["invoked_by"] == "alice@example.com"
    assert denied["activity_id"] == 1 and denied["status_id"] == 2
    assert denied["actor"]["authorizations"] == [{"decision": "deny", "policy": {"name": "no"}}]
    assert pending["activity_id"] == 3 and pending["status_id"] == 0
    assert docs[1]["unmapped"]["prev_hash"] == docs[0]["unmapped"]["hash"]


def test_export_unknown_format(log: AuditLog) -> None:
    from stratusec.errors import StratusecError

    with pytest.raises(StratusecError, match="jsonl, ocsf"):
        list(log.export("csv"))


# -- CLI -----------------------------------------------------------------------------------
@pytest.fixture
def cli_log(store_url: str) -> Iterator[AuditLog]:
    """The store the CLI's Context opens (config file in the test's STRATUSEC_HOME)."""
    cfg = paths.config_path()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(yaml.safe_dump({"storage": {"url": store_url}}), encoding="utf-8")
    s = open_store(store_url)
    yield AuditLog(s)
    s.close()


def test_cli_verify_exit_codes(cli_log: AuditLog) -> None:
    runner = CliRunner()
    fill(cli_log, 4)
    ok = runner.invoke(audit_cli.app, ["verify"])
    assert ok.exit_code == 0, ok.output
    # the verify call itself is audited: its "started" record is the fifth
    assert "intact: 5 records" in ok.output
    assert [r["tool"] for r in cli_log.list(limit=2)] == ["audit_verify", "audit_verify"]
    sql(cli_log.store, "UPDATE audit_records SET tool = 'scan' WHERE seq = 2")
    bad = runner.invoke(audit_cli.app, ["verify"])
    assert bad.exit_code == 1
    assert "record 2" in bad.output and "edited" in bad.output
    as_json = runner.invoke(audit_cli.app, ["verify", "--output", "json"])
    assert as_json.exit_code == 1
    doc = json.loads(as_json.stdout)
    assert doc["first_bad_seq"] == 2 and doc["record"]["tool"] == "scan"


def test_cli_list_and_export(cli_log: AuditLog, tmp_path: Path) -> None:
    runner = CliRunner()
    cli_log.append(entry(principal="alice"))
    cli_log.append(entry(principal="bob", decision="deny", outcome="denied"))
    res = runner.invoke(audit_cli.app, ["list", "--principal", "bob", "--output", "json"])
    assert res.exit_code == 0, res.output
    assert [r["principal"] for r in json.loads(res.stdout)["records"]] == ["bob"]
    table = runner.invoke(audit_cli.app, ["list", "--since", "24h", "--decision", "deny"])
    assert table.exit_code == 0 and "Audit records: 1" in table.output and "bob" in table.output
    out = runner.invoke(audit_cli.app, ["export", "--format", "ocsf"])
    assert out.exit_code == 0
    events = [json.loads(x) for x in out.stdout.splitlines()]
    assert {e["class_uid"] for e in events} == {6003}
    # the two records, the two audited list calls (started + ok each), this export's start
    assert [e["api"]["operation"] for e in events][:2] == ["get_findings", "get_findings"]
    assert len(events) == 7 and events[-1]["api"]["operation"] == "audit_export"
    target = tmp_path / "audit.jsonl"
    res = runner.invoke(audit_cli.app, ["export", "--format", "jsonl", "--output", str(target)])
    assert res.exit_code == 0
    assert len(target.read_text().splitlines()) == 9
    assert target.stat().st_mode & 0o077 == 0  # not readable by others


def test_call_id_is_hashed_when_set_and_older_records_still_verify(log: AuditLog) -> None:
    """call_id (added in migration 0004) is part of the hash when present; records without
    it hash exactly as before, so chains written by older versions still verify."""
    log.append(entry())  # no call_id: the pre-0004 canonical form
    log.append(AuditEntry(**{**entry().__dict__, "call_id": "c" * 32}))
    assert log.verify().ok
    with log.store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_records SET call_id = 'd' WHERE seq = 2"))
    res = log.verify()
    assert not res.ok and res.first_bad_seq == 2
