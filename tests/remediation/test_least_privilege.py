"""Least privilege for an over-broad S3 grant: the demo's data-pipeline-s3 narrowed to the
bucket its ECS workload names, proven with the IAM evaluator, applied after another
human's approval, verified by a re-check and rolled back; plus Lambda evidence on an
inline role policy, the ``resources`` option, and the cases the fixer refuses."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from stratusec.demo import manager
from stratusec.governance.gate import Governor
from stratusec.iam.evaluator import evaluate
from stratusec.iam.request import Principal, Request
from stratusec.inventory.models import Resource
from stratusec.operations.context import Context
from stratusec.remediation.engine import RemediationError
from stratusec.remediation.usage import (
    CHECK_ID,
    ObservedUse,
    UsageError,
    least_privilege_report,
    narrow_s3_policy,
    prove,
)
from tests.remediation.conftest import FixLab

pytestmark = pytest.mark.slow

ACCT = "123456789012"
PIPELINE_ROLE = f"arn:aws:iam::{ACCT}:role/data-pipeline-role"
PIPELINE_POLICY = f"arn:aws:iam::{ACCT}:policy/data-pipeline-s3"
S3_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "All", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


def _allowed(doc: Any, action: str, resource: str, who: str = PIPELINE_ROLE) -> bool:
    req = Request(Principal.from_arn(who), action, resource, resource_account=ACCT)
    return evaluate(req, identity_policies=[doc]).allowed


def _lookup(lab: FixLab) -> Any:
    scan = lab.ctx.store.latest_scan(lab.account.name)
    assert scan is not None

    def lookup(type_: str) -> list[Resource]:
        return list(lab.ctx.store.iter_resources(scan.id, types=[type_], include_raw=False))

    return lookup


# -- the demo -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FixLab, str]]:
    mp = pytest.MonkeyPatch()
    home = str(tmp_path_factory.mktemp("lp-demo-home"))
    mp.setenv("STRATUSEC_HOME", home)
    try:
        manager.up()
        ctx = Context.load()
        lab = FixLab(
            ctx=ctx,
            account=ctx.config.account("acme-prod"),
            gov=Governor.from_config(ctx.config, ctx.store),
        )
        lab.scan()
        yield lab, home
        ctx.close()
    finally:
        manager.down()
        mp.undo()


@pytest.fixture
def demo(demo_lab: tuple[FixLab, str], monkeypatch: pytest.MonkeyPatch) -> FixLab:
    """The demo's lab, with STRATUSEC_HOME (where the graph lives) pointing at its home."""
    lab, home = demo_lab
    monkeypatch.setenv("STRATUSEC_HOME", home)
    return lab


