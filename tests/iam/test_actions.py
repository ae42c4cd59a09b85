"""The bundled action catalogue and its generator."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from stratusec.iam import access_category, access_level, catalog, expand_actions
from stratusec.iam.actions import ActionCatalog

ROOT = Path(__file__).resolve().parents[2]
IN_SCOPE = [
    *("iam", "sts", "s3", "ec2", "lambda", "ecs", "kms", "sqs", "sns", "secretsmanager"),
    *("dynamodb", "rds", "cloudformation", "glue", "codebuild", "sagemaker", "ssm"),
    *("ec2-instance-connect", "bedrock", "apprunner", "datapipeline", "cloudtrail", "logs"),
    *("guardduty", "config"),
]


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_iam_actions", ROOT / "scripts" / "gen_iam_actions.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_every_service_in_scope() -> None:
    assert set(IN_SCOPE) <= set(catalog().services)
    for svc in IN_SCOPE:
        assert catalog().service_actions(svc), svc


@pytest.mark.parametrize(
    ("action", "level"),
    [
        ("iam:PassRole", "Permissions management"),
        ("iam:PutRolePolicy", "Permissions management"),
        ("iam:AttachUserPolicy", "Permissions management"),
        ("iam:CreatePolicyVersion", "Permissions management"),
        ("iam:SetDefaultPolicyVersion", "Permissions management"),
        ("iam:UpdateAssumeRolePolicy", "Permissions management"),
        ("iam:CreateAccessKey", "Permissions management"),
        ("iam:TagRole", "Tagging"),
        ("iam:ListRoles", "List"),
        ("iam:GetRole", "Read"),
        ("sts:AssumeRole", "Write"),
        ("s3:GetObject", "Read"),
        ("s3:PutObject", "Write"),
        ("s3:DeleteObject", "Write"),
        ("s3:ListBucket", "List"),
        ("s3:ListAllMyBuckets", "List"),
        ("s3:PutBucketPolicy", "Permissions management"),
        ("s3:PutObjectAcl", "Permissions management"),
        ("kms:Decrypt", "Write"),
        ("kms:CreateGrant", "Permissions management"),
        ("kms:PutKeyPolicy", "Permissions management"),
        ("lambda:InvokeFunction", "Write"),
        ("lambda:AddPermission", "Permissions management"),
        ("ec2:RunInstances", "Write"),
        ("ec2:DescribeInstances", "Read"),
        ("ec2:AttachVolume", "Write"),
        ("ec2:CreateTags", "Tagging"),
        ("secretsmanager:GetSecretValue", "Read"),
        ("secretsmanager:PutResourcePolicy", "Permissions management"),
        ("dynamodb:Query", "Read"),
        ("ssm:StartSession", "Write"),
        ("ec2-instance-connect:SendSSHPublicKey", "Write"),
        ("bedrock:InvokeModel", "Write"),
        ("sagemaker:InvokeEndpoint", "Write"),
    ],
)
def test_levels(action: str, level: str) -> None:
    assert access_level(action) == level
    assert access_level(action.upper()) == level  # case-insensitive


def test_api_names_that_are_not_actions_are_renamed() -> None:
    for not_an_action in ("s3:ListObjectsV2", "s3:HeadObject", "lambda:Invoke", "kms:ReEncrypt"):
        assert not_an_action not in catalog()
    for action in ("kms:ReEncryptFrom", "s3:GetObjectVersion", "sts:TagSession"):
        assert action in catalog()


def test_categories() -> None:
    assert access_category("s3:GetObject") == "read"
    assert access_category("s3:ListBucket") == "read"
    assert access_category("s3:PutObject") == "write"
    assert access_category("ec2:CreateTags") == "write"
    assert access_category("iam:PassRole") == "admin"
    assert access_category("nope:Nothing") is None


def test_expand() -> None:
    got = expand_actions("s3:GetObject*")
    assert "s3:GetObject" in got and "s3:GetObjectAcl" in got
    assert all(a.lower().startswith("s3:getobject") for a in got)
    assert expand_actions("S3:GETOBJECT") == ("s3:GetObject",)
    assert expand_actions(["iam:PassRole", "sts:AssumeRole"]) == ("iam:PassRole", "sts:AssumeRole")
    assert len(expand_actions("*")) == len(catalog())
    assert set(expand_actions("*:Get*")) >= {"s3:GetObject", "iam:GetRole"}
    not_iam = expand_actions("iam:*", not_action=True)
    assert "s3:GetObject" in not_iam and not any(a.startswith("iam:") for a in not_iam)
    assert expand_actions("nosuch:*") == ()


def test_custom_catalog() -> None:
    cat = ActionCatalog({"x": {"Read": ["GetA"], "Write": ["PutA"]}})
    assert cat.expand("x:*") == ("x:GetA", "x:PutA")
    assert cat.level("X:geta") == "Read"
    assert cat.canonical("x:puta") == "x:PutA"
    assert expand_actions("x:Get*", known=cat) == ("x:GetA",)


def test_heuristic() -> None:
    gen = load_generator()
    assert gen.classify("ec2", "AttachVolume") == "Write"
    assert gen.classify("iam", "DetachRolePolicy") == "Permissions management"
    assert gen.classify("logs", "ListTagsForResource") == "List"
    assert gen.classify("logs", "TagResource") == "Tagging"
    assert gen.classify("glue", "BatchGetJobs") == "Read"
    assert gen.classify("glue", "StartJobRun") == "Write"


def test_data_file_is_current() -> None:
    gen = load_generator()
    assert (ROOT / "src/stratusec/iam/data/iam_actions.json").read_text() == gen.render(
        gen.build()
    ), "regenerate with: .venv/bin/python scripts/gen_iam_actions.py"
