from pathlib import Path

import pytest
import yaml

from stratusec.checks import Status
from stratusec.checks.aws.monitoring import (
    ALARM_CONTROLS,
    PatternError,
    compile_pattern,
    pattern_verdict,
)
from stratusec.checks.registry import get_check
from tests.checks.fixtures import ACCOUNT, inventory, run
from tests.checks.lm_helpers import (
    SUMMARY_UID,
    alarm,
    covering,
    ct_region,
    cw_region,
    log_group,
    metric_filter,
    region_flag,
    subscription,
    summary,
    topic,
    topic_arn,
    trail,
)

US, EU = "us-east-1", "eu-west-1"
CONTROLS = {c.cis: c for c in ALARM_CONTROLS}
CIS_YAML = Path(__file__).parents[2] / "src/stratusec/compliance/cis-aws-3.0.yaml"


def test_the_table_implements_exactly_the_ids_of_the_compliance_file():
    controls = yaml.safe_load(CIS_YAML.read_text())["controls"]
    wanted = {c["id"]: c["checks"] for c in controls if c["id"] in {f"4.{i}" for i in range(1, 16)}}
    assert {c.cis: [c.check_id] for c in ALARM_CONTROLS} == wanted
    mine = {"3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.8", "3.9", "4.16"}
    for c in controls:
        if c["id"] in mine | set(wanted):
            for check_id in c["checks"]:
                assert get_check(check_id).id == check_id


# -- the filter pattern evaluator -------------------------------------------------------


@pytest.mark.parametrize("control", ALARM_CONTROLS, ids=lambda c: c.cis)
def test_every_cis_pattern_satisfies_its_own_control_only(control):
    assert pattern_verdict(control, control.pattern) == (True, "catches every event of the control")
    # ... and is not mistaken for another control's (the table's rows are distinct).
    others = [
        c.cis for c in ALARM_CONTROLS if c is not control and pattern_verdict(c, control.pattern)[0]
    ]
    assert others == []


@pytest.mark.parametrize(
    ("cis", "pattern"),
    [
        # CIS 3.0's literal text for 4.1 (no parentheses around the ||)
        (
            "4.1",
            '{($.errorCode = "*UnauthorizedOperation") || ($.errorCode = "AccessDenied*") && '
            '($.sourceIPAddress!="delivery.logs.amazonaws.com") && ($.eventName!="HeadBucket")}',
        ),
        # CIS 1.x for 4.1, without parentheses, odd spacing
        ("4.1", '{$.errorCode="*UnauthorizedOperation"||$.errorCode = "AccessDenied*"}'),
        # CIS 1.x for 4.2
        ("4.2", '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }'),
        ("4.2", '{ $.eventName = ConsoleLogin && $.additionalEventData.MFAUsed = "No" }'),
        # operand order and quoting do not matter; no eventSource guard is fine
        (
            "4.7",
            '{ ($.eventName = "ScheduleKeyDeletion") || ($.eventName = "DisableKey") }',
        ),
        (
            "4.7",
            "{($.eventSource=kms.amazonaws.com)&&(($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion))}",
        ),
        # a regex, and a broader but still write-only filter
        ("4.7", "{ $.eventName = %^(DisableKey|ScheduleKeyDeletion)$% }"),
        ("4.9", "{ ($.eventSource = config.amazonaws.com) && ($.readOnly IS FALSE) }"),
        # CIS 1.x 4.13 (no eventSource guard, no DisassociateRouteTable is NOT ok: see below)
        (
            "4.13",
            "{ ($.eventName = CreateRoute) || ($.eventName = CreateRouteTable) || "
            "($.eventName = ReplaceRoute) || ($.eventName = ReplaceRouteTableAssociation) || "
            "($.eventName = DeleteRouteTable) || ($.eventName = DeleteRoute) || "
            "($.eventName = DisassociateRouteTable) }",
        ),
        # 4.14 without the retired EC2-Classic events
        (
            "4.14",
            "{ ($.eventName = CreateVpc) || ($.eventName = DeleteVpc) || "
            "($.eventName = ModifyVpcAttribute) || ($.eventName = AcceptVpcPeeringConnection) || "
            "($.eventName = CreateVpcPeeringConnection) || "
            "($.eventName = DeleteVpcPeeringConnection) || "
            "($.eventName = RejectVpcPeeringConnection) }",
        ),
        ("4.3", '{ $.userIdentity.type = "Root" }'),
        ("4.6", '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed*") }'),
        # plain term pattern
        ("4.7", '?"\\"DisableKey\\"" ?"\\"ScheduleKeyDeletion\\""'),
    ],
)
def test_equivalent_patterns_are_accepted(cis, pattern):
    good, why = pattern_verdict(CONTROLS[cis], pattern)
    assert good, why


