"""Records every outcome the check tests produce, so that test_zz_catalog.py can prove
each check was exercised with a passing and a failing case."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import pytest

from stratusec.checks.model import Outcome, Status
from stratusec.checks.registry import Check

SEEN: dict[str, set[Status]] = defaultdict(set)


@pytest.fixture(autouse=True, scope="session")
def _record_outcomes() -> Iterator[None]:
    original = Check.run

    def recording_run(self: Check, inv) -> Iterable[Outcome]:  # type: ignore[no-untyped-def]
        for out in original(self, inv):
            SEEN[self.id].add(out.status)
            yield out

    Check.run = recording_run  # type: ignore[method-assign]
    yield
    Check.run = original  # type: ignore[method-assign]
