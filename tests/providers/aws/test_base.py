"""CollectorContext.listing / call / pages error handling, and the shared helpers in
``stratusec.providers.aws.util``."""

from typing import Any

import pytest
from botocore.parsers import ResponseParserError

from stratusec.providers.aws.base import CollectorContext, Listing
from stratusec.providers.aws.session import ClientFactory
from stratusec.providers.aws.util import as_bool, as_int, ec2_arn, key_ref_uid, parse_policy
from tests.providers.aws.faults import fail_operation, raise_on

ACCOUNT = "123456789012"
REGION = "us-east-1"


def unparsable(client: Any, operation: str) -> None:
    """Make ``operation`` fail as botocore does on an HTML 500 it cannot parse."""
    raise_on(client, operation, ResponseParserError("Unable to parse response (<html>...)"))


@pytest.fixture
def sqs_ctx(aws, collector_ctx) -> CollectorContext:  # type: ignore[no-untyped-def]
    """An SQS context with three queues (one per page at PageSize 1)."""
    seed = aws("sqs", REGION)
    for i in range(3):
        seed.create_queue(QueueName=f"q{i}")
    ctx: CollectorContext = collector_ctx("sqs", REGION)
    return ctx


def one_per_page() -> dict[str, Any]:
    return {"PaginationConfig": {"PageSize": 1}}


def errors(ctx: CollectorContext) -> list[tuple[str, str, str | None]]:
    return [(e.api, e.code, e.resource) for e in ctx.errors.items]


# -- listing -------------------------------------------------------------------------------


def test_listing_collects_every_page(sqs_ctx):
    got = sqs_ctx.listing(sqs_ctx.client(), "list_queues", "QueueUrls", **one_per_page())
    assert isinstance(got, Listing)
    assert got.ok is True
    assert sorted(u.rsplit("/", 1)[-1] for u in got.items) == ["q0", "q1", "q2"]
    assert sqs_ctx.errors.items == []


def test_listing_without_paginator_is_one_call(collector_ctx):
    ctx = collector_ctx("ec2", REGION)
    assert not ctx.client().can_paginate("describe_regions")
    got = ctx.listing(ctx.client(), "describe_regions", "Regions")
    assert got.ok is True
    assert REGION in {r["RegionName"] for r in got.items}


def test_listing_empty_is_ok(collector_ctx):
    ctx = collector_ctx("sqs", REGION)
    got = ctx.listing(ctx.client(), "list_queues", "QueueUrls")
    assert got == Listing(items=[], ok=True)


def test_listing_failure_is_recorded_and_not_ok(sqs_ctx):
    fail_operation(sqs_ctx.client(), "ListQueues")
    got = sqs_ctx.listing(sqs_ctx.client(), "list_queues", "QueueUrls", resource="r1")
    assert got == Listing(items=[], ok=False)
    assert errors(sqs_ctx) == [("list_queues", "AccessDenied", "r1")]


def test_listing_failed_page_keeps_earlier_items(sqs_ctx):
    fail_operation(sqs_ctx.client(), "ListQueues", after=1)
    got = sqs_ctx.listing(sqs_ctx.client(), "list_queues", "QueueUrls", **one_per_page())
    assert got.ok is False
    assert len(got.items) == 1
    assert errors(sqs_ctx) == [("list_queues", "AccessDenied", None)]


def test_listing_records_like_pages(sqs_ctx, account):
    # A second context with its own client factory, so each has its own client and fault.
    other = CollectorContext(
        factory=ClientFactory(account), account_id=sqs_ctx.account_id, service="sqs", region=REGION
    )
    assert other.client() is not sqs_ctx.client()
    for ctx in (sqs_ctx, other):
        fail_operation(ctx.client(), "ListQueues", after=1)
    listing = sqs_ctx.listing(
        sqs_ctx.client(), "list_queues", "QueueUrls", resource="x", **one_per_page()
    )
    items = list(
        other.pages(other.client(), "list_queues", "QueueUrls", resource="x", **one_per_page())
    )
    assert not listing.ok and len(listing.items) == 1  # page 1 stands, page 2 failed
    assert items == listing.items
    assert sqs_ctx.errors.items == other.errors.items


