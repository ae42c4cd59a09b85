"""Finding exports: SARIF 2.1.0 against the official OASIS schema, OCSF 1.3 Compliance
Finding required attributes, CSV injection, JSON."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from stratusec.checks import Inventory
from stratusec.checks.registry import get_check
from stratusec.checks.runner import run_checks
from stratusec.findings import formats
from stratusec.findings.lifecycle import record_results
from stratusec.findings.query import FindingFilter, query_findings
from stratusec.findings.suppressions import create_suppression
from stratusec.store.db import open_store
from tests.checks.fixtures import res

DATA = Path(__file__).parent / "data"
ACCT = "123456789012"
CHECKS = [
    "s3_bucket_default_encryption",
    "s3_bucket_versioning_enabled",
    "iam_root_mfa_enabled",
]
PLAIN = {"server_side_encryption_configuration": None}
ENC = {
    "server_side_encryption_configuration": {
        "rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]
    }
}
FORMULA = '=HYPERLINK("http://evil.example/x","click")'


def bucket(name: str, *, encrypted: bool = False, **kw: Any):
    return res(
        "aws_s3_bucket",
        name,
        uid=f"arn:aws:s3:::{name.strip('=+-@').lower() or 'b'}",
        config=ENC if encrypted else PLAIN,
        **kw,
    )


def _scan(store, resources, t: dt.datetime) -> str:
    checks = [get_check(c) for c in CHECKS]
    sid = store.start_scan(account_name="prod", account_id=ACCT, regions=["us-east-1"], services=[])
    record_results(
        store,
        scan_id=sid,
        account_name="prod",
        account_id=ACCT,
        report=run_checks(Inventory(resources, regions=["us-east-1"]), checks),
        resource_tags={r.uid: r.tags for r in resources},
        complete=True,
        now=t,
    )
    store.finish_scan(sid, status="succeeded")
    return sid


@pytest.fixture
def findings(tmp_path) -> list[dict[str, Any]]:
    """Open (new and updated), resolved, suppressed and UNKNOWN findings from two scans."""
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    t0 = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    first = [
        bucket("acme-data", tags={"env": "prod", "owner": "<script>alert(1)</script>"}),
        bucket("acme-fixed"),
        bucket("acme-muted", tags={"risk-accepted": "yes"}),
    ]
    _scan(store, first, t0)
    create_suppression(
        store,
        reason="accepted",
        owner="sec",
        created_by="test",
        account_name="prod",
        tag="risk-accepted=yes",
    )
    second = [
        bucket("acme-data", tags={"env": "prod", "owner": "<script>alert(1)</script>"}),
        bucket("acme-fixed", encrypted=True),
        bucket("acme-muted", tags={"risk-accepted": "yes"}),
        bucket(FORMULA),
        bucket("+cmd"),
        bucket("-2+3"),
        bucket("@SUM(A1)"),
        bucket("\tTAB"),
        bucket("acme-unreadable", unavailable=["server_side_encryption_configuration"]),
        bucket("with space & <angle>"),
    ]
    _scan(store, second, t0 + dt.timedelta(hours=1))
    page = query_findings(store, FindingFilter(account="prod", status="all", limit=1000))
    store.close()
    return page.findings


def _by(findings, name, check="s3_bucket_default_encryption"):
    [f] = [f for f in findings if f["resource"]["name"] == name and f["check_id"] == check]
    return f


def test_fixture_covers_every_lifecycle_state(findings):
    enc = {f["resource"]["name"]: f for f in findings if f["check_id"] == CHECKS[0]}
    assert enc["acme-fixed"]["status"] == "resolved"
    assert enc["acme-muted"]["status"] == "suppressed"
    assert enc["acme-data"]["status"] == "open"
    assert enc["acme-data"]["first_scan_id"] != enc["acme-data"]["last_scan_id"]
    assert enc["acme-unreadable"]["result"] == "UNKNOWN"


# ------------------------------------------------------------------ SARIF


@pytest.fixture(scope="module")
def sarif_schema() -> dict[str, Any]:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
    # The OASIS SARIF 2.1.0 schema (errata 01), not a look-alike.
    assert schema["id"] == (
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    )
    jsonschema.Draft4Validator.check_schema(schema)
    return schema


def _errors(schema: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    v = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in v.iter_errors(doc)]


def test_sarif_validates_against_the_official_schema(findings, sarif_schema):
    log = formats.to_sarif(findings)
    doc = json.loads(json.dumps(log))  # exactly what the CLI prints
    assert _errors(sarif_schema, doc) == []
    assert doc["version"] == "2.1.0"
    [run] = doc["runs"]
    assert len(run["results"]) == len(findings)
    assert _errors(sarif_schema, formats.to_sarif([])) == []


def test_sarif_schema_rejects_what_it_should(findings, sarif_schema):
    """The saved schema really constrains: a wrong level or a missing message fails."""
    doc = json.loads(json.dumps(formats.to_sarif(findings)))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    del doc["runs"][0]["results"][1]["message"]
    errs = _errors(sarif_schema, doc)
    assert any("'fatal' is not one of" in e for e in errs)
    assert any("'message' is a required property" in e for e in errs)


def test_sarif_fits_github_code_scanning(findings):
    doc = formats.to_sarif(findings)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for rule in rules:
        float(rule["properties"]["security-severity"])  # a number as a string
        assert len(rule["properties"]["tags"]) == len(set(rule["properties"]["tags"]))
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
    for r in run["results"]:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        # Repository-relative, no scheme, no raw spaces or markup: GitHub accepts it.
        assert uri.startswith("aws/") and "://" not in uri
        assert " " not in uri and "<" not in uri
        assert r["partialFingerprints"]["stratusecFindingId/v1"]
    f = _by(findings, "with space & <angle>")
    [r] = [
        r for r in run["results"] if r["partialFingerprints"]["stratusecFindingId/v1"] == f["id"]
    ]
    assert r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "aws/123456789012/us-east-1/aws_s3_bucket/with%20space%20%26%20%3Cangle%3E"
    )
    assert r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == f["resource"]["uid"]


# ------------------------------------------------------------------ OCSF 1.3

# Compliance Finding (class 2003) as OCSF 1.3 defines it: the base event's required
# attributes, the Findings category's finding_info, and the class's compliance object.
OCSF_REQUIRED = (
    "activity_id",
    "category_uid",
    "class_uid",
    "type_uid",
    "severity_id",
    "time",
    "metadata",
    "finding_info",
    "compliance",
)


def test_ocsf_compliance_finding_required_attributes(findings):
    events = formats.to_ocsf(findings)
    assert len(events) == len(findings)
    json.dumps(events)  # serialisable as is
    for ev in events:
        for attr in OCSF_REQUIRED:
            assert ev.get(attr) is not None, attr
        assert ev["class_uid"] == 2003 and ev["class_name"] == "Compliance Finding"
        assert ev["category_uid"] == 2 and ev["category_name"] == "Findings"
        assert ev["activity_id"] in (1, 2, 3)
        assert ev["activity_name"] == {1: "Create", 2: "Update", 3: "Close"}[ev["activity_id"]]
        assert ev["type_uid"] == 200300 + ev["activity_id"]
        assert ev["type_uid"] in (200301, 200302, 200303)
        assert ev["type_name"] == f"Compliance Finding: {ev['activity_name']}"
        assert 1 <= ev["severity_id"] <= 5
        assert isinstance(ev["time"], int) and ev["time"] > 1_700_000_000_000  # epoch ms
        assert ev["metadata"]["version"] == "1.3.0"
        product = ev["metadata"]["product"]
        assert product["name"] == "Stratusec" and product["vendor_name"] and product["version"]
        assert ev["finding_info"]["uid"] and ev["finding_info"]["title"]
        assert isinstance(ev["compliance"]["standards"], list) and ev["compliance"]["standards"]
        assert ev["compliance"]["status_id"] in (1, 2, 3)
        assert ev["status_id"] in (1, 2, 3, 4)
        assert ev["cloud"]["provider"] == "AWS" and ev["cloud"]["account"]["uid"] == ACCT
        for r in ev["resources"]:
            assert r["uid"] and None not in r.values()


def test_ocsf_values_follow_the_enums(findings):
    events = {ev["finding_info"]["uid"]: ev for ev in formats.to_ocsf(findings)}
    sev = {ev["severity_id"]: ev["severity"] for ev in events.values()}
    captions = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
    assert all(captions[k] == v for k, v in sev.items())

    new = events[_by(findings, FORMULA)["id"]]
    assert (new["activity_id"], new["status_id"], new["status"]) == (1, 1, "New")
    assert (new["compliance"]["status_id"], new["compliance"]["status"]) == (3, "Fail")
    assert new["compliance"]["control"] == "s3_bucket_default_encryption"

    updated = events[_by(findings, "acme-data")["id"]]
    assert updated["activity_id"] == 2 and updated["type_uid"] == 200302
    assert "owner=<script>alert(1)</script>" in updated["resources"][0]["labels"]

    closed = events[_by(findings, "acme-fixed")["id"]]
    assert (closed["activity_id"], closed["type_uid"]) == (3, 200303)
    assert (closed["status_id"], closed["status"]) == (4, "Resolved")

    muted = events[_by(findings, "acme-muted")["id"]]
    assert (muted["status_id"], muted["status"]) == (3, "Suppressed")

    # A check that could not read its data did not yield a result: compliance Warning.
    unknown = events[_by(findings, "acme-unreadable")["id"]]
    assert (unknown["compliance"]["status_id"], unknown["compliance"]["status"]) == (2, "Warning")

    # A mapped finding names every standard it counts for; requirements keep the controls.
    root = [ev for ev in events.values() if ev["compliance"]["control"] == "iam_root_mfa_enabled"]
    for ev in root:
        assert ev["compliance"]["standards"] == ["aws-fsbp", "cis-aws-3.0"]
        assert set(ev["compliance"]["requirements"]) == {"cis-aws-3.0:1.5", "aws-fsbp:IAM.9"}


# ------------------------------------------------------------------ CSV and JSON


def test_csv_neutralises_formulas(findings):
    text = formats.to_csv(findings)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(findings)
    names = {r["resource_name"] for r in rows}
    assert "'" + FORMULA in names and FORMULA not in names
    for dangerous in ("+cmd", "-2+3", "@SUM(A1)", "\tTAB"):
        assert "'" + dangerous in names, dangerous
    for row in rows:
        for key, value in row.items():
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r"), (key, value)
    # Ordinary values are untouched, commas and markup included.
    assert "with space & <angle>" in names
    assert set(rows[0]) == set(formats.CSV_COLUMNS)


def test_json_round_trips(findings):
    doc = json.loads(formats.to_json(findings))
    assert doc["findings"] == json.loads(json.dumps(findings, default=str))
