"""allowed_actions, is_admin / admin_decision, trust_allows."""

from __future__ import annotations

from stratusec.iam import (
    Principal,
    admin_decision,
    allowed_actions,
    expand_actions,
    is_admin,
    trust_allows,
)
from tests.iam.helpers import A, B, allow, deny, doc, role, user

ADMIN = doc(allow("*"))
ROLE_ARN = f"arn:aws:iam::{A}:role/deploy"


class TestAllowedActions:
    def test_only_allowed_and_conditional_by_default(self) -> None:
        policy = doc(
            allow(["s3:Get*", "s3:List*"], ["arn:aws:s3:::data", "arn:aws:s3:::data/*"]),
            allow(
                "s3:PutObject",
                "arn:aws:s3:::data/*",
                Condition={"Bool": {"aws:SecureTransport": "true"}},
            ),
            deny("s3:GetObjectAcl"),
        )
        candidates = expand_actions("s3:*")
        out = allowed_actions([policy], "arn:aws:s3:::data/x", candidates, principal=user())
        assert "s3:GetObject" in out and out["s3:GetObject"].allowed
        assert out["s3:PutObject"].decision == "conditional"
        assert "s3:GetObjectAcl" not in out
        assert "s3:DeleteObject" not in out
        everything = allowed_actions(
            [policy], "arn:aws:s3:::data/x", candidates, include_denied=True
        )
        assert set(everything) == set(candidates)
        assert everything["s3:GetObjectAcl"].decision == "deny"

    def test_context_and_resource_policy(self) -> None:
        key = doc(allow("kms:*", Principal={"AWS": f"arn:aws:iam::{A}:root"}))
        kms_arn = f"arn:aws:kms:us-east-1:{A}:key/k"
        out = allowed_actions(
            [doc(allow("kms:Decrypt"))],
            kms_arn,
            ["kms:Decrypt", "kms:Encrypt"],
            principal=role("app"),
            resource_policy=key,
        )
        assert set(out) == {"kms:Decrypt"}
        none = allowed_actions([doc(allow("kms:Decrypt"))], kms_arn, ["kms:Decrypt"])
        assert none == {}  # no key policy: identity policies alone cannot grant

    def test_boundary_and_scps(self) -> None:
        out = allowed_actions(
            [ADMIN],
            "*",
            ["ec2:RunInstances", "s3:ListAllMyBuckets", "iam:CreateUser"],
            principal=role(),
            permissions_boundary=doc(allow(["ec2:*", "s3:*"])),
            scps=[[doc(allow("*"), deny("ec2:*"))]],
        )
        assert set(out) == {"s3:ListAllMyBuckets"}


class TestAdmin:
    def test_administrator_access(self) -> None:
        assert is_admin([ADMIN])
        d = admin_decision([ADMIN])
        assert d.allowed and d.allowed_by[0].index == 0

    def test_service_wildcards_are_not_admin(self) -> None:
        assert not is_admin([doc(allow(["s3:*", "ec2:*", "iam:*"]))])

    def test_not_action_excluding_iam_is_not_admin(self) -> None:
        assert not is_admin([doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})])

    def test_not_action_excluding_one_harmless_service_is_admin(self) -> None:
        assert is_admin([doc({"Effect": "Allow", "NotAction": "cloudshell:*", "Resource": "*"})])

    def test_deny_carve_out_is_not_admin(self) -> None:
        assert not is_admin([ADMIN, doc(deny("iam:*"))])

    def test_resource_restricted_star_is_not_admin(self) -> None:
        assert not is_admin([doc(allow("*", f"arn:aws:*:*:{A}:*"))])

    def test_not_resource_carve_out_still_admin(self) -> None:
        p = doc({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::vault/*"})
        assert is_admin([p])

    def test_boundary_and_scp_limit_admin(self) -> None:
        assert not is_admin([ADMIN], permissions_boundary=doc(allow("s3:*")))
        assert not is_admin([ADMIN], scps=[doc(allow("*"), deny("iam:*"))])
        assert is_admin([ADMIN], scps=[doc(allow("*"))])

    def test_mfa_gated_admin(self) -> None:
        p = doc(allow("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
        assert not is_admin([p])
        d = admin_decision([p])
        assert d.decision == "conditional" and d.mfa_required
        assert d.conditional_keys == {"aws:MultiFactorAuthPresent"}
        assert is_admin([p], context={"aws:MultiFactorAuthPresent": True})

    def test_conditional_admin_not_mfa(self) -> None:
        p = doc(allow("*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
        d = admin_decision([p])
        assert d.decision == "conditional" and not d.mfa_required

    def test_nothing(self) -> None:
        d = admin_decision([])
        assert d.decision == "implicit_deny"


class TestTrustAllows:
    TRUST_ROOT_B = doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
            "Action": "sts:AssumeRole",
        }
    )

    def test_trust_side_only(self) -> None:
        d = trust_allows(self.TRUST_ROOT_B, role("ci", account=B), role_arn=ROLE_ARN)
        assert d.allowed
        assert any("identity side not evaluated" in n for n in d.notes)
        assert d.allowed_by[0].policy == "trust-policy"
        assert trust_allows(self.TRUST_ROOT_B, role("ci", account="333333333333")).decision == (
            "implicit_deny"
        )

    def test_full_decision_with_identity_policies(self) -> None:
        who = role("ci", account=B)
        d = trust_allows(self.TRUST_ROOT_B, who, role_arn=ROLE_ARN, identity_policies=[])
        assert d.decision == "implicit_deny"
        d = trust_allows(
            self.TRUST_ROOT_B,
            who,
            role_arn=ROLE_ARN,
            identity_policies=[doc(allow("sts:AssumeRole", ROLE_ARN))],
        )
        assert d.allowed and not d.notes

    def test_service_principal(self) -> None:
        trust = doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": A}},
            }
        )
        ec2 = Principal.for_service("ec2.amazonaws.com")
        assert trust_allows(trust, ec2).decision == "conditional"
        assert trust_allows(trust, ec2, context={"aws:SourceAccount": A}).allowed
        assert not trust_allows(trust, ec2, context={"aws:SourceAccount": B}).possibly_allowed

    def test_trust_applies_without_role_arn(self) -> None:
        # Without the role ARN the trust policy is still required (same account).
        trust = doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        )
        d = trust_allows(trust, user(), identity_policies=[ADMIN])
        assert d.decision == "implicit_deny"

    def test_no_trust_policy(self) -> None:
        assert trust_allows(None, user(), identity_policies=[ADMIN]).decision == "implicit_deny"
