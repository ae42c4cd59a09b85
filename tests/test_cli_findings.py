"""``stratusec findings``, ``compliance``, ``checks`` and ``suppress`` on a real scan: the
moto server, a few seeded misconfigurations, the real scanner, the real CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from stratusec.checks.registry import all_checks
from stratusec.compliance.frameworks import load_framework
from stratusec.config import Account, Config, CredentialSource, save
from stratusec.findings import formats
from stratusec.findings.query import SEVERITIES
from stratusec.operations.context import Context
from stratusec.operations.scan import scan as scan_op
from tests.cli_helpers import run_cli

ACCT = "123456789012"
SERVICES = ["s3", "iam", "ec2"]
SCRIPT_TAG = "<script>alert(1)</script>"
DATA = Path(__file__).parent / "data"


def _seed(url: str) -> None:
    def client(service: str):  # type: ignore[no-untyped-def]
        return boto3.client(
            service,
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    s3 = client("s3")
    s3.create_bucket(Bucket="lab-data")
    s3.put_bucket_tagging(
        Bucket="lab-data",
        Tagging={
            "TagSet": [{"Key": "owner", "Value": SCRIPT_TAG}, {"Key": "env", "Value": "prod"}]
        },
    )
    s3.create_bucket(Bucket="lab-logs")
    iam = client("iam")
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Sup3r-Secret-Passw0rd!")
    ec2 = client("ec2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    sg = ec2.create_security_group(GroupName="ssh-open", Description="ssh", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            }
        ],
    )


@pytest.fixture(scope="module")
def scanned_home(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One real scan of a seeded moto account, kept as a STRATUSEC_HOME to copy per test."""
    req = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(req, timeout=10).read()  # noqa: S310 - loopback only
    _seed(moto_server)
    home = tmp_path_factory.mktemp("scanned-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("STRATUSEC_HOME", str(home))
    try:
        save(
            Config(
                accounts=[
                    Account(
                        name="lab",
                        account_id=ACCT,
                        regions=["us-east-1"],
                        credentials=CredentialSource(source="emulator"),
                        endpoint_url=moto_server,
                    )
                ]
            )
        )
        ctx = Context.load()
        try:
            [(outcome, ev)] = scan_op(ctx, account="lab", services=SERVICES)
        finally:
            ctx.close()
        assert outcome.status == "succeeded", outcome.errors
        assert ev is not None and ev.failing > 0
        yield home
    finally:
        mp.undo()


@pytest.fixture
def lab(scanned_home: Path, stratusec_home: Path) -> Path:
    """This test's own copy of the scanned home (suppressions change it)."""
    shutil.copytree(scanned_home, stratusec_home, dirs_exist_ok=True)
    return stratusec_home


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    r = run_cli(capsys, *args)
    assert r.code == 0, (args, r.err)
    return json.loads(r.out)


def all_findings(capsys, status: str = "open") -> list[dict[str, Any]]:
    return cli_json(capsys, "findings", "--status", status, "-o", "json")["findings"]


def by_check(findings: list[dict[str, Any]], check_id: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["check_id"] == check_id]


# ------------------------------------------------------------------ findings


def test_scan_produced_the_seeded_findings(capsys, lab):
    found = all_findings(capsys)
    names = {(f["check_id"], f["resource"]["name"]) for f in found}
    assert ("iam_user_console_mfa", "alice") in names
    assert ("ec2_sg_no_ipv4_admin_port_ingress", "ssh-open") in names
    assert any(f["resource"]["name"] == "lab-data" for f in found)
    assert all(f["status"] == "open" and f["account"] == "lab" for f in found)


def test_findings_table(capsys, lab):
    r = run_cli(capsys, "findings")
    assert r.code == 0, r.err
    total = len(all_findings(capsys))
    assert f"Findings (open): {total}" in r.out
    for text in ("severity", "alice", "ssh-open", "iam_user_console_mfa"):
        assert text in r.out
    # A tag value is never interpreted: Rich markup in cloud text stays literal.
    assert "Traceback" not in r.err


def test_findings_json(capsys, lab):
    doc = cli_json(capsys, "findings", "--output", "json")
    assert set(doc) == {"findings", "total", "next_cursor"}
    assert doc["total"] == len(doc["findings"]) and doc["next_cursor"] is None
    ranks = [SEVERITIES.index(f["severity"]) for f in doc["findings"]]
    assert ranks == sorted(ranks)  # most severe first
    [bucket] = [f for f in doc["findings"] if f["resource"]["name"] == "lab-data"][:1]
    assert bucket["resource"]["tags"]["owner"] == SCRIPT_TAG


def test_findings_csv(capsys, lab):
    r = run_cli(capsys, "findings", "-o", "csv")
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert list(rows[0]) == formats.CSV_COLUMNS
    assert len(rows) == len(all_findings(capsys))
    assert {"alice", "ssh-open"} <= {row["resource_name"] for row in rows}


def test_findings_ocsf(capsys, lab):
    events = cli_json(capsys, "findings", "-o", "ocsf")
    assert events and len(events) == len(all_findings(capsys))
    for ev in events:
        assert ev["class_uid"] == 2003 and ev["type_uid"] == 200301
        assert ev["metadata"]["version"] == formats.OCSF_VERSION
        assert ev["cloud"]["account"]["uid"] == ACCT


def test_findings_sarif_validates(capsys, lab):
    doc = cli_json(capsys, "findings", "-o", "sarif", "--status", "all")
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    errors = list(jsonschema.Draft4Validator(schema).iter_errors(doc))
    assert errors == []
    assert len(doc["runs"][0]["results"]) == len(all_findings(capsys, "all"))


def test_findings_filters(capsys, lab):
    every = all_findings(capsys)

    def ids(*args: str) -> set[str]:
        return {f["id"] for f in cli_json(capsys, "findings", "-o", "json", *args)["findings"]}

    high = ids("--severity", "critical,high")
    assert high == {f["id"] for f in every if f["severity"] in ("critical", "high")} != set()
    assert ids("--severity", "critical", "--severity", "high") == high
    assert ids("--service", "iam") == {f["id"] for f in every if f["service"] == "iam"} != set()
    mfa = ids("--check", "iam_user_console_mfa")
    assert mfa == {f["id"] for f in by_check(every, "iam_user_console_mfa")} != set()
    # A CIS control selects the findings of its checks.
    ctl = next(
        c for c in load_framework("cis-aws-3.0").controls if "iam_user_console_mfa" in c.checks
    )
    assert mfa <= ids("--control", f"cis-aws-3.0:{ctl.id}")
    assert ids("--since", "1h") == {f["id"] for f in every}
    assert ids("--since", (dt.date.today() + dt.timedelta(days=2)).isoformat()) == set()
    assert ids("--new") == {f["id"] for f in every}  # one scan: everything is new
    assert ids("--status", "resolved") == set()
    page = cli_json(capsys, "findings", "-o", "json", "--limit", "1")
    assert len(page["findings"]) == 1 and page["total"] == len(every)
    assert page["next_cursor"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "xml"], "unknown output 'xml'; valid: table, json, csv, ocsf, sarif"),
        (
            ["--severity", "urgent"],
            "unknown severity 'urgent'; valid severities: critical, high, medium, low, info",
        ),
        (
            ["--status", "closed"],
            "unknown status 'closed'; valid statuses: open, resolved, suppressed, all",
        ),
        (["--service", "s4"], "unknown service 's4'; services with checks: "),
        (["--check", "nope"], "unknown check id 'nope'"),
        (["--control", "1.4"], "must be FRAMEWORK:CONTROL, e.g. cis-aws-3.0:1.4; frameworks: "),
        (
            ["--control", "cis-aws-3.0:99.9"],
            "unknown control '99.9' in cis-aws-3.0; valid controls: ",
        ),
        (
            ["--control", "nist:1"],
            "unknown framework 'nist'; valid frameworks: aws-fsbp, cis-aws-3.0",
        ),
        (["--account", "nope"], "unknown account 'nope'; configured accounts: lab"),
        (["--since", "yesterday"], "--since 'yesterday' is not a duration"),
    ],
)
def test_findings_bad_input_exit_2(capsys, lab, args, message):
    r = run_cli(capsys, "findings", *args)
    assert r.code == 2, r.out
    assert message in r.err
    assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
    assert r.out == ""


