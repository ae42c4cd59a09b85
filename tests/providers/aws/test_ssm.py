import datetime as dt

import botocore.parsers

from stratusec.providers.aws import ssm
from tests.conftest import ACCOUNT_ID as ACCOUNT
from tests.providers.aws.faults import raise_on, stub_operation

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

# moto does not implement DescribeInstanceInformation: answer it here.
NODES = {
    "InstanceInformationList": [
        {
            "InstanceId": "i-0abc",
            "PingStatus": "Online",
            "LastPingDateTime": NOW,
            "AgentVersion": "3.3.0.0",
            "PlatformType": "Linux",
            "PlatformName": "Amazon Linux",
            "ResourceType": "EC2Instance",
            "IPAddress": "10.0.1.5",
        },
        {
            "InstanceId": "mi-0123456789abcdef0",
            "PingStatus": "ConnectionLost",
            "ResourceType": "ManagedInstance",
            "IamRole": "SSMServiceRole",
            "ComputerName": "build-box",
        },
    ]
}


def test_managed_instances(collector_ctx):
    ctx = collector_ctx("ssm")
    stub_operation(ctx, "DescribeInstanceInformation", NODES)
    ec2_node, hybrid = list(ssm.collect(ctx))
    assert ec2_node.type == "aws_ssm_managed_instance"
    assert ec2_node.uid == f"arn:aws:ssm:us-east-1:{ACCOUNT}:managed-instance/i-0abc"
    assert ec2_node.config["ping_status"] == "Online"
    assert ec2_node.config["last_ping_date_time"] == "2026-01-02T03:04:05+00:00"
    assert ec2_node.targets("ATTACHED_TO") == [f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/i-0abc"]
    assert hybrid.config["ping_status"] == "ConnectionLost"
    assert hybrid.config["iam_role"] == f"arn:aws:iam::{ACCOUNT}:role/SSMServiceRole"
    assert hybrid.targets("RUNS_AS") == [f"arn:aws:iam::{ACCOUNT}:role/SSMServiceRole"]
    assert hybrid.targets("ATTACHED_TO") == []
    assert ctx.errors.items == []


def test_unimplemented_listing_is_an_error(collector_ctx):
    ctx = collector_ctx("ssm")
    raise_on(ctx, "DescribeInstanceInformation", botocore.parsers.ResponseParserError("500"))
    assert list(ssm.collect(ctx)) == []
    assert [e.api for e in ctx.errors.items] == ["describe_instance_information"]
