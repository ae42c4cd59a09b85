"""Non-human identity checks (checks/aws/nhi.py) on small inventories."""

from __future__ import annotations

import pytest

from stratusec.checks import Inventory, Status
from stratusec.checks.aws import iam as iam_checks
from stratusec.checks.aws import nhi
from tests.checks.fixtures import inventory, run, statuses
from tests.checks.iam_helpers import NOW, access_key, allow, doc, role, trust, user

PASS, FAIL, UNKNOWN = Status.PASS, Status.FAIL, Status.UNKNOWN


@pytest.fixture(autouse=True)
def _frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nhi, "now", lambda: NOW)
    monkeypatch.setattr(iam_checks, "now", lambda: NOW)


def tagged(r, **tags):  # type: ignore[no-untyped-def]
    r.tags.update(tags)
    return r


def test_who_is_non_human() -> None:
    k = access_key("deployer", "AKIADEPLOYER", used_days=1)
    inv = inventory(
        user("deployer", keys=[k], console=False),  # programmatic
        k,
        user("alice", console=True, password_last_used_days=2),  # human, no keys
        user("build-bot"),  # agent by name
        tagged(user("helper"), **{"stratusec:agent": "True"}),  # agent by tag
    )
    why = {u.name: nhi.user_reason(u, inv) for u in inv.of_type("aws_iam_user")}
    assert why["deployer"] == "active access key and no console password"
    assert why["alice"] is None
    assert why["build-bot"] == "name matches agent pattern '*-bot'"
    assert why["helper"] == "tagged stratusec:agent=True"


def test_user_standing_access_key() -> None:
    k1 = access_key("deployer", "AKIA1", used_days=1)
    k2 = access_key("carol", "AKIA2", used_days=1)
    k3 = access_key("dave", "AKIA3", used_days=1)
    inv = inventory(
        user("deployer", keys=[k1], console=False),
        k1,
        user("carol", keys=[k2], console=True, password_last_used_days=3),  # human with key
        k2,
        user("dave", keys=[k3], console=True),  # console never used: programmatic
        k3,
        user("ci-runner"),  # agent with no keys
        user("bob", console=True, password_last_used_days=1),
    )
    got = run("nhi_user_standing_access_key", inv)
    assert got["deployer"][0] is FAIL and "AKIA1" in got["deployer"][1]
    assert got["dave"][0] is FAIL and "never used" in got["dave"][1]
    assert got["ci-runner"][0] is PASS
    assert "carol" not in got and "bob" not in got


def test_user_standing_access_key_unknown_when_keys_unlisted() -> None:
    inv = inventory(user("etl-agent", unavailable=["access_keys"]))
    assert statuses("nhi_user_standing_access_key", inv) == {"etl-agent": UNKNOWN}


def test_key_rotation_only_for_non_human_users() -> None:
    old = access_key("deployer", "AKIAOLD", created_days=200, used_days=1)
    new = access_key("sync-bot", "AKIANEW", created_days=10, used_days=1)
    human = access_key("carol", "AKIAHUMAN", created_days=300, used_days=1)
    off = access_key("deployer", "AKIAOFF", created_days=400, status="Inactive")
    inv = inventory(
        user("deployer", keys=[old, off], console=False),
        user("sync-bot", keys=[new], console=False),
        user("carol", keys=[human], console=True, password_last_used_days=1),
        old,
        new,
        human,
        off,
    )
    got = run("nhi_access_key_rotated_90_days", inv)
    assert got["AKIAOLD"][0] is FAIL and "200 days old" in got["AKIAOLD"][1]
    assert got["AKIANEW"][0] is PASS
    assert "AKIAHUMAN" not in got and "AKIAOFF" not in got


