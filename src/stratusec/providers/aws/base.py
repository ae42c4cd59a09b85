"""What a collector sees: clients, paginated listing, error-capturing calls, and a bounded
pool for per-resource detail calls.

Collectors do I/O only. A collector module exposes::

    SERVICE = "s3"           # name used by --services
    GLOBAL = True            # one task per scan (IAM, S3 listing) instead of one per region
    def collect(ctx: CollectorContext) -> Iterator[Resource]: ...

Failures never abort a scan: a failing call is recorded per (service, region, API) and
the collector carries on with what it has. A listing that fails yields nothing more.
A detail that fails is named in ``Resource.unavailable`` so that checks treat it as
unknown, never as a pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import botocore.exceptions
import botocore.parsers

from stratusec.inventory.models import Resource, jsonable
from stratusec.providers.aws.session import ClientFactory

T = TypeVar("T")
R = TypeVar("R")

# What a failed API call raises. An unparsable response (moto answers some unimplemented
# APIs with an HTML 500) raises ResponseParserError, which is not a BotoCoreError.
CALL_ERRORS: tuple[type[Exception], ...] = (
    botocore.exceptions.ClientError,
    botocore.exceptions.BotoCoreError,
    botocore.parsers.ResponseParserError,
)

# Error codes that mean "this API is not available here", not "the scan is broken".
UNSUPPORTED_CODES = frozenset(
    {
        "UnsupportedOperation",
        "InvalidAction",
        "NotImplemented",
        "OptInRequired",
        "UnrecognizedClientException",
        "SubscriptionRequiredException",
    }
)


@dataclass(frozen=True)
class CollectError:
    """One failed API call (or collector crash) during a scan."""

    service: str
    region: str
    api: str
    code: str
    message: str
    resource: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "region": self.region,
            "api": self.api,
            "code": self.code,
            "message": self.message,
            "resource": self.resource,
        }


class ErrorSink:
    """Thread-safe list of collection errors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items: list[CollectError] = []

    def add(self, err: CollectError) -> None:
        with self._lock:
            self.items.append(err)


@dataclass
class CallResult:
    """Outcome of one API call.

    ``ok``: the call succeeded and ``data`` holds the response.
    ``absent``: AWS answered with an error code that means "not configured"
    (e.g. ``NoSuchBucketPolicy``); ``data`` is empty.
    ``failed``: any other error; it has been recorded; ``data`` is empty.
    """

    ok: bool
    absent: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    code: str | None = None

    @property
    def failed(self) -> bool:
        return not self.ok and not self.absent


@dataclass
class Listing:
    """Every item of one listing (``CollectorContext.listing``).

    ``ok`` is False when a page failed (the failure has been recorded); ``items`` then
    holds what the pages before it delivered.
    """

    items: list[Any] = field(default_factory=list)
    ok: bool = True


def error_code(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, botocore.exceptions.ClientError):
        err = exc.response.get("Error", {})
        code = str(
            err.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        )
        return code, str(err.get("Message", ""))[:500]
    return type(exc).__name__, str(exc)[:500]


