"""Finding exports: JSON, CSV, OCSF 1.x Compliance Finding (class 2003), SARIF 2.1.0."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import urllib.parse
from collections.abc import Iterable
from typing import Any

from stratusec import __version__
from stratusec.checks.registry import get_check

OCSF_VERSION = "1.3.0"
# severity_id and its caption (OCSF 1.3 base event).
OCSF_SEVERITY = {
    "info": (1, "Informational"),
    "low": (2, "Low"),
    "medium": (3, "Medium"),
    "high": (4, "High"),
    "critical": (5, "Critical"),
}
# Finding status_id (finding lifecycle).
OCSF_STATUS = {"open": (1, "New"), "suppressed": (3, "Suppressed"), "resolved": (4, "Resolved")}
OCSF_ACTIVITY = {1: "Create", 2: "Update", 3: "Close"}
# compliance.status_id: a check that could not read its data yielded no result: Warning.
OCSF_COMPLIANCE_STATUS = {"PASS": (1, "Pass"), "UNKNOWN": (2, "Warning"), "FAIL": (3, "Fail")}
SARIF_LEVEL = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "note",
    "info": "note",
}
SARIF_SCORE = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = [
    "id",
    "severity",
    "status",
    "result",
    "check_id",
    "title",
    "account",
    "account_id",
    "region",
    "service",
    "resource_type",
    "resource_name",
    "resource_uid",
    "message",
    "compliance",
    "first_seen",
    "last_seen",
    "resolved_at",
]


def to_json(findings: list[dict[str, Any]]) -> str:
    return json.dumps({"findings": findings}, indent=2, default=str)


def to_csv(findings: Iterable[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for f in findings:
        row = dict(f)
        row["resource_type"] = f["resource"]["type"]
        row["resource_name"] = f["resource"]["name"]
        row["resource_uid"] = f["resource"]["uid"]
        row["compliance"] = " ".join(f.get("compliance") or [])
        # Cloud text is data: neutralise spreadsheet formulas (CSV injection, OWASP).
        for k, v in row.items():
            if isinstance(v, str) and v[:1] in CSV_FORMULA_START:
                row[k] = "'" + v
        w.writerow(row)
    return buf.getvalue()


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(dt.datetime.fromisoformat(iso).timestamp() * 1000)


def to_ocsf(findings: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One OCSF 1.3 Compliance Finding (class_uid 2003, category Findings) per finding."""
    events = []
    for f in findings:
        meta = get_check(f["check_id"]).meta
        status_id, status = OCSF_STATUS.get(f["status"], (99, f["status"]))
        activity_id = 1 if f["first_scan_id"] == f["last_scan_id"] else 2  # Create | Update
        if f["status"] == "resolved":
            activity_id = 3  # Close
        severity_id, severity = OCSF_SEVERITY[f["severity"]]
        comp_status_id, comp_status = OCSF_COMPLIANCE_STATUS.get(f["result"], (99, f["result"]))
        standards = sorted({c.split(":", 1)[0] for c in f.get("compliance") or []})
        uid = f["resource"]["uid"]
        resource: dict[str, Any] = {
            "uid": uid,
            "name": f["resource"]["name"],
            "type": f["resource"]["type"],
            "region": f["region"],
            "labels": [f"{k}={v}" for k, v in (f["resource"].get("tags") or {}).items()],
        }
        if uid.startswith("arn:") and uid.count(":") >= 5:
            resource["cloud_partition"] = uid.split(":")[1]
        events.append(
            {
                "class_uid": 2003,
                "class_name": "Compliance Finding",
                "category_uid": 2,
                "category_name": "Findings",
                "activity_id": activity_id,
                "activity_name": OCSF_ACTIVITY[activity_id],
                "type_uid": 2003 * 100 + activity_id,
                "type_name": f"Compliance Finding: {OCSF_ACTIVITY[activity_id]}",
                "severity_id": severity_id,
                "severity": severity,
                "status_id": status_id,
                "status": status,
                "time": _ms(f["last_seen"]),
                "message": f["message"],
                "metadata": {
                    "version": OCSF_VERSION,
                    "product": {
                        "name": "Stratusec",
                        "vendor_name": "Stratusec",
                        "version": __version__,
                    },
                    "uid": f["id"],
                },
                "finding_info": {
                    "uid": f["id"],
                    "title": meta.title,
                    "desc": meta.description,
                    "types": list(meta.categories),
                    "first_seen_time": _ms(f["first_seen"]),
                    "last_seen_time": _ms(f["last_seen"]),
                    "analytic": {"uid": meta.id, "name": meta.id, "type_id": 1, "type": "Rule"},
                },
                "compliance": {
                    "standards": standards or ["stratusec"],
                    "requirements": list(f.get("compliance") or []),
                    "control": meta.id,
                    "status_id": comp_status_id,
                    "status": comp_status,
                },
                "resources": [resource],
                "cloud": {
                    "provider": "AWS",
                    "region": f["region"],
                    "account": {
                        "uid": f["account_id"],
                        "name": f["account"],
                        "type_id": 10,
                        "type": "AWS Account",
                    },
                },
                "remediation": {"desc": meta.remediation.summary},
                "risk_details": meta.risk,
                "unmapped": {"evidence": f.get("evidence"), "check_id": meta.id},
            }
        )
    return events