@pytest.mark.parametrize(
    ("cis", "pattern", "why"),
    [
        ("4.1", '{ $.errorCode = "AccessDenied*" }', "misses ec2:RunInstances"),
        ("4.7", "{ $.eventName = DisableKey }", "misses kms:ScheduleKeyDeletion"),
        (
            "4.13",
            "{ ($.eventName = CreateRoute) || ($.eventName = DeleteRoute) }",
            "misses ec2:CreateRouteTable, ec2:ReplaceRoute, "
            "ec2:ReplaceRouteTableAssociation and 2 more",
        ),
        ("4.4", "{ $.eventSource = iam.amazonaws.com }", "routine activity (iam:GetPolicy"),
        ("4.2", '{ $.eventName = "ConsoleLogin" }', "routine activity (a ConsoleLogin with MFA)"),
        ("4.5", "{ $.eventName = * }", "routine activity"),
        ("4.5", "", "routine activity"),  # the empty pattern matches every event
        ("4.5", "{ $.eventName = CreateTrail ", "pattern not understood"),
        ("4.5", "[ip, user, ...]", "pattern not understood"),
        # wrong case: CloudWatch Logs compares values case-sensitively
        ("4.7", "{ ($.eventName = disablekey) || ($.eventName = schedulekeydeletion) }", "misses"),
    ],
)
def test_inadequate_patterns_are_rejected(cis, pattern, why):
    good, reason = pattern_verdict(CONTROLS[cis], pattern)
    assert not good
    assert why in reason


def test_evaluator_semantics():
    ev = {"a": {"b": [1, {"c": "x"}]}, "n": 5, "t": True, "z": None, "s": "abc"}
    assert compile_pattern("{ $.a.b[1].c = x }")(ev)
    assert compile_pattern("{ $.n >= 5 && $.n < 6 && $.n = 5 }")(ev)
    assert compile_pattern("{ $.t IS TRUE && $.z IS NULL && $.q NOT EXISTS && $.s EXISTS }")(ev)
    assert not compile_pattern("{ $.t IS FALSE }")(ev)
    assert compile_pattern('{ $.s = "a*" && $.s != "b*" }')(ev)
    assert not compile_pattern('{ $.missing != "x" }')(ev)  # absent field: no match
    # && binds tighter than ||
    assert compile_pattern("{ $.s = abc || $.s = nope && $.n = 0 }")(ev)
    assert not compile_pattern("{ ($.s = abc || $.s = nope) && $.n = 0 }")(ev)
    assert compile_pattern('"abc" -"nope"')(ev)
    assert not compile_pattern('"abc" -"x"')(ev)
    with pytest.raises(PatternError):
        compile_pattern("{ a = b }")


# -- the CIS 4.x chain ------------------------------------------------------------------------

P41 = CONTROLS["4.1"].pattern


def world(*extra, trail_kwargs=None, with_alarm=True, actions=None, subscribed=True):
    """A multi-region trail -> log group -> 4.1 filter -> alarm -> topic -> subscription."""
    t = trail("main", **(trail_kwargs or {}))
    resources = [summary(), t, ct_region(US, [covering(t)]), cw_region(US), log_group()]
    resources.append(metric_filter("unauthorized", P41))
    if with_alarm:
        resources.append(
            alarm("unauthorized", actions=[topic_arn()] if actions is None else actions)
        )
    resources.append(topic())
    if subscribed:
        resources.append(subscription())
    return inventory(*resources, *extra)


