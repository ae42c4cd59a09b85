"""A small security graph and helpers to prove that reads change nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stratusec.graph.ladybug_store import LadybugStore

ACCOUNT = "test"
ACCT_ID = "123456789012"


def arn(kind: str, name: str) -> str:
    return f"arn:aws:{kind}::{ACCT_ID}:{name}"


ALICE = arn("iam", "user/alice")
BOB = arn("iam", "user/bob")
ADMINS = arn("iam", "group/admins")
DEVS = arn("iam", "group/devs")
ADMIN_ROLE = arn("iam", "role/admin")
APP_ROLE = arn("iam", "role/app")
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
BUCKET = "arn:aws:s3:::customer-data"
INSTANCE = f"arn:aws:ec2:us-east-1:{ACCT_ID}:instance/i-0abc"
PROFILE = arn("iam", "instance-profile/app")
ROOT = f"arn:aws:iam::{ACCT_ID}:root"
INTERNET = "internet"


def sample_nodes() -> list[dict[str, Any]]:
    return [
        {"uid": ALICE, "kind": "aws_iam_user", "name": "alice", "account": ACCT_ID,
         "service": "iam", "tags": {"team": "sec"}},
        {"uid": BOB, "kind": "aws_iam_user", "name": "bob", "account": ACCT_ID, "service": "iam"},
        {"uid": ADMINS, "kind": "aws_iam_group", "name": "admins", "account": ACCT_ID},
        {"uid": DEVS, "kind": "aws_iam_group", "name": "devs", "account": ACCT_ID},
        {"uid": ADMIN_ROLE, "kind": "aws_iam_role", "name": "admin", "admin": True,
         "account": ACCT_ID, "props": {"max_session_duration": 3600}},
        {"uid": APP_ROLE, "kind": "aws_iam_role", "name": "app", "account": ACCT_ID},
        {"uid": ADMIN_POLICY, "kind": "aws_iam_policy", "name": "AdministratorAccess"},
        {"uid": BUCKET, "kind": "aws_s3_bucket", "name": "customer-data", "sensitive": True,
         "region": "us-east-1", "service": "s3", "props": {"versioning": True}},
        {"uid": INSTANCE, "kind": "aws_instance", "name": "web", "region": "us-east-1",
         "service": "ec2"},
        {"uid": PROFILE, "kind": "aws_iam_instance_profile", "name": "app"},
        {"uid": ROOT, "kind": "aws_account", "name": ACCT_ID, "account": ACCT_ID},
        {"uid": INTERNET, "kind": "internet", "name": "Internet"},
    ]  # fmt: skip


def sample_edges() -> list[dict[str, Any]]:
    return [
        {"type": "MEMBER_OF", "from": BOB, "to": DEVS},
        {"type": "MEMBER_OF", "from": ALICE, "to": ADMINS},
        {"type": "HAS_POLICY", "from": ADMIN_ROLE, "to": ADMIN_POLICY,
         "props": {"attachment": "managed"}},
        {"type": "CAN_ASSUME", "from": DEVS, "to": APP_ROLE, "reason": "trust policy allows devs",
         "conditional": False, "condition_keys": []},
        {"type": "CAN_ESCALATE", "from": APP_ROLE, "to": ADMIN_ROLE, "method": "iam:PassRole",
         "path_id": "iam-passrole-lambda", "reason": "app can pass admin to lambda"},
        {"type": "CAN_ASSUME", "from": ADMINS, "to": ADMIN_ROLE, "reason": "admins",
         "conditional": True, "condition_keys": ["aws:MultiFactorAuthPresent"]},
        {"type": "CAN_ACCESS", "from": APP_ROLE, "to": BUCKET, "actions": ["s3:GetObject",
         "s3:ListBucket"], "level": "read", "reason": "inline policy"},
        {"type": "HAS_INSTANCE_PROFILE", "from": INSTANCE, "to": PROFILE},
        {"type": "RUNS_AS", "from": PROFILE, "to": APP_ROLE},
        {"type": "EXPOSED_TO", "from": INTERNET, "to": INSTANCE, "ports": "22,443",
         "reason": "sg-1 allows 0.0.0.0/0"},
        {"type": "OWNED_BY", "from": BUCKET, "to": ROOT},
    ]  # fmt: skip


def chain_graph(n: int, prefix: str = "n") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """n nodes in a MEMBER_OF chain (n - 1 edges): node and edge counts pin a build."""
    nodes = [{"uid": f"{prefix}{i}", "kind": "aws_iam_user"} for i in range(n)]
    edges = [{"type": "MEMBER_OF", "from": f"{prefix}{i}", "to": f"{prefix}{i + 1}"}
             for i in range(n - 1)]  # fmt: skip
    return nodes, edges


def tree_state(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under root with size, mtime and content hash."""
    out: dict[str, tuple[int, int, str]] = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(root))] = (
                st.st_size,
                st.st_mtime_ns,
                hashlib.sha256(p.read_bytes()).hexdigest(),
            )
        else:
            out[str(p.relative_to(root)) + "/"] = (0, 0, "")
    return out


@pytest.fixture
def store(stratusec_home: Path) -> Iterator[LadybugStore]:
    s = LadybugStore()
    yield s
    s.close()


@pytest.fixture
def built(store: LadybugStore) -> LadybugStore:
    store.replace(ACCOUNT, sample_nodes(), sample_edges(), strict=True)
    return store
