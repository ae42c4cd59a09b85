"""The demo account end to end: start the demo server, scan it with the real CLI, and
check the inventory facts behind every scenario in docs/demo.md."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratusec.demo.seed import INJECTION_TEXT
from stratusec.inventory.models import Resource
from stratusec.operations.context import Context
from tests.demo_helpers import scanned_demo

pytestmark = pytest.mark.slow
ACCT = "123456789012"


class Inventory:
    def __init__(self, resources: list[Resource], scan: dict) -> None:
        self.resources = resources
        self.scan = scan
        self.by_uid = {r.uid: r for r in resources}
        self.home: Path | None = None

    def one(self, type_: str, name: str, region: str | None = None) -> Resource:
        found = [
            r
            for r in self.resources
            if r.type == type_ and r.name == name and (region is None or r.region == region)
        ]
        assert len(found) == 1, f"{type_} {name} {region}: {[r.uid for r in found]}"
        return found[0]

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]


@pytest.fixture(scope="module")
def inv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inventory]:
    with scanned_demo(tmp_path_factory, "demo-home") as (home, scan):
        ctx = Context.load()
        resources = list(ctx.store.iter_resources(scan["scan_id"]))
        ctx.close()
        found = Inventory(resources, scan)
        found.home = home
        yield found


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCT}:role/{name}"


def test_scan_is_complete_and_clean(inv):
    assert inv.scan["status"] == "succeeded", inv.scan["errors"]
    assert inv.scan["regions"] == ["us-east-1", "eu-west-1"]
    for svc in (
        "iam",
        "s3",
        "ec2",
        "rds",
        "lambda",
        "ecs",
        "cloudtrail",
        "kms",
        "sqs",
        "sns",
        "dynamodb",
        "guardduty",
        "config",
        "secretsmanager",
    ):
        assert inv.scan["counts_by_service"].get(svc, 0) > 0, svc


def test_m1_m2_data_pipeline_role_and_public_ecs_service(inv):
    role = inv.one("aws_iam_role", "data-pipeline-role")
    pol_arn = f"arn:aws:iam::{ACCT}:policy/data-pipeline-s3"
    assert pol_arn in role.config["managed_policy_arns"]
    assert pol_arn in role.targets("HAS_POLICY")
    doc = inv.by_uid[pol_arn].config["policy"]
    [st] = doc["Statement"]
    assert (st["Sid"], st["Action"], st["Resource"]) == ("PipelineBuckets", "s3:*", "*")
    svc = inv.one("aws_ecs_service", "data-pipeline")
    net = svc.config["network_configuration"]
    assert net["assign_public_ip"] is True
    [subnet_uid] = svc.targets("IN_SUBNET")
    subnet = inv.by_uid[subnet_uid]
    assert subnet.name == "public-a" and subnet.config["public"] is True
    [td_uid] = svc.targets("USES_TASK_DEFINITION")
    td = inv.by_uid[td_uid]
    assert td.config["task_role_arn"] == role_arn("data-pipeline-role")
    assert td.targets("RUNS_AS") == [role_arn("data-pipeline-role")]


def test_m3_m4_lambda_processor_and_admin_role(inv):
    lp = inv.one("aws_iam_role", "lambda-processor")
    st = lp.config["inline_policies"]["assume-anything"]["Statement"][0]
    assert st["Action"] == "sts:AssumeRole" and st["Resource"] == "*"
    fn = inv.one("aws_lambda_function", "order-processor")
    assert fn.targets("RUNS_AS") == [role_arn("lambda-processor")]
    admin = inv.one("aws_iam_role", "admin-role")
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in admin.config["managed_policy_arns"]
    lam, root = admin.config["assume_role_policy"]["Statement"]
    assert lam["Principal"] == {"Service": "lambda.amazonaws.com"} and "Condition" not in lam
    assert root["Principal"] == {"AWS": f"arn:aws:iam::{ACCT}:root"}
    assert inv.by_uid["arn:aws:iam::aws:policy/AdministratorAccess"].config["aws_managed"] is True


def test_m5_m9_m14_prod_api_server(inv):
    inst = inv.one("aws_instance", "prod-api-server")
    assert inst.config["metadata_options"]["http_tokens"] == "optional"
    assert inst.config["public_ip"]
    assert inst.config["iam_instance_profile"].endswith("instance-profile/api-server-profile")
    vol = inv.one("aws_ebs_volume", "prod-api-data")
    assert vol.config["encrypted"] is False
    assert vol.targets("ATTACHED_TO") == [inst.uid]
    sg = inv.one("aws_security_group", "ssh-open")
    assert sg.uid in inst.targets("HAS_SECURITY_GROUP")
    assert any(
        r["from_port"] == 22 and "0.0.0.0/0" in r["cidr_blocks"] for r in sg.config["ingress"]
    )
    profile = inv.by_uid[inst.config["iam_instance_profile"]]
    assert profile.targets("RUNS_AS") == [role_arn("api-server-role")]


def test_m6_w3_cloudtrail_per_region(inv):
    eu = inv.one("aws_cloudtrail_region", "eu-west-1", "eu-west-1")
    us = inv.one("aws_cloudtrail_region", "us-east-1", "us-east-1")
    assert eu.config["logging"] is False
    assert us.config["logging"] is True
    main = inv.one("aws_cloudtrail", "acme-main")
    assert (
        main.config["enable_logging"] is True and main.config["enable_log_file_validation"] is True
    )
    assert inv.one("aws_cloudtrail", "acme-eu").config["enable_logging"] is False


def test_m7_m8_i1_w1_w2_buckets(inv):
    public = inv.one("aws_s3_bucket", "acme-public-assets")
    [st] = public.config["policy"]["Statement"]
    assert st["Principal"] == "*" and st["Effect"] == "Allow"
    assert public.tags["description"] == INJECTION_TEXT  # stored verbatim, as data
    plain = inv.one("aws_s3_bucket", "acme-customer-data")
    assert plain.config["server_side_encryption_configuration"] is None
    assert plain.config["public_access_block"] is None
    assert plain.unavailable == []
    logs = inv.one("aws_s3_bucket", "acme-audit-logs")
    rule = logs.config["server_side_encryption_configuration"]["rule"][0]
    assert rule["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    assert logs.config["versioning"]["status"] == "Enabled"
    assert all(logs.config["public_access_block"].values())
    eu = inv.one("aws_s3_bucket", "acme-eu-backups")
    assert eu.region == "eu-west-1" and eu.config["versioning"]["status"] == "Enabled"
    assert public.targets("LOGS_TO") == ["arn:aws:s3:::acme-audit-logs"]
    [pab] = inv.of_type("aws_s3_account_public_access_block")
    assert pab.config["configured"] is False and pab.unavailable == []


def test_m10_w6_rds(inv):
    db = inv.one("aws_db_instance", "orders-db")
    c = db.config
    assert (c["publicly_accessible"], c["storage_encrypted"], c["multi_az"]) == (True, False, False)
    assert c["backup_retention_period"] == 0
    assert db.tags["environment"] == "production"
    rep = inv.one("aws_db_instance", "reporting-db")
    assert rep.region == "eu-west-1"
    assert (
        rep.config["publicly_accessible"],
        rep.config["storage_encrypted"],
        rep.config["multi_az"],
        rep.config["deletion_protection"],
    ) == (False, True, True, True)


def test_m11_w4_kms_rotation(inv):
    keys = inv.of_type("aws_kms_key")
    app = next(k for k in keys if "alias/acme-app" in k.config["aliases"])
    eu = next(k for k in keys if "alias/acme-eu-backups" in k.config["aliases"])
    assert app.config["enable_key_rotation"] is False
    assert eu.config["enable_key_rotation"] is True and eu.region == "eu-west-1"


def test_m12_m13_w8_users_and_password_policy(inv):
    alice = inv.one("aws_iam_user", "alice")
    assert alice.config["login_profile"] is not None and alice.config["mfa_devices"] == []
    [key] = [k for k in inv.of_type("aws_iam_access_key") if k.config["user"] == "alice"]
    now = dt.datetime.now(dt.UTC)
    created = dt.datetime.fromisoformat(key.config["create_date"])
    used = dt.datetime.fromisoformat(key.config["last_used_date"])
    assert 195 <= (now - created).days <= 205
    assert 115 <= (now - used).days <= 125
    assert key.config["status"] == "Active"
    bob = inv.one("aws_iam_user", "bob")
    assert len(bob.config["mfa_devices"]) == 1
    pp = inv.of_type("aws_iam_account_password_policy")[0]
    assert pp.config["exists"] is True
    assert pp.config["minimum_password_length"] == 8 and pp.config["require_symbols"] is False
    report = {r.name: r for r in inv.of_type("aws_iam_credential_report_entry")}
    assert report["alice"].config["password_enabled"] is True
    assert report["alice"].config["mfa_active"] is False


def test_m15_m16_m19_w11_functions_secrets_tables(inv):
    fn = inv.one("aws_lambda_function", "order-processor")
    assert fn.config["public_url"] is True
    assert "not-a-real-password" not in json.dumps(fn.model_dump())
    secret = inv.one("aws_secretsmanager_secret", "prod/orders-db/password")
    assert not secret.config["rotation_enabled"]
    orders = inv.one("aws_dynamodb_table", "orders")
    assert orders.config["point_in_time_recovery"]["enabled"] is False
    assert (
        inv.one("aws_dynamodb_table", "sessions").config["point_in_time_recovery"]["enabled"]
        is True
    )
    assert inv.one("aws_sqs_queue", "orders-queue").config["sqs_managed_sse_enabled"] is True
    assert (
        inv.one("aws_sns_topic", "security-alerts").config["kms_master_key_id"] == "alias/acme-app"
    )


def test_m17_w10_regional_services(inv):
    gd = {r.region: r.config["enabled"] for r in inv.of_type("aws_guardduty_region")}
    assert gd == {"us-east-1": True, "eu-west-1": False}
    cfg = {r.region: r.config["recording"] for r in inv.of_type("aws_config_region")}
    assert cfg == {"us-east-1": True, "eu-west-1": False}
    ebs = {r.region: r.config["enabled"] for r in inv.of_type("aws_ebs_encryption_by_default")}
    assert ebs == {"us-east-1": False, "eu-west-1": True}


def test_w5_w7_w9_w12_well_configured(inv):
    worker = inv.one("aws_instance", "internal-worker")
    assert worker.config["metadata_options"]["http_tokens"] == "required"
    assert not worker.config["public_ip"]
    audit = inv.one("aws_iam_role", "security-audit")
    [st] = audit.config["assume_role_policy"]["Statement"]
    assert st["Condition"] == {"StringEquals": {"sts:ExternalId": "acme-audit-7f3c"}}
    vpc = inv.one("aws_vpc", "acme-prod-vpc")
    assert vpc.config["flow_logs_enabled"] is True
    snaps = [s for s in inv.of_type("aws_ebs_snapshot") if s.config["encrypted"]]
    assert snaps and all(s.config["public"] is False for s in snaps)


def test_secrets_never_stored(inv):
    blob = json.dumps([r.model_dump() for r in inv.resources])
    for secret in ("not-a-real-password", "Winter2026!", "A-much-longer-passphrase-42!"):
        assert secret not in blob


EXPECTED_FINDINGS = {
    "M1": [("iam_policy_no_s3_full_access_all_resources", "data-pipeline-s3")],
    "M2": [("ecs_service_no_public_ip", "data-pipeline")],
    "M3": [("iam_policy_no_assume_any_role", "lambda-processor")],
    "M4": [
        ("iam_role_admin_trusted_by_service", "admin-role"),
        ("iam_policy_no_full_admin", "AdministratorAccess"),
    ],
    "M5": [("ec2_ebs_volume_encrypted", "prod-api-data")],
    "M6": [
        ("cloudtrail_multi_region_logging", None),
        ("cloudtrail_log_file_validation", "acme-eu"),
    ],
    "M7": [("s3_bucket_not_public", "acme-public-assets")],
    "M8": [
        ("s3_bucket_default_encryption", "acme-customer-data"),
        ("s3_bucket_public_access_block", "acme-customer-data"),
        ("s3_bucket_versioning_enabled", "acme-customer-data"),
    ],
    "M9": [
        ("ec2_sg_no_ipv4_admin_port_ingress", "ssh-open"),
        ("ec2_instance_no_public_ip_with_open_admin_ports", "prod-api-server"),
    ],
    "M10": [
        ("rds_instance_not_public", "orders-db"),
        ("rds_instance_storage_encrypted", "orders-db"),
        ("rds_instance_multi_az", "orders-db"),
        ("rds_instance_backups_enabled", "orders-db"),
        ("ec2_sg_no_world_ingress_database_ports", "orders-db"),
    ],
    "M11": [("kms_key_rotation_enabled", None)],
    "M12": [
        ("iam_user_console_mfa", "alice"),
        ("iam_user_unused_credentials_45_days", "alice"),
        ("iam_access_key_rotated_90_days", None),
    ],
    "M13": [("iam_password_policy_min_length_14", None), ("iam_password_policy_reuse_24", None)],
    "M14": [("ec2_instance_imdsv2_required", "prod-api-server")],
    "M15": [("lambda_function_url_public", "order-processor")],
    "M16": [("secretsmanager_secret_rotation_enabled", "prod/orders-db/password")],
    "M17": [
        ("guardduty_enabled_all_regions", "eu-west-1"),
        ("config_recorder_enabled_all_regions", "eu-west-1"),
        ("ec2_ebs_default_encryption", "us-east-1"),
    ],
    "M18": [("s3_account_public_access_block", None), ("iam_root_mfa_enabled", None)],
    "M19": [("dynamodb_table_pitr_enabled", "orders")],
    "M20": [
        ("accessanalyzer_enabled_all_regions", "us-east-1"),
        ("accessanalyzer_enabled_all_regions", "eu-west-1"),
    ],
    "M21": [("efs_file_system_encrypted", "shared-scratch")],
    # Toxic combinations read from the security graph.
    "T1": [
        ("toxic_internet_path_to_sensitive_data", "data-pipeline"),
        ("toxic_internet_path_to_sensitive_data", "order-processor"),
        ("toxic_internet_path_to_sensitive_data", "orders-db"),
    ],
    "T2": [
        ("toxic_principal_escalates_to_admin", "lambda-processor"),
        ("toxic_principal_escalates_to_admin", "ci-deployer"),
        ("toxic_principal_escalates_to_admin", "bob"),
    ],
}

# (check, resource name) pairs that must have no open finding: the W rows of docs/demo.md.
MUST_PASS = [
    *(
        (c, "acme-audit-logs")
        for c in (
            "s3_bucket_default_encryption",
            "s3_bucket_versioning_enabled",
            "s3_bucket_public_access_block",
            "s3_bucket_not_public",
            "s3_bucket_deny_insecure_transport",
        )
    ),
    *(
        (c, "acme-eu-backups")
        for c in (
            "s3_bucket_default_encryption",
            "s3_bucket_versioning_enabled",
            "s3_bucket_public_access_block",
            "s3_bucket_not_public",
        )
    ),
    ("cloudtrail_log_file_validation", "acme-main"),
    ("ec2_instance_imdsv2_required", "internal-worker"),
    ("ec2_instance_no_public_ip_with_open_admin_ports", "internal-worker"),
    *(
        (c, "reporting-db")
        for c in (
            "rds_instance_not_public",
            "rds_instance_storage_encrypted",
            "rds_instance_multi_az",
            "rds_instance_backups_enabled",
            "rds_instance_deletion_protection",
        )
    ),
    ("iam_role_trust_cross_account_without_condition", "security-audit"),
    ("iam_user_console_mfa", "bob"),
    ("guardduty_enabled_all_regions", "us-east-1"),
    ("config_recorder_enabled_all_regions", "us-east-1"),
    ("ec2_ebs_default_encryption", "eu-west-1"),
    ("dynamodb_table_pitr_enabled", "sessions"),
    ("sqs_queue_encrypted", "orders-queue"),
    ("sns_topic_encrypted", "security-alerts"),
    ("efs_file_system_encrypted", "home-dirs"),
    ("vpc_flow_logs_enabled", "acme-prod-vpc"),
]


@pytest.fixture(scope="module")
def open_findings(inv):
    from stratusec.findings.query import FindingFilter
    from stratusec.operations import findings as findings_op

    ctx = Context.load()
    try:
        page = findings_op.get_findings(ctx, FindingFilter(account="acme-prod", limit=10_000))
    finally:
        ctx.close()
    return {(f["check_id"], f["resource"]["name"]) for f in page.findings}, page.findings


@pytest.mark.parametrize("scenario", sorted(EXPECTED_FINDINGS))
def test_seeded_misconfiguration_yields_finding(open_findings, scenario):
    pairs, _ = open_findings
    for check_id, name in EXPECTED_FINDINGS[scenario]:
        hits = [p for p in pairs if p[0] == check_id and (name is None or p[1] == name)]
        assert hits, f"{scenario}: no open finding {check_id} on {name}"


def test_well_configured_resources_pass(open_findings):
    pairs, _ = open_findings
    offending = [p for p in MUST_PASS if p in pairs]
    assert not offending


def test_injection_text_is_only_data(open_findings):
    _, findings = open_findings
    # The injection tag is stored as a tag value and shown only as data in findings.
    tagged = [f for f in findings if f["resource"]["name"] == "acme-public-assets"]
    assert tagged and all(f["resource"]["tags"]["description"] == INJECTION_TEXT for f in tagged)
    assert all(INJECTION_TEXT not in f["message"] for f in findings)


@pytest.fixture(scope="module")
def demo_paths(inv):
    """Attack paths on the demo graph that the scan built (module home)."""
    from stratusec.operations.paths import get_attack_paths

    ctx = Context.load()
    try:
        buckets = [b.name for b in inv.of_type("aws_s3_bucket")]
        per_bucket = {
            b: get_attack_paths(ctx, account="acme-prod", source="internet", to=b, all_paths=True)[
                1
            ]
            for b in buckets
        }
        to_admin = get_attack_paths(
            ctx, account="acme-prod", source="lambda-processor", to="admin"
        )[1]
        ranked = get_attack_paths(ctx, account="acme-prod", limit=50)[1]
    finally:
        ctx.close()
    return per_bucket, to_admin, ranked


def test_internet_to_every_bucket_through_the_data_pipeline(demo_paths):
    per_bucket, _, _ = demo_paths
    assert len(per_bucket) == 4
    for bucket, paths in per_bucket.items():
        chains = {tuple((h.source_name, h.type, h.target_name) for h in p.hops): p for p in paths}
        key = (
            ("Internet", "EXPOSED_TO", "data-pipeline"),
            ("data-pipeline", "RUNS_AS", "data-pipeline-role"),
            ("data-pipeline-role", "CAN_ACCESS", bucket),
        )
        assert key in chains, f"{bucket}: {list(chains)}"
        exposed, runs, access = chains[key].hops
        assert "subnet public-a" in exposed.reason and "route 0.0.0.0/0 -> igw-" in exposed.reason
        assert "8080" in (exposed.ports or "")
        assert "through task-definition data-pipeline:1" in runs.reason
        assert (
            "policy data-pipeline-s3 statement 0 (PipelineBuckets) allows s3:* on *"
            in access.reason
        )
        assert access.level == "admin" and not chains[key].conditional


def test_lambda_processor_reaches_admin_role(demo_paths):
    _, to_admin, _ = demo_paths
    [path] = [p for p in to_admin if p.target_name == "admin-role"]
    assert path.impact == "admin" and len(path.hops) == 1
    hop = path.hops[0]
    assert hop.type in ("CAN_ASSUME", "CAN_ESCALATE")
    assert "assume-anything statement 0 allows sts:AssumeRole on *" in hop.reason
    assert "BreakGlass" in hop.reason


def test_paths_are_ranked_and_internet_paths_lead(demo_paths):
    _, _, ranked = demo_paths
    scores = [p.score for p in ranked]
    assert scores == sorted(scores, reverse=True)
    assert ranked[0].entry == "internet"
    assert all(h.reason for p in ranked for h in p.hops)


def test_zz_a_partial_scan_keeps_the_full_graph(inv, demo_paths, monkeypatch):
    """A scan of one service sees part of the account: the graph built from the full scan
    stays (and says so), instead of being rebuilt from a fraction of the inventory."""
    from stratusec.operations.graph import graph_schema

    monkeypatch.setenv("STRATUSEC_HOME", str(inv.home))
    ctx = Context.load()
    try:
        before = graph_schema(ctx, "acme-prod")["counts"]
    finally:
        ctx.close()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "stratusec.cli.app",
            "scan",
            "--account",
            "acme-prod",
            "--services",
            "iam",
            "--output",
            "json",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    graph = json.loads(proc.stdout)["scans"][0]["evaluation"]["graph"]
    assert graph["kept"] is True and "partial scan" in graph["reason"]
    ctx = Context.load()
    try:
        assert graph_schema(ctx, "acme-prod")["counts"] == before
    finally:
        ctx.close()
