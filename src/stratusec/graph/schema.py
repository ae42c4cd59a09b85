"""The security-graph schema, declared as data.

One node table, ``Node``, for every resource and principal (``kind`` says which), and one
relationship table per edge type, each ``FROM Node TO Node``. Fact edges copy what the
inventory says; derived edges come from the IAM evaluator and the network analysis.

Everything that needs the schema reads it from here: the Ladybug DDL and bulk loader,
the Neo4j loader, row validation in ``replace``, ``describe()`` (the future
``stratusec://graph/{account}`` resource) and docs/graph.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
    from stratusec.graph.store import GraphStore

PropType = Literal["STRING", "BOOLEAN", "STRING[]", "JSON"]
"""``JSON`` is stored as a STRING holding a JSON document (an object unless stated)."""

NODE_LABEL = "Node"
KIND_INTERNET = "internet"
KIND_ACCOUNT = "aws_account"
SPECIAL_KINDS = (KIND_INTERNET, KIND_ACCOUNT)


@dataclass(frozen=True)
class Prop:
    name: str
    type: PropType
    description: str
    primary_key: bool = False

    @property
    def storage_type(self) -> str:
        """The column type in the database (JSON is a STRING there)."""
        return "STRING" if self.type == "JSON" else self.type


@dataclass(frozen=True)
class NodeTable:
    label: str
    properties: tuple[Prop, ...]
    description: str

    @property
    def primary_key(self) -> Prop:
        return next(p for p in self.properties if p.primary_key)

    def prop(self, name: str) -> Prop:
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(name)


@dataclass(frozen=True)
class RelTable:
    type: str
    category: Literal["fact", "derived"]
    source: str
    target: str
    description: str
    properties: tuple[Prop, ...]

    def prop(self, name: str) -> Prop:
        for p in self.properties:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def has_list(self) -> bool:
        return any(p.type == "STRING[]" for p in self.properties)


_PROPS = Prop("props", "JSON", "Small, useful facts about this edge (JSON object).")

NODE = NodeTable(
    label=NODE_LABEL,
    description=(
        "A cloud resource or principal (kind = the inventory resource type), the "
        "Internet (kind 'internet') or an account root (kind 'aws_account')."
    ),
    properties=(
        Prop(
            "uid",
            "STRING",
            "Unique id: the resource ARN where one exists, else the inventory uid; "
            "'internet' for the Internet; 'arn:aws:iam::<id>:root' for an account.",
            primary_key=True,
        ),
        Prop(
            "kind",
            "STRING",
            "Inventory resource type (aws_iam_role, aws_s3_bucket, ...), or 'internet' / "
            "'aws_account'.",
        ),
        Prop("name", "STRING", "Display name (role name, bucket name, ...)."),
        Prop("account", "STRING", "Cloud account id the node lives in (12 digits on AWS)."),
        Prop("region", "STRING", "Region, or 'global' / NULL for global resources."),
        Prop("service", "STRING", "Service the resource belongs to (iam, s3, ec2, ...)."),
        Prop(
            "sensitive",
            "BOOLEAN",
            "Holds or guards sensitive data (a target for attack paths). Default false.",
        ),
        Prop(
            "admin",
            "BOOLEAN",
            "A principal with administrator-equivalent rights (a target for attack "
            "paths). Default false.",
        ),
        Prop("tags", "JSON", "Resource tags as a JSON object (key -> value)."),
        Prop("props", "JSON", "Small, useful config bits as a JSON object."),
    ),
)

_FACTS: tuple[tuple[str, str], ...] = (
    ("MEMBER_OF", "IAM user -> group it belongs to."),
    ("HAS_POLICY", "Principal (user, group, role) -> attached or inline policy."),
    ("HAS_PERMISSIONS_BOUNDARY", "User or role -> its permissions-boundary policy."),
    ("HAS_INSTANCE_PROFILE", "EC2 instance -> its IAM instance profile."),
    ("RUNS_AS", "Compute (instance profile, Lambda function, ...) -> the role it runs as."),
    ("USES_EXECUTION_ROLE", "ECS task definition -> its execution role."),
    ("USES_TASK_DEFINITION", "ECS service or task -> its task definition."),
    ("IN_CLUSTER", "ECS service, task or container instance -> its cluster."),
    ("IN_VPC", "Subnet, security group, endpoint, ... -> its VPC."),
    ("IN_SUBNET", "Instance, ENI, database, function, ... -> subnet it is placed in."),
    ("HAS_SECURITY_GROUP", "Instance, ENI, database, function, ... -> security group."),
    ("ATTACHED_TO", "Volume, gateway or policy -> the instance, VPC or principal it is on."),
    ("ROUTES_TO", "Route table -> route target (internet or NAT gateway, peering, ...)."),
    ("ASSOCIATED_WITH", "Route table, elastic IP, ACL, ... -> subnet or instance."),
    ("SNAPSHOT_OF", "Snapshot -> the volume or database it copies."),
    ("USES_KEY", "Encrypted resource -> the KMS key that protects it."),
    ("LOGS_TO", "Trail, flow log, ... -> the bucket or log group receiving its logs."),
    ("OWNED_BY", "Resource -> the aws_account node that owns it."),
    ("HAS_NETWORK_INTERFACE", "Instance or other attachment -> its ENI."),
    ("ALIAS_OF", "KMS alias (or other alias) -> the resource it names."),
    ("SUBSCRIBED_TO", "Subscriber (queue, function, ...) -> SNS topic."),
    ("DELIVERS_TO", "Topic, stream, rule, ... -> the target it delivers to."),
)

_DERIVED: tuple[RelTable, ...] = (
    RelTable(
        "CAN_ASSUME",
        "derived",
        NODE_LABEL,
        NODE_LABEL,
        "Principal -> role it may assume (trust policy and caller's IAM allow it).",
        (
            Prop("reason", "STRING", "Why: the statements that allow it, in words."),
            Prop("conditional", "BOOLEAN", "Allowed only when conditions hold. Default false."),
            Prop("condition_keys", "STRING[]", "Condition keys involved (aws:SourceIp, ...)."),
            _PROPS,
        ),
    ),
    RelTable(
        "CAN_ACCESS",
        "derived",
        NODE_LABEL,
        NODE_LABEL,
        "Principal -> resource it may act on.",
        (
            Prop("actions", "STRING[]", "Allowed actions on the target (s3:GetObject, ...)."),
            Prop("level", "STRING", "Strongest access level: read | write | admin."),
            Prop("conditional", "BOOLEAN", "Allowed only when conditions hold. Default false."),
            Prop("reason", "STRING", "Why: the statements that allow it, in words."),
            _PROPS,
        ),
    ),
    RelTable(
        "EXPOSED_TO",
        "derived",
        NODE_LABEL,
        NODE_LABEL,
        "The internet node (or another network source) -> the resource it can reach.",
        (
            Prop("ports", "STRING", "Reachable ports, e.g. '22,443' or '0-65535'."),
            Prop("reason", "STRING", "Why: security group, route, public IP, policy ..."),
            _PROPS,
        ),
    ),
    RelTable(
        "CAN_ESCALATE",
        "derived",
        NODE_LABEL,
        NODE_LABEL,
        "Principal -> principal (or account node) it can gain the rights of.",
        (
            Prop("method", "STRING", "Escalation technique, e.g. iam:PassRole+lambda."),
            Prop("path_id", "STRING", "Id of the documented escalation path."),
            Prop("reason", "STRING", "Why: the permissions that make it possible."),
            Prop("conditional", "BOOLEAN", "Possible only when conditions hold. Default false."),
            _PROPS,
        ),
    ),
)

RELS: tuple[RelTable, ...] = (
    *(RelTable(name, "fact", NODE_LABEL, NODE_LABEL, desc, (_PROPS,)) for name, desc in _FACTS),
    *_DERIVED,
)
REL_BY_TYPE: dict[str, RelTable] = {r.type: r for r in RELS}
REL_TYPES: tuple[str, ...] = tuple(r.type for r in RELS)
FACT_REL_TYPES: tuple[str, ...] = tuple(r.type for r in RELS if r.category == "fact")
DERIVED_REL_TYPES: tuple[str, ...] = tuple(r.type for r in RELS if r.category == "derived")

# Defaults applied to missing values when rows are loaded.
BOOLEAN_DEFAULT = False
JSON_DEFAULT = "{}"


# --- row normalization (shared by both backends) -----------------------------------------


class RowError(ValueError):
    """A node or edge row does not fit the schema (a bug in whoever produced it)."""


class _Bad(Exception):
    pass


def _to_string(value: Any) -> Any:
    if value is None or type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    raise _Bad(f"expected a string, got {type(value).__name__}")


def _to_bool(value: Any) -> bool:
    if value is None:
        return BOOLEAN_DEFAULT
    if value is True or value is False:
        return value
    raise _Bad(f"expected true/false, got {value!r}")


def _to_json(value: Any) -> str:
    if value is None:
        return JSON_DEFAULT
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError as exc:
            raise _Bad(f"not valid JSON text: {exc}") from None
        return value
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    except (TypeError, ValueError) as exc:
        raise _Bad(f"cannot encode as JSON: {exc}") from None


def _to_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise _Bad(f"expected a list of strings, got {value!r}")
    items = sorted(value) if isinstance(value, (set, frozenset)) else value
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise _Bad(f"list item {item!r} is not a string")
        if "\x1f" in item:
            raise _Bad(f"list item {item!r} contains a control character")
        if item:
            out.append(item)
    return out


_CONVERT = {"STRING": _to_string, "BOOLEAN": _to_bool, "JSON": _to_json, "STRING[]": _to_list}
_NODE_NAMES: tuple[str, ...] = tuple(p.name for p in NODE.properties)
_NODE_KEYS = frozenset(_NODE_NAMES)
_NODE_CONVERTERS = tuple((p.name, _CONVERT[p.type]) for p in NODE.properties)
EDGE_KEYS = ("type", "from", "to")
_REL_KEYS = {r.type: frozenset(EDGE_KEYS) | {p.name for p in r.properties} for r in RELS}
_REL_CONVERTERS = {r.type: tuple((p.name, _CONVERT[p.type]) for p in r.properties) for r in RELS}


def node_values(row: Mapping[str, Any]) -> list[Any]:
    """A node row's values in schema order (``NODE.properties``), coerced; unknown keys
    are an error."""
    uid = row.get("uid")
    if not isinstance(uid, str) or not uid:
        raise RowError(f"node row without a uid: {dict(row)!r:.200}")
    if not row.keys() <= _NODE_KEYS:
        raise RowError(f"node {uid!r}: unknown properties {sorted(set(row) - _NODE_KEYS)}")
    kind = row.get("kind")
    if not isinstance(kind, str) or not kind:
        raise RowError(f"node {uid!r}: 'kind' is required")
    out: list[Any] = []
    name = ""
    try:
        for name, convert in _NODE_CONVERTERS:
            out.append(convert(row.get(name)))
    except _Bad as exc:
        raise RowError(f"node {uid!r} {name}: {exc}") from None
    return out


def edge_values(row: Mapping[str, Any]) -> tuple[str, str, str, list[Any]]:
    """An edge row ``{"type", "from", "to", **properties}`` as (type, from, to, values in
    the order of its table's properties), coerced."""
    etype = row.get("type")
    src, dst = row.get("from"), row.get("to")
    keys = _REL_KEYS.get(etype) if isinstance(etype, str) else None
    if keys is None:
        raise RowError(
            f"edge {src!r}->{dst!r}: unknown type {etype!r}; valid: {', '.join(REL_TYPES)}"
        )
    etype = cast(str, etype)
    if not isinstance(src, str) or not src or not isinstance(dst, str) or not dst:
        raise RowError(f"{etype} edge needs 'from' and 'to' uids, got {src!r} -> {dst!r}")
    if not row.keys() <= keys:
        unknown = sorted(set(row) - keys)
        raise RowError(f"{etype} edge {src!r}->{dst!r}: unknown properties {unknown}")
    out: list[Any] = []
    name = ""
    try:
        for name, convert in _REL_CONVERTERS[etype]:
            out.append(convert(row.get(name)))
    except _Bad as exc:
        raise RowError(f"{etype} edge {src!r}->{dst!r} {name}: {exc}") from None
    if etype == "CAN_ACCESS" and row.get("level") not in (None, "read", "write", "admin"):
        raise RowError(f"CAN_ACCESS edge {src!r}->{dst!r}: level must be read, write or admin")
    return etype, src, dst, out


def normalize_node(row: Mapping[str, Any]) -> dict[str, Any]:
    """A node row with every schema property, coerced (see ``node_values``)."""
    return dict(zip(_NODE_NAMES, node_values(row), strict=True))


def normalize_edge(row: Mapping[str, Any]) -> dict[str, Any]:
    """An edge row with every property of its table, coerced (see ``edge_values``)."""
    etype, src, dst, values = edge_values(row)
    names = (p.name for p in REL_BY_TYPE[etype].properties)
    return {"type": etype, "from": src, "to": dst, **dict(zip(names, values, strict=True))}


# --- describe -----------------------------------------------------------------------------


def _prop_dict(p: Prop) -> dict[str, Any]:
    d: dict[str, Any] = {"name": p.name, "type": p.type, "description": p.description}
    if p.primary_key:
        d["primary_key"] = True
    return d


def describe(store: GraphStore | None = None, account: str | None = None) -> dict[str, Any]:
    """The schema as plain data (labels, relationship types, properties), plus counts per
    label, node kind and relationship type when a store and an account are given."""
    out: dict[str, Any] = {
        "labels": [
            {
                "label": NODE.label,
                "description": NODE.description,
                "properties": [_prop_dict(p) for p in NODE.properties],
                "special_kinds": list(SPECIAL_KINDS),
            }
        ],
        "relationship_types": [
            {
                "type": r.type,
                "category": r.category,
                "from": r.source,
                "to": r.target,
                "description": r.description,
                "properties": [_prop_dict(p) for p in r.properties],
            }
            for r in RELS
        ],
    }
    if store is not None and account is not None:
        out["account"] = account
        out["counts"] = store.counts(account)
    return out
