"""Build the security graph from one inventory: nodes, fact edges, derived edges.

``build_graph(inv)`` is pure (no I/O) and returns ``GraphData`` (node rows, edge rows in
the format of ``stratusec.graph.schema``, and stats); ``rebuild_graph(store, inv, account)``
also hands the rows to ``GraphStore.replace``.

Nodes
    every inventory resource (kind = its type), one ``internet`` node, one ``aws_account``
    node per account (uid ``arn:aws:iam::<id>:root``), and the principals that derived
    edges need but the inventory does not hold: foreign account roots (``aws_account``,
    ``props.external``), AWS service principals (``aws_service_principal``, uid = the
    service name, e.g. ``lambda.amazonaws.com``), web-identity / SAML providers not in the
    inventory (``aws_federated_principal``, uid = the provider) and IAM users / roles named
    by ARN but not in the inventory (kind ``aws_iam_role`` / ``aws_iam_user``,
    ``props.in_inventory = false``). ``admin`` is the evaluator's ``admin_decision`` over
    the principal's policies (``iam.principals.principal_policies``); a conditional
    (e.g. MFA-gated) admin is ``admin = true`` with ``props.admin_conditional``.
    ``sensitive`` comes from ``SensitiveRules``.

Fact edges
    every relationship of a schema fact type whose target is a node (the others are
    counted in ``stats["skipped_edges"]``), plus ``OWNED_BY`` from every resource to its
    account node, plus one-hop ``RUNS_AS`` from compute to the role it runs as where the
    inventory has two hops (``props.via`` names the middle node): EC2 instance -> role
    (through its instance profile), ECS service and ECS task -> task role (through the
    task definition).

Derived edges (each with a ``reason`` a person can read)
    ``EXPOSED_TO`` ``internet`` -> resource (entry to target, like every hop of an attack
    path; ``reason`` names the public address, the subnet and its route to the internet
    gateway, and the security-group rules, or the public policy / ACL); ``CAN_ASSUME``
    principal -> role (trust policy and, for IAM principals, their own policies);
    ``CAN_ACCESS`` user/role (or a foreign principal named in a resource policy) -> data
    resource, with the allowed actions among a per-type candidate list, the strongest
    level (read | write | admin) and the evaluator's explanation for the strongest action.

Every hop an attack path uses points from the entry towards the target: Internet
-EXPOSED_TO-> ECS service -RUNS_AS-> task role -CAN_ACCESS-> bucket; Internet
-EXPOSED_TO-> instance -RUNS_AS-> role (or -HAS_INSTANCE_PROFILE-> profile -RUNS_AS->
role); function -RUNS_AS-> role -CAN_ASSUME-> role. Subnets are not hops: the exposure
edge sits on the compute resource and names the subnet and route (``props.subnets``).

Attacker model for the evaluator: the caller uses HTTPS (``aws:SecureTransport`` true) and
calls directly, so ``aws:SourceArn`` / ``aws:SourceAccount`` / ``aws:SourceOwner`` /
``aws:SourceOrgID`` / ``aws:SourceOrgPaths`` are absent (AWS sets them only when a service
acts for a resource); every other unknown key makes an edge conditional.
"""

from __future__ import annotations

import bisect
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from stratusec.checks.aws._policy import (
    PolicyUnreadable,
    PublicGrant,
    action_allows,
    describe_grants,
    public_grants,
)
from stratusec.checks.inventory import Inventory
from stratusec.graph.schema import FACT_REL_TYPES, KIND_ACCOUNT, KIND_INTERNET
from stratusec.graph.sensitive import SensitiveRules
from stratusec.iam import (
    ABSENT,
    Decision,
    Policy,
    Principal,
    StatementRef,
    access_category,
    admin_decision,
    allowed_actions,
    parse_policy,
    trust_allows,
)
from stratusec.iam.conditions import evaluate_conditions
from stratusec.iam.context import make_lookup
from stratusec.iam.policy import Statement
from stratusec.iam.principals import PrincipalPolicies, principal_policies
from stratusec.iam.queries import ADMIN_PROBES
from stratusec.iam.request import Request
from stratusec.inventory.models import Resource

if TYPE_CHECKING:
    from stratusec.graph.store import GraphStore

INTERNET_UID: Final = "internet"
KIND_SERVICE_PRINCIPAL: Final = "aws_service_principal"
KIND_FEDERATED_PRINCIPAL: Final = "aws_federated_principal"
ADDED_KINDS: Final = (KIND_SERVICE_PRINCIPAL, KIND_FEDERATED_PRINCIPAL)
"""Node kinds the builder adds beyond the inventory types and the schema's special kinds."""

_SOURCE_KEYS_ABSENT: Final = {
    "aws:SourceArn": ABSENT,
    "aws:SourceAccount": ABSENT,
    "aws:SourceOwner": ABSENT,
    "aws:SourceOrgID": ABSENT,
    "aws:SourceOrgPaths": ABSENT,
}
CALLER_CONTEXT: Final[Mapping[str, Any]] = {"aws:SecureTransport": True, **_SOURCE_KEYS_ABSENT}
"""Condition keys known for an IAM caller acting directly (see the module docstring)."""
SERVICE_CONTEXT: Final[Mapping[str, Any]] = {"aws:SecureTransport": True}
"""For a service principal the aws:Source* keys are set by the service: unknown here."""

_LEVEL_RANK: Final = {"read": 1, "write": 2, "admin": 3}
_EXTRA_CATEGORY: Final = {"rds-db:connect": "write", "rds-data:executestatement": "write"}
"""Access categories of candidate actions missing from the action catalogue."""

_ASSUME_ACTIONS: Final = (
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "sts:AssumeRoleWithSAML",
)
_MAX_NOTES: Final = 200
_P_DEP, _R_DEP = 1, 2


def _category(action: str) -> str | None:
    return access_category(action) or _EXTRA_CATEGORY.get(action.lower())


# --- CAN_ACCESS target types ---------------------------------------------------------------


@dataclass(frozen=True)
class AccessGroup:
    """Candidate actions of a target type that share one request resource."""

    name: str
    actions: tuple[str, ...]
    resource: Callable[[Resource], str | None]
    services: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        svcs = frozenset(a.split(":", 1)[0].lower() for a in self.actions)
        object.__setattr__(self, "services", svcs)


@dataclass(frozen=True)
class AccessTarget:
    """A resource type that ``CAN_ACCESS`` edges point at."""

    kind: str
    policy_key: str | None  # config key of its resource policy
    policy_label: str  # "bucket policy" ...
    groups: tuple[AccessGroup, ...]
    applies: Callable[[Resource], bool] = lambda r: True

    @property
    def services(self) -> frozenset[str]:
        return frozenset().union(*(g.services for g in self.groups))


def _uid(r: Resource) -> str:
    return r.uid


def _rds_db_user(r: Resource) -> str | None:
    if not r.config.get("iam_database_authentication_enabled"):
        return None  # rds-db:connect is moot without IAM database authentication
    rid = r.config.get("resource_id") or r.config.get("cluster_resource_id")
    if not rid:
        return None
    return f"arn:aws:rds-db:{r.region}:{r.account}:dbuser:{rid}/*"


