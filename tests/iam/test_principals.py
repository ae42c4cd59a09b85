from stratusec.checks import Inventory
from stratusec.iam import Request, evaluate
from stratusec.iam.principals import principal_policies
from tests.checks.fixtures import res

ACCT = "123456789012"
S3_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
ONLY_GET = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def test_user_gets_inline_managed_and_group_policies_and_boundary():
    pol = res(
        "aws_iam_policy",
        "s3-all",
        uid=f"arn:aws:iam::{ACCT}:policy/s3-all",
        config={"policy": S3_ALL},
    )
    bnd = res(
        "aws_iam_policy",
        "only-get",
        uid=f"arn:aws:iam::{ACCT}:policy/only-get",
        config={"policy": ONLY_GET},
    )
    group = res(
        "aws_iam_group",
        "devs",
        uid=f"arn:aws:iam::{ACCT}:group/devs",
        config={"inline_policies": {"g": ONLY_GET}, "managed_policy_arns": []},
    )
    user = res(
        "aws_iam_user",
        "alice",
        uid=f"arn:aws:iam::{ACCT}:user/alice",
        config={
            "inline_policies": {},
            "managed_policy_arns": [pol.uid],
            "permissions_boundary": bnd.uid,
        },
        relationships=[("MEMBER_OF", group.uid)],
    )
    inv = Inventory([pol, bnd, group, user])
    pp = principal_policies(user, inv)
    assert pp is not None and pp.complete
    assert [p.name for p in pp.identity] == ["s3-all", "g"]
    assert pp.boundary is not None and pp.principal.type == "user"

    def decide(action: str) -> str:
        return evaluate(
            Request(pp.principal, action, "arn:aws:s3:::b/k", resource_account=ACCT),
            identity_policies=pp.identity,
            permissions_boundary=pp.boundary,
        ).decision

    assert decide("s3:GetObject") == "allow"
    assert decide("s3:PutObject") == "implicit_deny"  # the boundary does not grant it


def test_unreadable_and_missing_policies_are_reported():
    role = res(
        "aws_iam_role",
        "r",
        uid=f"arn:aws:iam::{ACCT}:role/r",
        config={
            "inline_policies": None,
            "managed_policy_arns": [f"arn:aws:iam::{ACCT}:policy/gone"],
        },
        unavailable=["inline_policies"],
    )
    pp = principal_policies(role, Inventory([role]))
    assert pp is not None and not pp.complete
    assert set(pp.unread) == {"inline policies of r", f"arn:aws:iam::{ACCT}:policy/gone"}
    assert principal_policies(res("aws_s3_bucket", "b"), Inventory([])) is None