def test_findings_services_listed_on_bad_service(capsys, lab):
    r = run_cli(capsys, "findings", "--service", "s4")
    for svc in {c.meta.service for c in all_checks()}:
        assert svc in r.err


# ------------------------------------------------------------------ compliance


def test_compliance_table(capsys, lab):
    r = run_cli(capsys, "compliance")
    assert r.code == 0, r.err
    assert "CIS Amazon Web Services Foundations Benchmark" in r.out
    assert "cis-aws-3.0 score for lab:" in r.out
    for c in load_framework("cis-aws-3.0").controls[:5]:
        assert c.id in r.out


def test_compliance_json(capsys, lab):
    doc = cli_json(capsys, "compliance", "--framework", "cis-aws-3.0", "-a", "lab", "-o", "json")
    [rep] = doc["reports"]
    fw = load_framework("cis-aws-3.0")
    assert rep["framework"] == "cis-aws-3.0" and rep["account"] == "lab"
    assert rep["account_id"] == ACCT and rep["scan_id"]
    assert [c["id"] for c in rep["controls"]] == [c.id for c in fw.controls]
    assert sum(rep["totals"].values()) == len(fw.controls)
    assert set(rep["sections"]) == set(fw.sections())
    judged = rep["totals"].get("pass", 0) + rep["totals"].get("fail", 0)
    judged += rep["totals"].get("unknown", 0)
    assert rep["score"] == round(100 * rep["totals"].get("pass", 0) / judged, 1)
    # The seeded IAM user without MFA fails its control.
    [mfa] = [c for c in rep["controls"] if "iam_user_console_mfa" in c["checks"]]
    assert mfa["status"] == "fail" and mfa["fail"] >= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--framework", "nist-800-53"], "unknown framework 'nist-800-53'; valid frameworks: "),
        (["-o", "yaml"], "unknown output 'yaml'; valid: table, json"),
        (["--account", "nope"], "unknown account 'nope'; configured accounts: lab"),
    ],
)
def test_compliance_bad_input_exit_2(capsys, lab, args, message):
    r = run_cli(capsys, "compliance", *args)
    assert r.code == 2 and message in r.err and "Traceback" not in r.err


