"""Compute and application checks: instance metadata, Lambda URLs and policies, Secrets
Manager rotation, SQS / SNS access policies."""

from stratusec.checks import Status
from tests.checks.fixtures import inventory, res, run, statuses
from tests.checks.sn_helpers import instance

PASS, FAIL, UNKNOWN = Status.PASS, Status.FAIL, Status.UNKNOWN

FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:fn"


def test_ec2_instance_imdsv2_required():
    v2 = instance("v2")
    off = instance("off", http_tokens="optional", http_endpoint="disabled")
    v1 = instance("v1", http_tokens="optional", profile="arn:aws:iam::1:instance-profile/p")
    gone = instance("gone", http_tokens="optional", state="terminated")
    missing = res("aws_instance", "missing", config={"state": "running"})
    out = run("ec2_instance_imdsv2_required", inventory(v2, off, v1, gone, missing))
    assert out["v2"][0] == PASS
    assert out["off"][0] == PASS and "disabled" in out["off"][1]
    assert out["v1"][0] == FAIL and "http_tokens=optional" in out["v1"][1]
    assert "instance-profile/p" in out["v1"][1]
    assert "gone" not in out
    assert out["missing"][0] == UNKNOWN


def fn(name, *, urls=None, policy=None, unavailable=None):  # type: ignore[no-untyped-def]
    records = (
        None
        if urls is None
        else [
            {
                "function_url": f"https://{name}.lambda-url.us-east-1.on.aws/",
                "authorization_type": a,
            }
            for a in urls
        ]
    )
    return res(
        "aws_lambda_function",
        name,
        config={
            "function_name": name,
            "policy": policy,
            "function_urls": records,
            "public_url": None if urls is None else "NONE" in urls,
        },
        unavailable=unavailable,
    )


PUBLIC_URL_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "FunctionURLAllowPublicAccess",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "lambda:InvokeFunctionUrl",
            "Resource": FN_ARN,
            "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
        }
    ],
}


def test_lambda_function_url_public():
    no_url = fn("no-url", urls=[])
    iam = fn("iam", urls=["AWS_IAM"])
    open_ = fn("open", urls=["NONE"], policy=PUBLIC_URL_POLICY)
    open_no_grant = fn("open-no-grant", urls=["NONE"])
    unread = fn("unread", unavailable=["function_urls", "public_url"])
    out = run("lambda_function_url_public", inventory(no_url, iam, open_, open_no_grant, unread))
    assert out["no-url"][0] == PASS and "no function URL" in out["no-url"][1]
    assert out["iam"][0] == PASS
    assert out["open"][0] == FAIL and "open.lambda-url" in out["open"][1]
    assert "does not do yet" not in out["open"][1]
    assert out["open-no-grant"][0] == FAIL and "which it does not do yet" in out["open-no-grant"][1]
    assert out["unread"][0] == UNKNOWN


def test_lambda_function_policy_public():
    scoped = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FromBucket",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": FN_ARN,
                "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"}},
            },
            {
                "Sid": "FromAnyoneInAccount",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "lambda:InvokeFunction",
                "Resource": FN_ARN,
                "Condition": {"StringEquals": {"AWS:SourceAccount": "123456789012"}},
            },
        ],
    }
    wide_open = {
        "Statement": [
            {
                "Sid": "Everyone",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "lambda:InvokeFunction",
                "Resource": FN_ARN,
            }
        ]
    }
    inv = inventory(
        fn("none"),
        fn("scoped", policy=scoped),
        fn("url", policy=PUBLIC_URL_POLICY),
        fn("open", policy=wide_open),
        fn("unread", unavailable=["policy"]),
        fn("garbled", policy="{not json"),
    )
    out = run("lambda_function_policy_public", inv)
    assert out["none"][0] == PASS and "no resource policy" in out["none"][1]
    assert out["scoped"][0] == PASS
    assert out["url"][0] == FAIL and "FunctionURLAllowPublicAccess" in out["url"][1]
    assert (
        out["open"][0] == FAIL
        and 'statement "Everyone" allows lambda:InvokeFunction' in (out["open"][1])
    )
    assert out["unread"][0] == UNKNOWN
    assert out["garbled"][0] == UNKNOWN


def test_secretsmanager_secret_rotation_enabled():
    def secret(name, **config):  # type: ignore[no-untyped-def]
        unavailable = config.pop("unavailable", None)
        return res("aws_secretsmanager_secret", name, config=config, unavailable=unavailable)

    rotating = secret(
        "rotating", rotation_enabled=True, rotation_rules={"automatically_after_days": 30}
    )
    static = secret("static", rotation_enabled=False, last_rotated_date=None)
    deleted = secret("deleted", rotation_enabled=False, deleted_date="2026-01-01T00:00:00+00:00")
    unread = secret("unread", rotation_enabled=None, unavailable=["rotation_enabled"])
    out = run(
        "secretsmanager_secret_rotation_enabled", inventory(rotating, static, deleted, unread)
    )
    assert out["rotating"][0] == PASS and "(every 30 days)" in out["rotating"][1]
    assert out["static"][0] == FAIL and "last rotated: never" in out["static"][1]
    assert "deleted" not in out
    assert out["unread"][0] == UNKNOWN


def test_sqs_and_sns_policies_public():
    default_topic = {
        "Version": "2008-10-17",
        "Statement": [
            {
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": ["SNS:Publish", "SNS:Subscribe"],
                "Resource": "arn:aws:sns:us-east-1:123456789012:t",
                "Condition": {"StringEquals": {"AWS:SourceOwner": "123456789012"}},
            }
        ],
    }
    open_topic = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "SNS:Subscribe",
                "Resource": "arn:aws:sns:us-east-1:123456789012:t",
            }
        ]
    }
    topics = inventory(
        res("aws_sns_topic", "default", config={"policy": default_topic}),
        res("aws_sns_topic", "open", config={"policy": open_topic}),
        res("aws_sns_topic", "unread", config={"policy": None}, unavailable=["policy"]),
    )
    out = run("sns_topic_policy_public", topics)
    assert out["default"][0] == PASS
    assert out["open"][0] == FAIL and "statement #1 allows SNS:Subscribe" in out["open"][1]
    assert out["unread"][0] == UNKNOWN

    from_topic = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": "arn:aws:sqs:us-east-1:123456789012:q",
                "Condition": {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:1:t"}},
            },
        ]
    }
    open_queue = {
        "Statement": [
            {
                "Sid": "Anyone",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": "arn:aws:sqs:us-east-1:123456789012:q",
            }
        ]
    }
    queues = inventory(
        res("aws_sqs_queue", "none", config={"policy": None}),
        res("aws_sqs_queue", "from-topic", config={"policy": from_topic}),
        res("aws_sqs_queue", "open", config={"policy": open_queue}),
        res("aws_sqs_queue", "unread", config={}, unavailable=["policy"]),
    )
    assert statuses("sqs_queue_policy_public", queues) == {
        "none": PASS,
        "from-topic": PASS,
        "open": FAIL,
        "unread": UNKNOWN,
    }
