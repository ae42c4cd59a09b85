"""One self-contained HTML page from report data: a pure function, no I/O.

Everything the cloud supplied (resource names, tags, messages, evidence, even account
names) is text, never markup: every value goes through :func:`e` (``html.escape``) on its
way into the page. The page carries its own CSS and server-drawn SVG charts, loads
nothing (no scripts, fonts, images or links to fetch), and its Content-Security-Policy
forbids scripts and network loads as a second line of defence.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections import Counter
from dataclasses import dataclass, field
from string import Template
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEV_LABEL = {
    "critical": "Critical",
    "high": "High",
    "medium": "Medium",
    "low": "Low",
    "info": "Info",
}
SEV_COLOR = {
    "critical": "#991b1b",
    "high": "#dc2626",
    "medium": "#d97706",
    "low": "#2563eb",
    "info": "#64748b",
}
# Order of the segments in a section's stacked bar, and their colours.
CONTROL_STATUSES = ("pass", "fail", "unknown", "manual", "not_collectable", "not_applicable")
STATUS_LABEL = {
    "pass": "Pass",
    "fail": "Fail",
    "unknown": "Unknown",
    "manual": "Manual",
    "not_collectable": "Not collectable",
    "not_applicable": "Not applicable",
}
STATUS_COLOR = {
    "pass": "#16a34a",
    "fail": "#dc2626",
    "unknown": "#d97706",
    "manual": "#64748b",
    "not_collectable": "#94a3b8",
    "not_applicable": "#cbd5e1",
}
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)


@dataclass
class ReportData:
    """What a report shows. Built by ``stratusec.operations.report``; rendered here."""

    account: str
    account_id: str | None
    scan: dict[str, Any]  # id, status, started_at, finished_at, regions, resources, errors
    findings: list[dict[str, Any]]  # open findings, as ``findings.query.finding_dict``
    checks: dict[str, dict[str, Any]]  # check id -> title, description, risk, remediation
    compliance: dict[str, Any] | None  # ``compliance.frameworks.evaluate_framework`` + account
    suppressed: int = 0
    generated_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    version: str = ""

    def severity_counts(self) -> dict[str, int]:
        c = Counter(f["severity"] for f in self.findings)
        return {s: c.get(s, 0) for s in SEVERITIES}


def e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _when(iso: str | None) -> str:
    """'2026-11-24T05:38:31.199+00:00' -> '2026-11-24 05:38 UTC'."""
    if not iso:
        return "—"
    try:
        t = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if t.tzinfo is not None:
        t = t.astimezone(dt.UTC)
    return t.strftime("%Y-%m-%d %H:%M UTC")


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


# ---------------------------------------------------------------- SVG charts


def severity_chart(counts: dict[str, int]) -> str:
    """Horizontal bars, one per severity, labelled with the count."""
    row, label_w, bar_w, pad = 30, 84, 360, 8
    width = label_w + bar_w + 60
    height = row * len(SEVERITIES) + pad
    top = max(counts.values(), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" '
        f'aria-labelledby="sevchart-title">',
        '<title id="sevchart-title">Open findings by severity</title>',
    ]
    for i, sev in enumerate(SEVERITIES):
        n = counts.get(sev, 0)
        y = pad // 2 + i * row
        w = bar_w * n / top
        parts.append(
            f'<text x="{label_w - 10}" y="{y + 19}" text-anchor="end" class="lbl">'
            f"{SEV_LABEL[sev]}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{bar_w}" height="20" rx="3" fill="#f1f5f9"/>'
            f'<rect x="{label_w}" y="{y + 4}" width="{_num(w)}" height="20" rx="3" '
            f'fill="{SEV_COLOR[sev]}"><title>{SEV_LABEL[sev]}: {n}</title></rect>'
            f'<text x="{_num(label_w + max(w, 0) + 8)}" y="{y + 19}" class="val">{n}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def score_ring(score: float | None) -> str:
    """A ring filled to the compliance score (grey with 'n/a' when nothing was judged)."""
    size, r, stroke = 120, 48, 12
    c = 2 * 3.141592653589793 * r
    filled = 0.0 if score is None else c * max(0.0, min(score, 100.0)) / 100.0
    colour = (
        "#94a3b8"
        if score is None
        else ("#16a34a" if score >= 80 else "#d97706" if score >= 50 else "#dc2626")
    )
    text = "n/a" if score is None else f"{_num(score)}%"
    mid = size / 2
    return (
        f'<svg class="ring" role="img" width="{size}" height="{size}" '
        f'viewBox="0 0 {size} {size}" '
        f'aria-label="Compliance score {e(text)}">'
        f'<circle cx="{mid}" cy="{mid}" r="{r}" fill="none" stroke="#e2e8f0" '
        f'stroke-width="{stroke}"/>'
        f'<circle cx="{mid}" cy="{mid}" r="{r}" fill="none" stroke="{colour}" '
        f'stroke-width="{stroke}" stroke-dasharray="{_num(filled)} {_num(c)}" '
        f'transform="rotate(-90 {mid} {mid})"/>'
        f'<text x="{mid}" y="{mid + 7}" text-anchor="middle" class="ringval">{e(text)}</text>'
        "</svg>"
    )


def stacked_bar(counts: dict[str, int], width: int = 280, height: int = 16) -> str:
    """One section's controls by status, as a stacked horizontal bar."""
    total = sum(counts.get(s, 0) for s in CONTROL_STATUSES)
    label = ", ".join(
        f"{counts[s]} {STATUS_LABEL[s].lower()}" for s in CONTROL_STATUSES if counts.get(s)
    )
    parts = [
        f'<svg class="stack" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" '
        f'aria-label="{e(label or "no controls")}">'
    ]
    x = 0.0
    if total == 0:
        parts.append(f'<rect width="{width}" height="{height}" rx="3" fill="#f1f5f9"/>')
    for s in CONTROL_STATUSES:
        n = counts.get(s, 0)
        if not n:
            continue
        w = width * n / total
        parts.append(
            f'<rect x="{_num(x)}" y="0" width="{_num(w)}" height="{height}" '
            f'fill="{STATUS_COLOR[s]}"><title>{STATUS_LABEL[s]}: {n}</title></rect>'
        )
        x += w
    parts.append("</svg>")
    return "".join(parts)