def test_key_unused_90_days() -> None:
    stale = access_key("deployer", "AKIASTALE", created_days=300, used_days=120)
    never = access_key("deploy-agent", "AKIANEVER", created_days=100)
    fresh = access_key("ci-x", "AKIAFRESH", created_days=300, used_days=5)
    young = access_key("ci-y", "AKIAYOUNG", created_days=10)
    unread = access_key("ci-z", "AKIAUNREAD", created_days=10, last_used_unavailable=True)
    users = [
        user("deployer", keys=[stale], console=False),
        user("deploy-agent", keys=[never], console=False),
        user("ci-x", keys=[fresh], console=False),
        user("ci-y", keys=[young], console=False),
        user("ci-z", keys=[unread], console=False),
    ]
    inv = inventory(*users, stale, never, fresh, young, unread)
    got = run("nhi_access_key_unused_90_days", inv)
    assert got["AKIASTALE"][0] is FAIL and "last used 120 days ago" in got["AKIASTALE"][1]
    assert got["AKIANEVER"][0] is FAIL and "never used" in got["AKIANEVER"][1]
    assert got["AKIAFRESH"][0] is PASS
    assert got["AKIAYOUNG"][0] is PASS
    assert got["AKIAUNREAD"][0] is UNKNOWN


def test_agent_role_trust_without_condition() -> None:
    broker = "arn:aws:iam::123456789012:role/broker"
    inv = inventory(
        role("code-agent", trust({"AWS": broker})),
        role(
            "review-agent",
            trust({"AWS": broker}, {"StringEquals": {"sts:ExternalId": "x1"}}),
        ),
        tagged(
            role("pipeline", trust({"Service": "codebuild.amazonaws.com"})),
            **{"stratusec:agent": "yes"},
        ),
        role("app", trust({"Service": "lambda.amazonaws.com"})),  # not an agent
        role("x-agent", unavailable=["assume_role_policy"]),
    )
    got = run("nhi_agent_role_trust_without_condition", inv)
    assert got["code-agent"][0] is FAIL and "statement #1" in got["code-agent"][1]
    assert got["review-agent"][0] is PASS
    assert got["pipeline"][0] is FAIL
    assert got["x-agent"][0] is UNKNOWN
    assert "app" not in got


def test_policy_content_does_not_designate() -> None:
    """Only name and tag designate an agent: text in policies or descriptions does not."""
    r = role("payments", trust({"AWS": "*"}), inline={"p": doc(allow("s3:*"))})
    r.config["description"] = "stratusec:agent=true *-agent"
    assert nhi.agent_reason(r) is None


def test_designation_from_inventory_settings() -> None:
    """access.agent_patterns / agent_tag reach the checks through Inventory.settings and
    replace the defaults (None keeps them; an empty list designates by tag only)."""
    broker = "arn:aws:iam::123456789012:role/broker"
    resources = [
        user("svc-reporter"),
        user("report-bot"),
        tagged(user("helper"), **{"team:automation": "yes"}),
        tagged(user("old-style"), **{"stratusec:agent": "true"}),
        role("svc-runner", trust({"AWS": broker})),
        role("code-agent", trust({"AWS": broker})),
    ]
    custom = Inventory(
        resources,
        settings={"agent_patterns": ["SVC-*"], "agent_tag": "team:automation"},
    )
    assert nhi.designation(custom) == (("SVC-*",), "team:automation")
    got = run("nhi_user_standing_access_key", custom)
    assert set(got) == {"svc-reporter", "helper"}
    assert "agent pattern 'SVC-*'" in got["svc-reporter"][1]
    assert set(run("nhi_agent_role_trust_without_condition", custom)) == {"svc-runner"}

    defaults = Inventory(resources, settings={"agent_patterns": None, "agent_tag": None})
    assert nhi.designation(defaults) == (nhi.AGENT_NAME_PATTERNS, nhi.AGENT_TAG)
    assert set(run("nhi_user_standing_access_key", defaults)) == {"report-bot", "old-style"}
    assert set(run("nhi_agent_role_trust_without_condition", defaults)) == {"code-agent"}

    tag_only = Inventory(resources, settings={"agent_patterns": []})
    assert set(run("nhi_user_standing_access_key", tag_only)) == {"old-style"}
    assert set(run("nhi_agent_role_trust_without_condition", tag_only)) == set()