def outcome(check_id, inv):
    [o] = list(get_check(check_id).run(inv))
    assert o.resource.uid == SUMMARY_UID
    return o


def test_alarm_chain_pass_and_other_controls_fail_at_step_3():
    inv = world()
    o = outcome("cloudwatch_alarm_unauthorized_api_calls", inv)
    assert o.status == Status.PASS, o.message
    assert "metric filter unauthorized on log group /aws/cloudtrail/main" in o.message
    assert "security-alerts (1 confirmed subscription(s))" in o.message
    assert o.evidence["alarm"].endswith(":alarm:unauthorized")
    other = outcome("cloudwatch_alarm_root_usage", inv)
    assert other.status == Status.FAIL
    assert "step 3: none of the 1 metric filter(s)" in other.message
    assert "unauthorized: misses a root ConsoleLogin" in other.message


def test_alarm_chain_all_fifteen_pass_with_the_cis_patterns():
    t = trail("main")
    resources = [summary(), t, ct_region(US, [covering(t)]), cw_region(US), log_group(), topic()]
    resources.append(subscription())
    for c in ALARM_CONTROLS:
        resources.append(metric_filter(c.metric, c.pattern))
        resources.append(alarm(c.metric, actions=[topic_arn()]))
    inv = inventory(*resources)
    for c in ALARM_CONTROLS:
        assert outcome(c.check_id, inv).status == Status.PASS, c.cis


def test_alarm_step_1_no_multi_region_trail():
    # The demo: single-region trails only -> every 4.x control fails at step 1.
    main = trail("acme-main", multi=False)
    eu = trail("acme-eu", region=EU, multi=False, logging=False)
    inv = inventory(
        summary(), main, eu, ct_region(US, [covering(main)]), ct_region(EU, [covering(eu)])
    )
    for c in ALARM_CONTROLS:
        o = outcome(c.check_id, inv)
        assert o.status == Status.FAIL
        assert (
            "Step 1 fails" in o.message
            and "acme-eu (eu-west-1): single-region, not logging" in o.message
        )


@pytest.mark.parametrize(
    ("inv", "status", "text"),
    [
        (lambda: world(trail_kwargs={"log_group": None}), Status.FAIL, "step 2: trail main"),
        (
            lambda: world(with_alarm=False),
            Status.FAIL,
            "no alarm watches its metric CISBenchmark/unauthorized",
        ),
        (
            lambda: world(actions=[]),
            Status.FAIL,
            "step 5: metric filter unauthorized matches, "
            "but alarm unauthorized has no alarm action",
        ),
        (
            lambda: world(subscribed=False),
            Status.FAIL,
            "SNS topic security-alerts has no confirmed subscription",
        ),
        (
            lambda: world(
                actions=[topic_arn("central", "us-east-1").replace(ACCOUNT, "999999999999")]
            ),
            Status.UNKNOWN,
            "is not in this inventory",
        ),
        (
            lambda: world(actions=[f"arn:aws:ssm:us-east-1:{ACCOUNT}:opsitem:3"]),
            Status.PASS,
            "triggers arn:aws:ssm",
        ),
    ],
)
def test_alarm_chain_steps(inv, status, text):
    o = outcome("cloudwatch_alarm_unauthorized_api_calls", inv())
    assert o.status == status, o.message
    assert text in o.message


def test_alarm_chain_pending_subscription_and_disabled_actions_fail():
    t = trail("main")
    base = [summary(), t, ct_region(US, [covering(t)]), cw_region(US), log_group(), topic()]
    f = metric_filter("unauthorized", P41)
    inv = inventory(
        *base, f, alarm("unauthorized", actions=[topic_arn()]), subscription(pending=True)
    )
    o = outcome("cloudwatch_alarm_unauthorized_api_calls", inv)
    assert o.status == Status.FAIL and "no confirmed subscription" in o.message
    inv = inventory(
        *base, f, alarm("unauthorized", actions=[topic_arn()], enabled=False), subscription()
    )
    o = outcome("cloudwatch_alarm_unauthorized_api_calls", inv)
    assert o.status == Status.FAIL and "actions disabled" in o.message


