"""Wildcards, ARNs, policy variables and three-valued logic."""

from __future__ import annotations

from typing import Any

import pytest

from stratusec.iam.matching import (
    PatternSet,
    arn_match,
    glob_match,
    parse_template,
    tri_and,
    tri_or,
    value_str,
)
from stratusec.iam.request import ABSENT, UNKNOWN


def lookup_of(values: dict[str, Any]) -> Any:
    return lambda key: values.get(key, UNKNOWN)


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("abc", "abc", True),
        ("abc", "ABC", False),  # case-sensitive
        ("a*c", "abbbc", True),
        ("a*c", "ac", True),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("a?c", "abbc", False),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y/z", True),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b", False),
        ("arn:aws:s3:::b", "arn:aws:s3:::b/x", False),
        ("*", "", True),
        ("a.c", "abc", False),  # regex metacharacters are literal
        ("a+c", "a+c", True),
        ("arn:*:iam::*", "arn:aws:iam::111:role/x", True),  # * spans ':' and '/'
    ],
)
def test_glob_match(pattern: str, value: str, expected: bool) -> None:
    assert glob_match(pattern, value) is expected


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("arn:aws:iam::*:role/ci-*", "arn:aws:iam::111111111111:role/ci-deploy", True),
        ("arn:aws:iam::*:role/ci-*", "arn:aws:iam::111111111111:user/ci-deploy", False),
        ("arn:aws:*:us-east-1:*:*", "arn:aws:sqs:eu-west-1:111111111111:q", False),
        ("arn:aws:*:us-east-1:*:*", "arn:aws:sqs:us-east-1:111111111111:q", True),
        # segment-wise: a wildcard in the service segment cannot eat the region
        ("arn:aws:s*:us-east-1:1:q", "arn:aws:sqs:x:us-east-1:1:q", False),
        ("arn:aws:logs:*:1:log-group:*", "arn:aws:logs:us-east-1:1:log-group:a:b", True),
        ("*", "anything", True),
        ("arn:aws:sns:*", "arn:aws:sns:us-east-1:1:t", True),  # short pattern: whole-string
        ("arn:aws:iam::1:ROLE/x", "arn:aws:iam::1:role/x", False),
    ],
)
def test_arn_match(pattern: str, value: str, expected: bool) -> None:
    assert arn_match(pattern, value) is expected


def test_value_str() -> None:
    assert value_str(True) == "true"
    assert value_str(False) == "false"
    assert value_str(3) == "3"
    assert value_str(["x"]) == "x"
    assert value_str(["x", "y"]) is None
    assert value_str(ABSENT) is None


class TestTemplates:
    def test_no_variable(self) -> None:
        assert parse_template("arn:aws:s3:::b/*") is None
        assert parse_template("${not a variable}") is None

    def test_variable_and_default(self) -> None:
        t = parse_template("home/${aws:username}/${aws:PrincipalTag/team, 'shared'}/*")
        assert t is not None
        assert [v.key for v in t.variables] == ["aws:username", "aws:PrincipalTag/team"]
        assert [v.default for v in t.variables] == [None, "shared"]

    def test_key_names_are_canonicalised(self) -> None:
        t = parse_template("${AWS:USERNAME}")
        assert t is not None and t.variables[0].key == "aws:username"

    def test_render(self) -> None:
        t = parse_template("home/${aws:username}/x")
        assert t is not None
        assert t.render(lookup_of({"aws:username": "alice"})) == "home/alice/x"
        assert t.render(lookup_of({"aws:username": ABSENT})) is None
        assert t.render(lookup_of({})) == frozenset({"aws:username"})

    def test_default_used_when_absent(self) -> None:
        t = parse_template("${aws:PrincipalTag/team, 'shared'}")
        assert t is not None
        assert t.render(lookup_of({"aws:principaltag/team": ABSENT})) == "shared"
        assert t.render(lookup_of({"aws:principaltag/team": "data"})) == "data"
        # unknown stays unknown even with a default: the tag might be set
        assert t.render(lookup_of({})) == frozenset({"aws:PrincipalTag/team"})

    def test_escapes_are_literal(self) -> None:
        t = parse_template("a${*}b${?}c${$}")
        assert t is not None
        assert t.render(lookup_of({})) == "a*b?c$"

    def test_absent_wins_over_unknown(self) -> None:
        t = parse_template("${aws:username}/${aws:PrincipalTag/x}")
        assert t is not None
        assert t.render(lookup_of({"aws:username": ABSENT})) is None


class TestPatternSet:
    def test_actions_ignore_case(self) -> None:
        ps = PatternSet(("S3:Get*", "iam:PassRole"), ignore_case=True)
        assert ps.match("s3:getobject") is True
        assert ps.match("iam:passrole") is True
        assert ps.match("s3:putobject") is False

    def test_match_all(self) -> None:
        assert PatternSet(("*",)).match("whatever") is True

    def test_empty_matches_nothing(self) -> None:
        assert PatternSet(()).match("x") is False

    def test_exact_and_wildcards(self) -> None:
        ps = PatternSet(("arn:aws:s3:::a", "arn:aws:s3:::b/*", "arn:aws:s3:::c?"))
        assert ps.match("arn:aws:s3:::a") is True
        assert ps.match("arn:aws:s3:::b/k") is True
        assert ps.match("arn:aws:s3:::cd") is True
        assert ps.match("arn:aws:s3:::b") is False

    def test_variables_resolve_per_request(self) -> None:
        ps = PatternSet(("arn:aws:s3:::home/${aws:username}/*",), variables=True)
        assert ps.match("arn:aws:s3:::home/alice/x", lookup_of({"aws:username": "alice"})) is True
        assert ps.match("arn:aws:s3:::home/bob/x", lookup_of({"aws:username": "alice"})) is False
        assert ps.match("arn:aws:s3:::home/bob/x", lookup_of({})) == frozenset({"aws:username"})
        assert ps.match("arn:aws:s3:::home/x/y", lookup_of({"aws:username": ABSENT})) is False

    def test_variable_values_are_literal(self) -> None:
        ps = PatternSet(("arn:aws:s3:::home/${aws:username}/*",), variables=True)
        assert ps.match("arn:aws:s3:::home/bob/x", lookup_of({"aws:username": "*"})) is False
        assert ps.match("arn:aws:s3:::home/*/x", lookup_of({"aws:username": "*"})) is True

    def test_known_match_beats_unknown_template(self) -> None:
        ps = PatternSet(("arn:aws:s3:::pub/*", "arn:aws:s3:::${aws:username}/*"), variables=True)
        assert ps.match("arn:aws:s3:::pub/x", lookup_of({})) is True

    def test_variables_off(self) -> None:
        ps = PatternSet(("arn:aws:s3:::${aws:username}",), variables=False)
        assert ps.match("arn:aws:s3:::${aws:username}", lookup_of({})) is True


def test_three_valued_logic() -> None:
    u = frozenset({"k"})
    v = frozenset({"j"})
    assert tri_and(True, True) is True
    assert tri_and(True, False) is False
    assert tri_and(u, False) is False
    assert tri_and(u, True) == u
    assert tri_and(u, v) == u | v
    assert tri_or(u, True) is True
    assert tri_or(False, False) is False
    assert tri_or(u, False) == u
    assert tri_or(u, v) == u | v
