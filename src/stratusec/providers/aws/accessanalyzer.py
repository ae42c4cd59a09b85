"""IAM Access Analyzer: analyzers per region, and one record per region saying whether an
external-access analyzer is active there (so that "no analyzer in region X" can be judged).

Only external-access analyzers (type ``ACCOUNT`` or ``ORGANIZATION``) make a region
``enabled``; unused-access analyzers (``*_UNUSED_ACCESS``) are recorded but answer a
different question. A failed listing makes ``enabled`` unknown (None, in ``unavailable``),
never False.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.providers.aws.base import CollectorContext

SERVICE = "accessanalyzer"
GLOBAL = False

# Analyzer types that watch for access from outside the zone of trust (CIS 1.20).
EXTERNAL_ACCESS_TYPES = frozenset({"ACCOUNT", "ORGANIZATION"})


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    aa = ctx.client()
    listing = ctx.listing(aa, "list_analyzers", "analyzers")
    names: list[str] = []
    active: list[str] = []
    for a in listing.items:
        rec = _analyzer(ctx, a)
        if rec is None:
            continue
        names.append(rec.name)
        if rec.config["status"] == "ACTIVE" and rec.config["type"] in EXTERNAL_ACCESS_TYPES:
            active.append(rec.name)
        yield rec
    if active:
        # Analyzers the listing did deliver are enough to say "enabled".
        enabled: bool | None = True
    else:
        enabled = False if listing.ok else None
    yield ctx.resource(
        uid=ctx.arn("access-analyzer", "region-settings"),
        type="aws_accessanalyzer_region",
        name=ctx.region,
        config={
            "analyzers": names if listing.ok else None,
            "active_analyzers": active,
            "enabled": enabled,
        },
        unavailable=(["enabled"] if enabled is None else [])
        + ([] if listing.ok else ["analyzers"]),
    )


def _analyzer(ctx: CollectorContext, a: dict[str, Any]) -> Resource | None:
    arn = a.get("arn")
    name = a.get("name")
    if not arn or not name:
        return None
    return ctx.resource(
        uid=str(arn),
        type="aws_accessanalyzer_analyzer",
        name=str(name),
        tags={str(k): str(v) for k, v in (a.get("tags") or {}).items()},
        config={
            "analyzer_name": name,
            "name": name,
            "arn": arn,
            "type": a.get("type"),
            "status": a.get("status"),
            "status_reason": (a.get("statusReason") or {}).get("code"),
            "created_at": a.get("createdAt"),
            "last_resource_analyzed": a.get("lastResourceAnalyzed"),
            "last_resource_analyzed_at": a.get("lastResourceAnalyzedAt"),
            "configuration": a.get("configuration"),
        },
        raw={"Analyzer": a},
    )
