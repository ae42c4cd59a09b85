"""EC2 and VPC checks: security groups, network ACLs, instance metadata and exposure, EBS
volume / snapshot encryption and sharing, EBS encryption by default, VPC flow logs.

Security-group and NACL rules come normalized from the EC2 collector: ``protocol`` is
``tcp`` / ``udp`` / ``icmp`` / ``icmpv6`` / ``-1`` (all traffic) or a number, and an
all-traffic rule spans ports 0-65535.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from stratusec.checks import Inventory, Outcome, check, fail, ok, resource_check, unknown
from stratusec.inventory.models import Resource

WORLD_V4 = "0.0.0.0/0"
WORLD_V6 = "::/0"

ADMIN_PORTS: dict[int, str] = {22: "SSH", 3389: "RDP"}

# Database, cache and search engine ports that must never face the internet.
DATABASE_PORTS: dict[int, str] = {
    1433: "SQL Server",
    1521: "Oracle",
    2483: "Oracle (TCP)",
    2484: "Oracle (TCPS)",
    3306: "MySQL/MariaDB/Aurora",
    5432: "PostgreSQL",
    5439: "Redshift",
    5984: "CouchDB",
    6379: "Redis",
    7000: "Cassandra (inter-node)",
    7199: "Cassandra (JMX)",
    7474: "Neo4j",
    8086: "InfluxDB",
    9042: "Cassandra",
    9160: "Cassandra (Thrift)",
    9200: "Elasticsearch/OpenSearch",
    9300: "Elasticsearch/OpenSearch (transport)",
    11211: "Memcached",
    27017: "MongoDB",
    27018: "MongoDB (shard)",
    27019: "MongoDB (config)",
}

_GONE_STATES = frozenset({"terminated", "shutting-down"})


def _unread(resource: Resource, *keys: str) -> str | None:
    """The first of ``keys`` that could not be read or is missing; None when all are there."""
    for key in keys:
        if key in resource.unavailable or key not in resource.config:
            return key
    return None


# -- rule helpers ------------------------------------------------------------------------


def _ports_text(rule: dict[str, Any]) -> str:
    proto = str(rule.get("protocol"))
    if proto == "-1":
        return "all traffic"
    lo, hi = rule.get("from_port"), rule.get("to_port")
    if lo is None or hi is None or (lo, hi) == (0, 65535):
        return f"{proto.upper()} all ports"
    return f"{proto.upper()} {lo}" if lo == hi else f"{proto.upper()} {lo}-{hi}"


def _covers_port(rule: dict[str, Any], port: int, protocols: Iterable[str] = ("tcp",)) -> bool:
    """Whether the rule admits ``port`` over one of ``protocols`` (all traffic counts)."""
    proto = str(rule.get("protocol"))
    if proto == "-1":
        return True
    if proto not in protocols:
        return False
    lo, hi = rule.get("from_port"), rule.get("to_port")
    if lo is None or hi is None:
        return True
    return int(lo) <= port <= int(hi)


def _all_ports(rule: dict[str, Any]) -> bool:
    proto = str(rule.get("protocol"))
    if proto == "-1":
        return True
    if proto not in ("tcp", "udp"):
        return False
    lo, hi = rule.get("from_port"), rule.get("to_port")
    return lo is None or hi is None or (int(lo) <= 0 and int(hi) >= 65535)


def _world_rules(sg: Resource, world: Iterable[str]) -> list[tuple[dict[str, Any], str]]:
    """(ingress rule, world CIDR) for every ingress rule open to one of ``world``."""
    wanted = set(world)
    out = []
    for rule in sg.config.get("ingress") or []:
        for cidr in [*(rule.get("cidr_blocks") or []), *(rule.get("ipv6_cidr_blocks") or [])]:
            if cidr in wanted:
                out.append((rule, cidr))
    return out


def _rules_text(rules: list[dict[str, Any]]) -> str:
    out = []
    for r in rules:
        peers = [
            *(r.get("cidr_blocks") or []),
            *(r.get("ipv6_cidr_blocks") or []),
            *(r.get("security_groups") or []),
            *(r.get("prefix_list_ids") or []),
        ]
        if r.get("self"):
            peers.append("itself")
        out.append(f"{_ports_text(r)} with {', '.join(peers) or 'no peer'}")
    return "; ".join(out)


def _attached_names(sg: Resource, inv: Inventory) -> list[str]:
    return sorted(
        {
            r.name
            for r in inv.referrers(sg.uid, "HAS_SECURITY_GROUP")
            if r.type != "aws_network_interface"
        }
    )


def _sg_label(sg: Resource) -> str:
    gid = sg.config.get("id")
    return f"{sg.name} ({gid})" if gid and gid != sg.name else sg.name


def _open_ports(sg: Resource, world: Iterable[str], ports: dict[int, str]) -> list[dict[str, Any]]:
    """Ports of ``ports`` the group opens to ``world``, one entry per (port, CIDR)."""
    found: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    for rule, cidr in _world_rules(sg, world):
        for port, service in ports.items():
            if (port, cidr) in seen or not _covers_port(rule, port):
                continue
            seen.add((port, cidr))
            found.append(
                {
                    "port": port,
                    "service": service,
                    "cidr": cidr,
                    "rule": _ports_text(rule),
                    "description": rule.get("description"),
                }
            )
    return found


def _open_text(items: list[dict[str, Any]]) -> str:
    parts = [
        f"{i['port']} ({i['service']}) from {i['cidr']}"
        + (f" via a rule for {i['rule']}" if i["rule"] != f"TCP {i['port']}" else "")
        for i in items
    ]
    return ", ".join(parts)


_SG_REMEDIATION_CLI = (
    "aws ec2 revoke-security-group-ingress --group-id SG_ID --ip-permissions "
    "'IpProtocol=tcp,FromPort=PORT,ToPort=PORT,IpRanges=[{CidrIp=0.0.0.0/0}]'\n"
    "aws ec2 authorize-security-group-ingress --group-id SG_ID --ip-permissions "
    "'IpProtocol=tcp,FromPort=PORT,ToPort=PORT,IpRanges=[{CidrIp=TRUSTED_CIDR}]'"
)
_SG_REMEDIATION_TF = (
    'resource "aws_vpc_security_group_ingress_rule" "admin" {\n'
    "  security_group_id = aws_security_group.this.id\n"
    '  ip_protocol       = "tcp"\n'
    "  from_port         = PORT\n"
    "  to_port           = PORT\n"
    '  cidr_ipv4         = "TRUSTED_CIDR"   # never "0.0.0.0/0"\n}'
)


def _admin_sg_check(sg: Resource, inv: Inventory, world: str, family: str) -> Outcome:
    if _unread(sg, "ingress"):
        return unknown(sg, f"The ingress rules of security group {_sg_label(sg)} are missing.")
    found = _open_ports(sg, [world], ADMIN_PORTS)
    attached = _attached_names(sg, inv)
    if found:
        where = f"; attached to {', '.join(attached)}" if attached else ""
        return fail(
            sg,
            f"Security group {_sg_label(sg)} allows {family} ingress to "
            f"{_open_text(found)}{where}.",
            open_ports=found,
            attached_to=attached,
        )
    return ok(
        sg,
        f"Security group {_sg_label(sg)} allows no ingress from {world} to port 22 or 3389.",
    )


@resource_check(
    title="No security group allows SSH or RDP from 0.0.0.0/0",
    description="No inbound rule opens TCP 22 (SSH) or 3389 (RDP), directly, through a port "
    "range or through an all-traffic rule, to any IPv4 address (0.0.0.0/0).",
    risk="Administration ports open to the internet are scanned within minutes and "
    "brute-forced or hit with remote-code-execution exploits; one weak key or unpatched "
    "service gives an attacker a shell inside the VPC.",
    severity="high",
    service="ec2",
    resource_types=["aws_security_group"],
    categories=["network", "internet-exposed"],
    remediation={
        "summary": "Remove the 0.0.0.0/0 rule for port 22/3389; allow only trusted CIDRs, or "
        "better use Systems Manager Session Manager / EC2 Instance Connect Endpoint and no "
        "inbound admin port at all.",
        "cli": _SG_REMEDIATION_CLI,
        "terraform": _SG_REMEDIATION_TF,
        "console": "EC2 > Security Groups > group > Inbound rules > Edit inbound rules: "
        "delete the SSH/RDP rule with source 0.0.0.0/0 (or restrict the source).",
    },
)
def ec2_sg_no_ipv4_admin_port_ingress(sg: Resource, inv: Inventory) -> Outcome:
    return _admin_sg_check(sg, inv, WORLD_V4, "IPv4")


@resource_check(
    title="No security group allows SSH or RDP from ::/0",
    description="No inbound rule opens TCP 22 (SSH) or 3389 (RDP), directly, through a port "
    "range or through an all-traffic rule, to any IPv6 address (::/0).",
    risk="Administration ports open to the IPv6 internet are as exposed as over IPv4 and are "
    "easily overlooked; they invite brute force and exploitation.",
    severity="high",
    service="ec2",
    resource_types=["aws_security_group"],
    categories=["network", "internet-exposed"],
    remediation={
        "summary": "Remove the ::/0 rule for port 22/3389; allow only trusted IPv6 ranges, or "
        "use Session Manager and no inbound admin port.",
        "cli": "aws ec2 revoke-security-group-ingress --group-id SG_ID --ip-permissions "
        "'IpProtocol=tcp,FromPort=PORT,ToPort=PORT,Ipv6Ranges=[{CidrIpv6=::/0}]'",
        "terraform": 'resource "aws_vpc_security_group_ingress_rule" "admin_v6" {\n'
        "  security_group_id = aws_security_group.this.id\n"
        '  ip_protocol       = "tcp"\n'
        "  from_port         = PORT\n"
        "  to_port           = PORT\n"
        '  cidr_ipv6         = "TRUSTED_IPV6_CIDR"   # never "::/0"\n}',
        "console": "EC2 > Security Groups > group > Inbound rules > Edit inbound rules: "
        "delete the SSH/RDP rule with source ::/0.",
    },
)
def ec2_sg_no_ipv6_admin_port_ingress(sg: Resource, inv: Inventory) -> Outcome:
    return _admin_sg_check(sg, inv, WORLD_V6, "IPv6")


@resource_check(
    title="No security group opens database ports to the internet",
    description="No inbound rule opens a database, cache or search-engine port (SQL Server "
    "1433, Oracle 1521/2483/2484, MySQL 3306, PostgreSQL 5432, Redshift 5439, CouchDB 5984, "
    "Redis 6379, Cassandra 7000/7199/9042/9160, Neo4j 7474, InfluxDB 8086, Elasticsearch "
    "9200/9300, Memcached 11211, MongoDB 27017-27019) to 0.0.0.0/0 or ::/0.",
    risk="Data stores reachable from the internet are found by mass scanners and attacked "
    "with credential stuffing and known exploits; many (Redis, Memcached, Elasticsearch, "
    "MongoDB) ship without authentication, so exposure often means immediate data theft or "
    "ransom.",
    severity="high",
    service="ec2",
    resource_types=["aws_security_group"],
    categories=["network", "internet-exposed", "data-protection"],
    remediation={
        "summary": "Allow the database port only from the application's security group (or "
        "the VPC CIDR); reach the database from outside through a bastion, VPN or Session "
        "Manager port forwarding.",
        "cli": "aws ec2 revoke-security-group-ingress --group-id SG_ID --ip-permissions "
        "'IpProtocol=tcp,FromPort=PORT,ToPort=PORT,IpRanges=[{CidrIp=0.0.0.0/0}]'\n"
        "aws ec2 authorize-security-group-ingress --group-id SG_ID --ip-permissions "
        "'IpProtocol=tcp,FromPort=PORT,ToPort=PORT,UserIdGroupPairs=[{GroupId=APP_SG_ID}]'",
        "terraform": 'resource "aws_vpc_security_group_ingress_rule" "db_from_app" {\n'
        "  security_group_id            = aws_security_group.db.id\n"
        "  referenced_security_group_id = aws_security_group.app.id\n"
        '  ip_protocol                  = "tcp"\n'
        "  from_port                    = PORT\n"
        "  to_port                      = PORT\n}",
        "console": "EC2 > Security Groups > group > Inbound rules > Edit inbound rules: "
        "replace the 0.0.0.0/0 (or ::/0) source with the application's security group.",
    },
)
def ec2_sg_no_world_ingress_database_ports(sg: Resource, inv: Inventory) -> Outcome:
    if _unread(sg, "ingress"):
        return unknown(sg, f"The ingress rules of security group {_sg_label(sg)} are missing.")
    found = _open_ports(sg, [WORLD_V4, WORLD_V6], DATABASE_PORTS)
    if not found:
        return ok(sg, f"Security group {_sg_label(sg)} opens no database port to the internet.")
    attached = _attached_names(sg, inv)
    where = f"; attached to {', '.join(attached)}" if attached else ""
    shown = found[:6]
    more = f" and {len(found) - len(shown)} more" if len(found) > len(shown) else ""
    return fail(
        sg,
        f"Security group {_sg_label(sg)} allows ingress to database port "
        f"{_open_text(shown)}{more}{where}.",
        open_ports=found,
        attached_to=attached,
    )


@resource_check(
    title="No security group allows all ports from the internet",
    description="No inbound rule allows all traffic (protocol -1) or every TCP/UDP port "
    "(0-65535) from 0.0.0.0/0 or ::/0.",
    risk="Every service listening on the attached instances, including ones never meant to "
    "be reachable, is exposed to the internet.",
    severity="high",
    service="ec2",
    resource_types=["aws_security_group"],
    categories=["network", "internet-exposed"],
    remediation={
        "summary": "Replace the all-ports rule with rules for the specific ports the "
        "workload serves, from the sources that need them.",
        "cli": "aws ec2 revoke-security-group-ingress --group-id SG_ID --ip-permissions "
        "'IpProtocol=-1,IpRanges=[{CidrIp=0.0.0.0/0}]'",
        "terraform": 'resource "aws_vpc_security_group_ingress_rule" "https" {\n'
        "  security_group_id = aws_security_group.this.id\n"
        '  ip_protocol       = "tcp"\n'
        "  from_port         = 443\n"
        "  to_port           = 443\n"
        '  cidr_ipv4         = "0.0.0.0/0"\n}',
        "console": "EC2 > Security Groups > group > Inbound rules > Edit inbound rules: "
        "delete the 'All traffic' / 0-65535 rule with an internet source.",
    },
)
def ec2_sg_no_world_ingress_all_ports(sg: Resource, inv: Inventory) -> Outcome:
    if _unread(sg, "ingress"):
        return unknown(sg, f"The ingress rules of security group {_sg_label(sg)} are missing.")
    found = [
        {"rule": _ports_text(rule), "cidr": cidr}
        for rule, cidr in _world_rules(sg, [WORLD_V4, WORLD_V6])
        if _all_ports(rule)
    ]
    if not found:
        return ok(sg, f"Security group {_sg_label(sg)} has no all-ports rule from the internet.")
    attached = _attached_names(sg, inv)
    where = f"; attached to {', '.join(attached)}" if attached else ""
    text = ", ".join(f"{f['rule']} from {f['cidr']}" for f in found)
    return fail(
        sg,
        f"Security group {_sg_label(sg)} allows {text}{where}.",
        rules=found,
        attached_to=attached,
    )


@resource_check(
    title="The default security group of every VPC restricts all traffic",
    description="The VPC's default security group has no inbound and no outbound rules, so "
    "resources placed in it by default get no connectivity and every workload must use a "
    "purpose-built group.",
    risk="Resources launched without an explicit group land in the default group; its "
    "default rules (all traffic between members, all outbound) give them lateral movement "
    "and exfiltration paths nobody designed.",
    severity="medium",
    service="ec2",
    resource_types=["aws_security_group"],
    categories=["network"],
    remediation={
        "summary": "Move any resources to purpose-built groups, then delete every inbound "
        "and outbound rule of the default group (it cannot be deleted itself).",
        "cli": "aws ec2 revoke-security-group-ingress --group-id DEFAULT_SG_ID "
        "--security-group-rule-ids RULE_IDS\n"
        "aws ec2 revoke-security-group-egress --group-id DEFAULT_SG_ID "
        "--security-group-rule-ids RULE_IDS",
        "terraform": "# Adopting the default group with no rule blocks removes all its rules.\n"
        'resource "aws_default_security_group" "default" {\n'
        "  vpc_id = aws_vpc.this.id\n}",
        "console": "VPC > Security groups > the group named 'default' > Inbound rules / "
        "Outbound rules > Edit: delete every rule.",
    },
)
def ec2_default_sg_restricts_all_traffic(sg: Resource, inv: Inventory) -> Outcome | None:
    if not sg.config.get("is_default"):
        return None
    if missing := _unread(sg, "ingress", "egress"):
        return unknown(
            sg, f"The {missing} rules of default security group {_sg_label(sg)} are missing."
        )
    ingress = sg.config.get("ingress") or []
    egress = sg.config.get("egress") or []
    vpc = sg.config.get("vpc_id")
    gid = sg.config.get("id") or sg.name
    if not ingress and not egress:
        return ok(sg, f"The default security group {gid} of {vpc} has no rules.")
    parts = []
    if ingress:
        parts.append(f"inbound rules ({_rules_text(ingress)})")
    if egress:
        parts.append(f"outbound rules ({_rules_text(egress)})")
    attached = _attached_names(sg, inv)
    used = f"; used by {', '.join(attached)}" if attached else ""
    return fail(
        sg,
        f"The default security group {gid} of {vpc} has {' and '.join(parts)}{used}.",
        ingress_rules=len(ingress),
        egress_rules=len(egress),
        attached_to=attached,
    )


# -- network ACLs -------------------------------------------------------------------------


def _nacl_allows(entries: list[dict[str, Any]], port: int, world: str) -> dict[str, Any] | None:
    """The entry that decides TCP traffic to ``port`` from ``world``, if it allows it.

    Entries are evaluated in rule-number order; only entries whose source is the whole
    internet (``world``) decide for "any address on the internet": a narrower deny leaves
    the rest of the internet allowed, and a narrower allow is not internet-wide.
    """
    key = "ipv6_cidr_block" if ":" in world else "cidr_block"
    for e in sorted(entries, key=lambda e: int(e.get("rule_number") or 0)):
        if e.get("egress") or e.get(key) != world or not _covers_port(e, port):
            continue
        return e if str(e.get("rule_action")).lower() == "allow" else None
    return None


@resource_check(
    title="No network ACL allows SSH or RDP from the internet",
    description="For TCP 22 and 3389, the first matching inbound entry (by rule number) for "
    "source 0.0.0.0/0 and for ::/0 is not an allow: a port-specific entry, a range or an "
    "all-traffic entry. A lower-numbered deny takes precedence over a later allow.",
    risk="A network ACL that admits administration ports from anywhere removes a layer of "
    "defence: one permissive security group is then enough to expose SSH/RDP.",
    severity="medium",
    service="ec2",
    resource_types=["aws_network_acl"],
    categories=["network", "internet-exposed"],
    remediation={
        "summary": "Add inbound deny entries for TCP 22 and 3389 from 0.0.0.0/0 and ::/0 "
        "with rule numbers lower than the allow entries (or narrow the allow entries to "
        "trusted CIDRs).",
        "cli": "aws ec2 create-network-acl-entry --network-acl-id ACL_ID --ingress "
        "--rule-number 50 --protocol tcp --port-range From=22,To=22 --cidr-block 0.0.0.0/0 "
        "--rule-action deny\n"
        "aws ec2 create-network-acl-entry --network-acl-id ACL_ID --ingress "
        "--rule-number 51 --protocol tcp --port-range From=3389,To=3389 "
        "--cidr-block 0.0.0.0/0 --rule-action deny",
        "terraform": 'resource "aws_network_acl_rule" "deny_ssh" {\n'
        "  network_acl_id = aws_network_acl.this.id\n"
        "  rule_number    = 50\n"
        "  egress         = false\n"
        '  protocol       = "tcp"\n'
        '  rule_action    = "deny"\n'
        '  cidr_block     = "0.0.0.0/0"\n'
        "  from_port      = 22\n"
        "  to_port        = 22\n}",
        "console": "VPC > Network ACLs > ACL > Inbound rules > Edit: add deny rules for "
        "22 and 3389 from 0.0.0.0/0 and ::/0 numbered below the allow rules.",
    },
)
def ec2_nacl_no_admin_port_ingress_from_internet(acl: Resource, inv: Inventory) -> Outcome:
    label = acl.config.get("id") or acl.name
    if _unread(acl, "ingress"):
        return unknown(acl, f"The inbound entries of network ACL {label} are missing.")
    entries = acl.config.get("ingress") or []
    found = []
    for world in (WORLD_V4, WORLD_V6):
        for port, service in ADMIN_PORTS.items():
            entry = _nacl_allows(entries, port, world)
            if entry is not None:
                found.append(
                    {
                        "port": port,
                        "service": service,
                        "cidr": world,
                        "rule_number": entry.get("rule_number"),
                        "rule": _ports_text(entry),
                    }
                )
    subnets = acl.config.get("subnet_ids") or []
    if not found:
        return ok(acl, f"Network ACL {label} does not admit port 22 or 3389 from the internet.")
    text = ", ".join(
        f"{f['port']} ({f['service']}) from {f['cidr']} by rule {f['rule_number']} ({f['rule']})"
        for f in found
    )
    return fail(
        acl,
        f"Network ACL {label} allows {text}; it applies to {len(subnets)} subnet(s).",
        allowed=found,
        subnet_ids=subnets,
    )


# -- instances ------------------------------------------------------------------------------


@resource_check(
    title="EC2 instance requires IMDSv2",
    description="The instance metadata service requires session tokens (http_tokens = "
    "required, i.e. IMDSv2 only) or is disabled altogether.",
    risk="IMDSv1 answers plain GET requests, so a server-side request forgery or an open "
    "proxy on the instance hands out the instance role's temporary credentials (the Capital "
    "One breach); IMDSv2's session token stops that.",
    severity="high",
    service="ec2",
    resource_types=["aws_instance"],
    categories=["imds", "credentials"],
    remediation={
        "summary": "Require IMDSv2 (after checking the software on the instance uses a "
        "current AWS SDK); set the account default for new instances too.",
        "cli": "aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID "
        "--http-tokens required --http-endpoint enabled --http-put-response-hop-limit 1\n"
        "aws ec2 modify-instance-metadata-defaults --region REGION --http-tokens required",
        "terraform": 'resource "aws_instance" "this" {\n'
        "  # ...\n"
        "  metadata_options {\n"
        '    http_endpoint               = "enabled"\n'
        '    http_tokens                 = "required"\n'
        "    http_put_response_hop_limit = 1\n  }\n}",
        "console": "EC2 > Instances > instance > Actions > Instance settings > Modify instance "
        "metadata options > IMDSv2: Required.",
    },
)
def ec2_instance_imdsv2_required(inst: Resource, inv: Inventory) -> Outcome | None:
    if inst.config.get("state") in _GONE_STATES:
        return None
    opts = inst.config.get("metadata_options")
    if _unread(inst, "metadata_options") or not isinstance(opts, dict):
        return unknown(inst, f"The metadata options of instance {inst.name} are missing.")
    tokens, endpoint = opts.get("http_tokens"), opts.get("http_endpoint")
    if endpoint == "disabled":
        return ok(inst, f"Instance {inst.name} has the metadata service disabled.")
    if tokens == "required":
        return ok(
            inst,
            f"Instance {inst.name} requires IMDSv2 (hop limit "
            f"{opts.get('http_put_response_hop_limit')}).",
            http_tokens=tokens,
        )
    if tokens is None:
        return unknown(inst, f"The IMDS token setting of instance {inst.name} is not reported.")
    profile = inst.config.get("iam_instance_profile")
    creds = f"; its instance profile {profile} is exposed to SSRF" if profile else ""
    return fail(
        inst,
        f"Instance {inst.name} allows IMDSv1 (http_tokens={tokens}){creds}.",
        http_tokens=tokens,
        http_endpoint=endpoint,
        hop_limit=opts.get("http_put_response_hop_limit"),
        instance_profile=profile,
    )


@resource_check(
    title="No EC2 instance with a public IP has SSH/RDP open to the internet",
    description="An instance with a public IPv4 address (in a subnet routed to an internet "
    "gateway, where known) has no attached security group that opens TCP 22 or 3389 to "
    "0.0.0.0/0 or ::/0.",
    risk="The instance's SSH/RDP service is directly reachable from anywhere: it will be "
    "brute-forced and probed for exploits, and a compromise yields the instance role too.",
    severity="critical",
    service="ec2",
    resource_types=["aws_instance"],
    categories=["network", "internet-exposed"],
    remediation={
        "summary": "Detach or fix the security group that opens the admin port to the "
        "internet; use Session Manager instead of inbound SSH/RDP, and drop the public IP "
        "if the instance does not serve the internet.",
        "cli": "aws ec2 modify-instance-attribute --instance-id INSTANCE_ID --groups "
        "SG_ID_WITHOUT_ADMIN_PORTS\n" + _SG_REMEDIATION_CLI.split("\n")[0],
        "terraform": 'resource "aws_instance" "this" {\n'
        "  # ...\n"
        "  associate_public_ip_address = false\n"
        "  vpc_security_group_ids      = [aws_security_group.app.id]  # no 22/3389 from "
        "0.0.0.0/0\n}",
        "console": "EC2 > Instances > instance > Security: follow each group and remove the "
        "SSH/RDP rule with an internet source; Actions > Security > Change security groups.",
    },
)
def ec2_instance_no_public_ip_with_open_admin_ports(
    inst: Resource, inv: Inventory
) -> Outcome | None:
    if inst.config.get("state") in _GONE_STATES:
        return None
    public_ip = inst.config.get("public_ip")
    if not public_ip:
        return ok(inst, f"Instance {inst.name} has no public IP address.", public_ip=None)
    subnet = next(iter(inv.related(inst, "IN_SUBNET")), None)
    if subnet is not None and subnet.config.get("public") is False:
        return ok(
            inst,
            f"Instance {inst.name} has public IP {public_ip} but its subnet {subnet.name} has "
            "no route to an internet gateway.",
            public_ip=public_ip,
        )
    wanted = inst.targets("HAS_SECURITY_GROUP")
    groups = inv.related(inst, "HAS_SECURITY_GROUP")
    exposed = []
    for sg in groups:
        if _unread(sg, "ingress"):
            continue
        for item in _open_ports(sg, [WORLD_V4, WORLD_V6], ADMIN_PORTS):
            exposed.append({**item, "security_group": _sg_label(sg)})
    if exposed:
        text = ", ".join(
            f"{e['port']} ({e['service']}) from {e['cidr']} via {e['security_group']}"
            for e in exposed
        )
        return fail(
            inst,
            f"Instance {inst.name} has public IP {public_ip} and allows {text}.",
            public_ip=public_ip,
            exposed=exposed,
            subnet=subnet.name if subnet is not None else None,
        )
    if len(groups) < len(set(wanted)) or any(_unread(sg, "ingress") for sg in groups):
        return unknown(
            inst,
            f"Instance {inst.name} has public IP {public_ip}; not every attached security "
            "group is in the inventory, so its exposure cannot be judged.",
            public_ip=public_ip,
        )
    return ok(
        inst,
        f"Instance {inst.name} has public IP {public_ip} but no attached security group opens "
        "SSH or RDP to the internet.",
        public_ip=public_ip,
    )


# -- EBS ------------------------------------------------------------------------------------


@resource_check(
    title="EBS volume is encrypted",
    description="The EBS volume is encrypted at rest with a KMS key (AWS managed aws/ebs or "
    "a customer managed key).",
    risk="An unencrypted volume's data, and every snapshot taken from it, is readable by "
    "anyone who can copy or share the snapshot; it cannot be shared safely or protected by "
    "KMS key policies.",
    severity="medium",
    service="ec2",
    resource_types=["aws_ebs_volume"],
    categories=["encryption", "data-protection"],
    remediation={
        "summary": "Volumes cannot be encrypted in place: snapshot the volume, copy the "
        "snapshot with encryption, create a new volume from it and swap it in. Turn on EBS "
        "encryption by default so new volumes are encrypted.",
        "cli": "aws ec2 create-snapshot --volume-id VOLUME_ID\n"
        "aws ec2 copy-snapshot --source-region REGION --source-snapshot-id SNAPSHOT_ID "
        "--encrypted --kms-key-id KMS_KEY_ARN\n"
        "aws ec2 create-volume --snapshot-id ENCRYPTED_SNAPSHOT_ID --availability-zone AZ",
        "terraform": 'resource "aws_ebs_volume" "this" {\n'
        '  availability_zone = "AZ"\n'
        "  size              = SIZE\n"
        "  encrypted         = true\n"
        "  kms_key_id        = aws_kms_key.ebs.arn\n}",
        "console": "EC2 > Snapshots > Create snapshot of the volume > Actions > Copy snapshot "
        "with Encrypt this snapshot > Create volume from it > stop the instance, detach the "
        "old volume and attach the new one.",
    },
)
def ec2_ebs_volume_encrypted(vol: Resource, inv: Inventory) -> Outcome:
    if _unread(vol, "encrypted"):
        return unknown(vol, f"The encryption state of volume {vol.name} is missing.")
    attached = [a.get("instance_id") for a in vol.config.get("attachments") or []]
    names = [i.name for i in inv.related(vol, "ATTACHED_TO")] or [a for a in attached if a]
    where = f", attached to {', '.join(names)}" if names else ""
    if vol.config.get("encrypted"):
        return ok(
            vol, f"Volume {vol.name} is encrypted{where}.", kms_key_id=vol.config.get("kms_key_id")
        )
    return fail(
        vol,
        f"Volume {vol.name} ({vol.config.get('size')} GiB{where}) is not encrypted.",
        size_gib=vol.config.get("size"),
        attached_to=names,
    )


@resource_check(
    title="EBS snapshot is encrypted",
    description="The EBS snapshot is encrypted with a KMS key.",
    risk="An unencrypted snapshot can be shared or made public and restored anywhere; the "
    "data has no KMS key policy protecting it.",
    severity="medium",
    service="ec2",
    resource_types=["aws_ebs_snapshot"],
    categories=["encryption", "data-protection"],
    remediation={
        "summary": "Copy the snapshot with encryption, then delete the unencrypted one; "
        "encrypt the source volume so later snapshots are encrypted.",
        "cli": "aws ec2 copy-snapshot --source-region REGION --source-snapshot-id SNAPSHOT_ID "
        "--encrypted --kms-key-id KMS_KEY_ARN\n"
        "aws ec2 delete-snapshot --snapshot-id SNAPSHOT_ID",
        "terraform": 'resource "aws_ebs_snapshot_copy" "encrypted" {\n'
        '  source_snapshot_id = "SNAPSHOT_ID"\n'
        '  source_region      = "REGION"\n'
        "  encrypted          = true\n"
        "  kms_key_id         = aws_kms_key.ebs.arn\n}",
        "console": "EC2 > Snapshots > snapshot > Actions > Copy snapshot > Encrypt this "
        "snapshot; then delete the original.",
    },
)
def ec2_ebs_snapshot_encrypted(snap: Resource, inv: Inventory) -> Outcome:
    if _unread(snap, "encrypted"):
        return unknown(snap, f"The encryption state of snapshot {snap.name} is missing.")
    vol = snap.config.get("volume_id")
    if snap.config.get("encrypted"):
        return ok(snap, f"Snapshot {snap.name} (of {vol}) is encrypted.")
    return fail(snap, f"Snapshot {snap.name} (of {vol}) is not encrypted.", volume_id=vol)


@resource_check(
    title="EBS snapshot is not public",
    description="The snapshot's createVolumePermission does not include the group 'all', "
    "so no other AWS account can create a volume from it.",
    risk="A public snapshot can be copied and mounted by anyone with an AWS account: the "
    "whole disk, with its credentials, keys and data, is leaked.",
    severity="critical",
    service="ec2",
    resource_types=["aws_ebs_snapshot"],
    categories=["public-access", "data-protection"],
    remediation={
        "summary": "Remove the public create-volume permission (and enable the account's "
        "block public access for snapshots).",
        "cli": "aws ec2 modify-snapshot-attribute --snapshot-id SNAPSHOT_ID --attribute "
        "createVolumePermission --operation-type remove --group-names all\n"
        "aws ec2 enable-snapshot-block-public-access --state block-all-sharing",
        "terraform": 'resource "aws_ebs_snapshot_block_public_access" "this" {\n'
        '  state = "block-all-sharing"\n}',
        "console": "EC2 > Snapshots > snapshot > Actions > Snapshot settings > Modify "
        "permissions > Private.",
    },
)
def ec2_ebs_snapshot_not_public(snap: Resource, inv: Inventory) -> Outcome:
    if _unread(snap, "public") or snap.config.get("public") is None:
        return unknown(snap, f"The sharing permissions of snapshot {snap.name} could not be read.")
    shared = snap.config.get("shared_with_accounts") or []
    if snap.config.get("public"):
        return fail(
            snap,
            f"Snapshot {snap.name} (of {snap.config.get('volume_id')}) is public: any AWS "
            "account can create a volume from it.",
            shared_with_accounts=shared,
        )
    extra = f"; shared with {len(shared)} account(s): {', '.join(shared)}" if shared else ""
    return ok(snap, f"Snapshot {snap.name} is not public{extra}.", shared_with_accounts=shared)


def _region_placeholder(inv: Inventory, type_: str, region: str, uid: str, name: str) -> Resource:
    """A stand-in record for a region the scan covered but has no record of ``type_``."""
    account = inv.account_id or "unknown"
    return Resource(
        uid=f"arn:aws:ec2:{region}:{account}:{uid}",
        account=account,
        region=region,
        service="ec2",
        type=type_,
        name=name,
        unavailable=["enabled"],
    )


@check(
    title="EBS encryption by default is on in every region",
    description="In every scanned region the account setting 'EBS encryption by default' "
    "is on, so every new volume (and snapshot copy) is encrypted, whatever the launching "
    "tool asks for.",
    risk="Without the default, any volume created by a template, script or person that "
    "forgets to ask for encryption is stored unencrypted, in regions you may not watch.",
    severity="medium",
    service="ec2",
    resource_types=["aws_ebs_encryption_by_default"],
    categories=["encryption", "data-protection"],
    remediation={
        "summary": "Turn on EBS encryption by default in every region (optionally with a "
        "customer managed key).",
        "cli": "aws ec2 enable-ebs-encryption-by-default --region REGION\n"
        "aws ec2 modify-ebs-default-kms-key-id --region REGION --kms-key-id KMS_KEY_ARN   "
        "# optional",
        "terraform": 'resource "aws_ebs_encryption_by_default" "this" {\n'
        "  enabled = true\n}\n"
        "# one per region (provider alias per region)",
        "console": "EC2 > (region) > Dashboard > Account attributes > Data protection and "
        "security > EBS encryption > Manage > Enable.",
    },
)
def ec2_ebs_default_encryption(inv: Inventory) -> Iterator[Outcome]:
    by_region: dict[str, list[Resource]] = {}
    for r in inv.of_type("aws_ebs_encryption_by_default"):
        by_region.setdefault(r.region, []).append(r)
    for region in inv.regions:
        records = by_region.get(region)
        if not records:
            yield unknown(
                _region_placeholder(
                    inv,
                    "aws_ebs_encryption_by_default",
                    region,
                    "ebs-encryption-by-default",
                    region,
                ),
                f"EBS encryption by default in {region} was not collected.",
            )
            continue
        for rec in records:
            enabled = None if _unread(rec, "enabled") else rec.config.get("enabled")
            if enabled is None:
                yield unknown(rec, f"EBS encryption by default in {region} could not be read.")
            elif enabled:
                yield ok(
                    rec,
                    f"EBS encryption by default is on in {region} (key "
                    f"{rec.config.get('default_kms_key_id') or 'aws/ebs'}).",
                    default_kms_key_id=rec.config.get("default_kms_key_id"),
                )
            else:
                yield fail(rec, f"EBS encryption by default is off in {region}.", enabled=False)


# -- VPC flow logs --------------------------------------------------------------------------


@resource_check(
    title="VPC flow logging is enabled",
    description="The VPC has an active flow log capturing ALL or at least REJECT traffic "
    "(an ACCEPT-only flow log misses the probes and blocked connections that matter for "
    "detection).",
    risk="Without flow logs there is no record of which addresses talked to which hosts: "
    "intrusions, scanning and exfiltration cannot be detected or investigated.",
    severity="medium",
    service="vpc",
    resource_types=["aws_vpc"],
    categories=["logging"],
    remediation={
        "summary": "Create a flow log for the VPC (ALL traffic) delivered to CloudWatch Logs "
        "or S3.",
        "cli": "aws ec2 create-flow-logs --resource-type VPC --resource-ids VPC_ID "
        "--traffic-type ALL --log-destination-type s3 --log-destination "
        "arn:aws:s3:::LOG_BUCKET/vpc-flow-logs/",
        "terraform": 'resource "aws_flow_log" "this" {\n'
        "  vpc_id               = aws_vpc.this.id\n"
        '  traffic_type         = "ALL"\n'
        '  log_destination_type = "s3"\n'
        "  log_destination      = aws_s3_bucket.logs.arn\n}",
        "console": "VPC > Your VPCs > VPC > Flow logs > Create flow log > Filter: All.",
    },
)
def vpc_flow_logs_enabled(vpc: Resource, inv: Inventory) -> Outcome:
    label = (
        vpc.config.get("id")
        if vpc.name == vpc.config.get("id")
        else (f"{vpc.name} ({vpc.config.get('id')})")
    )
    if _unread(vpc, "flow_logs") or vpc.config.get("flow_logs") is None:
        return unknown(vpc, f"The flow logs of VPC {label} could not be read.")
    logs = vpc.config.get("flow_logs") or []
    active = [fl for fl in logs if (fl.get("status") or "ACTIVE") == "ACTIVE"]
    capturing = [fl for fl in active if fl.get("traffic_type") in ("ALL", "REJECT")]
    if capturing:
        fl = capturing[0]
        return ok(
            vpc,
            f"VPC {label} has flow log {fl.get('id')} ({fl.get('traffic_type')} traffic to "
            f"{fl.get('destination_type') or 'cloud-watch-logs'} {fl.get('destination')}).",
            flow_logs=[f.get("id") for f in capturing],
        )
    if active:
        return fail(
            vpc,
            f"VPC {label} only logs ACCEPT traffic (flow log "
            f"{', '.join(str(f.get('id')) for f in active)}); rejected traffic is not recorded.",
            flow_logs=[f.get("id") for f in active],
        )
    if logs:
        states = ", ".join(f"{fl.get('id')}: {fl.get('status')}" for fl in logs)
        return fail(
            vpc,
            f"VPC {label} has flow logs but none is active ({states}).",
            flow_logs=[fl.get("id") for fl in logs],
        )
    return fail(vpc, f"VPC {label} has no flow log.", flow_logs=[])
