"""Run the AWS collectors for one account and stream their records into the store.

Tasks are (service, region) pairs on a bounded thread pool, so a slow service never
serialises the others; per-resource detail calls share a second bounded pool. Records
flow through a bounded queue to one writer thread that inserts them in batches: memory
stays bounded whatever the account's size.
"""

from __future__ import annotations

import difflib
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions

from stratusec.config import Account, ScanSettings
from stratusec.errors import NotFoundError
from stratusec.inventory.models import Resource
from stratusec.providers.aws import registry
from stratusec.providers.aws.base import CollectError, CollectorContext, ErrorSink, new_detail_pool
from stratusec.providers.aws.session import ClientFactory, verify_credentials
from stratusec.store.db import Store

WRITE_BATCH = 500
QUEUE_SIZE = 2000


@dataclass
class ScanEvent:
    """Progress: ``plan`` (tasks known), ``start`` / ``done`` per (service, region)."""

    kind: str
    service: str = ""
    region: str = ""
    resources: int = 0
    errors: int = 0
    tasks: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ScanOutcome:
    scan_id: str
    account_name: str
    account_id: str
    status: str  # succeeded | partial | failed
    started_at: float
    finished_at: float
    regions: list[str]
    services: list[str]
    resource_counts: dict[str, int]
    counts_by_service: dict[str, int]
    api_calls: int
    api_attempts: int
    throttled: int
    errors: list[CollectError]
    duplicates: int = 0

    @property
    def duration(self) -> float:
        return self.finished_at - self.started_at

    @property
    def resource_count(self) -> int:
        return sum(self.resource_counts.values())

    def failed_services(self) -> list[str]:
        return sorted({f"{e.service}/{e.region}" for e in self.errors})

    def as_dict(self) -> dict[str, Any]:
        return {
            "scan_id": self.scan_id,
            "account": self.account_name,
            "account_id": self.account_id,
            "status": self.status,
            "duration_seconds": round(self.duration, 3),
            "regions": self.regions,
            "services": self.services,
            "resource_count": self.resource_count,
            "resource_counts": dict(sorted(self.resource_counts.items())),
            "counts_by_service": dict(sorted(self.counts_by_service.items())),
            "api_calls": self.api_calls,
            "api_attempts": self.api_attempts,
            "throttled": self.throttled,
            "errors": [e.as_dict() for e in self.errors],
        }


def known_regions() -> set[str]:
    s = boto3.Session()
    out: set[str] = set()
    for partition in s.get_available_partitions():
        out.update(s.get_available_regions("ec2", partition_name=partition))
    return out


def validate_regions(regions: Sequence[str]) -> list[str]:
    known = known_regions()
    for r in regions:
        if r not in known:
            close = difflib.get_close_matches(r, sorted(known), n=3)
            hint = f"did you mean {', '.join(close)}?" if close else "e.g. us-east-1, eu-west-1"
            raise NotFoundError(f"unknown region {r!r}", hint=hint)
    return list(dict.fromkeys(regions))


def validate_services(services: Sequence[str] | None) -> list[str]:
    valid = registry.all_services()
    if not services:
        return valid
    out = []
    for s in services:
        if s not in valid:
            raise NotFoundError(f"unknown service {s!r}; valid services: {', '.join(valid)}")
        out.append(s)
    return list(dict.fromkeys(out))


def enabled_regions(factory: ClientFactory, errors: ErrorSink) -> list[str]:
    """Regions enabled for the account (opt-in regions not opted in are skipped)."""
    ec2 = factory.client("ec2", factory.home_region)
    try:
        resp = ec2.describe_regions(AllRegions=False)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        ctx = CollectorContext(
            factory=factory, account_id="", service="ec2", region="global", errors=errors
        )
        ctx.record("DescribeRegions", exc)
        return [factory.home_region]
    return sorted(
        r["RegionName"]
        for r in resp.get("Regions", [])
        if r.get("OptInStatus", "opt-in-not-required") != "not-opted-in"
    )


class _Writer(threading.Thread):
    """Drains the record queue into the store in batches."""

    def __init__(self, store: Store, scan_id: str) -> None:
        super().__init__(name="stratusec-writer", daemon=True)
        self.store = store
        self.scan_id = scan_id
        self.queue: queue.Queue[Resource | None] = queue.Queue(maxsize=QUEUE_SIZE)
        self.by_type: Counter[str] = Counter()
        self.by_service: Counter[str] = Counter()
        self.seen: set[str] = set()
        self.duplicates = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        batch: list[Resource] = []
        while True:
            item = self.queue.get()
            if item is not None:
                if item.uid in self.seen:
                    self.duplicates += 1
                    continue
                self.seen.add(item.uid)
                batch.append(item)
            if batch and (item is None or len(batch) >= WRITE_BATCH):
                try:
                    if self.error is None:
                        self.store.add_resources(self.scan_id, batch)
                        for r in batch:
                            self.by_type[r.type] += 1
                            self.by_service[r.service] += 1
                except BaseException as exc:  # keep draining so producers never block
                    self.error = exc
                batch = []
            if item is None:
                return

    def put(self, r: Resource) -> None:
        if self.error is not None:
            raise RuntimeError("the store writer failed") from self.error
        self.queue.put(r)