def test_alarm_must_watch_the_filters_metric_in_the_same_namespace_and_region():
    t = trail("main")
    base = [
        summary(),
        t,
        ct_region(US, [covering(t)]),
        cw_region(US),
        log_group(),
        topic(),
        subscription(),
    ]
    f = metric_filter("unauthorized", P41)
    wrong_ns = alarm("unauthorized", namespace="Other", actions=[topic_arn()])
    wrong_region = alarm("unauthorized", region=EU, actions=[topic_arn()])
    o = outcome(
        "cloudwatch_alarm_unauthorized_api_calls", inventory(*base, f, wrong_ns, wrong_region)
    )
    assert o.status == Status.FAIL and "step 4" in o.message


def test_alarm_chain_filters_on_another_log_group_do_not_count():
    t = trail("main")
    inv = inventory(
        summary(),
        t,
        ct_region(US, [covering(t)]),
        cw_region(US),
        log_group(),
        log_group("/app/other"),
        metric_filter("unauthorized", P41, group="/app/other"),
        alarm("unauthorized", actions=[topic_arn()]),
        topic(),
        subscription(),
    )
    o = outcome("cloudwatch_alarm_unauthorized_api_calls", inv)
    assert o.status == Status.FAIL
    assert (
        "log group /aws/cloudtrail/main of trail main (us-east-1) has no metric filter" in o.message
    )


def test_alarm_chain_unknowns():
    t = trail("main")
    base = [summary(), t, ct_region(US, [covering(t)]), log_group()]
    # CloudWatch not scanned in the trail's region
    o = outcome("cloudwatch_alarm_unauthorized_api_calls", inventory(*base))
    assert o.status == Status.UNKNOWN and "not in this inventory" in o.message
    # metric filters could not be listed
    inv = inventory(*base, cw_region(US, unavailable=["metric_filters"]))
    assert outcome("cloudwatch_alarm_unauthorized_api_calls", inv).status == Status.UNKNOWN
    # alarms could not be listed, but a filter matches
    inv = inventory(*base, cw_region(US, unavailable=["metric_alarms"]), metric_filter("u", P41))
    o = outcome("cloudwatch_alarm_unauthorized_api_calls", inv)
    assert o.status == Status.UNKNOWN and "step 4" in o.message
    # topic subscriptions could not be read
    inv = inventory(
        *base,
        cw_region(US),
        metric_filter("u", P41),
        alarm("u", actions=[topic_arn()]),
        topic(unavailable=["subscriptions"]),
    )
    assert outcome("cloudwatch_alarm_unauthorized_api_calls", inv).status == Status.UNKNOWN
    # trail selectors unreadable
    t2 = trail("main", unavailable=["management_events"])
    inv = inventory(summary(), t2, ct_region(US, [covering(t2)]))
    assert outcome("cloudwatch_alarm_unauthorized_api_calls", inv).status == Status.UNKNOWN


# -- GuardDuty / Security Hub ----------------------------------------------------------------


def test_guardduty_enabled_all_regions():
    inv = inventory(
        region_flag("aws_guardduty_region", "guardduty", US, "enabled", True),
        region_flag("aws_guardduty_region", "guardduty", EU, "enabled", False),
        region_flag("aws_guardduty_region", "guardduty", "ap-south-1", "enabled", None),
        regions=[US, EU, "ap-south-1", "sa-east-1"],
    )
    out = run("guardduty_enabled_all_regions", inv)
    assert out[US][0] == Status.PASS
    assert out[EU][0] == Status.FAIL and "eu-west-1" in out[EU][1]
    assert out["ap-south-1"][0] == Status.UNKNOWN
    assert out["sa-east-1"][0] == Status.UNKNOWN  # no record for a scanned region


