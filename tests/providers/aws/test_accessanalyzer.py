"""Access Analyzer collector. moto (5.2) has no Access Analyzer backend: its server answers
with an HTML 500, so the listing is stubbed (tests/providers/aws/faults.py) and the real
moto answer is used for the failure case."""

import datetime as dt

import botocore.parsers

from stratusec.providers.aws import accessanalyzer
from tests.conftest import ACCOUNT_ID
from tests.providers.aws.faults import fail_operation, raise_on, stub_operation


def analyzer(name: str, type_: str = "ACCOUNT", status: str = "ACTIVE", **extra):  # type: ignore[no-untyped-def]
    return {
        "arn": f"arn:aws:access-analyzer:us-east-1:{ACCOUNT_ID}:analyzer/{name}",
        "name": name,
        "type": type_,
        "status": status,
        "createdAt": dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        "tags": {"team": "sec"},
        **extra,
    }


def by_type(resources):  # type: ignore[no-untyped-def]
    out: dict[str, list] = {}
    for r in resources:
        out.setdefault(r.type, []).append(r)
    return out


def test_active_account_analyzer_enables_the_region(collector_ctx):
    ctx = collector_ctx("accessanalyzer", "us-east-1")
    stub_operation(
        ctx,
        "ListAnalyzers",
        {
            "analyzers": [
                analyzer("external"),
                analyzer("unused", type_="ACCOUNT_UNUSED_ACCESS"),
            ]
        },
    )
    got = by_type(accessanalyzer.collect(ctx))
    analyzers = {a.name: a for a in got["aws_accessanalyzer_analyzer"]}
    ext = analyzers["external"]
    assert ext.uid == f"arn:aws:access-analyzer:us-east-1:{ACCOUNT_ID}:analyzer/external"
    assert ext.config["type"] == "ACCOUNT" and ext.config["status"] == "ACTIVE"
    assert ext.config["created_at"] == "2026-01-02T00:00:00+00:00"
    assert ext.tags == {"team": "sec"}
    [region] = got["aws_accessanalyzer_region"]
    assert region.uid == f"arn:aws:access-analyzer:us-east-1:{ACCOUNT_ID}:region-settings"
    assert region.name == "us-east-1" and region.region == "us-east-1"
    assert region.config["enabled"] is True
    assert region.config["active_analyzers"] == ["external"]
    assert sorted(region.config["analyzers"]) == ["external", "unused"]
    assert region.unavailable == []
    assert ctx.errors.items == []


def test_only_unused_access_or_inactive_analyzers_is_not_enabled(collector_ctx):
    ctx = collector_ctx("accessanalyzer", "eu-west-1")
    stub_operation(
        ctx,
        "ListAnalyzers",
        {
            "analyzers": [
                analyzer("unused", type_="ORGANIZATION_UNUSED_ACCESS"),
                analyzer("broken", status="FAILED", statusReason={"code": "SERVICE_LINKED_ROLE"}),
            ]
        },
    )
    got = by_type(accessanalyzer.collect(ctx))
    [region] = got["aws_accessanalyzer_region"]
    assert region.config["enabled"] is False
    assert region.region == "eu-west-1"
    broken = next(a for a in got["aws_accessanalyzer_analyzer"] if a.name == "broken")
    assert broken.config["status_reason"] == "SERVICE_LINKED_ROLE"


def test_no_analyzer_is_disabled(collector_ctx):
    ctx = collector_ctx("accessanalyzer", "us-east-1")
    stub_operation(ctx, "ListAnalyzers", {"analyzers": []})
    resources = list(accessanalyzer.collect(ctx))
    assert [r.type for r in resources] == ["aws_accessanalyzer_region"]
    assert resources[0].config["enabled"] is False
    assert resources[0].unavailable == []


def test_access_denied_is_unknown_not_disabled(collector_ctx):
    ctx = collector_ctx("accessanalyzer", "us-east-1")
    fail_operation(ctx, "ListAnalyzers", "AccessDeniedException")
    [region] = list(accessanalyzer.collect(ctx))
    assert region.config["enabled"] is None
    assert "enabled" in region.unavailable
    assert [(e.api, e.code) for e in ctx.errors.items] == [
        ("list_analyzers", "AccessDeniedException")
    ]


def test_moto_without_access_analyzer_is_unknown(collector_ctx):
    """What the demo's moto answers (an unparsable HTML 500): recorded, enabled unknown."""
    ctx = collector_ctx("accessanalyzer", "us-east-1")
    raise_on(ctx, "ListAnalyzers", botocore.parsers.ResponseParserError("HTML 500"))
    [region] = list(accessanalyzer.collect(ctx))
    assert region.config["enabled"] is None
    assert len(ctx.errors.items) == 1