def legend() -> str:
    return (
        '<p class="legend">'
        + "".join(
            f'<span><i style="background:{STATUS_COLOR[s]}"></i>{STATUS_LABEL[s]}</span>'
            for s in CONTROL_STATUSES
        )
        + "</p>"
    )


# ---------------------------------------------------------------- sections


def _header(d: ReportData) -> str:
    s = d.scan
    status = s.get("status") or ""
    note = ""
    if status == "partial":
        note = (
            f'<p class="warn">This scan was partial: {e(s.get("errors", 0))} API calls failed, '
            "so some resources or settings could not be read. Findings for them may be "
            "missing; affected checks count as unknown.</p>"
        )
    regions = ", ".join(s.get("regions") or []) or "—"
    rows = [
        ("Account", f"<strong>{e(d.account)}</strong>"),
        ("Account ID", f"<code>{e(d.account_id or '—')}</code>"),
        ("Scan time", e(_when(s.get("finished_at") or s.get("started_at")))),
        ("Scan ID", f"<code>{e(s.get('id'))}</code>"),
        ("Scan status", e(status)),
        ("Regions", e(regions)),
        ("Resources", e(s.get("resources", 0))),
        ("Report generated", e(_when(d.generated_at))),
    ]
    dl = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in rows)
    return (
        '<header id="top"><h1>Stratusec security report</h1>'
        f'<dl class="meta">{dl}</dl>{note}</header>'
    )


