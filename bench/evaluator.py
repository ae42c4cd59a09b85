"""Benchmark: IAM policy evaluator decisions per second, single-threaded.

Builds principals with realistic identity policies (parsed once, as the graph builder
does), then evaluates (principal, action, resource) triples:

Each scenario runs in rounds; ``decisions_per_s`` is the best round (a shared machine's
noise only slows rounds down), ``median_decisions_per_s`` is beside it.

* ``simple``: identity policies only (wildcards, a Deny, NotAction), Request built per
  decision (the graph builder's inner loop);
* ``resource_policy``: plus a bucket policy with a condition on a known key;
* ``conditional``: a condition on an unknown key (the slower, explained path).

    .venv/bin/python bench/evaluator.py [--decisions 200000] [--principals 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from _common import emit

from stratusec.iam import Policy, Principal, Request, evaluate, parse_policy

ACCT = "111111111111"
ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:ListBucket",
    "ec2:DescribeInstances",
    "ec2:RunInstances",
    "iam:PassRole",
    "iam:CreateUser",
    "kms:Decrypt",
    "sqs:SendMessage",
    "lambda:InvokeFunction",
]


def identity_docs(i: int) -> list[dict[str, Any]]:
    team = f"team{i % 10}"
    return [
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Read",
                    "Effect": "Allow",
                    "Action": ["s3:Get*", "s3:List*"],
                    "Resource": [f"arn:aws:s3:::{team}-data", f"arn:aws:s3:::{team}-data/*"],
                },
                {
                    "Sid": "Write",
                    "Effect": "Allow",
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{team}-data/incoming/*",
                },
                {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": ["iam:*", "organizations:*"],
                    "Resource": "*",
                },
            ],
        },
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "NotAction": ["iam:*", "sts:*", "kms:*"],
                    "Resource": f"arn:aws:lambda:us-east-1:{ACCT}:function:{team}-*",
                },
                {
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": f"arn:aws:iam::{ACCT}:role/{team}-*",
                },
            ],
        },
    ]


def resources(i: int) -> list[str]:
    team = f"team{i % 10}"
    return [
        f"arn:aws:s3:::{team}-data",
        f"arn:aws:s3:::{team}-data/reports/q1.csv",
        f"arn:aws:s3:::{team}-data/incoming/x.json",
        "arn:aws:s3:::other-data/secret.txt",
        f"arn:aws:lambda:us-east-1:{ACCT}:function:{team}-etl",
        f"arn:aws:iam::{ACCT}:role/{team}-runner",
        "*",
    ]


BUCKET_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecure",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::team1-data", "arn:aws:s3:::team1-data/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::team1-data/*",
        },
    ],
}


def _round(
    n: int,
    principals: list[tuple[Principal, list[Policy], list[str]]],
    resource_policy: Policy | None,
    ctx: dict[str, Any],
    counts: dict[str, int],
) -> tuple[int, float]:
    done = 0
    t0 = time.perf_counter()
    while done < n:
        for who, pols, res_list in principals:
            for action in ACTIONS:
                for res in res_list:
                    d = evaluate(
                        Request(who, action, res, resource_account=ACCT, context=ctx),
                        identity_policies=pols,
                        resource_policy=resource_policy,
                    )
                    counts[d.decision] = counts.get(d.decision, 0) + 1
                    done += 1
            if done >= n:
                break
    return done, time.perf_counter() - t0


def run(
    label: str,
    n: int,
    rounds: int,
    principals: list[tuple[Principal, list[Policy], list[str]]],
    *,
    resource_policy: Policy | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``rounds`` timed rounds of ``n / rounds`` decisions: the best round is the
    throughput (the machine may be shared), the median is reported beside it."""
    counts: dict[str, int] = {}
    rates = []
    total = 0
    for _ in range(rounds):
        done, secs = _round(max(1, n // rounds), principals, resource_policy, context or {}, counts)
        total += done
        rates.append(done / secs)
    rates.sort()
    return {
        "scenario": label,
        "decisions": total,
        "rounds": rounds,
        "decisions_per_s": round(rates[-1]),
        "median_decisions_per_s": round(rates[len(rates) // 2]),
        "outcomes": counts,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--decisions", type=int, default=200_000)
    ap.add_argument("--principals", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()

    t0 = time.perf_counter()
    principals = []
    for i in range(args.principals):
        who = Principal.from_arn(f"arn:aws:iam::{ACCT}:role/app-{i}", tags={"team": f"team{i}"})
        pols = [parse_policy(d, f"app-{i}-{j}") for j, d in enumerate(identity_docs(i))]
        principals.append((who, pols, resources(i)))
    parse_s = time.perf_counter() - t0
    bucket = parse_policy(BUCKET_POLICY, "team1-data-bucket-policy")

    scenarios = [
        run("simple", args.decisions, args.rounds, principals),
        run(
            "resource_policy",
            args.decisions // 2,
            args.rounds,
            principals,
            resource_policy=bucket,
            context={"aws:SecureTransport": True},
        ),
        run("conditional", args.decisions // 4, args.rounds, principals, resource_policy=bucket),
    ]
    emit(
        {
            "benchmark": "evaluator",
            "python": sys.version.split()[0],
            "principals": args.principals,
            "policies_parsed": 2 * args.principals,
            "parse_seconds": round(parse_s, 3),
            "decisions_per_s": scenarios[0]["decisions_per_s"],
            "scenarios": scenarios,
        }
    )


if __name__ == "__main__":
    main()
