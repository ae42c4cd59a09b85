"""Network checks: security groups, network ACLs, VPC flow logs, internet-exposed instances
and databases."""

from stratusec.checks import Status
from stratusec.checks.registry import get_check
from tests.checks.fixtures import inventory, res, run, statuses
from tests.checks.sn_helpers import db, instance, nacl, nacl_entry, sg, sg_rule, subnet

PASS, FAIL, UNKNOWN = Status.PASS, Status.FAIL, Status.UNKNOWN
WORLD = ["0.0.0.0/0"]
WORLD6 = ["::/0"]


def test_sg_admin_ports_ipv4_and_ipv6():
    ssh = sg("ssh", [sg_rule("tcp", 22, cidrs=WORLD)])
    rdp_range = sg("rdp-range", [sg_rule("tcp", 3000, 4000, cidrs=WORLD)])
    all_traffic = sg("all", [sg_rule("-1", cidrs=WORLD)])
    private = sg("private", [sg_rule("tcp", 22, cidrs=["10.0.0.0/8"])])
    https = sg("https", [sg_rule("tcp", 443, cidrs=WORLD, ipv6=WORLD6)])
    udp = sg("udp", [sg_rule("udp", 22, cidrs=WORLD)])
    ssh6 = sg("ssh6", [sg_rule("tcp", 22, ipv6=WORLD6)])
    broken = res("aws_security_group", "broken", config={"id": "sg-b"})
    server = instance("web", groups=[ssh])
    inv = inventory(ssh, rdp_range, all_traffic, private, https, udp, ssh6, broken, server)

    out = run("ec2_sg_no_ipv4_admin_port_ingress", inv)
    assert out["ssh"][0] == FAIL
    assert "22 (SSH) from 0.0.0.0/0" in out["ssh"][1] and "attached to web" in out["ssh"][1]
    assert out["rdp-range"][0] == FAIL and "3389 (RDP)" in out["rdp-range"][1]
    assert "TCP 3000-4000" in out["rdp-range"][1]
    assert out["all"][0] == FAIL and "22 (SSH)" in out["all"][1] and "3389" in out["all"][1]
    for name in ("private", "https", "udp", "ssh6"):
        assert out[name][0] == PASS, name
    assert out["broken"][0] == UNKNOWN

    st6 = statuses("ec2_sg_no_ipv6_admin_port_ingress", inv)
    assert st6["ssh6"] == FAIL
    assert st6["ssh"] == PASS and st6["https"] == PASS and st6["all"] == PASS
    assert st6["broken"] == UNKNOWN


def test_sg_database_ports_and_all_ports():
    pg = sg("pg", [sg_rule("tcp", 5432, cidrs=WORLD)])
    redis6 = sg("redis6", [sg_rule("tcp", 6379, ipv6=WORLD6)])
    from_app = sg("from-app", [sg_rule("tcp", 3306, groups=["sg-app"])])
    web = sg("web", [sg_rule("tcp", 80, 443, cidrs=WORLD)])
    everything = sg("everything", [sg_rule("-1", cidrs=WORLD)])
    tcp_all = sg("tcp-all", [sg_rule("tcp", 0, 65535, ipv6=WORLD6)])
    broken = res("aws_security_group", "broken", config={"id": "sg-b"})
    inv = inventory(pg, redis6, from_app, web, everything, tcp_all, broken)

    out = run("ec2_sg_no_world_ingress_database_ports", inv)
    assert out["pg"][0] == FAIL and "5432 (PostgreSQL) from 0.0.0.0/0" in out["pg"][1]
    assert out["redis6"][0] == FAIL and "6379 (Redis) from ::/0" in out["redis6"][1]
    assert out["from-app"][0] == PASS and out["web"][0] == PASS
    assert out["everything"][0] == FAIL and "more" in out["everything"][1]
    assert out["broken"][0] == UNKNOWN

    assert statuses("ec2_sg_no_world_ingress_all_ports", inv) == {
        "pg": PASS,
        "redis6": PASS,
        "from-app": PASS,
        "web": PASS,
        "everything": FAIL,
        "tcp-all": FAIL,
        "broken": UNKNOWN,
    }


