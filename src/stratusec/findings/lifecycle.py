"""Turn one scan's check results into findings: new, still open, resolved, suppressed.

A finding's id is a hash of (check id, resource uid): the same check failing on the same
resource is the same finding in every scan. It is *resolved* when a later scan evaluates
the check on that resource and it passes, or when the resource is gone from a complete
scan; it re-opens if it fails again (first_seen is kept).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from stratusec.checks.model import SEVERITY_RANK, CheckResult, Status
from stratusec.checks.registry import get_check
from stratusec.checks.runner import RunReport
from stratusec.compliance.frameworks import compliance_refs
from stratusec.findings.suppressions import active_suppressions, matching_suppression
from stratusec.inventory.models import jsonable
from stratusec.store.db import Store, utcnow
from stratusec.store.models import CheckRunRow, FindingRow


def finding_id(check_id: str, resource_uid: str) -> str:
    return hashlib.sha256(f"{check_id}\x1f{resource_uid}".encode()).hexdigest()[:32]


@dataclass
class RecordSummary:
    new: int = 0
    still_open: int = 0
    reopened: int = 0
    resolved: int = 0
    suppressed: int = 0
    new_ids: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "new": self.new,
            "still_open": self.still_open,
            "reopened": self.reopened,
            "resolved": self.resolved,
            "suppressed": self.suppressed,
        }


def record_results(
    store: Store,
    *,
    scan_id: str,
    account_name: str,
    account_id: str,
    report: RunReport,
    resource_tags: dict[str, dict[str, str]],
    complete: bool,
    now: dt.datetime | None = None,
) -> RecordSummary:
    """Persist per-check counts and update the account's findings from ``report``.

    ``resource_tags``: uid -> tags of every resource in the scanned inventory (for tag
    suppressions and to tell a deleted resource from one not evaluated).
    ``complete``: the scan covered every service without errors, so a finding whose
    resource disappeared can be resolved.
    """
    now = now or utcnow()
    summary = RecordSummary()
    refs = compliance_refs()
    supps = active_suppressions(store, account_name, now)
    failing: dict[str, CheckResult] = {}
    passing: set[str] = set()
    for r in report.results:
        fid = finding_id(r.check_id, r.resource_uid)
        if r.status == Status.PASS:
            passing.add(fid)
        else:
            failing[fid] = r
    with store.session() as s, s.begin():
        s.add_all(
            CheckRunRow(
                scan_id=scan_id,
                check_id=cid,
                passed=c.get("PASS", 0),
                failed=c.get("FAIL", 0),
                unknown=c.get("UNKNOWN", 0),
                error=report.errors.get(cid),
            )
            for cid, c in report.counts.items()
        )
        existing = {
            row.id: row
            for row in s.scalars(select(FindingRow).where(FindingRow.account_name == account_name))
        }
        for fid, r in failing.items():
            tags = resource_tags.get(r.resource_uid, {})
            supp = matching_suppression(supps, r.check_id, r.resource_uid, tags)
            status = "suppressed" if supp is not None else "open"
            row = existing.get(fid)
            if row is None:
                meta = get_check(r.check_id).meta
                s.add(
                    FindingRow(
                        id=fid,
                        account_name=account_name,
                        account_id=account_id,
                        check_id=r.check_id,
                        title=meta.title,
                        resource_uid=r.resource_uid,
                        resource_type=r.resource_type,
                        resource_name=r.resource_name,
                        resource_tags=tags,
                        region=r.region,
                        service=r.service,
                        severity=str(r.severity),
                        severity_rank=SEVERITY_RANK[r.severity],
                        status=status,
                        result=str(r.status),
                        message=r.message,
                        evidence=jsonable(r.evidence),
                        compliance=list(refs.get(r.check_id, ())),
                        first_seen=now,
                        last_seen=now,
                        resolved_at=None,
                        first_scan_id=scan_id,
                        last_scan_id=scan_id,
                        suppression_id=supp,
                    )
                )
                summary.new += 1
                summary.new_ids.append(fid)
            else:
                if row.status == "resolved":
                    summary.reopened += 1
                else:
                    summary.still_open += 1
                row.status = status
                row.result = str(r.status)
                row.message = r.message
                row.evidence = jsonable(r.evidence)
                row.severity = str(r.severity)
                row.severity_rank = SEVERITY_RANK[r.severity]
                row.resource_tags = tags
                row.resource_name = r.resource_name
                row.compliance = list(refs.get(r.check_id, ()))
                row.last_seen = now
                row.last_scan_id = scan_id
                row.resolved_at = None
                row.suppression_id = supp
            if status == "suppressed":
                summary.suppressed += 1
        ran_ok = {cid for cid in report.counts if cid not in report.errors}
        for fid, row in existing.items():
            if fid in failing or row.status == "resolved" or row.check_id not in ran_ok:
                continue
            gone = row.resource_uid not in resource_tags
            if fid in passing or (gone and complete):
                row.status = "resolved"
                row.resolved_at = now
                row.resolution = {
                    "scan_id": scan_id,
                    "reason": "check passed" if fid in passing else "resource no longer exists",
                }
                row.suppression_id = None
                summary.resolved += 1
    return summary


def reapply_suppressions(store: Store, account_name: str | None = None) -> int:
    """Re-evaluate open/suppressed findings against the active suppressions (after one
    is created, lifted or expires). Returns how many findings changed status."""
    now = utcnow()
    changed = 0
    with store.session() as s, s.begin():
        q = select(FindingRow).where(FindingRow.status.in_(("open", "suppressed")))
        if account_name:
            q = q.where(FindingRow.account_name == account_name)
        cache: dict[str | None, list[Any]] = {}
        for row in s.scalars(q):
            if row.account_name not in cache:
                cache[row.account_name] = active_suppressions(store, row.account_name, now)
            supp = matching_suppression(
                cache[row.account_name], row.check_id, row.resource_uid, row.resource_tags or {}
            )
            status = "suppressed" if supp is not None else "open"
            if status != row.status or supp != row.suppression_id:
                changed += row.status != status
                row.status = status
                row.suppression_id = supp
    return changed


def mark_resolved(store: Store, fid: str, evidence: dict[str, Any]) -> None:
    """Resolve one finding with stored evidence (used by verified remediation)."""
    with store.engine.begin() as conn:
        conn.execute(
            update(FindingRow)
            .where(FindingRow.id == fid)
            .values(status="resolved", resolved_at=utcnow(), resolution=jsonable(evidence))
        )


def titles(check_ids: Iterable[str]) -> dict[str, str]:
    return {c: get_check(c).meta.title for c in check_ids}