def test_demo_plan_narrows_to_the_workloads_bucket(demo: FixLab) -> None:
    plan = demo.plan(demo.finding(CHECK_ID, "data-pipeline-s3"))
    assert plan["fixer"] == "iam_least_privilege_s3"
    (call,) = plan["calls"]
    assert call["operation"] == "create_policy_version"
    assert call["params"]["SetAsDefault"] is True
    assert call["resource_arn"] == PIPELINE_POLICY
    new = json.loads(call["params"]["PolicyDocument"])
    assert plan["after"] == {"policy": new}
    # The policy diff: s3:* on * before, the pipeline's bucket after.
    (d,) = plan["diff"]
    assert d["key"] == "policy" and d["before"]["Statement"][0]["Action"] == "s3:*"
    assert new["Statement"] == [
        {
            "Sid": "ObservedObjectReadWrite",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::acme-customer-data/*",
        },
        {
            "Sid": "ObservedBucketList",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::acme-customer-data",
        },
    ]
    # Independently of the fixer's own proof: the evaluator on the new document.
    obj = "arn:aws:s3:::acme-customer-data/exports/2026-11-24.csv"
    assert _allowed(new, "s3:GetObject", obj) and _allowed(new, "s3:PutObject", obj)
    assert _allowed(new, "s3:ListBucket", "arn:aws:s3:::acme-customer-data")
    assert not _allowed(new, "s3:PutBucketPolicy", "arn:aws:s3:::acme-customer-data")
    assert not _allowed(new, "s3:DeleteObject", obj)
    assert not _allowed(new, "s3:GetObject", "arn:aws:s3:::acme-audit-logs/trail.json")
    assert not _allowed(new, "s3:GetObject", "arn:aws:s3:::someone-elses-bucket/x")
    # Rollback: the previous default version back, the narrowed one deleted.
    assert [(c["operation"], c["params"]["VersionId"]) for c in plan["rollback"]] == [
        ("set_default_policy_version", "v1"),
        ("delete_policy_version", "v2"),
    ]
    assert plan["session_policy"]["Statement"] == [
        {"Effect": "Allow", "Action": ["iam:CreatePolicyVersion"], "Resource": PIPELINE_POLICY}
    ]
    assert 'resource "aws_iam_policy" "data_pipeline_s3"' in plan["terraform"]
    assert "acme-customer-data/*" in plan["terraform"]
    notes = "\n".join(plan["notes"])
    assert "--- data-pipeline-s3 (before)" in notes and '-      "Action": "s3:*",' in notes
    assert "Access Advisor" in notes and "not collected" in notes
    assert "task definition data-pipeline:1 container etl: environment variable TARGET_BUCKET" in (
        notes
    )
    assert "3 of 3 observed (action, resource) pairs are still allowed" in notes
    assert f"{CHECK_ID} on the new document(s): PASS" in notes
    # The blast radius names the role that holds the policy.
    assert PIPELINE_ROLE in [u["uid"] for u in plan["blast_radius"]["used_by"]]


def test_demo_report_proves_the_narrowing(demo: FixLab) -> None:
    scan = demo.ctx.store.latest_scan("acme-prod")
    assert scan is not None
    pol = demo.ctx.store.get_resource(scan.id, PIPELINE_POLICY)
    assert pol is not None
    report = least_privilege_report(pol, _lookup(demo))
    assert report["principals"] == [PIPELINE_ROLE]
    usage = report["usage"]
    assert usage["sources"]["access_advisor"].startswith("not collected")
    assert usage["sources"]["cloudtrail_events"].startswith("not collected")
    assert {w["name"] for w in usage["workloads"]} == {"data-pipeline:1", "data-pipeline"}
    (use,) = usage["uses"]
    assert (use["name"], use["write"], use["in_inventory"]) == ("acme-customer-data", True, True)
    (p,) = report["policies"]
    proof = p["proof"]
    assert proof["holds"] and proof["all_observed_allowed"] and not proof["added"]
    assert {(o["action"], o["before"], o["after"]) for o in proof["observed"]} == {
        ("s3:GetObject", "allow", "allow"),
        ("s3:PutObject", "allow", "allow"),
        ("s3:ListBucket", "allow", "allow"),
    }
    removed = {(r["action"], r["resource"]) for r in proof["removed"]["pairs"]}
    assert proof["removed"]["count"] == len(removed) > 300
    for pair in [
        ("s3:PutBucketPolicy", "arn:aws:s3:::acme-customer-data"),
        ("s3:DeleteObject", "arn:aws:s3:::acme-customer-data/stratusec-sample-object"),
        ("s3:GetObject", "arn:aws:s3:::acme-audit-logs/stratusec-sample-object"),
        ("s3:DeleteBucket", "arn:aws:s3:::acme-public-assets"),
        ("s3:PutObject", "arn:aws:s3:::stratusec-any-other-bucket/stratusec-sample-object"),
        ("s3:ListAllMyBuckets", "*"),
    ]:
        assert pair in removed, pair
    assert not {("s3:GetObject", o["resource"]) for o in proof["observed"]} & removed
    # Every bucket of the account shows up among the examples.
    example_resources = {e["resource"] for e in proof["removed"]["examples"]}
    assert "arn:aws:s3:::acme-eu-backups" in example_resources
    assert report["check_after"]["status"] == "PASS"
    assert report["warnings"] == []


def test_demo_apply_is_verified_and_rolled_back(demo: FixLab) -> None:
    client = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=demo.account.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    plan = demo.plan(demo.finding(CHECK_ID, "data-pipeline-s3"))
    applied = demo.apply(plan)
    assert applied["status"] == "applied"
    ver = applied["result"]["verification"]
    assert ver["resolved"] and ver["check_status"] == "PASS", ver
    assert ver["matches_expected"], ver
    assert not demo.findings(CHECK_ID)  # the finding is resolved
    live = client.get_policy(PolicyArn=PIPELINE_POLICY)["Policy"]
    assert live["DefaultVersionId"] == "v2"
    doc = client.get_policy_version(PolicyArn=PIPELINE_POLICY, VersionId="v2")["PolicyVersion"]
    assert doc["Document"] == plan["after"]["policy"]
    demo.rollback(applied)
    live = client.get_policy(PolicyArn=PIPELINE_POLICY)["Policy"]
    assert live["DefaultVersionId"] == "v1"
    versions = client.list_policy_versions(PolicyArn=PIPELINE_POLICY)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v1"]


# -- moto: Lambda evidence, an inline role policy ------------------------------------------
def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return 'ok'\n")
    return buf.getvalue()


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        }
    )


INLINE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Everything",
            "Effect": "Allow",
            "Action": ["s3:*", "dynamodb:GetItem"],
            "Resource": "*",
        },
        {"Sid": "Logs", "Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"},
    ],
}


def test_lambda_evidence_narrows_an_inline_role_policy(fixlab: Any, aws: Any) -> None:
    iam, s3 = aws("iam"), aws("s3")
    for b in ("raw-events", "daily-reports", "finance-archive"):
        s3.create_bucket(Bucket=b)
    role = iam.create_role(
        RoleName="etl-fn", AssumeRolePolicyDocument=_trust("lambda.amazonaws.com")
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName="etl-fn", PolicyName="etl-access", PolicyDocument=json.dumps(INLINE)
    )
    aws("lambda").create_function(
        FunctionName="etl",
        Runtime="python3.12",
        Handler="handler.handler",
        Role=role,
        Code={"ZipFile": _zip()},
        Environment={
            "Variables": {
                "SOURCE_BUCKET": "raw-events",
                "OUTPUT_BUCKET": "s3://daily-reports/out/",
                "DB_PASSWORD": "hunter2-not-a-bucket",
                "ORDERS_TABLE": "orders",
                "ARCHIVE_BUCKET": "gone-bucket",
            }
        },
    )
    lab: FixLab = fixlab()
    aws("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    lab.scan("iam", "lambda", "s3", "dynamodb")
    plan = lab.plan(lab.finding(CHECK_ID, "etl-fn"))
    assert "hunter2" not in json.dumps(plan)
    (call,) = plan["calls"]
    assert (call["operation"], call["params"]["RoleName"], call["params"]["PolicyName"]) == (
        "put_role_policy",
        "etl-fn",
        "etl-access",
    )
    new = json.loads(call["params"]["PolicyDocument"])
    assert new["Statement"] == [
        # The statement's other action and the other statement are kept as they were.
        {"Sid": "Everything", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"},
        INLINE["Statement"][1],
        {
            "Sid": "ObservedObjectReadWrite",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::daily-reports/out/*",
        },
        {
            "Sid": "ObservedObjectRead",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::raw-events/*",
        },
        {
            "Sid": "ObservedBucketList",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": ["arn:aws:s3:::daily-reports", "arn:aws:s3:::raw-events"],
        },
    ]
    notes = "\n".join(plan["notes"])
    assert "actions of dynamodb, logs decide exactly as before" in notes
    assert "lambda function etl: environment variable OUTPUT_BUCKET" in notes
    assert "outside S3 (the policy's other statements are kept as they are): orders (dynamodb)" in (
        notes
    )
    assert (
        "WARNING: arn:aws:lambda:us-east-1:123456789012:function:etl: ARCHIVE_BUCKET=gone-bucket"
        in (notes)
    )
    assert not _allowed(new, "s3:PutObject", "arn:aws:s3:::raw-events/x", role)
    assert not _allowed(new, "s3:PutObject", "arn:aws:s3:::daily-reports/elsewhere/x", role)
    assert _allowed(new, "s3:PutObject", "arn:aws:s3:::daily-reports/out/2026/x", role)
    applied = lab.apply(plan)
    assert applied["result"]["verification"]["resolved"], applied["result"]
    assert applied["result"]["verification"]["matches_expected"]
    live = iam.get_role_policy(RoleName="etl-fn", PolicyName="etl-access")["PolicyDocument"]
    assert live == new
    lab.rollback(applied)
    live = iam.get_role_policy(RoleName="etl-fn", PolicyName="etl-access")["PolicyDocument"]
    assert live == INLINE


# -- moto: no evidence, the resources option, refusals ------------------------------------
def test_no_evidence_then_named_resources(fixlab: Any, aws: Any) -> None:
    iam, s3 = aws("iam"), aws("s3")
    for b in ("team-data", "other"):
        s3.create_bucket(Bucket=b)
    pol = iam.create_policy(PolicyName="team-s3", PolicyDocument=json.dumps(S3_ALL))["Policy"]
    iam.create_user(UserName="analyst")
    iam.attach_user_policy(UserName="analyst", PolicyArn=pol["Arn"])
    lab: FixLab = fixlab()
    lab.scan("iam", "s3")
    f = lab.finding(CHECK_ID, "team-s3")
    with pytest.raises(RemediationError) as e:
        lab.plan(f)
    msg = str(e.value)
    assert "no S3 usage is observed" in msg and "known buckets: other, team-data" in msg
    assert "Access Advisor and CloudTrail events are not collected" in msg
    with pytest.raises(RemediationError, match="'nope' is not in the account's latest scan; "):
        lab.plan(f, resources="nope")
    with pytest.raises(RemediationError, match="mode 'admin' is not one of: read, write"):
        lab.plan(f, resources="team-data=admin")
    with pytest.raises(RemediationError, match="must be a list or a comma-separated string"):
        lab.plan(f, resources=7)
    plan = lab.plan(f, resources=["team-data=write"])
    notes = "\n".join(plan["notes"])
    assert "named in the plan's 'resources' option" in notes
    assert "no usage evidence for arn:aws:iam::123456789012:user/analyst" in notes
    applied = lab.apply(plan)
    assert applied["result"]["verification"]["resolved"]
    assert iam.get_policy(PolicyArn=pol["Arn"])["Policy"]["DefaultVersionId"] == "v2"
    lab.rollback(applied)
    assert iam.get_policy(PolicyArn=pol["Arn"])["Policy"]["DefaultVersionId"] == "v1"
    versions = iam.list_policy_versions(PolicyArn=pol["Arn"])["Versions"]
    assert [v["VersionId"] for v in versions] == ["v1"]


def test_refusals(fixlab: Any, aws: Any) -> None:
    iam = aws("iam")
    aws("s3").create_bucket(Bucket="team-data")
    iam.create_role(RoleName="holder", AssumeRolePolicyDocument=_trust("ec2.amazonaws.com"))
    full = iam.create_policy(PolicyName="full-versions", PolicyDocument=json.dumps(S3_ALL))
    arn = full["Policy"]["Arn"]
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(S3_ALL))
    iam.attach_role_policy(RoleName="holder", PolicyArn=arn)
    not_action = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
    }
    iam.put_role_policy(
        RoleName="holder", PolicyName="all-but-iam", PolicyDocument=json.dumps(not_action)
    )
    lab: FixLab = fixlab()
    lab.scan("iam", "s3")
    opts = {"resources": "team-data"}
    with pytest.raises(RemediationError, match=r"already has 5 versions .* \(v2, v3, v4, v5\)"):
        lab.plan(lab.finding(CHECK_ID, "full-versions"), **opts)
    with pytest.raises(RemediationError, match="through NotAction/NotResource; narrow it by hand"):
        lab.plan(lab.finding(CHECK_ID, "holder"), **opts)
    with pytest.raises(RemediationError, match=r"unknown option\(s\) bucket"):
        lab.plan(lab.finding(CHECK_ID, "full-versions"), bucket="team-data")


# -- the narrowing and the proof on documents ----------------------------------------------
def test_aws_managed_policy_is_refused() -> None:
    # (moto here loads no AWS managed policies: the record is built as the collector does)
    res = Resource(
        uid="arn:aws:iam::aws:policy/AmazonS3FullAccess",
        account=ACCT,
        region="global",
        service="iam",
        type="aws_iam_policy",
        name="AmazonS3FullAccess",
        config={"aws_managed": True, "policy": S3_ALL, "attachment_count": 1},
    )
    with pytest.raises(UsageError, match="is an AWS managed policy: its document cannot be"):
        least_privilege_report(res, lambda _t: [])


def test_conditions_carry_over_and_a_wider_document_fails_the_proof() -> None:
    cond = {"Bool": {"aws:SecureTransport": "true"}}
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": cond},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::kept/*"},
        ],
    }
    use = ObservedUse(
        uid="arn:aws:s3:::in-use", type="aws_s3_bucket", name="in-use", service="s3", write=False
    )
    new, notes = narrow_s3_policy(doc, [use], account=ACCT)
    assert new["Statement"][0] == doc["Statement"][1]  # already specific: kept
    assert notes[0] == "statement #1: grants s3:* broadly; replaced"
    assert all(s.get("Condition") == cond for s in new["Statement"][1:])
    assert [s["Sid"] for s in new["Statement"][1:]] == ["ObservedObjectRead", "ObservedBucketList"]
    proof = prove(doc, new, [use], ["in-use", "kept"], account=ACCT)
    assert proof["holds"], proof
    # Conditional before, conditional after: still (conditionally) allowed.
    assert {o["before"] for o in proof["observed"]} == {"conditional"}
    wider = {
        **new,
        "Statement": [*new["Statement"], {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}],
    }
    bad = prove(doc, wider, [use], ["in-use"], account=ACCT)
    assert not bad["holds"]
    narrower = {**new, "Statement": new["Statement"][:1]}
    bad = prove(doc, narrower, [use], ["in-use"], account=ACCT)
    assert not bad["holds"] and not bad["all_observed_allowed"]
