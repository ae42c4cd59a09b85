"""The evaluator's API: inputs, explanations, derived keys, MFA gating."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stratusec.iam import (
    ABSENT,
    Principal,
    Request,
    evaluate,
    parse_policy,
    resource_policy_requirement,
)
from stratusec.iam.context import canonical_key, make_lookup
from stratusec.iam.request import UNKNOWN
from tests.iam.helpers import A, B, allow, deny, doc, role, session, user

OBJ = "arn:aws:s3:::data/report.csv"


def req(
    principal: Principal | None = None,
    action: str = "s3:GetObject",
    resource: str = OBJ,
    **kw: Any,
) -> Request:
    kw.setdefault("resource_account", A)
    return Request(principal or user(), action, resource, **kw)


class TestExplanations:
    def test_allow_reason_names_policy_statement_and_grant(self) -> None:
        p = parse_policy(doc(allow("s3:*")), "data-pipeline-s3")
        d = evaluate(req(), identity_policies=[p])
        assert d.allowed
        assert d.reason == (
            f"s3:GetObject on {OBJ} is allowed: "
            "policy data-pipeline-s3 statement 0 allows s3:* on *"
        )
        (ref,) = d.allowed_by
        assert (ref.policy, ref.kind, ref.index, ref.effect) == (
            "data-pipeline-s3",
            "identity",
            0,
            "Allow",
        )

    def test_deny_reason_names_the_sid(self) -> None:
        p = parse_policy(doc(allow("*"), {**deny("s3:*"), "Sid": "NoS3"}), "guard")
        d = evaluate(req(), identity_policies=[p])
        assert d.decision == "deny"
        assert "guard statement 1 (NoS3) denies s3:* on *" in d.reason
        assert d.denied_by[0].sid == "NoS3"

    def test_implicit_deny_reason(self) -> None:
        d = evaluate(req(), identity_policies=[doc(allow("ec2:*"))])
        assert d.decision == "implicit_deny"
        assert d.reason.endswith("no identity-based or resource-based policy allows it")

    def test_conditional_reason_and_gates(self) -> None:
        p = parse_policy(
            doc(allow("s3:*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, Sid="x")),
            "office",
        )
        d = evaluate(req(), identity_policies=[p])
        assert d.decision == "conditional"
        assert d.conditional_keys == {"aws:SourceIp"}
        assert "conditional on aws:SourceIp" in d.reason
        (gate,) = d.gates
        assert gate.ref.policy == "office" and gate.keys == {"aws:SourceIp"}
        assert d.allowed_by == (gate.ref,)

    def test_resource_policy_kind_in_reason(self) -> None:
        bucket = parse_policy(
            doc(allow("s3:GetObject", OBJ, Principal={"AWS": f"arn:aws:iam::{A}:user/alice"})),
            "data-bucket",
        )
        d = evaluate(req(), resource_policy=bucket)
        assert "resource policy data-bucket statement 0 allows s3:GetObject" in d.reason
        assert d.allowed_by[0].kind == "resource"

    def test_to_dict_is_json(self) -> None:
        p = doc(allow("s3:*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
        d = evaluate(req(), identity_policies=[p])
        out = json.loads(json.dumps(d.to_dict()))
        assert out["decision"] == "conditional" and out["mfa_required"] is True
        assert out["conditional_keys"] == ["aws:MultiFactorAuthPresent"]
        assert out["gates"][0]["unknown_keys"] == ["aws:MultiFactorAuthPresent"]


class TestInputs:
    def test_raw_documents_are_accepted_and_named(self) -> None:
        d = evaluate(req(), identity_policies=[doc(allow("ec2:*")), doc(allow("s3:*"))])
        assert d.allowed and d.allowed_by[0].policy == "identity[1]"
        d = evaluate(req(), identity_policies=[{**doc(allow("s3:*")), "Id": "named"}])
        assert d.allowed_by[0].policy == "named"

    def test_json_text_policies(self) -> None:
        d = evaluate(req(), identity_policies=[json.dumps(doc(allow("s3:*")))])
        assert d.allowed

    def test_scp_levels_accept_single_policies(self) -> None:
        d = evaluate(
            req(),
            identity_policies=[doc(allow("*"))],
            scps=[doc(allow("*")), [doc(allow("ec2:*"))]],
        )
        assert d.decision == "implicit_deny"
        assert any("level 1" in m for m in d.missing)

    def test_resource_account_argument_overrides(self) -> None:
        bucket = doc(allow("s3:GetObject", OBJ, Principal={"AWS": B}))
        r = req(user(account=B), resource_account=None)
        # Unknown resource account: taken as the caller's; the account grant is delegation.
        d = evaluate(r, identity_policies=[doc(allow("s3:*"))], resource_policy=bucket)
        assert d.allowed and any("resource account unknown" in n for n in d.notes)
        d = evaluate(r, resource_policy=bucket, resource_account=A)
        assert d.decision == "implicit_deny"
        d = evaluate(
            r, identity_policies=[doc(allow("s3:*"))], resource_policy=bucket, resource_account=A
        )
        assert d.allowed

    def test_requirements(self) -> None:
        assert (
            resource_policy_requirement(
                req(action="sts:AssumeRole", resource=f"arn:aws:iam::{A}:role/x")
            )
            == "role trust policy"
        )
        assert (
            resource_policy_requirement(
                req(action="kms:Decrypt", resource=f"arn:aws:kms:us-east-1:{A}:key/k")
            )
            == "KMS key policy"
        )
        assert resource_policy_requirement(req(action="sts:AssumeRole", resource="*")) is None
        assert resource_policy_requirement(req()) is None

    def test_request_derivations(self) -> None:
        r = Request(user(), "S3:GetObject", f"arn:aws:sqs:us-east-1:{B}:q", context={"AWS:X": 1})
        assert r.action_lc == "s3:getobject" and r.service_lc == "s3"
        assert r.resource_account == B
        assert r.context_lc == {"aws:x": 1}
        r2 = r.with_context({"aws:x": 2})
        assert r2.context_lc["aws:x"] == 2 and r.context_lc["aws:x"] == 1


class TestPrincipals:
    @pytest.mark.parametrize(
        ("arn", "ptype", "account", "username", "parent"),
        [
            (f"arn:aws:iam::{A}:user/team/alice", "user", A, "alice", None),
            (f"arn:aws:iam::{A}:role/dev", "role", A, None, f"arn:aws:iam::{A}:role/dev"),
            (
                f"arn:aws:sts::{A}:assumed-role/dev/s1",
                "assumed-role",
                A,
                None,
                f"arn:aws:iam::{A}:role/dev",
            ),
            (f"arn:aws:sts::{A}:federated-user/bob", "federated-user", A, None, None),
            (f"arn:aws:iam::{A}:root", "root", A, None, None),
            ("lambda.amazonaws.com", "service", None, None, None),
            ("something-else", "unknown", None, None, None),
        ],
    )
    def test_from_arn(
        self, arn: str, ptype: str, account: str | None, username: str | None, parent: str | None
    ) -> None:
        p = Principal.from_arn(arn)
        assert (p.type, p.account, p.username, p.parent_arn) == (ptype, account, username, parent)

    def test_derived_keys_for_a_session(self) -> None:
        p = session("dev", "s1", userid="AROAEXAMPLEROLEID01:s1", tags={"Team": "data"})
        look = make_lookup(req(p))
        assert look("aws:principalarn") == f"arn:aws:iam::{A}:role/dev"
        assert look("aws:principalaccount") == A
        assert look("aws:principaltype") == "AssumedRole"
        assert look("aws:username") is ABSENT
        assert look("aws:userid") == "AROAEXAMPLEROLEID01:s1"
        assert look("aws:principaltag/team") == "data"  # tag keys are case-insensitive
        assert look("aws:principaltag/other") is ABSENT
        assert look("aws:principalisawsservice") is False
        assert look("aws:principalservicename") is ABSENT
        assert look("aws:principalorgid") is UNKNOWN
        assert look("aws:resourceaccount") == A
        assert look("aws:resourcetag/x") is UNKNOWN
        assert look("aws:requestedregion") is UNKNOWN  # S3 ARN: no region
        assert look("aws:sourceip") is UNKNOWN

    def test_derived_keys_for_a_user_and_a_service(self) -> None:
        look = make_lookup(req(user("alice", org_id="o-1"), resource_tags={"Env": "prod"}))
        assert look("aws:username") == "alice"
        assert look("aws:principaltype") == "User"
        assert look("aws:principalorgid") == "o-1"
        assert look("aws:resourcetag/env") == "prod"
        svc = make_lookup(req(Principal.for_service("lambda.amazonaws.com")))
        assert svc("aws:principalisawsservice") is True
        assert svc("aws:principalservicename") == "lambda.amazonaws.com"
        assert svc("aws:principalaccount") is ABSENT
        assert svc("aws:principaltag/x") is ABSENT

    def test_context_overrides_derivation(self) -> None:
        look = make_lookup(req(user(), context={"aws:PrincipalAccount": "999999999999"}))
        assert look("aws:principalaccount") == "999999999999"

    def test_unknown_principal_shape(self) -> None:
        look = make_lookup(req(Principal()))
        assert look("aws:username") is UNKNOWN
        assert look("aws:principalarn") is UNKNOWN
        assert look("aws:principaltag/team") is UNKNOWN

    def test_region_from_the_resource(self) -> None:
        look = make_lookup(req(resource=f"arn:aws:ec2:eu-west-1:{A}:instance/i-1"))
        assert look("aws:requestedregion") == "eu-west-1"

    def test_canonical_keys(self) -> None:
        assert canonical_key("AWS:SOURCEIP") == "aws:SourceIp"
        assert canonical_key("aws:principaltag/CostCenter") == "aws:PrincipalTag/CostCenter"
        assert canonical_key("custom:Key") == "custom:Key"


class TestMfa:
    def test_mfa_gated_allow(self) -> None:
        p = doc(allow("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
        d = evaluate(req(), identity_policies=[p])
        assert d.decision == "conditional" and d.mfa_required
        assert "allowed only with MFA" in d.reason

    def test_mfa_keys_that_would_deny_are_not_mfa_gated(self) -> None:
        # Allowed only WITHOUT MFA: supplying MFA does not help.
        p = doc(allow("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}}))
        d = evaluate(req(), identity_policies=[p])
        assert d.decision == "conditional" and not d.mfa_required

    def test_mfa_with_a_missing_identity_allow_is_not_mfa_gated(self) -> None:
        p = doc(deny("*", Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}))
        d = evaluate(req(), identity_policies=[p])
        assert d.decision == "implicit_deny" and not d.mfa_required

    def test_known_mfa(self) -> None:
        p = doc(allow("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
        d = evaluate(req(context={"aws:MultiFactorAuthPresent": True}), identity_policies=[p])
        assert d.allowed and not d.mfa_required


class TestSpecialPrincipals:
    def test_service_principal_ignores_identity_allows(self) -> None:
        d = evaluate(
            req(Principal.for_service("lambda.amazonaws.com")), identity_policies=[doc(allow("*"))]
        )
        assert d.decision == "implicit_deny"

    def test_anonymous_and_deny(self) -> None:
        bucket = doc(
            allow("s3:GetObject", "arn:aws:s3:::data/*", Principal="*"),
            deny("s3:GetObject", OBJ, Principal="*"),
        )
        d = evaluate(req(Principal.anonymous()), resource_policy=bucket)
        assert d.decision == "deny"

    def test_resource_statement_without_principal_is_ignored(self) -> None:
        d = evaluate(req(), resource_policy=doc(allow("s3:*")))
        assert d.decision == "implicit_deny"

    def test_role_principal_vs_session_grant(self) -> None:
        bucket = doc(
            allow("s3:GetObject", OBJ, Principal={"AWS": f"arn:aws:sts::{A}:assumed-role/dev/s1"})
        )
        assert evaluate(req(role("dev")), resource_policy=bucket).decision == "implicit_deny"
        assert evaluate(req(session("dev", "s1")), resource_policy=bucket).allowed
