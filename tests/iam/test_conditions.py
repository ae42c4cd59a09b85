"""Condition operators, one at a time, on known, absent and unknown keys."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest

from stratusec.iam.conditions import evaluate_conditions, parse_condition, parse_conditions
from stratusec.iam.matching import Tri
from stratusec.iam.request import ABSENT, UNKNOWN

KEY = "aws:SourceVpc"


def ev(op: str, values: Any, ctx: Any = UNKNOWN, key: str = KEY, *, variables: bool = True) -> Tri:
    """Evaluate ``{op: {key: values}}`` with ``key`` set to ``ctx`` (UNKNOWN: not set)."""
    errors: list[str] = []
    cond = parse_condition(op, key, values, variables=variables, errors=errors)
    known = {} if ctx is UNKNOWN else {key.lower(): ctx}
    return cond.evaluate(lambda k: known.get(k, UNKNOWN))


U = frozenset({KEY})


class TestString:
    @pytest.mark.parametrize(
        ("op", "values", "ctx", "expected"),
        [
            ("StringEquals", "vpc-1", "vpc-1", True),
            ("StringEquals", "vpc-1", "VPC-1", False),
            ("StringEquals", ["vpc-1", "vpc-2"], "vpc-2", True),
            ("StringEquals", "vpc-*", "vpc-1", False),  # no wildcards
            ("StringNotEquals", "vpc-1", "vpc-1", False),
            ("StringNotEquals", ["vpc-1", "vpc-2"], "vpc-3", True),
            ("StringNotEquals", ["vpc-1", "vpc-2"], "vpc-2", False),
            ("StringEqualsIgnoreCase", "VPC-1", "vpc-1", True),
            ("StringNotEqualsIgnoreCase", "VPC-1", "vpc-1", False),
            ("StringLike", "vpc-*", "vpc-123", True),
            ("StringLike", "vpc-?", "vpc-12", False),
            ("StringLike", "VPC-*", "vpc-1", False),
            ("StringNotLike", ["a*", "b*"], "cat", True),
            ("StringNotLike", ["a*", "b*"], "bat", False),
            ("StringEquals", "true", True, True),  # booleans compare as strings
            ("StringEquals", "5", 5, True),
        ],
    )
    def test_known(self, op: str, values: Any, ctx: Any, expected: bool) -> None:
        assert ev(op, values, ctx) is expected

    def test_unknown(self) -> None:
        assert ev("StringEquals", "vpc-1") == U
        assert ev("StringNotEquals", "vpc-1") == U
        assert ev("StringEqualsIfExists", "vpc-1") == U

    def test_absent(self) -> None:
        assert ev("StringEquals", "vpc-1", ABSENT) is False
        assert ev("StringLike", "*", ABSENT) is False
        assert ev("StringNotEquals", "vpc-1", ABSENT) is True  # negated: true when absent
        assert ev("StringNotLike", "x*", ABSENT) is True
        assert ev("StringEqualsIfExists", "vpc-1", ABSENT) is True
        assert ev("StringNotEqualsIfExists", "vpc-1", ABSENT) is True

    def test_if_exists_compares_present_values(self) -> None:
        assert ev("StringEqualsIfExists", "vpc-1", "vpc-1") is True
        assert ev("StringEqualsIfExists", "vpc-1", "vpc-2") is False

    def test_key_is_case_insensitive(self) -> None:
        cond = parse_condition("StringEquals", "AWS:SOURCEVPC", "v", variables=True, errors=[])
        assert cond.key == "aws:SourceVpc"
        assert cond.evaluate({"aws:sourcevpc": "v"}.get) is True

    def test_operator_is_case_insensitive(self) -> None:
        assert ev("stringequals", "vpc-1", "vpc-1") is True


class TestNumeric:
    @pytest.mark.parametrize(
        ("op", "ctx", "expected"),
        [
            ("NumericEquals", 10, True),
            ("NumericEquals", "10.0", True),
            ("NumericNotEquals", 10, False),
            ("NumericNotEquals", 11, True),
            ("NumericLessThan", 9, True),
            ("NumericLessThan", 10, False),
            ("NumericLessThanEquals", 10, True),
            ("NumericGreaterThan", 11, True),
            ("NumericGreaterThan", 10, False),
            ("NumericGreaterThanEquals", 10, True),
            ("NumericEquals", "ten", False),
            ("NumericEquals", True, False),
        ],
    )
    def test_compare(self, op: str, ctx: Any, expected: bool) -> None:
        assert ev(op, "10", ctx, key="s3:max-keys") is expected

    def test_unparseable_policy_value_never_matches(self) -> None:
        assert ev("NumericEquals", "ten", 10, key="s3:max-keys") is False

    def test_any_of_several_values(self) -> None:
        assert ev("NumericEquals", ["1", "2"], 2, key="s3:max-keys") is True


class TestDate:
    @pytest.mark.parametrize(
        "ctx",
        [
            "2024-06-15T12:00:00Z",
            "2024-06-15T14:00:00+02:00",
            "2024-06-15T12:00:00",  # naive: UTC
            dt.datetime(2024, 6, 15, 12, 0, tzinfo=dt.UTC),
            1718452800,
            "1718452800",
        ],
    )
    def test_equal_instants(self, ctx: Any) -> None:
        assert ev("DateEquals", "2024-06-15T12:00:00Z", ctx, key="aws:CurrentTime") is True

    def test_order(self) -> None:
        k = "aws:CurrentTime"
        assert ev("DateLessThan", "2024-01-01", "2023-12-31T23:59:59Z", key=k) is True
        assert ev("DateLessThan", "2024-01-01", "2024-01-01T00:00:00Z", key=k) is False
        assert ev("DateLessThanEquals", "2024-01-01", "2024-01-01T00:00:00Z", key=k) is True
        assert ev("DateGreaterThan", "1704067200", "2024-01-01T00:00:01Z", key=k) is True
        assert ev("DateGreaterThanEquals", "2024-01-01T00:00:00Z", 1704067200, key=k) is True
        assert ev("DateNotEquals", "2024-01-01T00:00:00Z", 1704067200, key=k) is False

    def test_garbage(self) -> None:
        assert ev("DateEquals", "2024-01-01", "yesterday", key="aws:CurrentTime") is False


class TestBool:
    def test_values(self) -> None:
        k = "aws:SecureTransport"
        assert ev("Bool", "true", True, key=k) is True
        assert ev("Bool", "true", "TRUE", key=k) is True
        assert ev("Bool", "false", True, key=k) is False
        assert ev("Bool", True, True, key=k) is True  # JSON boolean in the policy
        assert ev("Bool", "false", False, key=k) is True
        assert ev("Bool", "false", ABSENT, key=k) is False
        assert ev("BoolIfExists", "false", ABSENT, key=k) is True


class TestBinary:
    def test_base64(self) -> None:
        raw = b"\x00\x01secret"
        b64 = base64.b64encode(raw).decode()
        assert ev("BinaryEquals", b64, raw, key="x:blob") is True
        assert ev("BinaryEquals", b64, b64, key="x:blob") is True
        assert ev("BinaryEquals", b64, b"other", key="x:blob") is False
        assert ev("BinaryEquals", b64, "not base64!", key="x:blob") is False


class TestIp:
    @pytest.mark.parametrize(
        ("op", "ctx", "expected"),
        [
            ("IpAddress", "10.1.2.3", True),
            ("IpAddress", "11.0.0.1", False),
            ("IpAddress", "2001:db8::1", True),
            ("IpAddress", "2001:db9::1", False),
            ("IpAddress", "not-an-ip", False),
            ("IpAddress", "10.1.2.3/32", True),
            ("NotIpAddress", "10.1.2.3", False),
            ("NotIpAddress", "192.168.0.1", True),
        ],
    )
    def test_cidr(self, op: str, ctx: Any, expected: bool) -> None:
        assert ev(op, ["10.0.0.0/8", "2001:db8::/32"], ctx, key="aws:SourceIp") is expected

    def test_single_address_without_mask(self) -> None:
        assert ev("IpAddress", "203.0.113.7", "203.0.113.7", key="aws:SourceIp") is True
        assert ev("IpAddress", "203.0.113.7", "203.0.113.8", key="aws:SourceIp") is False

    def test_absent(self) -> None:
        assert ev("IpAddress", "10.0.0.0/8", ABSENT, key="aws:SourceIp") is False
        assert ev("NotIpAddress", "10.0.0.0/8", ABSENT, key="aws:SourceIp") is True


class TestArn:
    def test_like_and_equals_both_take_wildcards(self) -> None:
        k = "aws:SourceArn"
        arn = "arn:aws:sns:us-east-1:111111111111:events"
        assert ev("ArnLike", "arn:aws:sns:*:111111111111:*", arn, key=k) is True
        assert ev("ArnEquals", "arn:aws:sns:*:111111111111:*", arn, key=k) is True
        assert ev("ArnEquals", "arn:aws:sns:us-east-1:111111111111:events", arn, key=k) is True
        assert ev("ArnNotLike", "arn:aws:sns:*:222222222222:*", arn, key=k) is True
        assert ev("ArnNotEquals", arn, arn, key=k) is False
        assert ev("ArnLike", "arn:aws:sqs:*", arn, key=k) is False


class TestNull:
    def test_null(self) -> None:
        k = "aws:TokenIssueTime"
        assert ev("Null", "true", ABSENT, key=k) is True
        assert ev("Null", "true", "2024-01-01", key=k) is False
        assert ev("Null", "false", "2024-01-01", key=k) is True
        assert ev("Null", "false", ABSENT, key=k) is False
        assert ev("Null", "true", [], key=k) is True  # empty multi-valued key
        assert ev("Null", "true", key=k) == frozenset({k})
        assert ev("Null", True, ABSENT, key=k) is True


class TestSetOperators:
    K = "aws:TagKeys"

    def e(self, op: str, values: Any, ctx: Any) -> Tri:
        return ev(op, values, ctx, key=self.K)

    def test_for_all_values(self) -> None:
        assert self.e("ForAllValues:StringEquals", ["a", "b"], ["a"]) is True
        assert self.e("ForAllValues:StringEquals", ["a", "b"], ["a", "b"]) is True
        assert self.e("ForAllValues:StringEquals", ["a", "b"], ["a", "c"]) is False
        assert self.e("ForAllValues:StringEquals", ["a"], []) is True  # empty set
        assert self.e("ForAllValues:StringEquals", ["a"], ABSENT) is True  # missing key
        assert self.e("ForAllValues:StringLike", ["team-*"], ["team-a", "team-b"]) is True
        assert self.e("ForAllValues:StringEquals", ["a"], "a") is True  # scalar context

    def test_for_any_value(self) -> None:
        assert self.e("ForAnyValue:StringEquals", ["a", "b"], ["x", "b"]) is True
        assert self.e("ForAnyValue:StringEquals", ["a", "b"], ["x", "y"]) is False
        assert self.e("ForAnyValue:StringEquals", ["a"], []) is False
        assert self.e("ForAnyValue:StringEquals", ["a"], ABSENT) is False

    def test_negated_set_operators(self) -> None:
        # every requested tag key is outside the forbidden set
        assert self.e("ForAllValues:StringNotEquals", ["admin"], ["team", "env"]) is True
        assert self.e("ForAllValues:StringNotEquals", ["admin"], ["team", "admin"]) is False
        # at least one requested key is outside the set
        assert self.e("ForAnyValue:StringNotEquals", ["admin"], ["admin", "env"]) is True
        assert self.e("ForAnyValue:StringNotEquals", ["admin"], ["admin"]) is False

    def test_unknown(self) -> None:
        assert self.e("ForAllValues:StringEquals", ["a"], UNKNOWN) == frozenset({self.K})
        assert self.e("ForAnyValue:StringEquals", ["a"], UNKNOWN) == frozenset({self.K})

    def test_plain_operator_on_multi_valued_key(self) -> None:
        assert self.e("StringEquals", "a", ["x", "a"]) is True
        assert self.e("StringNotEquals", "a", ["x", "a"]) is False
        assert self.e("StringNotEquals", "a", ["x", "y"]) is True

    def test_for_any_value_if_exists(self) -> None:
        assert self.e("ForAnyValue:StringEqualsIfExists", ["a"], ABSENT) is True


class TestVariablesInValues:
    def test_resolved(self) -> None:
        lookup = {"aws:resourcetag/team": "data", "aws:principaltag/team": "data"}.get
        cond = parse_condition(
            "StringEquals",
            "aws:ResourceTag/team",
            "${aws:PrincipalTag/team}",
            variables=True,
            errors=[],
        )
        assert cond.evaluate(lambda k: lookup(k, UNKNOWN)) is True

    def test_unknown_variable(self) -> None:
        known = {"aws:resourcetag/team": "data"}
        cond = parse_condition(
            "StringEquals", "aws:ResourceTag/team", "${aws:PrincipalTag/team}",
            variables=True, errors=[],
        )  # fmt: skip
        assert cond.evaluate(lambda k: known.get(k, UNKNOWN)) == frozenset(
            {"aws:PrincipalTag/team"}
        )

    def test_like_with_variable_keeps_wildcards_of_the_policy_only(self) -> None:
        known = {"s3:prefix": "home/alice/docs", "aws:username": "alice"}
        cond = parse_condition(
            "StringLike", "s3:prefix", "home/${aws:username}/*", variables=True, errors=[]
        )
        assert cond.evaluate(lambda k: known.get(k, UNKNOWN)) is True
        known["aws:username"] = "*"
        assert cond.evaluate(lambda k: known.get(k, UNKNOWN)) is False

    def test_no_variables_in_version_2008(self) -> None:
        assert ev("StringEquals", "${aws:username}", "${aws:username}", variables=False) is True


class TestParsing:
    def test_unknown_operator_is_unknown_and_reported(self) -> None:
        errors: list[str] = []
        conds = parse_conditions(
            {"StringEqualz": {"aws:SourceVpc": "x"}}, variables=True, errors=errors
        )
        assert errors and "StringEqualz" in errors[0]
        assert evaluate_conditions(conds, {"aws:sourcevpc": "x"}.get) == frozenset({KEY})

    def test_malformed_block(self) -> None:
        errors: list[str] = []
        conds = parse_conditions(["not", "an", "object"], variables=True, errors=errors)
        assert errors
        assert evaluate_conditions(conds, lambda k: UNKNOWN) == frozenset({"Condition"})

    def test_and_of_blocks_and_keys(self) -> None:
        block = {
            "StringEquals": {"aws:SourceVpc": "vpc-1", "aws:PrincipalAccount": "1"},
            "Bool": {"aws:SecureTransport": "true"},
        }
        conds = parse_conditions(block, variables=True, errors=[])
        assert len(conds) == 3
        ctx = {"aws:sourcevpc": "vpc-1", "aws:principalaccount": "1", "aws:securetransport": True}
        assert evaluate_conditions(conds, lambda k: ctx.get(k, UNKNOWN)) is True
        ctx["aws:principalaccount"] = "2"
        assert evaluate_conditions(conds, lambda k: ctx.get(k, UNKNOWN)) is False
        del ctx["aws:principalaccount"]
        assert evaluate_conditions(conds, lambda k: ctx.get(k, UNKNOWN)) == frozenset(
            {"aws:PrincipalAccount"}
        )
        ctx["aws:securetransport"] = False  # a False decides despite the unknown key
        assert evaluate_conditions(conds, lambda k: ctx.get(k, UNKNOWN)) is False

    def test_empty(self) -> None:
        assert parse_conditions(None, variables=True, errors=[]) == ()
        assert evaluate_conditions((), lambda k: UNKNOWN) is True