ACCESS_TARGETS: Final[tuple[AccessTarget, ...]] = (
    AccessTarget(
        "aws_s3_bucket",
        "policy",
        "bucket policy",
        (
            AccessGroup(
                "s3-bucket",
                (
                    "s3:PutBucketPolicy",
                    "s3:DeleteBucketPolicy",
                    "s3:PutBucketAcl",
                    "s3:PutBucketPublicAccessBlock",
                    "s3:DeleteBucket",
                    "s3:PutEncryptionConfiguration",
                    "s3:ListBucket",
                ),
                _uid,
            ),
            AccessGroup(
                "s3-object",
                ("s3:PutObjectAcl", "s3:PutObject", "s3:DeleteObject", "s3:GetObject"),
                lambda r: f"{r.uid}/*",
            ),
        ),
    ),
    AccessTarget(
        "aws_dynamodb_table",
        "resource_policy",
        "table policy",
        (
            AccessGroup(
                "dynamodb-table",
                (
                    "dynamodb:PutResourcePolicy",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:DeleteTable",
                    "dynamodb:ExportTableToPointInTime",
                    "dynamodb:GetItem",
                    "dynamodb:Query",
                    "dynamodb:Scan",
                ),
                _uid,
            ),
        ),
    ),
    AccessTarget(
        "aws_secretsmanager_secret",
        "policy",
        "secret policy",
        (
            AccessGroup(
                "secret",
                (
                    "secretsmanager:PutResourcePolicy",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecret",
                    "secretsmanager:DeleteSecret",
                    "secretsmanager:GetSecretValue",
                ),
                _uid,
            ),
        ),
    ),
    AccessTarget(
        "aws_kms_key",
        "policy",
        "key policy",
        (
            AccessGroup(
                "kms-key",
                (
                    "kms:PutKeyPolicy",
                    "kms:CreateGrant",
                    "kms:Decrypt",
                    "kms:Encrypt",
                    "kms:GenerateDataKey",
                    "kms:ReEncryptFrom",
                    "kms:ScheduleKeyDeletion",
                    "kms:DisableKey",
                ),
                _uid,
            ),
        ),
        # AWS managed keys are usable only through their service (kms:ViaService): every
        # principal would get a conditional edge to each. Customer keys only.
        applies=lambda r: r.config.get("key_manager") != "AWS",
    ),
    AccessTarget(
        "aws_sqs_queue",
        "policy",
        "queue policy",
        (
            AccessGroup(
                "sqs-queue",
                (
                    "sqs:AddPermission",
                    "sqs:SetQueueAttributes",
                    "sqs:ReceiveMessage",
                    "sqs:SendMessage",
                    "sqs:DeleteMessage",
                    "sqs:PurgeQueue",
                ),
                _uid,
            ),
        ),
    ),
    AccessTarget(
        "aws_sns_topic",
        "policy",
        "topic policy",
        (
            AccessGroup(
                "sns-topic",
                (
                    "sns:SetTopicAttributes",
                    "sns:AddPermission",
                    "sns:Publish",
                    "sns:Subscribe",
                    "sns:DeleteTopic",
                ),
                _uid,
            ),
        ),
    ),
    AccessTarget(
        "aws_db_instance",
        None,
        "",
        (
            AccessGroup("rds-db-user", ("rds-db:connect",), _rds_db_user),
            AccessGroup(
                "rds-instance",
                ("rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:CreateDBSnapshot"),
                _uid,
            ),
        ),
    ),
    AccessTarget(
        "aws_rds_cluster",
        None,
        "",
        (
            AccessGroup("rds-cluster-user", ("rds-db:connect",), _rds_db_user),
            AccessGroup(
                "rds-cluster",
                (
                    "rds:ModifyDBCluster",
                    "rds:DeleteDBCluster",
                    "rds:CreateDBClusterSnapshot",
                    "rds-data:ExecuteStatement",
                ),
                _uid,
            ),
        ),
    ),
    AccessTarget(
        "aws_lambda_function",
        "policy",
        "function policy",
        (
            AccessGroup(
                "lambda-function",
                (
                    "lambda:AddPermission",
                    "lambda:UpdateFunctionCode",
                    "lambda:UpdateFunctionConfiguration",
                    "lambda:InvokeFunction",
                    "lambda:GetFunction",
                ),
                _uid,
            ),
        ),
    ),
)
ACCESS_TARGET_BY_KIND: Final = {t.kind: t for t in ACCESS_TARGETS}


# --- result ------------------------------------------------------------------------------


