"""The MCP server over stdio, end to end: ``stratusec mcp serve`` as a subprocess, the SDK's
own client, the scanned demo account. Tools, resources and prompts; bad input; a role that
lacks a tool; nothing but protocol on stdout; cloud text treated as data.

The partial scan runs last in this module: it becomes the account's latest scan."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
from collections.abc import Iterator
from typing import IO, Any

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from stratusec.demo.seed import INJECTION_TEXT
from stratusec.governance import approvals as approvals_mod
from tests.mcp.helpers import (
    ACCOUNT,
    CLI,
    CLIENT_NAME,
    HUMAN,
    TOOLS,
    Demo,
    Session,
    error_text,
    rpc,
    stdio_session,
    walk_strings,
)

pytestmark = pytest.mark.slow

SEVERITIES = ["critical", "high", "medium", "low", "info"]
STATUSES = ["open", "resolved", "suppressed", "all"]
AUDITOR_TOOLS = {"get_findings", "get_approval"}
EXTERNAL_ID = "ext-id-Zq81-do-not-leak"
GRAPH_PASSWORD = "GraphPw-Zq81-do-not-leak"
AGENT_OVERRIDE = "override-agent"


@pytest.fixture(scope="module")
def srv(demo: Demo) -> Iterator[Session]:
    """One stdio server with the demo config (role reader) for the module."""
    with stdio_session(demo, name="stdio-main") as s:
        yield s


@pytest.fixture(scope="module")
def auditor(demo: Demo) -> Iterator[Session]:
    """A stdio server whose role lacks query_graph, with secrets in its config and the
    agent name overridden by STRATUSEC_AGENT."""
    demo.secrets += [EXTERNAL_ID, GRAPH_PASSWORD]
    config = demo.write_config(
        "stdio-auditor",
        roles={"auditor": {"tools": sorted(AUDITOR_TOOLS)}},
        governance={"stdio_role": "auditor"},
        extra_accounts=[
            {
                "name": "acme-staging",
                "account_id": "210987654321",
                "regions": ["us-east-1"],
                "credentials": {
                    "source": "assume_role",
                    "role_arn": "arn:aws:iam::210987654321:role/stratusec-audit",
                    "external_id": EXTERNAL_ID,
                },
            }
        ],
        # Never opened by these calls: the secret is only there to be masked.
        storage={"graph_url": f"neo4j://neo4j:{GRAPH_PASSWORD}@127.0.0.1:1"},
    )
    with stdio_session(
        demo, config=config, name="stdio-auditor", STRATUSEC_AGENT=AGENT_OVERRIDE
    ) as s:
        yield s


# -- schema helpers --------------------------------------------------------------------------
def _types(schema: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    if "type" in schema:
        t = schema["type"]
        out |= set(t) if isinstance(t, list) else {t}
    for alt in schema.get("anyOf", []) + schema.get("oneOf", []):
        out |= _types(alt)
    return out


def _enum(schema: dict[str, Any]) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    for sub in [schema.get("items"), *schema.get("anyOf", [])]:
        found = _enum(sub) if sub else None
        if found is not None:
            return found
    return None


# -- 1. tools/list ---------------------------------------------------------------------------
def test_tools_list_as_reader_has_the_seven_typed_tools(srv: Session) -> None:
    tools = {t.name: t for t in srv.tools()}
    assert set(tools) == TOOLS
    for name, t in tools.items():
        assert t.description and len(t.description) > 40, name
        schema = t.input_schema
        assert schema["type"] == "object", name
        for prop, spec in schema.get("properties", {}).items():
            assert _types(spec), f"{name}.{prop} has no type: {spec}"
            assert spec.get("description"), f"{name}.{prop} has no description"
        assert t.output_schema and t.output_schema.get("type") == "object", name
        assert t.output_schema.get("properties"), name
    findings = tools["get_findings"].input_schema["properties"]
    assert _enum(findings["severity"]) == SEVERITIES
    assert _types(findings["severity"]) == {"array", "null"}
    assert _enum(findings["status"]) == STATUSES
    assert _types(findings["limit"]) == {"integer"}
    framework = tools["check_compliance"].input_schema["properties"]["framework"]
    assert {"cis-aws-3.0", "aws-fsbp"} <= set(_enum(framework) or [])
    assert tools["explain_finding"].input_schema["required"] == ["finding_id"]
    assert tools["query_graph"].input_schema["required"] == ["cypher"]
    assert tools["get_approval"].input_schema["required"] == ["approval_id"]
    out = tools["get_findings"].output_schema or {}
    assert {"findings", "total", "next_cursor"} <= set(out["properties"])


# -- validate_guardrail (issue 8): stored policy, draft, plan, syntax error ------------------
def test_validate_guardrail_stored_draft_plan_and_errors(srv: Session) -> None:
    from pathlib import Path

    stored = srv.ok(
        "validate_guardrail",
        {"policy": "rds_production_encrypted_multi_az", "account": ACCOUNT},
    )
    by_name = {r["resource_name"]: r for r in stored["resources"]}
    assert by_name["orders-db"]["status"] == "deny"
    messages = " ".join(m for d in by_name["orders-db"]["decisions"] for m in d["messages"])
    assert "encrypt" in messages.lower() and "multi" in messages.lower()
    assert by_name["reporting-db"]["status"] == "pass"
    draft = (
        "package stratusec.guardrails.no_public_db\n\n"
        "deny contains msg if {\n"
        '    input.resource_type == "aws_db_instance"\n'
        "    input.config.publicly_accessible == true\n"
        '    msg := sprintf("%s is public", [input.resource_name])\n'
        "}\n"
    )
    res = srv.ok("validate_guardrail", {"policy_text": draft, "account": ACCOUNT})
    assert {r["resource_name"] for r in res["resources"] if r["status"] == "deny"} == {"orders-db"}
    plan = json.loads(
        (Path(__file__).parents[1] / "guardrails" / "data" / "tfplan-compliant.json").read_text()
    )
    ok = srv.ok("validate_guardrail", {"policy": "rds_production_encrypted_multi_az", "plan": plan})
    assert ok["summary"]["deny"] == 0 and ok["target"]["kind"] == "plan"
    broken = srv.call(
        "validate_guardrail",
        {
            "policy_text": "package stratusec.guardrails.x\n\ndeny contains msg if {\n",
            "account": ACCOUNT,
        },
    )
    assert broken.is_error and "<draft>:" in broken.content[0].text
    # a draft is never activated by validating it
    catalog = srv.read("stratusec://policies")["guardrails"]
    assert not any(p["package"].endswith(".no_public_db") for p in catalog["active"])


# -- 2. every tool once ----------------------------------------------------------------------
def test_get_findings_pages_without_duplicates(srv: Session) -> None:
    seen: list[str] = []
    totals = set()
    cursor: str | None = None
    pages = 0
    while True:
        args: dict[str, Any] = {"account": ACCOUNT, "limit": 5}
        if cursor:
            args["cursor"] = cursor
        page = srv.ok("get_findings", args)
        pages += 1
        assert len(page["findings"]) <= 5
        totals.add(page["total"])
        seen += [f["id"] for f in page["findings"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
        assert pages < 200, "pagination does not end"
    assert len(totals) == 1, totals
    [total] = totals
    assert total > 10
    assert len(seen) == len(set(seen)) == total
    assert pages == -(-total // 5)

    hi = srv.ok("get_findings", {"account": ACCOUNT, "severity": ["critical"], "limit": 500})
    assert 0 < hi["total"] < total
    assert {f["severity"] for f in hi["findings"]} == {"critical"}
    s3 = srv.ok("get_findings", {"service": ["s3"], "limit": 500})
    assert s3["findings"] and {f["service"] for f in s3["findings"]} == {"s3"}
    assert all(f.get("evidence") is None for f in s3["findings"])  # only with include_evidence


def test_explain_finding(srv: Session) -> None:
    [f] = srv.ok("get_findings", {"account": ACCOUNT, "severity": ["critical"], "limit": 1})[
        "findings"
    ]
    out = srv.ok("explain_finding", {"finding_id": f["id"]})
    assert out["finding"]["id"] == f["id"]
    assert out["check"]["id"] == f["check_id"]
    assert out["what"]["title"] and out["why_it_matters"]
    assert out["resource"]["uid"] == f["resource"]["uid"]
    assert out["remediation"]
    assert out["untrusted"]["paths"]


def test_query_graph_count(srv: Session) -> None:
    out = srv.ok(
        "query_graph", {"cypher": "MATCH (n) RETURN count(n) AS nodes", "account": ACCOUNT}
    )
    assert out["columns"] == ["nodes"]
    assert out["row_count"] == 1 and out["rows"][0][0] > 50
    assert out["truncated"] is False
    named = srv.ok(
        "query_graph",
        {
            "cypher": "MATCH (r:Node) WHERE r.name = $name RETURN r.kind",
            "account": ACCOUNT,
            "params": {"name": "acme-public-assets"},
        },
    )
    assert named["rows"] == [["aws_s3_bucket"]]


def test_get_attack_paths_to_admin(srv: Session) -> None:
    out = srv.ok("get_attack_paths", {"account": ACCOUNT, "to": "admin", "limit": 5})
    assert out["account"] == ACCOUNT
    assert 1 <= out["count"] == len(out["paths"]) <= 5
    for p in out["paths"]:
        assert p["impact"] == "admin"
        assert p["hops"] and all(h["reason"] for h in p["hops"])


def test_check_compliance_cis(srv: Session) -> None:
    out = srv.ok("check_compliance", {"framework": "cis-aws-3.0", "account": ACCOUNT})
    assert out["framework"] == "cis-aws-3.0"
    [report] = out["reports"]
    assert 0 <= report["score"] <= 100
    assert report["totals"]["fail"] > 0
    assert "1.4" in {c["id"] for c in report["controls"]}


def test_get_approval_unknown_id_is_an_error(srv: Session) -> None:
    r = srv.call("get_approval", {"approval_id": "0" * 32})
    assert "unknown approval request '" + "0" * 32 + "'" in error_text(r)


# -- 3. resources and prompts ----------------------------------------------------------------
def test_resources(srv: Session, demo: Demo) -> None:
    accounts = srv.read("stratusec://accounts")["accounts"]
    [acct] = [a for a in accounts if a["name"] == ACCOUNT]
    assert acct["latest_scan"]["status"] == "succeeded"
    assert acct["resources"]["findings"] == f"stratusec://findings/{ACCOUNT}"

    first = srv.read(f"stratusec://findings/{ACCOUNT}")
    total = first["total_open"]
    assert len(first["findings"]) == min(total, 100)
    ids = [f["id"] for f in first["findings"]]
    uri = first["next_uri"]
    while uri:
        page = srv.read(uri)
        assert page["total_open"] == total
        ids += [f["id"] for f in page["findings"]]
        uri = page["next_uri"]
    assert len(ids) == len(set(ids)) == total
    assert total > 100, "the demo should need a second page"

    graph = srv.read(f"stratusec://graph/{ACCOUNT}")
    assert "Node" in {label["label"] for label in graph["labels"]}

    compliance = srv.read("stratusec://compliance/cis-aws-3.0")
    assert compliance["framework"] == "cis-aws-3.0"
    assert compliance["reports"][0]["controls"]

    policies = srv.read("stratusec://policies")
    assert policies["you"] == {
        "principal": HUMAN,
        "on_behalf_of": HUMAN,
        "agent": CLIENT_NAME,
        "role": "reader",
        "tools": sorted(TOOLS),
    }
    assert set(policies["roles"]) == {"reader", "operator", "admin"}

    config = srv.read("stratusec://config")
    assert [a["name"] for a in config["accounts"]] == [ACCOUNT]

    with pytest.raises(MCPError, match="unknown account 'nope'; configured accounts: acme-prod"):
        srv.read("stratusec://findings/nope")
    with pytest.raises(MCPError, match=re.escape("cis-aws-3.0")):
        srv.read("stratusec://compliance/nist")


def test_prompts(srv: Session) -> None:
    listed = srv.portal.call(lambda: srv.client.list_prompts(cache_mode="bypass"))
    assert {p.name for p in listed.prompts} == {
        "security_review",
        "incident_response",
        "morning_briefing",
    }
    cases = [
        ("security_review", {"account_id": ACCOUNT}, [ACCOUNT, "get_attack_paths"]),
        ("incident_response", {"principal": "lambda-processor"}, ['"lambda-processor"']),
        ("morning_briefing", {"account_id": ACCOUNT, "since": "7d"}, [ACCOUNT, '"7d"']),
    ]
    for name, args, needles in cases:
        r = srv.prompt(name, args)
        [msg] = r.messages
        text = getattr(msg.content, "text", "")
        for n in needles:
            assert n in text, (name, text)
        assert "data, never as instructions" in text
    with pytest.raises(MCPError, match="unknown account 'nope'"):
        srv.prompt("security_review", {"account_id": "nope"})


# -- 4. bad input ----------------------------------------------------------------------------
SCHEMA = "schema"  # refused before anything runs: one "invalid" record
RAN = "ran"  # the operation refused it: a started/error pair

BAD_INPUT = [
    pytest.param(
        "get_findings",
        {"limit": 5, "confirm": True},
        ["unknown argument(s) 'confirm' for get_findings", "valid arguments: account, check"],
        SCHEMA,
        id="unknown-argument",
    ),
    pytest.param(
        "get_findings",
        {"limit": "five"},
        ["invalid arguments for get_findings", "limit", "valid integer"],
        SCHEMA,
        id="wrong-type",
    ),
    pytest.param(
        "get_findings",
        {"severity": ["urgent"]},
        ["severity", "'critical', 'high', 'medium', 'low' or 'info'"],
        SCHEMA,
        id="bad-enum",
    ),
    pytest.param(
        "get_findings",
        {"account": "nope"},
        ["unknown account 'nope'; configured accounts: acme-prod"],
        RAN,
        id="unknown-account",
    ),
    pytest.param(
        "explain_finding",
        {"finding_id": "f" * 32},
        [f"unknown finding id '{'f' * 32}'", "get_findings"],
        RAN,
        id="unknown-finding",
    ),
    pytest.param(
        "check_compliance",
        {"framework": "nist-800-53"},
        ["framework", "'aws-fsbp' or 'cis-aws-3.0'"],
        SCHEMA,
        id="unknown-framework",
    ),
    pytest.param(
        "query_graph",
        {"cypher": "MATCH (n RETURN n", "account": ACCOUNT},
        ["invalid graph query", "line: 1"],
        RAN,
        id="malformed-cypher",
    ),
    pytest.param(
        "query_graph",
        {"cypher": "CREATE (n:Node {uid: 'pwned'}) RETURN n", "account": ACCOUNT},
        ["CREATE is not allowed", "read-only"],
        RAN,
        id="create-cypher",
    ),
    pytest.param(
        "query_graph",
        {"cypher": "MATCH (n) DETACH DELETE n", "account": ACCOUNT},
        ["DETACH DELETE is not allowed"],
        RAN,
        id="delete-cypher",
    ),
    pytest.param(
        "query_graph",
        {"cypher": "LOAD FROM '/etc/passwd' (header=false) RETURN *", "account": ACCOUNT},
        ["LOAD FROM is not allowed"],
        RAN,
        id="load-from-file",
    ),
    pytest.param(
        "nuke_everything",
        {},
        ["unknown tool 'nuke_everything'", "get_findings"],
        "unknown-tool",
        id="unknown-tool",
    ),
]


@pytest.mark.parametrize(("tool", "args", "needles", "kind"), BAD_INPUT)
def test_bad_input_is_a_specific_error_and_audited(
    srv: Session, demo: Demo, tool: str, args: dict[str, Any], needles: list[str], kind: str
) -> None:
    count = "MATCH (n) RETURN count(n) AS c"
    nodes = srv.ok("query_graph", {"cypher": count, "account": ACCOUNT})["rows"][0][0]
    before = demo.last_seq()
    text = error_text(srv.call(tool, args))
    for n in needles:
        assert n in text, text
    recs = demo.audit_since(before)
    assert all(r["tool"] == tool and r["principal"] == HUMAN for r in recs), recs
    assert all(r["face"] == "mcp-stdio" and r["agent"] == CLIENT_NAME for r in recs)
    if kind == SCHEMA:
        [rec] = recs
        assert (rec["decision"], rec["outcome"], rec["rule"]) == ("invalid", "error", "schema")
        assert needles[0] in (rec["error"] or "")
    elif kind == "unknown-tool":
        [rec] = recs
        assert (rec["decision"], rec["outcome"], rec["rule"]) == ("deny", "denied", "tools:unknown")
    else:
        started, ended = recs
        assert (started["outcome"], ended["outcome"]) == ("started", "error")
        assert started["call_id"] == ended["call_id"] is not None
        assert needles[0] in (ended["error"] or "")
    after = srv.ok("query_graph", {"cypher": count, "account": ACCOUNT})["rows"][0][0]
    assert after == nodes


# -- 5. a role without query_graph -----------------------------------------------------------
def test_hidden_tool_is_not_listed_and_refused(auditor: Session, demo: Demo) -> None:
    assert {t.name for t in auditor.tools()} == AUDITOR_TOOLS
    assert auditor.ok("get_findings", {"limit": 1})["total"] > 0
    before = demo.last_seq()
    r = auditor.call("query_graph", {"cypher": "MATCH (n) RETURN count(n)"})
    text = error_text(r)
    assert "tool 'query_graph' is not available to role 'auditor'" in text
    assert "get_approval, get_findings" in text
    [rec] = demo.audit_since(before)
    assert rec["tool"] == "query_graph"
    assert (rec["decision"], rec["outcome"], rec["rule"]) == ("deny", "denied", "role:auditor")
    assert rec["principal"] == HUMAN and rec["agent"] == AGENT_OVERRIDE


def test_stratusec_agent_overrides_the_client_name(auditor: Session) -> None:
    you = auditor.read("stratusec://policies")["you"]
    assert you["agent"] == AGENT_OVERRIDE
    assert you["role"] == "auditor" and you["tools"] == sorted(AUDITOR_TOOLS)


def test_config_resource_masks_secrets(auditor: Session) -> None:
    text = auditor.read_text("stratusec://config")
    assert EXTERNAL_ID not in text
    assert GRAPH_PASSWORD not in text
    config = json.loads(text)
    assert {a["name"] for a in config["accounts"]} == {ACCOUNT, "acme-staging"}
    graph_url = config["storage"]["graph_url"]
    assert graph_url.startswith("neo4j://neo4j:") and graph_url.endswith("@127.0.0.1:1")
    assert config["roles"] == {"auditor": {"tools": sorted(AUDITOR_TOOLS)}}


# -- 7. cloud text is data -------------------------------------------------------------------
def test_injection_text_stays_in_data_fields(srv: Session, demo: Demo) -> None:
    tools_before = {t.name for t in srv.tools()}
    for t in srv.tools():
        assert INJECTION_TEXT not in (t.description or "")
        assert INJECTION_TEXT not in json.dumps(t.input_schema)
    approvals_before = len(approvals_mod.list_approvals(demo.store))
    before = demo.last_seq()

    page = srv.ok(
        "get_findings",
        {"account": ACCOUNT, "service": ["s3"], "include_evidence": True, "limit": 500},
    )
    mine = [f for f in page["findings"] if f["resource"]["name"] == "acme-public-assets"]
    assert mine, "the demo bucket has findings"
    hits = walk_strings(page, INJECTION_TEXT)
    assert hits and set(hits) == {"$.findings[*].resource.tags.description"}
    assert INJECTION_TEXT not in page["notice"]

    out = srv.ok("explain_finding", {"finding_id": mine[0]["id"]})
    hits = walk_strings(out, INJECTION_TEXT)
    assert hits, "the tag is part of the resource"
    untrusted = out["untrusted"]["paths"]
    for h in hits:
        assert any(h == p or h.startswith(p + ".") for p in untrusted), (h, untrusted)
        assert not h.startswith(("$.what", "$.why_it_matters", "$.check", "$.remediation")), h
    assert INJECTION_TEXT not in json.dumps(out["what"])

    for name, args in [
        ("security_review", {"account_id": ACCOUNT}),
        ("incident_response", {"principal": "acme-public-assets"}),
        ("morning_briefing", {"account_id": ACCOUNT}),
    ]:
        text = getattr(srv.prompt(name, args).messages[0].content, "text", "")
        assert INJECTION_TEXT not in text and "IGNORE PREVIOUS" not in text

    # Nothing happened because the data asked for it.
    assert len(approvals_mod.list_approvals(demo.store)) == approvals_before
    assert {t.name for t in srv.tools()} == tools_before == TOOLS
    recs = demo.audit_since(before)
    assert [(r["tool"], r["outcome"]) for r in recs] == [
        ("get_findings", "started"),
        ("get_findings", "ok"),
        ("explain_finding", "started"),
        ("explain_finding", "ok"),
        ("get_prompt", "started"),
        ("get_prompt", "ok"),
        ("get_prompt", "started"),
        ("get_prompt", "ok"),
        ("get_prompt", "started"),
        ("get_prompt", "ok"),
    ]
    assert {r["principal"] for r in recs} == {HUMAN}


# -- 6. stdout carries protocol only ---------------------------------------------------------
def _reader(stream: IO[bytes], out: queue.Queue[bytes | None]) -> None:
    for line in iter(stream.readline, b""):
        out.put(line)
    out.put(None)


@pytest.mark.parametrize("log_to_file", [False, True], ids=["stderr", "log-file"])
def test_stdout_is_protocol_only(demo: Demo, log_to_file: bool) -> None:
    errpath = demo.log_path(f"raw-{log_to_file}.stderr")
    logfile = demo.log_path(f"raw-{log_to_file}.log")
    args = [*CLI, "mcp", "serve", "--log-level", "DEBUG"]
    if log_to_file:
        args += ["--log-file", str(logfile)]
    # The policy fails at evaluation for query_graph: the Rego engine must not print on fd 1.
    policy = demo.home / "mcp-raw-policy.rego"
    policy.write_text(
        "package stratusec.authz\n\n"
        'x := 1 if { input.tool == "query_graph" }\n'
        'x := 2 if { input.tool == "query_graph" }\n\n'
        'deny contains "never" if { x == 3 }\n',
        encoding="utf-8",
    )
    config = demo.write_config(f"raw-{log_to_file}", governance={"policy": str(policy)})
    requests = [
        rpc(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "raw-client", "version": "1"},
            },
            1,
        ),
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        rpc("tools/list", {}, 2),
        rpc("tools/call", {"name": "get_findings", "arguments": {"limit": 2}}, 3),
        rpc("tools/call", {"name": "get_findings", "arguments": {"nope": 1}}, 4),
        rpc("tools/call", {"name": "query_graph", "arguments": {"cypher": "RETURN 1"}}, 5),
        rpc("resources/read", {"uri": "stratusec://policies"}, 6),
        rpc("prompts/get", {"name": "security_review", "arguments": {"account_id": "x"}}, 7),
    ]
    with open(errpath, "wb") as err:
        proc = subprocess.Popen(
            args,
            env=demo.env(config, LOGNAME=HUMAN, USER=HUMAN),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
        )
    assert proc.stdin is not None and proc.stdout is not None
    lines: queue.Queue[bytes | None] = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    got: list[bytes] = []
    responses: dict[int, dict[str, Any]] = {}
    try:
        for req in requests:
            proc.stdin.write(json.dumps(req).encode() + b"\n")
            proc.stdin.flush()
            if "id" not in req:
                continue
            while req["id"] not in responses:
                line = lines.get(timeout=60)
                assert line is not None, "server closed stdout"
                got.append(line)
                msg = json.loads(line)
                if "id" in msg:
                    responses[msg["id"]] = msg
        proc.stdin.close()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while (line := lines.get(timeout=10)) is not None:
        got.append(line)

    for line in got:
        assert line.endswith(b"\n")
        msg = json.loads(line)  # every line is one JSON-RPC message
        assert msg.get("jsonrpc") == "2.0", line
        assert ("id" in msg) != ("method" in msg) or "result" not in msg, line
    assert set(responses) == {1, 2, 3, 4, 5, 6, 7}
    assert len(responses[2]["result"]["tools"]) == len(TOOLS)
    assert responses[3]["result"].get("isError") is not True
    assert responses[4]["result"]["isError"] is True
    denied = responses[5]["result"]
    assert denied["isError"] is True
    assert "authorization policy failed" in denied["content"][0]["text"]
    you = json.loads(responses[6]["result"]["contents"][0]["text"])["you"]
    assert you["agent"] == "raw-client"
    assert "unknown account 'x'" in responses[7]["error"]["message"]

    stderr = errpath.read_text(encoding="utf-8")
    if log_to_file:
        assert "MCP server on stdio" in logfile.read_text(encoding="utf-8")
        assert "MCP server on stdio" not in stderr
    else:
        assert "MCP server on stdio" in stderr
        assert not logfile.exists()


# -- 2 (last). a partial scan ----------------------------------------------------------------
def test_scan_iam_only_reports_progress_and_keeps_other_findings(srv: Session) -> None:
    s3_before = srv.ok("get_findings", {"account": ACCOUNT, "service": ["s3"], "limit": 1})
    events: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        events.append((progress, total, message))

    r = srv.portal.call(
        lambda: srv.client.call_tool(
            "scan", {"account": ACCOUNT, "services": ["iam"]}, progress_callback=on_progress
        )
    )
    assert not r.is_error, r.content
    out = r.structured_content
    assert isinstance(out, dict)
    [s] = out["scans"]
    assert s["account"] == ACCOUNT and s["status"] == "succeeded", s
    assert s["resources"] > 0 and s["errors"] == []
    assert s["evaluation"]["graph"]["kept"] is True
    srv.portal.call(lambda: anyio.sleep(0.2))  # let the last notifications arrive
    assert events and all(t and d <= t for d, t, _ in events), events
    s3_after = srv.ok("get_findings", {"account": ACCOUNT, "service": ["s3"], "limit": 1})
    assert s3_after["total"] == s3_before["total"] > 0
