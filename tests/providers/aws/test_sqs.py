import json

from stratusec.providers.aws import sqs
from tests.providers.aws.faults import fail_operation

ACCOUNT = "123456789012"

PUBLIC_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "sqs:SendMessage",
            "Resource": f"arn:aws:sqs:us-east-1:{ACCOUNT}:open",
        }
    ],
}


def test_queues_policy_encryption_redrive(aws, collector_ctx):
    c = aws("sqs", "us-east-1")
    dlq_url = c.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = c.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    c.create_queue(
        QueueName="open",
        Attributes={
            "Policy": json.dumps(PUBLIC_POLICY),
            "VisibilityTimeout": "45",
            "MessageRetentionPeriod": "86400",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
        },
        tags={"env": "prod"},
    )
    c.create_queue(
        QueueName="secret.fifo",
        Attributes={"FifoQueue": "true", "KmsMasterKeyId": "alias/app"},
    )
    c.create_queue(QueueName="managed", Attributes={"SqsManagedSseEnabled": "true"})

    ctx = collector_ctx("sqs", "us-east-1")
    resources = {r.name: r for r in sqs.collect(ctx)}
    assert ctx.errors.items == []
    assert set(resources) == {"dlq", "open", "secret.fifo", "managed"}
    assert {r.type for r in resources.values()} == {"aws_sqs_queue"}

    q = resources["open"]
    assert q.uid == f"arn:aws:sqs:us-east-1:{ACCOUNT}:open"
    assert q.config["policy"]["Statement"][0]["Principal"] == "*"
    assert q.config["visibility_timeout_seconds"] == 45
    assert q.config["message_retention_seconds"] == 86400
    assert q.config["redrive_policy"]["deadLetterTargetArn"] == dlq_arn
    assert q.config["fifo_queue"] is False
    assert q.config["kms_master_key_id"] is None
    assert q.config["url"].endswith("/open")
    assert q.tags == {"env": "prod"}
    assert q.targets("USES_KEY") == []
    assert q.unavailable == []

    f = resources["secret.fifo"]
    assert f.config["fifo_queue"] is True
    assert f.config["kms_master_key_id"] == "alias/app"
    assert f.targets("USES_KEY") == [f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/app"]
    assert f.config["policy"] is None

    assert resources["managed"].config["sqs_managed_sse_enabled"] is True


def test_empty_region(collector_ctx):
    ctx = collector_ctx("sqs", "eu-west-1")
    assert list(sqs.collect(ctx)) == []
    assert ctx.errors.items == []


def test_attribute_failure_is_unknown(aws, collector_ctx):
    aws("sqs", "eu-west-1").create_queue(QueueName="q1")
    ctx = collector_ctx("sqs", "eu-west-1")
    fail_operation(ctx, "GetQueueAttributes")
    [q] = list(sqs.collect(ctx))
    assert q.uid == f"arn:aws:sqs:eu-west-1:{ACCOUNT}:q1"
    assert q.config["policy"] is None
    assert q.config["sqs_managed_sse_enabled"] is None
    assert {"policy", "kms_master_key_id", "sqs_managed_sse_enabled"} <= set(q.unavailable)
    assert "tags" not in q.unavailable
    assert [e.api for e in ctx.errors.items] == ["get_queue_attributes"]
