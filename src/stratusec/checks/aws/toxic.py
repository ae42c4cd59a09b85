"""Graph-aware "toxic combination" checks: several findings that are each tolerable alone
but together open a real attack path. They read attack paths from the account's security
graph (``inv.graph``, set by the scan); without a graph they are not evaluated."""

from __future__ import annotations

from collections.abc import Iterator

from stratusec.checks import Inventory, Outcome, check, fail, ok
from stratusec.graph.paths import AttackPath

EXPOSED_TYPES = ("aws_instance", "aws_ecs_service", "aws_lambda_function", "aws_db_instance")
_PATHS_DOC = "Run 'stratusec paths --account ACCOUNT' for every hop and its reason."


def _describe(p: AttackPath) -> str:
    hops = "; ".join(f"{h.source_name} -> {h.target_name}: {h.reason}" for h in p.hops)
    return f"{p.chain()} ({hops})"


def _evidence(paths: list[AttackPath]) -> dict[str, object]:
    return {"paths": [p.as_dict() for p in paths[:5]], "path_count": len(paths)}


@check(
    id="toxic_internet_path_to_sensitive_data",
    title="No path from the Internet to sensitive data",
    description="A resource reachable from the Internet (public IP and open security group, "
    "public function URL, public policy) runs as or leads to a principal that can act on "
    "sensitive data (buckets, tables, secrets, databases marked sensitive by tag or name).",
    risk="Public exposure, an over-privileged role and sensitive data are each a finding; "
    "together they are a breach path: one exploit of the exposed workload reaches the data.",
    severity="critical",
    service="graph",
    resource_types=list(EXPOSED_TYPES),
    categories=["toxic-combination", "attack-path"],
    remediation={
        "summary": "Break the chain at its cheapest link: remove the public exposure (private "
        "subnet, closed security group, authenticated URL), or narrow the role to the data "
        "the workload needs. " + _PATHS_DOC,
        "cli": "stratusec paths --account ACCOUNT --from internet --to sensitive",
        "terraform": "# Remove the exposure, e.g.:\n"
        'resource "aws_ecs_service" "this" {\n  network_configuration {\n'
        "    assign_public_ip = false\n  }\n}\n"
        "# or narrow the role's policy to the resources it needs.",
        "console": "Follow the path's hops in the report; fix the exposure (VPC / security "
        "group / Lambda URL settings) or the role's permissions (IAM > Roles).",
    },
)
def toxic_internet_path_to_sensitive_data(inv: Inventory) -> Iterator[Outcome]:
    if inv.graph is None:
        return
    paths = inv.graph.attack_paths(entries=["internet"], to="sensitive")
    by_entry: dict[str, list[AttackPath]] = {}
    for p in paths:
        if p.hops and p.impact.startswith("sensitive"):
            by_entry.setdefault(p.hops[0].target, []).append(p)
    exposed = inv.graph.attack_paths(entries=["internet"], to="any", max_hops=1)
    exposed_uids = {p.hops[0].target for p in exposed if p.hops} | set(by_entry)
    for uid in sorted(exposed_uids):
        r = inv.get(uid)
        if r is None or r.type not in EXPOSED_TYPES:
            continue
        found = sorted(by_entry.get(uid, []), key=lambda p: -p.score)
        if found:
            targets = sorted({p.target_name for p in found})
            yield fail(
                r,
                f"{r.name} is reachable from the Internet and leads to sensitive data "
                f"({', '.join(targets)}): {_describe(found[0])}",
                **_evidence(found),
            )
        else:
            yield ok(r, f"{r.name} is reachable from the Internet but leads to no sensitive data.")


@check(
    id="toxic_principal_escalates_to_admin",
    title="No principal can escalate to admin",
    description="A user or role that is not admin-equivalent can become admin: by assuming "
    "an admin role, or through a documented privilege-escalation path (pathfinding catalog) "
    "whose permissions the evaluator finds effective for the specific resources.",
    risk="Anyone who obtains this principal's credentials (a leaked key, a compromised "
    "workload) owns the account.",
    severity="critical",
    service="graph",
    resource_types=["aws_iam_user", "aws_iam_role"],
    categories=["toxic-combination", "privilege-escalation"],
    remediation={
        "summary": "Remove the permission that opens the path (e.g. sts:AssumeRole on *, "
        "iam:PassRole on an admin role, iam:CreatePolicyVersion on an attached policy), or "
        "restrict the admin role's trust policy. " + _PATHS_DOC,
        "cli": "stratusec paths --account ACCOUNT --from PRINCIPAL --to admin",
        "terraform": "# Narrow the statement that grants the escalation, e.g.:\n"
        'data "aws_iam_policy_document" "this" {\n  statement {\n'
        '    actions   = ["sts:AssumeRole"]\n'
        '    resources = ["arn:aws:iam::ACCOUNT_ID:role/SPECIFIC_ROLE"]\n  }\n}',
        "console": "IAM > Users/Roles > PRINCIPAL > Permissions: remove or narrow the "
        "statement named in the finding.",
    },
)
def toxic_principal_escalates_to_admin(inv: Inventory) -> Iterator[Outcome]:
    if inv.graph is None:
        return
    paths = inv.graph.attack_paths(to="admin")
    admins = inv.graph.admin_uids()  # already admin: not applicable
    by_entry: dict[str, list[AttackPath]] = {}
    for p in paths:
        if p.entry != "internet" and p.impact == "admin":
            by_entry.setdefault(p.entry, []).append(p)
    for t in ("aws_iam_user", "aws_iam_role"):
        for r in inv.of_type(t):
            found = sorted(by_entry.get(r.uid, []), key=lambda p: -p.score)
            if found:
                yield fail(
                    r,
                    f"{r.name} can become admin: {_describe(found[0])}",
                    **_evidence(found),
                )
            elif r.uid not in admins:
                yield ok(r, f"{r.name} has no path to admin.")
