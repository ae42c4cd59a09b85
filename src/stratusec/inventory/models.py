"""The normalized ``Resource`` (see ARCHITECTURE.md): shaped after Terraform so that one
guardrail policy judges a live resource and a planned one alike."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def jsonable(value: Any) -> Any:
    """Convert API data (datetimes, bytes, Decimals, tuples, sets) to plain JSON values."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    read = getattr(value, "read", None)
    if callable(read):  # StreamingBody: never kept
        return None
    return str(value)


class Relationship(BaseModel):
    """A fact edge from this resource to another, by uid (e.g. ``IN_SUBNET`` -> subnet ARN)."""

    model_config = ConfigDict(frozen=True)

    type: str
    target: str
    properties: dict[str, Any] = Field(default_factory=dict)


class Resource(BaseModel):
    """One cloud resource or principal.

    ``config`` uses Terraform attribute names where one exists; ``raw`` keeps the API
    responses the record was built from, as evidence. ``unavailable`` names config
    attributes that could not be read (an API call failed): checks must treat them as
    unknown, never as a pass.
    """

    uid: str
    provider: str = "aws"
    account: str
    region: str
    service: str
    type: str
    name: str
    tags: dict[str, str] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    relationships: list[Relationship] = Field(default_factory=list)
    raw: dict[str, Any] = Field(default_factory=dict)
    unavailable: list[str] = Field(default_factory=list)

    def relate(self, type_: str, target: str | None, **properties: Any) -> None:
        """Add a relationship when the target is known (None is ignored)."""
        if target:
            self.relationships.append(
                Relationship(type=type_, target=target, properties=jsonable(properties))
            )

    def targets(self, type_: str) -> list[str]:
        return [r.target for r in self.relationships if r.type == type_]


def tags_from_list(items: Any, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """AWS tag lists ``[{"Key": k, "Value": v}]`` (any casing of the keys) as a dict."""
    out: dict[str, str] = {}
    if isinstance(items, Mapping):
        return {str(k): "" if v is None else str(v) for k, v in items.items()}
    for t in items or []:
        if not isinstance(t, Mapping):
            continue
        k = t.get(key, t.get(key.lower()))
        if k is not None:
            v = t.get(value, t.get(value.lower()))
            out[str(k)] = "" if v is None else str(v)
    return out
