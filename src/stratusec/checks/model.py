"""Check metadata and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stratusec.inventory.models import Resource, jsonable


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self]


SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Status(StrEnum):
    PASS = "PASS"  # noqa: S105 - a status, not a password
    FAIL = "FAIL"
    # The data a check needs could not be read (an API call failed): never a pass.
    UNKNOWN = "UNKNOWN"


class Remediation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: str
    cli: str | None = None
    terraform: str | None = None
    console: str | None = None
    docs: str | None = None


class CheckMeta(BaseModel):
    """Declarative metadata, kept beside the check function."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(_[a-z0-9]+)+$")
    title: str
    description: str
    risk: str
    severity: Severity
    provider: str = "aws"
    service: str
    resource_types: tuple[str, ...]
    remediation: Remediation
    categories: tuple[str, ...] = ()
    # Filled in from the framework files (compliance/*.yaml), not by hand.
    compliance: tuple[str, ...] = ()


@dataclass(slots=True)
class Outcome:
    """What a check function yields for one resource."""

    resource: Resource
    status: Status
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


def ok(resource: Resource, message: str, **evidence: Any) -> Outcome:
    return Outcome(resource, Status.PASS, message, evidence)


def fail(resource: Resource, message: str, **evidence: Any) -> Outcome:
    return Outcome(resource, Status.FAIL, message, evidence)


def unknown(resource: Resource, message: str, **evidence: Any) -> Outcome:
    return Outcome(resource, Status.UNKNOWN, message, evidence)


@dataclass(slots=True)
class CheckResult:
    """One evaluated (check, resource) pair, as the runner reports it."""

    check_id: str
    status: Status
    severity: Severity
    message: str
    evidence: dict[str, Any]
    resource_uid: str
    resource_type: str
    resource_name: str
    account: str
    region: str
    service: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "status": str(self.status),
            "severity": str(self.severity),
            "message": self.message,
            "evidence": jsonable(self.evidence),
            "resource_uid": self.resource_uid,
            "resource_type": self.resource_type,
            "resource_name": self.resource_name,
            "account": self.account,
            "region": self.region,
            "service": self.service,
        }
