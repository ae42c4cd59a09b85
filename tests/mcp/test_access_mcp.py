"""request_access through the MCP face, end to end on the scanned demo, with the real SDK
client over stdio (the OS user "alice", role operator) and Streamable HTTP (a token with
role operator acting for "alice"): the read level is granted at once (with the
evaluator's proof) and the human fetches the AssumeRole session at the CLI, once; the write
level waits for a different human; over-long requests, readers, revoked tokens and revoked
grants get nothing; the grant is bound to its audit records in explain_finding and in the
audit export. The agent never sees a secret unless access.secrets_to_agent says so."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx2
import pytest
import yaml
from mcp_types import CallToolResult
from sqlalchemy import select

from stratusec.governance import approvals as approvals_mod
from stratusec.store.models import AccessGrantRow
from tests.cli_helpers import CliResult, run_cli
from tests.issued_secrets import record_credentials
from tests.mcp.helpers import (
    ACCOUNT,
    CLIENT_NAME,
    HUMAN,
    Demo,
    HttpServer,
    Session,
    error_text,
    http_server,
    http_session,
    rpc,
    stdio_session,
)

pytestmark = pytest.mark.slow

READ = "s3-read:acme-customer-data"
WRITE = "s3-write:acme-customer-data"
BUCKET = "acme-customer-data"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
TARGET_ROLE = "jit-data-access"
APPROVER = "bob"
HTTP_AGENT = "access-agent"
OP_TOKEN = "agent-access-op"
#: What a result must never carry unless access.secrets_to_agent is on.
SECRET_FIELDS = ("AccessKeyId", "SecretAccessKey", "SessionToken")
ACCEPT = "application/json, text/event-stream"


@dataclass
class Face:
    """One connected agent and who its grants belong to."""

    name: str
    session: Session
    requester: str
    on_behalf_of: str
    agent: str

    def request(self, level: str, duration: str = "20m", **extra: Any) -> CallToolResult:
        args = {"level": level, "reason": f"{self.name}: ticket work on {BUCKET}"}
        args.update(duration=duration, **extra)
        return self.session.call("request_access", args)


@dataclass
class Http:
    server: HttpServer
    tokens: dict[str, str]


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def op_config(demo: Demo) -> Path:
    return demo.write_config("access-operator", governance={"stdio_role": "operator"})


def _access_config(demo: Demo, name: str, **access: Any) -> Path:
    """The operator config with these ``access`` settings changed."""
    cfg = copy.deepcopy(demo.base)
    cfg.setdefault("governance", {})["stdio_role"] = "operator"
    cfg.setdefault("access", {}).update(access)
    path = demo.home / "configs" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stdio_face(demo: Demo, op_config: Path) -> Iterator[Face]:
    with stdio_session(demo, config=op_config, name="stdio-access") as s:
        yield Face("stdio", s, requester=HUMAN, on_behalf_of=HUMAN, agent=CLIENT_NAME)


@pytest.fixture(scope="module")
def http(demo: Demo, op_config: Path) -> Iterator[Http]:
    tokens = {
        "operator": demo.create_token(OP_TOKEN, "operator", HUMAN, op_config),
        "reader": demo.create_token("agent-access-reader", "reader", "carol", op_config),
        "revoked": demo.create_token("agent-access-revoked", "operator", HUMAN, op_config),
    }
    proc = demo.cli("token", "revoke", "agent-access-revoked", config=op_config)
    assert proc.returncode == 0, proc.stderr
    with http_server(demo, op_config, name="http-access") as server:
        yield Http(server, tokens)


@pytest.fixture(scope="module")
def http_face(http: Http) -> Iterator[Face]:
    with http_session(http.server.url, http.tokens["operator"], client_name=HTTP_AGENT) as s:
        yield Face("http", s, requester=f"token:{OP_TOKEN}", on_behalf_of=HUMAN, agent=HTTP_AGENT)


@pytest.fixture(params=["stdio", "http"])
def face(request: pytest.FixtureRequest) -> Face:
    return request.getfixturevalue(f"{request.param}_face")


@pytest.fixture
def human_cli(
    demo: Demo, op_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    """``human_cli(user, *args)``: the real CLI in this process (so the delivery is seen by
    the issued-secrets scan) as that OS user, on the demo home and the operator config."""

    def run(user: str, *args: str) -> CliResult:
        monkeypatch.setenv("STRATUSEC_HOME", str(demo.home))
        monkeypatch.setenv("STRATUSEC_CONFIG", str(op_config))
        monkeypatch.setenv("LOGNAME", user)
        monkeypatch.setenv("USER", user)
        return run_cli(capsys, *args)

    return run


# -- helpers --------------------------------------------------------------------------------------
def _texts(r: CallToolResult) -> str:
    return "\n".join(getattr(c, "text", "") for c in r.content)


def _grants(demo: Demo) -> dict[str, AccessGrantRow]:
    with demo.store.session() as s:
        return {g.id: g for g in s.scalars(select(AccessGrantRow))}


def _grant(demo: Demo, grant_id: str) -> AccessGrantRow:
    return _grants(demo)[grant_id]


def _demo_account(demo: Demo) -> dict[str, Any]:
    [acct] = [a for a in demo.base["accounts"] if a["name"] == ACCOUNT]
    return acct


def _whoami(demo: Demo, creds: dict[str, Any]) -> dict[str, Any]:
    """The caller identity of these credentials on the demo endpoint (and that they read
    the bucket)."""
    acct = _demo_account(demo)
    kw = {
        "region_name": "us-east-1",
        "endpoint_url": acct["endpoint_url"],
        "aws_access_key_id": creds["AccessKeyId"],
        "aws_secret_access_key": creds["SecretAccessKey"],
        "aws_session_token": creds["SessionToken"],
    }
    ident = boto3.client("sts", **kw).get_caller_identity()
    boto3.client("s3", **kw).list_objects_v2(Bucket=BUCKET, MaxKeys=1)
    return ident


def _assert_session_of(demo: Demo, creds: dict[str, Any], grant_id: str) -> None:
    assert creds["Version"] == 1 and creds["Expiration"]
    ident = _whoami(demo, creds)
    account_id = _demo_account(demo)["account_id"]
    assert ident["Account"] == account_id
    assert ident["Arn"] == (
        f"arn:aws:sts::{account_id}:assumed-role/{TARGET_ROLE}/stx-{grant_id[:16]}"
    )


def _assert_no_secret(r: CallToolResult) -> None:
    text = _texts(r) + json.dumps(r.structured_content)
    for key in SECRET_FIELDS:
        assert key not in text, key


def _assert_auto_granted(face: Face, r: CallToolResult, seconds: int = 1200) -> dict[str, Any]:
    assert not r.is_error, _texts(r)
    grant = r.structured_content
    assert isinstance(grant, dict), _texts(r)
    gid = grant["grant_id"]
    assert grant["status"] == "granted" and grant["level"] == READ
    assert grant["rule"] == f"access:level:{READ}:auto_grant"
    assert grant["approval_id"] is None
    assert grant["proof"]["ok"] is True and grant["proof"]["session_allows_outside"] == []
    assert (grant["requester"], grant["on_behalf_of"], grant["agent"]) == (
        face.requester,
        face.on_behalf_of,
        face.agent,
    )
    assert grant["seconds"] == seconds and grant["account"] == ACCOUNT
    assert grant["target"].endswith(f":role/{TARGET_ROLE}")
    assert f"stratusec access credentials {gid}" in grant["how_to_fetch"]
    assert "never sent through this conversation" in grant["how_to_fetch"]
    assert "credentials" not in grant and grant["delivered_at"] is None
    _assert_no_secret(r)
    return grant


# -- auto-granted, then the human fetches once ---------------------------------------------------
def test_auto_granted_then_the_human_fetches_once(face: Face, demo: Demo, human_cli: Any) -> None:
    assert "request_access" in {t.name for t in face.session.tools()}
    before = demo.last_seq()
    r = face.request(READ)
    grant = _assert_auto_granted(face, r)
    gid = grant["grant_id"]
    recs = demo.audit_since(before)
    assert [(x["tool"], x["outcome"]) for x in recs] == [
        ("request_access", "started"),
        ("request_access", "ok"),
    ]
    assert recs[0]["decision"] == "allow" and recs[0]["rule"] == grant["rule"]
    assert recs[0]["call_id"] == recs[1]["call_id"] == grant["audit_call_id"]
    for x in recs:
        assert (x["principal"], x["on_behalf_of"]) == (face.requester, face.on_behalf_of)
    assert _grant(demo, gid).status == "granted"

    # Nobody else may fetch them.
    other = human_cli("mallory", "access", "credentials", gid)
    assert other.code == 2 and f"grant {gid} belongs to {face.requester}" in other.err
    assert other.out == "" and _grant(demo, gid).status == "granted"

    # The human fetches them at the CLI: credential_process JSON for the AssumeRole session.
    first = human_cli(HUMAN, "access", "credentials", gid)
    assert first.code == 0, first.err
    creds = json.loads(first.out)
    _assert_session_of(demo, creds, gid)
    row = _grant(demo, gid)
    assert row.status == "delivered" and row.delivered_call_id
    assert row.key_fingerprint and row.key_fingerprint.startswith("sha256:")
    assert creds["AccessKeyId"] not in row.key_fingerprint

    again = human_cli(HUMAN, "access", "credentials", gid)
    assert again.code == 2 and "credentials are delivered once" in again.err
    assert again.out == ""


# -- approval by a different human ---------------------------------------------------------------
def test_write_level_waits_for_a_different_human(
    face: Face, demo: Demo, op_config: Path, human_cli: Any
) -> None:
    before = demo.last_seq()
    r = face.request(WRITE)
    text = error_text(r)
    pending = r.structured_content
    assert isinstance(pending, dict), text
    assert pending["status"] == "pending_approval" and pending["tool"] == "request_access"
    assert pending["rule"] == f"access:level:{WRITE}:approval"
    approval_id = str(pending["approval_id"])
    assert approval_id in text
    _assert_no_secret(r)
    [rec] = demo.audit_since(before)
    assert (rec["decision"], rec["outcome"], rec["approval_id"]) == (
        "require_approval",
        "pending",
        approval_id,
    )
    assert not [g for g in _grants(demo).values() if g.approval_id == approval_id]

    # Neither the requester nor the human the agent acts for may approve it.
    for me in {face.requester, face.on_behalf_of}:
        with pytest.raises(approvals_mod.SelfApprovalError, match="a different human"):
            approvals_mod.decide(demo.store, approval_id, approver=me, approve=True, reason="x")
    own = demo.cli("access", "approve", approval_id, config=op_config, user=HUMAN)
    assert own.returncode == 2, own.stdout + own.stderr
    assert f"'{HUMAN}' cannot approve request {approval_id}" in own.stderr
    status = face.session.ok("get_approval", {"approval_id": approval_id})
    assert status["status"] == "pending" and status["result"] is None

    ok = demo.cli(
        "access", "approve", approval_id, "--reason", "change 42", config=op_config,
        user=APPROVER,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr

    done = face.session.ok("get_approval", {"approval_id": approval_id})
    assert done["status"] == "executed" and done["decided_by"] == APPROVER
    grant = done["result"]
    assert isinstance(grant, dict), done
    gid = grant["grant_id"]
    assert grant["status"] == "granted" and grant["level"] == WRITE
    assert grant["approval_id"] == approval_id
    assert grant["rule"] == f"access:level:{WRITE}:approval:{approval_id}"
    assert grant["proof"]["ok"] is True
    assert grant["requester"] == face.requester and grant["on_behalf_of"] == face.on_behalf_of
    assert "credentials" not in grant
    for key in SECRET_FIELDS:
        assert key not in json.dumps(done), key

    again = face.session.ok("get_approval", {"approval_id": approval_id})
    assert again["status"] == "executed"
    made = [g for g in _grants(demo).values() if g.approval_id == approval_id]
    assert [g.id for g in made] == [gid], "get_approval must run the approved request once"
    runs = [x for x in demo.audit_since(before) if x["tool"] == "request_access"]
    assert [x["outcome"] for x in runs] == ["pending", "started", "ok"]
    assert runs[1]["rule"] == f"approval:{approval_id}"
    assert runs[2]["call_id"] == grant["audit_call_id"]

    fetched = human_cli(HUMAN, "access", "credentials", gid)
    assert fetched.code == 0, fetched.err
    _assert_session_of(demo, json.loads(fetched.out), gid)


# -- an over-long request ------------------------------------------------------------------------
def test_over_long_duration_is_refused_and_audited(face: Face, demo: Demo) -> None:
    grants = set(_grants(demo))
    before = demo.last_seq()
    text = error_text(face.request(READ, duration="2h"))
    assert f"duration 7200 s is over the maximum of 3600 s for level {READ}" in text
    assert set(_grants(demo)) == grants, "no grant may be stored"
    [rec] = demo.audit_since(before)
    assert (rec["tool"], rec["decision"], rec["outcome"]) == ("request_access", "invalid", "error")
    assert rec["rule"] == "invalid:request_access" and "3600 s" in rec["error"]
    assert rec["principal"] == face.requester


# -- a revoked grant -----------------------------------------------------------------------------
def test_revoked_grant_is_listed_and_delivers_nothing(
    stdio_face: Face, demo: Demo, human_cli: Any
) -> None:
    gid = _assert_auto_granted(stdio_face, stdio_face.request(READ))["grant_id"]
    revoked = human_cli(HUMAN, "access", "revoke", gid, "--reason", "done early")
    assert revoked.code == 0, revoked.err
    out = json.loads(revoked.out)
    assert (out["status"], out["revoked_by"], out["revoke_reason"]) == (
        "revoked",
        HUMAN,
        "done early",
    )
    listed = human_cli(HUMAN, "access", "list", "--output", "json")
    assert listed.code == 0, listed.err
    [shown] = [g for g in json.loads(listed.out)["grants"] if g["grant_id"] == gid]
    assert shown["status"] == "revoked" and shown["revoked_call_id"]
    creds = human_cli(HUMAN, "access", "credentials", gid)
    assert creds.code == 2 and f"grant {gid} is revoked" in creds.err
    assert creds.out == ""
    row = _grant(demo, gid)
    assert row.status == "revoked" and row.delivered_at is None and row.key_fingerprint is None


# -- a revoked token -----------------------------------------------------------------------------
def test_revoked_token_gets_401_and_nothing_is_granted(http: Http, demo: Demo) -> None:
    grants = set(_grants(demo))
    before = demo.last_seq()
    body = rpc(
        "tools/call",
        {"name": "request_access", "arguments": {"level": READ, "reason": "let me in"}},
    )
    for token in (http.tokens["revoked"], "stx_" + "B" * 43):
        r = httpx2.post(
            http.server.url,
            json=body,
            headers={
                "Accept": ACCEPT,
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
            },
            timeout=10,
        )
        assert r.status_code == 401, (r.status_code, r.text)
        assert r.headers.get("www-authenticate", "").startswith("Bearer")
    assert demo.last_seq() == before, "a refused request must not reach the gate"
    assert set(_grants(demo)) == grants


# -- a reader ------------------------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_reader_never_sees_request_access(transport: str, demo: Demo, http: Http) -> None:
    grants = set(_grants(demo))
    with (
        stdio_session(demo, name="stdio-access-reader")
        if transport == "stdio"
        else http_session(http.server.url, http.tokens["reader"])
    ) as s:
        names = {t.name for t in s.tools()}
        assert "request_access" not in names and "get_findings" in names
        before = demo.last_seq()
        text = error_text(s.call("request_access", {"level": READ, "reason": "please"}))
    assert "tool 'request_access' is not available to role 'reader'" in text
    [rec] = demo.audit_since(before)
    assert (rec["tool"], rec["decision"], rec["outcome"]) == ("request_access", "deny", "denied")
    assert rec["rule"] == "role:reader"
    assert rec["principal"] == (HUMAN if transport == "stdio" else "token:agent-access-reader")
    assert set(_grants(demo)) == grants


# -- access.secrets_to_agent ---------------------------------------------------------------------
def test_secrets_to_agent_delivers_once_in_the_result(demo: Demo, human_cli: Any) -> None:
    config = _access_config(demo, "access-secrets-to-agent", secrets_to_agent=True)
    before = demo.last_seq()
    with stdio_session(demo, config=config, name="stdio-access-secrets") as s:
        face = Face("stdio", s, requester=HUMAN, on_behalf_of=HUMAN, agent=CLIENT_NAME)
        r = face.request(READ)
        assert not r.is_error, _texts(r)
        grant = r.structured_content
        assert isinstance(grant, dict)
        creds = grant["credentials"]
        record_credentials(creds)  # made in the server process: the session scan watches them
    gid = grant["grant_id"]
    assert grant["how_to_fetch"] == "delivered in this result (access.secrets_to_agent)"
    assert set(SECRET_FIELDS) <= set(creds)
    _assert_session_of(demo, creds, gid)
    row = _grant(demo, gid)
    assert row.status == "delivered" and row.delivered_call_id == grant["audit_call_id"]
    # Once: the human cannot fetch them again.
    again = human_cli(HUMAN, "access", "credentials", gid)
    assert again.code == 2 and "credentials are delivered once" in again.err
    # Not recorded with the call.
    recs = json.dumps(demo.audit_since(before))
    for key in ("SecretAccessKey", "SessionToken"):
        assert creds[key] not in recs


def test_a_debug_log_holds_no_secret_delivered_to_the_agent(demo: Demo) -> None:
    """At --log-level DEBUG botocore would log AssumeRole's response (the credentials): the
    server keeps the AWS libraries at WARNING. (The session-wide scan reads this log too.)"""
    config = _access_config(demo, "access-secrets-debug", secrets_to_agent=True)
    log = demo.log_path("stdio-access-debug.log")
    args = ("--log-level", "DEBUG", "--log-file", str(log))
    with stdio_session(demo, config=config, name="stdio-access-debug", args=args) as s:
        r = s.call("request_access", {"level": READ, "reason": "debugging", "duration": "20m"})
        assert not r.is_error, _texts(r)
        grant = r.structured_content
        assert isinstance(grant, dict)
        creds = grant["credentials"]
        record_credentials(creds)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert " DEBUG " in text, "the server logged at DEBUG"
    leaked = [k for k in ("SecretAccessKey", "SessionToken") if creds[k] in text]
    assert not leaked, f"issued {', '.join(leaked)} in the DEBUG log"


# -- the binding chain -----------------------------------------------------------------------------
def _bucket_finding(s: Session) -> dict[str, Any]:
    page = s.ok("get_findings", {"account": ACCOUNT, "service": ["s3"], "limit": 500})
    hits = [f for f in page["findings"] if f["resource"]["uid"] == BUCKET_ARN]
    assert hits, f"no open finding on {BUCKET_ARN}"
    return hits[0]


def test_explain_finding_shows_the_grant_chain(http_face: Face, demo: Demo, human_cli: Any) -> None:
    grant = _assert_auto_granted(http_face, http_face.request(READ))
    gid = grant["grant_id"]
    fetched = human_cli(HUMAN, "access", "credentials", gid)
    assert fetched.code == 0, fetched.err
    revoked = human_cli(HUMAN, "access", "revoke", gid, "--reason", "finished")
    assert revoked.code == 0, revoked.err

    finding = _bucket_finding(http_face.session)
    exp = http_face.session.ok("explain_finding", {"finding_id": finding["id"]})
    chains = {c["grant_id"]: c for c in exp["access_grants"]}
    assert gid in chains, sorted(chains)
    chain = chains[gid]
    assert chain["status"] == "revoked"
    assert (chain["requester"], chain["on_behalf_of"], chain["agent"]) == (
        f"token:{OP_TOKEN}",
        HUMAN,
        HTTP_AGENT,
    )
    assert chain["rule"] == f"access:level:{READ}:auto_grant" and chain["approval"] is None
    req = chain["request"]
    assert req["level"] == READ and req["seconds"] == 1200
    assert BUCKET_ARN in req["scope"]["resources"]
    assert [(a["tool"], a["outcome"]) for a in req["audit"]] == [
        ("request_access", "started"),
        ("request_access", "ok"),
    ]
    assert {a["call_id"] for a in req["audit"]} == {grant["audit_call_id"]}
    assert {a["principal"] for a in req["audit"]} == {f"token:{OP_TOKEN}"}
    assert chain["proof"]["ok"] is True and chain["proof"]["granted_pairs"]
    delivery = chain["delivery"]
    assert delivery["at"] and delivery["key_fingerprint"].startswith("sha256:")
    assert [a["tool"] for a in delivery["audit"]] == ["access_credentials"] * 2
    assert {a["principal"] for a in delivery["audit"]} == {HUMAN}
    rev = chain["revocation"]
    assert (rev["by"], rev["reason"]) == (HUMAN, "finished") and rev["at"]
    assert [a["tool"] for a in rev["audit"]] == ["access_revoke"] * 2
    assert "SecretAccessKey" not in json.dumps(exp)


def test_audit_export_binds_the_request_to_its_grant(stdio_face: Face, demo: Demo) -> None:
    grant = _assert_auto_granted(stdio_face, stdio_face.request(READ))
    gid = grant["grant_id"]
    proc = demo.cli("audit", "export", "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    docs = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    mine = [d for d in docs if d.get("call_id") == grant["audit_call_id"]]
    assert [(d["tool"], d["outcome"]) for d in mine] == [
        ("request_access", "started"),
        ("request_access", "ok"),
    ]
    started, ok = mine
    assert "stratusec_context" not in started
    bound = ok["stratusec_context"]["access_grant"]
    assert bound["grant_id"] == gid and bound["rule"] == grant["rule"]
    assert bound["requester"] == HUMAN and bound["proof"]["ok"] is True
    assert [a["call_id"] for a in bound["request"]["audit"]] == [grant["audit_call_id"]] * 2
    tagged = [
        d
        for d in docs
        if d.get("stratusec_context", {}).get("access_grant", {}).get("grant_id") == gid
    ]
    assert tagged == [ok]
