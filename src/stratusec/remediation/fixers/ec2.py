"""EC2 and VPC: EBS encryption by default in a region, a public EBS snapshot made
private, world-open security group rules revoked (or narrowed to a trusted CIDR), and
IMDSv2 required on an instance."""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
from typing import Any

from stratusec.checks.aws.ec2 import ADMIN_PORTS, DATABASE_PORTS, WORLD_V4, WORLD_V6
from stratusec.inventory.models import Resource
from stratusec.remediation.model import ApiCall, FixerError, FixSpec
from stratusec.remediation.registry import Lookup, fixer

WORLD = (WORLD_V4, WORLD_V6)
_GONE_STATES = frozenset({"terminated", "shutting-down"})


def _partition(res: Resource) -> str:
    parts = res.uid.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


def _arn(res: Resource, kind: str, ident: str, *, account: bool = True) -> str:
    """The IAM resource ARN of an EC2 resource (snapshots have no account in theirs)."""
    acct = res.account if account else ""
    return f"arn:{_partition(res)}:ec2:{res.region}:{acct}:{kind}/{ident}"


# -- EBS encryption by default -------------------------------------------------------------


@fixer(
    "ec2_ebs_default_encryption",
    id="ec2_ebs_default_encryption",
    title="Turn on EBS encryption by default in a region",
)
def ebs_default_encryption(
    res: Resource, _f: dict[str, Any], _o: dict[str, Any], _lookup: Lookup
) -> FixSpec:
    region = res.region
    if "enabled" in res.unavailable or res.config.get("enabled") is None:
        raise FixerError(
            f"EBS encryption by default in {region} could not be read "
            "(ec2:GetEbsEncryptionByDefault); scan again with that permission"
        )
    if res.config.get("enabled"):
        raise FixerError(f"EBS encryption by default is already on in {region}; scan again")
    key = res.config.get("default_kms_key_id") or "alias/aws/ebs"
    return FixSpec(
        title=f"Encrypt every new EBS volume in {region} by default",
        calls=[
            ApiCall(
                "ec2",
                "enable_ebs_encryption_by_default",
                {},
                f"encrypt every new volume and snapshot copy in {region}",
                region=region,
            )
        ],
        rollback=[
            ApiCall(
                "ec2",
                "disable_ebs_encryption_by_default",
                {},
                f"turn the default off again in {region}",
                region=region,
            )
        ],
        after={"enabled": True},
        terraform=(
            f"# provider alias for {region}\n"
            'resource "aws_ebs_encryption_by_default" "this" {\n'
            f"  provider = aws.{region.replace('-', '_')}\n  enabled  = true\n}}\n"
        ),
        watch=["enabled"],
        notes=[
            f"New volumes in {region} are encrypted with the default key {key}; existing "
            "volumes and snapshots stay as they are.",
            "Principals that launch instances from encrypted volumes need to be allowed to "
            "use that key (the AWS managed aws/ebs key allows every principal of the account).",
        ],
    )


# -- EBS snapshot sharing ------------------------------------------------------------------


