import json
import urllib.request
from typing import Any

from stratusec.providers.aws import secretsmanager
from tests.providers.aws.faults import fail_operation

ACCOUNT = "123456789012"


def secrets(resources):  # type: ignore[no-untyped-def]
    return {r.name: r for r in resources}


def test_secret_without_rotation(aws, collector_ctx):
    client = aws("secretsmanager", "eu-west-1")
    arn = client.create_secret(
        Name="db-password",
        Description="prod db",
        SecretString="s3cr3t-value",
        Tags=[{"Key": "env", "Value": "prod"}],
    )["ARN"]
    ctx = collector_ctx("secretsmanager", "eu-west-1")
    resources = list(secretsmanager.collect(ctx))
    s = secrets(resources)["db-password"]
    assert s.type == "aws_secretsmanager_secret"
    assert s.uid == arn
    assert s.region == "eu-west-1"
    assert s.config["description"] == "prod db"
    assert s.config["rotation_enabled"] is False
    assert s.config["rotation_lambda_arn"] is None
    assert s.config["rotation_rules"] is None
    assert s.config["kms_key_id"] is None
    assert s.config["policy"] is None
    assert s.tags == {"env": "prod"}
    assert s.relationships == []
    assert s.unavailable == []
    assert ctx.errors.items == []
    # The value is never read.
    assert "s3cr3t-value" not in json.dumps([r.model_dump() for r in resources])


def _rotation_function(aws: Any) -> str:
    role = aws("iam").create_role(
        RoleName="rotator",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    return str(
        aws("lambda").create_function(
            FunctionName="rotate-fn",
            Runtime="python3.11",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )["FunctionArn"]
    )


def test_secret_with_rotation_policy_and_key(aws, collector_ctx, moto_url):
    # Rotation with a Lambda: moto invokes the function, which needs Docker unless the
    # server's simple Lambda backend is on (a separate backend: create the function
    # after switching); restore the setting afterwards.
    def set_lambda_docker(on: bool) -> None:
        req = urllib.request.Request(  # noqa: S310 - loopback only
            f"{moto_url}/moto-api/config",
            data=json.dumps({"lambda": {"use_docker": on}}).encode(),
            method="POST",
        )
        urllib.request.urlopen(req, timeout=10).read()  # noqa: S310 - loopback only

    key_arn = aws("kms").create_key()["KeyMetadata"]["Arn"]
    client = aws("secretsmanager")
    arn = client.create_secret(Name="api-key", SecretString="x", KmsKeyId=key_arn)["ARN"]
    set_lambda_docker(False)
    try:
        fn_arn = _rotation_function(aws)
        client.rotate_secret(
            SecretId=arn,
            RotationLambdaARN=fn_arn,
            RotationRules={"AutomaticallyAfterDays": 30},
            RotateImmediately=False,
        )
    finally:
        set_lambda_docker(True)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::210987654321:root"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ],
    }
    client.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps(policy))

    ctx = collector_ctx("secretsmanager", "us-east-1")
    s = secrets(secretsmanager.collect(ctx))["api-key"]
    assert s.config["rotation_enabled"] is True
    assert s.config["rotation_lambda_arn"] == fn_arn
    assert s.config["rotation_rules"]["automatically_after_days"] == 30
    assert s.config["policy"] == policy
    assert s.config["kms_key_id"] == key_arn
    assert s.targets("USES_KEY") == [key_arn]
    assert s.unavailable == []
    assert ctx.errors.items == []


def test_key_alias_becomes_alias_arn(aws, collector_ctx):
    kms = aws("kms")
    k = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/secrets", TargetKeyId=k["KeyId"])
    aws("secretsmanager").create_secret(Name="aliased", SecretString="x", KmsKeyId="alias/secrets")
    ctx = collector_ctx("secretsmanager", "us-east-1")
    s = secrets(secretsmanager.collect(ctx))["aliased"]
    assert s.targets("USES_KEY") == [f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/secrets"]


def test_detail_failures_are_unavailable(aws, collector_ctx):
    aws("secretsmanager").create_secret(Name="locked", SecretString="x")
    ctx = collector_ctx("secretsmanager", "us-east-1")
    fail_operation(ctx, "DescribeSecret", "AccessDeniedException")
    fail_operation(ctx, "GetResourcePolicy", "AccessDeniedException")
    s = secrets(secretsmanager.collect(ctx))["locked"]
    assert s.config["rotation_enabled"] is None
    assert s.config["policy"] is None
    assert "rotation_enabled" in s.unavailable
    assert "policy" in s.unavailable
    assert {e.api for e in ctx.errors.items} == {"describe_secret", "get_resource_policy"}


def test_listing_failure_yields_nothing_and_is_recorded(collector_ctx):
    ctx = collector_ctx("secretsmanager", "us-east-1")
    fail_operation(ctx, "ListSecrets", "AccessDeniedException")
    assert list(secretsmanager.collect(ctx)) == []
    assert [e.api for e in ctx.errors.items] == ["list_secrets"]


def test_many_secrets_paginate(aws, collector_ctx):
    client = aws("secretsmanager")
    for i in range(105):
        client.create_secret(Name=f"s-{i:03d}", SecretString="x")
    ctx = collector_ctx("secretsmanager", "us-east-1")
    assert len(secrets(secretsmanager.collect(ctx))) == 105
    assert ctx.errors.items == []
