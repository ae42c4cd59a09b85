import pytest

from stratusec.checks import Status
from stratusec.checks.registry import get_check
from tests.checks.fixtures import ACCOUNT, inventory, res, run, statuses
from tests.checks.lm_helpers import (
    SUMMARY_UID,
    bucket,
    covering,
    ct_region,
    region_flag,
    summary,
    trail,
)

US, EU = "us-east-1", "eu-west-1"


def account_outcome(check_id, *resources, regions=None):
    outs = list(get_check(check_id).run(inventory(*resources, regions=regions)))
    assert len(outs) == 1
    return outs[0]


# -- 3.1 cloudtrail_multi_region_logging ---------------------------------------------------


def test_multi_region_logging_pass():
    t = trail("org-main")
    o = account_outcome(
        "cloudtrail_multi_region_logging",
        summary(),
        t,
        ct_region(US, [covering(t)]),
        ct_region(EU, [covering(t)]),
    )
    assert o.status == Status.PASS
    assert o.resource.uid == SUMMARY_UID
    assert "org-main (us-east-1)" in o.message
    assert o.evidence["trails"] == [t.uid]


def test_multi_region_logging_fail_explains_every_trail_and_uncovered_region():
    # The demo's M6: a single-region trail in us-east-1, a stopped one in eu-west-1.
    main = trail("acme-main", multi=False)
    eu = trail("acme-eu", region=EU, multi=False, logging=False)
    o = account_outcome(
        "cloudtrail_multi_region_logging",
        summary(),
        main,
        eu,
        ct_region(US, [covering(main)]),
        ct_region(EU, [covering(eu)]),
    )
    assert o.status == Status.FAIL
    assert "acme-main (us-east-1): single-region" in o.message
    assert "acme-eu (eu-west-1): single-region, not logging" in o.message
    assert o.evidence["regions_without_logging"] == [EU]


@pytest.mark.parametrize(
    ("kwargs", "why"),
    [
        ({"logging": False}, "not logging"),
        ({"read": True, "write": False}, "management events without write events"),
        ({"read": False, "write": False}, "no management events"),
    ],
)
def test_multi_region_logging_fail_reasons(kwargs, why):
    t = trail("t", **kwargs)
    o = account_outcome("cloudtrail_multi_region_logging", summary(), t, ct_region(US, []))
    assert o.status == Status.FAIL
    assert why in o.message


def test_multi_region_logging_no_trails_fails():
    o = account_outcome("cloudtrail_multi_region_logging", summary(), ct_region(US, []))
    assert o.status == Status.FAIL
    assert "the account has no trails" in o.message


def test_multi_region_logging_unknown_cases():
    unread = trail("t", unavailable=["management_events"])
    o = account_outcome("cloudtrail_multi_region_logging", summary(), unread, ct_region(US, []))
    assert o.status == Status.UNKNOWN
    assert "event selectors unreadable" in o.message

    # Listing failed in a region: a multi-region trail homed there would be invisible.
    o = account_outcome("cloudtrail_multi_region_logging", summary(), ct_region(US, None))
    assert o.status == Status.UNKNOWN

    # No CloudTrail data at all; no IAM summary either: a stand-in with the same uid.
    o = account_outcome("cloudtrail_multi_region_logging", res("aws_vpc", "v"))
    assert o.status == Status.UNKNOWN
    assert o.resource.uid == SUMMARY_UID


def test_multi_region_logging_organization_trail_is_unknown_not_pass():
    shadow = {
        "arn": "arn:aws:cloudtrail:us-east-1:999999999999:trail/org",
        "name": "org",
        "home_region": US,
        "is_multi_region_trail": True,
        "is_organization_trail": True,
        "is_logging": True,
    }
    o = account_outcome("cloudtrail_multi_region_logging", summary(), ct_region(US, [shadow]))
    assert o.status == Status.UNKNOWN
    assert "organization trail" in o.message


# -- per-trail checks ----------------------------------------------------------------------


def test_log_file_validation():
    inv = inventory(
        trail("good"),
        trail("bad", validation=False),
        trail("unread", validation=None),
    )
    out = run("cloudtrail_log_file_validation", inv)
    assert out["good"][0] == Status.PASS
    assert out["bad"][0] == Status.FAIL and "bad (us-east-1)" in out["bad"][1]
    assert out["unread"][0] == Status.UNKNOWN


def test_kms_encryption():
    unread = trail("unread")
    del unread.config["kms_key_id"]
    inv = inventory(trail("good"), trail("bad", kms=None), unread)
    out = run("cloudtrail_kms_encryption", inv)
    assert out["good"][0] == Status.PASS and "trail-key" in out["good"][1]
    assert out["bad"][0] == Status.FAIL
    assert out["unread"][0] == Status.UNKNOWN


