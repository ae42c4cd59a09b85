import io
import json
import zipfile
from typing import Any

from stratusec.providers.aws import lambda_
from tests.providers.aws.faults import fail_operation

ACCT = "123456789012"
REGION = "us-east-1"
SECRET_VALUE = "hunter2-super-secret-value"


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return buf.getvalue()


def _role(aws: Any) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return aws("iam").create_role(RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]


def _function(aws: Any, name: str, role: str, **kw: Any) -> str:
    return aws("lambda", REGION).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip()},
        **kw,
    )["FunctionArn"]


def test_public_url_and_open_resource_policy(aws, collector_ctx):
    role = _role(aws)
    arn = _function(
        aws,
        "public-fn",
        role,
        Environment={"Variables": {"DB_PASSWORD": SECRET_VALUE, "STAGE": "prod"}},
        Tags={"team": "payments"},
        TracingConfig={"Mode": "Active"},
    )
    lam = aws("lambda", REGION)
    lam.add_permission(
        FunctionName="public-fn",
        StatementId="public-url",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    lam.create_function_url_config(
        FunctionName="public-fn", AuthType="NONE", Cors={"AllowOrigins": ["*"]}
    )
    ctx = collector_ctx("lambda", REGION)
    resources = list(lambda_.collect(ctx))
    assert ctx.errors.items == []

    fn = next(r for r in resources if r.type == "aws_lambda_function")
    assert fn.uid == arn == f"arn:aws:lambda:{REGION}:{ACCT}:function:public-fn"
    assert fn.name == "public-fn"
    assert fn.tags == {"team": "payments"}
    c = fn.config
    assert c["role"] == role
    assert c["runtime"] == "python3.12"
    assert c["handler"] == "index.handler"
    assert c["vpc_config"] is None
    assert c["tracing_config"] == {"mode": "Active"}
    assert c["environment_variable_names"] == ["DB_PASSWORD", "STAGE"]
    assert c["environment_references"] == []  # no value names a resource
    assert c["public_url"] is True
    assert len(c["function_urls"]) == 1
    assert c["function_urls"][0]["authorization_type"] == "NONE"
    assert c["function_urls"][0]["cors"] == {"AllowOrigins": ["*"]}
    stmt = c["policy"]["Statement"][0]
    assert stmt["Principal"] == "*"
    assert stmt["Action"] == "lambda:InvokeFunctionUrl"
    assert fn.targets("RUNS_AS") == [role]
    assert fn.unavailable == []

    url = next(r for r in resources if r.type == "aws_lambda_function_url")
    assert url.uid == f"{arn}/url"
    assert url.config["authorization_type"] == "NONE"
    assert url.config["function_name"] == "public-fn"
    assert url.config["function_url"].startswith("https://")
    assert url.targets("ATTACHED_TO") == [arn]

    # The secret value must not appear anywhere in any record.
    for r in resources:
        assert SECRET_VALUE not in r.model_dump_json()


def test_function_in_vpc_without_policy_or_url(aws, collector_ctx):
    role = _role(aws)
    ec2 = aws("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="fn", Description="fn", VpcId=vpc)["GroupId"]
    key = f"arn:aws:kms:{REGION}:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    _function(
        aws,
        "vpc-fn",
        role,
        VpcConfig={"SubnetIds": [subnet], "SecurityGroupIds": [sg]},
        KMSKeyArn=key,
    )
    ctx = collector_ctx("lambda", REGION)
    resources = list(lambda_.collect(ctx))
    assert ctx.errors.items == []
    assert [r.type for r in resources] == ["aws_lambda_function"]
    fn = resources[0]
    vc = fn.config["vpc_config"]
    assert vc["subnet_ids"] == [subnet]
    assert vc["security_group_ids"] == [sg]
    assert fn.targets("IN_SUBNET") == [f"arn:aws:ec2:{REGION}:{ACCT}:subnet/{subnet}"]
    assert fn.targets("HAS_SECURITY_GROUP") == [f"arn:aws:ec2:{REGION}:{ACCT}:security-group/{sg}"]
    # moto reports a placeholder VPC id; the relationship follows whatever AWS reports.
    assert fn.targets("IN_VPC") == [f"arn:aws:ec2:{REGION}:{ACCT}:vpc/{vc['vpc_id']}"]
    assert fn.targets("USES_KEY") == [key]
    assert fn.config["kms_key_arn"] == key
    assert fn.config["policy"] is None
    assert fn.config["function_urls"] == []
    assert fn.config["public_url"] is False
    assert fn.config["environment_variable_names"] == []
    assert fn.unavailable == []


def test_empty_region_has_no_records_and_no_errors(collector_ctx):
    ctx = collector_ctx("lambda", "eu-west-1")
    assert list(lambda_.collect(ctx)) == []
    assert ctx.errors.items == []


def test_denied_detail_calls_are_unavailable(aws, collector_ctx):
    _function(aws, "fn", _role(aws))
    ctx = collector_ctx("lambda", REGION)
    # The resource-policy and URL reads are denied.
    fail_operation(ctx, "GetPolicy", "AccessDeniedException")
    fail_operation(ctx, "ListFunctionUrlConfigs", "AccessDeniedException")
    [fn] = list(lambda_.collect(ctx))
    assert fn.config["policy"] is None
    assert fn.config["function_urls"] is None
    assert fn.config["public_url"] is None
    assert sorted(fn.unavailable) == ["function_urls", "policy", "public_url"]
    assert sorted(e.api for e in ctx.errors.items) == ["get_policy", "list_function_url_configs"]
