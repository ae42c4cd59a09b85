"""The check catalog: pure functions over the inventory (and later the graph) that yield
PASS / FAIL / UNKNOWN per resource, each with declarative metadata.

No cloud calls inside a check. Register with ``@check(...)`` (whole-inventory checks) or
``@resource_check(...)`` (one function per resource of the given types)."""

from stratusec.checks.inventory import Inventory
from stratusec.checks.model import (
    CheckMeta,
    CheckResult,
    Outcome,
    Remediation,
    Severity,
    Status,
    fail,
    ok,
    unknown,
)
from stratusec.checks.registry import all_checks, check, get_check, resource_check

__all__ = [
    "CheckMeta",
    "CheckResult",
    "Inventory",
    "Outcome",
    "Remediation",
    "Severity",
    "Status",
    "all_checks",
    "check",
    "fail",
    "get_check",
    "ok",
    "resource_check",
    "unknown",
]
