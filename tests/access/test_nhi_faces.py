"""Non-human identities through the faces: the config's agent designation reaching the scan's
checks, ``stratusec access identities`` (table, JSON, unknown account, audit) on moto, and
the MCP resource ``stratusec://identities/{account}`` through the SDK client over stdio on
the scanned demo account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
import yaml
from mcp.shared.exceptions import MCPError
from sqlalchemy import select

from stratusec.checks import Inventory
from stratusec.checks.runner import run_checks
from stratusec.cli import app as app_mod
from stratusec.cli.nhi import identities
from stratusec.config import AccessSettings, Account, Config, save
from stratusec.governance.audit import AuditLog
from stratusec.operations.context import Context
from stratusec.operations.nhi import non_human_identities
from stratusec.operations.scan import scan as scan_op
from stratusec.store.models import FindingRow
from tests.cli_helpers import CliResult, run_cli
from tests.demo_helpers import scanned_demo
from tests.mcp.helpers import ACCOUNT as DEMO_ACCOUNT
from tests.mcp.helpers import Demo, stdio_session

TRUST_AWS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _seed(aws: Any) -> dict[str, str]:
    iam = aws("iam")
    iam.create_user(UserName="svc-reporter")  # agent only under the custom pattern
    iam.create_user(UserName="report-bot")  # agent only under the default patterns
    iam.create_user(UserName="helper", Tags=[{"Key": "team:automation", "Value": "yes"}])
    iam.create_user(UserName="old-style", Tags=[{"Key": "stratusec:agent", "Value": "true"}])
    iam.create_user(UserName="deployer")  # programmatic: a key, no console password
    key = iam.create_access_key(UserName="deployer")["AccessKey"]["AccessKeyId"]
    iam.create_role(RoleName="svc-runner", AssumeRolePolicyDocument=json.dumps(TRUST_AWS))
    iam.create_role(RoleName="code-agent", AssumeRolePolicyDocument=json.dumps(TRUST_AWS))
    return {"deployer": key}


def _config(account: Account, **access: Any) -> Context:
    save(Config(accounts=[account], access=AccessSettings(**access)))
    return Context.load()


def _open_findings(ctx: Context, check_id: str) -> set[str]:
    q = select(FindingRow.resource_name).where(
        FindingRow.check_id == check_id, FindingRow.status == "open"
    )
    with ctx.store.session() as s:
        return set(s.scalars(q))


# -- the config reaches the checks ------------------------------------------------------------
def test_direct_check_call_honours_custom_settings() -> None:
    from tests.checks.iam_helpers import role, trust, user

    inv = Inventory(
        [user("svc-reporter"), user("report-bot"), role("svc-runner", trust({"AWS": "*"}))],
        settings={"agent_patterns": ["svc-*"]},
    )
    report = run_checks(inv)
    assert not [c for c in report.errors if c.startswith("nhi_")]
    judged = {
        (r.check_id, r.resource_name) for r in report.results if r.check_id.startswith("nhi_")
    }
    assert ("nhi_user_standing_access_key", "svc-reporter") in judged
    assert ("nhi_agent_role_trust_without_condition", "svc-runner") in judged
    assert not any(name == "report-bot" for _c, name in judged)


def test_scan_uses_configured_agent_patterns(account: Account, aws: Any) -> None:
    _seed(aws)
    ctx = _config(account, agent_patterns=["svc-*"], agent_tag="team:automation")
    try:
        [(outcome, ev)] = scan_op(ctx, account=account.name, services=["iam"])
        assert outcome.status in ("succeeded", "partial") and ev is not None
        assert not {k for k in ev.check_errors if k.startswith("nhi_")}
        # The agent role is judged under the custom pattern; the default-named one is not.
        failing_roles = _open_findings(ctx, "nhi_agent_role_trust_without_condition")
        assert failing_roles == {"svc-runner"}

        rows = {r["name"]: r for r in non_human_identities(ctx, account.name)}
        assert rows["svc-reporter"]["agent"] is True
        assert rows["svc-reporter"]["why"] == "name matches agent pattern 'svc-*'"
        assert rows["helper"]["why"] == "tagged team:automation=yes"
        assert rows["svc-runner"]["agent"] is True and rows["svc-runner"]["findings"]
        assert rows["deployer"]["agent"] is False  # programmatic whatever the patterns
        assert "report-bot" not in rows and "old-style" not in rows
        assert "code-agent" not in rows  # no longer an agent; a plain AWS-trusted role
    finally:
        ctx.close()


def test_scan_defaults_without_config(account: Account, aws: Any) -> None:
    _seed(aws)
    ctx = _config(account)
    try:
        scan_op(ctx, account=account.name, services=["iam"])
        assert _open_findings(ctx, "nhi_agent_role_trust_without_condition") == {"code-agent"}
        rows = {r["name"]: r for r in non_human_identities(ctx, account.name)}
        assert rows["report-bot"]["agent"] is True and rows["old-style"]["agent"] is True
        assert "svc-reporter" not in rows and "helper" not in rows
    finally:
        ctx.close()


# -- the CLI face -------------------------------------------------------------------------------
def _registered(root: typer.Typer) -> bool:
    group: Any = typer.main.get_command(root)
    access = getattr(group, "commands", {}).get("access")
    return "identities" in getattr(access, "commands", {})


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``stratusec access identities ...`` through the real entry point (its error
    handling); a stand-in command tree until cli/access.py registers the command."""
    if not _registered(app_mod.app):
        root = typer.Typer()
        access = typer.Typer()
        access.command("identities")(identities)
        access.command("list")(lambda: None)  # a group, as cli/access.py is
        root.add_typer(access, name="access")
        root.command("version")(lambda: None)
        monkeypatch.setattr(app_mod, "app", root)

    def run(capsys: pytest.CaptureFixture[str], *args: str) -> CliResult:
        return run_cli(capsys, "access", "identities", *args)

    return run


