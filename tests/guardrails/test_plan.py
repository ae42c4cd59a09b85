"""Terraform plans (``terraform show -json``) as guardrail inputs, and what is not one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stratusec.guardrails import GuardrailEngine, bundled_policies
from stratusec.guardrails.loader import find_policy
from stratusec.guardrails.plan import PlanError, load_plan, parse_plan_text, plan_inputs
from tests.guardrails.conftest import DATA


def test_sample_plan_resources() -> None:
    inputs = {i["resource_uid"]: i for i in load_plan(DATA / "tfplan.json")}
    assert sorted(inputs) == [
        "aws_cloudtrail.main",
        "aws_db_instance.orders",
        "aws_iam_role.app",
        "aws_instance.web",
        "aws_s3_bucket.assets",
        "aws_s3_bucket_public_access_block.assets",
        "module.network.aws_security_group.ssh",
        "module.network.module.flow.aws_vpc.main",  # only in planned_values (nested module)
    ]  # the deleted key and the data source are not there
    db = inputs["aws_db_instance.orders"]
    assert db["resource_type"] == "aws_db_instance"
    assert db["resource_name"] == "orders"
    # provider default_tags arrive through tags_all; tags win over tags_all
    assert db["tags"] == {"Name": "orders-db", "environment": "production"}
    assert db["config"]["storage_encrypted"] is False
    assert db["plan"] == {"address": "aws_db_instance.orders", "actions": ["create"]}
    # resource_changes[].change.after is the source of truth: the update's new values
    role = inputs["aws_iam_role.app"]
    assert "AdministratorAccess" in role["config"]["managed_policy_arns"][0]
    assert role["plan"]["actions"] == ["update"]
    # values Terraform only knows after the apply are absent
    assert "versioning" not in inputs["aws_s3_bucket.assets"]["config"]


def test_same_policy_judges_plan_and_live_shapes() -> None:
    engine = GuardrailEngine(bundled_policies())
    by_uid: dict[str, dict[str, list[str]]] = {}
    for inp in load_plan(DATA / "tfplan.json"):
        for d in engine.evaluate(inp):
            if d.status != "pass":
                by_uid.setdefault(inp["resource_uid"], {})[d.package.rsplit(".", 1)[1]] = list(
                    d.messages
                )
    assert by_uid == {
        "aws_db_instance.orders": {
            "rds_production_encrypted_multi_az": [
                "orders: production database is not encrypted at rest (storage_encrypted is "
                "not true)",
                "orders: production database is not multi-AZ (multi_az is not true)",
            ],
            "rds_storage_encrypted": ["orders: DB instance storage is not encrypted"],
        },
        "aws_s3_bucket_public_access_block.assets": {
            "s3_bucket_public_access_block": [
                "assets: public access block leaves block_public_policy off"
            ]
        },
        "aws_iam_role.app": {
            "iam_role_no_admin_access": ["app: role has AdministratorAccess attached"],
            "iam_role_trust_no_public_principal": [
                "app: trust policy lets any AWS principal assume the role"
            ],
        },
        "aws_instance.web": {
            "ec2_imdsv2_required": [
                "web: instance metadata service v1 is allowed (http_tokens is not required)"
            ]
        },
        "module.network.aws_security_group.ssh": {
            "sg_no_world_remote_admin": ["ssh: SSH (TCP 22) is open to the internet"]
        },
    }


def test_compliant_plan_passes_everything() -> None:
    engine = GuardrailEngine(bundled_policies())
    decisions = engine.evaluate_all(load_plan(DATA / "tfplan-compliant.json"))
    assert decisions and all(d.status == "pass" for d in decisions)
    seed = GuardrailEngine([find_policy("rds_production_encrypted_multi_az")])
    (d,) = seed.evaluate_all(load_plan(DATA / "tfplan-compliant.json"))
    assert (d.resource_uid, d.status) == ("aws_db_instance.orders", "pass")


def test_not_a_plan(tmp_path: Path) -> None:
    bad = tmp_path / "notes.json"
    bad.write_text('{\n  "a": 1,\n  oops\n}\n')
    with pytest.raises(
        PlanError, match=r"notes\.json:3:3: not a Terraform plan: the file is not JSON"
    ):
        load_plan(bad)
    with pytest.raises(PlanError, match="none of format_version, resource_changes, planned_values"):
        parse_plan_text('{"resources": []}', "x.json")
    with pytest.raises(PlanError, match="is Terraform state"):
        parse_plan_text('{"format_version": "1.0", "values": {"root_module": {}}}', "s.json")
    with pytest.raises(PlanError, match="expected a JSON object"):
        parse_plan_text("[1, 2]", "list.json")
    with pytest.raises(PlanError, match="no such plan file"):
        load_plan(tmp_path / "missing.json")
    with pytest.raises(PlanError, match=r"resource_changes\[0\]: needs address, type and name"):
        plan_inputs({"resource_changes": [{"change": {"after": {}}}]}, "p")
    with pytest.raises(PlanError, match="child_modules: expected a list"):
        plan_inputs({"planned_values": {"root_module": {"child_modules": {"a": 1}}}}, "p")


def test_planned_values_alone() -> None:
    doc = json.loads((DATA / "tfplan-compliant.json").read_text())
    del doc["resource_changes"]
    assert [i["resource_uid"] for i in plan_inputs(doc)] == [
        "aws_db_instance.orders",
        "aws_s3_bucket_public_access_block.assets",
        "aws_instance.web",
    ]
