from stratusec.providers.aws import securityhub
from tests.providers.aws.faults import fail_operation, stub_operation

ACCOUNT = "123456789012"
CIS = "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0"
FSBP = "arn:aws:securityhub:us-east-1::standards/aws-foundational-security-best-practices/v/1.0.0"


def test_enabled_hub_with_standards(aws, collector_ctx):
    aws("securityhub", "us-east-1").enable_security_hub(EnableDefaultStandards=False)
    ctx = collector_ctx("securityhub", "us-east-1")
    # moto has no GetEnabledStandards: answer it as AWS would.
    stub_operation(
        ctx,
        "GetEnabledStandards",
        {
            "StandardsSubscriptions": [
                {
                    "StandardsSubscriptionArn": "arn:aws:securityhub:us-east-1:"
                    f"{ACCOUNT}:subscription/cis-aws-foundations-benchmark/v/3.0.0",
                    "StandardsArn": CIS,
                    "StandardsInput": {},
                    "StandardsStatus": "READY",
                },
                {
                    "StandardsSubscriptionArn": "arn:aws:securityhub:us-east-1:"
                    f"{ACCOUNT}:subscription/aws-foundational-security-best-practices/v/1.0.0",
                    "StandardsArn": FSBP,
                    "StandardsInput": {},
                    "StandardsStatus": "INCOMPLETE",
                    "StandardsStatusReason": {
                        "StatusReasonCode": "NO_AVAILABLE_CONFIGURATION_RECORDER"
                    },
                },
            ]
        },
    )
    [region] = list(securityhub.collect(ctx))
    assert ctx.errors.items == []
    assert region.type == "aws_securityhub_region"
    assert region.uid == f"arn:aws:securityhub:us-east-1:{ACCOUNT}:region-settings"
    assert region.name == "us-east-1"
    assert region.config["enabled"] is True
    assert region.config["hub_arn"] == f"arn:aws:securityhub:us-east-1:{ACCOUNT}:hub/default"
    assert region.config["subscribed_at"]
    assert [s["status"] for s in region.config["standards"]] == ["READY", "INCOMPLETE"]
    assert region.config["standards"][1]["status_reason"] == "NO_AVAILABLE_CONFIGURATION_RECORDER"
    assert region.config["enabled_standards_arns"] == [CIS]
    assert region.unavailable == []


def test_not_subscribed_is_disabled_not_an_error(collector_ctx):
    ctx = collector_ctx("securityhub", "eu-west-1")
    [region] = list(securityhub.collect(ctx))
    assert region.config["enabled"] is False
    assert region.config["standards"] is None
    assert region.region == "eu-west-1"
    assert region.unavailable == []
    assert ctx.errors.items == []


def test_unreadable_hub_is_unknown(collector_ctx):
    ctx = collector_ctx("securityhub", "us-east-1")
    fail_operation(ctx, "DescribeHub", "AccessDeniedException")
    [region] = list(securityhub.collect(ctx))
    assert region.config["enabled"] is None
    assert "enabled" in region.unavailable
    assert [e.code for e in ctx.errors.items] == ["AccessDeniedException"]


def test_unreadable_standards_are_unavailable(aws, collector_ctx):
    aws("securityhub", "us-east-1").enable_security_hub()
    ctx = collector_ctx("securityhub", "us-east-1")
    fail_operation(ctx, "GetEnabledStandards")
    [region] = list(securityhub.collect(ctx))
    assert region.config["enabled"] is True
    assert region.config["standards"] is None
    assert region.unavailable == ["standards"]
    assert [e.api for e in ctx.errors.items] == ["get_enabled_standards"]