def test_compliance_before_any_scan(capsys, stratusec_home):
    save(Config(accounts=[Account(name="fresh", account_id=ACCT)]))
    r = run_cli(capsys, "compliance")
    assert r.code == 2 and "no account has a completed scan yet" in r.err


# ------------------------------------------------------------------ checks


def test_checks_table_and_json(capsys):
    n = len(all_checks())
    r = run_cli(capsys, "checks")
    assert r.code == 0 and f"{n} checks" in r.out and "iam_root_mfa_enabled" in r.out
    doc = cli_json(capsys, "checks", "-o", "json")
    assert len(doc["checks"]) == n
    by_id = {c["id"]: c for c in doc["checks"]}
    root = by_id["iam_root_mfa_enabled"]
    assert root["severity"] == "critical" and root["remediation"]["summary"]
    assert any(ref.startswith("cis-aws-3.0:") for ref in root["compliance"])
    s3 = cli_json(capsys, "checks", "-o", "json", "--service", "s3")["checks"]
    assert s3 and {c["service"] for c in s3} == {"s3"}
    assert len(s3) == sum(1 for c in all_checks() if c.meta.service == "s3")


# ------------------------------------------------------------------ suppress


def test_suppress_add_list_lift(capsys, lab):
    before = all_findings(capsys)
    mfa = by_check(before, "iam_user_console_mfa")
    assert mfa
    r = run_cli(
        capsys,
        "suppress",
        "add",
        "--check",
        "iam_user_console_mfa",
        "--reason",
        "break-glass user, MFA in the safe",
        "--owner",
        "secops",
        "--expires",
        "30d",
    )
    assert r.code == 0, r.err
    assert f"suppression 1 added; {len(mfa)} findings now suppressed" in r.out
    after = all_findings(capsys)
    assert not by_check(after, "iam_user_console_mfa") and len(after) == len(before) - len(mfa)
    muted = all_findings(capsys, "suppressed")
    assert {f["id"] for f in muted} == {f["id"] for f in mfa}
    assert all(f["suppression_id"] == 1 for f in muted)

    r = run_cli(capsys, "suppress", "list")
    assert r.code == 0 and "iam_user_console_mfa" in r.out and "secops" in r.out
    [s] = cli_json(capsys, "suppress", "list", "-o", "json")["suppressions"]
    assert s["id"] == 1 and s["check"] == "iam_user_console_mfa" and s["owner"] == "secops"
    assert s["reason"] == "break-glass user, MFA in the safe" and s["lifted_at"] is None
    expires = dt.datetime.fromisoformat(s["expires_at"])
    assert dt.timedelta(days=29) < expires.replace(tzinfo=dt.UTC) - dt.datetime.now(dt.UTC)

    r = run_cli(capsys, "suppress", "lift", "1")
    assert r.code == 0 and f"suppression 1 lifted; {len(mfa)} findings changed status" in r.out
    assert {f["id"] for f in by_check(all_findings(capsys), "iam_user_console_mfa")} == {
        f["id"] for f in mfa
    }
    assert cli_json(capsys, "suppress", "list", "-o", "json")["suppressions"] == []
    [s] = cli_json(capsys, "suppress", "list", "--all", "-o", "json")["suppressions"]
    assert s["lifted_at"] is not None