def test_default_sg_restricts_all_traffic():
    clean = sg("default", gid="sg-clean", default=True)
    egress = sg("default", [], [sg_rule("-1", cidrs=WORLD)], gid="sg-egress", default=True)
    custom = sg("custom", [sg_rule("tcp", 22, cidrs=WORLD)])
    unread = res(
        "aws_security_group", "default", config={"id": "sg-x", "is_default": True}, uid="sg-unread"
    )
    chk = get_check("ec2_default_sg_restricts_all_traffic")
    results = {
        o.resource.config["id"]: o for o in chk.run(inventory(clean, egress, custom, unread))
    }
    assert set(results) == {"sg-clean", "sg-egress", "sg-x"}  # non-default groups skipped
    assert results["sg-clean"].status == PASS
    assert results["sg-egress"].status == FAIL
    assert "outbound rules (all traffic with 0.0.0.0/0)" in results["sg-egress"].message
    assert results["sg-x"].status == UNKNOWN


def test_nacl_rule_order_decides():
    allow_all = nacl("allow-all", [nacl_entry(100, "allow"), nacl_entry(32767, "deny")])
    deny_first = nacl(
        "deny-first",
        [
            nacl_entry(50, "deny", protocol="tcp", from_port=22),
            nacl_entry(60, "deny", protocol="tcp", from_port=3389),
            nacl_entry(70, "deny", protocol="-1", cidr=None, ipv6="::/0"),
            nacl_entry(100, "allow"),
        ],
    )
    allow_before_deny = nacl(
        "allow-before-deny",
        [
            nacl_entry(10, "allow", protocol="tcp", from_port=20, to_port=25),
            nacl_entry(50, "deny", protocol="tcp", from_port=22),
        ],
    )
    narrow_deny = nacl(
        "narrow-deny",
        [
            nacl_entry(10, "deny", protocol="tcp", from_port=22, cidr="198.51.100.0/24"),
            nacl_entry(100, "allow", protocol="tcp", from_port=22),
        ],
    )
    web_only = nacl(
        "web-only",
        [
            nacl_entry(100, "allow", protocol="tcp", from_port=443),
            nacl_entry(110, "allow", protocol="tcp", from_port=22, cidr="10.0.0.0/8"),
            nacl_entry(120, "allow", egress=True),
        ],
    )
    ipv6_open = nacl(
        "ipv6", [nacl_entry(100, "allow", protocol="tcp", from_port=22, cidr=None, ipv6="::/0")]
    )
    unread = res("aws_network_acl", "unread", config={"id": "unread"})
    inv = inventory(
        allow_all, deny_first, allow_before_deny, narrow_deny, web_only, ipv6_open, unread
    )
    out = run("ec2_nacl_no_admin_port_ingress_from_internet", inv)
    assert out["allow-all"][0] == FAIL
    assert "22 (SSH) from 0.0.0.0/0 by rule 100 (all traffic)" in out["allow-all"][1]
    assert out["deny-first"][0] == PASS
    assert out["allow-before-deny"][0] == FAIL and "by rule 10" in out["allow-before-deny"][1]
    assert "3389" not in out["allow-before-deny"][1]
    assert out["narrow-deny"][0] == FAIL  # the rest of the internet still gets in
    assert out["web-only"][0] == PASS
    assert out["ipv6"][0] == FAIL and "from ::/0" in out["ipv6"][1]
    assert out["unread"][0] == UNKNOWN