@fixer(
    "ec2_ebs_snapshot_not_public",
    id="ec2_ebs_snapshot_private",
    title="Make a public EBS snapshot private",
)
def snapshot_private(
    res: Resource, _f: dict[str, Any], _o: dict[str, Any], _lookup: Lookup
) -> FixSpec:
    sid = str(res.config.get("id") or res.name)
    perms = res.config.get("create_volume_permissions")
    if "create_volume_permissions" in res.unavailable or perms is None:
        raise FixerError(
            f"the sharing permissions of snapshot {sid} could not be read "
            "(ec2:DescribeSnapshotAttribute); scan again with that permission"
        )
    if not any(p.get("group") == "all" for p in perms):
        raise FixerError(f"snapshot {sid} is not public any more; scan again")
    arn = _arn(res, "snapshot", sid, account=False)
    shared = list(res.config.get("shared_with_accounts") or [])
    params = {
        "SnapshotId": sid,
        "Attribute": "createVolumePermission",
        "GroupNames": ["all"],
    }
    notes = ["Anyone who restores volumes from this snapshot through its public listing loses it."]
    if shared:
        notes.append(
            f"It stays shared with account(s) {', '.join(shared)}: review those separately."
        )
    notes.append(
        "Guard the whole region with EC2 > Data protection > Block public access for "
        "snapshots (aws ec2 enable-snapshot-block-public-access --state block-all-sharing)."
    )
    return FixSpec(
        title=f"Make EBS snapshot {sid} private",
        calls=[
            ApiCall(
                "ec2",
                "modify_snapshot_attribute",
                {**params, "OperationType": "remove"},
                "remove the public (group 'all') create-volume permission",
                resource_arn=arn,
            )
        ],
        rollback=[
            ApiCall(
                "ec2",
                "modify_snapshot_attribute",
                {**params, "OperationType": "add"},
                "make the snapshot public again",
                resource_arn=arn,
            )
        ],
        after={
            "create_volume_permissions": [p for p in perms if p.get("group") != "all"],
            "public": False,
            "shared_with_accounts": shared,
        },
        terraform=(
            f"# Snapshot {sid}: Terraform does not manage the public flag of an existing\n"
            "# snapshot (remove it with the call above); block public sharing region-wide:\n"
            'resource "aws_ebs_snapshot_block_public_access" "this" {\n'
            '  state = "block-all-sharing"\n}\n'
        ),
        watch=["create_volume_permissions"],
        notes=notes,
    )


# -- security groups -----------------------------------------------------------------------

_SG_CHECKS = {
    "ec2_sg_no_ipv4_admin_port_ingress": "SSH/RDP from 0.0.0.0/0",
    "ec2_sg_no_ipv6_admin_port_ingress": "SSH/RDP from ::/0",
    "ec2_sg_no_world_ingress_database_ports": "database ports from the internet",
    "ec2_sg_no_world_ingress_all_ports": "all ports from the internet",
}


def _covers(rule: dict[str, Any], ports: list[int]) -> bool:
    """Whether a normalized rule admits one of ``ports`` over TCP (all traffic counts)."""
    proto = str(rule.get("protocol"))
    if proto == "-1":
        return True
    if proto != "tcp":
        return False
    lo, hi = rule.get("from_port"), rule.get("to_port")
    if lo is None or hi is None:
        return True
    return any(int(lo) <= p <= int(hi) for p in ports)


def _all_ports(rule: dict[str, Any]) -> bool:
    proto = str(rule.get("protocol"))
    if proto == "-1":
        return True
    if proto not in ("tcp", "udp"):
        return False
    lo, hi = rule.get("from_port"), rule.get("to_port")
    return lo is None or hi is None or (int(lo) <= 0 and int(hi) >= 65535)


def _flagged(check_id: str, rule: dict[str, Any], cidr: str, ev_ports: list[int] | None) -> bool:
    """Whether the check flags ``rule`` for ``cidr`` (the finding's ports when it names
    them)."""
    if check_id == "ec2_sg_no_ipv4_admin_port_ingress":
        return cidr == WORLD_V4 and _covers(rule, ev_ports or list(ADMIN_PORTS))
    if check_id == "ec2_sg_no_ipv6_admin_port_ingress":
        return cidr == WORLD_V6 and _covers(rule, ev_ports or list(ADMIN_PORTS))
    if check_id == "ec2_sg_no_world_ingress_database_ports":
        return cidr in WORLD and _covers(rule, ev_ports or list(DATABASE_PORTS))
    return cidr in WORLD and _all_ports(rule)


def _evidence(finding: dict[str, Any]) -> tuple[set[str] | None, list[int] | None]:
    """(CIDRs, ports) the finding names, when its evidence lists them."""
    ev = finding.get("evidence") or {}
    items = ev.get("open_ports") or ev.get("rules")
    if not isinstance(items, list) or not items:
        return None, None
    cidrs = {str(i["cidr"]) for i in items if isinstance(i, dict) and i.get("cidr")}
    ports = [int(i["port"]) for i in items if isinstance(i, dict) and i.get("port") is not None]
    return cidrs or None, ports or None


