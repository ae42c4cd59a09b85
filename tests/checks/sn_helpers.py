"""Record builders for the storage / network / compute check tests (shapes as the
collectors write them)."""

from __future__ import annotations

from typing import Any

from stratusec.inventory.models import Resource
from tests.checks.fixtures import ACCOUNT, res

FULL_PAB = {
    "block_public_acls": True,
    "ignore_public_acls": True,
    "block_public_policy": True,
    "restrict_public_buckets": True,
}
NO_PAB = dict.fromkeys(FULL_PAB, False)


def bucket(
    name: str,
    *,
    policy: Any = None,
    policy_public: bool | None = None,
    acl_grants: list[dict[str, Any]] | None = None,
    pab: dict[str, Any] | None = None,
    versioning: dict[str, Any] | None = None,
    unavailable: list[str] | None = None,
    **extra: Any,
) -> Resource:
    grants = acl_grants or []
    public_acl = any(
        str(g.get("grantee_uri", "")).endswith(("AllUsers", "AuthenticatedUsers")) for g in grants
    )
    config: dict[str, Any] = {
        "bucket": name,
        "arn": f"arn:aws:s3:::{name}",
        "policy": policy,
        "policy_status": {"is_public": bool(policy_public)}
        if policy_public is not None
        else ({"is_public": False}),
        "acl": {"owner": {"id": "abc"}, "grants": grants},
        "acl_public": public_acl,
        "public_access_block": pab,
        "server_side_encryption_configuration": None,
        "versioning": versioning or {"status": "Disabled", "mfa_delete": "Disabled"},
        **extra,
    }
    return res(
        "aws_s3_bucket",
        name,
        uid=f"arn:aws:s3:::{name}",
        config=config,
        unavailable=unavailable,
        service="s3",
    )


def account_pab(
    *, configured: bool | None = True, unavailable: list[str] | None = None, **flags: Any
) -> Resource:
    config: dict[str, Any] = {"account_id": ACCOUNT, "configured": configured}
    if configured:
        config.update({**FULL_PAB, **flags})
    elif configured is False:
        config.update(NO_PAB)
    else:
        config.update(dict.fromkeys(FULL_PAB))
    return res(
        "aws_s3_account_public_access_block",
        ACCOUNT,
        region="global",
        uid=f"arn:aws:s3::{ACCOUNT}:account-public-access-block",
        config=config,
        unavailable=unavailable,
        service="s3",
    )


def sg_rule(
    protocol: str = "tcp",
    from_port: int | None = 22,
    to_port: int | None = None,
    *,
    cidrs: list[str] | None = None,
    ipv6: list[str] | None = None,
    groups: list[str] | None = None,
) -> dict[str, Any]:
    if protocol == "-1":
        from_port, to_port = 0, 65535
    return {
        "protocol": protocol,
        "from_port": from_port,
        "to_port": to_port if to_port is not None else from_port,
        "cidr_blocks": cidrs or [],
        "ipv6_cidr_blocks": ipv6 or [],
        "security_groups": groups or [],
        "self": False,
        "prefix_list_ids": [],
        "description": None,
    }


def sg(
    name: str,
    ingress: list[dict[str, Any]] | None = None,
    egress: list[dict[str, Any]] | None = None,
    *,
    gid: str | None = None,
    default: bool = False,
    region: str = "us-east-1",
) -> Resource:
    gid = gid or f"sg-{name}"
    return res(
        "aws_security_group",
        name,
        region=region,
        uid=f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{gid}",
        service="ec2",
        config={
            "id": gid,
            "name": name,
            "vpc_id": "vpc-1",
            "is_default": default,
            "ingress": ingress or [],
            "egress": egress or [],
        },
    )


def nacl_entry(
    number: int,
    action: str,
    *,
    protocol: str = "-1",
    from_port: int | None = None,
    to_port: int | None = None,
    cidr: str | None = "0.0.0.0/0",
    ipv6: str | None = None,
    egress: bool = False,
) -> dict[str, Any]:
    if protocol == "-1":
        from_port, to_port = 0, 65535
    return {
        "egress": egress,
        "rule_number": number,
        "protocol": protocol,
        "rule_action": action,
        "cidr_block": cidr if ipv6 is None else None,
        "ipv6_cidr_block": ipv6,
        "from_port": from_port,
        "to_port": to_port if to_port is not None else from_port,
        "icmp_type": None,
        "icmp_code": None,
    }


def nacl(name: str, entries: list[dict[str, Any]]) -> Resource:
    return res(
        "aws_network_acl",
        name,
        service="ec2",
        config={
            "id": name,
            "vpc_id": "vpc-1",
            "default": False,
            "subnet_ids": ["subnet-1"],
            "entries": entries,
            "ingress": [e for e in entries if not e["egress"]],
            "egress": [e for e in entries if e["egress"]],
        },
    )


def instance(
    name: str,
    *,
    public_ip: str | None = None,
    http_tokens: str | None = "required",
    http_endpoint: str = "enabled",
    groups: list[Resource] | None = None,
    subnet: Resource | None = None,
    state: str = "running",
    profile: str | None = None,
) -> Resource:
    rels = [("HAS_SECURITY_GROUP", g.uid) for g in groups or []]
    if subnet is not None:
        rels.append(("IN_SUBNET", subnet.uid))
    return res(
        "aws_instance",
        name,
        service="ec2",
        config={
            "id": f"i-{name}",
            "state": state,
            "public_ip": public_ip,
            "iam_instance_profile": profile,
            "metadata_options": {
                "http_tokens": http_tokens,
                "http_endpoint": http_endpoint,
                "http_put_response_hop_limit": 1,
            },
        },
        relationships=rels,
    )


def subnet(name: str, *, public: bool | None) -> Resource:
    return res("aws_subnet", name, service="ec2", config={"id": name, "public": public})


def db(name: str, **config: Any) -> Resource:
    base: dict[str, Any] = {
        "identifier": name,
        "engine": "postgres",
        "engine_version": "16.3",
        "allocated_storage": 20,
        "cluster_identifier": None,
        "replicate_source_db": None,
        "publicly_accessible": False,
        "storage_encrypted": True,
        "kms_key_id": "arn:aws:kms:us-east-1:123456789012:key/k",
        "multi_az": True,
        "availability_zone": "us-east-1a",
        "backup_retention_period": 7,
        "deletion_protection": True,
        "auto_minor_version_upgrade": True,
        "port": 5432,
        "endpoint": {"address": f"{name}.example.rds.amazonaws.com", "port": 5432},
    }
    base.update(config)
    tags = base.pop("tags", None)
    rels = base.pop("relationships", None)
    unavailable = base.pop("unavailable", None)
    return res(
        "aws_db_instance",
        name,
        uid=f"arn:aws:rds:us-east-1:{ACCOUNT}:db:{name}",
        service="rds",
        config=base,
        tags=tags,
        relationships=rels,
        unavailable=unavailable,
    )
