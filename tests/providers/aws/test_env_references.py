"""Which environment variable values a collector keeps: identifiers of resources only."""

from __future__ import annotations

import pytest

from stratusec.providers.aws.util import environment_references, resource_reference


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TARGET_BUCKET", "acme-customer-data"),
        ("QUEUE_URL", "orders-queue"),
        ("ORDERS_TABLE_NAME", "orders"),
        ("EVENTS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:events"),
        ("INPUT", "s3://raw-events/2026/"),
        ("WHATEVER", "arn:aws:s3:::acme-customer-data/exports/*"),
        ("JOBS", "https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo"),
    ],
)
def test_kept(name: str, value: str) -> None:
    assert resource_reference(name, value) == value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_PASSWORD", "not-a-real-password"),
        ("API_TOKEN_BUCKET", "looks-like-a-bucket"),  # the name says secret
        ("SECRET_ARN_BUCKET", "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"),
        ("STAGE", "prod"),  # neither an identifier by shape nor by name
        ("DATABASE_URL", "postgres://app:hunter2@db:5432/app"),
        ("TARGET_BUCKET", "has space"),
        ("TARGET_BUCKET", "user@example.com"),
        ("TARGET_BUCKET", ""),
        ("TARGET_BUCKET", "x" * 600),
    ],
)
def test_dropped(name: str, value: str) -> None:
    assert resource_reference(name, value) is None


def test_both_shapes() -> None:
    env = {"TARGET_BUCKET": "b", "DB_PASSWORD": "p"}
    expected = [{"name": "TARGET_BUCKET", "value": "b"}]
    assert environment_references(env) == expected
    assert environment_references([{"name": k, "value": v} for k, v in env.items()]) == expected
    assert environment_references(None) == []
