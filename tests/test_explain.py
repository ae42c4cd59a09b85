"""explain_finding on the demo account: start the demo server, scan acme-prod with the
real CLI (which builds the security graph), then explain seeded findings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stratusec.demo.seed import INJECTION_TEXT
from stratusec.errors import NotFoundError, StratusecError
from stratusec.findings.query import FindingFilter, query_findings
from stratusec.operations.context import Context
from stratusec.operations.explain import NOTICE, explain_finding
from tests.demo_helpers import scanned_demo

pytestmark = pytest.mark.slow
ACCT = "123456789012"
ROLE = f"arn:aws:iam::{ACCT}:role/data-pipeline-role"

KEYS = {
    "finding",
    "access_grants",
    "what",
    "check",
    "why_it_matters",
    "evidence",
    "resource",
    "neighbourhood",
    "neighbourhood_truncated",
    "graph_note",
    "attack_paths",
    "who_when",
    "remediation",
    "untrusted",
}


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A STRATUSEC_HOME with the demo account scanned (store + security graph)."""
    with scanned_demo(tmp_path_factory, "explain-home") as (home, _):
        yield home


@pytest.fixture
def ctx(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Context]:
    monkeypatch.setenv("STRATUSEC_HOME", str(demo_home))
    c = Context.load()
    yield c
    c.close()


def finding_id(ctx: Context, check_id: str, name: str) -> str:
    page = query_findings(ctx.store, FindingFilter(account="acme-prod", check=[check_id]))
    [f] = [f for f in page.findings if f["resource"]["name"] == name]
    return str(f["id"])


def paths_to(value: Any, needle: str, at: str = "$") -> list[str]:
    """JSON paths (list indexes as [*]) of every string containing ``needle``."""
    if isinstance(value, str):
        return [at] if needle in value else []
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in paths_to(v, needle, f"{at}.{k}")]
    if isinstance(value, list):
        return [p for v in value for p in paths_to(v, needle, f"{at}[*]")]
    return []


def chains(out: dict[str, Any], position: str) -> list[tuple[tuple[str, str, str], ...]]:
    return [
        tuple((h["from_name"], h["type"], h["to_name"]) for h in p["hops"])
        for p in out["attack_paths"]
        if p["position"] == position
    ]


def test_public_ecs_service_neighbourhood_and_paths_through_it(ctx: Context) -> None:
    fid = finding_id(ctx, "ecs_service_no_public_ip", "data-pipeline")
    out = explain_finding(ctx, fid, max_paths=20)
    assert set(out) == KEYS
    json.dumps(out)  # JSON-serialisable as is
    assert out["finding"]["id"] == fid
    assert out["check"]["id"] == "ecs_service_no_public_ip"
    assert out["check"]["severity"] == "high" and out["check"]["service"] == "ecs"
    assert out["what"]["title"] == out["check"]["title"]
    assert out["what"]["message"] == out["finding"]["message"]
    assert out["why_it_matters"] == out["check"]["risk"] and out["why_it_matters"]
    assert out["evidence"] == out["finding"]["evidence"]
    assert out["resource"]["config"]["network_configuration"]["assign_public_ip"] is True
    assert out["graph_note"] is None

    nb = {(n["type"], n["direction"], n["name"]) for n in out["neighbourhood"]}
    assert ("EXPOSED_TO", "in", "Internet") in nb
    assert ("RUNS_AS", "out", "data-pipeline-role") in nb
    assert ("IN_SUBNET", "out", "public-a") in nb
    [exposed] = [n for n in out["neighbourhood"] if n["type"] == "EXPOSED_TO"]
    assert "8080" in exposed["ports"] and "subnet public-a" in exposed["reason"]
    # Derived edges lead; the account hub (OWNED_BY) is left out.
    assert out["neighbourhood"][0]["type"] == "EXPOSED_TO"
    assert all(n["type"] != "OWNED_BY" for n in out["neighbourhood"])

    # Ends here: the Internet reaches the service directly.
    assert (("Internet", "EXPOSED_TO", "data-pipeline"),) in chains(out, "target")
    # Through it: on to the task role and its buckets.
    through = chains(out, "through")
    assert through
    for chain in through:
        assert chain[0] == ("Internet", "EXPOSED_TO", "data-pipeline")
        assert ("data-pipeline", "RUNS_AS", "data-pipeline-role") in chain
        assert chain[-1][1] == "CAN_ACCESS"
    assert ("data-pipeline-role", "CAN_ACCESS", "acme-customer-data") in {c[-1] for c in through}
    scores = [p["score"] for p in out["attack_paths"]]
    assert scores == sorted(scores, reverse=True)

    assert out["remediation"]["summary"]
    # the finding's check (an ECS service with a public IP) has no automated fix
    assert out["remediation"]["automated_fix"] is None
    assert out["untrusted"]["notice"] == NOTICE


def test_paths_are_capped(ctx: Context) -> None:
    fid = finding_id(ctx, "ecs_service_no_public_ip", "data-pipeline")
    out = explain_finding(ctx, fid, max_paths=1, max_neighbours=2)
    assert len(out["attack_paths"]) == 1
    assert out["attack_paths"][0]["position"] == "through"  # the best-ranked one
    assert len(out["neighbourhood"]) == 2 and out["neighbourhood_truncated"] is True
    assert "max_neighbours" in out["graph_note"]


