"""Activations on SQLite and PostgreSQL: the source that runs is the source activated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from stratusec.errors import NotFoundError
from stratusec.guardrails import GuardrailError, guardrail_report
from stratusec.guardrails.store import (
    activate,
    active_policies,
    deactivate,
    list_activations,
    policy_catalog,
    stored_policy,
)
from stratusec.inventory.models import Resource
from stratusec.store.db import Store, open_store

POLICY = """# title: Buckets carry an owner tag
# severity: low
# resource_types: [aws_s3_bucket]
package stratusec.guardrails.owner_tag

deny contains msg if {
	not input.tags.owner
	msg := sprintf("%s: no owner tag", [input.resource_name])
}
"""


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def config(tmp_path: Path) -> SimpleNamespace:
    d = tmp_path / "policies"
    d.mkdir()
    (d / "owner_tag.rego").write_text(POLICY)
    return SimpleNamespace(guardrails=SimpleNamespace(directory=str(d)))


def _bucket(name: str, **tags: str) -> Resource:
    return Resource(
        uid=f"arn:aws:s3:::{name}",
        account="123456789012",
        region="us-east-1",
        service="s3",
        type="aws_s3_bucket",
        name=name,
        tags=tags,
    )


def test_activate_pins_the_source(store: Store, config: SimpleNamespace) -> None:
    a = activate(store, "owner_tag", "alice@example.com", "appr1", config=config)
    assert (a.package, a.activated_by, a.approval_id, a.active) == (
        "stratusec.guardrails.owner_tag",
        "alice@example.com",
        "appr1",
        True,
    )
    assert a.source == POLICY and a.source_path.endswith("owner_tag.rego")  # type: ignore[union-attr]
    # editing the file changes nothing that runs
    path = Path(config.guardrails.directory) / "owner_tag.rego"
    path.write_text(POLICY.replace("input.tags.owner", "input.tags.team"))
    (pol,) = active_policies(store)
    assert pol.source == POLICY and pol.origin == "active"
    report = guardrail_report([_bucket("a", owner="x"), _bucket("b", team="y")], [pol])
    assert [(r.resource_name, r.status.value) for r in report.results] == [
        ("a", "PASS"),
        ("b", "FAIL"),
    ]
    assert report.results[1].check_id == "guardrail:stratusec.guardrails.owner_tag"
    catalog = policy_catalog(store, config)
    (user,) = [p for p in catalog["available"] if p["origin"] == "user"]
    assert user["active"] and user["changed_since_activation"]
    (active,) = catalog["active"]
    assert active["source"] == POLICY and active["approval_id"] == "appr1"
    assert len([p for p in catalog["available"] if p["origin"] == "bundled"]) >= 30
    assert stored_policy(store, "owner_tag", config).source == POLICY
    # activating the edited file replaces the old activation
    b = activate(store, str(path), "bob@example.com", "appr2", config=config)
    assert b.source != POLICY
    history = list_activations(store, include_inactive=True)
    assert [(h.id, h.active) for h in history] == [(b.id, True), (a.id, False)]
    assert history[1].deactivated_by == "bob@example.com"


def test_activate_errors(store: Store, config: SimpleNamespace, tmp_path: Path) -> None:
    activate(store, "owner_tag", "alice", None, config=config)
    with pytest.raises(GuardrailError, match="already active with this source"):
        activate(store, "stratusec.guardrails.owner_tag", "alice", None, config=config)
    with pytest.raises(NotFoundError, match="unknown guardrail policy 'nope'"):
        activate(store, "nope", "alice", None, config=config)
    two = tmp_path / "two"
    two.mkdir()
    (two / "a.rego").write_text(POLICY.replace("owner_tag", "a"))
    (two / "b.rego").write_text(POLICY.replace("owner_tag", "b"))
    with pytest.raises(GuardrailError, match=r"holds 2 policies \(a, b\); activate one at a time"):
        activate(store, str(two), "alice", None, config=config)
    broken = tmp_path / "broken.rego"
    broken.write_text("package stratusec.guardrails.broken\n\ndeny[msg] { msg := 1 }\n")
    with pytest.raises(GuardrailError, match=r"broken\.rego:3:1: Rego v0 rule head"):
        activate(store, str(broken), "alice", None, config=config)
    assert [a.package for a in list_activations(store)] == ["stratusec.guardrails.owner_tag"]


def test_bundled_activation_and_deactivation(store: Store, config: SimpleNamespace) -> None:
    a = activate(store, "rds_production_encrypted_multi_az", "alice", "x", config=config)
    assert a.source_path and a.source_path.endswith("rds_production_encrypted_multi_az.rego")
    d = deactivate(store, "rds_production_encrypted_multi_az", "bob")
    assert (d.id, d.active, d.deactivated_by) == (a.id, False, "bob")
    assert active_policies(store) == []
    with pytest.raises(NotFoundError, match="is not active; active: none"):
        deactivate(store, "rds_production_encrypted_multi_az", "bob")
