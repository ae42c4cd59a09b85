from stratusec.providers.aws import cloudtrail
from tests.providers.aws.faults import fail_operation

ACCOUNT = "123456789012"


def _bucket(aws, name: str) -> None:
    aws("s3", "us-east-1").create_bucket(Bucket=name)


def _by_type(resources, type_):
    return [r for r in resources if r.type == type_]


def test_multi_region_logging_trail(aws, collector_ctx):
    _bucket(aws, "trail-logs")
    ct = aws("cloudtrail", "us-east-1")
    arn = ct.create_trail(
        Name="org-main",
        S3BucketName="trail-logs",
        S3KeyPrefix="ct",
        IsMultiRegionTrail=True,
        IncludeGlobalServiceEvents=True,
        EnableLogFileValidation=True,
        KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/abcd",
        CloudWatchLogsLogGroupArn="arn:aws:logs:us-east-1:123456789012:log-group:ct:*",
        CloudWatchLogsRoleArn="arn:aws:iam::123456789012:role/ct-logs",
        TagsList=[{"Key": "team", "Value": "sec"}],
    )["TrailARN"]
    ct.start_logging(Name="org-main")
    ct.put_event_selectors(
        TrailName="org-main",
        EventSelectors=[
            {
                "ReadWriteType": "All",
                "IncludeManagementEvents": True,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}],
            }
        ],
    )

    ctx = collector_ctx("cloudtrail", "us-east-1")
    resources = list(cloudtrail.collect(ctx))
    assert ctx.errors.items == []
    [trail] = _by_type(resources, "aws_cloudtrail")
    assert trail.uid == arn == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-main"
    c = trail.config
    assert c["enable_logging"] is True
    assert c["is_multi_region_trail"] is True
    assert c["enable_log_file_validation"] is True
    assert c["include_global_service_events"] is True
    assert c["s3_bucket_name"] == "trail-logs"
    assert c["s3_key_prefix"] == "ct"
    assert c["home_region"] == "us-east-1"
    assert c["kms_key_id"] == "arn:aws:kms:us-east-1:123456789012:key/abcd"
    assert c["management_events"]["read"] is True
    assert c["management_events"]["write"] is True
    assert c["s3_object_data_events"]["all_buckets_read"] is True
    assert c["s3_object_data_events"]["all_buckets_write"] is True
    assert c["event_selectors"][0]["ReadWriteType"] == "All"
    assert c["status"]["is_logging"] is True
    assert trail.tags == {"team": "sec"}
    assert trail.unavailable == []
    assert set(trail.targets("LOGS_TO")) == {
        "arn:aws:s3:::trail-logs",
        "arn:aws:logs:us-east-1:123456789012:log-group:ct",
    }
    assert trail.targets("USES_KEY") == ["arn:aws:kms:us-east-1:123456789012:key/abcd"]

    [home] = _by_type(resources, "aws_cloudtrail_region")
    assert home.uid == f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:region-settings"
    assert home.config["logging"] is True
    assert home.config["multi_region_trail_logging"] is True
    assert home.config["trail_arns"] == [arn]

    # eu-west-1 sees the shadow: covered and logging, but the trail is not emitted again.
    ctx_eu = collector_ctx("cloudtrail", "eu-west-1")
    eu = list(cloudtrail.collect(ctx_eu))
    assert ctx_eu.errors.items == []
    assert [r.type for r in eu] == ["aws_cloudtrail_region"]
    assert eu[0].uid == f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:region-settings"
    assert eu[0].config["trail_arns"] == [arn]
    assert eu[0].config["trails"][0]["home_region"] == "us-east-1"
    assert eu[0].config["logging"] is True
    assert eu[0].config["multi_region_trail_logging"] is True


