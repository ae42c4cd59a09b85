import json

from stratusec.providers.aws import dynamodb
from tests.providers.aws.faults import fail_operation

ACCOUNT = "123456789012"
KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}]
ATTRS = [{"AttributeName": "pk", "AttributeType": "S"}]


def test_tables_encryption_pitr_policy(aws, collector_ctx):
    c = aws("dynamodb", "us-east-1")
    key_arn = aws("kms", "us-east-1").create_key()["KeyMetadata"]["Arn"]
    secure = c.create_table(
        TableName="secure",
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=ATTRS,
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn},
        DeletionProtectionEnabled=True,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
        Tags=[{"Key": "data", "Value": "pii"}],
    )["TableDescription"]["TableArn"]
    c.update_continuous_backups(
        TableName="secure",
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    plain = c.create_table(
        TableName="plain",
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=ATTRS,
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )["TableDescription"]["TableArn"]
    c.put_resource_policy(
        ResourceArn=plain,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "dynamodb:GetItem",
                        "Resource": plain,
                    }
                ],
            }
        ),
    )

    ctx = collector_ctx("dynamodb", "us-east-1")
    tables = {r.uid: r for r in dynamodb.collect(ctx)}
    assert ctx.errors.items == []
    assert set(tables) == {secure, plain}
    assert secure == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/secure"

    s = tables[secure]
    assert s.type == "aws_dynamodb_table"
    assert s.name == "secure"
    assert s.config["billing_mode"] == "PAY_PER_REQUEST"
    assert s.config["server_side_encryption"]["enabled"] is True
    assert s.config["server_side_encryption"]["sse_type"] == "KMS"
    assert s.config["server_side_encryption"]["kms_key_arn"] == key_arn
    assert s.targets("USES_KEY") == [key_arn]
    assert s.config["point_in_time_recovery"]["enabled"] is True
    assert s.config["deletion_protection_enabled"] is True
    assert s.config["stream_enabled"] is True
    assert s.config["stream_view_type"] == "NEW_IMAGE"
    assert s.config["hash_key"] == "pk"
    assert s.config["resource_policy"] is None
    assert s.tags == {"data": "pii"}
    assert s.unavailable == []

    p = tables[plain]
    assert p.config["billing_mode"] == "PROVISIONED"
    assert p.config["server_side_encryption"]["enabled"] is False
    assert p.targets("USES_KEY") == []
    assert p.config["point_in_time_recovery"]["enabled"] is False
    assert p.config["deletion_protection_enabled"] is False
    assert p.config["stream_enabled"] is False
    assert p.config["table_class"] == "STANDARD"
    assert p.config["item_count"] == 0
    assert p.config["resource_policy"]["Statement"][0]["Principal"] == "*"
    assert p.unavailable == []


def test_empty_region(collector_ctx):
    ctx = collector_ctx("dynamodb", "eu-west-1")
    assert list(dynamodb.collect(ctx)) == []
    assert ctx.errors.items == []


def test_detail_failures_are_unknown(aws, collector_ctx):
    aws("dynamodb", "eu-west-1").create_table(
        TableName="t1",
        KeySchema=KEY_SCHEMA,
        AttributeDefinitions=ATTRS,
        BillingMode="PAY_PER_REQUEST",
    )
    ctx = collector_ctx("dynamodb", "eu-west-1")
    fail_operation(ctx, "DescribeContinuousBackups", "AccessDeniedException")
    fail_operation(ctx, "GetResourcePolicy", "AccessDeniedException")
    [t] = list(dynamodb.collect(ctx))
    assert t.uid == f"arn:aws:dynamodb:eu-west-1:{ACCOUNT}:table/t1"
    assert t.config["point_in_time_recovery"] is None
    assert t.config["resource_policy"] is None
    assert set(t.unavailable) == {"point_in_time_recovery", "resource_policy"}
    assert t.config["server_side_encryption"]["enabled"] is False
    assert {e.api for e in ctx.errors.items} == {
        "describe_continuous_backups",
        "get_resource_policy",
    }
