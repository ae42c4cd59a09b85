"""The registry of checks. Check modules register on import (``load_all``)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from stratusec.checks.inventory import Inventory
from stratusec.checks.model import CheckMeta, Outcome, Remediation, Severity
from stratusec.errors import NotFoundError
from stratusec.inventory.models import Resource

CheckFn = Callable[[Inventory], Iterable[Outcome]]


@dataclass(frozen=True)
class Check:
    meta: CheckMeta
    fn: CheckFn

    @property
    def id(self) -> str:
        return self.meta.id

    def run(self, inv: Inventory) -> Iterable[Outcome]:
        return self.fn(inv)


_CHECKS: dict[str, Check] = {}
_loaded = False


def _meta(fn: Callable[..., Any], kwargs: dict[str, Any]) -> CheckMeta:
    rem = kwargs.pop("remediation")
    if isinstance(rem, str):
        rem = Remediation(summary=rem)
    elif isinstance(rem, dict):
        rem = Remediation(**rem)
    kwargs.setdefault("id", fn.__name__)
    kwargs["severity"] = Severity(kwargs["severity"])
    kwargs["resource_types"] = tuple(kwargs["resource_types"])
    kwargs["categories"] = tuple(kwargs.get("categories", ()))
    return CheckMeta(remediation=rem, **kwargs)


def _register(chk: Check) -> None:
    if chk.id in _CHECKS and _CHECKS[chk.id].fn.__module__ != chk.fn.__module__:
        raise ValueError(f"check id {chk.id!r} registered twice")
    _CHECKS[chk.id] = chk


def check(**meta: Any) -> Callable[[CheckFn], CheckFn]:
    """Register a whole-inventory check: ``fn(inv) -> Iterable[Outcome]``."""

    def deco(fn: CheckFn) -> CheckFn:
        _register(Check(_meta(fn, dict(meta)), fn))
        return fn

    return deco


def resource_check(
    **meta: Any,
) -> Callable[[Callable[[Resource, Inventory], Outcome | None]], Callable[..., Any]]:
    """Register a per-resource check: ``fn(resource, inv) -> Outcome | None`` for every
    resource of ``resource_types`` (None = not applicable to that resource)."""

    def deco(fn: Callable[[Resource, Inventory], Outcome | None]) -> Callable[..., Any]:
        types = tuple(meta["resource_types"])

        def run(inv: Inventory) -> Iterator[Outcome]:
            for t in types:
                for r in inv.of_type(t):
                    out = fn(r, inv)
                    if out is not None:
                        yield out

        run.__name__ = fn.__name__
        run.__module__ = fn.__module__
        _register(Check(_meta(fn, dict(meta)), run))
        return fn

    return deco


def load_all() -> None:
    """Import every module under stratusec.checks.aws (idempotent)."""
    global _loaded
    if _loaded:
        return
    import stratusec.checks.aws as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    _loaded = True


def all_checks() -> list[Check]:
    load_all()
    return sorted(_CHECKS.values(), key=lambda c: c.id)


GUARDRAIL_PREFIX = "guardrail:"


def _guardrail_check(check_id: str) -> Check:
    """An activated guardrail policy seen as a check (its findings' metadata)."""
    from stratusec.guardrails.loader import find_policy

    package = check_id.removeprefix(GUARDRAIL_PREFIX)
    try:
        pol = find_policy(package)
        title, severity = pol.meta.title, pol.meta.severity
        description, types = pol.meta.description, pol.meta.resource_types
    except Exception:  # a user policy since removed: its findings keep working
        title, severity, description, types = f"Guardrail {package}", "medium", "", ()
    meta = CheckMeta.model_construct(
        id=check_id,
        title=title,
        description=description or f"Guardrail policy {package}.",
        risk=description or "A resource breaks a guardrail policy your organisation activated.",
        severity=Severity(severity) if severity in {s.value for s in Severity} else Severity.MEDIUM,
        provider="aws",
        service="guardrail",
        resource_types=tuple(types),
        remediation=Remediation(
            summary=f"Change the resource to satisfy guardrail {package} (its deny messages "
            "say what), or deactivate the policy with 'stratusec guardrail deactivate'."
        ),
        categories=("guardrail",),
        compliance=(),
    )
    return Check(meta=meta, fn=lambda _inv: iter(()))


def get_check(check_id: str) -> Check:
    load_all()
    if check_id.startswith(GUARDRAIL_PREFIX):
        return _guardrail_check(check_id)
    try:
        return _CHECKS[check_id]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(check_id, list(_CHECKS), n=5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise NotFoundError(
            f"unknown check id {check_id!r}{hint} ('stratusec checks' lists all {len(_CHECKS)})"
        ) from None
