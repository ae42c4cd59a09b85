from stratusec.providers.aws import config_
from tests.providers.aws.faults import fail_operation

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/config-role"


def _by_type(resources, type_):
    return [r for r in resources if r.type == type_]


def _setup(aws, region: str, *, all_supported: bool = True, start: bool = True) -> None:
    aws("s3", "us-east-1").create_bucket(Bucket=f"config-{region}")
    c = aws("config", region)
    group = (
        {"allSupported": True, "includeGlobalResourceTypes": True}
        if all_supported
        else {
            "allSupported": False,
            "includeGlobalResourceTypes": False,
            "resourceTypes": ["AWS::S3::Bucket"],
        }
    )
    c.put_configuration_recorder(
        ConfigurationRecorder={"name": "default", "roleARN": ROLE, "recordingGroup": group}
    )
    c.put_delivery_channel(
        DeliveryChannel={
            "name": "default",
            "s3BucketName": f"config-{region}",
            "s3KmsKeyArn": f"arn:aws:kms:{region}:{ACCOUNT}:key/k1",
            "configSnapshotDeliveryProperties": {"deliveryFrequency": "Six_Hours"},
        }
    )
    if start:
        c.start_configuration_recorder(ConfigurationRecorderName="default")


def test_recording_region(aws, collector_ctx):
    _setup(aws, "us-east-1")
    ctx = collector_ctx("config", "us-east-1")
    resources = list(config_.collect(ctx))
    assert ctx.errors.items == []

    [rec] = _by_type(resources, "aws_config_configuration_recorder")
    assert rec.uid == f"arn:aws:config:us-east-1:{ACCOUNT}:configuration-recorder/default"
    assert rec.config["role_arn"] == ROLE
    assert rec.config["recording_group"]["all_supported"] is True
    assert rec.config["recording_group"]["include_global_resource_types"] is True
    assert rec.config["status"]["recording"] is True
    assert rec.config["status"]["last_status"]
    assert rec.targets("RUNS_AS") == [ROLE]

    [ch] = _by_type(resources, "aws_config_delivery_channel")
    assert ch.uid == f"arn:aws:config:us-east-1:{ACCOUNT}:delivery-channel/default"
    assert ch.config["s3_bucket_name"] == "config-us-east-1"
    assert ch.config["snapshot_delivery_properties"] == {"delivery_frequency": "Six_Hours"}
    assert ch.targets("LOGS_TO") == ["arn:aws:s3:::config-us-east-1"]
    assert ch.targets("USES_KEY") == [f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k1"]

    [region] = _by_type(resources, "aws_config_region")
    assert region.uid == f"arn:aws:config:us-east-1:{ACCOUNT}:region-settings"
    assert region.config["recorder_count"] == 1
    assert region.config["recording"] is True
    assert region.config["include_global_resource_types"] is True
    assert region.config["delivery_channels"] == ["default"]
    assert region.unavailable == []


def test_stopped_recorder_is_not_recording(aws, collector_ctx):
    _setup(aws, "eu-west-1", start=False)
    ctx = collector_ctx("config", "eu-west-1")
    resources = list(config_.collect(ctx))
    [rec] = _by_type(resources, "aws_config_configuration_recorder")
    assert rec.config["status"]["recording"] is False
    [region] = _by_type(resources, "aws_config_region")
    assert region.config["recorder_count"] == 1
    assert region.config["recording"] is False
    assert ctx.errors.items == []


def test_partial_recording_group_does_not_count(aws, collector_ctx):
    _setup(aws, "us-east-1", all_supported=False)
    resources = list(config_.collect(collector_ctx("config", "us-east-1")))
    [rec] = _by_type(resources, "aws_config_configuration_recorder")
    assert rec.config["status"]["recording"] is True
    assert rec.config["recording_group"]["resource_types"] == ["AWS::S3::Bucket"]
    [region] = _by_type(resources, "aws_config_region")
    assert region.config["recording"] is False


def test_empty_region(collector_ctx):
    ctx = collector_ctx("config", "eu-west-1")
    resources = list(config_.collect(ctx))
    assert [r.type for r in resources] == ["aws_config_region"]
    r = resources[0]
    assert r.region == "eu-west-1"
    assert r.config["recorder_count"] == 0
    assert r.config["recording"] is False
    assert r.config["delivery_channels"] == []
    assert r.unavailable == []
    assert ctx.errors.items == []


def test_status_failure_is_unknown(aws, collector_ctx):
    _setup(aws, "us-east-1")
    ctx = collector_ctx("config", "us-east-1")
    fail_operation(ctx, "DescribeConfigurationRecorderStatus", "AccessDeniedException")
    resources = list(config_.collect(ctx))
    [rec] = _by_type(resources, "aws_config_configuration_recorder")
    assert rec.config["status"] is None
    assert rec.unavailable == ["status"]
    [region] = _by_type(resources, "aws_config_region")
    assert region.config["recording"] is None
    assert "recording" in region.unavailable
    assert [e.api for e in ctx.errors.items] == ["describe_configuration_recorder_status"]


def test_listing_failure_is_unknown(collector_ctx):
    ctx = collector_ctx("config", "us-east-1")
    fail_operation(ctx, "DescribeConfigurationRecorders", "AccessDeniedException")
    [region] = list(config_.collect(ctx))
    assert region.config["recording"] is None
    assert region.config["recorder_count"] is None
    assert {"recording", "recorder_count"} <= set(region.unavailable)