def test_bucket_reached_by_data_pipeline_role(ctx: Context) -> None:
    fid = finding_id(ctx, "s3_bucket_default_encryption", "acme-customer-data")
    out = explain_finding(ctx, fid, max_paths=20)
    nb = {(n["type"], n["direction"], n["uid"]): n for n in out["neighbourhood"]}
    access = nb[("CAN_ACCESS", "in", ROLE)]
    assert access["level"] == "admin"
    assert "PipelineBuckets" in access["reason"]
    ending = chains(out, "target")
    assert (
        ("Internet", "EXPOSED_TO", "data-pipeline"),
        ("data-pipeline", "RUNS_AS", "data-pipeline-role"),
        ("data-pipeline-role", "CAN_ACCESS", "acme-customer-data"),
    ) in ending
    assert (("data-pipeline-role", "CAN_ACCESS", "acme-customer-data"),) in ending
    assert all(p["target_name"] == "acme-customer-data" for p in out["attack_paths"])
    assert "creation_date" in out["who_when"]["created"]["source"]


def test_policy_finding_check_metadata_and_who_when(ctx: Context) -> None:
    fid = finding_id(ctx, "iam_policy_no_s3_full_access_all_resources", "data-pipeline-s3")
    out = explain_finding(ctx, fid)
    chk = out["check"]
    assert chk["severity"] == "high" and chk["service"] == "iam"
    assert chk["description"] and chk["risk"] and chk["registered"] is True
    assert isinstance(chk["compliance"], list)
    rem = out["remediation"]
    assert rem["summary"] and rem["cli"] and rem["terraform"]
    assert rem["automated_fix"]["fixer"] == "iam_least_privilege_s3"
    # The role the policy is attached to is its neighbour; a policy is no attack step.
    assert ("HAS_POLICY", "in", ROLE) in {
        (n["type"], n["direction"], n["uid"]) for n in out["neighbourhood"]
    }
    assert out["attack_paths"] == []
    [st] = out["resource"]["config"]["policy"]["Statement"]
    assert st["Action"] == "s3:*"
    ww = out["who_when"]
    assert ww["created"] == {
        "at": out["resource"]["config"]["create_date"],
        "source": "resource.config.create_date",
    }
    assert ww["first_seen"] == out["finding"]["first_seen"]
    assert ww["last_seen"] and ww["resolved_at"] is None
    assert ww["owner_tags"] == {} and "CloudTrail" in ww["note"]


def test_principal_paths_start_at_it(ctx: Context) -> None:
    fid = finding_id(ctx, "toxic_principal_escalates_to_admin", "lambda-processor")
    out = explain_finding(ctx, fid, max_paths=50)
    entry = chains(out, "entry")
    assert any(c[0][0] == "lambda-processor" and c[0][2] == "admin-role" for c in entry)
    assert any(c[-1][2] == "admin-role" for c in chains(out, "through"))


def test_injection_text_is_only_data(ctx: Context) -> None:
    fid = finding_id(ctx, "s3_bucket_not_public", "acme-public-assets")
    out = explain_finding(ctx, fid, max_paths=20)
    assert out["resource"]["tags"]["description"] == INJECTION_TEXT
    assert out["who_when"]["owner_tags"] == {"owner": "marketing"}
    found = paths_to(out, INJECTION_TEXT)
    assert "$.resource.tags.description" in found
    # Wherever else it shows up, it is in a field declared untrusted (a data field) ...
    untrusted = out["untrusted"]["paths"]
    for path in found:
        assert any(path == u or path.startswith(u + ".") for u in untrusted), path
    # ... and never in our prose.
    for key in ("what", "why_it_matters", "check", "remediation", "graph_note"):
        assert INJECTION_TEXT not in json.dumps(out[key]), key
    assert "$.resource.tags" in untrusted and "$.resource.config" in untrusted
    # The bucket is public: the Internet reaches it directly.
    assert (("Internet", "EXPOSED_TO", "acme-public-assets"),) in chains(out, "target")


def test_unknown_finding_id(ctx: Context) -> None:
    with pytest.raises(NotFoundError) as err:
        explain_finding(ctx, "no-such-finding")
    assert "no-such-finding" in str(err.value) and "get_findings" in str(err.value)
    with pytest.raises(NotFoundError, match="get_findings"):
        explain_finding(ctx, "  ")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_paths": 0}, "max_paths"),
        ({"max_paths": 51}, "max_paths"),
        ({"max_neighbours": 0}, "max_neighbours"),
        ({"max_neighbours": True}, "max_neighbours"),
    ],
)
def test_bad_limits(ctx: Context, kwargs: dict[str, Any], name: str) -> None:
    fid = finding_id(ctx, "s3_bucket_not_public", "acme-public-assets")
    with pytest.raises(StratusecError, match=name):
        explain_finding(ctx, fid, **kwargs)


def test_account_without_graph(ctx: Context, tmp_path: Path) -> None:
    fid = finding_id(ctx, "s3_bucket_not_public", "acme-public-assets")
    # Same store, but the graph lives in an empty place: no graph for the account.
    storage = ctx.config.storage.model_copy(update={"graph_url": str(tmp_path / "no-graph")})
    bare = Context(config=ctx.config.model_copy(update={"storage": storage}))
    try:
        out = explain_finding(bare, fid)
    finally:
        bare.close()
    assert set(out) == KEYS
    assert out["neighbourhood"] == [] and out["attack_paths"] == []
    assert "no security graph" in out["graph_note"] and "acme-prod" in out["graph_note"]
    # Everything that does not need the graph is still there.
    assert out["resource"]["config"]["policy_status"]["is_public"] is True
    assert out["why_it_matters"]