def test_securityhub_enabled_all_regions():
    cis = "arn:aws:securityhub:us-east-1::standards/cis-aws-foundations-benchmark/v/3.0.0"
    inv = inventory(
        region_flag(
            "aws_securityhub_region",
            "securityhub",
            US,
            "enabled",
            True,
            enabled_standards_arns=[cis],
        ),
        region_flag("aws_securityhub_region", "securityhub", EU, "enabled", False),
        region_flag("aws_securityhub_region", "securityhub", "ap-south-1", "enabled", None),
        regions=[US, EU, "ap-south-1", "sa-east-1"],
    )
    out = run("securityhub_enabled_all_regions", inv)
    assert out[US][0] == Status.PASS
    assert "cis-aws-foundations-benchmark/v/3.0.0" in out[US][1]
    assert out[EU][0] == Status.FAIL
    assert out["ap-south-1"][0] == Status.UNKNOWN
    assert out["sa-east-1"][0] == Status.UNKNOWN


# -- log groups ----------------------------------------------------------------------------


def test_log_group_retention():
    inv = inventory(
        log_group("forever", retention=None),
        log_group("year", retention=400),
        log_group("week", retention=7),
        log_group("unread", unavailable=["retention_in_days"]),
    )
    out = run("cloudwatch_log_group_retention", inv)
    assert out["forever"][0] == Status.PASS and "never expires" in out["forever"][1]
    assert out["year"][0] == Status.PASS
    assert out["week"][0] == Status.FAIL and "only 7 days" in out["week"][1]
    assert out["unread"][0] == Status.UNKNOWN


def test_log_group_encrypted():
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"
    inv = inventory(
        log_group("enc", kms=key),
        log_group("plain"),
        log_group("unread", unavailable=["kms_key_id"]),
    )
    out = run("cloudwatch_log_group_encrypted", inv)
    assert out["enc"][0] == Status.PASS and key in out["enc"][1]
    assert out["plain"][0] == Status.FAIL
    assert out["unread"][0] == Status.UNKNOWN


# -- end to end: the collectors' records feed the chain -------------------------------------


def test_alarm_chain_on_collected_records(aws, collector_ctx):
    from stratusec.checks import Inventory
    from stratusec.providers.aws import cloudtrail, cloudwatch, sns

    aws("s3").create_bucket(Bucket="trail-bucket")
    logs = aws("logs")
    logs.create_log_group(logGroupName="/aws/cloudtrail/main")
    group = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/cloudtrail/main:*"
    ct = aws("cloudtrail")
    ct.create_trail(
        Name="main",
        S3BucketName="trail-bucket",
        IsMultiRegionTrail=True,
        CloudWatchLogsLogGroupArn=group,
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/ct-to-cw",
    )
    ct.start_logging(Name="main")
    root = CONTROLS["4.3"]
    logs.put_metric_filter(
        logGroupName="/aws/cloudtrail/main",
        filterName="root-usage",
        filterPattern=root.pattern,
        metricTransformations=[
            {"metricName": "RootUsage", "metricNamespace": "CIS", "metricValue": "1"}
        ],
    )
    topic_arn_ = aws("sns").create_topic(Name="security-alerts")["TopicArn"]
    aws("sns").subscribe(
        TopicArn=topic_arn_, Protocol="sqs", Endpoint=f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    )
    aws("cloudwatch").put_metric_alarm(
        AlarmName="root-usage",
        MetricName="RootUsage",
        Namespace="CIS",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic_arn_],
    )
    records = []
    for mod, service in ((cloudtrail, "cloudtrail"), (cloudwatch, "cloudwatch"), (sns, "sns")):
        ctx = collector_ctx(service, "us-east-1")
        records += list(mod.collect(ctx))
        assert ctx.errors.items == [], service
    inv = Inventory([*records, summary()], regions=["us-east-1"])
    o = outcome(root.check_id, inv)
    assert o.status == Status.PASS, o.message
    assert "alarm root-usage notifies SNS topic security-alerts" in o.message
    o = outcome("cloudwatch_alarm_unauthorized_api_calls", inv)
    assert o.status == Status.FAIL and "step 3" in o.message