@pytest.fixture
def scanned(account: Account, aws: Any) -> Iterator[dict[str, str]]:
    keys = _seed(aws)
    ctx = _config(account)
    try:
        scan_op(ctx, account=account.name, services=["iam"])
    finally:
        ctx.close()
    yield keys


def test_cli_table(cli: Any, capsys: pytest.CaptureFixture[str], scanned: dict[str, str]) -> None:
    r = cli(capsys, "--account", "test")
    assert r.code == 0, r.err
    assert "Non-human identities of test:" in r.out
    for name in ("deployer", "report-bot", "old-style", "code-agent"):
        assert name in r.out
    assert "svc-reporter" not in r.out  # default patterns
    # cells wrap at the console's width (80 columns under some runners): the key id and
    # its details are checked exactly by the JSON test
    assert "Active" in r.out and "never" in r.out


def test_cli_json_and_audit(
    cli: Any, capsys: pytest.CaptureFixture[str], scanned: dict[str, str]
) -> None:
    r = cli(capsys, "--account", "test", "-o", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["account"] == "test"
    rows = {row["name"]: row for row in data["identities"]}
    dep = rows["deployer"]
    assert dep["kind"] == "user" and dep["why"] == "active access key and no console password"
    [key] = dep["credentials"]
    assert key["access_key_id"] == scanned["deployer"] and key["age_days"] == 0
    assert dep["findings"] and rows["code-agent"]["kind"] == "role"
    assert "SecretAccessKey" not in r.out

    ctx = Context.load()
    try:
        [rec] = AuditLog(ctx.store).list(tool="access_identities", limit=1)
    finally:
        ctx.close()
    assert rec["face"] == "cli" and rec["arguments"] == {"account": "test"}
    assert rec["outcome"] == "ok", rec


def test_cli_unknown_account_and_output(
    cli: Any, capsys: pytest.CaptureFixture[str], scanned: dict[str, str]
) -> None:
    r = cli(capsys, "--account", "nope")
    assert r.code == 2 and r.out == ""
    assert "unknown account 'nope'; configured accounts: test" in r.err
    ctx = Context.load()
    try:
        [rec] = AuditLog(ctx.store).list(tool="access_identities", limit=1)
    finally:
        ctx.close()
    assert rec["arguments"] == {"account": "nope"} and "unknown account" in rec["error"]

    r = cli(capsys, "--account", "test", "-o", "yaml")
    assert r.code == 2 and "unknown output 'yaml'; valid: table, json" in r.err


def test_cli_not_scanned(cli: Any, capsys: pytest.CaptureFixture[str], account: Account) -> None:
    _config(account).close()
    r = cli(capsys, "--account", "test")
    assert r.code == 2 and "has not been scanned yet" in r.err


# -- the MCP face -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with scanned_demo(tmp_path_factory, "nhi-demo-home", keep_running=False) as (home, _):
        base = yaml.safe_load((home / "config.yaml").read_text(encoding="utf-8"))
        d = Demo(home=home, base=base)
        try:
            yield d
        finally:
            d.close()


def _config_with_access(demo: Demo, name: str, access: dict[str, Any]) -> Path:
    path = demo.write_config(name)
    cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    cfg["access"] = {**(cfg.get("access") or {}), **access}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_mcp_identities_resource(demo: Demo) -> None:
    seq = demo.last_seq()
    with stdio_session(demo, name="stdio-nhi") as s:
        [acct] = s.read("stratusec://accounts")["accounts"]
        uri = f"stratusec://identities/{DEMO_ACCOUNT}"
        assert acct["resources"]["identities"] == uri

        data = s.read(uri)
        assert data["account"] == DEMO_ACCOUNT and "never follow" in data["notice"]
        rows = {r["name"]: r for r in data["identities"]}
        assert data["count"] == len(data["identities"])
        ci = rows["ci-deployer"]
        assert ci["agent"] is True and ci["why"] == "name matches agent pattern 'ci-*'"
        assert ci["credentials"] and ci["credentials"][0]["status"] == "Active"
        assert ci["findings"], "its standing key is an open finding"
        assert rows["lambda-processor"]["kind"] == "role"
        assert "bob" not in rows  # a console user without keys
        assert "SecretAccessKey" not in json.dumps(data)

        templates = s.portal.call(
            lambda: s.client.list_resource_templates(cache_mode="bypass")
        ).resource_templates
        assert "stratusec://identities/{account}" in {t.uri_template for t in templates}

        with pytest.raises(MCPError, match="unknown account 'nope'; configured accounts"):
            s.read("stratusec://identities/nope")

    reads = [
        (r["arguments"]["uri"], r["outcome"])
        for r in demo.audit_since(seq)
        if r["tool"] == "read_resource" and "identities/" in r["arguments"].get("uri", "")
    ]
    assert reads == [
        (uri, "started"),
        (uri, "ok"),
        ("stratusec://identities/nope", "started"),
        ("stratusec://identities/nope", "error"),
    ]


@pytest.mark.slow
def test_mcp_identities_honour_config(demo: Demo) -> None:
    config = _config_with_access(demo, "nhi-custom", {"agent_patterns": ["data-pipeline-*"]})
    with stdio_session(demo, config=config, name="stdio-nhi-custom") as s:
        rows = {
            r["name"]: r for r in s.read(f"stratusec://identities/{DEMO_ACCOUNT}")["identities"]
        }
    assert rows["data-pipeline-role"]["agent"] is True
    assert rows["data-pipeline-role"]["why"] == "name matches agent pattern 'data-pipeline-*'"
    # The custom list replaces the defaults: ci-deployer is listed for its key, not its name.
    assert rows["ci-deployer"]["agent"] is False
