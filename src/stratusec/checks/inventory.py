"""An in-memory, indexed view of one account's inventory for the checks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from stratusec.inventory.models import Relationship, Resource

T = TypeVar("T")


class Inventory:
    """Resources indexed by type, uid, name and reverse relationship.

    ``regions`` are the regions the scan covered (per-region checks judge each of them).
    ``settings`` are check settings taken from the config by whoever builds the inventory
    (read-only; a check reads ``inv.settings.get(key)`` and falls back to its own default
    when the key is absent or None), e.g. ``agent_patterns`` and ``agent_tag`` for the
    non-human identity checks.
    """

    def __init__(
        self,
        resources: Iterable[Resource],
        *,
        regions: Iterable[str] = (),
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self._by_uid: dict[str, Resource] = {}
        self._by_type: dict[str, list[Resource]] = defaultdict(list)
        self._incoming: dict[str, list[tuple[Resource, Relationship]]] = defaultdict(list)
        for r in resources:
            self._by_uid[r.uid] = r
            self._by_type[r.type].append(r)
            for rel in r.relationships:
                self._incoming[rel.target].append((r, rel))
        self.regions = list(regions) or sorted(
            {r.region for r in self._by_uid.values() if r.region != "global"}
        )
        accounts = {r.account for r in self._by_uid.values()}
        self.account_id = next(iter(accounts)) if len(accounts) == 1 else None
        self._memo: dict[str, Any] = {}
        self.settings: Mapping[str, Any] = MappingProxyType(dict(settings or {}))
        # The account's security graph (a stratusec.graph.paths.GraphView) when the scan
        # built one; graph-aware checks yield nothing without it.
        self.graph: Any = None

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Compute an inventory-wide derived value once per inventory (per-resource checks
        that need an account-wide index call this instead of rebuilding it per resource)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def __len__(self) -> int:
        return len(self._by_uid)

    def of_type(self, type_: str) -> list[Resource]:
        return self._by_type.get(type_, [])

    def get(self, uid: str | None) -> Resource | None:
        return self._by_uid.get(uid) if uid else None

    def named(self, type_: str, name: str) -> Resource | None:
        for r in self.of_type(type_):
            if r.name == name:
                return r
        return None

    def referrers(self, uid: str, rel_type: str | None = None) -> list[Resource]:
        """Resources with a relationship pointing at ``uid`` (optionally of one type)."""
        return [src for src, rel in self._incoming.get(uid, []) if rel_type in (None, rel.type)]

    def related(self, resource: Resource, rel_type: str) -> list[Resource]:
        """The resources ``resource`` points at through ``rel_type`` (those in inventory)."""
        out = []
        for t in resource.targets(rel_type):
            r = self._by_uid.get(t)
            if r is not None:
                out.append(r)
        return out

    def all(self) -> Iterable[Resource]:
        return self._by_uid.values()

    def types(self) -> list[str]:
        return sorted(self._by_type)