def _summary(d: ReportData) -> str:
    counts = d.severity_counts()
    total = sum(counts.values())
    cards = "".join(
        f'<div class="card sev-{sev}"><span class="n" data-severity="{sev}">{counts[sev]}</span>'
        f'<span class="k">{SEV_LABEL[sev]}</span></div>'
        for sev in SEVERITIES
    )
    comp = d.compliance
    if comp:
        score = comp.get("score")
        t = comp.get("totals") or {}
        score_text = "n/a" if score is None else f"{_num(score)}%"
        comp_html = (
            f'<div class="score">{score_ring(score)}<div><h3>Compliance score</h3>'
            f'<p class="big" id="compliance-score">{e(score_text)}</p>'
            f"<p>{e(comp.get('title'))} {e(comp.get('version'))} "
            f"(<code>{e(comp.get('framework'))}</code>)</p>"
            f'<p class="muted">{t.get("pass", 0)} pass · {t.get("fail", 0)} fail · '
            f"{t.get('unknown', 0)} unknown · {t.get('manual', 0)} manual · "
            f"{t.get('not_applicable', 0)} not applicable · "
            f"{t.get('not_collectable', 0)} not collectable</p>"
            '<p class="muted">Score = passed ÷ (passed + failed + unknown) automated '
            "controls; manual and not-collectable controls are listed, not scored.</p>"
            "</div></div>"
        )
    else:
        comp_html = (
            '<div class="score"><p class="muted">No compliance framework evaluated.</p></div>'
        )
    supp = (
        f'<p class="muted">{d.suppressed} suppressed finding{"s" if d.suppressed != 1 else ""} '
        "not shown (see <code>stratusec findings --status suppressed</code>).</p>"
        if d.suppressed
        else ""
    )
    return (
        '<section id="summary"><h2>Summary</h2>'
        f'<div class="summary"><div><h3>Open findings: <span id="open-total">{total}</span></h3>'
        f'<div class="cards">{cards}</div>{supp}'
        f'<figure class="sevchart">{severity_chart(counts)}'
        "<figcaption>Open findings by severity</figcaption></figure></div>"
        f"{comp_html}</div></section>"
    )


def _kv_block(title: str, body: str) -> str:
    return f'<div class="kv"><h4>{e(title)}</h4>{body}</div>'


def _finding_details(f: dict[str, Any], meta: dict[str, Any]) -> str:
    res = f.get("resource") or {}
    tags = res.get("tags") or {}
    tag_html = (
        '<ul class="tags">'
        + "".join(
            f"<li><code>{e(k)}</code>=<code>{e(v)}</code></li>" for k, v in sorted(tags.items())
        )
        + "</ul>"
        if tags
        else '<p class="muted">none</p>'
    )
    evidence = f.get("evidence")
    ev_html = (
        f"<pre>{e(json.dumps(evidence, indent=2, sort_keys=True, default=str))}</pre>"
        if evidence
        else '<p class="muted">none recorded</p>'
    )
    rem = meta.get("remediation") or {}
    rem_parts = [f"<p>{e(rem.get('summary') or '—')}</p>"]
    for key, label in (("cli", "AWS CLI"), ("terraform", "Terraform"), ("console", "Console")):
        if rem.get(key):
            body = f"<pre>{e(rem[key])}</pre>" if key != "console" else f"<p>{e(rem[key])}</p>"
            rem_parts.append(f"<h5>{label}</h5>{body}")
    if rem.get("docs"):
        rem_parts.append(f"<h5>Documentation</h5><p><code>{e(rem['docs'])}</code></p>")
    comp = f.get("compliance") or []
    left = [
        _kv_block(
            "Resource",
            f'<p><code class="uid">{e(res.get("uid"))}</code></p>'
            f"<p>Type <code>{e(res.get('type'))}</code>"
            f" · service <code>{e(f.get('service'))}</code>"
            f" · check <code>{e(f.get('check_id'))}</code></p>",
        ),
        _kv_block("Tags", tag_html),
        _kv_block("Evidence", ev_html),
    ]
    if comp:
        left.append(_kv_block("Compliance", " ".join(f"<code>{e(c)}</code>" for c in comp)))
    left.append(
        _kv_block(
            "History",
            f"<p>First seen {e(_when(f.get('first_seen')))} · last seen "
            f"{e(_when(f.get('last_seen')))} · finding <code>{e(f.get('id'))}</code></p>",
        )
    )
    right = [
        _kv_block(
            "Why it matters", f"<p>{e(meta.get('risk') or meta.get('description') or '—')}</p>"
        ),
        _kv_block("Remediation", "".join(rem_parts)),
    ]
    return f'<div class="dgrid"><div>{"".join(left)}</div><div>{"".join(right)}</div></div>'


