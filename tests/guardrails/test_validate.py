"""validate_guardrail: a stored policy or a draft against a plan or an account; drafts are
never activated, paths are never read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from stratusec.errors import NotFoundError, StratusecError
from stratusec.guardrails import GuardrailError
from stratusec.guardrails.loader import LIBRARY
from stratusec.guardrails.plan import PlanError
from stratusec.guardrails.store import activate, list_activations
from stratusec.guardrails.validate import validate_guardrail
from stratusec.operations.context import Context
from tests.guardrails.conftest import DATA

SEED = "rds_production_encrypted_multi_az"
PLAN = json.loads((DATA / "tfplan.json").read_text())


@pytest.fixture
def ctx(stratusec_home: Path) -> Iterator[Context]:
    c = Context.load()
    yield c
    c.close()


def test_stored_policy_against_a_plan(ctx: Context) -> None:
    result = validate_guardrail(ctx, policy=SEED, plan=PLAN)
    (row,) = result["resources"]
    assert row["resource_uid"] == "aws_db_instance.orders" and row["status"] == "deny"
    assert result["target"] == {"kind": "plan", "plan": "(inline JSON)"}
    # the plan as text works too, and resource filters apply
    text = json.dumps(PLAN)
    bundled = validate_guardrail(
        ctx, policy=f"stratusec.guardrails.{SEED}", plan=text, resource_types=["aws_db_instance"]
    )
    assert bundled["summary"]["deny"] == 1


def test_draft_is_compiled_for_the_call_only(ctx: Context) -> None:
    draft = (LIBRARY / f"{SEED}.rego").read_text().replace(SEED, "my_draft")
    result = validate_guardrail(ctx, policy_text=draft, plan=PLAN)
    assert result["policies"][0]["package"] == "stratusec.guardrails.my_draft"
    assert result["policies"][0]["origin"] == "draft"
    assert result["summary"]["deny"] == 1
    assert list_activations(ctx.store) == []
    broken = draft.replace("lib.production(input.tags)\n", "lib.production(input.tags\n", 1)
    with pytest.raises(GuardrailError, match=r"^<draft>:\d+:\d+: does not parse"):
        validate_guardrail(ctx, policy_text=broken, plan=PLAN)
    v0 = draft.replace("deny contains msg if {", "deny[msg] {", 1)
    with pytest.raises(GuardrailError, match=r"^<draft>:11:1: Rego v0 rule head"):
        validate_guardrail(ctx, policy_text=v0, plan=PLAN)


def test_the_active_source_is_what_a_name_means(ctx: Context, stratusec_home: Path) -> None:
    user = stratusec_home / "guardrails"
    user.mkdir(parents=True)
    f = user / "mine.rego"
    f.write_text(
        "# title: Mine\n# severity: low\n# resource_types: [aws_instance]\n"
        "package stratusec.guardrails.mine\n\n"
        'deny contains msg if {\n\tinput.config.instance_type == "t3.micro"\n\tmsg := "micro"\n}\n'
    )
    activate(ctx.store, "mine", "alice", "appr", config=ctx.config)
    f.write_text(f.read_text().replace('"t3.micro"', '"m5.large"'))
    result = validate_guardrail(ctx, policy="mine", plan=PLAN)
    assert result["summary"]["deny"] == 1  # the stored source, not the edited file


def test_bad_arguments(ctx: Context) -> None:
    with pytest.raises(StratusecError, match="exactly one of policy"):
        validate_guardrail(ctx, plan=PLAN)
    with pytest.raises(StratusecError, match="exactly one of policy"):
        validate_guardrail(ctx, policy=SEED, policy_text="x", plan=PLAN)
    with pytest.raises(StratusecError, match="exactly one of account or plan"):
        validate_guardrail(ctx, policy=SEED)
    with pytest.raises(StratusecError, match="not a path"):
        validate_guardrail(ctx, policy="/etc/passwd", plan=PLAN)
    with pytest.raises(NotFoundError, match="unknown guardrail policy 'nope'"):
        validate_guardrail(ctx, policy="nope", plan=PLAN)
    with pytest.raises(PlanError, match="not a Terraform plan"):
        validate_guardrail(ctx, policy=SEED, plan="not json")
    with pytest.raises(NotFoundError, match="unknown account 'prod'"):
        validate_guardrail(ctx, policy=SEED, account="prod")
    with pytest.raises(StratusecError, match="types present: aws_db_instance"):
        validate_guardrail(ctx, policy=SEED, plan=PLAN, resource_types=["aws_vpc"])
