"""Micro benchmark: authorize() per call, with and without a Rego policy. JSON on stdout."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from stratusec.governance.authz import AuthzInput, authorize, load_roles
from stratusec.governance.rego import RegoPolicy

POLICY = """package stratusec.authz

deny contains reason if {
    input.tool == "query_graph"
    contains(lower(input.arguments.query), "delete")
    reason := "graph writes are not allowed"
}

require_approval contains reason if {
    input.tool == "scan"
    input.account.tags.environment == "production"
    reason := sprintf("scan of production account %s", [input.account.name])
}
"""


def _measure(fn: object, n: int) -> dict[str, float]:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - t) * 1e6)
    samples.sort()
    return {
        "calls": n,
        "p50_us": round(statistics.median(samples), 1),
        "p95_us": round(samples[int(n * 0.95)], 1),
        "p99_us": round(samples[int(n * 0.99)], 1),
    }


def main() -> None:
    roles = load_roles({})
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "authz.rego"
        f.write_text(POLICY)
        t = time.perf_counter()
        policy = RegoPolicy.load(f)
        load_ms = (time.perf_counter() - t) * 1e3
    req = AuthzInput(
        principal="alice",
        on_behalf_of="alice",
        role="reader",
        agent="claude-code",
        tool="scan",
        arguments={"account": "prod", "services": ["iam", "s3"]},
        account={"name": "prod", "id": "123456789012", "tags": {"environment": "production"}},
    )
    for _ in range(200):
        authorize(req, roles, policy)
    out = {
        "benchmark": "authz",
        "policy_load_ms": round(load_ms, 2),
        "roles_only": _measure(lambda: authorize(req, roles, None), 5000),
        "roles_and_rego": _measure(lambda: authorize(req, roles, policy), 5000),
        "decision": authorize(req, roles, policy).effect,
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