def test_cloudwatch_logs_integration():
    broken = trail(
        "broken", status={"latest_cloud_watch_logs_delivery_error": "AccessDeniedException"}
    )
    unread = trail("unread")
    del unread.config["cloud_watch_logs_group_arn"]
    inv = inventory(trail("good"), trail("bad", log_group=None), broken, unread)
    out = run("cloudtrail_cloudwatch_logs_integration", inv)
    assert out["good"][0] == Status.PASS and "/aws/cloudtrail/main" in out["good"][1]
    assert out["bad"][0] == Status.FAIL
    assert out["broken"][0] == Status.FAIL and "AccessDeniedException" in out["broken"][1]
    assert out["unread"][0] == Status.UNKNOWN


def test_bucket_access_logging():
    inv = inventory(
        trail("logged", bucket="b-logged"),
        bucket("b-logged", logging={"target_bucket": "access-logs", "target_prefix": "ct/"}),
        trail("unlogged", bucket="b-unlogged"),
        bucket("b-unlogged", logging=None),
        trail("elsewhere", bucket="other-account-bucket"),
        trail("unread", bucket="b-unread"),
        res("aws_s3_bucket", "b-unread", uid="arn:aws:s3:::b-unread", unavailable=["logging"]),
    )
    out = run("cloudtrail_bucket_access_logging", inv)
    assert out["logged"][0] == Status.PASS and "s3://access-logs/ct/" in out["logged"][1]
    assert out["unlogged"][0] == Status.FAIL and "b-unlogged" in out["unlogged"][1]
    assert out["elsewhere"][0] == Status.UNKNOWN and "not in this inventory" in out["elsewhere"][1]
    assert out["unread"][0] == Status.UNKNOWN


# -- 3.8 / 3.9 S3 object-level logging --------------------------------------------------------


def sel(read, write, *, all_buckets=False, resources=(), advanced=False):
    s = {"read": read, "write": write, "all_buckets": all_buckets, "resources": list(resources)}
    if advanced:
        s["name"] = "s3"
    return s


def test_s3_data_events_all_buckets_write_only():
    t = trail("t", s3_selectors=[sel(False, True, all_buckets=True, advanced=True)])
    inv = inventory(t, bucket("data"), bucket("eu-data", region=EU))
    assert statuses("cloudtrail_s3_data_events_write", inv) == {
        "data": Status.PASS,
        "eu-data": Status.PASS,  # the trail is multi-region
    }
    assert statuses("cloudtrail_s3_data_events_read", inv) == {
        "data": Status.FAIL,
        "eu-data": Status.FAIL,
    }


def test_s3_data_events_selector_coverage():
    t = trail(
        "t",
        multi=False,
        s3_selectors=[
            sel(True, True, resources=["arn:aws:s3:::classic/"]),
            sel(True, True, resources=["arn:aws:s3:::prefixed/logs/"]),
            sel(True, True, resources=["StartsWith:arn:aws:s3:::adv/"], advanced=True),
        ],
    )
    eu = trail(
        "eu",
        region=EU,
        multi=False,
        s3_selectors=[
            sel(True, True, resources=["NotStartsWith:arn:aws:s3:::excluded/"], advanced=True)
        ],
    )
    inv = inventory(
        t,
        eu,
        bucket("classic"),
        bucket("prefixed"),
        bucket("adv"),
        bucket("uncovered"),
        bucket("other", region=EU),  # the eu trail logs every bucket but 'excluded'
        bucket("excluded", region=EU),
    )
    out = run("cloudtrail_s3_data_events_read", inv)
    assert out["classic"][0] == Status.PASS and "t (us-east-1)" in out["classic"][1]
    assert out["prefixed"][0] == Status.FAIL and "only in part" in out["prefixed"][1]
    assert out["adv"][0] == Status.PASS
    assert out["uncovered"][0] == Status.FAIL  # the eu trail is single-region
    assert out["other"][0] == Status.PASS and "eu (eu-west-1)" in out["other"][1]
    assert out["excluded"][0] == Status.FAIL


def test_s3_data_events_stopped_trail_and_unknowns():
    stopped = trail("stopped", logging=False, s3_selectors=[sel(True, True, all_buckets=True)])
    assert statuses("cloudtrail_s3_data_events_write", inventory(stopped, bucket("b"))) == {
        "b": Status.FAIL
    }
    unread = trail("unread", unavailable=["s3_object_data_events"])
    assert statuses("cloudtrail_s3_data_events_write", inventory(unread, bucket("b"))) == {
        "b": Status.UNKNOWN
    }
    assert statuses("cloudtrail_s3_data_events_read", inventory(bucket("b"))) == {
        "b": Status.UNKNOWN  # CloudTrail not scanned
    }
    shadow = {
        "arn": "arn:aws:cloudtrail:us-east-1:999999999999:trail/org",
        "name": "org",
        "home_region": US,
        "is_multi_region_trail": True,
        "is_organization_trail": True,
        "is_logging": True,
    }
    inv = inventory(ct_region(US, [shadow]), bucket("b"))
    assert statuses("cloudtrail_s3_data_events_read", inv) == {"b": Status.UNKNOWN}
    inv = inventory(ct_region(US, None), bucket("b"))
    assert statuses("cloudtrail_s3_data_events_read", inv) == {"b": Status.UNKNOWN}


