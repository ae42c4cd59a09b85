"""The graph builder: nodes, fact edges and every derived edge kind, on small inventories,
plus the real demo account end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from stratusec.checks import Inventory
from stratusec.errors import StratusecError
from stratusec.graph import queries as Q
from stratusec.graph.builder import INTERNET_UID, GraphData, build_graph, rebuild_graph
from stratusec.graph.ladybug_store import LadybugStore
from stratusec.graph.schema import normalize_edge, normalize_node
from stratusec.graph.sensitive import SensitiveRules
from stratusec.inventory.models import Resource
from tests.checks.fixtures import ACCOUNT, res
from tests.graph.builder_helpers import (
    ADMIN_ARN,
    FOREIGN,
    account_pab,
    admin_policy,
    allow,
    bucket,
    build,
    deny,
    doc,
    ec2_arn,
    edges,
    iam_arn,
    instance,
    node,
    policy,
    public_network,
    role,
    sg,
    sg_uid,
    subnet_uid,
    tcp,
    trust,
    user,
)

ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def exposed(g: GraphData, uid: str) -> dict[str, Any]:
    e = edges(g, "EXPOSED_TO").get((INTERNET_UID, uid))
    assert e is not None, f"{uid} is not exposed: {not_exposed(g)}"
    return e


def not_exposed(g: GraphData) -> dict[str, str]:
    return {n["name"]: n["why"] for n in g.stats["notes"].get("not_exposed", [])}


# -- nodes and fact edges ------------------------------------------------------------------


def test_every_resource_is_a_node_plus_internet_and_account() -> None:
    b = bucket("acme-customer-data", tags={"data-classification": "confidential"})
    r = role("app", managed=["arn:aws:iam::123456789012:policy/missing"])
    g = build(b, r, bucket("logs"))
    kinds = {n["uid"]: n["kind"] for n in g.nodes}
    assert kinds[b.uid] == "aws_s3_bucket" and kinds[r.uid] == "aws_iam_role"
    assert kinds[INTERNET_UID] == "internet"
    assert kinds[ROOT] == "aws_account"
    assert node(g, ROOT)["admin"] is True
    cust = node(g, b.uid)
    assert cust["sensitive"] is True
    assert cust["props"]["sensitive_reason"] == "tag data-classification=confidential"
    assert node(g, "arn:aws:s3:::logs")["sensitive"] is False
    # Every resource is OWNED_BY its account; a relationship to a missing node is counted.
    owned = edges(g, "OWNED_BY")
    assert all((uid, ROOT) in owned for uid in (b.uid, r.uid))
    assert g.stats["skipped_edges"] == {"HAS_POLICY": 1}
    assert node(g, r.uid)["props"]["unread_policies"] == [
        "arn:aws:iam::123456789012:policy/missing"
    ]
    # Every row fits the schema.
    for n in g.nodes:
        normalize_node(n)
    for e in g.edges:
        normalize_edge(e)


def test_fact_edges_follow_relationships_and_unknown_types_are_counted() -> None:
    rt, *_ = public_network()
    vpc = res("aws_vpc", "main", uid=ec2_arn("vpc", "vpc-1"))
    igw = res("aws_internet_gateway", "igw-1", uid=ec2_arn("internet-gateway", "igw-1"))
    igw.relate("ATTACHED_TO", vpc.uid)
    alarm = res("aws_cloudwatch_metric_alarm", "a", relationships=[("NOTIFIES", "arn:x")])
    g = build(rt, vpc, igw, alarm)
    assert (igw.uid, vpc.uid) in edges(g, "ATTACHED_TO")
    assert (rt.uid, igw.uid) in edges(g, "ROUTES_TO")
    assert g.stats["skipped_relationship_types"] == {"NOTIFIES": 1}


def test_admin_flag_from_the_evaluator() -> None:
    limit = policy("only-s3", doc(allow("s3:*")))
    mfa = policy(
        "admin-with-mfa",
        doc(allow("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})),
    )
    g = build(
        admin_policy(),
        limit,
        mfa,
        role("admin", managed=[ADMIN_ARN]),
        role("bounded", managed=[ADMIN_ARN], boundary=limit.uid),
        user("mfa-admin", managed=[mfa.uid]),
        role("plain", inline={"p": doc(allow("s3:GetObject"))}),
    )
    admin = node(g, iam_arn("role", "admin"))
    assert admin["admin"] is True
    assert admin["props"]["admin_reason"] == "policy AdministratorAccess statement 0 allows * on *"
    assert node(g, iam_arn("role", "bounded"))["admin"] is False
    cond = node(g, iam_arn("user", "mfa-admin"))
    assert cond["admin"] is True
    assert cond["props"]["admin_conditional"] is True
    assert cond["props"]["admin_mfa_required"] is True
    assert node(g, iam_arn("role", "plain"))["admin"] is False


# -- EXPOSED_TO -------------------------------------------------------------------------------


def test_instance_with_public_ip_in_public_subnet_and_open_sg_is_exposed() -> None:
    inst = instance(
        "web",
        subnet_uid=subnet_uid("public-a"),
        sgs=[sg_uid("ssh-open"), sg_uid("web")],
        public_ip="54.1.2.3",
    )
    g = build(*public_network(), sg("ssh-open", tcp(22)), sg("web", tcp(443)), inst)
    e = exposed(g, inst.uid)
    assert e["ports"] == "22,443"
    assert e["reason"].startswith(
        "public IP 54.1.2.3 in subnet public-a (route 0.0.0.0/0 -> igw-1); "
        "port 22 open to 0.0.0.0/0 via sg-ssh-open (ssh-open)"
    )
    assert "port 443 open to 0.0.0.0/0 via sg-web (web)" in e["reason"]
    assert e["props"]["subnets"] == [subnet_uid("public-a")]
    assert e["props"]["security_groups"] == [sg_uid("ssh-open"), sg_uid("web")]


def test_private_or_closed_instances_are_not_exposed() -> None:
    open_sg = sg("ssh-open", tcp(22))
    vpc_only = sg("internal", tcp(8080, "10.0.0.0/16"))
    no_ip = instance("no-ip", subnet_uid=subnet_uid("public-a"), sgs=[open_sg.uid])
    private = instance(
        "private", subnet_uid=subnet_uid("private-a"), sgs=[open_sg.uid], public_ip="54.9.9.9"
    )
    closed = instance(
        "closed", subnet_uid=subnet_uid("public-a"), sgs=[vpc_only.uid], public_ip="54.8.8.8"
    )
    g = build(*public_network(), open_sg, vpc_only, no_ip, private, closed)
    assert edges(g, "EXPOSED_TO") == {}
    why = not_exposed(g)
    assert "no-ip" not in why  # nothing to explain: no public address at all
    assert "private-a, which has no route to an internet gateway" in why["private"]
    assert "no security group (internal) allows inbound traffic from 0.0.0.0/0" in why["closed"]


def test_network_acl_deny_blocks_exposure() -> None:
    inst = instance(
        "web", subnet_uid=subnet_uid("public-a"), sgs=[sg_uid("ssh")], public_ip="54.1.2.3"
    )
    acl = res(
        "aws_network_acl",
        "locked",
        uid=ec2_arn("network-acl", "acl-1"),
        config={
            "ingress": [
                {
                    "rule_number": 100,
                    "protocol": "tcp",
                    "rule_action": "deny",
                    "cidr_block": "0.0.0.0/0",
                    "from_port": 0,
                    "to_port": 1024,
                },
                {
                    "rule_number": 200,
                    "protocol": "-1",
                    "rule_action": "allow",
                    "cidr_block": "0.0.0.0/0",
                    "from_port": None,
                    "to_port": None,
                },
            ]
        },
        relationships=[("ATTACHED_TO", subnet_uid("public-a"))],
    )
    g = build(*public_network(), sg("ssh", tcp(22)), inst, acl)
    assert edges(g, "EXPOSED_TO") == {}
    assert "network ACL locked rule 100 denies it" in not_exposed(g)["web"]
    # Port 8443 passes the ACL (rule 200).
    g = build(*public_network(), sg("ssh", tcp(8443)), inst, acl)
    assert exposed(g, inst.uid)["ports"] == "8443"


def _ecs_service(*sgs: str, public_ip: bool = True) -> Resource:
    svc = res(
        "aws_ecs_service",
        "data-pipeline",
        uid=f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/data-platform/data-pipeline",
        config={
            "network_configuration": {
                "subnets": ["subnet-public-a"],
                "security_groups": list(sgs),
                "assign_public_ip": public_ip,
            }
        },
        relationships=[("IN_SUBNET", subnet_uid("public-a"))]
        + [("HAS_SECURITY_GROUP", sg_uid(s)) for s in sgs],
    )
    return svc


def test_ecs_service_with_public_ip_and_open_sg_is_exposed() -> None:
    svc = _ecs_service("etl-webhook")
    g = build(*public_network(), sg("etl-webhook", tcp(8080)), svc)
    e = exposed(g, svc.uid)
    assert e["ports"] == "8080"
    assert e["reason"] == (
        "tasks get a public IP (assignPublicIp ENABLED) in subnet public-a "
        "(route 0.0.0.0/0 -> igw-1); port 8080 open to 0.0.0.0/0 via sg-etl-webhook "
        "(etl-webhook)"
    )


def test_ecs_service_with_egress_only_sg_or_no_public_ip_is_not_exposed() -> None:
    g = build(*public_network(), sg("egress-only"), _ecs_service("egress-only"))
    assert edges(g, "EXPOSED_TO") == {}
    assert "no security group (egress-only)" in not_exposed(g)["data-pipeline"]
    g = build(*public_network(), sg("web", tcp(80)), _ecs_service("web", public_ip=False))
    assert edges(g, "EXPOSED_TO") == {}


def _db(*, public: bool, subnet: str) -> Resource:
    return res(
        "aws_db_instance",
        "orders-db",
        uid=f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders-db",
        config={
            "publicly_accessible": public,
            "port": 5432,
            "endpoint": {"address": "orders-db.x.rds.amazonaws.com", "port": 5432},
        },
        relationships=[("IN_SUBNET", subnet_uid(subnet)), ("HAS_SECURITY_GROUP", sg_uid("db"))],
    )


def test_publicly_accessible_rds_in_public_subnet_with_open_port_is_exposed() -> None:
    db = _db(public=True, subnet="public-a")
    g = build(*public_network(), sg("db", tcp(0, to=65535)), db)
    e = exposed(g, db.uid)
    assert e["ports"] == "5432"  # only the database port listens
    assert "publicly accessible endpoint orders-db.x.rds.amazonaws.com:5432" in e["reason"]
    assert "subnet public-a (route 0.0.0.0/0 -> igw-1)" in e["reason"]


def test_rds_not_publicly_accessible_or_in_private_subnets_is_not_exposed() -> None:
    g = build(*public_network(), sg("db", tcp(5432)), _db(public=False, subnet="public-a"))
    assert edges(g, "EXPOSED_TO") == {}
    g = build(*public_network(), sg("db", tcp(5432)), _db(public=True, subnet="private-a"))
    assert edges(g, "EXPOSED_TO") == {}
    assert "no route to an internet gateway" in not_exposed(g)["orders-db"]


PUBLIC_READ = doc(
    {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::assets/*"}
)  # fmt: skip


def test_public_bucket_is_exposed_unless_block_public_access_neutralizes_it() -> None:
    g = build(bucket("assets", bucket_policy=PUBLIC_READ), account_pab(False))
    e = exposed(g, "arn:aws:s3:::assets")
    assert e["ports"] == "443"
    assert 'statement "PublicRead" allows s3:GetObject to Principal "*"' in e["reason"]
    g = build(bucket("assets", bucket_policy=PUBLIC_READ, pab=True), account_pab(False))
    assert edges(g, "EXPOSED_TO") == {}
    g = build(bucket("assets", bucket_policy=PUBLIC_READ), account_pab(True))
    assert edges(g, "EXPOSED_TO") == {}


def _function(policy_doc: dict[str, Any] | None) -> Resource:
    return res(
        "aws_lambda_function",
        "fn",
        uid=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn",
        config={
            "policy": policy_doc,
            "function_urls": [
                {
                    "function_url": "https://abc.lambda-url.us-east-1.on.aws/",
                    "authorization_type": "NONE",
                }
            ],
        },
    )


def test_lambda_function_url_without_auth_needs_a_public_policy() -> None:
    url_policy = doc(
        {"Sid": "FunctionURLAllowPublicAccess", "Effect": "Allow", "Principal": "*",
         "Action": "lambda:InvokeFunctionUrl", "Resource": "arn:aws:lambda:us-east-1:x:function:fn",
         "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}}
    )  # fmt: skip
    fn = _function(url_policy)
    e = exposed(build(fn), fn.uid)
    assert e["reason"].startswith(
        "function URL https://abc.lambda-url.us-east-1.on.aws/ has auth type NONE"
    )
    g = build(_function(None))
    assert edges(g, "EXPOSED_TO") == {}
    assert "AWS answers 403" in not_exposed(g)["fn"]


def test_queue_policy_public_unless_restricted() -> None:
    def queue(cond: dict[str, Any] | None) -> Resource:
        st: dict[str, Any] = {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "sqs:SendMessage",
            "Resource": "*",
        }
        if cond:
            st["Condition"] = cond
        return res(
            "aws_sqs_queue", "q", uid=f"arn:aws:sqs:us-east-1:{ACCOUNT}:q",
            config={"policy": doc(st)},
        )  # fmt: skip

    g = build(queue(None))
    assert exposed(g, f"arn:aws:sqs:us-east-1:{ACCOUNT}:q")["reason"].startswith(
        "queue policy is public:"
    )
    g = build(queue({"StringEquals": {"aws:SourceAccount": ACCOUNT}}))
    assert edges(g, "EXPOSED_TO") == {}


# -- compute -> role --------------------------------------------------------------------------


def test_compute_reaches_its_role_in_one_hop() -> None:
    app = role("app")
    profile = res(
        "aws_iam_instance_profile",
        "app",
        uid=iam_arn("instance-profile", "app"),
        region="global",
        relationships=[("RUNS_AS", app.uid)],
    )
    inst = instance("web", subnet_uid=subnet_uid("public-a"), sgs=[], profile=profile.uid)
    td = res(
        "aws_ecs_task_definition",
        "etl:1",
        uid=f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/etl:1",
        relationships=[("RUNS_AS", app.uid)],
    )
    svc = _ecs_service()
    svc.relate("USES_TASK_DEFINITION", td.uid)
    g = build(*public_network(), app, profile, inst, td, svc)
    runs = edges(g, "RUNS_AS")
    assert (profile.uid, app.uid) in runs and (td.uid, app.uid) in runs  # facts
    assert runs[(inst.uid, app.uid)]["props"] == {"via": profile.uid, "derived": "instance profile"}
    assert runs[(svc.uid, app.uid)]["props"]["via"] == td.uid


# -- CAN_ASSUME -------------------------------------------------------------------------------


def test_same_account_assume_needs_trust_and_identity_policy() -> None:
    target = role("deploy", trusts=trust({"AWS": ROOT}))
    can = user("ci", inline={"assume": doc(allow("sts:AssumeRole", target.uid))})
    cannot = user("dev", inline={"read": doc(allow("s3:GetObject"))})
    g = build(target, can, cannot)
    assume = edges(g, "CAN_ASSUME")
    e = assume[(can.uid, target.uid)]
    assert e["conditional"] is False
    assert e["reason"] == (
        "sts:AssumeRole on role deploy is allowed: policy assume statement 0 allows "
        "sts:AssumeRole on arn:aws:iam::123456789012:role/deploy; trust policy of role deploy "
        'statement 0 allows sts:AssumeRole on any resource to {"AWS": '
        '"arn:aws:iam::123456789012:root"}'
    )
    assert (cannot.uid, target.uid) not in assume


def test_trust_naming_a_principal_directly_needs_no_identity_policy() -> None:
    dev = user("dev")
    target = role("ops", trusts=trust({"AWS": dev.uid}))
    assert (dev.uid, target.uid) in edges(build(dev, target), "CAN_ASSUME")


def test_service_and_foreign_account_principals() -> None:
    lam = role("fn-role", trusts=trust({"Service": "lambda.amazonaws.com"}))
    audit = role(
        "security-audit",
        trusts=trust(
            {"AWS": f"arn:aws:iam::{FOREIGN}:root"},
            Condition={"StringEquals": {"sts:ExternalId": "x-1"}},
        ),
    )
    g = build(lam, audit)
    kinds = {n["uid"]: n for n in g.nodes}
    assert kinds["lambda.amazonaws.com"]["kind"] == "aws_service_principal"
    foreign_root = f"arn:aws:iam::{FOREIGN}:root"
    assert kinds[foreign_root]["kind"] == "aws_account"
    assert kinds[foreign_root]["props"] == {"external": True}
    assert kinds[foreign_root]["admin"] is False
    assume = edges(g, "CAN_ASSUME")
    svc = assume[("lambda.amazonaws.com", lam.uid)]
    assert svc["conditional"] is False
    assert svc["reason"].startswith(
        "trust policy of role fn-role allows service lambda.amazonaws.com: "
    )
    ext = assume[(foreign_root, audit.uid)]
    assert ext["conditional"] is True
    assert ext["condition_keys"] == ["sts:ExternalId"]
    assert ext["reason"].startswith(
        f"trust policy of role security-audit allows account {FOREIGN} with sts:ExternalId "
        "condition: "
    )
    assert g.stats["added_nodes"] == {"aws_account (external)": 1, "aws_service_principal": 1}


def test_trust_for_everyone_and_for_a_web_identity_provider() -> None:
    anyone = role("open", trusts=trust({"AWS": "*"}))
    org_only = role(
        "org", trusts=trust({"AWS": "*"}, Condition={"StringEquals": {"aws:PrincipalOrgID": "o-1"}})
    )
    gh = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    ci = role(
        "github-deploy",
        trusts=doc(
            {"Effect": "Allow", "Principal": {"Federated": gh},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub":
                                          "repo:acme/*"}}}
        ),
    )  # fmt: skip
    dev = user("dev")
    g = build(anyone, org_only, ci, dev)
    assume = edges(g, "CAN_ASSUME")
    e = assume[(INTERNET_UID, anyone.uid)]
    assert e["conditional"] is False
    assert e["reason"].startswith("trust policy of role open allows any AWS principal: ")
    assert (dev.uid, anyone.uid) in assume  # named directly ("*"): no identity policy needed
    assert (INTERNET_UID, org_only.uid) not in assume  # outside callers are in no org
    assert assume[(dev.uid, org_only.uid)]["condition_keys"] == ["aws:PrincipalOrgID"]
    fed = assume[(gh, ci.uid)]
    assert node(g, gh)["kind"] == "aws_federated_principal"
    assert fed["conditional"] is True
    assert fed["props"]["action"] == "sts:AssumeRoleWithWebIdentity"
    assert fed["condition_keys"] == ["token.actions.githubusercontent.com:sub"]


def test_assume_anything_does_not_reach_a_role_that_trusts_only_a_service() -> None:
    admin = role(
        "admin-role", trusts=trust({"Service": "lambda.amazonaws.com"}), managed=[ADMIN_ARN]
    )
    processor = role(
        "lambda-processor",
        trusts=trust({"Service": "lambda.amazonaws.com"}),
        inline={"assume-anything": doc(allow("sts:AssumeRole"))},
    )
    # PassRole limited to a low-privilege role does not open a way to admin-role either.
    low = role("low", trusts=trust({"Service": "lambda.amazonaws.com"}))
    deployer = user(
        "deployer",
        inline={"deploy": doc(allow("iam:PassRole", low.uid), allow("lambda:CreateFunction"))},
    )
    g = build(admin_policy(), admin, processor, low, deployer)
    assume = edges(g, "CAN_ASSUME")
    assert (processor.uid, admin.uid) not in assume
    assert not any(src in (processor.uid, deployer.uid) for src, _dst in assume)
    assert not [k for k in edges(g, "CAN_ACCESS") if k[0] == deployer.uid]


# -- CAN_ACCESS -------------------------------------------------------------------------------


def _pipeline(*extra_statements: dict[str, Any], boundary: str | None = None) -> Resource:
    return role(
        "data-pipeline-role",
        managed=[iam_arn("policy", "data-pipeline-s3")],
        inline={"extra": doc(*extra_statements)} if extra_statements else None,
        boundary=boundary,
    )


def _pipeline_policy() -> Resource:
    return policy(
        "data-pipeline-s3",
        doc({"Sid": "PipelineBuckets", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
    )


def test_s3_full_access_gives_admin_level_on_every_bucket() -> None:
    g = build(_pipeline_policy(), _pipeline(), bucket("a"), bucket("b"))
    access = edges(g, "CAN_ACCESS")
    for name in ("a", "b"):
        e = access[(iam_arn("role", "data-pipeline-role"), f"arn:aws:s3:::{name}")]
        assert e["level"] == "admin" and e["conditional"] is False
        assert {"s3:GetObject", "s3:PutObject", "s3:PutBucketPolicy", "s3:ListBucket"} <= set(
            e["actions"]
        )
        assert e["reason"] == (
            f"s3:PutBucketPolicy on arn:aws:s3:::{name} is allowed: policy data-pipeline-s3 "
            "statement 0 (PipelineBuckets) allows s3:* on *"
        )


def test_explicit_deny_removes_access() -> None:
    g = build(
        _pipeline_policy(),
        _pipeline(deny("s3:*", ["arn:aws:s3:::secret", "arn:aws:s3:::secret/*"])),
        bucket("secret"),
        bucket("open"),
    )
    access = edges(g, "CAN_ACCESS")
    pipeline = iam_arn("role", "data-pipeline-role")
    assert (pipeline, "arn:aws:s3:::secret") not in access
    assert (pipeline, "arn:aws:s3:::open") in access


def test_permissions_boundary_limits_access() -> None:
    boundary = policy("read-only-boundary", doc(allow(["s3:GetObject", "s3:ListBucket"])))
    g = build(_pipeline_policy(), boundary, _pipeline(boundary=boundary.uid), bucket("a"))
    e = edges(g, "CAN_ACCESS")[(iam_arn("role", "data-pipeline-role"), "arn:aws:s3:::a")]
    assert e["level"] == "read"
    assert e["actions"] == ["s3:ListBucket", "s3:GetObject"]


def test_bucket_policy_cross_account_grant_and_same_account_direct_grant() -> None:
    reader = user("reader")
    grant = doc(
        {"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:root"},
         "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::shared/*"},
        {"Sid": "PartnerRole", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{FOREIGN}:role/etl"},
         "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::shared/*"},
        {"Sid": "Reader", "Effect": "Allow", "Principal": {"AWS": reader.uid},
         "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::shared"},
    )  # fmt: skip
    g = build(reader, bucket("shared", bucket_policy=grant), bucket("private"))
    access = edges(g, "CAN_ACCESS")
    partner = access[(f"arn:aws:iam::{FOREIGN}:root", "arn:aws:s3:::shared")]
    assert partner["actions"] == ["s3:GetObject"] and partner["level"] == "read"
    assert partner["reason"] == (
        "s3:GetObject on arn:aws:s3:::shared/* is allowed: bucket policy of shared statement 0 "
        f'(Partner) allows s3:GetObject on arn:aws:s3:::shared/* to {{"AWS": '
        f'"arn:aws:iam::{FOREIGN}:root"}}'
    )
    assert partner["props"]["identity_side"] == "not evaluated"
    etl = access[(f"arn:aws:iam::{FOREIGN}:role/etl", "arn:aws:s3:::shared")]
    # The role also gets what the policy grants its account (its own policies permitting).
    assert etl["actions"] == ["s3:PutObject", "s3:GetObject"] and etl["level"] == "write"
    assert node(g, f"arn:aws:iam::{FOREIGN}:role/etl")["props"] == {
        "in_inventory": False,
        "external": True,
    }
    assert access[(reader.uid, "arn:aws:s3:::shared")]["actions"] == ["s3:ListBucket"]
    assert not [k for k in access if k[1] == "arn:aws:s3:::private"]


def test_conditional_access_and_prefix_scoped_access() -> None:
    alice = user(
        "alice",
        inline={
            "office": doc(
                allow("s3:GetObject", "arn:aws:s3:::reports/*",
                      Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
                allow("s3:PutObject", "arn:aws:s3:::uploads/alice/*"),
            )
        },
    )  # fmt: skip
    g = build(alice, bucket("reports"), bucket("uploads"), bucket("other"))
    access = edges(g, "CAN_ACCESS")
    rep = access[(alice.uid, "arn:aws:s3:::reports")]
    assert rep["conditional"] is True and rep["level"] == "read"
    assert rep["props"]["condition_keys"] == ["aws:SourceIp"]
    assert "conditional on aws:SourceIp" in rep["reason"]
    up = access[(alice.uid, "arn:aws:s3:::uploads")]
    assert up["actions"] == ["s3:PutObject"]
    assert up["props"]["object_scopes"] == ["arn:aws:s3:::uploads/alice/*"]
    assert (alice.uid, "arn:aws:s3:::other") not in access


def test_kms_key_policy_must_delegate_to_the_account() -> None:
    def key(name: str, principal: str) -> Resource:
        return res(
            "aws_kms_key",
            name,
            uid=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{name}",
            config={
                "key_manager": "CUSTOMER",
                "aliases": [f"alias/{name}"],
                "policy": doc(
                    {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "kms:*",
                     "Resource": "*"}
                ),
            },
        )  # fmt: skip

    app = role("app", inline={"kms": doc(allow("kms:Decrypt"))})
    other = iam_arn("role", "key-admin")
    g = build(app, key("delegated", ROOT), key("closed", other))
    access = edges(g, "CAN_ACCESS")
    e = access[(app.uid, f"arn:aws:kms:us-east-1:{ACCOUNT}:key/delegated")]
    assert e["actions"] == ["kms:Decrypt"]
    assert "key policy of alias/delegated statement 0" in e["reason"]
    assert (app.uid, f"arn:aws:kms:us-east-1:{ACCOUNT}:key/closed") not in access


def test_cached_and_uncached_builds_agree() -> None:
    resources = [
        admin_policy(),
        _pipeline_policy(),
        role("admin", managed=[ADMIN_ARN]),
        _pipeline(deny("s3:DeleteBucket")),
        role("admin-2", managed=[ADMIN_ARN]),
        user("tagged", inline={"t": doc(allow("s3:GetObject", Condition={
            "StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}}))}),
        bucket("a", tags={"team": "x"}),
        bucket("b", bucket_policy=PUBLIC_READ),
        bucket("c", bucket_policy=doc(deny("s3:*", "*", Principal="*",
               Condition={"Bool": {"aws:SecureTransport": "false"}}))),
    ]  # fmt: skip
    inv = Inventory(resources)
    cached = build_graph(inv)
    plain = build_graph(inv, cache=False)
    assert cached.stats["evaluator"]["cache_hits"] > 0
    assert plain.stats["evaluator"]["cache_hits"] == 0
    assert len(cached.edges) == len(plain.edges)
    assert sorted(json.dumps(e, sort_keys=True) for e in cached.edges) == sorted(
        json.dumps(e, sort_keys=True) for e in plain.edges
    )


def test_rebuild_graph_writes_the_store(store: LadybugStore) -> None:
    inst = instance(
        "web", subnet_uid=subnet_uid("public-a"), sgs=[sg_uid("ssh")], public_ip="54.1.2.3"
    )
    out = rebuild_graph(store, Inventory([*public_network(), sg("ssh", tcp(22)), inst]), "test")
    assert out["edges"]["EXPOSED_TO"] == 1 and out["skipped_edges"] == 0
    assert out["build"]["edges"]["EXPOSED_TO"] == 1
    rows = store.query(
        "test",
        "MATCH (:Node {kind: 'internet'})-[e:EXPOSED_TO]->(r:Node) RETURN r.uid, e.ports",
    ).rows
    assert rows == [[inst.uid, "22"]]


# -- sensitive-data rules -----------------------------------------------------------------------


def test_sensitive_rules_defaults_and_mapping() -> None:
    rules = SensitiveRules()
    assert rules.reason(bucket("x", tags={"Data-Classification": "PII"})) == (
        "tag Data-Classification=PII"
    )
    assert rules.reason(bucket("acme-customer-exports")) == "name matches *customer*"
    assert rules.reason(bucket("web-assets")) is None
    db = res("aws_db_instance", "orders", tags={"environment": "production"})
    assert rules.reason(db) == "tag environment=production"
    # environment=production alone does not make a bucket sensitive.
    assert rules.reason(bucket("site", tags={"environment": "production"})) is None
    secret = res("aws_secretsmanager_secret", "api-token")
    assert rules.reason(secret) == "every aws_secretsmanager_secret is sensitive"
    # Only the data types are judged.
    assert rules.reason(res("aws_instance", "customer-web")) is None

    custom = SensitiveRules.from_mapping(
        {"tags": {"owner": "*"}, "name_patterns": ["*-ledger"], "always": []}
    )
    assert custom.reason(bucket("b", tags={"owner": "finance"})) == "tag owner=finance"
    assert custom.reason(bucket("gl-ledger")) == "name matches *-ledger"
    assert custom.reason(bucket("customer")) == "name matches *customer*"  # defaults kept
    replaced = SensitiveRules.from_mapping(
        {"extend": False, "name_patterns": ["*-ledger"], "always": []}
    )
    assert replaced.reason(bucket("customer")) is None
    assert replaced.reason(secret) is None
    assert replaced.reason(bucket("x", tags={"sensitivity": "high"})) == "tag sensitivity=high"
    with pytest.raises(StratusecError, match="unknown sensitive-data rule keys"):
        SensitiveRules.from_mapping({"patterns": []})


def test_builder_takes_custom_sensitive_rules() -> None:
    rules = SensitiveRules.from_mapping({"extend": False, "tags": {}, "name_patterns": ["web-*"]})
    g = build(bucket("web-assets"), bucket("acme-customer-data"), sensitive=rules)
    assert node(g, "arn:aws:s3:::web-assets")["sensitive"] is True
    assert node(g, "arn:aws:s3:::acme-customer-data")["sensitive"] is False


# -- the demo account ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Inventory, GraphData]]:
    from stratusec.demo import manager
    from stratusec.operations.context import Context

    mp = pytest.MonkeyPatch()
    mp.setenv("STRATUSEC_HOME", str(tmp_path_factory.mktemp("demo-graph-home")))
    try:
        manager.up()
        proc = subprocess.run(
            [sys.executable, "-m", "stratusec.cli.app", "scan", "--account", "acme-prod",
             "--output", "json", "--no-progress"],
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        # 1 = a partial scan (some API failed on the emulator): the graph is still built
        # from what was collected, and the assertions below name what they need.
        assert proc.returncode in (0, 1), proc.stdout + proc.stderr
        scan = json.loads(proc.stdout)["scans"][0]
        ctx = Context.load()
        resources = list(ctx.store.iter_resources(scan["scan_id"]))
        ctx.close()
        inv = Inventory(resources)
        yield inv, build_graph(inv)
    finally:
        manager.down()
        mp.undo()


def _rec(inv: Inventory, type_: str, name: str) -> Resource:
    r = inv.named(type_, name)
    assert r is not None, (type_, name)
    return r


def _uid(inv: Inventory, type_: str, name: str) -> str:
    return _rec(inv, type_, name).uid


@pytest.mark.slow
def test_demo_graph(demo: tuple[Inventory, GraphData]) -> None:
    inv, g = demo
    for n in g.nodes:
        normalize_node(n)
    for e in g.edges:
        normalize_edge(e)
    exposed_to = edges(g, "EXPOSED_TO")
    access = edges(g, "CAN_ACCESS")
    runs = edges(g, "RUNS_AS")
    role = lambda name: iam_arn("role", name)  # noqa: E731

    # The ECS data pipeline: service -> task definition -> data-pipeline-role -> every bucket.
    svc = _uid(inv, "aws_ecs_service", "data-pipeline")
    [td] = _rec(inv, "aws_ecs_service", "data-pipeline").targets("USES_TASK_DEFINITION")
    assert (td, role("data-pipeline-role")) in runs
    assert runs[(svc, role("data-pipeline-role"))]["props"]["via"] == td
    buckets = [b.uid for b in inv.of_type("aws_s3_bucket")]
    assert len(buckets) == 4
    for b in buckets:
        e = access[(role("data-pipeline-role"), b)]
        assert e["level"] == "admin" and e["conditional"] is False
        assert (
            "policy data-pipeline-s3 statement 0 (PipelineBuckets) allows s3:* on *"
            in (e["reason"])
        )

    assert node(g, role("admin-role"))["admin"] is True
    admins = [n["name"] for n in g.nodes if n["admin"] and n["kind"] != "aws_account"]
    assert admins == ["admin-role"]

    api = _uid(inv, "aws_instance", "prod-api-server")
    e = exposed_to[(INTERNET_UID, api)]
    assert "22" in e["ports"].split(",")
    assert "port 22 open to 0.0.0.0/0" in e["reason"] and "(ssh-open" in e["reason"]
    assert "subnet public-a (route 0.0.0.0/0 -> igw-" in e["reason"]
    # ... and it runs as api-server-role, which can read the orders queue.
    assert (api, role("api-server-role")) in runs
    queue = _uid(inv, "aws_sqs_queue", "orders-queue")
    assert access[(role("api-server-role"), queue)]["actions"] == [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
    ]

    assets = _uid(inv, "aws_s3_bucket", "acme-public-assets")
    assert "public through its bucket policy" in exposed_to[(INTERNET_UID, assets)]["reason"]
    assert (INTERNET_UID, _uid(inv, "aws_s3_bucket", "acme-audit-logs")) not in exposed_to

    for type_, name in (
        ("aws_s3_bucket", "acme-customer-data"),
        ("aws_db_instance", "orders-db"),
        ("aws_dynamodb_table", "orders"),
        ("aws_secretsmanager_secret", "prod/orders-db/password"),
    ):
        assert node(g, _uid(inv, type_, name))["sensitive"] is True, name
    assert node(g, assets)["sensitive"] is False

    # security-audit: trusted by the security account only with an external id.
    ext = edges(g, "CAN_ASSUME")[(f"arn:aws:iam::{FOREIGN}:root", role("security-audit"))]
    assert ext["conditional"] is True and ext["condition_keys"] == ["sts:ExternalId"]

    # lambda-processor (sts:AssumeRole on *) -> admin-role through the BreakGlass statement,
    # which admits the account (the identity side must allow too, and does).
    e = edges(g, "CAN_ASSUME")[(role("lambda-processor"), role("admin-role"))]
    assert e["conditional"] is False
    assert "policy assume-anything statement 0 allows sts:AssumeRole on *" in e["reason"]
    assert "trust policy of role admin-role statement 1 (BreakGlass)" in e["reason"]
    fn = _uid(inv, "aws_lambda_function", "order-processor")
    assert (fn, role("lambda-processor")) in runs

    # The Internet reaches the data pipeline tasks (public IPs in public-a, port 8080 open),
    # orders-db (public subnets, 5432 open) and the order-processor function URL.
    why = not_exposed(g)
    for name in ("data-pipeline", "orders-db", "order-processor"):
        assert name not in why, why.get(name)
    assert "8080" in exposed(g, svc)["ports"].split(",")
    url = exposed(g, _uid(inv, "aws_lambda_function", "order-processor"))
    assert "function URL" in url["reason"]


@pytest.mark.slow
def test_demo_internet_reaches_the_data_pipeline(demo: tuple[Inventory, GraphData]) -> None:
    inv, g = demo
    e = edges(g, "EXPOSED_TO")[(INTERNET_UID, _uid(inv, "aws_ecs_service", "data-pipeline"))]
    assert "subnet public-a (route 0.0.0.0/0 -> igw-" in e["reason"]


@pytest.mark.slow
def test_demo_orders_db_is_exposed(demo: tuple[Inventory, GraphData]) -> None:
    inv, g = demo
    e = edges(g, "EXPOSED_TO")[(INTERNET_UID, _uid(inv, "aws_db_instance", "orders-db"))]
    assert e["ports"] == "5432"


@pytest.mark.slow
def test_demo_graph_loads_and_paths_run(
    demo: tuple[Inventory, GraphData], store: LadybugStore
) -> None:
    inv, g = demo
    info = store.replace("acme-prod", g.nodes, g.edges, strict=True)
    assert sum(info.edges.values()) == len(g.edges)
    # Internet <- prod-api-server -RUNS_AS-> api-server-role -CAN_ACCESS-> orders-queue.
    rows = store.query(
        "acme-prod",
        "MATCH (i:Node {kind: 'internet'})-[x:EXPOSED_TO]->(c:Node)-[:RUNS_AS]->(r:Node)"
        "-[a:CAN_ACCESS]->(t:Node) RETURN c.name, x.ports, r.name, t.name, a.level "
        "ORDER BY t.name",
    ).rows
    assert ["prod-api-server", "22,443", "api-server-role", "orders-queue", "write"] in rows

    # The attack-path query walks every hop forwards, from the Internet or a principal.
    def paths(entries: list[str], targets: list[str], to: str) -> list[list[str]]:
        text, params = Q.attack_paths(6).render(
            "ladybug", "acme-prod", entries=entries, targets=targets, to=to, max_paths=50
        )
        return [r[3] for r in store.query("acme-prod", text, params).rows]

    api = _uid(inv, "aws_instance", "prod-api-server")
    queue = _uid(inv, "aws_sqs_queue", "orders-queue")
    assert [INTERNET_UID, api, iam_arn("role", "api-server-role"), queue] in paths(
        [INTERNET_UID], [queue], "any"
    )
    fn = _uid(inv, "aws_lambda_function", "order-processor")
    assert [fn, iam_arn("role", "lambda-processor"), iam_arn("role", "admin-role")] in paths(
        [fn], [], "admin"
    )
