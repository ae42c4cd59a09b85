"""Fixers by the check they fix: ``@fixer("check_id", ...)`` on a function
``(resource, finding, options) -> FixSpec``."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.remediation.model import FixSpec

#: Resources of a type from the account's latest scan (for fixers that need context,
#: e.g. the trails behind an account-level finding, or the KMS keys to choose from).
Lookup = Callable[[str], list[Resource]]
#: (resource, finding, options, lookup) -> FixSpec
FixerFn = Callable[[Resource, dict[str, Any], dict[str, Any], Lookup], FixSpec]


@dataclass(frozen=True)
class Fixer:
    id: str
    check_ids: tuple[str, ...]
    title: str
    fn: FixerFn
    #: Option name -> description (what ``options`` may carry, e.g. {"cidr": "..."}).
    options: dict[str, str]


_FIXERS: dict[str, Fixer] = {}
_BY_CHECK: dict[str, Fixer] = {}
_loaded = False


def fixer(
    *check_ids: str, id: str, title: str, options: dict[str, str] | None = None
) -> Callable[[FixerFn], FixerFn]:
    def deco(fn: FixerFn) -> FixerFn:
        if id in _FIXERS:
            raise ValueError(f"fixer {id!r} is defined twice")
        f = Fixer(id=id, check_ids=tuple(check_ids), title=title, fn=fn, options=options or {})
        _FIXERS[id] = f
        for c in check_ids:
            if c in _BY_CHECK:
                raise ValueError(f"check {c!r} has two fixers: {_BY_CHECK[c].id}, {id}")
            _BY_CHECK[c] = f
        return fn

    return deco


def load_all() -> None:
    global _loaded
    if _loaded:
        return
    from stratusec.remediation import fixers as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"{pkg.__name__}.{mod.name}")
    _loaded = True


def fixer_for(check_id: str) -> Fixer | None:
    load_all()
    return _BY_CHECK.get(check_id)


def all_fixers() -> list[Fixer]:
    load_all()
    return sorted(_FIXERS.values(), key=lambda f: f.id)