# -- unparsable responses (ResponseParserError) --------------------------------------------


def test_call_records_unparsable_response(collector_ctx):
    ctx = collector_ctx("ec2", REGION)
    unparsable(ctx.client(), "GetEbsDefaultKmsKeyId")
    res = ctx.call(ctx.client(), "get_ebs_default_kms_key_id", resource="r")
    assert not res.ok and res.failed
    assert res.code == "ResponseParserError"
    assert res.data == {}
    assert errors(ctx) == [("get_ebs_default_kms_key_id", "ResponseParserError", "r")]


def test_pages_records_unparsable_response(sqs_ctx):
    unparsable(sqs_ctx.client(), "ListQueues")
    assert list(sqs_ctx.pages(sqs_ctx.client(), "list_queues", "QueueUrls")) == []
    assert errors(sqs_ctx) == [("list_queues", "ResponseParserError", None)]


def test_listing_records_unparsable_response(sqs_ctx):
    unparsable(sqs_ctx.client(), "ListQueues")
    got = sqs_ctx.listing(sqs_ctx.client(), "list_queues", "QueueUrls")
    assert got == Listing(items=[], ok=False)
    assert errors(sqs_ctx) == [("list_queues", "ResponseParserError", None)]


# -- util ----------------------------------------------------------------------------------


def test_parse_policy():
    doc = {"Version": "2012-10-17", "Statement": []}
    assert parse_policy(doc) is doc
    assert parse_policy([1, 2]) == [1, 2]
    assert parse_policy('{"a": 1}') == {"a": 1}
    assert parse_policy("%7B%22a%22%3A%201%7D") == {"a": 1}
    assert parse_policy(b'{"a": 1}') == {"a": 1}
    assert parse_policy("not json") == "not json"
    assert parse_policy("%zz{") == "%zz{"
    assert parse_policy(None) is None
    assert parse_policy("") is None
    assert parse_policy("  ") is None


def test_key_ref_uid(collector_ctx):
    ctx = collector_ctx("kms", "eu-west-1")
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abc"
    assert key_ref_uid(ctx, key_arn) == key_arn
    assert key_ref_uid(ctx, key_arn, "us-east-2") == key_arn
    assert key_ref_uid(ctx, "abc") == f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/abc"
    assert key_ref_uid(ctx, "alias/x") == f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/x"
    assert key_ref_uid(ctx, "alias/x", "us-east-2") == f"arn:aws:kms:us-east-2:{ACCOUNT}:alias/x"
    assert key_ref_uid(ctx, None) is None
    assert key_ref_uid(ctx, "") is None


def test_key_ref_uid_in_global_task_uses_home_region(collector_ctx):
    ctx = collector_ctx("s3", "global")
    assert key_ref_uid(ctx, "abc") == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/abc"


def test_ec2_arn(collector_ctx):
    ctx = collector_ctx("rds", "eu-west-1")
    assert ec2_arn(ctx, "vpc", "vpc-1") == f"arn:aws:ec2:eu-west-1:{ACCOUNT}:vpc/vpc-1"
    assert (
        ec2_arn(ctx, "security-group", "sg-1", "us-east-2")
        == f"arn:aws:ec2:us-east-2:{ACCOUNT}:security-group/sg-1"
    )
    assert ec2_arn(ctx, "subnet", None) is None
    assert ec2_arn(ctx, "subnet", "") is None


def test_as_int_and_as_bool():
    assert as_int("42") == 42
    assert as_int(7) == 7
    assert as_int(None) is None
    assert as_int("x") is None
    assert as_bool("true") is True
    assert as_bool("TRUE") is True
    assert as_bool("false") is False
    assert as_bool("anything") is False
    assert as_bool(None) is None
