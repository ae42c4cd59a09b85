"""Benchmark: scan a large emulated account.

Seeds a moto server (its own process) with N IAM roles with policies, buckets,
instances and security groups across two regions, then runs `stratusec scan` as a child
process and reports wall time, API calls/s and peak memory (RSS) of the scan.

    .venv/bin/python bench/scale_scan.py [--roles 2000 --buckets 500 --instances 2000 --groups 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from _common import STRATUSEC, emit, moto_process, timed_child
from botocore.config import Config

REGIONS = ["us-east-1", "eu-west-1"]


def client(url: str, service: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(
            max_pool_connections=32, retries={"max_attempts": 5}, s3={"addressing_style": "path"}
        ),
    )


def seed(url: str, roles: int, buckets: int, instances: int, groups: int) -> dict[str, Any]:
    iam = client(url, "iam")
    t0 = time.perf_counter()
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    managed = [
        iam.create_policy(
            PolicyName=f"team-{i}",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObject", "s3:ListBucket"],
                            "Resource": f"arn:aws:s3:::team-{i}-*",
                        }
                    ],
                }
            ),
        )["Policy"]["Arn"]
        for i in range(50)
    ]

    def make_role(i: int) -> None:
        name = f"svc-role-{i:05d}"
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
        iam.put_role_policy(
            RoleName=name,
            PolicyName="inline",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["sqs:SendMessage"],
                            "Resource": f"arn:aws:sqs:us-east-1:123456789012:q-{i}",
                        }
                    ],
                }
            ),
        )
        iam.attach_role_policy(RoleName=name, PolicyArn=managed[i % len(managed)])

    def make_bucket(i: int) -> None:
        region = REGIONS[i % 2]
        s3 = client(url, "s3", region)
        kwargs: dict[str, Any] = (
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=f"scale-bucket-{i:05d}", **kwargs)
        if i % 5 == 0:
            s3.put_bucket_versioning(
                Bucket=f"scale-bucket-{i:05d}", VersioningConfiguration={"Status": "Enabled"}
            )

    def make_groups(region: str, count: int) -> None:
        ec2 = client(url, "ec2", region)
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0][
            "VpcId"
        ]

        def one(i: int) -> None:
            gid = ec2.create_security_group(
                GroupName=f"sg-{region}-{i:05d}", Description="scale", VpcId=vpc
            )["GroupId"]
            ec2.authorize_security_group_ingress(
                GroupId=gid,
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 443,
                        "ToPort": 443,
                        "IpRanges": [{"CidrIp": "10.0.0.0/8"}],
                    }
                ],
            )

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(one, range(count)))

    def make_instances(region: str, count: int) -> None:
        ec2 = client(url, "ec2", region)
        ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        for start in range(0, count, 100):
            ec2.run_instances(
                ImageId=ami,
                InstanceType="t3.micro",
                MinCount=min(100, count - start),
                MaxCount=min(100, count - start),
            )

    # moto's IAM backend is not safe for concurrent writes (attach races give HTTP 500):
    # roles are seeded one at a time.
    for i in range(roles):
        make_role(i)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(make_bucket, range(buckets)))
    for region in REGIONS:
        make_groups(region, groups // len(REGIONS))
        make_instances(region, instances // len(REGIONS))
    return {"seed_seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--roles", type=int, default=2000)
    ap.add_argument("--buckets", type=int, default=500)
    ap.add_argument("--instances", type=int, default=2000)
    ap.add_argument("--groups", type=int, default=2000)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="stratusec-scale-")
    env = {**os.environ, "STRATUSEC_HOME": home}
    with moto_process() as url:
        seeded = seed(url, args.roles, args.buckets, args.instances, args.groups)
        print(f"seeded in {seeded['seed_seconds']} s", file=sys.stderr)
        Path(home, "config.yaml").write_text(
            "accounts:\n  - name: scale\n    regions: [us-east-1, eu-west-1]\n"
            f"    endpoint_url: {url}\n    credentials: {{source: emulator}}\n"
        )
        wall, peak, out, err, rc = timed_child(
            [STRATUSEC, "scan", "--account", "scale", "--output", "json", "--no-progress"], env
        )
    if rc not in (0, 1):
        sys.exit(f"scan failed ({rc}): {err}")
    scan = json.loads(out)["scans"][0]
    counts = scan["resource_counts"]
    emit(
        {
            "benchmark": "scale_scan",
            "seeded": {
                "roles": args.roles,
                "buckets": args.buckets,
                "instances": args.instances,
                "security_groups": args.groups,
                "regions": REGIONS,
                **seeded,
            },
            "wall_seconds": round(wall, 1),
            "scan_seconds_reported": scan["duration_seconds"],
            "api_calls": scan["api_calls"],
            "api_calls_per_second": round(scan["api_calls"] / scan["duration_seconds"], 1),
            "peak_rss_mb": peak,
            "resources": scan["resource_count"],
            "roles": counts.get("aws_iam_role", 0),
            "buckets": counts.get("aws_s3_bucket", 0),
            "instances": counts.get("aws_instance", 0),
            "security_groups": counts.get("aws_security_group", 0),
            "status": scan["status"],
            "api_errors": len(scan["errors"]),
            "error_sample": scan["errors"][:5],
        }
    )


if __name__ == "__main__":
    main()
