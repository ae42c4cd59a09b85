"""Activated guardrails: which policies run at every scan, with the exact source that runs.

Activating a policy stores its text and SHA-256: editing the file afterwards changes
nothing until the policy is activated again (and that activation goes through approval
like the first). These are library functions; the approval gate sits in front of them in
the CLI and MCP faces.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from stratusec.errors import NotFoundError
from stratusec.guardrails.loader import (
    available_policies,
    find_policy,
    policy_from_source,
    resolve_policies,
)
from stratusec.guardrails.model import PACKAGE_PREFIX, GuardrailError, Policy
from stratusec.store.db import Store
from stratusec.store.models import GuardrailActivationRow


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def _iso(value: dt.datetime | None) -> str | None:
    v = _utc(value)
    return v.isoformat() if v is not None else None


@dataclass(frozen=True)
class Activation:
    id: str
    package: str
    source_path: str | None
    source_sha256: str
    source: str
    activated_by: str
    approval_id: str | None
    activated_at: dt.datetime
    deactivated_at: dt.datetime | None
    deactivated_by: str | None

    @property
    def active(self) -> bool:
        return self.deactivated_at is None

    def as_dict(self, *, source: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "package": self.package,
            "source_path": self.source_path,
            "source_sha256": self.source_sha256,
            "activated_by": self.activated_by,
            "approval_id": self.approval_id,
            "activated_at": _iso(self.activated_at),
            "deactivated_at": _iso(self.deactivated_at),
            "deactivated_by": self.deactivated_by,
            "active": self.active,
        }
        if source:
            d["source"] = self.source
        return d

    def policy(self) -> Policy:
        """The stored source as a policy (origin ``active``)."""
        return policy_from_source(
            self.source,
            self.source_path or f"<active:{self.package}>",
            origin="active",
            lint=False,
        )


def _activation(row: GuardrailActivationRow) -> Activation:
    activated_at = _utc(row.activated_at)
    assert activated_at is not None
    return Activation(
        id=row.id,
        package=row.package,
        source_path=row.source_path,
        source_sha256=row.source_sha256,
        source=row.source,
        activated_by=row.activated_by,
        approval_id=row.approval_id,
        activated_at=activated_at,
        deactivated_at=_utc(row.deactivated_at),
        deactivated_by=row.deactivated_by,
    )


def list_activations(store: Store, *, include_inactive: bool = False) -> list[Activation]:
    """Activations, newest first (only the active ones unless asked)."""
    q = select(GuardrailActivationRow).order_by(GuardrailActivationRow.activated_at.desc())
    if not include_inactive:
        q = q.where(GuardrailActivationRow.deactivated_at.is_(None))
    with store.session() as s:
        return [_activation(r) for r in s.scalars(q)]


def active_policies(store: Store) -> list[Policy]:
    """The active policies, compiled from their stored source (package order)."""
    return [a.policy() for a in sorted(list_activations(store), key=lambda a: a.package)]


def _resolve_one(package_or_path: str, config: Any | None) -> Policy:
    found = resolve_policies(package_or_path, config)
    if len(found) != 1:
        names = ", ".join(p.name for p in found[:10])
        raise GuardrailError(
            f"{package_or_path} holds {len(found)} policies ({names}); activate one at a time"
        )
    return found[0]


def activate(
    store: Store,
    package_or_path: str,
    activated_by: str,
    approval_id: str | None = None,
    *,
    config: Any | None = None,
) -> Activation:
    """Activate one policy (a bundled or user policy by name or package, or a file).

    Its current source is linted, compiled with the other active policies, and stored.
    Activating a package that is already active with a different source replaces it (the
    old activation is closed); with the same source it is an error.
    """
    from stratusec.guardrails.engine import GuardrailEngine

    policy = _resolve_one(package_or_path, config)
    # Lint the source as it will be stored (bundled policies load without lint).
    policy = policy_from_source(policy.source, policy.path, origin=policy.origin)
    current = {a.package: a for a in list_activations(store)}
    previous = current.get(policy.package)
    if previous is not None and previous.source_sha256 == policy.sha256:
        raise GuardrailError(
            f"{policy.package} is already active with this source (activated by "
            f"{previous.activated_by} at {_iso(previous.activated_at)})"
        )
    others = [a.policy() for pkg, a in current.items() if pkg != policy.package]
    GuardrailEngine([*others, policy]).compile_all()  # compiles together, or raises
    now = _now()
    row = GuardrailActivationRow(
        id=uuid.uuid4().hex,
        package=policy.package,
        source_path=None if policy.path.startswith("<") else policy.path,
        source_sha256=policy.sha256,
        source=policy.source,
        activated_by=activated_by,
        approval_id=approval_id,
        activated_at=now,
    )
    with store.session() as s, s.begin():
        if previous is not None:
            old = s.get(GuardrailActivationRow, previous.id)
            if old is not None and old.deactivated_at is None:
                old.deactivated_at = now
                old.deactivated_by = activated_by
        s.add(row)
    return _activation(row)


def deactivate(store: Store, package: str, deactivated_by: str) -> Activation:
    """Stop running an active policy (by name or package) at scans."""
    pkg = package if package.startswith(PACKAGE_PREFIX) else PACKAGE_PREFIX + package
    with store.session() as s, s.begin():
        row = s.scalars(
            select(GuardrailActivationRow).where(
                GuardrailActivationRow.package == pkg,
                GuardrailActivationRow.deactivated_at.is_(None),
            )
        ).first()
        if row is None:
            active = ", ".join(a.package for a in list_activations(store)) or "none"
            raise NotFoundError(f"guardrail {pkg} is not active; active: {active}")
        row.deactivated_at = _now()
        row.deactivated_by = deactivated_by
        s.flush()
        return _activation(row)


def policy_catalog(store: Store, config: Any | None = None) -> dict[str, Any]:
    """Active and available policies with their source (the ``stratusec://policies``
    resource). An active policy whose file has changed since activation says so: what
    runs is the stored source."""
    active = list_activations(store)
    by_package = {a.package: a for a in active}
    available = available_policies(config)
    avail_rows = []
    for pol in available:
        act = by_package.get(pol.package)
        row = pol.summary(source=True)
        row["active"] = act is not None
        row["changed_since_activation"] = act is not None and act.source_sha256 != pol.sha256
        avail_rows.append(row)
    active_rows = []
    for a in sorted(active, key=lambda a: a.package):
        pol = a.policy()
        row = pol.summary(source=True)
        row.update(a.as_dict())
        active_rows.append(row)
    return {"active": active_rows, "available": avail_rows}


def stored_policy(store: Store, name: str, config: Any | None = None) -> Policy:
    """An active policy's stored source if it is active, else the available policy."""
    pkg = name if name.startswith(PACKAGE_PREFIX) else PACKAGE_PREFIX + name
    for a in list_activations(store):
        if a.package == pkg:
            return a.policy()
    return find_policy(name, config)
