"""``stratusec report``: the HTML report from a real store (SQLite and PostgreSQL), its
escaping of cloud text, its self-containment, and what headless Chromium renders."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from stratusec.checks import Inventory
from stratusec.checks.runner import run_checks
from stratusec.config import Account, Config, Storage, save
from stratusec.findings.lifecycle import record_results
from stratusec.operations.compliance import check_compliance
from stratusec.operations.context import Context
from stratusec.operations.report import build_report
from stratusec.report import ReportData, render_html
from stratusec.report.html import SEVERITIES
from stratusec.store.db import open_store
from tests.checks.fixtures import res
from tests.cli_helpers import run_cli

ACCT = "123456789012"
TITLE = "Stratusec report — prod"
# Cloud-controlled text that would run script if it reached the page as markup.
XSS_TAG = "<script>document.title='pwned'</script>"
XSS_IMG = "<img src=x onerror=\"document.title='pwned'\">"
XSS_NAME = "<svg onload=document.title='pwned'>"
ENC = {
    "server_side_encryption_configuration": {
        "rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}]
    }
}


def resources() -> list:
    return [
        res(
            "aws_s3_bucket",
            "acme-customer-data",
            uid="arn:aws:s3:::acme-customer-data",
            config={"server_side_encryption_configuration": None},
            tags={"owner": XSS_TAG, "note": XSS_IMG, "data-classification": "confidential"},
        ),
        res(
            "aws_s3_bucket",
            XSS_NAME,
            uid="arn:aws:s3:::odd-bucket",
            config={"server_side_encryption_configuration": None},
        ),
        res("aws_s3_bucket", "acme-logs", uid="arn:aws:s3:::acme-logs", config=ENC),
        res(
            "aws_s3_bucket",
            "acme-unreadable",
            uid="arn:aws:s3:::acme-unreadable",
            unavailable=["server_side_encryption_configuration"],
        ),
    ]


def seed(store_url: str, accounts: tuple[str, ...] = ("prod",), scanned: bool = True) -> None:
    """Configure the accounts and record one scan of ``prod`` through the real lifecycle."""
    save(
        Config(
            accounts=[Account(name=a, account_id=ACCT, regions=["us-east-1"]) for a in accounts],
            storage=Storage(url=store_url),
        )
    )
    if not scanned:
        return
    store = open_store(store_url)
    try:
        rs = resources()
        sid = store.start_scan(
            account_name="prod", account_id=ACCT, regions=["us-east-1"], services=["s3"]
        )
        report = run_checks(Inventory(rs, regions=["us-east-1"]))
        record_results(
            store,
            scan_id=sid,
            account_name="prod",
            account_id=ACCT,
            report=report,
            resource_tags={r.uid: r.tags for r in rs},
            complete=False,
        )
        store.finish_scan(sid, status="succeeded", resource_count=len(rs))
    finally:
        store.close()


@pytest.fixture
def home(store_url: str, stratusec_home: Path) -> str:
    seed(store_url)
    return store_url


def render() -> tuple[str, dict]:
    ctx = Context.load()
    try:
        rep = build_report(ctx, account="prod")
        [comp] = check_compliance(ctx, framework="cis-aws-3.0", account="prod")
    finally:
        ctx.close()
    return rep.content, {"report": rep, "compliance": comp}


# ------------------------------------------------------------------ the HTML itself


def test_report_escapes_cloud_text(home):
    page, _ = render()
    # The hostile values are shown, as text.
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;document.title=&#x27;pwned&#x27;&quot;&gt;" in page
    assert "&lt;svg onload=document.title=&#x27;pwned&#x27;&gt;" in page
    # ... and never as markup: with the text between tags removed, no trace is left.
    markup = re.sub(r">[^<]*<", "><", page).lower()
    for bad in ("<script", "<img", "onerror", "onload", "pwned"):
        assert bad not in markup, bad
    # The only <svg> elements are our own charts.
    assert set(re.findall(r'<svg class="(\w+)"', page)) <= {"chart", "ring", "stack"}
    assert page.count("<svg") == len(re.findall(r'<svg class="(?:chart|ring|stack)"', page))


def test_report_is_self_contained(home):
    page, _ = render()
    low = page.lower()
    for tag in ("<script", "<link", "<iframe", "<object", "<embed", "<img", "<base", "<form"):
        assert tag not in low, tag
    assert "@import" not in low and "url(" not in low
    # Attributes that could make the browser fetch something: none (only in-page anchors).
    for attr, value in re.findall(
        r'\s(src|href|action|srcset|poster|data|xlink:href)="([^"]*)"', page
    ):
        assert attr == "href" and value.startswith("#"), (attr, value)
    # No URL anywhere in markup; URLs may only appear as escaped text (remediation docs).
    tags_only = re.sub(r">[^<]*<", "><", page)
    assert "http://" not in tags_only and "https://" not in tags_only
    assert "default-src &#x27;none&#x27;" in page  # CSP: no script, no network loads


def test_report_contents_match_the_store(home):
    page, got = render()
    comp = got["compliance"]
    data = got["report"].data
    counts = Counter(f["severity"] for f in data.findings)
    assert data.findings and sum(counts.values()) == len(data.findings)
    for h in ("Stratusec security report", "Summary", "Findings by severity", "By section"):
        assert f">{h}<" in page or f">{h}</h" in page, h
    for sev in SEVERITIES:
        assert f'data-severity="{sev}">{counts.get(sev, 0)}<' in page
    assert f'id="open-total">{len(data.findings)}<' in page
    assert f'id="compliance-score">{comp["score"]:g}%<' in page
    assert ACCT in page and data.scan["id"] in page
    # Every control of the framework has a row; every section a stacked bar.
    assert page.count('<svg class="stack"') == len(comp["sections"])
    for c in comp["controls"]:
        assert f"<code>{c['id']}</code>" in page
    # Evidence and remediation of the encryption check are in a finding's details.
    assert "Turn on default encryption" in page and "aws s3api put-bucket-encryption" in page
    # An UNKNOWN result is an open finding too; a passing bucket is not.
    enc = {
        f["resource"]["name"]: f["result"]
        for f in data.findings
        if f["check_id"] == "s3_bucket_default_encryption"
    }
    assert enc == {"acme-customer-data": "FAIL", XSS_NAME: "FAIL", "acme-unreadable": "UNKNOWN"}
    assert ">acme-unreadable<" in page


def test_report_defaults_to_the_only_account(store_url, stratusec_home):
    seed(store_url)
    ctx = Context.load()
    try:
        rep = build_report(ctx)  # the only configured account
    finally:
        ctx.close()
    assert rep.data.account == "prod"
    assert rep.default_filename.startswith("stratusec-report-prod-")
    assert rep.default_filename.endswith(".html")


def test_render_without_findings_or_framework():
    data = ReportData(
        account="empty",
        account_id=None,
        scan={"id": "s1", "status": "succeeded", "regions": [], "resources": 0, "errors": 0},
        findings=[],
        checks={},
        compliance=None,
    )
    page = render_html(data)
    assert "No open findings." in page and 'id="open-total">0<' in page
    assert 'href="#compliance"' not in page and "No compliance framework evaluated." in page
    assert page.count('<svg class="chart"') == 1


# ------------------------------------------------------------------ the CLI


def test_cli_report_writes_file_and_prints_path(capsys, home, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run_cli(capsys, "report", "--format", "html", "--account", "prod")
    assert r.code == 0, r.err
    path = Path(r.out.strip())
    assert path.parent == tmp_path and re.fullmatch(
        r"stratusec-report-prod-\d{4}-\d{2}-\d{2}\.html", path.name
    )
    assert "Stratusec security report" in path.read_text(encoding="utf-8")
    assert "open findings" in r.err and "cis-aws-3.0 score" in r.err
    # --output as a file, and as a directory (default name inside it).
    out = tmp_path / "custom.html"
    r = run_cli(capsys, "report", "-o", str(out), "--framework", "cis-aws-3.0")
    assert r.code == 0 and r.out.strip() == str(out) and out.stat().st_size > 1000
    (tmp_path / "reports").mkdir()
    r = run_cli(capsys, "report", "-o", str(tmp_path / "reports"))
    assert r.code == 0 and Path(r.out.strip()).parent == tmp_path / "reports"


def test_cli_report_bad_input_exit_2(capsys, home, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for args, msg in [
        (["--format", "pdf"], "unknown format 'pdf'; valid formats: html"),
        (["--account", "nope"], "unknown account 'nope'; configured accounts: prod"),
        (["--framework", "nist-800-53"], "unknown framework 'nist-800-53'; valid frameworks: "),
        (["-o", str(tmp_path / "missing" / "r.html")], "does not exist"),
        (["-o", str(blocker / "r.html")], "cannot write the report to"),
    ]:
        r = run_cli(capsys, "report", *args)
        assert r.code == 2, (args, r.out, r.err)
        assert msg in r.err, (args, r.err)
        assert len(r.err.strip().splitlines()) == 1 and "Traceback" not in r.err
        assert r.out == ""


def test_cli_report_needs_a_scan_and_one_account(capsys, store_url, stratusec_home):
    seed(store_url, scanned=False)
    r = run_cli(capsys, "report")
    assert r.code == 2 and "account 'prod' has no completed scan yet" in r.err
    seed(store_url, accounts=("prod", "staging"), scanned=False)
    r = run_cli(capsys, "report")
    assert r.code == 2
    assert "a report covers one account; choose it with --account: prod, staging" in r.err


# ------------------------------------------------------------------ in a real browser


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe:
        return exe
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed in CI (.ci/run installs it)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


def _run_chromium(exe: str, url: str, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        # Any DNS lookup fails: nothing outside could load even if the page asked.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        *extra,
        url,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _page_requests(netlog: Path) -> list[str]:
    """URLs the page (a file:// document) asked the network stack for; the browser's own
    background requests (no page origin) are left out."""
    data = json.loads(netlog.read_text())
    names = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    urls = []
    for ev in data["events"]:
        p = ev.get("params") or {}
        if names.get(ev["type"]) == "URL_REQUEST_START_JOB" and "file://" in str(
            p.get("network_isolation_key", "")
        ):
            urls.append(p.get("url", ""))
    return urls


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.slow
def test_report_in_headless_chromium(stratusec_home, tmp_path):
    exe = _chromium()
    seed(f"sqlite:///{tmp_path / 'store.db'}")  # the browser does not care which store
    page, got = render()
    data = got["report"].data
    comp = got["compliance"]
    report = tmp_path / "report.html"
    report.write_text(page, encoding="utf-8")

    # Positive control: the network log does show a page's own requests.
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><title>c</title><img src="http://canary.invalid/p.png">')
    control_log = tmp_path / "control-netlog.json"
    _run_chromium(exe, control.as_uri(), tmp_path, f"--log-net-log={control_log}", "--dump-dom")
    assert any("canary.invalid" in u for u in _page_requests(control_log))

    netlog = tmp_path / "netlog.json"
    proc = _run_chromium(exe, report.as_uri(), tmp_path, f"--log-net-log={netlog}", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    # It rendered fully (the footer is the last thing on the page) ...
    assert "</footer>" in dom and "Generated by Stratusec" in dom
    # ... with no request leaving the page.
    assert _page_requests(netlog) == []
    # The injected markup did not run: the title is ours, no script element exists,
    # and the hostile values are plain text nodes.
    m = re.search(r"<title>(.*?)</title>", dom, re.S)
    assert m and m.group(1) == TITLE
    assert "pwned" not in (m.group(1) if m else "")
    assert "<script" not in dom.lower() and "<img" not in dom.lower()
    assert "&lt;script&gt;document.title='pwned'&lt;/script&gt;" in dom
    assert "&lt;svg onload=document.title='pwned'&gt;" in dom
    # What a reader sees: the headings, the counts, a resource, the score.
    for h in ("Stratusec security report", "Summary", "Findings by severity", "Controls"):
        assert h in dom
    counts = data.severity_counts()
    for sev in SEVERITIES:
        assert f'data-severity="{sev}">{counts[sev]}</span>' in dom
    assert ">acme-customer-data<" in dom
    assert f'id="compliance-score">{comp["score"]:g}%</p>' in dom
    assert dom.count("<details>") == len(data.findings)

    # A screenshot: the page paints (a blank page compresses to a few KB).
    shot = tmp_path / "report.png"
    proc = _run_chromium(
        exe,
        report.as_uri(),
        tmp_path,
        "--hide-scrollbars",
        "--window-size=1280,1800",
        f"--screenshot={shot}",
    )
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    assert _png_size(shot) == (1280, 1800)
    assert shot.stat().st_size > 60_000