def _findings(d: ReportData) -> str:
    if not d.findings:
        return (
            '<section id="findings"><h2>Findings by severity</h2><p>No open findings.</p></section>'
        )
    by_sev: dict[str, list[dict[str, Any]]] = {s: [] for s in SEVERITIES}
    for f in d.findings:
        by_sev.setdefault(f["severity"], []).append(f)
    out = ['<section id="findings"><h2>Findings by severity</h2>']
    out.append(
        '<p class="muted">Open findings of the latest scan. Expand a row for the resource, '
        "its tags, the evidence and how to fix it.</p>"
    )
    for sev, rows in by_sev.items():
        if not rows:
            continue
        rows.sort(
            key=lambda f: (
                (d.checks.get(f["check_id"]) or {}).get("title") or f.get("title") or "",
                (f.get("resource") or {}).get("name") or "",
            )
        )
        label = SEV_LABEL.get(sev, sev.capitalize())
        out.append(
            f'<h3 id="sev-{e(sev)}"><span class="badge sev-{e(sev)}">{e(label)}</span> '
            f"{len(rows)} finding{'s' if len(rows) != 1 else ''}</h3>"
            '<table class="findings"><colgroup><col class="c-sev"><col class="c-check">'
            '<col class="c-res"><col class="c-region"><col class="c-msg"><col class="c-when">'
            "</colgroup><thead><tr><th>Severity</th><th>Check</th>"
            "<th>Resource</th><th>Region</th><th>Message</th><th>First seen</th></tr></thead>"
        )
        for f in rows:
            meta = d.checks.get(f["check_id"]) or {}
            title = meta.get("title") or f.get("title") or f["check_id"]
            res = f.get("resource") or {}
            out.append(
                '<tbody class="finding">'
                f'<tr class="main"><td><span class="badge sev-{e(sev)}">{e(label)}</span></td>'
                f"<td>{e(title)}</td>"
                f'<td class="res">{e(res.get("name"))}</td>'
                f"<td>{e(f.get('region'))}</td>"
                f'<td class="msg">{e(f.get("message"))}</td>'
                f'<td class="when">{e(_when(f.get("first_seen")))}</td></tr>'
                '<tr class="detail"><td colspan="6"><details><summary>Evidence and remediation'
                f"</summary>{_finding_details(f, meta)}</details></td></tr></tbody>"
            )
        out.append("</table>")
    out.append("</section>")
    return "".join(out)


