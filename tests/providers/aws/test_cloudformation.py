import json

from stratusec.providers.aws import cloudformation
from tests.conftest import ACCOUNT_ID as ACCOUNT
from tests.providers.aws.faults import fail_operation

ROLE = f"arn:aws:iam::{ACCOUNT}:role/cfn-deployer"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/AWSCloudFormationStackSetAdministrationRole"
TEMPLATE = json.dumps(
    {
        "Parameters": {"DbPassword": {"Type": "String", "NoEcho": True}},
        "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q1"}}},
        "Outputs": {"QueueUrl": {"Value": {"Ref": "Q"}}},
    }
)


def test_stacks_with_service_role(aws, collector_ctx):
    cf = aws("cloudformation")
    cf.create_stack(
        StackName="network",
        TemplateBody=TEMPLATE,
        RoleARN=ROLE,
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": "DbPassword", "ParameterValue": "hunter2-secret"}],
        Tags=[{"Key": "team", "Value": "platform"}],
    )
    ctx = collector_ctx("cloudformation")
    [stack] = [r for r in cloudformation.collect(ctx) if r.type == "aws_cloudformation_stack"]
    assert stack.name == "network"
    assert stack.uid.startswith(f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/network/")
    assert stack.config["role_arn"] == ROLE == stack.config["iam_role_arn"]
    assert stack.config["status"] == "CREATE_COMPLETE"
    assert isinstance(stack.config["capabilities"], list)  # moto does not keep them
    assert stack.config["parameter_keys"] == ["DbPassword"]
    assert stack.tags == {"team": "platform"}
    assert stack.targets("RUNS_AS") == [ROLE]
    assert "hunter2-secret" not in json.dumps(stack.model_dump())
    assert ctx.errors.items == []


def test_stack_sets_with_instances(aws, collector_ctx):
    cf = aws("cloudformation")
    cf.create_stack_set(
        StackSetName="baseline",
        TemplateBody=TEMPLATE,
        AdministrationRoleARN=ADMIN,
        ExecutionRoleName="AWSCloudFormationStackSetExecutionRole",
        Parameters=[{"ParameterKey": "DbPassword", "ParameterValue": "hunter2-secret"}],
    )
    cf.create_stack_instances(StackSetName="baseline", Accounts=[ACCOUNT], Regions=["us-east-1"])
    ctx = collector_ctx("cloudformation")
    records = list(cloudformation.collect(ctx))
    [ss] = [r for r in records if r.type == "aws_cloudformation_stack_set"]
    assert ss.name == "baseline"
    assert ss.uid.startswith(f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stackset/baseline:")
    assert ss.config["administration_role_arn"] == ADMIN
    assert ss.config["execution_role_name"] == "AWSCloudFormationStackSetExecutionRole"
    assert ss.config["permission_model"] == "SELF_MANAGED"
    assert ss.config["status"] == "ACTIVE"
    assert [(i["account"], i["region"]) for i in ss.config["instances"]] == [(ACCOUNT, "us-east-1")]
    assert {(r.target, r.properties["role"]) for r in ss.relationships} == {
        (ADMIN, "administration"),
        (f"arn:aws:iam::{ACCOUNT}:role/AWSCloudFormationStackSetExecutionRole", "execution"),
    }
    assert "hunter2-secret" not in json.dumps([r.model_dump() for r in records])
    assert ctx.errors.items == []


def test_empty_region(collector_ctx):
    ctx = collector_ctx("cloudformation", "eu-west-1")
    assert list(cloudformation.collect(ctx)) == []
    assert ctx.errors.items == []


def test_failures_are_recorded_and_unknown(aws, collector_ctx):
    cf = aws("cloudformation")
    cf.create_stack_set(StackSetName="baseline", TemplateBody=TEMPLATE, AdministrationRoleARN=ADMIN)
    ctx = collector_ctx("cloudformation")
    fail_operation(ctx, "DescribeStacks")
    fail_operation(ctx, "ListStackInstances")
    [ss] = list(cloudformation.collect(ctx))
    assert ss.config["instances"] is None
    assert "instances" in ss.unavailable
    assert ss.targets("RUNS_AS") == [ADMIN]
    assert {e.api for e in ctx.errors.items} == {"describe_stacks", "list_stack_instances"}
