"""EC2 and VPC, per region: network placement (VPCs, subnets, route tables, gateways,
security groups, network ACLs, ENIs, elastic IPs, flow logs), compute (instances) and
block storage (volumes, snapshots, encryption-by-default).

Uids are ARNs of the form ``arn:aws:ec2:REGION:ACCOUNT:<kind>/<id>``. Snapshots use the
account-id form too (AWS itself writes ``arn:aws:ec2:REGION::snapshot/snap-...``) so that
uids stay unique across accounts in one inventory.

Security-group and network-ACL rules are normalized for checks: ``protocol`` is ``tcp``,
``udp``, ``icmp``, ``icmpv6``, ``-1`` (all traffic) or another protocol number as a
string; when a rule covers all traffic and AWS gives no port range, ``from_port`` is 0
and ``to_port`` 65535 (every port). The raw API shapes are kept alongside for
remediation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import ec2_arn, key_ref_uid

SERVICE = "ec2"
GLOBAL = False

_WORLD = ("0.0.0.0/0", "::/0")
_PROTOCOLS = {"-1": "-1", "all": "-1", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
_DETAIL_BATCH = 100  # snapshots per ctx.map batch: bounds memory on large accounts


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    ec2 = ctx.client()

    # Indexes first (small: one entry per flow log / route table / SG rule), then every
    # resource kind is streamed page by page.
    flow_logs = ctx.listing(ec2, "describe_flow_logs", "FlowLogs")
    by_resource: dict[str, list[dict[str, Any]]] = {}
    for fl in flow_logs.items:
        yield _flow_log(ctx, fl)
        by_resource.setdefault(str(fl.get("ResourceId")), []).append(_flow_log_summary(fl))
    flow_logs_ok = flow_logs.ok
    del flow_logs

    for vpc in ctx.pages(ec2, "describe_vpcs", "Vpcs"):
        yield _vpc(ctx, vpc, by_resource if flow_logs_ok else None)

    routing = _Routing()
    route_tables = ctx.listing(ec2, "describe_route_tables", "RouteTables")
    for rt in route_tables.items:
        routing.add(rt)
        yield _route_table(ctx, rt)
    routing.ok = route_tables.ok
    del route_tables

    for subnet in ctx.pages(ec2, "describe_subnets", "Subnets"):
        yield _subnet(ctx, subnet, routing)
    del routing

    for igw in ctx.pages(ec2, "describe_internet_gateways", "InternetGateways"):
        yield _internet_gateway(ctx, igw)
    for nat in ctx.pages(ec2, "describe_nat_gateways", "NatGateways"):
        yield _nat_gateway(ctx, nat)

    sg_rules = ctx.listing(ec2, "describe_security_group_rules", "SecurityGroupRules")
    rules_by_group: dict[str, list[dict[str, Any]]] = {}
    for rule in sg_rules.items:
        rules_by_group.setdefault(str(rule.get("GroupId")), []).append(rule)
    sg_rules_ok = sg_rules.ok
    del sg_rules
    for sg in ctx.pages(ec2, "describe_security_groups", "SecurityGroups"):
        yield _security_group(ctx, sg, rules_by_group if sg_rules_ok else None)
    del rules_by_group

    for acl in ctx.pages(ec2, "describe_network_acls", "NetworkAcls"):
        yield _network_acl(ctx, acl)

    for reservation in ctx.pages(ec2, "describe_instances", "Reservations"):
        for inst in reservation.get("Instances") or []:
            yield _instance(ctx, inst, reservation)

    for eni in ctx.pages(ec2, "describe_network_interfaces", "NetworkInterfaces"):
        yield _network_interface(ctx, eni)

    for vol in ctx.pages(ec2, "describe_volumes", "Volumes"):
        yield _volume(ctx, vol)

    def describe_snapshot(snap: dict[str, Any]) -> Resource:
        return _snapshot(ctx, ec2, snap)

    # OwnerIds=["self"] is what AWS needs; the owner-id filter says the same thing for
    # emulators that ignore OwnerIds (moto), and the check below guards both.
    snapshots = (
        s
        for s in ctx.pages(
            ec2,
            "describe_snapshots",
            "Snapshots",
            OwnerIds=["self"],
            Filters=[{"Name": "owner-id", "Values": [ctx.account_id]}],
        )
        if s.get("OwnerId") in (None, ctx.account_id)
    )
    while batch := list(itertools.islice(snapshots, _DETAIL_BATCH)):
        yield from ctx.map(describe_snapshot, batch)

    for addr in ctx.pages(ec2, "describe_addresses", "Addresses"):
        yield _eip(ctx, addr)

    yield _encryption_by_default(ctx, ec2)


# -- helpers ---------------------------------------------------------------------------


def _tags(item: dict[str, Any]) -> dict[str, str]:
    return tags_from_list(item.get("Tags") or [])


def _name(tags: dict[str, str], default: str) -> str:
    return tags.get("Name") or default


def _protocol(value: Any) -> str:
    p = str(value if value is not None else "-1").lower()
    return _PROTOCOLS.get(p, p)


def _ports(protocol: str, from_port: Any, to_port: Any) -> tuple[int | None, int | None]:
    if protocol == "-1" and from_port in (None, -1) and to_port in (None, -1):
        return 0, 65535
    return from_port, to_port


# -- flow logs and VPCs -----------------------------------------------------------------


def _flow_log_destination(ctx: CollectorContext, fl: dict[str, Any]) -> str | None:
    dest = fl.get("LogDestination")
    if isinstance(dest, str) and dest.startswith("arn:"):
        return dest
    group = fl.get("LogGroupName")
    if group and fl.get("LogDestinationType", "cloud-watch-logs") == "cloud-watch-logs":
        return ctx.arn("logs", f"log-group:{group}")
    return None


def _flow_log_summary(fl: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": fl.get("FlowLogId"),
        "status": fl.get("FlowLogStatus"),
        "traffic_type": fl.get("TrafficType"),
        "destination_type": fl.get("LogDestinationType"),
        "destination": fl.get("LogDestination") or fl.get("LogGroupName"),
        "deliver_logs_status": fl.get("DeliverLogsStatus"),
    }


def _flow_log(ctx: CollectorContext, fl: dict[str, Any]) -> Resource:
    fid = str(fl.get("FlowLogId"))
    tags = _tags(fl)
    rid = str(fl.get("ResourceId") or "")
    dest = _flow_log_destination(ctx, fl)
    res = ctx.resource(
        uid=ctx.arn("ec2", f"vpc-flow-log/{fid}"),
        type="aws_flow_log",
        name=_name(tags, fid),
        tags=tags,
        config={
            "id": fid,
            "resource_id": rid or None,
            "vpc_id": rid if rid.startswith("vpc-") else None,
            "subnet_id": rid if rid.startswith("subnet-") else None,
            "eni_id": rid if rid.startswith("eni-") else None,
            "traffic_type": fl.get("TrafficType"),
            "log_destination_type": fl.get("LogDestinationType"),
            "log_destination": fl.get("LogDestination") or dest,
            "log_group_name": fl.get("LogGroupName"),
            "iam_role_arn": fl.get("DeliverLogsPermissionArn"),
            "deliver_cross_account_role": fl.get("DeliverCrossAccountRole"),
            "log_format": fl.get("LogFormat"),
            "max_aggregation_interval": fl.get("MaxAggregationInterval"),
            "destination_options": fl.get("DestinationOptions"),
            "flow_log_status": fl.get("FlowLogStatus"),
            "deliver_logs_status": fl.get("DeliverLogsStatus"),
            "deliver_logs_error_message": fl.get("DeliverLogsErrorMessage"),
            "creation_time": fl.get("CreationTime"),
        },
        raw={"FlowLog": fl},
    )
    res.relate("LOGS_TO", dest)
    return res


def _vpc(
    ctx: CollectorContext, vpc: dict[str, Any], flow_logs: dict[str, list[dict[str, Any]]] | None
) -> Resource:
    vid = str(vpc.get("VpcId"))
    tags = _tags(vpc)
    ipv6 = [a.get("Ipv6CidrBlock") for a in vpc.get("Ipv6CidrBlockAssociationSet") or []]
    logs = None if flow_logs is None else flow_logs.get(vid, [])
    return ctx.resource(
        uid=ctx.arn("ec2", f"vpc/{vid}"),
        type="aws_vpc",
        name=_name(tags, vid),
        tags=tags,
        config={
            "id": vid,
            "cidr_block": vpc.get("CidrBlock"),
            "cidr_blocks": [a.get("CidrBlock") for a in vpc.get("CidrBlockAssociationSet") or []],
            "ipv6_cidr_block": ipv6[0] if ipv6 else None,
            "ipv6_cidr_blocks": ipv6,
            "is_default": bool(vpc.get("IsDefault")),
            "instance_tenancy": vpc.get("InstanceTenancy"),
            "dhcp_options_id": vpc.get("DhcpOptionsId"),
            "state": vpc.get("State"),
            "owner_id": vpc.get("OwnerId"),
            "flow_logs": logs,
            "flow_logs_enabled": None if logs is None else bool(logs),
        },
        raw={"Vpc": vpc},
        unavailable=["flow_logs", "flow_logs_enabled"] if logs is None else [],
    )


# -- routing --------------------------------------------------------------------------


def _route_destination(route: dict[str, Any]) -> str | None:
    return (
        route.get("DestinationCidrBlock")
        or route.get("DestinationIpv6CidrBlock")
        or route.get("DestinationPrefixListId")
    )


_TARGET_KEYS = (
    ("GatewayId", "gateway_id"),
    ("NatGatewayId", "nat_gateway_id"),
    ("InstanceId", "instance_id"),
    ("NetworkInterfaceId", "network_interface_id"),
    ("TransitGatewayId", "transit_gateway_id"),
    ("VpcPeeringConnectionId", "vpc_peering_connection_id"),
    ("EgressOnlyInternetGatewayId", "egress_only_gateway_id"),
    ("LocalGatewayId", "local_gateway_id"),
    ("CarrierGatewayId", "carrier_gateway_id"),
    ("CoreNetworkArn", "core_network_arn"),
)


def _route(route: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "destination": _route_destination(route),
        "cidr_block": route.get("DestinationCidrBlock"),
        "ipv6_cidr_block": route.get("DestinationIpv6CidrBlock"),
        "destination_prefix_list_id": route.get("DestinationPrefixListId"),
    }
    target = None
    for api_key, tf_key in _TARGET_KEYS:
        out[tf_key] = route.get(api_key)
        if target is None and route.get(api_key):
            target = route.get(api_key)
    out["target"] = target
    out["state"] = route.get("State")
    out["origin"] = route.get("Origin")
    return out


def _is_internet_route(route: dict[str, Any]) -> bool:
    return (
        _route_destination(route) in _WORLD
        and str(route.get("GatewayId") or "").startswith("igw-")
        and route.get("State") != "blackhole"
    )


class _Routing:
    """Which route table applies to each subnet, and which tables reach the internet."""

    def __init__(self) -> None:
        self.ok = True
        self.explicit: dict[str, str] = {}  # subnet id -> route table id
        self.main: dict[str, str] = {}  # vpc id -> main route table id
        self.internet: set[str] = set()  # route table ids with a default route to an IGW

    def add(self, rt: dict[str, Any]) -> None:
        rid = str(rt.get("RouteTableId"))
        for assoc in rt.get("Associations") or []:
            state = (assoc.get("AssociationState") or {}).get("State", "associated")
            if state != "associated":
                continue
            if assoc.get("Main"):
                self.main[str(rt.get("VpcId"))] = rid
            elif assoc.get("SubnetId"):
                self.explicit[str(assoc["SubnetId"])] = rid
        if any(_is_internet_route(r) for r in rt.get("Routes") or []):
            self.internet.add(rid)

    def route_table_for(self, subnet_id: str, vpc_id: str) -> str | None:
        return self.explicit.get(subnet_id) or self.main.get(vpc_id)


def _route_table(ctx: CollectorContext, rt: dict[str, Any]) -> Resource:
    rid = str(rt.get("RouteTableId"))
    tags = _tags(rt)
    routes = [_route(r) for r in rt.get("Routes") or []]
    assocs = [
        {
            "id": a.get("RouteTableAssociationId"),
            "subnet_id": a.get("SubnetId"),
            "gateway_id": a.get("GatewayId"),
            "main": bool(a.get("Main")),
            "state": (a.get("AssociationState") or {}).get("State"),
        }
        for a in rt.get("Associations") or []
    ]
    res = ctx.resource(
        uid=ctx.arn("ec2", f"route-table/{rid}"),
        type="aws_route_table",
        name=_name(tags, rid),
        tags=tags,
        config={
            "id": rid,
            "vpc_id": rt.get("VpcId"),
            "owner_id": rt.get("OwnerId"),
            "main": any(a["main"] for a in assocs),
            "route": routes,
            "associations": assocs,
            "subnet_ids": [a["subnet_id"] for a in assocs if a["subnet_id"]],
            "propagating_vgws": [p.get("GatewayId") for p in rt.get("PropagatingVgws") or []],
            "routes_to_internet_gateway": any(
                _is_internet_route(r) for r in rt.get("Routes") or []
            ),
        },
        raw={"RouteTable": rt},
    )
    res.relate("IN_VPC", ec2_arn(ctx, "vpc", rt.get("VpcId")))
    for a in assocs:
        if a["subnet_id"] and a["state"] in (None, "associated"):
            res.relate("ASSOCIATED_WITH", ec2_arn(ctx, "subnet", a["subnet_id"]))
    for r in routes:
        if r["state"] == "blackhole":
            continue
        gw = str(r["gateway_id"] or "")
        if gw.startswith("igw-"):
            res.relate(
                "ROUTES_TO", ec2_arn(ctx, "internet-gateway", gw), destination=r["destination"]
            )
        if r["nat_gateway_id"]:
            res.relate(
                "ROUTES_TO",
                ec2_arn(ctx, "natgateway", r["nat_gateway_id"]),
                destination=r["destination"],
            )
    return res


def _subnet(ctx: CollectorContext, subnet: dict[str, Any], routing: _Routing) -> Resource:
    sid = str(subnet.get("SubnetId"))
    vpc_id = str(subnet.get("VpcId"))
    tags = _tags(subnet)
    rt_id = routing.route_table_for(sid, vpc_id) if routing.ok else None
    public: bool | None = (rt_id in routing.internet) if routing.ok else None
    ipv6 = [a.get("Ipv6CidrBlock") for a in subnet.get("Ipv6CidrBlockAssociationSet") or []]
    res = ctx.resource(
        uid=subnet.get("SubnetArn") or ctx.arn("ec2", f"subnet/{sid}"),
        type="aws_subnet",
        name=_name(tags, sid),
        tags=tags,
        config={
            "id": sid,
            "vpc_id": vpc_id,
            "cidr_block": subnet.get("CidrBlock"),
            "ipv6_cidr_block": ipv6[0] if ipv6 else None,
            "availability_zone": subnet.get("AvailabilityZone"),
            "availability_zone_id": subnet.get("AvailabilityZoneId"),
            "map_public_ip_on_launch": bool(subnet.get("MapPublicIpOnLaunch")),
            "assign_ipv6_address_on_creation": bool(subnet.get("AssignIpv6AddressOnCreation")),
            "default_for_az": bool(subnet.get("DefaultForAz")),
            "state": subnet.get("State"),
            "owner_id": subnet.get("OwnerId"),
            "route_table_id": rt_id,
            "route_table_explicit": (sid in routing.explicit) if routing.ok else None,
            "public": public,
        },
        raw={"Subnet": subnet},
        unavailable=[] if routing.ok else ["route_table_id", "route_table_explicit", "public"],
    )
    res.relate("IN_VPC", ctx.arn("ec2", f"vpc/{vpc_id}"))
    return res


def _internet_gateway(ctx: CollectorContext, igw: dict[str, Any]) -> Resource:
    gid = str(igw.get("InternetGatewayId"))
    tags = _tags(igw)
    attachments = [
        {"vpc_id": a.get("VpcId"), "state": a.get("State")} for a in igw.get("Attachments") or []
    ]
    res = ctx.resource(
        uid=ctx.arn("ec2", f"internet-gateway/{gid}"),
        type="aws_internet_gateway",
        name=_name(tags, gid),
        tags=tags,
        config={
            "id": gid,
            "vpc_id": attachments[0]["vpc_id"] if attachments else None,
            "attachments": attachments,
            "owner_id": igw.get("OwnerId"),
        },
        raw={"InternetGateway": igw},
    )
    for a in attachments:
        res.relate("ATTACHED_TO", ec2_arn(ctx, "vpc", a["vpc_id"]), state=a["state"])
    return res


def _nat_gateway(ctx: CollectorContext, nat: dict[str, Any]) -> Resource:
    nid = str(nat.get("NatGatewayId"))
    tags = _tags(nat)
    addrs = [
        {
            "allocation_id": a.get("AllocationId"),
            "network_interface_id": a.get("NetworkInterfaceId"),
            "private_ip": a.get("PrivateIp"),
            "public_ip": a.get("PublicIp"),
            "is_primary": a.get("IsPrimary"),
        }
        for a in nat.get("NatGatewayAddresses") or []
    ]
    primary = next((a for a in addrs if a["is_primary"] is not False), addrs[0] if addrs else {})
    res = ctx.resource(
        uid=ctx.arn("ec2", f"natgateway/{nid}"),
        type="aws_nat_gateway",
        name=_name(tags, nid),
        tags=tags,
        config={
            "id": nid,
            "subnet_id": nat.get("SubnetId"),
            "vpc_id": nat.get("VpcId"),
            "state": nat.get("State"),
            "connectivity_type": nat.get("ConnectivityType") or "public",
            "allocation_id": primary.get("allocation_id"),
            "network_interface_id": primary.get("network_interface_id"),
            "private_ip": primary.get("private_ip"),
            "public_ip": primary.get("public_ip"),
            "addresses": addrs,
            "create_time": nat.get("CreateTime"),
        },
        raw={"NatGateway": nat},
    )
    res.relate("IN_SUBNET", ec2_arn(ctx, "subnet", nat.get("SubnetId")))
    res.relate("IN_VPC", ec2_arn(ctx, "vpc", nat.get("VpcId")))
    return res


# -- security groups and network ACLs ----------------------------------------------------


def _sg_rule(ctx: CollectorContext, perm: dict[str, Any], group_id: str) -> dict[str, Any]:
    protocol = _protocol(perm.get("IpProtocol"))
    from_port, to_port = _ports(protocol, perm.get("FromPort"), perm.get("ToPort"))
    ranges = perm.get("IpRanges") or []
    ranges6 = perm.get("Ipv6Ranges") or []
    pairs = perm.get("UserIdGroupPairs") or []
    prefixes = perm.get("PrefixListIds") or []
    groups: list[str] = []
    for p in pairs:
        gid = p.get("GroupId") or p.get("GroupName")
        owner = p.get("UserId")
        groups.append(f"{owner}/{gid}" if owner and owner != ctx.account_id else str(gid))
    descriptions: list[str] = []
    for item in [*ranges, *ranges6, *pairs, *prefixes]:
        d = item.get("Description")
        if d and d not in descriptions:
            descriptions.append(d)
    return {
        "protocol": protocol,
        "from_port": from_port,
        "to_port": to_port,
        "cidr_blocks": [r.get("CidrIp") for r in ranges if r.get("CidrIp")],
        "ipv6_cidr_blocks": [r.get("CidrIpv6") for r in ranges6 if r.get("CidrIpv6")],
        "security_groups": [g for g in groups if g != group_id],
        "self": group_id in groups,
        "prefix_list_ids": [p.get("PrefixListId") for p in prefixes if p.get("PrefixListId")],
        "description": "; ".join(descriptions) or None,
    }


def _sg_rule_record(rule: dict[str, Any]) -> dict[str, Any]:
    protocol = _protocol(rule.get("IpProtocol"))
    from_port, to_port = _ports(protocol, rule.get("FromPort"), rule.get("ToPort"))
    ref = rule.get("ReferencedGroupInfo") or {}
    return {
        "security_group_rule_id": rule.get("SecurityGroupRuleId"),
        "is_egress": bool(rule.get("IsEgress")),
        "ip_protocol": protocol,
        "from_port": from_port,
        "to_port": to_port,
        "cidr_ipv4": rule.get("CidrIpv4"),
        "cidr_ipv6": rule.get("CidrIpv6"),
        "prefix_list_id": rule.get("PrefixListId"),
        "referenced_security_group_id": ref.get("GroupId"),
        "description": rule.get("Description"),
    }


def _security_group(
    ctx: CollectorContext, sg: dict[str, Any], rules: dict[str, list[dict[str, Any]]] | None
) -> Resource:
    gid = str(sg.get("GroupId"))
    tags = _tags(sg)
    ingress = [_sg_rule(ctx, p, gid) for p in sg.get("IpPermissions") or []]
    egress = [_sg_rule(ctx, p, gid) for p in sg.get("IpPermissionsEgress") or []]
    group_rules = None if rules is None else rules.get(gid, [])
    res = ctx.resource(
        uid=sg.get("SecurityGroupArn") or ctx.arn("ec2", f"security-group/{gid}"),
        type="aws_security_group",
        name=str(sg.get("GroupName") or gid),
        tags=tags,
        config={
            "id": gid,
            "name": sg.get("GroupName"),
            "description": sg.get("Description"),
            "vpc_id": sg.get("VpcId"),
            "owner_id": sg.get("OwnerId"),
            "is_default": sg.get("GroupName") == "default",
            "ingress": ingress,
            "egress": egress,
            "ip_permissions": sg.get("IpPermissions") or [],
            "ip_permissions_egress": sg.get("IpPermissionsEgress") or [],
            "security_group_rules": (
                None if group_rules is None else [_sg_rule_record(r) for r in group_rules]
            ),
        },
        raw={"SecurityGroup": sg, "SecurityGroupRules": group_rules or []},
        unavailable=["security_group_rules"] if group_rules is None else [],
    )
    res.relate("IN_VPC", ec2_arn(ctx, "vpc", sg.get("VpcId")))
    return res


def _acl_entry(entry: dict[str, Any]) -> dict[str, Any]:
    protocol = _protocol(entry.get("Protocol"))
    port_range = entry.get("PortRange") or {}
    from_port, to_port = _ports(protocol, port_range.get("From"), port_range.get("To"))
    icmp = entry.get("IcmpTypeCode") or {}
    return {
        "egress": bool(entry.get("Egress")),
        "rule_number": entry.get("RuleNumber"),
        "protocol": protocol,
        "rule_action": entry.get("RuleAction"),
        "cidr_block": entry.get("CidrBlock"),
        "ipv6_cidr_block": entry.get("Ipv6CidrBlock"),
        "from_port": from_port,
        "to_port": to_port,
        "icmp_type": icmp.get("Type"),
        "icmp_code": icmp.get("Code"),
    }


def _network_acl(ctx: CollectorContext, acl: dict[str, Any]) -> Resource:
    aid = str(acl.get("NetworkAclId"))
    tags = _tags(acl)
    entries = sorted(
        (_acl_entry(e) for e in acl.get("Entries") or []),
        key=lambda e: (e["egress"], e["rule_number"] or 0),
    )
    subnet_ids = [a.get("SubnetId") for a in acl.get("Associations") or [] if a.get("SubnetId")]
    res = ctx.resource(
        uid=ctx.arn("ec2", f"network-acl/{aid}"),
        type="aws_network_acl",
        name=_name(tags, aid),
        tags=tags,
        config={
            "id": aid,
            "vpc_id": acl.get("VpcId"),
            "owner_id": acl.get("OwnerId"),
            "default": bool(acl.get("IsDefault")),
            "subnet_ids": subnet_ids,
            "entries": entries,
            "ingress": [e for e in entries if not e["egress"]],
            "egress": [e for e in entries if e["egress"]],
        },
        raw={"NetworkAcl": acl},
    )
    res.relate("IN_VPC", ec2_arn(ctx, "vpc", acl.get("VpcId")))
    for sid in subnet_ids:
        res.relate("ATTACHED_TO", ec2_arn(ctx, "subnet", sid))
    return res


# -- compute and interfaces --------------------------------------------------------------


def _block_device(bd: dict[str, Any]) -> dict[str, Any]:
    ebs = bd.get("Ebs") or {}
    return {
        "device_name": bd.get("DeviceName"),
        "volume_id": ebs.get("VolumeId"),
        "delete_on_termination": ebs.get("DeleteOnTermination"),
        "status": ebs.get("Status"),
        "attach_time": ebs.get("AttachTime"),
    }


def _instance(ctx: CollectorContext, inst: dict[str, Any], reservation: dict[str, Any]) -> Resource:
    iid = str(inst.get("InstanceId"))
    tags = _tags(inst)
    profile = inst.get("IamInstanceProfile") or {}
    meta = inst.get("MetadataOptions") or {}
    devices = [_block_device(bd) for bd in inst.get("BlockDeviceMappings") or []]
    root_name = inst.get("RootDeviceName")
    groups = inst.get("SecurityGroups") or []
    placement = inst.get("Placement") or {}
    public_ip = inst.get("PublicIpAddress")
    res = ctx.resource(
        uid=ctx.arn("ec2", f"instance/{iid}"),
        type="aws_instance",
        name=_name(tags, iid),
        tags=tags,
        config={
            "id": iid,
            "instance_id": iid,
            "instance_type": inst.get("InstanceType"),
            "ami": inst.get("ImageId"),
            "state": (inst.get("State") or {}).get("Name"),
            "instance_state": (inst.get("State") or {}).get("Name"),
            "subnet_id": inst.get("SubnetId"),
            "vpc_id": inst.get("VpcId"),
            "availability_zone": placement.get("AvailabilityZone"),
            "tenancy": placement.get("Tenancy"),
            "private_ip": inst.get("PrivateIpAddress"),
            "private_dns": inst.get("PrivateDnsName"),
            "public_ip": public_ip,
            "public_dns": inst.get("PublicDnsName") or None,
            "associate_public_ip_address": bool(public_ip),
            "iam_instance_profile": profile.get("Arn"),
            "iam_instance_profile_id": profile.get("Id"),
            "metadata_options": {
                "http_tokens": meta.get("HttpTokens"),
                "http_endpoint": meta.get("HttpEndpoint"),
                "http_put_response_hop_limit": meta.get("HttpPutResponseHopLimit"),
                "http_protocol_ipv6": meta.get("HttpProtocolIpv6"),
                "instance_metadata_tags": meta.get("InstanceMetadataTags"),
                "state": meta.get("State"),
            },
            "monitoring": (inst.get("Monitoring") or {}).get("State") == "enabled",
            "ebs_optimized": bool(inst.get("EbsOptimized")),
            "root_device_name": root_name,
            "root_device_type": inst.get("RootDeviceType"),
            "root_block_device": [d for d in devices if d["device_name"] == root_name],
            "ebs_block_device": [d for d in devices if d["device_name"] != root_name],
            "vpc_security_group_ids": [g.get("GroupId") for g in groups],
            "security_groups": [g.get("GroupName") for g in groups],
            "network_interface_ids": [
                n.get("NetworkInterfaceId") for n in inst.get("NetworkInterfaces") or []
            ],
            "source_dest_check": inst.get("SourceDestCheck"),
            "key_name": inst.get("KeyName"),
            "platform": inst.get("PlatformDetails") or inst.get("Platform"),
            "architecture": inst.get("Architecture"),
            "launch_time": inst.get("LaunchTime"),
            "owner_id": reservation.get("OwnerId"),
        },
        raw={"Instance": inst, "ReservationId": reservation.get("ReservationId")},
    )
    res.relate("IN_SUBNET", ec2_arn(ctx, "subnet", inst.get("SubnetId")))
    res.relate("IN_VPC", ec2_arn(ctx, "vpc", inst.get("VpcId")))
    for g in groups:
        res.relate("HAS_SECURITY_GROUP", ec2_arn(ctx, "security-group", g.get("GroupId")))
    res.relate("HAS_INSTANCE_PROFILE", profile.get("Arn"))
    return res


def _network_interface(ctx: CollectorContext, eni: dict[str, Any]) -> Resource:
    nid = str(eni.get("NetworkInterfaceId"))
    tags = tags_from_list(eni.get("TagSet") or eni.get("Tags") or [])
    att = eni.get("Attachment") or {}
    assoc = eni.get("Association") or {}
    groups = eni.get("Groups") or []
    res = ctx.resource(
        uid=ctx.arn("ec2", f"network-interface/{nid}"),
        type="aws_network_interface",
        name=_name(tags, nid),
        tags=tags,
        config={
            "id": nid,
            "subnet_id": eni.get("SubnetId"),
            "vpc_id": eni.get("VpcId"),
            "availability_zone": eni.get("AvailabilityZone"),
            "description": eni.get("Description"),
            "interface_type": eni.get("InterfaceType"),
            "status": eni.get("Status"),
            "mac_address": eni.get("MacAddress"),
            "private_ip": eni.get("PrivateIpAddress"),
            "private_ips": [a.get("PrivateIpAddress") for a in eni.get("PrivateIpAddresses") or []],
            "ipv6_addresses": [a.get("Ipv6Address") for a in eni.get("Ipv6Addresses") or []],
            "public_ip": assoc.get("PublicIp"),
            "association": {
                "public_ip": assoc.get("PublicIp"),
                "ip_owner_id": assoc.get("IpOwnerId"),
                "allocation_id": assoc.get("AllocationId"),
                "association_id": assoc.get("AssociationId"),
            }
            if assoc
            else None,
            "security_groups": [g.get("GroupId") for g in groups],
            "attachment": {
                "attachment_id": att.get("AttachmentId"),
                "instance": att.get("InstanceId"),
                "instance_owner_id": att.get("InstanceOwnerId"),
                "device_index": att.get("DeviceIndex"),
                "status": att.get("Status"),
            }
            if att
            else None,
            "requester_id": eni.get("RequesterId"),
            "requester_managed": eni.get("RequesterManaged"),
            "source_dest_check": eni.get("SourceDestCheck"),
            "owner_id": eni.get("OwnerId"),
        },
        raw={"NetworkInterface": eni},
    )
    res.relate("IN_SUBNET", ec2_arn(ctx, "subnet", eni.get("SubnetId")))
    res.relate("IN_VPC", ec2_arn(ctx, "vpc", eni.get("VpcId")))
    for g in groups:
        res.relate("HAS_SECURITY_GROUP", ec2_arn(ctx, "security-group", g.get("GroupId")))
    res.relate("ATTACHED_TO", ec2_arn(ctx, "instance", att.get("InstanceId")))
    return res


def _eip(ctx: CollectorContext, addr: dict[str, Any]) -> Resource:
    alloc = addr.get("AllocationId")
    ident = str(alloc or addr.get("PublicIp"))
    tags = _tags(addr)
    res = ctx.resource(
        uid=ctx.arn("ec2", f"elastic-ip/{ident}"),
        type="aws_eip",
        name=_name(tags, ident),
        tags=tags,
        config={
            "id": ident,
            "allocation_id": alloc,
            "public_ip": addr.get("PublicIp"),
            "private_ip": addr.get("PrivateIpAddress"),
            "domain": addr.get("Domain"),
            "instance": addr.get("InstanceId"),
            "network_interface": addr.get("NetworkInterfaceId"),
            "network_interface_owner_id": addr.get("NetworkInterfaceOwnerId"),
            "association_id": addr.get("AssociationId"),
            "associated": bool(addr.get("AssociationId") or addr.get("InstanceId")),
            "network_border_group": addr.get("NetworkBorderGroup"),
            "public_ipv4_pool": addr.get("PublicIpv4Pool"),
        },
        raw={"Address": addr},
    )
    res.relate("ATTACHED_TO", ec2_arn(ctx, "instance", addr.get("InstanceId")))
    res.relate("ATTACHED_TO", ec2_arn(ctx, "network-interface", addr.get("NetworkInterfaceId")))
    return res


# -- block storage ----------------------------------------------------------------------


def _volume(ctx: CollectorContext, vol: dict[str, Any]) -> Resource:
    vid = str(vol.get("VolumeId"))
    tags = _tags(vol)
    attachments = [
        {
            "instance_id": a.get("InstanceId"),
            "device_name": a.get("Device"),
            "state": a.get("State"),
            "delete_on_termination": a.get("DeleteOnTermination"),
            "attach_time": a.get("AttachTime"),
        }
        for a in vol.get("Attachments") or []
    ]
    kms = vol.get("KmsKeyId")
    res = ctx.resource(
        uid=ctx.arn("ec2", f"volume/{vid}"),
        type="aws_ebs_volume",
        name=_name(tags, vid),
        tags=tags,
        config={
            "id": vid,
            "encrypted": bool(vol.get("Encrypted")),
            "kms_key_id": kms,
            "size": vol.get("Size"),
            "type": vol.get("VolumeType"),
            "iops": vol.get("Iops"),
            "throughput": vol.get("Throughput"),
            "availability_zone": vol.get("AvailabilityZone"),
            "snapshot_id": vol.get("SnapshotId") or None,
            "multi_attach_enabled": bool(vol.get("MultiAttachEnabled")),
            "state": vol.get("State"),
            "create_time": vol.get("CreateTime"),
            "attachments": attachments,
        },
        raw={"Volume": vol},
    )
    for a in attachments:
        res.relate(
            "ATTACHED_TO",
            ec2_arn(ctx, "instance", a["instance_id"]),
            device_name=a["device_name"],
            state=a["state"],
        )
    res.relate("USES_KEY", key_ref_uid(ctx, kms))
    return res


def _permissions(perms: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"group": p.get("Group"), "user_id": p.get("UserId")} for p in perms]


def _snapshot(ctx: CollectorContext, client: Any, snap: dict[str, Any]) -> Resource:
    sid = str(snap.get("SnapshotId"))
    tags = _tags(snap)
    attr = ctx.call(
        client,
        "describe_snapshot_attribute",
        resource=sid,
        SnapshotId=sid,
        Attribute="createVolumePermission",
    )
    perms = _permissions(attr.data.get("CreateVolumePermissions") or []) if attr.ok else None
    kms = snap.get("KmsKeyId")
    volume_id = snap.get("VolumeId")
    res = ctx.resource(
        uid=ctx.arn("ec2", f"snapshot/{sid}"),
        type="aws_ebs_snapshot",
        name=_name(tags, sid),
        tags=tags,
        config={
            "id": sid,
            "volume_id": volume_id,
            "encrypted": bool(snap.get("Encrypted")),
            "kms_key_id": kms,
            "volume_size": snap.get("VolumeSize"),
            "state": snap.get("State"),
            "description": snap.get("Description"),
            "owner_id": snap.get("OwnerId"),
            "start_time": snap.get("StartTime"),
            "storage_tier": snap.get("StorageTier"),
            "create_volume_permissions": perms,
            "public": None if perms is None else any(p["group"] == "all" for p in perms),
            "shared_with_accounts": (
                None if perms is None else [p["user_id"] for p in perms if p["user_id"]]
            ),
        },
        raw={"Snapshot": snap, "CreateVolumePermission": attr.data},
        unavailable=(
            [] if attr.ok else ["create_volume_permissions", "public", "shared_with_accounts"]
        ),
    )
    # vol-ffffffff is what AWS reports for snapshots copied from another snapshot.
    if volume_id and volume_id != "vol-ffffffff":
        res.relate("SNAPSHOT_OF", ec2_arn(ctx, "volume", volume_id))
    res.relate("USES_KEY", key_ref_uid(ctx, kms))
    return res


def _encryption_by_default(ctx: CollectorContext, client: Any) -> Resource:
    enabled = ctx.call(client, "get_ebs_encryption_by_default")
    key = ctx.call(client, "get_ebs_default_kms_key_id")
    key_id = key.data.get("KmsKeyId") if key.ok else None
    unavailable = []
    if not enabled.ok:
        unavailable.append("enabled")
    if not key.ok:
        unavailable.append("default_kms_key_id")
    res = ctx.resource(
        uid=ctx.arn("ec2", "ebs-encryption-by-default"),
        type="aws_ebs_encryption_by_default",
        name=ctx.region,
        config={
            "enabled": bool(enabled.data.get("EbsEncryptionByDefault")) if enabled.ok else None,
            "default_kms_key_id": key_id,
            "sse_type": enabled.data.get("SseType"),
        },
        raw={
            "EbsEncryptionByDefault": enabled.data,
            "EbsDefaultKmsKeyId": key.data,
        },
        unavailable=unavailable,
    )
    res.relate("USES_KEY", key_ref_uid(ctx, key_id))
    return res