def _compliance(d: ReportData) -> str:
    comp = d.compliance
    if not comp:
        return ""
    controls = comp.get("controls") or []
    sections = comp.get("sections") or {}
    out = [
        '<section id="compliance">'
        f"<h2>Compliance: {e(comp.get('title'))} {e(comp.get('version'))}</h2>"
        '<h3>By section</h3><table class="sections"><thead><tr><th>Section</th>'
        "<th>Controls</th><th>Pass</th><th>Fail</th><th>Unknown</th><th>Manual</th>"
        "<th>N/A</th><th>Breakdown</th></tr></thead><tbody>"
    ]
    for name, counts in sections.items():
        n = sum(counts.values())
        na = counts.get("not_applicable", 0) + counts.get("not_collectable", 0)
        out.append(
            f'<tr><td>{e(name)}</td><td class="num">{n}</td>'
            f'<td class="num">{counts.get("pass", 0)}</td>'
            f'<td class="num">{counts.get("fail", 0)}</td>'
            f'<td class="num">{counts.get("unknown", 0)}</td>'
            f'<td class="num">{counts.get("manual", 0)}</td>'
            f'<td class="num">{na}</td><td>{stacked_bar(counts)}</td></tr>'
        )
    out.append(f"</tbody></table>{legend()}")
    out.append(
        '<h3>Controls</h3><table class="controls"><thead><tr><th>Control</th><th>Title</th>'
        "<th>Status</th><th>Resources pass / fail / unknown</th><th>Checks or reason</th>"
        "</tr></thead><tbody>"
    )
    current = None
    for c in controls:
        if c.get("section") != current:
            current = c.get("section")
            out.append(f'<tr class="section-row"><th colspan="5">{e(current)}</th></tr>')
        status = c.get("status") or "unknown"
        if c.get("checks"):
            why = " ".join(f"<code>{e(x)}</code>" for x in c["checks"])
        else:
            why = f'<span class="muted">{e(c.get("reason") or "")}</span>'
        counts = (
            f"{c.get('pass', 0)} / {c.get('fail', 0)} / {c.get('unknown', 0)}"
            if c.get("checks")
            else "—"
        )
        out.append(
            f"<tr><td><code>{e(c.get('id'))}</code></td><td>{e(c.get('title'))}</td>"
            f'<td><span class="st st-{e(status)}">{e(STATUS_LABEL.get(status, status))}</span></td>'
            f'<td class="num">{counts}</td><td class="why">{why}</td></tr>'
        )
    out.append("</tbody></table></section>")
    return "".join(out)


