"""Small inventories for check tests: build Resources by hand, no cloud."""

from __future__ import annotations

from typing import Any

from stratusec.checks import Inventory, Status
from stratusec.checks.registry import get_check
from stratusec.inventory.models import Resource

ACCOUNT = "123456789012"


def res(
    type_: str,
    name: str,
    *,
    config: dict[str, Any] | None = None,
    region: str = "us-east-1",
    uid: str | None = None,
    tags: dict[str, str] | None = None,
    unavailable: list[str] | None = None,
    service: str | None = None,
    relationships: list[tuple[str, str]] | None = None,
) -> Resource:
    r = Resource(
        uid=uid or f"arn:aws:test:{region}:{ACCOUNT}:{type_}/{name}",
        account=ACCOUNT,
        region=region,
        service=service or type_.split("_")[1],
        type=type_,
        name=name,
        tags=tags or {},
        config=config or {},
        unavailable=unavailable or [],
    )
    for rel_type, target in relationships or []:
        r.relate(rel_type, target)
    return r


def inventory(*resources: Resource, regions: list[str] | None = None) -> Inventory:
    return Inventory(resources, regions=regions or ["us-east-1", "eu-west-1"])


def run(check_id: str, inv: Inventory) -> dict[str, tuple[Status, str]]:
    """Run one check; {resource name: (status, message)}."""
    return {o.resource.name: (o.status, o.message) for o in get_check(check_id).run(inv)}


def statuses(check_id: str, inv: Inventory) -> dict[str, Status]:
    return {name: st for name, (st, _msg) in run(check_id, inv).items()}