# -- 3.3 / Config -----------------------------------------------------------------------------


def config_region(region, recording, recorders=None):
    return region_flag(
        "aws_config_region",
        "config",
        region,
        "recording",
        recording,
        recorders=recorders if recorders is not None else [],
    )


def test_config_recorder_enabled_all_regions():
    rec = {"name": "default", "recording": True, "all_supported": True}
    stopped = {"name": "default", "recording": False, "all_supported": True}
    inv = inventory(
        config_region(US, True, [rec]),
        config_region(EU, False, [stopped]),
        config_region("ap-south-1", False, []),
        config_region("ca-central-1", None),
        regions=[US, EU, "ap-south-1", "ca-central-1", "sa-east-1"],
    )
    out = run("config_recorder_enabled_all_regions", inv)
    assert out[US][0] == Status.PASS
    assert out[EU][0] == Status.FAIL and "recording=False" in out[EU][1]
    assert (
        out["ap-south-1"][0] == Status.FAIL and "no configuration recorder" in out["ap-south-1"][1]
    )
    assert out["ca-central-1"][0] == Status.UNKNOWN
    # No record at all for a scanned region: UNKNOWN on a stand-in with the collector's uid.
    outs = {o.resource.name: o for o in get_check("config_recorder_enabled_all_regions").run(inv)}
    assert outs["sa-east-1"].status == Status.UNKNOWN
    assert outs["sa-east-1"].resource.uid == f"arn:aws:config:sa-east-1:{ACCOUNT}:region-settings"


def recorder(name, group, **config):
    return res(
        "aws_config_configuration_recorder",
        name,
        service="config",
        config={"name": name, "recording_group": group, "service_principal": None, **config},
    )


def test_config_recorder_all_resource_types():
    full = {"all_supported": True, "include_global_resource_types": True, "resource_types": []}
    some = {"all_supported": False, "resource_types": ["AWS::S3::Bucket", "AWS::EC2::Instance"]}
    excl = {
        "all_supported": False,
        "resource_types": [],
        "exclusion_by_resource_types": ["AWS::EC2::NetworkInterface"],
        "recording_strategy": "EXCLUSION_BY_RESOURCE_TYPES",
    }
    unread = recorder("unread", None)
    inv = inventory(
        recorder("full", full),
        recorder("some", some),
        recorder("excl", excl),
        recorder("linked", some, service_principal="config-conforms.amazonaws.com"),
        unread,
    )
    out = run("config_recorder_all_resource_types", inv)
    assert out["full"][0] == Status.PASS and "including global" in out["full"][1]
    assert out["some"][0] == Status.FAIL and "AWS::S3::Bucket" in out["some"][1]
    assert out["excl"][0] == Status.FAIL and "AWS::EC2::NetworkInterface" in out["excl"][1]
    assert "linked" not in out
    assert out["unread"][0] == Status.UNKNOWN


# -- 3.6 KMS rotation ---------------------------------------------------------------------


def key(name, rotation, *, manager="CUSTOMER", reason=None, aliases=(), unavailable=()):
    return res(
        "aws_kms_key",
        name,
        service="kms",
        config={
            "key_id": name,
            "key_manager": manager,
            "key_spec": "SYMMETRIC_DEFAULT",
            "key_state": "Enabled",
            "enable_key_rotation": rotation,
            "rotation_period_in_days": 365 if rotation else None,
            "rotation_unavailable_reason": reason,
            "aliases": list(aliases),
        },
        unavailable=list(unavailable),
    )


def test_kms_key_rotation_enabled():
    inv = inventory(
        key("rotating", True, aliases=["alias/acme-eu-backups"]),
        key("static", False, aliases=["alias/acme-app"]),
        key("aws-managed", None, manager="AWS", reason="key manager AWS"),
        key("asymmetric", None, reason="key spec RSA_2048: automatic rotation not supported"),
        key("unread", None, unavailable=["enable_key_rotation"]),
        key("ebs-default", False, aliases=["alias/aws/ebs"]),  # AWS managed, whatever it says
    )
    out = run("kms_key_rotation_enabled", inv)
    assert out["rotating"][0] == Status.PASS and "365 days" in out["rotating"][1]
    assert out["static"][0] == Status.FAIL and "alias/acme-app" in out["static"][1]
    assert "aws-managed" not in out and "asymmetric" not in out and "ebs-default" not in out
    assert out["unread"][0] == Status.UNKNOWN
