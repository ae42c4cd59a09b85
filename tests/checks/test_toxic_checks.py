"""Toxic-combination checks read attack paths from the graph (a stand-in here: the path
search itself is tested in tests/graph and on the demo)."""

from stratusec.checks import Status
from stratusec.graph.paths import AttackPath, Hop
from tests.checks.fixtures import inventory, res, run

ACCT = "123456789012"
SVC = f"arn:aws:ecs:us-east-1:{ACCT}:service/c/etl"
WEB = f"arn:aws:ecs:us-east-1:{ACCT}:service/c/web"
ROLE = f"arn:aws:iam::{ACCT}:role/etl"
ADMIN = f"arn:aws:iam::{ACCT}:role/admin"
USER = f"arn:aws:iam::{ACCT}:user/dev"
SAFE = f"arn:aws:iam::{ACCT}:user/safe"


def hop(a, b, t, reason="why", level=None):
    return Hop(a, a.rsplit("/", 1)[-1], b, b.rsplit("/", 1)[-1], t, reason, level=level)


class FakeGraph:
    def __init__(self, paths, admins=()):
        self.paths, self.admins = paths, set(admins)

    def attack_paths(self, *, entries=(), to="any", max_hops=6, limit=10_000):
        out = [p for p in self.paths if not entries or p.entry in entries]
        if to == "admin":
            out = [p for p in out if p.impact == "admin"]
        elif to == "sensitive":
            out = [p for p in out if p.impact.startswith("sensitive")]
        return [p for p in out if len(p.hops) <= max_hops]

    def admin_uids(self):
        return self.admins


def path(entry, hops, impact):
    return AttackPath(
        entry,
        entry.rsplit("/", 1)[-1],
        hops[-1].target,
        hops[-1].target_name,
        "",
        impact,
        hops,
        80.0,
    )


def test_internet_path_to_sensitive_data():
    etl = res("aws_ecs_service", "etl", uid=SVC)
    web = res("aws_ecs_service", "web", uid=WEB)
    inv = inventory(etl, web)
    inv.graph = FakeGraph(
        [
            path(
                "internet",
                [
                    hop("internet", SVC, "EXPOSED_TO", "public IP, port 8080 open"),
                    hop(SVC, ROLE, "RUNS_AS"),
                    hop(ROLE, "arn:aws:s3:::pii", "CAN_ACCESS", "s3:* on *", "admin"),
                ],
                "sensitive data (admin)",
            ),
            path("internet", [hop("internet", WEB, "EXPOSED_TO")], "resource"),
        ]
    )
    out = run("toxic_internet_path_to_sensitive_data", inv)
    assert out["etl"][0] == Status.FAIL and "pii" in out["etl"][1] and "8080" in out["etl"][1]
    assert out["web"][0] == Status.PASS
    inv.graph = None
    assert run("toxic_internet_path_to_sensitive_data", inv) == {}  # no graph: not evaluated


def test_principal_escalates_to_admin():
    dev = res("aws_iam_user", "dev", uid=USER)
    safe = res("aws_iam_user", "safe", uid=SAFE)
    admin = res("aws_iam_role", "admin", uid=ADMIN)
    inv = inventory(dev, safe, admin)
    inv.graph = FakeGraph(
        [path(USER, [hop(USER, ADMIN, "CAN_ESCALATE", "iam:PassRole on admin + lambda")], "admin")],
        admins=[ADMIN],
    )
    out = run("toxic_principal_escalates_to_admin", inv)
    assert out["dev"][0] == Status.FAIL and "iam:PassRole" in out["dev"][1]
    assert out["safe"][0] == Status.PASS
    assert "admin" not in out  # already admin: not applicable