class CollectorContext:
    """Per (service, region) task context handed to ``collect``."""

    def __init__(
        self,
        *,
        factory: ClientFactory,
        account_id: str,
        service: str,
        region: str,
        errors: ErrorSink | None = None,
        pool: Executor | None = None,
        partition: str = "aws",
        regions: list[str] | None = None,
    ) -> None:
        self.factory = factory
        self.account_id = account_id
        self.service = service
        self.region = region
        self.errors = errors or ErrorSink()
        self.partition = partition
        self.regions = regions or [factory.home_region]
        self._pool = pool

    # -- clients -------------------------------------------------------------------------
    def client(self, service: str | None = None, region: str | None = None) -> Any:
        """A boto3 client for ``service`` (default: this collector's) in ``region``
        (default: this task's region; global tasks get the home region)."""
        return self.factory.client(service or self.service, region or self.region)

    @property
    def api_region(self) -> str:
        """The region to call for this task (the home region for global tasks)."""
        return self.factory.home_region if self.region == "global" else self.region

    # -- calls ---------------------------------------------------------------------------
    def record(self, api: str, exc: BaseException, resource: str | None = None) -> None:
        code, message = error_code(exc)
        self.errors.add(CollectError(self.service, self.region, api, code, message, resource))

    def call(
        self,
        client: Any,
        operation: str,
        *,
        absent: Iterable[str] = (),
        resource: str | None = None,
        **params: Any,
    ) -> CallResult:
        """Call ``client.<operation>(**params)``; never raises for AWS/HTTP errors."""
        try:
            resp = getattr(client, operation)(**params)
        except CALL_ERRORS as exc:
            code, _ = error_code(exc)
            if code in set(absent):
                return CallResult(ok=False, absent=True, code=code)
            self.record(operation, exc, resource)
            return CallResult(ok=False, code=code)
        return CallResult(ok=True, data=resp if isinstance(resp, dict) else {"value": resp})

    def pages(
        self,
        client: Any,
        operation: str,
        key: str,
        *,
        resource: str | None = None,
        **params: Any,
    ) -> Iterator[Any]:
        """Items under ``key`` across every page of ``operation``.

        Uses the boto3 paginator where one exists, else a single call. A failure on any
        page is recorded and ends the iteration (items already yielded stand).
        """
        try:
            yield from _items(client, operation, key, params)
        except CALL_ERRORS as exc:
            self.record(operation, exc, resource)

    def listing(
        self,
        client: Any,
        operation: str,
        key: str,
        *,
        resource: str | None = None,
        **params: Any,
    ) -> Listing:
        """Every item of ``operation`` (as ``pages``, collected), and whether the whole
        listing succeeded: use it where a partial listing must read as unknown. A failure
        is recorded exactly as ``pages`` records it."""
        result = Listing()
        try:
            for item in _items(client, operation, key, params):
                result.items.append(item)
        except CALL_ERRORS as exc:
            self.record(operation, exc, resource)
            result.ok = False
        return result

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Apply ``fn`` to every item on the shared detail pool (bounded), yielding results
        as they complete. An exception in ``fn`` is recorded and that item is skipped."""
        items = list(items)
        if self._pool is None or len(items) <= 1:
            for item in items:
                try:
                    yield fn(item)
                except Exception as exc:
                    self.record(getattr(fn, "__name__", "detail"), exc, _describe(item))
            return
        futures = [(item, self._pool.submit(fn, item)) for item in items]
        for item, fut in futures:
            try:
                yield fut.result()
            except Exception as exc:
                self.record(getattr(fn, "__name__", "detail"), exc, _describe(item))

    # -- helpers -------------------------------------------------------------------------
    def arn(
        self, service: str, resource: str, *, region: str | None = None, account: str | None = None
    ) -> str:
        """``arn:<partition>:<service>:<region>:<account>:<resource>``; pass region="" for
        global services."""
        reg = self.region if region is None else region
        reg = "" if reg == "global" else reg
        acct = self.account_id if account is None else account
        return f"arn:{self.partition}:{service}:{reg}:{acct}:{resource}"

    def resource(
        self,
        *,
        uid: str,
        type: str,
        name: str,
        region: str | None = None,
        tags: dict[str, str] | None = None,
        config: dict[str, Any] | None = None,
        raw: dict[str, Any] | None = None,
        unavailable: list[str] | None = None,
    ) -> Resource:
        """Build a Resource for this account/service; ``config`` and ``raw`` are made
        JSON-safe (datetimes become ISO-8601 UTC strings)."""
        return Resource(
            uid=uid,
            provider="aws",
            account=self.account_id,
            region=region or self.region,
            service=self.service,
            type=type,
            name=name,
            tags=tags or {},
            config=jsonable(config or {}),
            raw=jsonable(raw or {}),
            unavailable=unavailable or [],
        )


def _items(client: Any, operation: str, key: str, params: dict[str, Any]) -> Iterator[Any]:
    """Items under ``key`` across every page of ``operation``; raises what boto3 raises."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**params):
            yield from page.get(key) or []
    else:
        yield from getattr(client, operation)(**params).get(key) or []


def _describe(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for k in ("Arn", "ARN", "Name", "Id", "name", "arn"):
            if k in item:
                return str(item[k])
    return None


def new_detail_pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stratusec-detail")
