"""Fixtures for the AWS collector tests (the moto server and ``collector_ctx`` come from
``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from stratusec.providers.aws.base import CollectorContext, new_detail_pool

DETAIL_WORKERS = 4


@pytest.fixture
def pooled_ctx(collector_ctx) -> Iterator[Callable[..., CollectorContext]]:  # type: ignore[no-untyped-def]
    """``pooled_ctx(service, region)`` -> a ``collector_ctx`` whose detail calls
    (``ctx.map``) run on a pool of ``DETAIL_WORKERS`` threads, as in a real scan.

    It shares the test's client factory (so faults injected on ``collector_ctx`` clients
    apply) and has its own error sink. The pools are shut down after the test.
    """
    pools: list[ThreadPoolExecutor] = []

    def make(service: str, region: str = "us-east-1") -> CollectorContext:
        base: CollectorContext = collector_ctx(service, region)
        pool = new_detail_pool(DETAIL_WORKERS)
        pools.append(pool)
        return CollectorContext(
            factory=base.factory,
            account_id=base.account_id,
            service=base.service,
            region=base.region,
            errors=base.errors,
            pool=pool,
            regions=base.regions,
        )

    yield make
    for pool in pools:
        pool.shutdown()
