"""Run the check catalog over an inventory."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from stratusec.checks.inventory import Inventory
from stratusec.checks.model import CheckResult, Status
from stratusec.checks.registry import Check, all_checks


@dataclass
class RunReport:
    results: list[CheckResult] = field(default_factory=list)
    # check id -> Counter of statuses (PASS/FAIL/UNKNOWN), for compliance
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    # check id -> error text, when a check itself crashed (never silently passes)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def failing(self) -> list[CheckResult]:
        return [r for r in self.results if r.status != Status.PASS]


def run_checks(inv: Inventory, checks: Iterable[Check] | None = None) -> RunReport:
    report = RunReport()
    t0 = time.perf_counter()
    for chk in checks if checks is not None else all_checks():
        counts: Counter[str] = Counter()
        meta = chk.meta
        try:
            for out in chk.run(inv):
                r = out.resource
                counts[out.status.value] += 1
                report.results.append(
                    CheckResult(
                        check_id=meta.id,
                        status=out.status,
                        severity=meta.severity,
                        message=out.message,
                        evidence=out.evidence,
                        resource_uid=r.uid,
                        resource_type=r.type,
                        resource_name=r.name,
                        account=r.account,
                        region=r.region,
                        service=meta.service,
                    )
                )
        except Exception as exc:  # a broken check is reported, never a pass
            report.errors[meta.id] = f"{type(exc).__name__}: {exc}"
        report.counts[meta.id] = counts
    report.seconds = time.perf_counter() - t0
    return report
