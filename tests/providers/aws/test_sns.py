import json

from stratusec.providers.aws import sns
from tests.providers.aws.faults import fail_operation

ACCOUNT = "123456789012"


def test_topics_and_subscriptions(aws, collector_ctx):
    c = aws("sns", "us-east-1")
    open_arn = c.create_topic(Name="alerts", Tags=[{"Key": "team", "Value": "ops"}])["TopicArn"]
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": open_arn}
        ],
    }
    c.set_topic_attributes(
        TopicArn=open_arn, AttributeName="Policy", AttributeValue=json.dumps(public)
    )
    enc_arn = c.create_topic(Name="private", Attributes={"KmsMasterKeyId": "alias/aws/sns"})[
        "TopicArn"
    ]
    queue_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:sink"
    sqs_sub = c.subscribe(TopicArn=open_arn, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    c.subscribe(
        TopicArn=open_arn,
        Protocol="https",
        Endpoint="https://bob:hunter2@hooks.example.com:8443/in?x=1",
    )

    ctx = collector_ctx("sns", "us-east-1")
    resources = list(sns.collect(ctx))
    assert ctx.errors.items == []
    topics = {r.uid: r for r in resources if r.type == "aws_sns_topic"}
    subs = [r for r in resources if r.type == "aws_sns_topic_subscription"]
    assert set(topics) == {open_arn, enc_arn}

    t = topics[open_arn]
    assert t.name == "alerts"
    assert t.config["policy"]["Statement"][0]["Principal"] == "*"
    assert t.config["kms_master_key_id"] is None
    assert t.config["subscription_count"] == 2
    assert t.config["subscription_protocols"] == ["https", "sqs"]
    assert t.config["fifo_topic"] is False
    assert t.tags == {"team": "ops"}
    assert t.targets("USES_KEY") == []
    assert t.unavailable == []

    e = topics[enc_arn]
    assert e.config["kms_master_key_id"] == "alias/aws/sns"
    assert e.targets("USES_KEY") == [f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/aws/sns"]
    assert e.config["subscription_count"] == 0
    assert isinstance(e.config["policy"], dict)  # the default policy, parsed

    assert len(subs) == 2
    by_proto = {s.config["protocol"]: s for s in subs}
    q = by_proto["sqs"]
    assert q.uid == sqs_sub
    assert q.config["endpoint"] == queue_arn
    assert q.config["topic_arn"] == open_arn
    assert q.targets("SUBSCRIBED_TO") == [open_arn]
    assert q.targets("DELIVERS_TO") == [queue_arn]

    h = by_proto["https"]
    assert h.config["endpoint"] == "https://hooks.example.com:8443/in?x=1"
    assert h.config["endpoint_had_credentials"] is True
    assert "hunter2" not in h.model_dump_json()
    assert h.targets("DELIVERS_TO") == []


def test_strip_url_credentials():
    assert sns.strip_url_credentials("http://a:b@h/p") == ("http://h/p", True)
    assert sns.strip_url_credentials("https://h/p") == ("https://h/p", False)
    assert sns.strip_url_credentials("ops@example.com") == ("ops@example.com", False)


def test_empty_region(collector_ctx):
    ctx = collector_ctx("sns", "eu-west-1")
    assert list(sns.collect(ctx)) == []
    assert ctx.errors.items == []


def test_detail_failures_are_unknown(aws, collector_ctx):
    aws("sns", "eu-west-1").create_topic(Name="t1")
    ctx = collector_ctx("sns", "eu-west-1")
    fail_operation(ctx, "GetTopicAttributes", "AuthorizationError")
    fail_operation(ctx, "ListSubscriptionsByTopic", "AuthorizationError")
    [t] = list(sns.collect(ctx))
    assert t.uid == f"arn:aws:sns:eu-west-1:{ACCOUNT}:t1"
    assert t.config["policy"] is None
    assert t.config["subscription_count"] is None
    assert {"policy", "kms_master_key_id", "subscriptions"} <= set(t.unavailable)
    assert {e.api for e in ctx.errors.items} == {
        "get_topic_attributes",
        "list_subscriptions_by_topic",
    }