CSS = """
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#ffffff;--soft:#f8fafc}
*{box-sizing:border-box}
body{margin:0;
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  color:var(--fg);background:var(--bg)}
main{max-width:1200px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:26px;margin:0 0 12px}
h2{font-size:20px;margin:36px 0 12px;padding-bottom:6px;border-bottom:2px solid var(--line)}
h3{font-size:16px;margin:22px 0 8px}
h4{font-size:13px;margin:0 0 4px;color:var(--muted);text-transform:uppercase;
  letter-spacing:.04em}
h5{font-size:12px;margin:8px 0 2px;color:var(--muted)}
p{margin:4px 0}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
  font-size:12px}
code{background:var(--soft);padding:1px 4px;border-radius:3px;word-break:break-word}
pre{background:var(--soft);border:1px solid var(--line);border-radius:4px;padding:8px;
  white-space:pre-wrap;word-break:break-word;margin:4px 0;max-height:360px;overflow:auto}
nav{display:flex;gap:16px;margin:8px 0 0;font-size:13px}
nav a{color:#1d4ed8;text-decoration:none}
.meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:8px 24px;
  margin:0;padding:12px 16px;background:var(--soft);border:1px solid var(--line);
  border-radius:6px}
.meta div{min-width:0}
.meta dt{font-size:11px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.meta dd{margin:0;overflow-wrap:anywhere}
.warn{margin-top:10px;padding:8px 12px;background:#fffbeb;border:1px solid #fcd34d;
  border-radius:6px}
.muted{color:var(--muted)}
.summary{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:24px;
  align-items:start}
.cards{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:8px;margin:8px 0 12px}
.card{border-radius:6px;padding:10px 12px;color:#fff;display:flex;flex-direction:column}
.card .n{font-size:24px;font-weight:700;line-height:1.1}
.card .k{font-size:12px;opacity:.9}
.sev-critical{background:#991b1b}.sev-high{background:#dc2626}.sev-medium{background:#d97706}
.sev-low{background:#2563eb}.sev-info{background:#64748b}
figure{margin:8px 0}
figcaption{font-size:12px;color:var(--muted)}
svg text.lbl{font-size:13px;fill:#334155}
svg text.val{font-size:13px;font-weight:600;fill:#0f172a}
svg text.ringval{font-size:20px;font-weight:700;fill:#0f172a}
svg.ring{flex:none}
.score{display:flex;gap:16px;align-items:center;padding:12px 16px;border:1px solid var(--line);
  border-radius:6px}
.score h3{margin:0}
.score .big{font-size:28px;font-weight:700;margin:2px 0}
table{width:100%;border-collapse:collapse;margin:6px 0 14px;table-layout:auto}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
thead th{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em;
  background:var(--soft);border-bottom:1px solid #cbd5e1}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.findings{table-layout:fixed}
.findings col.c-sev{width:84px}.findings col.c-check{width:21%}.findings col.c-res{width:15%}
.findings col.c-region{width:96px}.findings col.c-when{width:158px}
.findings td.res{font-weight:600;overflow-wrap:anywhere}
.findings td.msg{overflow-wrap:anywhere}
.findings td.when{white-space:nowrap;color:var(--muted);font-size:12px}
.findings tr.main td{border-bottom:none}
.findings tr.detail td{padding-top:0}
.findings tbody.finding:nth-child(even){background:#fcfcfd}
details summary{cursor:pointer;color:#1d4ed8;font-size:12px;padding:2px 0}
details[open] summary{margin-bottom:6px}
details[open]{padding:4px 0 10px}
.dgrid{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:0 24px}
.kv{margin:6px 0 10px;padding-left:10px;border-left:3px solid var(--line)}
.kv p{margin:2px 0}
code.uid{overflow-wrap:anywhere}
ul.tags{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px 10px}
.badge{display:inline-block;color:#fff;border-radius:10px;padding:1px 8px;font-size:11px;
  font-weight:600;white-space:nowrap}
.st{display:inline-block;border-radius:10px;padding:1px 8px;font-size:11px;font-weight:600;
  white-space:nowrap;color:#fff}
.st-pass{background:#16a34a}.st-fail{background:#dc2626}.st-unknown{background:#d97706}
.st-manual{background:#64748b}.st-not_collectable{background:#94a3b8}.st-not_applicable{
  background:#cbd5e1;color:#334155}
tr.section-row th{background:#eef2f7;font-size:13px;text-transform:none;letter-spacing:0;
  color:var(--fg)}
.controls td.why{font-size:12px}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:12px;color:var(--muted);
  margin:0 0 8px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;
  vertical-align:-1px}
footer{margin-top:40px;font-size:12px;color:var(--muted)}
@media (max-width:900px){.summary,.dgrid{grid-template-columns:1fr}.cards{
  grid-template-columns:repeat(3,minmax(0,1fr))}}
@media print{nav{display:none}details summary{color:var(--fg)}pre{max-height:none}}
"""

PAGE = Template(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="$csp">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Stratusec $version">
<title>$title</title>
<style>$css</style>
</head>
<body>
<main>
$header
<nav><a href="#summary">Summary</a><a href="#findings">Findings</a>$nav_compliance</nav>
$summary
$findings
$compliance
<footer>Generated by Stratusec $version at $generated. Self-contained: this file loads nothing
from the network and runs no scripts.</footer>
</main>
</body>
</html>
"""
)


def report_title(d: ReportData) -> str:
    return f"Stratusec report — {d.account}"


def render_html(d: ReportData) -> str:
    """The whole page. Every interpolated value is escaped (``e``) or built here."""
    return PAGE.substitute(
        csp=e(CSP),
        version=e(d.version),
        title=e(report_title(d)),
        css=CSS,
        header=_header(d),
        nav_compliance='<a href="#compliance">Compliance</a>' if d.compliance else "",
        summary=_summary(d),
        findings=_findings(d),
        compliance=_compliance(d),
        generated=e(_when(d.generated_at)),
    )