def sarif_resource_path(f: dict[str, Any]) -> str:
    """'aws/123456789012/us-east-1/aws_s3_bucket/my%20bucket': each segment percent-encoded."""
    parts = ["aws", f.get("account_id") or f["account"], f["region"], f["resource"]["type"]]
    parts.append(f["resource"]["name"] or f["resource"]["uid"])
    return "/".join(urllib.parse.quote(str(p), safe="") for p in parts)


def to_sarif(findings: Iterable[dict[str, Any]]) -> dict[str, Any]:
    findings = list(findings)
    rule_ids = sorted({f["check_id"] for f in findings})
    index = {rid: i for i, rid in enumerate(rule_ids)}
    rules = []
    for rid in rule_ids:
        meta = get_check(rid).meta
        help_text = meta.remediation.summary
        if meta.remediation.cli:
            help_text += f"\n\nCLI:\n{meta.remediation.cli}"
        rules.append(
            {
                "id": rid,
                "name": "".join(p.capitalize() for p in rid.split("_")),
                "shortDescription": {"text": meta.title},
                "fullDescription": {"text": meta.description},
                "help": {"text": help_text},
                "defaultConfiguration": {"level": SARIF_LEVEL[meta.severity.value]},
                "properties": {
                    "tags": list(dict.fromkeys(["security", meta.service, *meta.categories])),
                    "security-severity": SARIF_SCORE[meta.severity.value],
                    "severity": meta.severity.value,
                },
            }
        )
    results = []
    for f in findings:
        results.append(
            {
                "ruleId": f["check_id"],
                "ruleIndex": index[f["check_id"]],
                "level": SARIF_LEVEL[f["severity"]],
                "kind": "fail",
                "message": {"text": f["message"]},
                "locations": [
                    {
                        # Cloud resources have no file: a stable repository-relative pseudo
                        # path, which GitHub code scanning requires on every result.
                        "physicalLocation": {
                            "artifactLocation": {"uri": sarif_resource_path(f)},
                            "region": {"startLine": 1},
                        },
                        "logicalLocations": [
                            {
                                "name": f["resource"]["name"],
                                "fullyQualifiedName": f["resource"]["uid"],
                                "kind": "resource",
                            }
                        ],
                    }
                ],
                "partialFingerprints": {"stratusecFindingId/v1": f["id"]},
                "properties": {
                    "account": f["account"],
                    "region": f["region"],
                    "status": f["status"],
                    "compliance": f.get("compliance") or [],
                },
            }
        )
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "Stratusec",
                        "version": __version__,
                        "informationUri": "https://github.com/stratusec/stratusec",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