def test_suppress_by_tag_and_resource(capsys, lab):
    r = run_cli(
        capsys, "suppress", "add", "--tag", "env=prod", "--reason", "r", "--owner", "o", "-a", "lab"
    )
    assert r.code == 0, r.err
    muted = all_findings(capsys, "suppressed")
    assert muted and {f["resource"]["name"] for f in muted} == {"lab-data"}
    r = run_cli(
        capsys,
        "suppress",
        "add",
        "--resource",
        "arn:aws:iam::*:user/alice",
        "--reason",
        "r",
        "--owner",
        "o",
    )
    assert r.code == 0, r.err
    names = {f["resource"]["name"] for f in all_findings(capsys, "suppressed")}
    assert names == {"lab-data", "alice"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "--reason", "r", "--owner", "o"], "say what to suppress: --check ID"),
        (["add", "--check", "nope", "--reason", "r", "--owner", "o"], "unknown check id 'nope'"),
        (["add", "--check", "iam_user_console_mfa", "--reason", " ", "--owner", "o"], "reason"),
        (["add", "--tag", "=x", "--reason", "r", "--owner", "o"], "must be KEY or KEY=VALUE-GLOB"),
        (
            ["add", "--check", "iam_user_console_mfa", "--reason", "r", "--owner", "o", "-a", "x"],
            "unknown account 'x'; configured accounts: lab",
        ),
        (
            [
                "add",
                "--check",
                "iam_user_console_mfa",
                "--reason",
                "r",
                "--owner",
                "o",
                "--expires",
                "2020-01-01",
            ],
            "is in the past",
        ),
        (["add", "--check", "iam_user_console_mfa", "--owner", "o"], "--reason"),
        (["lift", "999"], "unknown suppression id 999"),
    ],
)
def test_suppress_bad_input_exit_2(capsys, lab, args, message):
    r = run_cli(capsys, "suppress", *args)
    assert r.code == 2, (r.out, r.err)
    assert message in r.err
    assert "Traceback" not in r.err
    assert cli_json(capsys, "suppress", "list", "-o", "json")["suppressions"] == []
