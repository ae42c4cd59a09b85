"""``stratusec guardrail``: list, test (account, plan, unit), lint; exit codes 0 / 1 / 2;
every test and lint audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from stratusec.config import Account, Config, CredentialSource, save
from stratusec.guardrails.loader import LIBRARY
from stratusec.guardrails.store import activate
from stratusec.inventory.models import Resource
from stratusec.operations.context import Context
from stratusec.store.models import AuditRow
from tests.guardrails.conftest import DATA, run_guardrail

SEED = "rds_production_encrypted_multi_az"


def _account_with_scan(home: Path) -> None:
    save(
        Config(
            accounts=[
                Account(
                    name="prod",
                    account_id="123456789012",
                    regions=["us-east-1"],
                    credentials=CredentialSource(source="emulator"),
                    endpoint_url="http://127.0.0.1:9",
                )
            ]
        )
    )
    ctx = Context.load()
    store = ctx.store
    scan = store.start_scan(
        account_name="prod", account_id="123456789012", regions=["us-east-1"], services=["rds"]
    )

    def db(name: str, encrypted: bool, multi_az: bool) -> Resource:
        return Resource(
            uid=f"arn:aws:rds:us-east-1:123456789012:db:{name}",
            account="123456789012",
            region="us-east-1",
            service="rds",
            type="aws_db_instance",
            name=name,
            tags={"environment": "production"},
            config={"storage_encrypted": encrypted, "multi_az": multi_az},
        )

    store.add_resources(scan, [db("orders-db", False, False), db("ok-db", True, True)])
    store.finish_scan(scan, status="succeeded")
    ctx.close()


def _audit(tool: str) -> list[AuditRow]:
    ctx = Context.load()
    try:
        with ctx.store.session() as s:
            return list(s.scalars(select(AuditRow).where(AuditRow.tool == tool)))
    finally:
        ctx.close()


def test_plan_denied_and_compliant(capsys: pytest.CaptureFixture[str]) -> None:
    r = run_guardrail(capsys, "test", SEED, "--plan", str(DATA / "tfplan.json"))
    assert r.code == 1, r.err
    assert "aws_db_instance.orders" in r.out
    assert "production database is not encrypted at rest" in r.out
    assert "production database is not multi-AZ" in r.out
    assert "1 resources judged: 1 denied, 0 passed" in r.out
    r = run_guardrail(
        capsys, "test", SEED, "--plan", str(DATA / "tfplan-compliant.json"), "-o", "json"
    )
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["summary"] == {"resources": 1, "pass": 1, "deny": 0, "error": 0, "not_judged": 2}
    (res,) = doc["resources"]
    assert (res["resource_uid"], res["status"]) == ("aws_db_instance.orders", "pass")
    assert doc["policies"][0]["package"] == f"stratusec.guardrails.{SEED}"
    assert doc["target"] == {"kind": "plan", "plan": str(DATA / "tfplan-compliant.json")}
    records = _audit("guardrail_test")
    assert [(a.outcome, a.arguments.get("policy")) for a in records][-1] == ("ok", SEED)


def test_against_an_account(capsys: pytest.CaptureFixture[str], stratusec_home: Path) -> None:
    _account_with_scan(stratusec_home)
    policy = str(LIBRARY / f"{SEED}.rego")  # a file works as well as a name
    r = run_guardrail(capsys, "test", policy, "--against", "prod", "--output", "json")
    assert r.code == 1, r.err
    doc = json.loads(r.out)
    rows = {x["resource_name"]: x for x in doc["resources"]}
    assert rows["ok-db"]["status"] == "pass"
    assert rows["orders-db"]["status"] == "deny"
    (decision,) = rows["orders-db"]["decisions"]
    assert len(decision["messages"]) == 2
    assert doc["target"]["kind"] == "account" and doc["target"]["account"] == "prod"
    # --resource-type must name a type present in the target
    r = run_guardrail(capsys, "test", SEED, "--against", "prod", "-t", "aws_s3_bucket")
    assert r.code == 2
    assert (
        "no resource of type aws_s3_bucket" in r.err and "types present: aws_db_instance" in r.err
    )
    r = run_guardrail(capsys, "test", "bundled", "--against", "prod", "-t", "aws_db_instance")
    assert r.code == 1
    assert "orders-db" in r.out and "2 resources judged" in r.out


def test_bad_input_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cases = [
        (("test", SEED, "--plan", "README.md"), "not a Terraform plan"),
        (("test", SEED), "exactly one of --against ACCOUNT or --plan FILE"),
        (("test", SEED, "--plan", "x.json", "--against", "a"), "exactly one of"),
        (("test", "--plan", str(DATA / "tfplan.json")), "give POLICY_OR_DIR"),
        (("test", "no_such_policy", "--plan", str(DATA / "tfplan.json")), "known: "),
        (("test", SEED, "--against", "ghost"), "unknown account 'ghost'"),
        (("test", SEED, "--plan", str(DATA / "tfplan.json"), "-o", "yaml"), "valid: table, json"),
        (("test", SEED, "--unit", str(tmp_path)), "--unit PATH runs unit tests on its own"),
        (("lint", str(tmp_path / "missing.rego")), "no such file or directory"),
    ]
    for args, message in cases:
        r = run_guardrail(capsys, *args)
        assert r.code == 2, (args, r)
        assert message in r.err, (args, r.err)
        assert "Traceback" not in r.err
    assert any(a.outcome == "error" for a in _audit("guardrail_test"))


def test_lint(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    r = run_guardrail(capsys, "lint", str(LIBRARY))
    assert r.code == 0, r.out
    assert "50 files: 0 errors, 0 warnings" in r.out or "files: 0 errors, 0 warnings" in r.out
    bad = tmp_path / "bad.rego"
    bad.write_text(
        "# title: t\n# severity: low\n# resource_types: [aws_vpc]\n"
        "package stratusec.guardrails.bad\n\ndeny[msg] {\n\tmsg := 1\n}\n"
    )
    r = run_guardrail(capsys, "lint", str(bad))
    assert r.code == 1
    assert f"{bad}:6:1: error: Rego v0 rule head 'deny[msg] {{ ... }}'" in r.out
    assert "write 'deny contains msg if { ... }'" in r.out
    r = run_guardrail(capsys, "lint", str(bad), "-o", "json")
    doc = json.loads(r.out)
    assert doc["errors"] == 1 and doc["issues"][0]["line"] == 6
    assert _audit("guardrail_lint")


def test_unit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / f"{SEED}.rego").write_text((LIBRARY / f"{SEED}.rego").read_text())
    (tmp_path / f"{SEED}_test.rego").write_text(
        f"package stratusec.guardrails.{SEED}_test\n\n"
        f"import data.stratusec.guardrails.{SEED} as policy\n\n"
        'test_passes if {\n\tcount(policy.deny) == 0 with input as {"resource_type": '
        '"aws_db_instance", "resource_name": "x", "tags": {}, "config": {}}\n}\n\n'
        'test_fails if {\n\tcount(policy.deny) == 5 with input as {"resource_type": '
        '"aws_db_instance", "resource_name": "x", "tags": {"env": "prod"}, "config": {}}\n}\n'
    )
    r = run_guardrail(capsys, "test", "--unit", str(tmp_path))
    assert r.code == 1
    assert "test_passes" in r.out and "test_fails" in r.out
    assert "1 passed, 1 failed" in r.out
    r = run_guardrail(capsys, "test", "--unit", str(tmp_path), "-o", "json")
    doc = json.loads(r.out)
    assert {t["test"]: t["status"] for t in doc["tests"]} == {
        "test_passes": "pass",
        "test_fails": "fail",
    }


def test_list(capsys: pytest.CaptureFixture[str], stratusec_home: Path) -> None:
    user = stratusec_home / "guardrails"
    user.mkdir(parents=True)
    (user / "mine.rego").write_text(
        "# title: Mine\n# severity: low\n# resource_types: [aws_vpc]\n"
        "package stratusec.guardrails.mine\n\n"
        'deny contains msg if {\n\tinput.config.cidr_block == "0.0.0.0/0"\n\tmsg := "wide"\n}\n'
    )
    (user / "broken.rego").write_text("package stratusec.guardrails.broken\n\ndeny[m] { m := 1 }\n")
    ctx = Context.load()
    activate(ctx.store, "mine", "alice", "appr", config=ctx.config)
    ctx.close()
    # a broken user file hides neither the others nor the library
    r = run_guardrail(capsys, "test", "mine", "--plan", str(DATA / "tfplan.json"))
    assert r.code == 0, r.err
    r = run_guardrail(capsys, "test", "broken", "--plan", str(DATA / "tfplan.json"))
    assert r.code == 2 and "broken.rego:3:1: Rego v0 rule head" in r.err
    r = run_guardrail(capsys, "list", "-o", "json")
    assert r.code == 0
    doc = json.loads(r.out)
    rows = {p["name"]: p for p in doc["policies"]}
    assert len([p for p in rows.values() if p["origin"] == "bundled"]) == 50
    assert rows["mine"]["origin"] == "user" and rows["mine"]["active"] is True
    assert doc["user_directory"] == str(user)
    assert [a["package"] for a in doc["active"]] == ["stratusec.guardrails.mine"]
    (problem,) = doc["problems"]
    assert "broken.rego:3:1" in problem
    r = run_guardrail(capsys, "list")
    assert r.code == 0 and "mine" in r.out and SEED in r.out
    assert "not loaded:" in r.err
