"""Fault injection for collector tests: make one boto3 operation fail, or answer it.

Every helper registers a botocore ``before-call.<service>.<Operation>`` handler on one
client. A handler that returns ``(http_response, parsed)`` short-circuits the call: no
HTTP request reaches moto, no retries run, and botocore then treats the answer exactly
as a real one (an HTTP status >= 300 raises the modelled ``ClientError`` subclass for the
error code). A handler that raises makes the call raise that exception.

``target`` is a boto3 client or a ``CollectorContext``; for a context the fault goes on
``ctx.client()`` (its own service, in its region). Clients are cached per
(service, region) by the context's ``ClientFactory``, so the collector under test uses
the very client the fault was registered on. For another service or region pass the
client, e.g. ``fail_operation(ctx.client("s3control"), "GetPublicAccessBlock")``.

``operation`` is the API name as AWS spells it (``"ListQueues"``), not boto3's method
name (``"list_queues"``). Faults last as long as the client, i.e. the test.
"""

from __future__ import annotations

from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.client import BaseClient

from stratusec.providers.aws.base import CollectorContext

Target = BaseClient | CollectorContext

_INJECTED_URL = "https://injected.invalid/"


def _client(target: Target) -> BaseClient:
    return target.client() if isinstance(target, CollectorContext) else target


def _on_call(target: Target, operation: str, handler: Any) -> None:
    _client(target).meta.events.register(f"before-call.*.{operation}", handler)


def fail_operation(
    target: Target, operation: str, code: str = "AccessDenied", *, after: int = 0
) -> None:
    """Answer ``operation`` with AWS error ``code`` (HTTP 403, message "injected").

    The first ``after`` calls go through to moto; every later one fails. With a paginated
    operation that means: pages 1..``after`` are real, page ``after + 1`` fails.
    The collector sees what it would see from AWS: a ``ClientError`` whose
    ``response["Error"]["Code"]`` is ``code``.
    """
    calls = 0

    def handler(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        nonlocal calls
        calls += 1
        if calls <= after:
            return None  # let this call reach moto
        return AWSResponse(_INJECTED_URL, 403, HTTPHeaders(), None), {
            "Error": {"Code": code, "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": 403},
        }

    _on_call(target, operation, handler)


def raise_on(target: Target, operation: str, exc: Exception) -> None:
    """Make every ``operation`` call raise ``exc``, for failures that are not an AWS error
    response (e.g. ``botocore.parsers.ResponseParserError`` for an unparsable HTML 500)."""

    def handler(**_: Any) -> None:
        raise exc

    _on_call(target, operation, handler)


def stub_operation(target: Target, operation: str, response: dict[str, Any]) -> None:
    """Answer every ``operation`` call with ``response`` (HTTP 200, a fresh shallow copy
    each time) instead of calling moto: for APIs moto lacks or states it cannot reach."""

    def handler(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return AWSResponse(_INJECTED_URL, 200, HTTPHeaders(), None), dict(response)

    _on_call(target, operation, handler)
