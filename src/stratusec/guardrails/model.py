"""Guardrail policies as data: the policy record, its metadata block, and the error type.

A guardrail policy is one Rego v1 module::

    # title: Production RDS must be encrypted and multi-AZ
    # severity: high
    # resource_types: [aws_db_instance]
    # description: >
    #   Databases tagged environment=production keep their data encrypted at rest
    #   and survive the loss of an availability zone.
    package stratusec.guardrails.rds_production_encrypted_multi_az

    deny contains msg if { ... }

The leading comment block is YAML (an OPA-style ``# METADATA`` first line is allowed).
``resource_types`` names the Terraform resource types the policy judges; a policy without
it is offered every resource.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from stratusec.errors import StratusecError

PACKAGE_PREFIX = "stratusec.guardrails."
PACKAGE_RE = re.compile(r"^stratusec\.guardrails\.([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)$")
RESOURCE_TYPE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
SEVERITIES = ("critical", "high", "medium", "low", "info")
META_KEYS = ("title", "severity", "resource_types", "description")
DEFAULT_SEVERITY = "medium"
_PACKAGE_LINE = re.compile(r"^package\s+([^\s#]+)", re.M)


class GuardrailError(StratusecError):
    """A guardrail policy, plan or test cannot be used as given."""


@dataclass(frozen=True)
class MetaIssue:
    line: int
    level: str  # error | warning
    message: str


@dataclass(frozen=True)
class PolicyMeta:
    title: str
    severity: str = DEFAULT_SEVERITY
    resource_types: tuple[str, ...] = ()
    description: str = ""

    def applies_to(self, resource_type: str) -> bool:
        return not self.resource_types or resource_type in self.resource_types

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "severity": self.severity,
            "resource_types": list(self.resource_types),
            "description": self.description,
        }


@dataclass(frozen=True)
class Policy:
    """One loaded (linted and compiled) guardrail policy."""

    package: str
    source: str
    path: str  # where it came from: a file path, or "<draft>"
    origin: str  # bundled | user | file | draft | active
    meta: PolicyMeta
    sha256: str = field(default="")

    def __post_init__(self) -> None:
        if not self.sha256:
            object.__setattr__(self, "sha256", source_sha256(self.source))

    @property
    def name(self) -> str:
        """The package without the ``stratusec.guardrails.`` prefix."""
        return self.package.removeprefix(PACKAGE_PREFIX)

    @property
    def check_id(self) -> str:
        return f"guardrail:{self.package}"

    @property
    def deny_entrypoint(self) -> str:
        return self.package.replace(".", "/") + "/deny"

    def summary(self, *, source: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "package": self.package,
            "name": self.name,
            "origin": self.origin,
            "path": self.path,
            "sha256": self.sha256,
            **self.meta.as_dict(),
        }
        if source:
            d["source"] = self.source
        return d


def source_sha256(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def package_of(source: str) -> str | None:
    """The declared package (first ``package`` line), or None."""
    from stratusec.governance.rego import _strip

    m = _PACKAGE_LINE.search(_strip(source))
    return m.group(1) if m else None


def metadata_block(source: str) -> tuple[list[tuple[int, str]], int]:
    """The leading comment block as (line number, text without '#') pairs, and the line of
    the first non-comment line."""
    lines: list[tuple[int, str]] = []
    end = 1
    for no, raw in enumerate(source.splitlines(), 1):
        stripped = raw.strip()
        end = no
        if not stripped:
            if lines:
                break
            continue
        if not stripped.startswith("#"):
            break
        text = stripped[1:]
        lines.append((no, text[1:] if text.startswith(" ") else text))
    else:
        end = len(source.splitlines()) + 1
    return lines, end


def parse_metadata(source: str, default_title: str) -> tuple[PolicyMeta, list[MetaIssue]]:
    """Metadata from the leading comment block, with problems found (never raises)."""
    issues: list[MetaIssue] = []
    lines, _ = metadata_block(source)
    if lines and lines[0][1].strip() == "METADATA":
        lines = lines[1:]
    first = lines[0][0] if lines else 1
    data: Any = None
    if lines:
        try:
            data = yaml.safe_load("\n".join(text for _, text in lines))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = first + (mark.line if mark is not None else 0)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            issues.append(MetaIssue(line, "error", f"metadata block is not valid YAML: {problem}"))
            data = None
    if data is None or isinstance(data, str):
        # A plain comment (prose) is not a metadata block.
        data = {}
    if not isinstance(data, dict):
        issues.append(MetaIssue(first, "error", "metadata block must be 'key: value' lines"))
        data = {}
    for key in data:
        if key not in META_KEYS:
            issues.append(
                MetaIssue(
                    first,
                    "warning",
                    f"unknown metadata key {key!r}; valid: {', '.join(META_KEYS)}",
                )
            )
    title = data.get("title")
    if not isinstance(title, str) or not title.strip():
        if "title" in data:
            issues.append(MetaIssue(first, "error", "metadata 'title' must be a text"))
        else:
            issues.append(MetaIssue(first, "warning", "metadata has no 'title'"))
        title = default_title
    severity = data.get("severity")
    if severity is None:
        issues.append(
            MetaIssue(first, "warning", f"metadata has no 'severity' (using {DEFAULT_SEVERITY})")
        )
        severity = DEFAULT_SEVERITY
    elif not isinstance(severity, str) or severity.lower() not in SEVERITIES:
        issues.append(
            MetaIssue(
                first,
                "error",
                f"metadata severity {severity!r} is not valid; valid: {', '.join(SEVERITIES)}",
            )
        )
        severity = DEFAULT_SEVERITY
    rtypes_raw = data.get("resource_types")
    rtypes: list[str] = []
    if rtypes_raw is None:
        issues.append(
            MetaIssue(
                first,
                "warning",
                "metadata has no 'resource_types': the policy is offered every resource",
            )
        )
    else:
        items = rtypes_raw.split(",") if isinstance(rtypes_raw, str) else rtypes_raw
        if not isinstance(items, list):
            items = [items]
        for item in items:
            text = item.strip() if isinstance(item, str) else item
            if not isinstance(text, str) or not RESOURCE_TYPE_RE.match(text):
                issues.append(
                    MetaIssue(
                        first,
                        "error",
                        f"metadata resource_types entry {item!r} is not a Terraform resource "
                        "type name (e.g. aws_s3_bucket)",
                    )
                )
            elif text not in rtypes:
                rtypes.append(text)
    description = data.get("description") or ""
    if not isinstance(description, str):
        issues.append(MetaIssue(first, "error", "metadata 'description' must be a text"))
        description = ""
    meta = PolicyMeta(
        title=title.strip(),
        severity=str(severity).lower(),
        resource_types=tuple(rtypes),
        description=" ".join(description.split()),
    )
    return meta, issues
