"""Small hand-made inventories for graph-builder tests: IAM principals and policies,
data resources and a VPC, in the record shapes the collectors produce."""

from __future__ import annotations

from typing import Any

from stratusec.checks import Inventory
from stratusec.graph.builder import GraphData, build_graph
from stratusec.inventory.models import Resource
from tests.checks.fixtures import ACCOUNT, inventory, res

US = "us-east-1"
FOREIGN = "210987654321"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def iam_arn(kind: str, name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def ec2_arn(kind: str, ident: str) -> str:
    return f"arn:aws:ec2:{US}:{ACCOUNT}:{kind}/{ident}"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(principal: dict[str, Any] | str, **extra: Any) -> dict[str, Any]:
    return doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra})


def policy(name: str, document: dict[str, Any], *, arn: str | None = None) -> Resource:
    return res(
        "aws_iam_policy",
        name,
        uid=arn or iam_arn("policy", name),
        region="global",
        config={"policy": document, "aws_managed": bool(arn and ":aws:policy/" in arn)},
    )


def admin_policy() -> Resource:
    return policy("AdministratorAccess", doc(allow("*")), arn=ADMIN_ARN)


def role(
    name: str,
    *,
    trusts: dict[str, Any] | None = None,
    inline: dict[str, dict[str, Any]] | None = None,
    managed: list[str] | None = None,
    boundary: str | None = None,
) -> Resource:
    r = res(
        "aws_iam_role",
        name,
        uid=iam_arn("role", name),
        region="global",
        config={
            "assume_role_policy": trusts or trust({"Service": "ec2.amazonaws.com"}),
            "inline_policies": inline or {},
            "managed_policy_arns": managed or [],
            "permissions_boundary": boundary,
            "unique_id": f"AROA{name.upper().replace('-', '')[:12]:0<12}",
        },
    )
    for arn in managed or []:
        r.relate("HAS_POLICY", arn)
    return r


def user(
    name: str,
    *,
    inline: dict[str, dict[str, Any]] | None = None,
    managed: list[str] | None = None,
    boundary: str | None = None,
) -> Resource:
    return res(
        "aws_iam_user",
        name,
        uid=iam_arn("user", name),
        region="global",
        config={
            "inline_policies": inline or {},
            "managed_policy_arns": managed or [],
            "permissions_boundary": boundary,
            "groups": [],
        },
    )


def bucket(
    name: str,
    *,
    bucket_policy: dict[str, Any] | None = None,
    pab: bool | None = None,
    tags: dict[str, str] | None = None,
) -> Resource:
    flags = (
        None
        if pab is None
        else {
            k: pab
            for k in (
                "block_public_acls",
                "ignore_public_acls",
                "block_public_policy",
                "restrict_public_buckets",
            )
        }
    )
    return res(
        "aws_s3_bucket",
        name,
        uid=f"arn:aws:s3:::{name}",
        tags=tags,
        service="s3",
        config={
            "bucket": name,
            "policy": bucket_policy,
            "policy_status": {"is_public": False},
            "acl": {"grants": []},
            "acl_public": False,
            "public_access_block": flags,
        },
    )


def account_pab(on: bool = False) -> Resource:
    flags = (
        "block_public_acls",
        "ignore_public_acls",
        "block_public_policy",
        "restrict_public_buckets",
    )
    return res(
        "aws_s3_account_public_access_block",
        ACCOUNT,
        uid=f"arn:aws:s3::{ACCOUNT}:account-public-access-block",
        region="global",
        service="s3",
        config={**dict.fromkeys(flags, on), "configured": on},
    )


# -- network ------------------------------------------------------------------------------


def route_table(ident: str, *, igw: str | None = "igw-1") -> Resource:
    routes = [{"destination": "10.0.0.0/16", "gateway_id": "local", "state": "active"}]
    if igw:
        routes.append({"destination": "0.0.0.0/0", "gateway_id": igw, "state": "active"})
    r = res(
        "aws_route_table",
        ident,
        uid=ec2_arn("route-table", ident),
        config={"id": ident, "route": routes},
    )
    if igw:
        r.relate("ROUTES_TO", ec2_arn("internet-gateway", igw))
    return r


def subnet(name: str, *, route_table_id: str, public: bool) -> Resource:
    return res(
        "aws_subnet",
        name,
        uid=ec2_arn("subnet", f"subnet-{name}"),
        config={"id": f"subnet-{name}", "route_table_id": route_table_id, "public": public},
    )


def sg(name: str, *rules: dict[str, Any]) -> Resource:
    return res(
        "aws_security_group",
        name,
        uid=ec2_arn("security-group", f"sg-{name}"),
        config={"id": f"sg-{name}", "ingress": list(rules)},
    )


def tcp(port: int, cidr: str = "0.0.0.0/0", *, to: int | None = None) -> dict[str, Any]:
    return {
        "protocol": "tcp",
        "from_port": port,
        "to_port": port if to is None else to,
        "cidr_blocks": [cidr] if ":" not in cidr else [],
        "ipv6_cidr_blocks": [cidr] if ":" in cidr else [],
        "security_groups": [],
        "description": None,
    }


def instance(
    name: str,
    *,
    subnet_uid: str,
    sgs: list[str],
    public_ip: str | None = None,
    profile: str | None = None,
) -> Resource:
    r = res(
        "aws_instance",
        name,
        uid=ec2_arn("instance", f"i-{name}"),
        config={"public_ip": public_ip, "metadata_options": {"http_tokens": "required"}},
        relationships=[("IN_SUBNET", subnet_uid), *(("HAS_SECURITY_GROUP", s) for s in sgs)],
    )
    if profile:
        r.relate("HAS_INSTANCE_PROFILE", profile)
    return r


def public_network() -> list[Resource]:
    """A public subnet (route 0.0.0.0/0 -> igw-1) and a private one."""
    return [
        route_table("rtb-pub"),
        route_table("rtb-priv", igw=None),
        subnet("public-a", route_table_id="rtb-pub", public=True),
        subnet("private-a", route_table_id="rtb-priv", public=False),
    ]


def subnet_uid(name: str) -> str:
    return ec2_arn("subnet", f"subnet-{name}")


def sg_uid(name: str) -> str:
    return ec2_arn("security-group", f"sg-{name}")


# -- building and reading ---------------------------------------------------------------------


def build(*resources: Resource, **kw: Any) -> GraphData:
    return build_graph(inventory(*resources), **kw)


def inv_of(*resources: Resource) -> Inventory:
    return inventory(*resources)


def edges(g: GraphData, etype: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(e["from"], e["to"]): e for e in g.edges if e["type"] == etype}


def node(g: GraphData, uid: str) -> dict[str, Any]:
    return next(n for n in g.nodes if n["uid"] == uid)