@dataclass
class GraphData:
    """Rows for ``GraphStore.replace`` and what building them found."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    stats: dict[str, Any]


def build_graph(
    inv: Inventory, *, sensitive: SensitiveRules | None = None, cache: bool = True
) -> GraphData:
    """The security graph of ``inv`` (see the module docstring). ``cache=False`` turns
    off the reuse of evaluator decisions between equivalent (principal, resource) pairs
    (for tests: the result must be the same)."""
    return _Builder(inv, sensitive or SensitiveRules(), cache=cache).build()


def rebuild_graph(
    store: GraphStore,
    inv: Inventory,
    account: str,
    sensitive: SensitiveRules | None = None,
) -> dict[str, Any]:
    """Build the graph of ``inv`` and replace ``account``'s graph in ``store`` with it.
    Returns the store's ``BuildInfo`` as a dict plus ``build`` (the builder's stats)."""
    data = build_graph(inv, sensitive=sensitive)
    info = store.replace(account, data.nodes, data.edges)
    out = info.as_dict()
    out["build_seconds"] = data.stats["seconds"]
    out["build"] = data.stats
    return out


# --- helpers -------------------------------------------------------------------------------


def _account_uid(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def _props(r: Resource) -> dict[str, Any]:
    c = r.config
    t = r.type
    out: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        if value is not None and value != [] and value != {}:
            out[name] = value

    if t == "aws_instance":
        put("public_ip", c.get("public_ip"))
        put("private_ip", c.get("private_ip"))
        put("state", c.get("state"))
        put("http_tokens", (c.get("metadata_options") or {}).get("http_tokens"))
        put("instance_type", c.get("instance_type"))
    elif t == "aws_s3_bucket":
        sse = (c.get("server_side_encryption_configuration") or {}).get("rule") or []
        put("encrypted", bool(sse) if "server_side_encryption_configuration" in c else None)
        put("versioning", (c.get("versioning") or {}).get("status"))
        put("is_public", (c.get("policy_status") or {}).get("is_public"))
        put("acl_public", c.get("acl_public"))
    elif t in ("aws_db_instance", "aws_rds_cluster"):
        put("engine", c.get("engine"))
        put("publicly_accessible", c.get("publicly_accessible"))
        put("encrypted", c.get("storage_encrypted"))
        put("port", c.get("port"))
        put("iam_auth", c.get("iam_database_authentication_enabled"))
    elif t == "aws_subnet":
        put("public", c.get("public"))
        put("cidr_block", c.get("cidr_block"))
        put("route_table_id", c.get("route_table_id"))
    elif t == "aws_security_group":
        put("id", c.get("id"))
        world = sorted(
            {
                _port_text(rule)
                for rule in c.get("ingress") or []
                if _world_cidrs(rule, v6=False) or _world_cidrs(rule, v6=True)
            }
        )
        put("world_ingress", world)
    elif t == "aws_lambda_function":
        put("runtime", c.get("runtime"))
        put("public_url", c.get("public_url"))
    elif t == "aws_ecs_service":
        put("assign_public_ip", (c.get("network_configuration") or {}).get("assign_public_ip"))
        put("launch_type", c.get("launch_type"))
    elif t == "aws_ecs_task_definition":
        put("task_role_arn", c.get("task_role_arn"))
    elif t == "aws_kms_key":
        put("aliases", c.get("aliases"))
        put("key_manager", c.get("key_manager"))
        put("rotation", c.get("enable_key_rotation"))
    elif t in ("aws_ebs_volume", "aws_ebs_snapshot", "aws_efs_file_system", "aws_db_snapshot"):
        put("encrypted", c.get("encrypted", c.get("storage_encrypted")))
        put("public", c.get("public"))
    elif t == "aws_secretsmanager_secret":
        put("rotation_enabled", c.get("rotation_enabled"))
    elif t == "aws_iam_user":
        put("console_access", c.get("password_enabled"))
    elif t == "aws_iam_role":
        trusted = sorted(
            s
            for st in (c.get("assume_role_policy") or {}).get("Statement") or []
            if isinstance(st, Mapping) and isinstance(st.get("Principal"), Mapping)
            for s in _as_list(st["Principal"].get("Service"))
        )
        put("trusted_services", trusted)
    elif t == "aws_sqs_queue":
        put("sse", bool(c.get("kms_master_key_id") or c.get("sqs_managed_sse_enabled")))
    elif t == "aws_sns_topic":
        put("kms_key", c.get("kms_master_key_id"))
    return out


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _world_cidrs(rule: Mapping[str, Any], *, v6: bool) -> list[str]:
    key = "ipv6_cidr_blocks" if v6 else "cidr_blocks"
    world = "::/0" if v6 else "0.0.0.0/0"
    return [c for c in rule.get(key) or [] if c == world]


def _port_text(rule: Mapping[str, Any]) -> str:
    proto = str(rule.get("protocol") or "-1")
    lo, hi = rule.get("from_port"), rule.get("to_port")
    if proto == "-1":
        return "0-65535"
    if lo is None or hi is None or (lo, hi) in ((-1, -1), (0, 65535)):
        span = "0-65535"
    else:
        span = str(lo) if lo == hi else f"{lo}-{hi}"
    if proto == "tcp":
        return span
    if proto in ("icmp", "icmpv6"):
        return proto
    return f"{span}/{proto}"


def _short(uid: str) -> str:
    return uid.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class _Open:
    """One ingress rule that lets the world in."""

    sg: Resource
    cidr: str
    rule: Mapping[str, Any]

    @property
    def ports(self) -> str:
        return _port_text(self.rule)

    def describe(self) -> str:
        what = "all traffic" if self.ports == "0-65535" else f"port {self.ports}"
        desc = self.rule.get("description")
        note = f", rule '{desc}'" if desc else ""
        sg_id = self.sg.config.get("id") or _short(self.sg.uid)
        return f"{what} open to {self.cidr} via {sg_id} ({self.sg.name}{note})"

    def covers(self, port: int) -> bool:
        proto = str(self.rule.get("protocol") or "-1")
        if proto == "-1":
            return True
        if proto != "tcp":
            return False
        lo, hi = self.rule.get("from_port"), self.rule.get("to_port")
        if lo is None or hi is None:
            return True
        return int(lo) <= port <= int(hi)


class _Network:
    """Routing, security groups and network ACLs, indexed once."""

    def __init__(self, inv: Inventory) -> None:
        self.inv = inv
        self.route_tables: dict[tuple[str, str], Resource] = {}
        for rt in inv.of_type("aws_route_table"):
            rid = rt.config.get("id")
            if rid:
                self.route_tables[(rt.account, str(rid))] = rt
        self.nacl_of: dict[str, Resource] = {}
        for acl in inv.of_type("aws_network_acl"):
            for target in acl.targets("ATTACHED_TO"):
                self.nacl_of[target] = acl
        self._routes: dict[tuple[str, bool], tuple[str | None, bool]] = {}

    def route(self, subnet_uid: str, *, v6: bool) -> tuple[str | None, bool]:
        """(route text, known): ``"route 0.0.0.0/0 -> igw-1"`` when the subnet's route
        table sends the world to an internet gateway; (None, True) when it certainly
        does not; (text, False) when the routing could not be read (counted as routed)."""
        key = (subnet_uid, v6)
        hit = self._routes.get(key)
        if hit is None:
            hit = self._route(subnet_uid, v6=v6)
            self._routes[key] = hit
        return hit

    def _route(self, subnet_uid: str, *, v6: bool) -> tuple[str | None, bool]:
        subnet = self.inv.get(subnet_uid)
        if subnet is None:
            return f"subnet {_short(subnet_uid)} (not in the inventory: routing unknown)", False
        world = "::/0" if v6 else "0.0.0.0/0"
        rt_id = subnet.config.get("route_table_id")
        rt = self.route_tables.get((subnet.account, str(rt_id))) if rt_id else None
        if rt is not None and "route" not in rt.unavailable:
            for route in rt.config.get("route") or []:
                gw = str(route.get("gateway_id") or "")
                if (
                    route.get("destination") == world
                    and gw.startswith("igw-")
                    and route.get("state") != "blackhole"
                ):
                    return f"subnet {subnet.name} (route {world} -> {gw})", True
            return None, True
        public = subnet.config.get("public")
        if "public" in subnet.unavailable or public is None:
            return f"subnet {subnet.name} (routing unknown)", False
        if public and not v6:
            return f"subnet {subnet.name} (routes to an internet gateway)", True
        return None, True

    def world_rules(self, sg_uids: Iterable[str], *, v6: bool) -> list[_Open]:
        out: list[_Open] = []
        for uid in sg_uids:
            sg = self.inv.get(uid)
            if sg is None:
                continue
            for rule in sg.config.get("ingress") or []:
                proto = str(rule.get("protocol") or "-1")
                if proto in ("icmp", "icmpv6"):
                    continue
                for cidr in _world_cidrs(rule, v6=v6):
                    out.append(_Open(sg, cidr, rule))
        return out

    def nacl_blocks(self, subnet_uid: str, opened: _Open, *, v6: bool) -> str | None:
        """The network ACL entry that denies the world the opened ports (before any
        entry allows part of them), or None. Unknown ACLs block nothing."""
        acl = self.nacl_of.get(subnet_uid)
        if acl is None:
            return None
        proto = str(opened.rule.get("protocol") or "-1")
        lo = opened.rule.get("from_port")
        hi = opened.rule.get("to_port")
        lo = 0 if lo is None or proto == "-1" else int(lo)
        hi = 65535 if hi is None or proto == "-1" else int(hi)
        for entry in sorted(
            acl.config.get("ingress") or [], key=lambda e: e.get("rule_number") or 0
        ):
            eproto = str(entry.get("protocol") or "-1")
            if eproto not in ("-1", proto) and proto != "-1":
                continue
            elo = entry.get("from_port")
            ehi = entry.get("to_port")
            elo = 0 if elo is None or eproto == "-1" else int(elo)
            ehi = 65535 if ehi is None or eproto == "-1" else int(ehi)
            if ehi < lo or elo > hi:
                continue
            cidr = entry.get("ipv6_cidr_block") if v6 else entry.get("cidr_block")
            if not cidr:
                continue
            if str(entry.get("rule_action")).lower() == "allow":
                return None  # some or all of the internet gets in
            if cidr in ("0.0.0.0/0", "::/0") and elo <= lo and ehi >= hi:
                return f"network ACL {acl.name} rule {entry.get('rule_number')} denies it"
        return None


def _join_ports(ports: Iterable[str]) -> str:
    def key(p: str) -> tuple[int, str]:
        head = p.split("-", 1)[0].split("/", 1)[0]
        return (int(head) if head.isdigit() else 1 << 20, p)

    return ",".join(sorted(set(ports), key=key))


class _ResourceIndex:
    """Resource strings (ARNs) sorted for prefix search: which of them an IAM Resource
    pattern matches, without testing every string (the literal part before the first
    wildcard bounds the candidates). Results are cached per pattern."""

    def __init__(self, items: Iterable[tuple[str, int]]) -> None:
        pairs = sorted(items)
        self.keys = [k for k, _v in pairs]
        self.vals = [v for _k, v in pairs]
        self._cache: dict[str, frozenset[int]] = {}

    def match(self, pattern: str) -> frozenset[int]:
        hit = self._cache.get(pattern)
        if hit is not None:
            return hit
        cuts = [i for i in (pattern.find("*"), pattern.find("?")) if i >= 0]
        keys, vals = self.keys, self.vals
        if not cuts:
            lo = bisect.bisect_left(keys, pattern)
            hi = bisect.bisect_right(keys, pattern, lo)
            hit = frozenset(vals[lo:hi])
        else:
            prefix = pattern[: min(cuts)]
            lo = bisect.bisect_left(keys, prefix)
            hi = (
                bisect.bisect_left(keys, prefix[:-1] + chr(ord(prefix[-1]) + 1), lo)
                if prefix
                else len(keys)
            )
            rx = _glob(pattern)
            hit = frozenset(vals[j] for j in range(lo, hi) if rx.fullmatch(keys[j]))
        self._cache[pattern] = hit
        return hit


def _broad(st: Statement) -> bool:
    """Whether the statement's Resource element can match resources no pattern lists
    (no Resource, NotResource, ``*``, policy variables)."""
    rs = st.resource_set
    return rs is None or st.not_resource or rs.match_all or bool(rs.templates)


# --- the builder -----------------------------------------------------------------------------


@dataclass
class _Caller:
    """A principal whose CAN_ACCESS edges are computed."""

    uid: str
    principal: Principal
    identity: tuple[Policy, ...]
    boundary: Policy | None
    incomplete: bool = False
    foreign: bool = False  # identity policies not collected (assumed to allow)
    pol_key: tuple[Any, ...] = ()
    group_flags: dict[str, int] = field(default_factory=dict)
    _svc_allows: dict[str, tuple[Statement, ...]] = field(default_factory=dict)

    def allows_for(self, service: str) -> tuple[Statement, ...]:
        hit = self._svc_allows.get(service)
        if hit is None:
            hit = tuple(st for pol in self.identity for st in pol.for_service(service) if st.allow)
            self._svc_allows[service] = hit
        return hit


# The identity side of a principal whose policies live in another account (not
# collected): taken to allow, so the resource policy alone decides.
_FOREIGN_IDENTITY: Final = parse_policy(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    "(its own account's policies, not collected)",
)


@dataclass
class _TargetInfo:
    """One CAN_ACCESS target, with its resource policy prepared per request resource."""

    res: Resource
    spec: AccessTarget
    policy: Policy | None
    policy_unread: bool
    label: str
    public_idx: frozenset[int]
    # group name -> [(scope, request resource, R' policy, R' flags, R' key)]
    scopes: dict[str, list[tuple[str, str, Policy | None, int, tuple[int, ...] | None]]] = field(
        default_factory=dict
    )


class _Builder:
    def __init__(self, inv: Inventory, rules: SensitiveRules, *, cache: bool) -> None:
        self.inv = inv
        self.rules = rules
        self.cache_on = cache
        self.nodes: dict[str, dict[str, Any]] = {}
        self.edges: list[dict[str, Any]] = []
        self._edge_keys: set[tuple[str, str, str]] = set()
        self.skipped: Counter[str] = Counter()
        self.unknown_rel_types: Counter[str] = Counter()
        self.added_kinds: Counter[str] = Counter()
        self.notes: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.decisions = 0
        self.eval_seconds = 0.0
        self.cache_hits = 0
        self.pairs = 0
        self.accounts = sorted({r.account for r in inv.all()})
        self.pps: dict[str, PrincipalPolicies] = {}
        self._stmt_flags: dict[int, int] = {}
        self._dec_cache: dict[tuple[Any, ...], list[tuple[str, Decision]]] = {}
        self._id_flags: dict[tuple[Any, ...], int] = {}
        self._summaries: dict[tuple[Any, ...], _Summary | object] = {}
        self._scope_cache: dict[
            tuple[str, str], tuple[Policy | None, int, tuple[int, ...] | None]
        ] = {}

    # -- plumbing ----------------------------------------------------------------------------

    def note(self, category: str, **data: Any) -> None:
        items = self.notes[category]
        if len(items) < _MAX_NOTES:
            items.append(data)

    def add_node(self, uid: str, kind: str, name: str, **row: Any) -> dict[str, Any]:
        node = self.nodes.get(uid)
        if node is None:
            node = {
                "uid": uid,
                "kind": kind,
                "name": name,
                "account": None,
                "region": None,
                "service": None,
                "sensitive": False,
                "admin": False,
                "tags": {},
                "props": {},
                **row,
            }
            self.nodes[uid] = node
            if kind in ADDED_KINDS or row.get("props", {}).get("in_inventory") is False:
                self.added_kinds[kind] += 1
        return node

    def add_edge(self, etype: str, src: str, dst: str, **props: Any) -> bool:
        key = (etype, src, dst)
        if key in self._edge_keys:
            return False
        self._edge_keys.add(key)
        self.edges.append({"type": etype, "from": src, "to": dst, **props})
        return True

    def account_node(self, account: str) -> str:
        uid = _account_uid(account)
        if uid not in self.nodes:
            external = account not in self.accounts
            self.add_node(
                uid,
                KIND_ACCOUNT,
                account,
                account=account,
                region="global",
                service="iam",
                admin=not external,
                props={"external": external} if external else {"root": True},
            )
            if external:
                self.added_kinds["aws_account (external)"] += 1
        return uid

    # -- build -------------------------------------------------------------------------------

    def build(self) -> GraphData:
        phases: dict[str, float] = {}

        def timed(name: str, fn: Callable[[], None]) -> None:
            t0 = time.perf_counter()
            fn()
            phases[name] = round(time.perf_counter() - t0, 4)

        timed("nodes", self._resource_nodes)
        timed("principals", self._principals)
        timed("runs_as", self._runs_as)
        timed("exposure", self._exposure)
        timed("can_assume", self._can_assume)
        timed("can_access", self._can_access)
        timed("facts", self._facts)  # last: synthetic nodes may be fact targets too
        edges_by_type = Counter(e["type"] for e in self.edges)
        stats: dict[str, Any] = {
            "resources": len(self.inv),
            "nodes": len(self.nodes),
            "nodes_by_kind": dict(sorted(Counter(n["kind"] for n in self.nodes.values()).items())),
            "added_nodes": dict(sorted(self.added_kinds.items())),
            "edges": dict(sorted(edges_by_type.items())),
            "edge_total": len(self.edges),
            "skipped_edges": dict(sorted(self.skipped.items())),
            "skipped_relationship_types": dict(sorted(self.unknown_rel_types.items())),
            "evaluator": {
                "decisions": self.decisions,
                "seconds": round(self.eval_seconds, 4),
                "decisions_per_s": round(self.decisions / self.eval_seconds)
                if self.eval_seconds
                else None,
                "cache_hits": self.cache_hits,
                "principal_resource_pairs": self.pairs,
            },
            "phases": phases,
            "seconds": round(sum(phases.values()), 4),
            "notes": {k: v for k, v in sorted(self.notes.items())},
        }
        return GraphData(list(self.nodes.values()), self.edges, stats)

    # -- nodes -------------------------------------------------------------------------------

    def _resource_nodes(self) -> None:
        self.add_node(INTERNET_UID, KIND_INTERNET, "Internet", region="global")
        for acct in self.accounts:
            self.account_node(acct)
        rules = self.rules
        for r in self.inv.all():
            props = _props(r)
            why = rules.reason(r)
            if why is not None:
                props["sensitive_reason"] = why
            self.add_node(
                r.uid,
                r.type,
                r.name,
                account=r.account,
                region=r.region,
                service=r.service,
                tags=r.tags,
                sensitive=why is not None,
                admin=False,
                props=props,
            )

    def _principals(self) -> None:
        admin_cache: dict[tuple[Any, ...], Decision] = {}
        for rtype in ("aws_iam_user", "aws_iam_role"):
            for r in self.inv.of_type(rtype):
                pp = principal_policies(r, self.inv)
                if pp is None:
                    continue
                self.pps[r.uid] = pp
                key = (tuple(id(p) for p in pp.identity), id(pp.boundary))
                d = admin_cache.get(key)
                if d is None:
                    # No principal: with one, the probe on a resource of another
                    # account is judged cross-account and nothing is ever admin.
                    t0 = time.perf_counter()
                    d = admin_decision(
                        pp.identity, context=CALLER_CONTEXT, permissions_boundary=pp.boundary
                    )
                    self.eval_seconds += time.perf_counter() - t0
                    admin_cache[key] = d
                    self.decisions += len(ADMIN_PROBES)
                node = self.nodes[r.uid]
                props = node["props"]
                if pp.unread:
                    props["unread_policies"] = list(pp.unread)
                if d.possibly_allowed:
                    node["admin"] = True
                    props["admin_reason"] = _refs_text(d.allowed_by, "", "iam:AttachRolePolicy")
                    if not d.allowed:
                        props["admin_conditional"] = True
                        props["admin_condition_keys"] = sorted(d.conditional_keys)
                        if d.mfa_required:
                            props["admin_mfa_required"] = True

    # -- fact edges ----------------------------------------------------------------------------

    def _facts(self) -> None:
        facts = set(FACT_REL_TYPES)
        nodes = self.nodes
        for r in self.inv.all():
            for rel in r.relationships:
                if rel.type not in facts:
                    self.unknown_rel_types[rel.type] += 1
                    continue
                if rel.target not in nodes:
                    self.skipped[rel.type] += 1
                    continue
                if rel.properties:
                    self.add_edge(rel.type, r.uid, rel.target, props=rel.properties)
                else:
                    self.add_edge(rel.type, r.uid, rel.target)
            self.add_edge("OWNED_BY", r.uid, _account_uid(r.account))

    def _runs_as(self) -> None:
        inv = self.inv
        nodes = self.nodes
        for inst in inv.of_type("aws_instance"):
            for prof in inv.related(inst, "HAS_INSTANCE_PROFILE"):
                for role in prof.targets("RUNS_AS"):
                    if role in nodes:
                        self.add_edge(
                            "RUNS_AS",
                            inst.uid,
                            role,
                            props={"via": prof.uid, "derived": "instance profile"},
                        )
        for rtype in ("aws_ecs_service", "aws_ecs_task"):
            for svc in inv.of_type(rtype):
                if svc.targets("RUNS_AS"):  # a task's role override is a fact already
                    continue
                for td in inv.related(svc, "USES_TASK_DEFINITION"):
                    for role in td.targets("RUNS_AS"):
                        if role in nodes:
                            self.add_edge(
                                "RUNS_AS",
                                svc.uid,
                                role,
                                props={"via": td.uid, "derived": "task definition task role"},
                            )

    # -- EXPOSED_TO ------------------------------------------------------------------------------

    def _name(self, uid: str) -> str:
        r = self.inv.get(uid)
        return r.name if r is not None else _short(uid)

    def _exposed(self, r: Resource, ports: str, reason: str, **props: Any) -> None:
        self.add_edge("EXPOSED_TO", INTERNET_UID, r.uid, ports=ports, reason=reason, props=props)

    def _exposure(self) -> None:
        net = _Network(self.inv)
        for inst in self.inv.of_type("aws_instance"):
            self._instance_exposure(net, inst)
        for svc in self.inv.of_type("aws_ecs_service"):
            self._ecs_service_exposure(net, svc)
        for task in self.inv.of_type("aws_ecs_task"):
            self._ecs_task_exposure(net, task)
        for db in self.inv.of_type("aws_db_instance"):
            self._rds_exposure(net, db)
        for bucket in self.inv.of_type("aws_s3_bucket"):
            self._bucket_exposure(bucket)
        for fn in self.inv.of_type("aws_lambda_function"):
            self._lambda_exposure(fn)
        for rtype, key, label in (
            ("aws_sqs_queue", "policy", "queue policy"),
            ("aws_sns_topic", "policy", "topic policy"),
            ("aws_secretsmanager_secret", "policy", "secret policy"),
            ("aws_kms_key", "policy", "key policy"),
            ("aws_dynamodb_table", "resource_policy", "table policy"),
        ):
            for r in self.inv.of_type(rtype):
                grants = self._public_grants(r, key)
                if grants:
                    self._exposed(
                        r,
                        "443",
                        f"{label} is public: {describe_grants(grants)}",
                        mechanism="resource policy",
                        statements=[g.index for g in grants],
                    )

    def _public_grants(self, r: Resource, key: str) -> list[PublicGrant]:
        if key in r.unavailable:
            return []
        try:
            return public_grants(r.config.get(key))
        except PolicyUnreadable:
            self.note("unreadable_policies", uid=r.uid, key=key)
            return []

    def _network_exposure(
        self,
        net: _Network,
        placements: Sequence[tuple[str, str, list[str], bool]],
        *,
        only_port: int | None = None,
    ) -> tuple[list[str], list[str], list[str], dict[str, list[str]]]:
        """For (address text, subnet uid, security group uids, v6) placements: the reason
        parts and ports of the exposed ones, why the others are not exposed, and the
        subnets and security groups that let the Internet in (for the edge's props)."""
        via: dict[str, list[str]] = {"subnets": [], "security_groups": []}
        reasons: list[str] = []
        ports: list[str] = []
        blocked: list[str] = []
        for address, subnet_uid, sgs, v6 in placements:
            route, _known = net.route(subnet_uid, v6=v6)
            if route is None:
                subnet = self.inv.get(subnet_uid)
                name = subnet.name if subnet is not None else _short(subnet_uid)
                blocked.append(
                    f"{address} in subnet {name}, which has no route to an internet gateway"
                )
                continue
            opens = net.world_rules(sgs, v6=v6)
            if only_port is not None:
                opens = [o for o in opens if o.covers(only_port)]
            if not opens:
                names = ", ".join(self._name(s) for s in sgs)
                blocked.append(
                    f"{address} in {route}, but no security group ({names or 'none'}) "
                    f"allows inbound traffic from {'::/0' if v6 else '0.0.0.0/0'}"
                    + (f" on port {only_port}" if only_port is not None else "")
                )
                continue
            passing = []
            for o in opens:
                why = net.nacl_blocks(subnet_uid, o, v6=v6)
                if why is None:
                    passing.append(o)
                else:
                    blocked.append(f"{o.describe()}, but {why}")
            if not passing:
                continue
            reasons.append(f"{address} in {route}; " + "; ".join(o.describe() for o in passing))
            for key, uids in (
                ("subnets", [subnet_uid]),
                ("security_groups", [o.sg.uid for o in passing]),
            ):
                via[key] += [u for u in uids if u not in via[key]]
            if only_port is not None:
                ports.append(str(only_port))
            else:
                ports.extend(o.ports for o in passing)
        return reasons, ports, blocked, via

    def _instance_exposure(self, net: _Network, inst: Resource) -> None:
        c = inst.config
        placements: list[tuple[str, str, list[str], bool]] = []
        enis = [
            e
            for e in self.inv.referrers(inst.uid, "ATTACHED_TO")
            if e.type == "aws_network_interface"
        ]
        for eni in enis:
            ec = eni.config
            subnet = next(iter(eni.targets("IN_SUBNET")), None)
            if subnet is None:
                continue
            sgs = eni.targets("HAS_SECURITY_GROUP")
            ip = ec.get("public_ip")
            if not ip and (ec.get("attachment") or {}).get("device_index") == 0:
                ip = c.get("public_ip")
            if ip:
                placements.append((f"public IP {ip}", subnet, sgs, False))
            for addr in ec.get("ipv6_addresses") or []:
                placements.append((f"IPv6 address {addr}", subnet, sgs, True))
        if not enis:
            subnet = next(iter(inst.targets("IN_SUBNET")), None)
            if subnet is not None and c.get("public_ip"):
                placements.append(
                    (
                        f"public IP {c['public_ip']}",
                        subnet,
                        inst.targets("HAS_SECURITY_GROUP"),
                        False,
                    )
                )
        if not placements:
            return
        reasons, ports, blocked, via = self._network_exposure(net, placements)
        if reasons:
            self._exposed(
                inst,
                _join_ports(ports),
                "; ".join(reasons),
                mechanism="network",
                addresses=[p[0] for p in placements],
                **via,
            )
        elif blocked:
            self.note(
                "not_exposed", uid=inst.uid, name=inst.name, kind=inst.type, why="; ".join(blocked)
            )

    def _ecs_service_exposure(self, net: _Network, svc: Resource) -> None:
        netcfg = svc.config.get("network_configuration") or {}
        if netcfg.get("assign_public_ip") is not True:
            return
        sgs = svc.targets("HAS_SECURITY_GROUP")
        placements = [
            ("tasks get a public IP (assignPublicIp ENABLED)", s, sgs, False)
            for s in svc.targets("IN_SUBNET")
        ]
        reasons, ports, blocked, via = self._network_exposure(net, placements)
        if reasons:
            self._exposed(svc, _join_ports(ports), "; ".join(reasons), mechanism="network", **via)
        elif blocked:
            self.note(
                "not_exposed", uid=svc.uid, name=svc.name, kind=svc.type, why="; ".join(blocked)
            )

    def _ecs_task_exposure(self, net: _Network, task: Resource) -> None:
        placements: list[tuple[str, str, list[str], bool]] = []
        for eni in self.inv.related(task, "HAS_NETWORK_INTERFACE"):
            ip = eni.config.get("public_ip")
            subnet = next(iter(eni.targets("IN_SUBNET")), None)
            if ip and subnet:
                placements.append(
                    (f"public IP {ip}", subnet, eni.targets("HAS_SECURITY_GROUP"), False)
                )
        if not placements:
            return
        reasons, ports, blocked, via = self._network_exposure(net, placements)
        if reasons:
            self._exposed(task, _join_ports(ports), "; ".join(reasons), mechanism="network", **via)
        elif blocked:
            self.note(
                "not_exposed", uid=task.uid, name=task.name, kind=task.type, why="; ".join(blocked)
            )

    def _rds_exposure(self, net: _Network, db: Resource) -> None:
        c = db.config
        if c.get("publicly_accessible") is not True:
            return
        port = c.get("port")
        endpoint = (c.get("endpoint") or {}).get("address")
        address = (
            f"publicly accessible endpoint {endpoint}:{port}" if endpoint else "publicly accessible"
        )
        sgs = db.targets("HAS_SECURITY_GROUP")
        subnets = db.targets("IN_SUBNET")
        placements = [(address, s, sgs, False) for s in subnets]
        if not placements:  # subnet group unknown: routing unknown, counted as routed
            opens = [
                o for o in net.world_rules(sgs, v6=False) if port is None or o.covers(int(port))
            ]
            if opens:
                self._exposed(
                    db,
                    str(port or _join_ports(o.ports for o in opens)),
                    f"{address} (subnets unknown); " + "; ".join(o.describe() for o in opens),
                    mechanism="network",
                    security_groups=sorted({o.sg.uid for o in opens}),
                )
            return
        reasons, ports, blocked, via = self._network_exposure(
            net, placements, only_port=int(port) if port is not None else None
        )
        if reasons:
            self._exposed(db, _join_ports(ports), "; ".join(reasons), mechanism="network", **via)
        elif blocked:
            self.note("not_exposed", uid=db.uid, name=db.name, kind=db.type, why="; ".join(blocked))

    def _bucket_exposure(self, bucket: Resource) -> None:
        # The check itself: policy and ACL grants after Block Public Access, as findings
        # judge it (imported lazily: the checks package may one day read the graph).
        from stratusec.checks.aws.s3 import s3_bucket_not_public
        from stratusec.checks.model import Status

        out = s3_bucket_not_public(bucket, self.inv)
        if out.status == Status.FAIL:
            self._exposed(
                bucket,
                "443",
                out.message,
                mechanism="bucket " + " and ".join(out.evidence.get("mechanisms") or ["policy"]),
            )
        elif out.status == Status.UNKNOWN:
            self.note("exposure_unknown", uid=bucket.uid, name=bucket.name, why=out.message)

    def _lambda_exposure(self, fn: Resource) -> None:
        c = fn.config
        policy_known = "policy" not in fn.unavailable
        grants = self._public_grants(fn, "policy") if policy_known else []

        def grants_for(action: str) -> list[PublicGrant]:
            return [g for g in grants if action_allows(g.actions, action) != g.not_action]

        reasons: list[str] = []
        open_urls = [
            u for u in c.get("function_urls") or [] if str(u.get("authorization_type")) == "NONE"
        ]
        if open_urls:
            url = open_urls[0].get("function_url") or "(url)"
            url_grants = grants_for("lambda:InvokeFunctionUrl")
            if url_grants:
                reasons.append(
                    f"function URL {url} has auth type NONE and the function policy lets "
                    f"anyone invoke it: {describe_grants(url_grants)}"
                )
            elif not policy_known:
                reasons.append(
                    f"function URL {url} has auth type NONE (the function policy could not be read)"
                )
            else:
                self.note(
                    "not_exposed",
                    uid=fn.uid,
                    name=fn.name,
                    kind=fn.type,
                    why=f"function URL {url} has auth type NONE, but no function policy "
                    "statement lets everyone call lambda:InvokeFunctionUrl (AWS answers 403)",
                )
        invoke = grants_for("lambda:InvokeFunction")
        if invoke:
            reasons.append(f"function policy is public: {describe_grants(invoke)}")
        if reasons:
            self._exposed(fn, "443", "; ".join(reasons), mechanism="function URL / policy")

    # -- CAN_ASSUME ------------------------------------------------------------------------------

    def _principal_node(self, arn: str) -> str:
        """The node for an IAM principal ARN that is not an inventory resource."""
        if arn in self.nodes:
            return arn
        p = Principal.from_arn(arn)
        kind = {"role": "aws_iam_role", "user": "aws_iam_user"}.get(p.type, "aws_iam_principal")
        acct = p.account or ""
        self.add_node(
            arn,
            kind,
            arn.rsplit("/", 1)[-1],
            account=acct or None,
            region="global",
            service="iam",
            props={"in_inventory": False, "external": acct not in self.accounts},
        )
        return arn

    def _service_node(self, service: str) -> str:
        uid = service.lower()
        self.add_node(uid, KIND_SERVICE_PRINCIPAL, uid, region="global", props={"service": uid})
        return uid

    def _federated_node(self, provider: str) -> str:
        if provider in self.nodes:
            return provider
        self.add_node(
            provider, KIND_FEDERATED_PRINCIPAL, _short(provider), region="global",
            props={"provider": provider},
        )  # fmt: skip
        return provider

    def _can_assume(self) -> None:
        pps = self.pps
        by_userid = {
            str(pp.resource.config.get("unique_id")): pp
            for pp in pps.values()
            if pp.resource.config.get("unique_id")
        }
        roles = self.inv.of_type("aws_iam_role")
        # Callers that a trust policy naming their account may admit: those whose own
        # policies allow an AssumeRole action on the role (every role for broad
        # statements, the roles their Resource patterns match otherwise).
        index = _ResourceIndex((r.uid, i) for i, r in enumerate(roles))
        broad_callers: dict[str, list[PrincipalPolicies]] = defaultdict(list)
        narrow_callers: dict[int, list[PrincipalPolicies]] = defaultdict(list)
        assume_lc = [a.lower() for a in _ASSUME_ACTIONS]
        for pp in pps.values():
            stmts = [
                st
                for pol in pp.identity
                for st in pol.for_service("sts")
                if st.allow
                and any((st.action_set.match(a) is True) != st.not_action for a in assume_lc)
            ]
            if any(_broad(st) for st in stmts):
                broad_callers[pp.resource.account].append(pp)
                continue
            for i in sorted(
                {i for st in stmts for p in st.resources or () for i in index.match(p)}
            ):
                narrow_callers[i].append(pp)

        for ri, role in enumerate(roles):
            doc = role.config.get("assume_role_policy")
            if "assume_role_policy" in role.unavailable or not doc:
                self.note("unread_trust_policies", uid=role.uid, name=role.name)
                continue
            trust = parse_policy(doc, f"{role.name} trust policy")
            # candidate uid -> (principal, policies or None, action, kind of candidate)
            cands: dict[str, tuple[Principal, PrincipalPolicies | None, str, str]] = {}
            for st in trust.statements:
                if not st.allow or st.principal is None:
                    continue
                actions = [
                    a
                    for a in _ASSUME_ACTIONS
                    if (st.action_set.match(a.lower()) is True) != st.not_action
                ]
                if not actions:
                    continue
                spec = st.principal
                iam_action = "sts:AssumeRole" if "sts:AssumeRole" in actions else actions[0]
                if spec.any or st.not_principal:
                    for pp in pps.values():
                        cands.setdefault(pp.resource.uid, (pp.principal, pp, iam_action, "iam"))
                    cands.setdefault(
                        INTERNET_UID, (Principal.anonymous(), None, iam_action, "anyone")
                    )
                for acct in spec.accounts:
                    if acct in self.accounts:
                        for pp in broad_callers.get(acct, []):
                            cands.setdefault(pp.resource.uid, (pp.principal, pp, iam_action, "iam"))
                        for pp in narrow_callers.get(ri, []):
                            if pp.resource.account == acct:
                                cands.setdefault(
                                    pp.resource.uid, (pp.principal, pp, iam_action, "iam")
                                )
                    else:
                        uid = self.account_node(acct)
                        cands.setdefault(uid, (Principal.root(acct), None, iam_action, "account"))
                for arn in spec.arns:
                    known = pps.get(arn)
                    if known is not None:
                        cands.setdefault(arn, (known.principal, known, iam_action, "iam"))
                    elif arn.startswith("arn:"):
                        uid = self._principal_node(arn)
                        cands.setdefault(uid, (Principal.from_arn(arn), None, iam_action, "arn"))
                for u in spec.unique_ids:
                    known = by_userid.get(u)
                    if known is not None:
                        cands.setdefault(
                            known.resource.uid, (known.principal, known, iam_action, "iam")
                        )
                for svc in spec.services:
                    uid = self._service_node(svc)
                    cands.setdefault(uid, (Principal.for_service(svc), None, iam_action, "service"))
                for prov in spec.federated:
                    raw_prov = next(
                        (
                            p
                            for p in _as_list((st.principal.raw or {}).get("Federated"))
                            if p.lower() == prov
                        ),
                        prov,
                    )
                    action = (
                        "sts:AssumeRoleWithSAML"
                        if ":saml-provider/" in raw_prov
                        else "sts:AssumeRoleWithWebIdentity"
                    )
                    uid = self._federated_node(raw_prov)
                    cands.setdefault(
                        uid, (Principal.federated_identity(prov), None, action, "federated")
                    )
            for uid, (principal, cpp, action, how) in cands.items():
                if uid == role.uid:
                    continue
                ctx = SERVICE_CONTEXT if how == "service" else CALLER_CONTEXT
                t0 = time.perf_counter()
                d = trust_allows(
                    trust,
                    principal,
                    role_arn=role.uid,
                    action=action,
                    context=ctx,
                    identity_policies=cpp.identity if cpp is not None else None,
                    permissions_boundary=cpp.boundary if cpp is not None else None,
                )
                self.eval_seconds += time.perf_counter() - t0
                self.decisions += 1
                if not d.possibly_allowed:
                    continue
                self._assume_edge(uid, role, d, action, how, principal, cpp)

    def _assume_edge(
        self,
        uid: str,
        role: Resource,
        d: Decision,
        action: str,
        how: str,
        principal: Principal,
        pp: PrincipalPolicies | None,
    ) -> None:
        label = f"trust policy of role {role.name}"
        refs = _refs_text(d.allowed_by, label, action)
        cond = not d.allowed
        keys = sorted(d.conditional_keys)
        cond_text = (
            (" only with MFA" if d.mfa_required else f" with {', '.join(keys)} condition")
            if cond
            else ""
        )
        if how == "account":
            reason = f"{label} allows account {principal.account}{cond_text}: {refs}"
        elif how == "service":
            reason = f"{label} allows service {principal.service}{cond_text}: {refs}"
        elif how == "federated":
            reason = f"{label} allows identities of {principal.provider}{cond_text}: {refs}"
        elif how == "anyone":
            reason = f"{label} allows any AWS principal{cond_text}: {refs}"
        elif how == "arn":
            reason = f"{label} allows {principal.arn}{cond_text}: {refs}"
        else:
            reason = _decision_text(d, action, f"role {role.name}", label)
        props: dict[str, Any] = {"action": action}
        if pp is None:
            props["identity_side"] = "not evaluated"
        elif pp.unread:
            props["policies_incomplete"] = True
        if d.mfa_required:
            props["mfa_required"] = True
        if d.notes:
            props["notes"] = list(d.notes)
        self.add_edge(
            "CAN_ASSUME",
            uid,
            role.uid,
            reason=reason,
            conditional=cond,
            condition_keys=keys,
            props=props,
        )

    # -- CAN_ACCESS ------------------------------------------------------------------------------

    def _flags(self, st: Statement, *, resource_side: bool) -> int:
        """_P_DEP / _R_DEP: whether the statement's outcome depends on who the caller is
        beyond its policies, account and type, or on which resource (beyond its type and
        account). Resource-side statements are pre-matched on the resource."""
        key = id(st) * 2 + resource_side
        hit = self._stmt_flags.get(key)
        if hit is not None:
            return hit
        f = 0
        rs = st.resource_set
        if rs is not None and not resource_side:
            if rs.templates:
                f |= _P_DEP | _R_DEP
            if not rs.match_all:
                f |= _R_DEP
        if resource_side and rs is not None and rs.templates:
            f |= _P_DEP | _R_DEP
        for c in st.conditions:
            k = c.key_lc
            if any(t is not None for t in c.templates):
                f |= _P_DEP | _R_DEP
            if k.startswith("aws:principal") or k in ("aws:username", "aws:userid"):
                f |= _P_DEP
            elif k.startswith("aws:resource") or k == "aws:requestedregion":
                f |= _R_DEP
        spec = st.principal
        if (
            resource_side
            and spec is not None
            and (st.not_principal or spec.arns or spec.unique_ids or spec.canonical)
        ):
            f |= _P_DEP
        self._stmt_flags[key] = f
        return f

    def _target_info(self, r: Resource, spec: AccessTarget) -> _TargetInfo:
        policy: Policy | None = None
        unread = False
        public_idx: frozenset[int] = frozenset()
        label = f"{spec.policy_label} of {r.name}"
        if spec.kind == "aws_kms_key" and r.config.get("aliases"):
            label = f"{spec.policy_label} of {r.config['aliases'][0]}"
        if spec.policy_key is not None:
            if spec.policy_key in r.unavailable:
                unread = True
                self.note("unread_resource_policies", uid=r.uid, name=r.name)
            else:
                doc = r.config.get(spec.policy_key)
                if doc:
                    policy = parse_policy(doc, label)
                    try:
                        public_idx = frozenset(g.index for g in public_grants(doc))
                    except PolicyUnreadable:
                        public_idx = frozenset()
        info = _TargetInfo(r, spec, policy, unread, label, public_idx)
        for g in spec.groups:
            res = g.resource(r)
            if res is None:
                info.scopes[g.name] = []
                continue
            scopes = [("*", res)]
            if g.name == "s3-object" and policy is not None:
                scopes += [(p, p) for p in _object_scopes(r.name, policy.statements)]
            info.scopes[g.name] = [
                (scope, rs, *self._rprime(policy, rs, g.services)) for scope, rs in scopes
            ]
        return info

    def _rprime(
        self, policy: Policy | None, resource: str, services: frozenset[str]
    ) -> tuple[Policy | None, int, tuple[int, ...] | None]:
        """The resource policy's statements that apply to ``resource`` (for ``services``),
        their dependency flags, and a key identifying them."""
        if policy is None:
            return None, 0, None
        kept: list[Statement] = []
        flags = 0
        for st in policy.statements:
            if st.services is not None and not (st.services & services):
                continue
            rs = st.resource_set
            if rs is not None:
                m = rs.match(resource, None)
                if not rs.templates and (m is True) == st.not_resource:
                    continue
            kept.append(st)
            flags |= self._flags(st, resource_side=True)
        sub = Policy(policy.name, tuple(kept), policy.version, policy.errors)
        return sub, flags, tuple(id(st) for st in kept)

    def _callers(self) -> list[_Caller]:
        out: list[_Caller] = []
        for uid, pp in self.pps.items():
            p = pp.principal
            out.append(
                _Caller(
                    uid,
                    p,
                    pp.identity,
                    pp.boundary,
                    incomplete=bool(pp.unread),
                    pol_key=(
                        tuple(id(x) for x in pp.identity),
                        id(pp.boundary),
                        p.account,
                        p.type,
                        bool(pp.unread),
                    ),
                )
            )
        return out

    def _can_access(self) -> None:
        callers = self._callers()
        by_uid = {c.uid: c for c in callers}
        by_userid = {
            str(pp.resource.config.get("unique_id")): uid
            for uid, pp in self.pps.items()
            if pp.resource.config.get("unique_id")
        }
        foreign: dict[str, _Caller] = {}
        for spec in ACCESS_TARGETS:
            infos = [
                self._target_info(r, spec) for r in self.inv.of_type(spec.kind) if spec.applies(r)
            ]
            indexes: dict[str, _ResourceIndex] = {}
            if not infos:
                continue
            # Resource-policy index: who a target's policy grants to, besides the
            # principals whose own policies reach the target.
            everyone: set[int] = set()
            named: dict[str, set[int]] = defaultdict(set)
            for i, info in enumerate(infos):
                for scopes in info.scopes.values():
                    for _scope, rs, sub, _f, _k in scopes:
                        if sub is None:
                            continue
                        for st in sub.statements:
                            if not st.allow or st.principal is None:
                                continue
                            sp = st.principal
                            if sp.any or st.not_principal:
                                if st.index not in info.public_idx and self._may_apply(
                                    st, info, rs
                                ):
                                    everyone.add(i)
                                continue
                            for arn in sp.arns:
                                named[arn].add(i)
                                if arn not in by_uid and arn.startswith("arn:"):
                                    self._foreign_caller(foreign, arn, named_arn=True)
                            for u in sp.unique_ids:
                                if u in by_userid:
                                    named[by_userid[u]].add(i)
                            for acct in sp.accounts:
                                if acct not in self.accounts:
                                    uid = self._foreign_caller(foreign, acct, named_arn=False)
                                    named[uid].add(i)
            for caller in [*callers, *foreign.values()]:
                if caller.foreign:
                    cands: Iterable[int] = sorted(named.get(caller.uid, ()))
                else:
                    cands = self._candidates(caller, spec, infos, everyone, named, indexes)
                for i in cands:
                    self._access_pair(caller, infos[i])

    def _foreign_caller(self, foreign: dict[str, _Caller], who: str, *, named_arn: bool) -> str:
        if named_arn:
            uid = who
            if uid not in foreign:
                self._principal_node(who)
                foreign[uid] = _Caller(
                    uid, Principal.from_arn(who), (_FOREIGN_IDENTITY,), None, foreign=True,
                    pol_key=(uid,),
                )  # fmt: skip
            return uid
        uid = self.account_node(who)
        if uid not in foreign:
            foreign[uid] = _Caller(uid, Principal.root(who), (), None, foreign=True, pol_key=(uid,))
        return uid

    def _may_apply(self, st: Statement, info: _TargetInfo, resource: str) -> bool:
        """Whether a statement for every principal can apply at all to an IAM caller
        (its conditions are not certainly false for the caller context)."""
        if not st.conditions:
            return True
        req = Request(
            Principal(type="unknown"),
            "x:y",
            resource,
            resource_account=info.res.account,
            resource_tags=info.res.tags,
            context=CALLER_CONTEXT,
        )
        return evaluate_conditions(st.conditions, make_lookup(req, info.res.account)) is not False

    def _candidates(
        self,
        caller: _Caller,
        spec: AccessTarget,
        infos: list[_TargetInfo],
        everyone: set[int],
        named: Mapping[str, set[int]],
        indexes: dict[str, _ResourceIndex],
    ) -> Iterable[int]:
        out: set[int] = set(everyone)
        out |= named.get(caller.uid, set())
        parent = caller.principal.parent_arn
        if parent and parent != caller.uid:
            out |= named.get(parent, set())
        for g in spec.groups:
            allows = [st for svc in g.services for st in caller.allows_for(svc)]
            if not allows:
                continue
            for st in allows:
                if _broad(st):
                    return range(len(infos))  # every target of the type
                for pat in st.resources or ():
                    out |= _match_targets(pat, g, infos, indexes)
        return sorted(out)

    def _access_pair(self, caller: _Caller, info: _TargetInfo) -> None:
        self.pairs += 1
        evaluated: list[tuple[str, str, list[tuple[str, Decision]]]] = []  # (scope, res, ...)
        keys: list[Any] = []
        for g in info.spec.groups:
            scopes = info.scopes.get(g.name, [])
            if g.name == "s3-object" and scopes and not caller.foreign and caller.allows_for("s3"):
                scopes = scopes + self._identity_scopes(caller, info, g, scopes)
            for scope, res, sub, rflags, rkey in scopes:
                key, decisions = self._decide(caller, info, g, res, sub, rflags, rkey)
                keys.append(key if scope == "*" else (key, scope))
                evaluated.append((scope, res, decisions))
        sig = tuple(keys) if self.cache_on and None not in keys else None
        summary = self._summaries.get(sig) if sig is not None else None
        if summary is None:
            summary = _summarize(info.spec, evaluated, caller)
            if sig is not None:
                self._summaries[sig] = summary
        if summary is _NO_ACCESS:
            return
        assert isinstance(summary, _Summary)
        res = evaluated[summary.strongest_at][1]
        self.add_edge(
            "CAN_ACCESS",
            caller.uid,
            info.res.uid,
            actions=summary.actions,
            level=summary.level,
            conditional=summary.conditional,
            reason=_decision_text(summary.decision, summary.strongest, res, info.label),
            props={**summary.props, "resource_policy_unread": True}
            if info.policy_unread
            else summary.props,
        )

    def _identity_scopes(
        self,
        caller: _Caller,
        info: _TargetInfo,
        g: AccessGroup,
        have: Sequence[tuple[str, str, Policy | None, int, tuple[int, ...] | None]],
    ) -> list[tuple[str, str, Policy | None, int, tuple[int, ...] | None]]:
        """Object-key prefixes of the bucket that the caller's own policies name."""
        known = {scope for scope, *_rest in have}
        out = []
        for pat in _object_scopes(info.res.name, caller.allows_for("s3")):
            if pat in known:
                continue
            key = (info.res.uid, pat)
            hit = self._scope_cache.get(key)
            if hit is None:
                hit = self._rprime(info.policy, pat, g.services)
                self._scope_cache[key] = hit
            out.append((pat, pat, *hit))
        return out

    def _decide(
        self,
        caller: _Caller,
        info: _TargetInfo,
        g: AccessGroup,
        res: str,
        sub: Policy | None,
        rflags: int,
        rkey: tuple[int, ...] | None,
    ) -> tuple[tuple[Any, ...] | None, list[tuple[str, Decision]]]:
        """The candidate actions of ``g`` the caller may perform on ``res`` (allowed or
        conditional), and the key under which the answer is shared with equivalent
        (caller, resource) pairs (None when caching is off)."""
        key: tuple[Any, ...] | None = None
        if self.cache_on:
            iflags = caller.group_flags.get(g.name)
            if iflags is None:
                iflags = self._identity_flags(caller, g.services)
                caller.group_flags[g.name] = iflags
            flags = iflags | rflags
            pkey: Any = caller.uid if flags & _P_DEP else caller.pol_key
            rpart: Any = (info.res.uid, res) if flags & _R_DEP else info.res.account
            key = (pkey, g.name, rpart, rkey)
            hit = self._dec_cache.get(key)
            if hit is not None:
                self.cache_hits += 1
                return key, hit
        t0 = time.perf_counter()
        out = allowed_actions(
            caller.identity,
            res,
            g.actions,
            principal=caller.principal,
            context=CALLER_CONTEXT,
            resource_policy=sub,
            permissions_boundary=caller.boundary,
            resource_account=info.res.account,
            resource_tags=info.res.tags,
        )
        self.eval_seconds += time.perf_counter() - t0
        self.decisions += len(g.actions)
        result = list(out.items())
        if key is not None:
            self._dec_cache[key] = result
        return key, result

    def _identity_flags(self, caller: _Caller, services: frozenset[str]) -> int:
        cache_key = (caller.pol_key, services)
        hit = self._id_flags.get(cache_key)
        if hit is not None:
            return hit
        f = 0
        pols = [*caller.identity, *([caller.boundary] if caller.boundary else [])]
        for pol in pols:
            for svc in services:
                for st in pol.for_service(svc):
                    f |= self._flags(st, resource_side=False)
        self._id_flags[cache_key] = f
        return f


_NO_ACCESS: Final = object()


@dataclass(frozen=True)
class _Summary:
    """What one (caller, target) pair's decisions make of a CAN_ACCESS edge."""

    actions: list[str]
    level: str
    conditional: bool
    strongest: str
    decision: Decision
    strongest_at: int  # index into the evaluated (scope, resource) list
    props: dict[str, Any]


def _summarize(
    spec: AccessTarget,
    evaluated: Sequence[tuple[str, str, list[tuple[str, Decision]]]],
    caller: _Caller,
) -> _Summary | object:
    """Allowed actions, level, conditional flag, strongest action and edge props."""
    allowed: dict[str, tuple[Decision, int, str]] = {}  # action -> (decision, at, scope)
    for at, (scope, _res, decisions) in enumerate(evaluated):
        for action, d in decisions:
            prev = allowed.get(action)
            if prev is None or (d.allowed and not prev[0].allowed):
                allowed[action] = (d, at, scope)
    if not allowed:
        return _NO_ACCESS
    order = {a: i for i, a in enumerate(a for g in spec.groups for a in g.actions)}
    cat = {a: _category(a) or "read" for a in allowed}
    # Strongest: highest level, certain before conditional, then candidate order.
    ranked = sorted(
        allowed.items(),
        key=lambda kv: (-_LEVEL_RANK[cat[kv[0]]], 0 if kv[1][0].allowed else 1, order[kv[0]]),
    )
    strongest, (sd, s_at, _scope) = ranked[0]
    level = cat[strongest]
    conditional = not any(d.allowed for a, (d, _at, _s) in ranked if cat[a] == level)
    props: dict[str, Any] = {}
    cond_actions = [a for a, (d, _at, _s) in ranked if not d.allowed]
    if cond_actions:
        props["conditional_actions"] = cond_actions
        props["condition_keys"] = sorted(
            set().union(*(allowed[a][0].conditional_keys for a in cond_actions))
        )
        certain = [cat[a] for a, (d, _at, _s) in ranked if d.allowed]
        if certain:
            props["certain_level"] = max(certain, key=lambda lv: _LEVEL_RANK[lv])
    granted = sorted({ref.kind for d, _at, _s in allowed.values() for ref in d.allowed_by})
    if granted:
        props["granted_by"] = granted
    partial = sorted({scope for _d, _at, scope in allowed.values() if scope != "*"})
    if partial:  # object actions allowed only under these key prefixes
        props["object_scopes"] = partial
    if caller.incomplete:
        props["policies_incomplete"] = True
    if caller.foreign:
        props["identity_side"] = "not evaluated"
    actions = sorted(allowed, key=order.__getitem__)
    return _Summary(actions, level, conditional, strongest, sd, s_at, props)


_S3: Final = "arn:aws:s3:::"


def _object_scopes(bucket: str, statements: Iterable[Statement]) -> list[str]:
    """Object-key prefixes (``arn:aws:s3:::b/reports/*``) that statements name for the
    bucket's objects beyond ``b/*``: grants on part of a bucket are evaluated there."""
    prefix = f"arn:aws:s3:::{bucket}/"
    out: list[str] = []
    for st in statements:
        for pat in st.resources or ():
            if (
                pat.startswith(prefix)
                and pat != prefix + "*"
                and "${" not in pat
                and pat not in out
            ):
                out.append(pat)
    return out


def _match_targets(
    pattern: str, g: AccessGroup, infos: Sequence[_TargetInfo], indexes: dict[str, _ResourceIndex]
) -> frozenset[int]:
    """Targets whose request resource for group ``g`` an identity-policy Resource pattern
    matches (for S3 objects: any object of the buckets the pattern names)."""
    tail = pattern[len(_S3) :] if pattern.startswith(_S3) else None
    if g.name == "s3-object" and tail is not None and "/" in tail:
        # "arn:aws:s3:::b/reports/*" names objects of bucket b: match the bucket part.
        name, pattern = "s3-bucket-uids", _S3 + tail.split("/", 1)[0]
    else:
        name = g.name
    index = indexes.get(name)
    if index is None:
        items: list[tuple[str, int]] = []
        for i, info in enumerate(infos):
            res = info.res.uid if name == "s3-bucket-uids" else g.resource(info.res)
            if res is not None:
                items.append((res, i))
        index = indexes[name] = _ResourceIndex(items)
    return index.match(pattern)


_GLOBS: dict[str, re.Pattern[str]] = {}


def _glob(pattern: str) -> re.Pattern[str]:
    rx = _GLOBS.get(pattern)
    if rx is None:
        parts = re.split(r"([*?])", pattern)
        rx = re.compile(
            "".join(".*" if p == "*" else "." if p == "?" else re.escape(p) for p in parts),
            re.DOTALL,
        )
        _GLOBS[pattern] = rx
    return rx


_MAX_LISTED: Final = 4


def _listed(items: Sequence[str], action: str | None) -> str:
    """Up to a few items (those matching ``action`` first), with a count of the rest."""
    if len(items) <= _MAX_LISTED:
        return ", ".join(items)
    shown: list[str] = []
    if action is not None:
        a = action.lower()
        shown = [i for i in items if _glob(i.lower()).fullmatch(a)][: _MAX_LISTED - 1]
    if not shown:
        shown = list(items[: _MAX_LISTED - 1])
    return f"{', '.join(shown)} and {len(items) - len(shown)} more"


_STMT_TEXT: dict[tuple[int, str | None], tuple[Statement, str]] = {}


def _stmt_text(st: Statement, action: str | None = None) -> str:
    """``Statement.describe()`` with long lists cut short (AWS managed policies list
    hundreds of actions): the actions that match ``action`` are the ones shown."""
    key = (id(st), action)
    hit = _STMT_TEXT.get(key)
    if hit is not None and hit[0] is st:
        return hit[1]
    text = _stmt_text_uncached(st, action)
    if len(_STMT_TEXT) > 65536:
        _STMT_TEXT.clear()
    _STMT_TEXT[key] = (st, text)
    return text


def _stmt_text_uncached(st: Statement, action: str | None) -> str:
    verb = "allows" if st.allow else "denies"
    acts = _listed(st.actions, action) or "nothing"
    if st.not_action:
        acts = f"all actions except {acts}"
    if st.resources is None:
        res = "any resource"
    else:
        res = _listed(st.resources, None)
        if st.not_resource:
            res = f"all resources except {res}"
    who = ""
    if st.principal is not None:
        who = f" {'to all principals except' if st.not_principal else 'to'} "
        who += st.principal.describe()
    cond = ""
    if st.conditions:
        cond = " if " + " and ".join(c.describe() for c in st.conditions)
    return f"{verb} {acts} on {res}{who}{cond}"


def _ref_text(ref: StatementRef, resource_label: str, action: str | None = None) -> str:
    sid = f" ({ref.sid})" if ref.sid else ""
    if ref.kind == "resource":
        label = resource_label
    else:
        label = {"identity": "policy", "boundary": "permissions boundary"}.get(ref.kind, ref.kind)
        label = f"{label} {ref.policy}"
    return f"{label} statement {ref.index}{sid} {_stmt_text(ref.statement, action)}"


def _refs_text(refs: Iterable[StatementRef], resource_label: str, action: str | None = None) -> str:
    return "; ".join(_ref_text(r, resource_label, action) for r in refs) or "no statement"


_GRANTS_TEXT: dict[tuple[int, str, str], tuple[Decision, str]] = {}


def _decision_text(d: Decision, action: str, resource: str, resource_label: str) -> str:
    """The evaluator's explanation (``Decision.reason``) for ``action`` on ``resource``,
    with resource-policy statements named after the resource they belong to."""
    key = (id(d), action, resource_label)
    hit = _GRANTS_TEXT.get(key)
    if hit is not None and hit[0] is d:
        grants = hit[1]
    else:
        grants = _grants_text(d, action, resource_label)
        if len(_GRANTS_TEXT) > 65536:
            _GRANTS_TEXT.clear()
        _GRANTS_TEXT[key] = (d, grants)
    return f"{action} on {resource} is {grants}"


def _grants_text(d: Decision, action: str, resource_label: str) -> str:
    refs = [r for r in d.allowed_by if r.policy != _FOREIGN_IDENTITY.name]
    grants = _refs_text(refs, resource_label, action) if refs else "; ".join(d.notes)
    if d.decision == "allow":
        return f"allowed: {grants}"
    keys = ", ".join(sorted(d.conditional_keys))
    head = "allowed only with MFA" if d.mfa_required else f"conditional on {keys}"
    gates = "; ".join(
        f"{_ref_text(g.ref, resource_label, action)} [unknown: {', '.join(sorted(g.keys))}]"
        for g in d.gates
    )
    return f"{head}: {grants}" + (f" (gated by: {gates})" if gates else "")
