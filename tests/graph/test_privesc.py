"""Privilege-escalation edges: per family a positive and negative cases (scoped PassRole,
explicit Deny, permissions boundary, unattached policy), conditional edges, multi-hop
targets, catalog coverage, and scale."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from stratusec.graph.privesc import (
    COVERED,
    EXTRA_IDS,
    FAMILIES,
    NOT_COVERED,
    PATHS,
    escalation_edges,
)
from stratusec.graph.schema import normalize_edge
from stratusec.inventory.models import Resource
from tests.checks.fixtures import inventory, res

ACCT = "123456789012"
ROOT = f"arn:aws:iam::{ACCT}:root"
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"
REPO = Path(__file__).resolve().parents[2]
CATALOG = Path(
    os.environ.get("STRATUSEC_PATHFINDING_DIR", REPO.parent / "shared/reference/pathfinding-cloud")
)


# --- builders ---------------------------------------------------------------------------------


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def trust(service: str | None = None, aws: str | None = None) -> dict[str, Any]:
    principal: dict[str, Any] = {}
    if service:
        principal["Service"] = service
    if aws:
        principal["AWS"] = aws
    return doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


def arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCT}:{kind}/{name}"


def role(
    name: str,
    *,
    trust_doc: dict[str, Any] | None = None,
    inline: dict[str, Any] | None = None,
    managed: list[str] | None = None,
    boundary: str | None = None,
    profile: bool = False,
) -> Resource:
    return res(
        "aws_iam_role",
        name,
        uid=arn("role", name),
        region="global",
        service="iam",
        config={
            "assume_role_policy": trust_doc or trust(aws=ROOT),
            "inline_policies": inline or {},
            "managed_policy_arns": managed or [],
            "permissions_boundary": boundary,
            "instance_profile_arns": [arn("instance-profile", name)] if profile else [],
        },
    )


def user(
    name: str,
    *,
    inline: dict[str, Any] | None = None,
    managed: list[str] | None = None,
    groups: list[str] | None = None,
    boundary: str | None = None,
    keys: int = 0,
    login: bool = False,
) -> Resource:
    return res(
        "aws_iam_user",
        name,
        uid=arn("user", name),
        region="global",
        service="iam",
        config={
            "inline_policies": inline or {},
            "managed_policy_arns": managed or [],
            "permissions_boundary": boundary,
            "access_keys": [{"id": f"AKIA{i}", "status": "Active"} for i in range(keys)],
            "login_profile": {"create_date": "2024-01-01"} if login else None,
            "password_enabled": login,
        },
        relationships=[("MEMBER_OF", arn("group", g)) for g in groups or []],
    )


def group(name: str, *, inline: dict[str, Any] | None = None, managed: list[str] | None = None):
    return res(
        "aws_iam_group",
        name,
        uid=arn("group", name),
        region="global",
        service="iam",
        config={"inline_policies": inline or {}, "managed_policy_arns": managed or []},
    )


def policy(
    name: str,
    document: dict[str, Any],
    *,
    uid: str | None = None,
    versions: list[dict[str, Any]] | None = None,
) -> Resource:
    aws = uid is not None and ":aws:policy/" in uid
    return res(
        "aws_iam_policy",
        name,
        uid=uid or arn("policy", name),
        region="global",
        service="iam",
        config={
            "policy": document,
            "aws_managed": aws,
            "policy_versions": versions
            or [{"version_id": "v1", "is_default_version": True, "policy": document}],
        },
    )


ADMIN_POLICY = policy("AdministratorAccess", doc(allow("*")), uid=ADMIN_ARN)


def admin_role(name: str = "admin", service: str | None = None, **kw: Any) -> Resource:
    return role(
        name,
        trust_doc=trust(service=service) if service else kw.pop("trust_doc", None),
        managed=[ADMIN_ARN],
        **kw,
    )


def edges(*resources: Resource) -> list[dict[str, Any]]:
    rows = escalation_edges(inventory(*resources))
    for r in rows:
        normalize_edge(r)  # every row fits the graph schema
    return rows


def found(rows: list[dict[str, Any]], path_id: str, src: str | None = None) -> list[dict]:
    return [r for r in rows if r["path_id"] == path_id and (src is None or r["from"] == src)]


def one(rows: list[dict[str, Any]], path_id: str, src: str, dst: str) -> dict[str, Any]:
    hits = [r for r in rows if r["path_id"] == path_id and r["from"] == src and r["to"] == dst]
    assert len(hits) == 1, [(r["path_id"], r["from"], r["to"]) for r in rows]
    return hits[0]


ALICE = arn("user", "alice")


# --- self-escalation --------------------------------------------------------------------------


def test_create_policy_version_on_own_policy_reaches_admin():
    pol = policy("alice-tools", doc(allow("iam:CreatePolicyVersion", arn("policy", "alice-tools"))))
    rows = edges(user("alice", managed=[pol.uid]), pol)
    e = one(rows, "iam-001", ALICE, ROOT)
    assert e["method"] == "iam:CreatePolicyVersion"
    assert e["conditional"] is False
    assert e["props"]["via"] == [pol.uid]
    assert e["props"]["family"] == "self"
    assert "iam:CreatePolicyVersion on " + pol.uid + " is allowed" in e["reason"]
    assert "alice-tools statement 0" in e["reason"]
    assert e["reason"].endswith("after the change alice is admin-equivalent")


def test_create_policy_version_on_a_policy_attached_to_nobody_privileged_is_no_path():
    # alice may rewrite 'orphan' (attached to nobody) and 'app-policy' (attached to a role
    # alice cannot assume): neither gives her anything.
    orphan = policy("orphan", doc(allow("s3:GetObject")))
    app_pol = policy("app-policy", doc(allow("s3:GetObject")))
    app = role("app", trust_doc=trust(service="lambda.amazonaws.com"), managed=[app_pol.uid])
    alice = user("alice", inline={"p": doc(allow("iam:CreatePolicyVersion"))})
    assert edges(alice, orphan, app_pol, app) == []


def test_create_policy_version_on_a_policy_of_an_assumable_role():
    app_pol = policy("app-policy", doc(allow("s3:GetObject")))
    app = role("app", trust_doc=trust(aws=ALICE), managed=[app_pol.uid])
    alice = user("alice", inline={"p": doc(allow("iam:CreatePolicyVersion", app_pol.uid))})
    rows = edges(alice, app_pol, app)
    e = one(rows, "iam-016", ALICE, app.uid)
    assert e["props"]["via"] == [app_pol.uid]
    assert found(rows, "iam-020") == []  # no iam:UpdateAssumeRolePolicy


def test_put_role_policy_on_itself():
    r = role("ci", inline={"p": doc(allow("iam:PutRolePolicy", arn("role", "ci")))})
    rows = edges(r)
    assert [(e["path_id"], e["to"]) for e in rows] == [("iam-005", ROOT)]


def test_explicit_deny_blocks_self_escalation():
    r = role(
        "ci",
        inline={"p": doc(allow("iam:PutRolePolicy", arn("role", "ci")), deny("iam:Put*"))},
    )
    assert edges(r) == []


def test_boundary_blocks_self_escalation():
    b = policy("boundary", doc(allow(["s3:*", "iam:PutRolePolicy"])))
    r = role("ci", inline={"p": doc(allow("iam:PutRolePolicy"))}, boundary=b.uid)
    # It may write any policy, but the boundary caps it at s3 + iam:PutRolePolicy.
    assert edges(r, b) == []


def test_boundary_that_does_not_grant_the_action_blocks():
    b = policy("boundary", doc(allow("s3:*")))
    pol = policy("tools", doc(allow("iam:CreatePolicyVersion", arn("policy", "tools"))))
    assert edges(user("alice", managed=[pol.uid], boundary=b.uid), b, pol) == []


def test_attach_policy_limited_by_policy_arn_condition():
    low = policy("read-only-ish", doc(allow("s3:GetObject")))

    def ci(allowed: str) -> Resource:
        return role(
            "ci",
            inline={
                "p": doc(
                    allow(
                        "iam:AttachRolePolicy",
                        arn("role", "ci"),
                        Condition={"ArnEquals": {"iam:PolicyARN": allowed}},
                    )
                )
            },
        )

    assert edges(ci(low.uid), low) == []
    rows = edges(ci(ADMIN_ARN), low)
    e = one(rows, "iam-009", arn("role", "ci"), ROOT)
    assert e["props"]["policy_attached"] == ADMIN_ARN


def test_group_paths_and_join_group():
    admins = group("admins", managed=[ADMIN_ARN])
    devs = group(
        "devs",
        inline={
            "p": doc(allow(["iam:PutGroupPolicy", "iam:AttachGroupPolicy"], arn("group", "devs")))
        },
    )
    alice = user("alice", groups=["devs"])
    rows = edges(alice, devs, admins, ADMIN_POLICY)
    assert {e["path_id"] for e in rows} == {"iam-010", "iam-011"}
    assert all(e["to"] == ROOT and e["props"]["via"] == [devs.uid] for e in rows)

    joiner = user("bob", inline={"p": doc(allow("iam:AddUserToGroup", arn("group", "admins")))})
    rows = edges(joiner, admins, ADMIN_POLICY)
    e = one(rows, "iam-013", arn("user", "bob"), ROOT)
    assert e["props"]["via"] == [admins.uid]
    # Adding itself to a group without admin rights is no path.
    weak = user("carol", inline={"p": doc(allow("iam:AddUserToGroup"))})
    assert found(edges(weak, devs), "iam-013") == []


def test_set_default_policy_version_to_an_admin_version():
    uid = arn("policy", "tools")
    pol = policy(
        "tools",
        doc(allow("iam:SetDefaultPolicyVersion", uid)),
        versions=[
            {
                "version_id": "v2",
                "is_default_version": True,
                "policy": doc(allow("iam:SetDefaultPolicyVersion", uid)),
            },
            {"version_id": "v1", "is_default_version": False, "policy": doc(allow("*"))},
        ],
    )
    e = one(edges(user("alice", managed=[uid]), pol), "stratusec-iam-001", ALICE, ROOT)
    assert e["props"]["version_id"] == "v1"
    # Without a privileged old version there is nothing to roll back to.
    plain = policy("tools", doc(allow("iam:SetDefaultPolicyVersion", uid)))
    assert edges(user("alice", managed=[uid]), plain) == []


# --- take over an existing principal ----------------------------------------------------------


def test_assume_role_trusting_the_user_directly_needs_no_identity_permission():
    adm = admin_role(trust_doc=trust(aws=ALICE))
    rows = edges(user("alice"), adm, ADMIN_POLICY)
    e = one(rows, "sts-001", ALICE, adm.uid)
    assert e["props"]["target_privilege"] == "admin"


def test_assume_role_trusting_the_account_needs_sts_permission():
    adm = admin_role(trust_doc=trust(aws=ROOT))
    assert edges(user("alice"), adm, ADMIN_POLICY) == []
    alice = user("alice", inline={"p": doc(allow("sts:AssumeRole", adm.uid))})
    assert one(edges(alice, adm, ADMIN_POLICY), "sts-001", ALICE, adm.uid)
    denied = user(
        "alice", inline={"p": doc(allow("sts:AssumeRole"), deny("sts:AssumeRole", adm.uid))}
    )
    assert edges(denied, adm, ADMIN_POLICY) == []


def test_assume_role_with_mfa_condition_is_conditional():
    t = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": ROOT},
            "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        }
    )
    adm = admin_role(trust_doc=t)
    alice = user("alice", inline={"p": doc(allow("sts:AssumeRole"))})
    e = one(edges(alice, adm, ADMIN_POLICY), "sts-001", ALICE, adm.uid)
    assert e["conditional"] is True
    assert e["props"]["condition_keys"] == ["aws:MultiFactorAuthPresent"]
    assert e["props"]["mfa_required"] is True


def test_update_assume_role_policy_on_an_admin_role():
    adm = admin_role(service="lambda.amazonaws.com")
    alice = user("alice", inline={"p": doc(allow("iam:UpdateAssumeRolePolicy", adm.uid))})
    assert one(edges(alice, adm, ADMIN_POLICY), "iam-012", ALICE, adm.uid)
    # A Deny on sts:AssumeRole makes the rewritten trust policy useless.
    blocked = user(
        "alice",
        inline={"p": doc(allow("iam:UpdateAssumeRolePolicy", adm.uid), deny("sts:AssumeRole"))},
    )
    assert edges(blocked, adm, ADMIN_POLICY) == []
    # On another role only: no edge.
    other = user(
        "alice", inline={"p": doc(allow("iam:UpdateAssumeRolePolicy", arn("role", "other")))}
    )
    assert edges(other, adm, ADMIN_POLICY) == []


def test_credentials_of_an_admin_user():
    root_user = user("ops", managed=[ADMIN_ARN], keys=1)
    alice = user(
        "alice",
        inline={"p": doc(allow(["iam:CreateAccessKey", "iam:CreateLoginProfile"], root_user.uid))},
    )
    rows = edges(alice, root_user, ADMIN_POLICY)
    assert {e["path_id"] for e in rows} == {"iam-002", "iam-004"}
    # Two keys already: only with DeleteAccessKey too (iam-003).
    full = user("ops", managed=[ADMIN_ARN], keys=2, login=True)
    assert {e["path_id"] for e in edges(alice, full, ADMIN_POLICY)} == set()
    alice2 = user(
        "alice",
        inline={
            "p": doc(
                allow(
                    ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:UpdateLoginProfile"],
                    full.uid,
                )
            )
        },
    )
    assert {e["path_id"] for e in edges(alice2, full, ADMIN_POLICY)} == {"iam-003", "iam-006"}
    # A non-admin user is no target.
    plain = user("dev", keys=0)
    assert edges(user("alice", inline={"p": doc(allow("iam:CreateAccessKey"))}), plain) == []


# --- rewrite another principal, then become it ------------------------------------------------


def test_put_role_policy_then_assume():
    app = role("app", trust_doc=trust(aws=ALICE))
    alice = user("alice", inline={"p": doc(allow("iam:PutRolePolicy", app.uid))})
    e = one(edges(alice, app), "iam-017", ALICE, app.uid)
    assert e["method"] == "iam:PutRolePolicy+sts:AssumeRole"
    assert e["props"]["target_privilege"] == "admin after change"
    # The role's boundary caps what the new policy can give: no edge.
    b = policy("boundary", doc(allow("s3:*")))
    capped = role("app", trust_doc=trust(aws=ALICE), boundary=b.uid)
    assert edges(alice, capped, b) == []
    # Without a way in (trust names someone else, no UpdateAssumeRolePolicy): no edge.
    closed = role("app", trust_doc=trust(service="lambda.amazonaws.com"))
    assert edges(alice, closed) == []


def test_attach_role_policy_and_update_trust():
    app = role("app", trust_doc=trust(service="lambda.amazonaws.com"))
    alice = user(
        "alice",
        inline={"p": doc(allow(["iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy"], app.uid))},
    )
    rows = edges(alice, app)
    assert {e["path_id"] for e in rows} == {"iam-019"}
    assert rows[0]["props"]["policy_attached"] == ADMIN_ARN


def test_put_user_policy_then_create_access_key():
    bob = user("bob", keys=0)
    alice = user(
        "alice", inline={"p": doc(allow(["iam:PutUserPolicy", "iam:CreateAccessKey"], bob.uid))}
    )
    assert {e["path_id"] for e in edges(alice, bob)} == {"iam-018"}
    full = user("bob", keys=2)
    assert edges(alice, full) == []


# --- PassRole + a new service resource --------------------------------------------------------


LAMBDA_ACTIONS = ["lambda:CreateFunction", "lambda:InvokeFunction"]


def test_passrole_to_lambda_reaches_the_admin_role():
    adm = admin_role(service="lambda.amazonaws.com")
    alice = user("alice", inline={"p": doc(allow(LAMBDA_ACTIONS), allow("iam:PassRole", adm.uid))})
    rows = edges(alice, adm, ADMIN_POLICY)
    e = one(rows, "lambda-001", ALICE, adm.uid)
    assert e["method"] == "iam:PassRole+lambda:CreateFunction+lambda:InvokeFunction"
    assert e["conditional"] is False
    assert e["props"]["passed_to"] == "lambda.amazonaws.com"
    assert f"iam:PassRole on {adm.uid} is allowed" in e["reason"]
    assert "admin is admin-equivalent" in e["reason"]
    # lambda-002 needs an event source; lambda-006 needs AddPermission: neither here.
    assert {r["path_id"] for r in rows} == {"lambda-001"}


def test_passrole_limited_to_a_low_privilege_role_is_no_path():
    adm = admin_role(service="lambda.amazonaws.com")
    low = role("low", trust_doc=trust(service="lambda.amazonaws.com"))
    alice = user("alice", inline={"p": doc(allow(LAMBDA_ACTIONS), allow("iam:PassRole", low.uid))})
    assert edges(alice, adm, low, ADMIN_POLICY) == []


def test_passrole_to_a_role_that_does_not_trust_the_service_is_no_path():
    adm = admin_role(service="ec2.amazonaws.com")
    alice = user("alice", inline={"p": doc(allow(LAMBDA_ACTIONS), allow("iam:PassRole"))})
    assert edges(alice, adm, ADMIN_POLICY) == []


def test_passrole_denied_or_outside_the_boundary_is_no_path():
    adm = admin_role(service="lambda.amazonaws.com")
    denied = user(
        "alice",
        inline={"p": doc(allow(LAMBDA_ACTIONS), allow("iam:PassRole"), deny("lambda:Create*"))},
    )
    assert edges(denied, adm, ADMIN_POLICY) == []
    b = policy("boundary", doc(allow(LAMBDA_ACTIONS)))
    bounded = user(
        "alice", inline={"p": doc(allow(LAMBDA_ACTIONS), allow("iam:PassRole"))}, boundary=b.uid
    )
    assert edges(bounded, adm, ADMIN_POLICY, b) == []


def test_passrole_with_unknown_condition_is_conditional():
    adm = admin_role(service="lambda.amazonaws.com")
    alice = user(
        "alice",
        inline={
            "p": doc(
                allow(LAMBDA_ACTIONS),
                allow(
                    "iam:PassRole",
                    adm.uid,
                    Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                ),
            )
        },
    )
    e = one(edges(alice, adm, ADMIN_POLICY), "lambda-001", ALICE, adm.uid)
    assert e["conditional"] is True
    assert e["props"]["condition_keys"] == ["aws:SourceIp"]


def test_passed_to_service_condition_is_evaluated():
    adm = admin_role(
        trust_doc=doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com", "ec2.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ),
        profile=True,
    )
    alice = user(
        "alice",
        inline={
            "p": doc(
                allow([*LAMBDA_ACTIONS, "ec2:RunInstances"]),
                allow(
                    "iam:PassRole",
                    adm.uid,
                    Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
                ),
            )
        },
    )
    rows = edges(alice, adm, ADMIN_POLICY)
    assert {r["path_id"] for r in rows} == {"ec2-001"}
    assert rows[0]["conditional"] is False


def test_create_limited_to_a_name_prefix_still_counts():
    adm = admin_role(service="lambda.amazonaws.com")
    fn = "arn:aws:lambda:*:*:function:dev-*"
    alice = user(
        "alice", inline={"p": doc(allow(LAMBDA_ACTIONS, fn), allow("iam:PassRole", adm.uid))}
    )
    e = one(edges(alice, adm, ADMIN_POLICY), "lambda-001", ALICE, adm.uid)
    assert e["props"]["permissions"][1]["resource"].startswith(
        f"arn:aws:lambda:us-east-1:{ACCT}:function:dev-"
    )


def test_run_instances_needs_an_instance_profile():
    alice = user("alice", inline={"p": doc(allow(["ec2:RunInstances", "iam:PassRole"]))})
    with_profile = admin_role(service="ec2.amazonaws.com", profile=True)
    assert one(edges(alice, with_profile, ADMIN_POLICY), "ec2-001", ALICE, with_profile.uid)
    without = admin_role(service="ec2.amazonaws.com")
    assert edges(alice, without, ADMIN_POLICY) == []
    # The profile can also be known from the instance profile record.
    prof = res(
        "aws_iam_instance_profile",
        "adm",
        uid=arn("instance-profile", "adm"),
        region="global",
        service="iam",
        relationships=[("RUNS_AS", without.uid)],
    )
    assert one(edges(alice, without, prof, ADMIN_POLICY), "ec2-001", ALICE, without.uid)


def test_ecs_paths_need_a_cluster():
    adm = admin_role(service="ecs-tasks.amazonaws.com")
    alice = user(
        "alice",
        inline={"p": doc(allow(["ecs:RegisterTaskDefinition", "ecs:RunTask", "iam:PassRole"]))},
    )
    assert edges(alice, adm, ADMIN_POLICY) == []  # no cluster, no ecs:CreateCluster
    cluster = res(
        "aws_ecs_cluster",
        "prod",
        uid=f"arn:aws:ecs:us-east-1:{ACCT}:cluster/prod",
        config={"status": "ACTIVE", "registered_container_instances_count": 0},
    )
    rows = edges(alice, adm, cluster, ADMIN_POLICY)
    assert {r["path_id"] for r in rows} == {"ecs-004"}  # ecs-005 needs container instances
    assert rows[0]["props"]["via"] == [cluster.uid]
    # RunTask limited to another cluster by ecs:cluster: no edge.
    scoped = user(
        "alice",
        inline={
            "p": doc(
                allow(["ecs:RegisterTaskDefinition", "iam:PassRole"]),
                allow(
                    "ecs:RunTask",
                    Condition={"ArnEquals": {"ecs:cluster": f"arn:aws:ecs:*:{ACCT}:cluster/dev"}},
                ),
            )
        },
    )
    assert edges(scoped, adm, cluster, ADMIN_POLICY) == []


def test_new_passrole_paths_of_every_service():
    services = {
        "cloudformation-001": ("cloudformation.amazonaws.com", ["cloudformation:CreateStack"]),
        "glue-001": ("glue.amazonaws.com", ["glue:CreateDevEndpoint"]),
        "glue-003": ("glue.amazonaws.com", ["glue:CreateJob", "glue:StartJobRun"]),
        "codebuild-001": (
            "codebuild.amazonaws.com",
            ["codebuild:CreateProject", "codebuild:StartBuild"],
        ),
        "sagemaker-001": ("sagemaker.amazonaws.com", ["sagemaker:CreateNotebookInstance"]),
        "datapipeline-001": (
            "datapipeline.amazonaws.com",
            [
                "datapipeline:CreatePipeline",
                "datapipeline:PutPipelineDefinition",
                "datapipeline:ActivatePipeline",
            ],
        ),
        "apprunner-001": ("tasks.apprunner.amazonaws.com", ["apprunner:CreateService"]),
    }
    for path_id, (svc, actions) in services.items():
        adm = admin_role(service=svc)
        alice = user("alice", inline={"p": doc(allow(actions), allow("iam:PassRole", adm.uid))})
        assert [r["path_id"] for r in edges(alice, adm, ADMIN_POLICY)] == [path_id], path_id
        # One permission short: nothing.
        short = user(
            "alice",
            inline={
                "p": doc(allow(actions[1:] or ["s3:GetObject"]), allow("iam:PassRole", adm.uid))
            },
        )
        assert edges(short, adm, ADMIN_POLICY) == [], path_id


def test_glue_update_job_needs_an_existing_job():
    adm = admin_role(service="glue.amazonaws.com")
    alice = user(
        "alice", inline={"p": doc(allow(["glue:UpdateJob", "glue:StartJobRun", "iam:PassRole"]))}
    )
    assert edges(alice, adm, ADMIN_POLICY) == []
    job = res("aws_glue_job", "etl", uid=f"arn:aws:glue:us-east-1:{ACCT}:job/etl")
    rows = edges(alice, adm, job, ADMIN_POLICY)
    assert {r["path_id"] for r in rows} == {"glue-005"}


def test_stackset_paths():
    exec_role = admin_role(
        "AWSCloudFormationStackSetExecutionRole", trust_doc=trust(aws=arn("role", "ss-admin"))
    )
    ss_admin = role(
        "ss-admin",
        trust_doc=trust(service="cloudformation.amazonaws.com"),
        inline={"p": doc(allow("sts:AssumeRole", exec_role.uid))},
    )
    alice = user(
        "alice",
        inline={
            "p": doc(
                allow(["cloudformation:CreateStackSet", "cloudformation:CreateStackInstances"]),
                allow("iam:PassRole", ss_admin.uid),
            )
        },
    )
    rows = edges(alice, exec_role, ss_admin, ADMIN_POLICY)
    e = one(rows, "cloudformation-003", ALICE, exec_role.uid)
    assert e["props"]["via"] == [ss_admin.uid]
    # The execution role does not trust the administration role: no edge.
    closed = admin_role(exec_role.name, trust_doc=trust(aws=arn("role", "other")))
    assert edges(alice, closed, ss_admin, ADMIN_POLICY) == []

    stack_set = res(
        "aws_cloudformation_stack_set",
        "baseline",
        uid=f"arn:aws:cloudformation:us-east-1:{ACCT}:stackset/baseline:1",
        config={
            "status": "ACTIVE",
            "permission_model": "SELF_MANAGED",
            "administration_role_arn": ss_admin.uid,
            "execution_role_name": exec_role.name,
            "instances": [{"account": ACCT, "region": "us-east-1"}],
        },
    )
    bob = user(
        "bob",
        inline={
            "p": doc(
                allow("cloudformation:UpdateStackSet", stack_set.uid),
                allow("iam:PassRole", ss_admin.uid),
            )
        },
    )
    rows = edges(bob, exec_role, ss_admin, stack_set, ADMIN_POLICY)
    assert one(rows, "cloudformation-004", bob.uid, exec_role.uid)["props"]["via"] == [
        stack_set.uid
    ]


# --- existing resources running as privileged roles -------------------------------------------


def fn(name: str, role_uid: str, **config: Any) -> Resource:
    return res(
        "aws_lambda_function",
        name,
        uid=f"arn:aws:lambda:us-east-1:{ACCT}:function:{name}",
        config={"role": role_uid, **config},
        relationships=[("RUNS_AS", role_uid)],
    )


def test_update_function_code_of_a_function_running_as_admin():
    adm = admin_role(service="lambda.amazonaws.com")
    f = fn("ops", adm.uid)
    other = fn("other", adm.uid)
    alice = user(
        "alice",
        inline={"p": doc(allow(["lambda:UpdateFunctionCode", "lambda:InvokeFunction"], f.uid))},
    )
    rows = edges(alice, adm, f, other, ADMIN_POLICY)
    e = one(rows, "lambda-004", ALICE, adm.uid)
    assert e["props"]["via"] == [f.uid]
    assert found(rows, "lambda-003") == []  # nothing invokes it by itself
    # With a function URL, UpdateFunctionCode alone is enough.
    public = fn("ops", adm.uid, function_urls=[{"authorization_type": "NONE"}])
    assert found(edges(alice, adm, public, ADMIN_POLICY), "lambda-003", ALICE)
    # Permissions on another function only: nothing.
    bob = user("bob", inline={"p": doc(allow("lambda:*", other.uid))})
    assert found(edges(bob, adm, f, ADMIN_POLICY), "lambda-004") == []


def test_update_function_code_of_a_low_privilege_function_is_no_path():
    low = role("low", trust_doc=trust(service="lambda.amazonaws.com"))
    f = fn("ops", low.uid)
    alice = user("alice", inline={"p": doc(allow("lambda:*"))})
    assert edges(alice, low, f) == []


@pytest.mark.parametrize(
    ("path_id", "rtype", "config", "actions", "role_key"),
    [
        ("glue-002", "aws_glue_dev_endpoint", {}, ["glue:UpdateDevEndpoint"], "RUNS_AS"),
        ("codebuild-002", "aws_codebuild_project", {}, ["codebuild:StartBuild"], "RUNS_AS"),
        (
            "sagemaker-004",
            "aws_sagemaker_notebook_instance",
            {"status": "InService"},
            ["sagemaker:CreatePresignedNotebookInstanceUrl"],
            "RUNS_AS",
        ),
        (
            "cloudformation-002",
            "aws_cloudformation_stack",
            {"status": "UPDATE_COMPLETE"},
            ["cloudformation:UpdateStack"],
            "RUNS_AS",
        ),
        (
            "cloudformation-005",
            "aws_cloudformation_stack",
            {"status": "CREATE_COMPLETE"},
            ["cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"],
            "RUNS_AS",
        ),
    ],
)
def test_existing_resources(path_id, rtype, config, actions, role_key):
    adm = admin_role(service="glue.amazonaws.com")
    r = res(rtype, "thing", config=config, relationships=[(role_key, adm.uid)])
    alice = user("alice", inline={"p": doc(allow(actions, r.uid))})
    e = one(edges(alice, adm, r, ADMIN_POLICY), path_id, ALICE, adm.uid)
    assert e["props"]["via"] == [r.uid]
    elsewhere = user("alice", inline={"p": doc(allow(actions, r.uid + "-other"))})
    assert edges(elsewhere, adm, r, ADMIN_POLICY) == []


def test_codebuild_batch_and_deleted_stack():
    adm = admin_role(service="codebuild.amazonaws.com")
    project = res(
        "aws_codebuild_project",
        "build",
        config={"service_role": adm.uid},
        relationships=[("RUNS_AS", adm.uid)],
    )
    alice = user("alice", inline={"p": doc(allow("codebuild:StartBuildBatch"))})
    assert edges(alice, adm, project, ADMIN_POLICY) == []  # not a batch project
    batch = res(
        "aws_codebuild_project",
        "build",
        config={"service_role": adm.uid, "build_batch_config": {"service_role": adm.uid}},
        relationships=[("RUNS_AS", adm.uid)],
    )
    assert one(edges(alice, adm, batch, ADMIN_POLICY), "codebuild-003", ALICE, adm.uid)
    bob = user("bob", inline={"p": doc(allow("cloudformation:UpdateStack"))})
    for status in ("DELETE_COMPLETE", "ROLLBACK_COMPLETE"):
        stack = res(
            "aws_cloudformation_stack",
            "gone",
            config={"status": status},
            relationships=[("RUNS_AS", adm.uid)],
        )
        assert edges(bob, adm, stack, ADMIN_POLICY) == [], status


def instance_setup(**inst_config: Any) -> list[Resource]:
    adm = admin_role(service="ec2.amazonaws.com", profile=True)
    prof = res(
        "aws_iam_instance_profile",
        "adm",
        uid=arn("instance-profile", "adm"),
        region="global",
        service="iam",
        relationships=[("RUNS_AS", adm.uid)],
    )
    sg = res(
        "aws_security_group",
        "ssh",
        uid=f"arn:aws:ec2:us-east-1:{ACCT}:security-group/sg-1",
        config={
            "ingress": [
                {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["10.0.0.0/8"]}
            ]
        },
    )
    inst = res(
        "aws_instance",
        "i-1",
        uid=f"arn:aws:ec2:us-east-1:{ACCT}:instance/i-1",
        config={"state": "running", "platform": "Linux/UNIX", **inst_config},
        relationships=[("HAS_INSTANCE_PROFILE", prof.uid), ("HAS_SECURITY_GROUP", sg.uid)],
    )
    return [adm, prof, sg, inst, ADMIN_POLICY]


def managed_instance(ping: str = "Online") -> Resource:
    return res(
        "aws_ssm_managed_instance",
        "i-1",
        uid=f"arn:aws:ssm:us-east-1:{ACCT}:managed-instance/i-1",
        config={"instance_id": "i-1", "ping_status": ping, "resource_type": "EC2Instance"},
        relationships=[("ATTACHED_TO", f"arn:aws:ec2:us-east-1:{ACCT}:instance/i-1")],
    )


def test_ssm_send_command_and_session_on_an_instance_with_an_admin_profile():
    inst_arn = f"arn:aws:ec2:us-east-1:{ACCT}:instance/i-1"
    alice = user(
        "alice",
        inline={
            "p": doc(
                allow(["ssm:SendCommand", "ssm:StartSession"], inst_arn),
                allow("ssm:SendCommand", "arn:aws:ssm:*::document/AWS-RunShellScript"),
            )
        },
    )
    rows = edges(alice, *instance_setup(), managed_instance())
    assert {r["path_id"] for r in rows} == {"ssm-001", "ssm-002"}
    assert rows[0]["to"] == arn("role", "admin")
    # No SSM agent online: no path.
    assert edges(alice, *instance_setup(), managed_instance("ConnectionLost")) == []
    # Not managed by SSM at all: no path.
    assert edges(alice, *instance_setup()) == []
    # SendCommand without the document: only StartSession.
    no_doc = user(
        "alice", inline={"p": doc(allow(["ssm:SendCommand", "ssm:StartSession"], inst_arn))}
    )
    assert {r["path_id"] for r in edges(no_doc, *instance_setup(), managed_instance())} == {
        "ssm-001"
    }


def test_instance_connect_and_user_data():
    alice = user(
        "alice",
        inline={
            "p": doc(allow(["ec2-instance-connect:SendSSHPublicKey", "ec2:DescribeInstances"]))
        },
    )
    e = one(edges(alice, *instance_setup()), "ec2instanceconnect-003", ALICE, arn("role", "admin"))
    assert e["props"]["via"] == [f"arn:aws:ec2:us-east-1:{ACCT}:instance/i-1"]
    assert edges(alice, *instance_setup(state="stopped")) == []
    bob = user(
        "bob",
        inline={
            "p": doc(
                allow(["ec2:ModifyInstanceAttribute", "ec2:StopInstances", "ec2:StartInstances"])
            )
        },
    )
    assert {r["path_id"] for r in edges(bob, *instance_setup(state="stopped"))} == {"ec2-002"}
    assert edges(bob, *instance_setup(state="terminated")) == []


# --- several hops, self loops, admins ---------------------------------------------------------


def test_target_that_can_escalate_is_privileged_too():
    # bob can rewrite his own policy; alice can create bob's access keys.
    bob = user("bob", inline={"p": doc(allow("iam:PutUserPolicy", arn("user", "bob")))})
    alice = user("alice", inline={"p": doc(allow("iam:CreateAccessKey", bob.uid))})
    rows = edges(alice, bob)
    assert {(r["path_id"], r["from"], r["to"]) for r in rows} == {
        ("iam-007", bob.uid, ROOT),
        ("iam-002", ALICE, bob.uid),
    }
    hop = one(rows, "iam-002", ALICE, bob.uid)
    assert hop["props"]["target_privilege"] == "escalates"
    assert hop["props"]["escalates_via"] == ["iam-007"]


def test_admins_and_self_loops_are_skipped():
    adm = admin_role(trust_doc=trust(aws=ROOT))
    boss = user("boss", managed=[ADMIN_ARN])
    # A role that can assume itself and pass itself is no edge either.
    loop = role(
        "loop",
        trust_doc=trust(service="lambda.amazonaws.com", aws=arn("role", "loop")),
        inline={"p": doc(allow(["iam:PassRole", *LAMBDA_ACTIONS]))},
    )
    rows = edges(adm, boss, loop, ADMIN_POLICY)
    assert all(r["from"] not in (adm.uid, boss.uid) for r in rows)
    assert all(r["from"] != r["to"] for r in rows)
    # loop can pass admin? admin trusts the account only, not lambda: nothing.
    assert rows == []


def test_unreadable_policies_are_listed():
    adm = admin_role(service="lambda.amazonaws.com")
    alice = user(
        "alice",
        inline={"p": doc(allow(LAMBDA_ACTIONS), allow("iam:PassRole", adm.uid))},
        managed=["arn:aws:iam::123456789012:policy/missing"],
    )
    e = one(edges(alice, adm, ADMIN_POLICY), "lambda-001", ALICE, adm.uid)
    assert e["props"]["unread_policies"] == ["arn:aws:iam::123456789012:policy/missing"]


# --- the catalog ------------------------------------------------------------------------------


def _doc_ids() -> list[str]:
    text = (REPO / "docs/privesc.md").read_text()
    return re.findall(r"^\| `([a-z0-9-]+-\d{3})` \|", text, re.M)


def test_every_catalog_path_is_detected_or_explained():
    covered, not_covered = set(COVERED), set(NOT_COVERED)
    assert not covered & not_covered
    assert len(COVERED) == len(PATHS)  # ids are unique
    assert all(reason.strip() for reason in NOT_COVERED.values())
    assert all(spec.family in FAMILIES for spec in PATHS)
    catalog = {i for i in _doc_ids() if i not in EXTRA_IDS}
    assert len(catalog) == 65
    assert covered | not_covered == catalog | set(EXTRA_IDS)


@pytest.mark.skipif(not CATALOG.is_dir(), reason="pathfinding-cloud catalog not available")
def test_detectors_match_the_catalog_yaml():
    yaml = pytest.importorskip("yaml")
    ids = set()
    for f in sorted(CATALOG.glob("*/*.yaml")):
        data = yaml.safe_load(f.read_text())
        ids.add(data["id"])
        spec = COVERED.get(data["id"])
        if spec is None:
            continue
        required = {p["permission"].lower() for p in data["permissions"]["required"]}
        # Every required permission is evaluated (the detector may check more).
        assert required <= spec.actions, (data["id"], required - spec.actions)
    assert ids == (set(COVERED) - set(EXTRA_IDS)) | set(NOT_COVERED)


@pytest.mark.skipif(not CATALOG.is_dir(), reason="pathfinding-cloud catalog not available")
def test_docs_are_generated_from_the_catalog():
    spec = importlib.util.spec_from_file_location("gen", REPO / "scripts/gen_privesc_doc.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert gen.render(CATALOG) == (REPO / "docs/privesc.md").read_text(), (
        "docs/privesc.md is stale: run .venv/bin/python scripts/gen_privesc_doc.py"
    )


# --- scale ------------------------------------------------------------------------------------


def test_thousands_of_principals():
    resources: list[Resource] = [ADMIN_POLICY]
    shared = policy("readers", doc(allow(["s3:GetObject", "s3:ListBucket", "dynamodb:Query"])))
    resources.append(shared)
    for i in range(60):
        resources.append(admin_role(f"admin-{i}", service="lambda.amazonaws.com"))
    for i in range(1500):
        resources.append(
            role(
                f"app-{i}",
                trust_doc=trust(aws=ROOT),
                managed=[shared.uid],
                inline={"p": doc(allow("sqs:SendMessage", f"arn:aws:sqs:*:{ACCT}:q{i}"))},
            )
        )
    for i in range(1500):
        resources.append(user(f"dev-{i}", managed=[shared.uid], keys=1))
    passer = user(
        "deployer",
        inline={"p": doc(allow(LAMBDA_ACTIONS), allow("iam:PassRole", arn("role", "admin-7")))},
    )
    resources.append(passer)
    started = time.perf_counter()
    rows = edges(*resources)
    elapsed = time.perf_counter() - started
    assert [(r["from"], r["to"], r["path_id"]) for r in rows] == [
        (passer.uid, arn("role", "admin-7"), "lambda-001")
    ]
    assert elapsed < 30, elapsed


def test_rows_are_json_ready():
    adm = admin_role(service="lambda.amazonaws.com")
    alice = user("alice", inline={"p": doc(allow(LAMBDA_ACTIONS), allow("iam:PassRole"))})
    rows = edges(alice, adm, ADMIN_POLICY)
    json.dumps(rows)
    assert rows and all(r["type"] == "CAN_ESCALATE" for r in rows)