def test_vpc_flow_logs_enabled():
    def vpc(name, logs, **kw):  # type: ignore[no-untyped-def]
        return res(
            "aws_vpc",
            name,
            config={
                "id": name,
                "flow_logs": logs,
                "flow_logs_enabled": None if logs is None else bool(logs),
            },
            **kw,
        )

    all_log = {
        "id": "fl-1",
        "status": "ACTIVE",
        "traffic_type": "ALL",
        "destination_type": "s3",
        "destination": "arn:aws:s3:::logs",
    }
    inv = inventory(
        vpc("logged", [all_log]),
        vpc("reject", [{**all_log, "traffic_type": "REJECT"}]),
        vpc("accept-only", [{**all_log, "traffic_type": "ACCEPT"}]),
        vpc("inactive", [{**all_log, "status": "INACTIVE"}]),
        vpc("none", []),
        vpc("unread", None, unavailable=["flow_logs", "flow_logs_enabled"]),
    )
    out = run("vpc_flow_logs_enabled", inv)
    assert out["logged"][0] == PASS and "fl-1 (ALL traffic" in out["logged"][1]
    assert out["reject"][0] == PASS
    assert out["accept-only"][0] == FAIL and "only logs ACCEPT" in out["accept-only"][1]
    assert out["inactive"][0] == FAIL and "none is active" in out["inactive"][1]
    assert out["none"][0] == FAIL and "no flow log" in out["none"][1]
    assert out["unread"][0] == UNKNOWN


def test_instance_with_public_ip_and_open_admin_ports():
    ssh = sg("ssh-open", [sg_rule("tcp", 22, cidrs=WORLD)])
    web = sg("web", [sg_rule("tcp", 443, cidrs=WORLD)])
    pub_subnet = subnet("public-a", public=True)
    priv_subnet = subnet("private-a", public=False)
    exposed = instance("exposed", public_ip="54.1.2.3", groups=[ssh, web], subnet=pub_subnet)
    web_only = instance("web-only", public_ip="54.1.2.4", groups=[web], subnet=pub_subnet)
    private = instance("private", groups=[ssh])
    no_route = instance("no-route", public_ip="54.1.2.5", groups=[ssh], subnet=priv_subnet)
    missing_sg = instance("missing-sg", public_ip="54.1.2.6", subnet=pub_subnet)
    missing_sg.relate("HAS_SECURITY_GROUP", "arn:aws:ec2:us-east-1:123456789012:security-group/x")
    gone = instance("gone", public_ip="54.1.2.7", groups=[ssh], state="terminated")
    inv = inventory(
        ssh, web, pub_subnet, priv_subnet, exposed, web_only, private, no_route, missing_sg, gone
    )
    out = run("ec2_instance_no_public_ip_with_open_admin_ports", inv)
    assert out["exposed"][0] == FAIL
    assert "54.1.2.3" in out["exposed"][1] and "via ssh-open (sg-ssh-open)" in out["exposed"][1]
    assert out["web-only"][0] == PASS
    assert out["private"][0] == PASS
    assert out["no-route"][0] == PASS and "no route" in out["no-route"][1]
    assert out["missing-sg"][0] == UNKNOWN
    assert "gone" not in out


def test_rds_instance_not_public():
    open_sg = sg("orders-db", [sg_rule("tcp", 5432, cidrs=WORLD)])
    pub_subnet = subnet("public-a", public=True)
    public = db(
        "orders",
        publicly_accessible=True,
        tags={"environment": "production"},
        relationships=[("HAS_SECURITY_GROUP", open_sg.uid), ("IN_SUBNET", pub_subnet.uid)],
    )
    private = db("reporting")
    unread = db("unread", publicly_accessible=None)
    out = run("rds_instance_not_public", inventory(open_sg, pub_subnet, public, private, unread))
    assert out["orders"][0] == FAIL
    msg = out["orders"][1]
    assert "environment=production" in msg and "orders.example.rds.amazonaws.com" in msg
    assert "security group orders-db allows TCP 5432 from 0.0.0.0/0" in msg
    assert "public-a" in msg
    assert out["reporting"][0] == PASS
    assert out["unread"][0] == UNKNOWN
