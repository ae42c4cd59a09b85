"""Findings lifecycle, suppressions and queries against SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest

from stratusec.checks import Inventory
from stratusec.checks.registry import get_check
from stratusec.checks.runner import run_checks
from stratusec.errors import StratusecError
from stratusec.findings.lifecycle import finding_id, reapply_suppressions, record_results
from stratusec.findings.query import FindingFilter, parse_since, query_findings
from stratusec.findings.suppressions import create_suppression, lift_suppression
from stratusec.store.db import open_store
from tests.checks.fixtures import res

CHECK = "s3_bucket_default_encryption"
ENC = {
    "server_side_encryption_configuration": {
        "rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]
    }
}
PLAIN = {"server_side_encryption_configuration": None}


def bucket(name: str, encrypted: bool, tags: dict[str, str] | None = None):
    return res(
        "aws_s3_bucket",
        name,
        config=ENC if encrypted else PLAIN,
        uid=f"arn:aws:s3:::{name}",
        tags=tags,
    )


class Account:
    """Drives scans of one fake account through the real lifecycle code."""

    def __init__(self, store) -> None:
        self.store = store
        self.t = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    def scan(self, *buckets, complete: bool = True):
        self.t += dt.timedelta(hours=1)
        sid = self.store.start_scan(
            account_name="prod", account_id="123456789012", regions=["us-east-1"], services=["s3"]
        )
        inv = Inventory(buckets, regions=["us-east-1"])
        report = run_checks(inv, [get_check(CHECK)])
        summary = record_results(
            self.store,
            scan_id=sid,
            account_name="prod",
            account_id="123456789012",
            report=report,
            resource_tags={b.uid: b.tags for b in buckets},
            complete=complete,
            now=self.t,
        )
        self.store.finish_scan(sid, status="succeeded")
        return sid, summary

    def find(self, **kw):
        return query_findings(self.store, FindingFilter(account="prod", **kw))


@pytest.fixture
def acct(store_url):
    store = open_store(store_url)
    yield Account(store)
    store.close()


def test_lifecycle_new_open_resolved_reopened(acct):
    fid = finding_id(CHECK, "arn:aws:s3:::a")
    _, s1 = acct.scan(bucket("a", False), bucket("b", True))
    assert (s1.new, s1.resolved) == (1, 0)
    [f] = acct.find().findings
    assert f["id"] == fid and f["status"] == "open" and f["severity"] == "medium"
    assert f["first_seen"] == f["last_seen"] and f["resolved_at"] is None
    assert "cis-aws-3.0:2.1.1" not in f["compliance"]
    assert [x["id"] for x in acct.find(new=True).findings] == [fid]

    _, s2 = acct.scan(bucket("a", False), bucket("b", True))
    assert (s2.new, s2.still_open) == (0, 1)
    [f2] = acct.find().findings
    assert (
        f2["id"] == fid and f2["first_seen"] == f["first_seen"] and f2["last_seen"] > f["last_seen"]
    )
    assert acct.find(new=True).findings == []  # not first seen in the latest scan

    _, s3 = acct.scan(bucket("a", True), bucket("b", True))
    assert s3.resolved == 1
    assert acct.find().total == 0
    [r] = acct.find(status="resolved").findings
    assert r["resolved_at"] is not None and r["resolution"]["reason"] == "check passed"

    _, s4 = acct.scan(bucket("a", False))
    assert s4.reopened == 1
    [again] = acct.find().findings
    assert again["resolved_at"] is None and again["first_seen"] == f["first_seen"]


def test_deleted_resource_resolves_only_in_a_complete_scan(acct):
    acct.scan(bucket("gone", False))
    acct.scan(complete=False)  # e.g. S3 listing failed: not evidence of deletion
    assert acct.find().total == 1
    _, s = acct.scan(complete=True)
    assert s.resolved == 1
    [r] = acct.find(status="resolved").findings
    assert r["resolution"]["reason"] == "resource no longer exists"


def test_suppression_by_tag_then_lifted(acct):
    acct.scan(bucket("scratch", False, {"purpose": "scratch-tmp"}), bucket("prod", False))
    sid = create_suppression(
        acct.store,
        reason="throwaway data",
        owner="data-team",
        created_by="tester",
        tag="purpose=scratch-*",
    )
    assert reapply_suppressions(acct.store, "prod") == 1
    assert [f["resource"]["name"] for f in acct.find().findings] == ["prod"]
    [sup] = acct.find(status="suppressed").findings
    assert sup["resource"]["name"] == "scratch" and sup["suppression_id"] == sid
    _, s = acct.scan(bucket("scratch", False, {"purpose": "scratch-tmp"}), bucket("prod", False))
    assert s.suppressed == 1  # respected by the next scan
    lift_suppression(acct.store, sid, "tester")
    reapply_suppressions(acct.store)
    assert acct.find().total == 2


def test_suppression_by_check_resource_and_expiry(acct):
    acct.scan(bucket("a", False), bucket("b", False))
    create_suppression(
        acct.store,
        reason="r",
        owner="o",
        created_by="t",
        check_id=CHECK,
        resource_pattern="arn:aws:s3:::a",
    )
    reapply_suppressions(acct.store)
    assert [f["resource"]["name"] for f in acct.find().findings] == ["b"]
    with pytest.raises(StratusecError, match="in the past"):
        create_suppression(
            acct.store,
            reason="r",
            owner="o",
            created_by="t",
            check_id=CHECK,
            expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        )
    with pytest.raises(StratusecError, match="needs a reason"):
        create_suppression(acct.store, reason=" ", owner="o", created_by="t", check_id=CHECK)
    with pytest.raises(StratusecError, match="say what to suppress"):
        create_suppression(acct.store, reason="r", owner="o", created_by="t")


def test_query_validation_and_pagination(acct):
    acct.scan(*(bucket(f"b{i:02d}", False) for i in range(25)))
    p1 = acct.find(limit=10)
    assert p1.total == 25 and len(p1.findings) == 10 and p1.next_cursor
    p2 = acct.find(limit=10, cursor=p1.next_cursor)
    p3 = acct.find(limit=10, cursor=p2.next_cursor)
    ids = [f["id"] for p in (p1, p2, p3) for f in p.findings]
    assert len(set(ids)) == 25 and p3.next_cursor is None
    assert acct.find(severity=["medium"]).total == 25
    assert acct.find(severity=["high"]).total == 0
    assert acct.find(check=[CHECK]).total == 25
    # first_seen is 2026-11-01 (the fake clock); --since counts back from the real clock
    assert acct.find(since="2026-10-31").total == 25
    assert acct.find(since="2026-11-02").total == 0
    with pytest.raises(StratusecError, match="valid severities: critical, high"):
        acct.find(severity=["urgent"])
    with pytest.raises(StratusecError, match="valid statuses"):
        acct.find(status="closed")
    with pytest.raises(StratusecError, match="unknown check id 's3_bucket_default_encrypt'"):
        acct.find(check=["s3_bucket_default_encrypt"])
    with pytest.raises(StratusecError, match="unknown framework 'pci'"):
        acct.find(control="pci:1")
    with pytest.raises(StratusecError, match=r"unknown control '99\.9'"):
        acct.find(control="cis-aws-3.0:99.9")
    with pytest.raises(StratusecError, match="no automated check"):
        acct.find(control="cis-aws-3.0:1.1")
    with pytest.raises(StratusecError, match="invalid cursor"):
        acct.find(cursor="!!!")


def test_parse_since():
    now = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    assert parse_since("24h", now) == now - dt.timedelta(hours=24)
    assert parse_since("7d", now) == now - dt.timedelta(days=7)
    assert parse_since("2026-11-01", now) == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with pytest.raises(StratusecError, match="not a duration"):
        parse_since("yesterday", now)