def _parse_cidr(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FixerError(
            f"option cidr must be a CIDR block such as 203.0.113.0/24 or 2001:db8::/48; "
            f"got {value!r}"
        )
    text = value.strip()
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = f" (did you mean {ipaddress.ip_network(text, strict=False)}?)"
        raise FixerError(f"option cidr {text!r} is not a valid CIDR block: {exc}{hint}") from None
    if net.prefixlen == 0:
        raise FixerError(
            f"option cidr {net} is the whole internet and would not narrow anything: "
            "give the trusted range that needs access (e.g. your VPN's egress CIDR)"
        )
    return str(net)


def _base(perm: dict[str, Any]) -> dict[str, Any]:
    """Protocol and ports of an IpPermission, as the API wants them back."""
    out: dict[str, Any] = {"IpProtocol": perm.get("IpProtocol")}
    if str(perm.get("IpProtocol")) not in ("-1", "all"):
        for k in ("FromPort", "ToPort"):
            if perm.get(k) is not None:
                out[k] = perm[k]
    return out


def _key(perm: dict[str, Any]) -> str:
    return json.dumps(_base(perm), sort_keys=True)


def _range(cidr: str, description: str | None = None) -> tuple[str, dict[str, Any]]:
    field = "Ipv6Ranges" if ":" in cidr else "IpRanges"
    item: dict[str, Any] = {"CidrIpv6" if ":" in cidr else "CidrIp": cidr}
    if description:
        item["Description"] = description
    return field, item


def _permission(base: dict[str, Any], ranges: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    out = dict(base)
    for field, item in ranges:
        out.setdefault(field, []).append(item)
    return out


def _cidr_of(item: dict[str, Any]) -> str | None:
    return item.get("CidrIp") or item.get("CidrIpv6")


def _descriptions(perm: dict[str, Any]) -> str | None:
    out: list[str] = []
    for field in ("IpRanges", "Ipv6Ranges", "UserIdGroupPairs", "PrefixListIds"):
        for item in perm.get(field) or []:
            d = item.get("Description")
            if d and d not in out:
                out.append(d)
    return "; ".join(out) or None


def _expected_ingress(
    perms: list[dict[str, Any]],
    rules: list[dict[str, Any]],
    revoke: list[dict[str, Any]],
    authorize: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The collector's ``ingress`` after the calls: authorized ranges join the permission
    with the same protocol and ports (as EC2 describes them), revoked ranges leave it, and
    a permission with no source left disappears."""
    state = [(copy.deepcopy(p), dict(r)) for p, r in zip(perms, rules, strict=True)]
    template = {_key(p): r for p, r in zip(perms, rules, strict=True)}
    for add in authorize:
        k = _key(add)
        target = next((p for p, _ in state if _key(p) == k), None)
        if target is None:
            rule = {
                **template[k],
                "security_groups": [],
                "self": False,
                "prefix_list_ids": [],
            }
            state.append(({**_base(add)}, rule))
            target = state[-1][0]
        for field in ("IpRanges", "Ipv6Ranges"):
            target.setdefault(field, []).extend(copy.deepcopy(add.get(field) or []))
    for rm in revoke:
        k = _key(rm)
        for p, _ in state:
            if _key(p) != k:
                continue
            for field in ("IpRanges", "Ipv6Ranges"):
                gone = {_cidr_of(i) for i in rm.get(field) or []}
                if field in p:
                    p[field] = [i for i in p[field] if _cidr_of(i) not in gone]
    out = []
    for p, rule in state:
        if not any(
            p.get(f) for f in ("IpRanges", "Ipv6Ranges", "UserIdGroupPairs", "PrefixListIds")
        ):
            continue
        out.append(
            {
                **rule,
                "cidr_blocks": [i["CidrIp"] for i in p.get("IpRanges") or [] if i.get("CidrIp")],
                "ipv6_cidr_blocks": [
                    i["CidrIpv6"] for i in p.get("Ipv6Ranges") or [] if i.get("CidrIpv6")
                ],
                "description": _descriptions(p),
            }
        )
    return out


def _ports_text(perm: dict[str, Any]) -> str:
    proto = str(perm.get("IpProtocol"))
    if proto in ("-1", "all"):
        return "all traffic"
    lo, hi = perm.get("FromPort"), perm.get("ToPort")
    name = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}.get(proto, proto)
    if lo is None or hi is None:
        return f"{name.upper()} all ports"
    return f"{name.upper()} {lo}" if lo == hi else f"{name.upper()} {lo}-{hi}"


def _users(gid: str, lookup: Lookup) -> list[str]:
    """Instances, network interfaces (other than those instances' own) and DB instances
    the scan saw using the group."""
    out: list[str] = []
    instances: set[str] = set()
    for r in lookup("aws_instance"):
        iid = str(r.config.get("id"))
        if (
            gid in (r.config.get("vpc_security_group_ids") or [])
            and r.config.get("state") not in _GONE_STATES
        ):
            instances.add(iid)
            out.append(f"instance {r.name}" + (f" ({iid})" if r.name != iid else ""))
    for r in lookup("aws_network_interface"):
        att = (r.config.get("attachment") or {}).get("instance")
        if gid in (r.config.get("security_groups") or []) and att not in instances:
            kind = r.config.get("interface_type") or "interface"
            where = f", on {att}" if att else ""
            out.append(f"network interface {r.config.get('id')} ({kind}{where})")
    for r in lookup("aws_db_instance"):
        if gid in (r.config.get("vpc_security_group_ids") or []):
            out.append(f"DB instance {r.name}")
    return out


def _tf_rule(gid: str, perm: dict[str, Any], cidr: str) -> str:
    proto = str(perm.get("IpProtocol"))
    label = f"{gid}_{proto}_{perm.get('FromPort', 'all')}".replace("-", "_")
    lines = [
        f'resource "aws_vpc_security_group_ingress_rule" "{label}" {{',
        f'  security_group_id = "{gid}"',
        f'  ip_protocol       = "{proto}"',
    ]
    if "FromPort" in perm:
        lines.append(f"  from_port         = {perm['FromPort']}")
    if "ToPort" in perm:
        lines.append(f"  to_port           = {perm['ToPort']}")
    lines.append(f'  {"cidr_ipv6" if ":" in cidr else "cidr_ipv4"}         = "{cidr}"')
    lines.append("}")
    return "\n".join(lines) + "\n"


@fixer(
    *_SG_CHECKS,
    id="ec2_sg_close_world_ingress",
    title="Revoke the world-open security group rule(s) a finding names, or narrow them to "
    "a trusted CIDR",
    options={
        "cidr": "narrow instead of revoke: allow the same ports from this CIDR only "
        "(e.g. 203.0.113.0/24; never 0.0.0.0/0 or ::/0)"
    },
)
def sg_close_world_ingress(
    res: Resource, finding: dict[str, Any], o: dict[str, Any], lookup: Lookup
) -> FixSpec:
    check_id = str(finding.get("check_id"))
    gid = str(res.config.get("id") or res.name)
    perms: list[dict[str, Any]] = list(res.config.get("ip_permissions") or [])
    rules: list[dict[str, Any]] = list(res.config.get("ingress") or [])
    if "ingress" in res.unavailable or len(perms) != len(rules):
        raise FixerError(f"the ingress rules of security group {gid} are incomplete; scan again")
    narrow = _parse_cidr(o["cidr"]) if o.get("cidr") is not None else None
    ev_cidrs, ev_ports = _evidence(finding)

    revoke: list[dict[str, Any]] = []
    restore: list[dict[str, Any]] = []
    authorize: list[dict[str, Any]] = []
    seen: set[str] = set()
    closed: list[str] = []
    wider: list[str] = []
    for perm, rule in zip(perms, rules, strict=True):
        hits = [
            item
            for field in ("IpRanges", "Ipv6Ranges")
            for item in perm.get(field) or []
            if _cidr_of(item) in WORLD
            and (ev_cidrs is None or _cidr_of(item) in ev_cidrs)
            and _flagged(check_id, rule, str(_cidr_of(item)), ev_ports)
        ]
        if not hits:
            continue
        base = _base(perm)
        cidrs = [str(_cidr_of(i)) for i in hits]
        revoke.append(_permission(base, [_range(c) for c in cidrs]))
        restore.append(
            _permission(base, [_range(str(_cidr_of(i)), i.get("Description")) for i in hits])
        )
        text = _ports_text(perm)
        closed.append(f"{text} from {', '.join(cidrs)}")
        if check_id != "ec2_sg_no_world_ingress_all_ports" and (
            str(rule.get("protocol")) == "-1"
            or _all_ports(rule)
            or rule.get("from_port") != rule.get("to_port")
        ):
            wider.append(text)
        if narrow and _key(perm) not in seen:
            seen.add(_key(perm))
            present = any(
                _key(p) == _key(perm)
                and narrow
                in [_cidr_of(i) for f in ("IpRanges", "Ipv6Ranges") for i in p.get(f) or []]
                for p in perms
            )
            if not present:
                authorize.append(
                    _permission(base, [_range(narrow, "narrowed from the internet by stratusec")])
                )
    if not revoke:
        raise FixerError(
            f"security group {gid} has no rule open to the internet for "
            f"{_SG_CHECKS.get(check_id, check_id)} any more; scan again"
        )

    arn = res.uid
    calls: list[ApiCall] = []
    rollback: list[ApiCall] = []
    if authorize:
        calls.append(
            ApiCall(
                "ec2",
                "authorize_security_group_ingress",
                {"GroupId": gid, "IpPermissions": authorize},
                f"allow the same ports from {narrow} only (added before the world-open "
                "rules go, so trusted clients keep access)",
                resource_arn=arn,
            )
        )
    calls.append(
        ApiCall(
            "ec2",
            "revoke_security_group_ingress",
            {"GroupId": gid, "IpPermissions": revoke},
            f"revoke {'; '.join(closed)}",
            resource_arn=arn,
        )
    )
    rollback.append(
        ApiCall(
            "ec2",
            "authorize_security_group_ingress",
            {"GroupId": gid, "IpPermissions": restore},
            "restore the world-open rule(s) with their descriptions",
            resource_arn=arn,
        )
    )
    if authorize:
        rollback.append(
            ApiCall(
                "ec2",
                "revoke_security_group_ingress",
                {"GroupId": gid, "IpPermissions": authorize},
                f"remove the rules for {narrow} that the fix added",
                resource_arn=arn,
            )
        )

    label = f"{res.name} ({gid})" if res.name != gid else gid
    users = _users(gid, lookup)
    notes = []
    if users:
        shown = ", ".join(users[:20]) + (f" and {len(users) - 20} more" if len(users) > 20 else "")
        notes.append(
            f"The group is used by {shown}: clients outside "
            f"{narrow or 'the remaining sources'} lose access to them on these ports."
        )
    else:
        notes.append("The scan saw no instance, network interface or DB instance using the group.")
    if wider:
        notes.append(
            f"The rule(s) {', '.join(dict.fromkeys(wider))} cover more than the flagged ports: "
            + (
                "the narrowed rules keep the same ports for the CIDR."
                if narrow
                else "every port they open is closed to the internet."
            )
        )
    tf = (
        f"# security group {gid}: delete the ingress rule(s) {'; '.join(closed)}\n"
        "# (an ingress block of aws_security_group, or an aws_vpc_security_group_ingress_rule)\n"
    )
    for perm in authorize:
        tf += _tf_rule(gid, perm, str(narrow))
    return FixSpec(
        title=(
            f"Narrow {label}'s world-open rule(s) to {narrow}"
            if narrow
            else f"Revoke {label}'s world-open rule(s): {'; '.join(closed)}"
        ),
        calls=calls,
        rollback=rollback,
        after={"ingress": _expected_ingress(perms, rules, revoke, authorize)},
        terraform=tf,
        watch=["ip_permissions"],
        notes=notes,
    )


# -- IMDSv2 --------------------------------------------------------------------------------


def _hop_limit(value: Any) -> int | None:
    if value is None:
        return None
    n = -1
    if not isinstance(value, bool):
        try:
            n = int(str(value).strip())
        except ValueError:
            n = -1
    if not 1 <= n <= 64:
        raise FixerError(f"option hop_limit must be a whole number from 1 to 64; got {value!r}")
    return n


@fixer(
    "ec2_instance_imdsv2_required",
    id="ec2_instance_imdsv2_required",
    title="Require IMDSv2 (session tokens) for an instance's metadata service",
    options={
        "hop_limit": "PUT response hop limit, 1-64 (default: keep the current one; use 2 "
        "for containers on the instance that read the metadata service)"
    },
)
def imdsv2(res: Resource, _f: dict[str, Any], o: dict[str, Any], _lookup: Lookup) -> FixSpec:
    iid = str(res.config.get("instance_id") or res.config.get("id") or res.name)
    if res.config.get("state") in _GONE_STATES:
        raise FixerError(f"instance {iid} is {res.config.get('state')}")
    before = res.config.get("metadata_options")
    if not isinstance(before, dict) or "metadata_options" in res.unavailable:
        raise FixerError(f"the metadata options of instance {iid} are missing; scan again")
    if before.get("http_tokens") == "required" and before.get("http_endpoint") != "disabled":
        raise FixerError(f"instance {iid} already requires IMDSv2; scan again")
    hop = _hop_limit(o.get("hop_limit"))
    label = iid if res.name == iid else f"{res.name} ({iid})"
    if hop is None:
        hop = before.get("http_put_response_hop_limit")
    params: dict[str, Any] = {
        "InstanceId": iid,
        "HttpTokens": "required",
        "HttpEndpoint": "enabled",
    }
    back: dict[str, Any] = {
        "InstanceId": iid,
        "HttpTokens": before.get("http_tokens") or "optional",
        "HttpEndpoint": before.get("http_endpoint") or "enabled",
    }
    # Name every current setting: the call then changes only the token requirement (and
    # the hop limit when asked), whatever defaults an implementation applies.
    for key, api, value in (
        ("http_put_response_hop_limit", "HttpPutResponseHopLimit", hop),
        ("http_protocol_ipv6", "HttpProtocolIpv6", before.get("http_protocol_ipv6")),
        ("instance_metadata_tags", "InstanceMetadataTags", before.get("instance_metadata_tags")),
    ):
        if value is not None:
            params[api] = value
        if before.get(key) is not None:
            back[api] = before[key]
    arn = _arn(res, "instance", iid)
    profile = res.config.get("iam_instance_profile")
    notes = [
        "Software on the instance that still uses IMDSv1 (AWS SDKs and CLIs older than "
        "2019-11, some agents) can no longer read the metadata service or the instance "
        "role's credentials; check the CloudWatch metric MetadataNoToken first.",
    ]
    if profile:
        notes.append(f"Protects the credentials of instance profile {profile} from SSRF.")
    if hop == 1:
        notes.append(
            "Hop limit 1: containers in bridge networking on the instance cannot reach the "
            "metadata service; use option hop_limit=2 if they need to."
        )
    return FixSpec(
        title=f"Require IMDSv2 on instance {label}",
        calls=[
            ApiCall(
                "ec2",
                "modify_instance_metadata_options",
                params,
                "require session tokens for every metadata request",
                resource_arn=arn,
            )
        ],
        rollback=[
            ApiCall(
                "ec2",
                "modify_instance_metadata_options",
                back,
                f"set the metadata options back (tokens {back['HttpTokens']})",
                resource_arn=arn,
            )
        ],
        after={
            "metadata_options": {
                **before,
                "http_tokens": "required",
                "http_endpoint": "enabled",
                "http_put_response_hop_limit": hop,
                "state": "applied",
            }
        },
        terraform=(
            f"# instance {iid}\n"
            'resource "aws_instance" "this" {\n  # ...\n  metadata_options {\n'
            '    http_endpoint               = "enabled"\n'
            '    http_tokens                 = "required"\n'
            + (f"    http_put_response_hop_limit = {hop}\n" if hop is not None else "")
            + "  }\n}\n"
        ),
        watch=["metadata_options"],
        notes=notes,
    )
