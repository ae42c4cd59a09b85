"""The audit log after the MCP calls of this package (named to run after them): the hash
chain verifies, an edited record is found by its sequence number, and the OCSF export is
one API Activity event per line."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.mcp.helpers import Demo

pytestmark = pytest.mark.slow


def _verify(demo: Demo) -> tuple[int, dict[str, object], str]:
    proc = demo.cli("audit", "verify", "--output", "json")
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def test_verify_detects_an_edited_record_by_seq(demo: Demo) -> None:
    # Make sure the package's MCP records exist even when this module runs alone.
    rows = demo.audit_since(0)
    mcp_rows = [r for r in rows if r["face"].startswith("mcp-")]
    if len(mcp_rows) < 3:
        pytest.skip("run with the other tests/mcp modules: there are no MCP records to check")
    code, result, _ = _verify(demo)
    assert code == 0 and result["ok"] is True, result
    assert isinstance(result["checked"], int) and result["checked"] >= len(rows)

    target = mcp_rows[len(mcp_rows) // 2]
    seq = target["seq"]
    con = sqlite3.connect(demo.db_path)
    try:
        [(original,)] = con.execute("SELECT arguments FROM audit_records WHERE seq = ?", (seq,))
        with con:
            con.execute(
                "UPDATE audit_records SET arguments = ? WHERE seq = ?",
                (json.dumps({"cypher": "MATCH (n) RETURN n", "edited": True}), seq),
            )
        code, result, _ = _verify(demo)
        assert code != 0
        assert result["ok"] is False and result["first_bad_seq"] == seq
        assert "edited" in str(result["problem"])
        text = demo.cli("audit", "verify")
        assert text.returncode != 0
        assert f"audit chain BROKEN at record {seq}: edited" in text.stderr
        assert f"record {seq}: id={target['id']}" in text.stdout
    finally:
        with con:
            con.execute("UPDATE audit_records SET arguments = ? WHERE seq = ?", (original, seq))
        con.close()
    code, result, _ = _verify(demo)
    assert code == 0 and result["ok"] is True, result


def test_ocsf_export(demo: Demo) -> None:
    count = len(demo.audit_since(0))
    proc = demo.cli("audit", "export", "--format", "ocsf")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) >= count > 0
    events = [json.loads(line) for line in lines]
    assert {e["class_uid"] for e in events} == {6003}
    assert {e["category_uid"] for e in events} == {6}
    assert [e["unmapped"]["seq"] for e in events] == list(range(1, len(events) + 1))
    for e in events:
        assert e["type_uid"] == 6003 * 100 + e["activity_id"]
        assert e["actor"]["user"]["name"]
        assert e["api"]["operation"]
    mcp = [e for e in events if e["src_endpoint"]["name"] in ("mcp-stdio", "mcp-http")]
    if mcp:
        calls = [e for e in mcp if e["unmapped"]["decision"] == "allow"]
        assert calls and all(e["metadata"].get("correlation_uid") for e in calls)
        denied = [e for e in mcp if e["status_detail"] == "denied"]
        assert all(e["status"] == "Failure" for e in denied)
