from stratusec.providers.aws import cloudwatch
from tests.providers.aws.faults import fail_operation

ACCOUNT = "123456789012"
REGION = "eu-west-1"
GROUP = "/aws/cloudtrail/main"
GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{GROUP}"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:security-alerts"
PATTERN = '{ ($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") }'


def _by_type(resources, type_):
    return [r for r in resources if r.type == type_]


def _seed(aws) -> None:
    logs = aws("logs", REGION)
    logs.create_log_group(
        logGroupName=GROUP,
        kmsKeyId=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k1",
        tags={"team": "sec"},
    )
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=365)
    logs.create_log_group(logGroupName="/app/plain")
    logs.put_metric_filter(
        logGroupName=GROUP,
        filterName="unauthorized-api-calls",
        filterPattern=PATTERN,
        metricTransformations=[
            {"metricName": "UnauthorizedAPICalls", "metricNamespace": "CIS", "metricValue": "1"}
        ],
    )
    aws("cloudwatch", REGION).put_metric_alarm(
        AlarmName="unauthorized-api-calls",
        MetricName="UnauthorizedAPICalls",
        Namespace="CIS",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[TOPIC],
        OKActions=[TOPIC],
    )


def test_log_groups_filters_alarms_and_region(aws, collector_ctx):
    _seed(aws)
    ctx = collector_ctx("cloudwatch", REGION)
    resources = list(cloudwatch.collect(ctx))
    assert ctx.errors.items == []

    groups = {g.name: g for g in _by_type(resources, "aws_cloudwatch_log_group")}
    assert set(groups) == {GROUP, "/app/plain"}
    main = groups[GROUP]
    assert main.uid == GROUP_ARN  # no ":*", as CloudTrail's LOGS_TO target
    assert main.region == REGION
    assert main.config["retention_in_days"] == 365
    assert main.config["kms_key_id"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k1"
    assert main.targets("USES_KEY") == [f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k1"]
    assert main.tags == {"team": "sec"}
    assert main.config["creation_time"].endswith("+00:00")
    plain = groups["/app/plain"]
    assert plain.config["retention_in_days"] is None  # never expires
    assert plain.config["kms_key_id"] is None
    assert plain.targets("USES_KEY") == []

    [mf] = _by_type(resources, "aws_cloudwatch_log_metric_filter")
    assert mf.name == "unauthorized-api-calls"
    assert mf.uid == f"{GROUP_ARN}:metric-filter:unauthorized-api-calls"
    assert mf.config["log_group_name"] == GROUP
    assert mf.config["pattern"] == PATTERN
    assert mf.config["metric_transformation"][0]["name"] == "UnauthorizedAPICalls"
    assert mf.config["metric_transformation"][0]["namespace"] == "CIS"
    assert mf.targets("ATTACHED_TO") == [GROUP_ARN]

    [alarm] = _by_type(resources, "aws_cloudwatch_metric_alarm")
    assert alarm.name == "unauthorized-api-calls"
    assert alarm.uid.startswith(f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:")
    assert alarm.config["metric_name"] == "UnauthorizedAPICalls"
    assert alarm.config["namespace"] == "CIS"
    assert alarm.config["metrics"] == [{"name": "UnauthorizedAPICalls", "namespace": "CIS"}]
    assert alarm.config["alarm_actions"] == [TOPIC]
    assert alarm.config["actions_enabled"] is True
    assert alarm.config["state_value"]
    notifies = [(r.target, r.properties["on"]) for r in alarm.relationships]
    assert sorted(notifies) == [(TOPIC, "ALARM"), (TOPIC, "OK")]

    [region] = _by_type(resources, "aws_cloudwatch_region")
    assert region.uid == f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:region-settings"
    assert region.name == REGION
    assert region.config == {
        "log_group_count": 2,
        "metric_filter_count": 1,
        "metric_alarm_count": 1,
    }
    assert region.unavailable == []


def test_empty_region_is_a_complete_empty_listing(collector_ctx):
    ctx = collector_ctx("cloudwatch", "us-east-1")
    resources = list(cloudwatch.collect(ctx))
    assert [r.type for r in resources] == ["aws_cloudwatch_region"]
    assert resources[0].config["metric_filter_count"] == 0
    assert resources[0].unavailable == []
    assert ctx.errors.items == []


def test_failed_listings_are_unavailable_not_empty(aws, collector_ctx):
    _seed(aws)
    ctx = collector_ctx("cloudwatch", REGION)
    fail_operation(ctx.client("logs"), "DescribeMetricFilters")
    fail_operation(ctx.client("cloudwatch"), "DescribeAlarms")
    fail_operation(ctx.client("logs"), "ListTagsForResource")
    resources = list(cloudwatch.collect(ctx))
    assert _by_type(resources, "aws_cloudwatch_log_metric_filter") == []
    assert _by_type(resources, "aws_cloudwatch_metric_alarm") == []
    [region] = _by_type(resources, "aws_cloudwatch_region")
    assert sorted(region.unavailable) == ["metric_alarms", "metric_filters"]
    assert region.config["metric_filter_count"] is None
    assert region.config["metric_alarm_count"] is None
    assert region.config["log_group_count"] == 2
    for g in _by_type(resources, "aws_cloudwatch_log_group"):
        assert g.unavailable == ["tags"]
    apis = sorted({e.api for e in ctx.errors.items})
    assert apis == ["describe_alarms", "describe_metric_filters", "list_tags_for_resource"]