def run_scan(
    account: Account,
    store: Store,
    *,
    settings: ScanSettings | None = None,
    regions: Sequence[str] | None = None,
    services: Sequence[str] | None = None,
    on_event: Callable[[ScanEvent], None] | None = None,
    factory: ClientFactory | None = None,
) -> ScanOutcome:
    """Collect the account's inventory into a new scan in the store.

    Raises CredentialsError (before creating a scan) when the credentials do not work.
    """
    settings = settings or ScanSettings()
    emit = on_event or (lambda _e: None)
    svc_names = validate_services(services)
    wanted_regions = validate_regions(regions) if regions else None
    factory = factory or ClientFactory(account, settings)
    ident = verify_credentials(account, factory.session)
    account_id = ident["account"]
    errors = ErrorSink()
    region_list = wanted_regions or (
        validate_regions(account.regions) if account.regions else enabled_regions(factory, errors)
    )
    if account.account_id and account.account_id != account_id:
        raise NotFoundError(
            f"credentials for account {account.name!r} belong to {account_id}, "
            f"but the config says {account.account_id}"
        )
    partition = ident["arn"].split(":")[1] if ident["arn"].startswith("arn:") else "aws"

    tasks: list[tuple[str, str]] = []
    for svc in svc_names:
        mod = registry.load(svc)
        if mod.GLOBAL:
            tasks.append((svc, "global"))
        else:
            tasks.extend((svc, r) for r in region_list)

    store.mark_interrupted()
    scan_id = store.start_scan(
        account_name=account.name, account_id=account_id, regions=region_list, services=svc_names
    )
    started = time.time()
    emit(ScanEvent(kind="plan", tasks=tasks))
    writer = _Writer(store, scan_id)
    writer.start()
    detail_pool = new_detail_pool(settings.detail_workers)
    task_pool = ThreadPoolExecutor(
        max_workers=settings.max_workers, thread_name_prefix="stratusec-scan"
    )

    def run_task(svc: str, region: str) -> tuple[int, int]:
        emit(ScanEvent(kind="start", service=svc, region=region))
        task_errors = ErrorSink()
        ctx = CollectorContext(
            factory=factory,
            account_id=account_id,
            service=svc,
            region=region,
            errors=task_errors,
            pool=detail_pool,
            partition=partition,
            regions=region_list,
        )
        n = 0
        try:
            for res in registry.load(svc).collect(ctx):
                writer.put(res)
                n += 1
        except RuntimeError as exc:
            if exc.__cause__ is writer.error and writer.error is not None:
                raise
            ctx.record("collector", exc)
        except Exception as exc:  # a collector bug must not abort the scan
            ctx.record("collector", exc)
        for e in task_errors.items:
            errors.add(e)
        emit(
            ScanEvent(
                kind="done", service=svc, region=region, resources=n, errors=len(task_errors.items)
            )
        )
        return n, len(task_errors.items)

    status = "failed"
    message: str | None = None
    try:
        futures = [task_pool.submit(run_task, s, r) for s, r in tasks]
        for fut in as_completed(futures):
            fut.result()
        writer.queue.put(None)
        writer.join()
        if writer.error is not None:
            raise RuntimeError(f"writing the inventory failed: {writer.error}") from writer.error
        status = "partial" if errors.items else "succeeded"
    except BaseException as exc:
        message = (
            "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}"
        )
        task_pool.shutdown(wait=False, cancel_futures=True)
        writer.queue.put(None)
        raise
    finally:
        task_pool.shutdown(wait=True)
        detail_pool.shutdown(wait=True)
        writer.join(timeout=30)
        counter = factory.counter
        err_dicts = [e.as_dict() for e in errors.items]
        store.add_errors(scan_id, err_dicts)
        store.finish_scan(
            scan_id,
            status=status,
            message=message,
            resource_count=sum(writer.by_type.values()),
            resource_counts=dict(writer.by_type),
            api_calls=counter.total,
            api_attempts=counter.attempts,
            throttled=counter.throttled,
            error_count=len(err_dicts),
        )
    return ScanOutcome(
        scan_id=scan_id,
        account_name=account.name,
        account_id=account_id,
        status=status,
        started_at=started,
        finished_at=time.time(),
        regions=region_list,
        services=svc_names,
        resource_counts=dict(writer.by_type),
        counts_by_service=dict(writer.by_service),
        api_calls=factory.counter.total,
        api_attempts=factory.counter.attempts,
        throttled=factory.counter.throttled,
        errors=list(errors.items),
        duplicates=writer.duplicates,
    )
