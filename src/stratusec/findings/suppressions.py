"""Suppressions: mute a check, a resource (glob on the uid) or a tag pattern, optionally
for one account, with a reason, an owner and an optional expiry.

Suppressions are never deleted: they expire or are lifted, and the findings they covered
keep pointing at them (``suppression_id``), so the history stays auditable.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select

from stratusec.errors import NotFoundError, StratusecError
from stratusec.store.db import Store, utcnow
from stratusec.store.models import SuppressionRow


@dataclass(frozen=True)
class Suppression:
    id: int
    account_name: str | None
    check_id: str | None
    resource_pattern: str | None
    tag_key: str | None
    tag_value_pattern: str | None

    def matches(self, check_id: str, resource_uid: str, tags: Mapping[str, str]) -> bool:
        if self.check_id is not None and self.check_id != check_id:
            return False
        if self.resource_pattern is not None and not fnmatch.fnmatchcase(
            resource_uid, self.resource_pattern
        ):
            return False
        if self.tag_key is not None:
            if self.tag_key not in tags:
                return False
            pattern = self.tag_value_pattern or "*"
            if not fnmatch.fnmatchcase(tags[self.tag_key], pattern):
                return False
        return True


def _as_utc(v: dt.datetime | None) -> dt.datetime | None:
    return v.replace(tzinfo=dt.UTC) if v is not None and v.tzinfo is None else v


def active_suppressions(
    store: Store, account_name: str | None, now: dt.datetime | None = None
) -> list[Suppression]:
    now = now or utcnow()
    q = select(SuppressionRow).where(SuppressionRow.lifted_at.is_(None))
    if account_name is not None:
        q = q.where(
            or_(SuppressionRow.account_name.is_(None), SuppressionRow.account_name == account_name)
        )
    out = []
    with store.session() as s:
        for row in s.scalars(q.order_by(SuppressionRow.id)):
            exp = _as_utc(row.expires_at)
            if exp is not None and exp <= now:
                continue
            out.append(
                Suppression(
                    id=row.id,
                    account_name=row.account_name,
                    check_id=row.check_id,
                    resource_pattern=row.resource_pattern,
                    tag_key=row.tag_key,
                    tag_value_pattern=row.tag_value_pattern,
                )
            )
    return out


def matching_suppression(
    supps: list[Suppression], check_id: str, resource_uid: str, tags: Mapping[str, str]
) -> int | None:
    for sup in supps:
        if sup.matches(check_id, resource_uid, tags):
            return sup.id
    return None


def create_suppression(
    store: Store,
    *,
    reason: str,
    owner: str,
    created_by: str,
    account_name: str | None = None,
    check_id: str | None = None,
    resource_pattern: str | None = None,
    tag: str | None = None,
    expires_at: dt.datetime | None = None,
) -> int:
    """Store a suppression. ``tag`` is ``KEY=VALUE-GLOB`` or ``KEY`` (any value)."""
    if not reason.strip():
        raise StratusecError("a suppression needs a reason (--reason)")
    if not owner.strip():
        raise StratusecError("a suppression needs an owner (--owner)")
    if not (check_id or resource_pattern or tag):
        raise StratusecError(
            "say what to suppress: --check ID, --resource UID-GLOB and/or --tag KEY=VALUE-GLOB"
        )
    if expires_at is not None and expires_at <= utcnow():
        raise StratusecError(f"--expires {expires_at.isoformat()} is in the past")
    tag_key = tag_value = None
    if tag:
        tag_key, _, tag_value = tag.partition("=")
        if not tag_key:
            raise StratusecError(f"--tag {tag!r} must be KEY or KEY=VALUE-GLOB")
        tag_value = tag_value or None
    with store.session() as s, s.begin():
        row = SuppressionRow(
            account_name=account_name,
            check_id=check_id,
            resource_pattern=resource_pattern,
            tag_key=tag_key,
            tag_value_pattern=tag_value,
            reason=reason.strip(),
            owner=owner.strip(),
            created_by=created_by,
            created_at=utcnow(),
            expires_at=expires_at,
        )
        s.add(row)
        s.flush()
        return int(row.id)


def lift_suppression(store: Store, suppression_id: int, lifted_by: str) -> None:
    with store.session() as s, s.begin():
        row = s.get(SuppressionRow, suppression_id)
        if row is None:
            raise NotFoundError(f"unknown suppression id {suppression_id}")
        if row.lifted_at is None:
            row.lifted_at = utcnow()
            row.lifted_by = lifted_by


def list_suppressions(store: Store, *, include_inactive: bool = False) -> list[SuppressionRow]:
    now = utcnow()
    with store.session() as s:
        rows = list(s.scalars(select(SuppressionRow).order_by(SuppressionRow.id)))
    if include_inactive:
        return rows
    return [
        r
        for r in rows
        if r.lifted_at is None and (r.expires_at is None or _as_utc(r.expires_at) > now)  # type: ignore[operator]
    ]
