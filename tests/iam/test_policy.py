"""Parsing policy documents, the parse cache, and Principal/NotPrincipal matching."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest

from stratusec.iam import Principal, parse_policy
from stratusec.iam.policy import (
    ACCOUNT,
    DIRECT,
    NO_MATCH,
    PARENT,
    as_policies,
    clear_cache,
    parse_principal,
)
from tests.iam.helpers import A, B, allow, doc, role, session, user


class TestParse:
    def test_statement_object_and_string_values(self) -> None:
        p = parse_policy({"Version": "2012-10-17", "Statement": allow("s3:GetObject")}, "p")
        assert p.name == "p"
        assert len(p.statements) == 1
        st = p.statements[0]
        assert st.allow and st.actions == ("s3:GetObject",) and st.resources == ("*",)
        assert not p.errors

    def test_lists(self) -> None:
        p = parse_policy(doc(allow(["s3:GetObject", "s3:PutObject"], ["arn:a", "arn:b"])))
        assert p.statements[0].actions == ("s3:GetObject", "s3:PutObject")
        assert p.statements[0].resources == ("arn:a", "arn:b")

    def test_not_elements(self) -> None:
        st = parse_policy(
            doc({"Effect": "Deny", "NotAction": "iam:*", "NotResource": "arn:x", "Sid": "S"})
        ).statements[0]
        assert st.not_action and st.not_resource and st.sid == "S" and st.effect == "Deny"

    def test_json_text_and_url_encoded_text(self) -> None:
        text = json.dumps(doc(allow("s3:*")))
        assert parse_policy(text, "t").statements[0].actions == ("s3:*",)
        encoded = urllib.parse.quote(text)
        assert parse_policy(encoded, "u").statements[0].actions == ("s3:*",)

    @pytest.mark.parametrize("bad", ["not json", 42, None, ["a"], {"Statement": "x"}])
    def test_malformed_documents_never_raise(self, bad: Any) -> None:
        p = parse_policy(bad, "bad")
        assert p.statements == ()
        assert p.errors

    def test_bad_statements_are_skipped_and_reported(self) -> None:
        statements: list[Any] = [
            {"Action": "*", "Resource": "*"},  # no Effect
            {"Effect": "Permit", "Action": "*"},
            "nonsense",
            allow("s3:GetObject"),
            {"Effect": "Allow", "Resource": "*"},  # no Action
        ]
        p = parse_policy({"Version": "2012-10-17", "Statement": statements})
        assert [s.index for s in p.statements] == [3, 4]
        assert len(p.errors) >= 4
        assert p.statements[1].action_set.match("s3:getobject") is False

    def test_missing_resource_means_any(self) -> None:
        st = parse_policy(doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": "*"}))
        assert st.statements[0].resources is None
        assert st.statements[0].resource_set is None

    def test_not_principal_with_allow_is_flagged(self) -> None:
        p = parse_policy(
            doc({"Effect": "Allow", "NotPrincipal": {"AWS": "1"}, "Action": "*", "Resource": "*"})
        )
        assert any("NotPrincipal" in e for e in p.errors)
        assert p.statements[0].not_principal

    def test_service_index(self) -> None:
        p = parse_policy(
            doc(
                allow("s3:GetObject"),
                allow(["ec2:Describe*", "S3:Put*"]),
                allow("*"),
                {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
                allow("s*:Get*"),
            )
        )
        assert [s.index for s in p.for_service("s3")] == [0, 1, 2, 3, 4]
        assert [s.index for s in p.for_service("ec2")] == [1, 2, 3, 4]
        assert [s.index for s in p.for_service("iam")] == [2, 3, 4]

    def test_describe(self) -> None:
        st = parse_policy(doc(allow("s3:*"))).statements[0]
        assert st.describe() == "allows s3:* on *"
        st = parse_policy(
            doc(
                {
                    "Effect": "Deny",
                    "NotAction": ["iam:*"],
                    "NotResource": "arn:aws:s3:::b",
                    "Principal": "*",
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            )
        ).statements[0]
        text = st.describe()
        assert text.startswith("denies all actions except iam:* on all resources except")
        assert "to *" in text and "if Bool aws:SecureTransport false" in text


class TestCache:
    def test_same_document_same_object(self) -> None:
        d = doc(allow("s3:*"))
        assert parse_policy(d, "a") is parse_policy(d, "a")
        assert parse_policy(d, "a") is not parse_policy(d, "b")
        assert parse_policy(d, "b").name == "b"

    def test_equal_documents_are_parsed_separately(self) -> None:
        assert parse_policy(doc(allow("s3:*")), "a") is not parse_policy(doc(allow("s3:*")), "a")

    def test_text_cache(self) -> None:
        text = json.dumps(doc(allow("s3:*")))
        assert parse_policy(text, "t") is parse_policy(str(text), "t")

    def test_policy_passes_through_or_is_renamed(self) -> None:
        p = parse_policy(doc(allow("s3:*")), "orig")
        assert parse_policy(p) is p
        renamed = parse_policy(p, "new")
        assert renamed.name == "new" and renamed.statements is p.statements

    def test_clear(self) -> None:
        d = doc(allow("s3:*"))
        first = parse_policy(d, "a")
        clear_cache()
        assert parse_policy(d, "a") is not first

    def test_as_policies_names(self) -> None:
        d1 = doc(allow("s3:*"))
        d2 = {**doc(allow("ec2:*")), "Id": "ec2-policy"}
        pols = as_policies([d1, d2], prefix="identity")
        assert [p.name for p in pols] == ["identity[0]", "ec2-policy"]
        assert as_policies(None) == ()
        assert len(as_policies(d1)) == 1
        parsed = [parse_policy(d1, "x")]
        assert as_policies(parsed)[0] is parsed[0]


class TestPrincipalMatch:
    def test_star(self) -> None:
        for spec in ("*", {"AWS": "*"}):
            ps = parse_principal(spec, [])
            assert ps.match(user()) == DIRECT
            assert ps.match(Principal.anonymous()) == DIRECT
            assert ps.match(Principal.for_service("lambda.amazonaws.com")) == DIRECT

    def test_account_forms(self) -> None:
        for spec in ({"AWS": A}, {"AWS": f"arn:aws:iam::{A}:root"}, {"AWS": [B, A]}):
            ps = parse_principal(spec, [])
            assert ps.match(user()) == ACCOUNT
            assert ps.match(session()) == ACCOUNT
            assert ps.match(Principal.root(A)) == DIRECT
            assert ps.match(user(account="333333333333")) == NO_MATCH
            assert ps.match(Principal.anonymous()) == NO_MATCH

    def test_user_arn(self) -> None:
        ps = parse_principal({"AWS": f"arn:aws:iam::{A}:user/alice"}, [])
        assert ps.match(user("alice")) == DIRECT
        assert ps.match(user("bob")) == NO_MATCH

    def test_role_arn_matches_role_and_its_sessions_through_the_role(self) -> None:
        ps = parse_principal({"AWS": f"arn:aws:iam::{A}:role/dev"}, [])
        assert ps.match(role("dev")) == PARENT
        assert ps.match(session("dev", "x")) == PARENT
        assert ps.match(session("other", "x")) == NO_MATCH

    def test_session_arn(self) -> None:
        ps = parse_principal({"AWS": f"arn:aws:sts::{A}:assumed-role/dev/alice"}, [])
        assert ps.match(session("dev", "alice")) == DIRECT
        assert ps.match(session("dev", "bob")) == NO_MATCH
        assert ps.match(role("dev")) == NO_MATCH

    def test_role_with_path_needs_parent_arn(self) -> None:
        ps = parse_principal({"AWS": f"arn:aws:iam::{A}:role/team/dev"}, [])
        plain = Principal.from_arn(f"arn:aws:sts::{A}:assumed-role/dev/s")
        assert ps.match(plain) == NO_MATCH  # path unknown from the session ARN
        pathed = Principal.from_arn(
            f"arn:aws:sts::{A}:assumed-role/dev/s", parent_arn=f"arn:aws:iam::{A}:role/team/dev"
        )
        assert ps.match(pathed) == PARENT

    def test_unique_ids(self) -> None:
        ps = parse_principal({"AWS": ["AIDAEXAMPLEUSERID01", "AROAEXAMPLEROLEID01"]}, [])
        assert ps.match(user(userid="AIDAEXAMPLEUSERID01")) == DIRECT
        assert ps.match(session(userid="AROAEXAMPLEROLEID01:s1")) == PARENT
        assert ps.match(role(userid="AROAEXAMPLEROLEID01")) == PARENT
        assert ps.match(user(userid="AIDAOTHERUSERID0001")) == NO_MATCH

    def test_service_and_federated_case_insensitive(self) -> None:
        ps = parse_principal(
            {"Service": ["Lambda.amazonaws.com"], "Federated": "cognito-identity.amazonaws.com"},
            [],
        )
        assert ps.match(Principal.for_service("lambda.amazonaws.com")) == DIRECT
        assert ps.match(Principal.for_service("ec2.amazonaws.com")) == NO_MATCH
        fed = Principal.federated_identity("cognito-identity.amazonaws.com")
        assert ps.match(fed) == DIRECT
        assert ps.match(user()) == NO_MATCH

    def test_canonical_user(self) -> None:
        ps = parse_principal({"CanonicalUser": "abc123"}, [])
        assert ps.match(user(canonical_id="abc123")) == DIRECT
        assert ps.match(user()) == NO_MATCH

    def test_malformed(self) -> None:
        errors: list[str] = []
        ps = parse_principal(["not", "valid"], errors)
        assert errors and ps.match(user()) == NO_MATCH


class TestNotPrincipal:
    def test_user_needs_user_and_account(self) -> None:
        both = parse_principal({"AWS": [f"arn:aws:iam::{A}:user/alice", A]}, [])
        only_user = parse_principal({"AWS": f"arn:aws:iam::{A}:user/alice"}, [])
        only_account = parse_principal({"AWS": A}, [])
        assert both.excludes(user("alice"))
        assert not both.excludes(user("bob"))
        assert not only_user.excludes(user("alice"))
        assert not only_account.excludes(user("alice"))
        assert only_account.excludes(Principal.root(A))

    def test_session_needs_account_role_and_session(self) -> None:
        r = f"arn:aws:iam::{A}:role/dev"
        s = f"arn:aws:sts::{A}:assumed-role/dev/s1"
        assert parse_principal({"AWS": [A, r, s]}, []).excludes(session("dev", "s1"))
        assert not parse_principal({"AWS": [A, r]}, []).excludes(session("dev", "s1"))
        assert not parse_principal({"AWS": [A, s]}, []).excludes(session("dev", "s1"))
        assert parse_principal({"AWS": [A, r]}, []).excludes(role("dev"))

    def test_services_and_anonymous(self) -> None:
        ps = parse_principal({"Service": "logs.amazonaws.com"}, [])
        assert ps.excludes(Principal.for_service("logs.amazonaws.com"))
        assert not ps.excludes(Principal.for_service("s3.amazonaws.com"))
        assert not ps.excludes(Principal.anonymous())
