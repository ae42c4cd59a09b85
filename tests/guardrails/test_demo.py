"""The seed policy on the real demo account: "production RDS must be encrypted and
multi-AZ" reports orders-db (us-east-1: storage_encrypted false, multi_az false) failing
both rules and reporting-db (eu-west-1) passing; the same policy passes a compliant plan.
The bundled library runs on the whole demo inventory without an evaluation error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratusec.guardrails import GuardrailEngine, bundled_policies, guardrail_report
from stratusec.guardrails.loader import LIBRARY
from stratusec.guardrails.validate import validate_guardrail
from stratusec.operations.context import Context
from tests.demo_helpers import scanned_demo
from tests.guardrails.conftest import DATA, run_guardrail

pytestmark = pytest.mark.slow
SEED = "rds_production_encrypted_multi_az"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with scanned_demo(tmp_path_factory, "guardrail-demo-home", keep_running=False) as (home, _):
        yield home


@pytest.fixture
def ctx(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Context]:
    monkeypatch.setenv("STRATUSEC_HOME", str(demo_home))
    c = Context.load()
    yield c
    c.close()


def test_seed_policy_against_the_demo_account(ctx: Context) -> None:
    result = validate_guardrail(ctx, policy=SEED, account="acme-prod")
    rows = {(r["resource_name"], r["region"]): r for r in result["resources"]}
    assert set(rows) == {("orders-db", "us-east-1"), ("reporting-db", "eu-west-1")}
    orders = rows[("orders-db", "us-east-1")]
    assert orders["status"] == "deny"
    (decision,) = orders["decisions"]
    assert decision["messages"] == [
        "orders-db: production database is not encrypted at rest (storage_encrypted is not true)",
        "orders-db: production database is not multi-AZ (multi_az is not true)",
    ]
    assert rows[("reporting-db", "eu-west-1")]["status"] == "pass"
    assert result["summary"]["deny"] == 1 and result["summary"]["pass"] == 1


def test_seed_policy_cli_on_account_and_plan(
    demo_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRATUSEC_HOME", str(demo_home))
    r = run_guardrail(capsys, "test", SEED, "--against", "acme-prod")
    assert r.code == 1, r.err
    assert r.out.count("orders-db") >= 2
    assert "not encrypted at rest" in r.out and "not multi-AZ" in r.out
    assert "reporting-db" in r.out
    assert "2 resources judged: 1 denied, 1 passed, 0 errors" in r.out
    r = run_guardrail(capsys, "test", SEED, "--plan", str(DATA / "tfplan-compliant.json"))
    assert r.code == 0, r.out + r.err


def test_draft_policy_and_inline_plan(ctx: Context) -> None:
    draft = (LIBRARY / f"{SEED}.rego").read_text().replace(f"guardrails.{SEED}", "guardrails.draft")
    plan = json.loads((DATA / "tfplan-compliant.json").read_text())
    result = validate_guardrail(ctx, policy_text=draft, plan=plan)
    assert result["summary"]["pass"] == 1 and result["summary"]["deny"] == 0
    assert result["policies"][0]["origin"] == "draft"
    result = validate_guardrail(
        ctx, policy_text=draft, account="acme-prod", resource_names=["orders-db"]
    )
    assert [r["resource_name"] for r in result["resources"]] == ["orders-db"]


def test_bundled_library_on_the_demo(ctx: Context) -> None:
    scan = ctx.store.latest_scan("acme-prod")
    assert scan is not None
    resources = list(ctx.store.iter_resources(scan.id))
    engine = GuardrailEngine(bundled_policies())
    decisions = engine.evaluate_all(resources)
    assert not [d for d in decisions if d.status == "error"]
    denied = {(d.package.rsplit(".", 1)[1], d.resource_name) for d in decisions if d.denied}
    for expected in [
        ("rds_production_encrypted_multi_az", "orders-db"),
        ("sg_no_world_remote_admin", "ssh-open"),
        ("sg_no_world_database_ports", "orders-db"),
        ("lambda_function_url_auth", "order-processor"),
        ("lambda_no_secrets_in_environment", "order-processor"),
        ("s3_bucket_no_public_policy", "acme-public-assets"),
        ("cloudtrail_logging_enabled", "acme-eu"),
        ("ec2_imdsv2_required", "prod-api-server"),
        ("iam_role_no_admin_access", "admin-role"),
    ]:
        assert expected in denied, expected
    assert ("rds_production_encrypted_multi_az", "reporting-db") not in denied
    # as scan-time findings for the active policy
    seed = [p for p in bundled_policies() if p.name == SEED]
    report = guardrail_report(resources, seed)
    fails = [(r.resource_name, r.region) for r in report.failing()]
    assert fails == [("orders-db", "us-east-1")]