def test_non_logging_regional_trail(aws, collector_ctx):
    _bucket(aws, "eu-logs")
    ct = aws("cloudtrail", "eu-west-1")
    ct.create_trail(Name="eu-only", S3BucketName="eu-logs")
    ct.put_event_selectors(
        TrailName="eu-only",
        AdvancedEventSelectors=[
            {
                "Name": "writes",
                "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "readOnly", "Equals": ["false"]},
                    {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::eu-logs/"]},
                ],
            }
        ],
    )

    ctx = collector_ctx("cloudtrail", "eu-west-1")
    resources = list(cloudtrail.collect(ctx))
    assert ctx.errors.items == []
    [trail] = _by_type(resources, "aws_cloudtrail")
    c = trail.config
    assert c["enable_logging"] is False
    assert c["is_multi_region_trail"] is False
    assert c["enable_log_file_validation"] is False
    assert c["kms_key_id"] is None
    assert trail.targets("USES_KEY") == []
    assert c["management_events"] == {"read": False, "write": False, "exclude_event_sources": []}
    s3 = c["s3_object_data_events"]
    assert s3["all_buckets_read"] is False and s3["all_buckets_write"] is False
    assert s3["selectors"][0]["write"] is True and s3["selectors"][0]["read"] is False
    assert s3["selectors"][0]["resources"] == ["StartsWith:arn:aws:s3:::eu-logs/"]

    [region] = _by_type(resources, "aws_cloudtrail_region")
    assert region.config["trail_count"] == 1
    assert region.config["logging"] is False
    assert region.config["multi_region_trail_logging"] is False
    assert region.unavailable == []

    # The single-region trail does not cover us-east-1.
    us = list(cloudtrail.collect(collector_ctx("cloudtrail", "us-east-1")))
    assert [r.type for r in us] == ["aws_cloudtrail_region"]
    assert us[0].config["trail_arns"] == []
    assert us[0].config["logging"] is False


def test_region_without_trail(collector_ctx):
    ctx = collector_ctx("cloudtrail", "eu-west-1")
    resources = list(cloudtrail.collect(ctx))
    assert [r.type for r in resources] == ["aws_cloudtrail_region"]
    assert resources[0].region == "eu-west-1"
    assert resources[0].config["logging"] is False
    assert resources[0].config["trail_count"] == 0
    assert ctx.errors.items == []


def test_default_selectors_mean_management_read_write(aws, collector_ctx):
    _bucket(aws, "b-default")
    aws("cloudtrail", "us-east-1").create_trail(Name="plain", S3BucketName="b-default")
    [trail] = _by_type(
        cloudtrail.collect(collector_ctx("cloudtrail", "us-east-1")), "aws_cloudtrail"
    )
    assert trail.config["management_events"]["read"] is True
    assert trail.config["management_events"]["write"] is True


def test_status_and_selector_failures_are_unknown(aws, collector_ctx):
    _bucket(aws, "b-fail")
    aws("cloudtrail", "us-east-1").create_trail(Name="flaky", S3BucketName="b-fail")
    aws("cloudtrail", "us-east-1").start_logging(Name="flaky")
    ctx = collector_ctx("cloudtrail", "us-east-1")
    fail_operation(ctx, "GetTrailStatus", "AccessDeniedException")
    fail_operation(ctx, "GetEventSelectors", "AccessDeniedException")
    resources = list(cloudtrail.collect(ctx))
    [trail] = _by_type(resources, "aws_cloudtrail")
    assert trail.config["enable_logging"] is None
    assert trail.config["management_events"] is None
    assert {"enable_logging", "event_selectors", "management_events"} <= set(trail.unavailable)
    [region] = _by_type(resources, "aws_cloudtrail_region")
    assert region.config["logging"] is None
    assert "logging" in region.unavailable
    assert {e.api for e in ctx.errors.items} == {"get_trail_status", "get_event_selectors"}


def test_listing_failure(collector_ctx):
    ctx = collector_ctx("cloudtrail", "us-east-1")
    fail_operation(ctx, "DescribeTrails", "AccessDeniedException")
    resources = list(cloudtrail.collect(ctx))
    assert [r.type for r in resources] == ["aws_cloudtrail_region"]
    assert resources[0].config["logging"] is None
    assert resources[0].config["trails"] is None
    assert "trails" in resources[0].unavailable
    assert [e.api for e in ctx.errors.items] == ["describe_trails"]
