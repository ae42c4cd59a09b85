"""Which resources hold sensitive data: the targets of "paths to sensitive data".

A resource of one of the data types below is *sensitive* when one of these holds (first
match wins; the reason is kept in the node's ``props.sensitive_reason``):

1. its type is always sensitive (default: Secrets Manager secrets: a secret's value is
   a credential whatever it is called);
2. one of its tags matches a tag rule (keys compare case-insensitively, values
   case-insensitively; ``*`` = any non-empty value);
3. a tag rule for its type matches (default: ``environment`` = ``production`` /
   ``prod`` for databases: RDS instances and clusters, DynamoDB tables);
4. its name matches a name pattern (shell-style globs, case-insensitive).

Defaults (``SensitiveRules()``):

- types judged: ``aws_s3_bucket``, ``aws_dynamodb_table``, ``aws_secretsmanager_secret``,
  ``aws_db_instance``, ``aws_rds_cluster``, ``aws_efs_file_system``, ``aws_db_snapshot``,
  ``aws_db_cluster_snapshot``, ``aws_ebs_snapshot``;
- always sensitive: ``aws_secretsmanager_secret``;
- tags: ``data-classification`` / ``data_classification`` / ``dataclassification`` /
  ``classification`` in {confidential, restricted, sensitive, pii, phi, pci, secret};
  ``sensitivity`` / ``data-sensitivity`` in {high, critical, confidential, restricted,
  sensitive, pii, secret}; ``pii`` / ``contains-pii`` / ``phi`` / ``pci`` in {true, yes, 1};
- tags per type: databases (``aws_db_instance``, ``aws_rds_cluster``,
  ``aws_dynamodb_table``): ``environment`` / ``env`` in {production, prod};
- name patterns: ``*customer*``, ``*pii*``, ``*secret*``, ``*backup*``, ``*password*``,
  ``*credential*``, ``*payment*``, ``*billing*``, ``*payroll*``, ``*medical*``,
  ``*patient*``.

Configurable from a mapping (the future ``graph.sensitive`` config section)::

    SensitiveRules.from_mapping({
        "extend": True,                       # add to the defaults (False: replace them)
        "types": ["aws_s3_bucket", ...],
        "always": ["aws_secretsmanager_secret"],
        "tags": {"data-classification": ["confidential", "restricted"], "owner": "*"},
        "type_tags": {"aws_db_instance": {"environment": ["production"]}},
        "name_patterns": ["*customer*", "*-pii-*"],
    })
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stratusec.errors import StratusecError
from stratusec.inventory.models import Resource

ANY_VALUE = "*"

_DATABASES = ("aws_db_instance", "aws_rds_cluster", "aws_dynamodb_table")

DEFAULT_TYPES: tuple[str, ...] = (
    "aws_s3_bucket",
    "aws_dynamodb_table",
    "aws_secretsmanager_secret",
    "aws_db_instance",
    "aws_rds_cluster",
    "aws_efs_file_system",
    "aws_db_snapshot",
    "aws_db_cluster_snapshot",
    "aws_ebs_snapshot",
)
DEFAULT_ALWAYS: tuple[str, ...] = ("aws_secretsmanager_secret",)

_CLASSIFIED = ("confidential", "restricted", "sensitive", "pii", "phi", "pci", "secret")
_HIGH = ("high", "critical", "confidential", "restricted", "sensitive", "pii", "secret")
_YES = ("true", "yes", "1")

DEFAULT_TAGS: dict[str, tuple[str, ...]] = {
    "data-classification": _CLASSIFIED,
    "data_classification": _CLASSIFIED,
    "dataclassification": _CLASSIFIED,
    "classification": _CLASSIFIED,
    "sensitivity": _HIGH,
    "data-sensitivity": _HIGH,
    "pii": _YES,
    "contains-pii": _YES,
    "phi": _YES,
    "pci": _YES,
}
DEFAULT_TYPE_TAGS: dict[str, dict[str, tuple[str, ...]]] = {
    t: {"environment": ("production", "prod"), "env": ("production", "prod")} for t in _DATABASES
}
DEFAULT_NAME_PATTERNS: tuple[str, ...] = (
    "*customer*",
    "*pii*",
    "*secret*",
    "*backup*",
    "*password*",
    "*credential*",
    "*payment*",
    "*billing*",
    "*payroll*",
    "*medical*",
    "*patient*",
)


def _norm_tags(tags: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for key, values in tags.items():
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, Iterable):
            raise StratusecError(f"sensitive tag rule {key!r}: values must be a list or '*'")
        out[str(key).lower()] = frozenset(str(v).lower() for v in values)
    return out


@dataclass(frozen=True)
class SensitiveRules:
    """Rules deciding which data resources are sensitive (see the module docstring)."""

    types: frozenset[str] = frozenset(DEFAULT_TYPES)
    always: frozenset[str] = frozenset(DEFAULT_ALWAYS)
    tags: Mapping[str, frozenset[str]] = field(default_factory=lambda: _norm_tags(DEFAULT_TAGS))
    type_tags: Mapping[str, Mapping[str, frozenset[str]]] = field(
        default_factory=lambda: {t: _norm_tags(m) for t, m in DEFAULT_TYPE_TAGS.items()}
    )
    name_patterns: tuple[str, ...] = DEFAULT_NAME_PATTERNS
    _name_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        pats = [fnmatch.translate(p.lower()) for p in self.name_patterns]
        object.__setattr__(self, "_name_re", re.compile("|".join(pats)) if pats else None)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> SensitiveRules:
        """Rules from a config mapping; ``extend`` (default true) adds to the defaults,
        ``extend: false`` replaces every key given (keys not given keep their default)."""
        if not data:
            return cls()
        known = {"extend", "types", "always", "tags", "type_tags", "name_patterns"}
        unknown = set(data) - known
        if unknown:
            raise StratusecError(
                f"unknown sensitive-data rule keys {sorted(unknown)}; known: {sorted(known)}"
            )
        base = cls()
        extend = bool(data.get("extend", True))

        def strings(key: str) -> list[str]:
            value = data.get(key) or []
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise StratusecError(f"sensitive-data rule {key!r} must be a list of strings")
            return [str(v) for v in value]

        types = set(base.types)
        always = set(base.always)
        tags: dict[str, frozenset[str]] = dict(base.tags)
        type_tags = {t: dict(m) for t, m in base.type_tags.items()}
        patterns = list(base.name_patterns)
        if "types" in data:
            types = (types if extend else set()) | set(strings("types"))
        if "always" in data:
            always = (always if extend else set()) | set(strings("always"))
        if "tags" in data:
            new_tags = _norm_tags(data["tags"] or {})
            if extend:
                for k, v in new_tags.items():
                    tags[k] = tags.get(k, frozenset()) | v
            else:
                tags = new_tags
        if "type_tags" in data:
            if not extend:
                type_tags = {}
            for t, m in (data["type_tags"] or {}).items():
                cur = type_tags.setdefault(str(t), {})
                for k, v in _norm_tags(m or {}).items():
                    cur[k] = (cur.get(k, frozenset()) | v) if extend else v
        if "name_patterns" in data:
            given = strings("name_patterns")
            patterns = patterns + [p for p in given if p not in patterns] if extend else given
        return cls(
            types=frozenset(types | always),
            always=frozenset(always),
            tags=tags,
            type_tags=type_tags,
            name_patterns=tuple(patterns),
        )

    @staticmethod
    def _tag_match(
        tags: Mapping[str, str], rules: Mapping[str, frozenset[str]]
    ) -> tuple[str, str] | None:
        for key, value in tags.items():
            allowed = rules.get(key.lower())
            if allowed is None:
                continue
            v = (value or "").strip().lower()
            if (ANY_VALUE in allowed and v) or v in allowed:
                return key, value
        return None

    def reason(self, resource: Resource) -> str | None:
        """Why ``resource`` is sensitive (``"tag data-classification=confidential"``,
        ``"name matches *customer*"``, ...), or None when it is not."""
        rtype = resource.type
        if rtype not in self.types:
            return None
        if rtype in self.always:
            return f"every {rtype} is sensitive"
        hit = self._tag_match(resource.tags, self.tags)
        if hit is None and rtype in self.type_tags:
            hit = self._tag_match(resource.tags, self.type_tags[rtype])
        if hit is not None:
            return f"tag {hit[0]}={hit[1]}"
        if self._name_re is not None and self._name_re.match(resource.name.lower()):
            for p in self.name_patterns:
                if fnmatch.fnmatchcase(resource.name.lower(), p.lower()):
                    return f"name matches {p}"
        return None

    def is_sensitive(self, resource: Resource) -> bool:
        return self.reason(resource) is not None
