"""``guardrail test --unit``: conftest-style test_ rules, with 'with input as' run safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from stratusec.guardrails import GuardrailError
from stratusec.guardrails.loader import LIBRARY
from stratusec.guardrails.unit import rewrite_tests, run_unit_tests

SEED = (LIBRARY / "rds_production_encrypted_multi_az.rego").read_text()
TESTS = """package stratusec.guardrails.rds_production_encrypted_multi_az_test

import data.stratusec.guardrails.rds_production_encrypted_multi_az as policy

prod_db := {
	"resource_type": "aws_db_instance",
	"resource_name": "orders-db",
	"tags": {"environment": "production"},
	"config": {"storage_encrypted": false, "multi_az": false},
}

test_unencrypted_single_az_db_fails_both if {
	count(policy.deny) == 2 with input as prod_db
}

test_compliant_db_passes if {
	db := {
		"resource_type": "aws_db_instance",
		"resource_name": "ok",
		"tags": {"environment": "production"},
		"config": {"storage_encrypted": true, "multi_az": true},
	}
	count(policy.deny) == 0 with input as db
}

test_message if {
	msg := "x: production database is not multi-AZ (multi_az is not true)"
	msg in policy.deny with input as {
		"resource_type": "aws_db_instance", "resource_name": "x",
		"tags": {"Environment": "prod"}, "config": {"storage_encrypted": true},
	}
}

test_wrong_expectation if {
	count(policy.deny) == 1 with input as prod_db
}

test_bundled_policies_are_there_too if {
	vol := {"resource_type": "aws_ebs_volume", "resource_name": "v", "config": {"encrypted": false}}
	count(data.stratusec.guardrails.ebs_volume_encrypted.deny) == 1 with input as vol
}
"""


def _write(tmp_path: Path, tests: str = TESTS) -> Path:
    (tmp_path / "rds_production_encrypted_multi_az.rego").write_text(SEED)
    (tmp_path / "rds_production_encrypted_multi_az_test.rego").write_text(tests)
    return tmp_path


def test_runs_every_test_rule(tmp_path: Path) -> None:
    report = run_unit_tests(_write(tmp_path))
    results = {r.name: r for r in report.results}
    assert list(results) == [
        "test_unencrypted_single_az_db_fails_both",
        "test_compliant_db_passes",
        "test_message",
        "test_wrong_expectation",
        "test_bundled_policies_are_there_too",
    ]
    assert {n for n, r in results.items() if not r.passed} == {"test_wrong_expectation"}
    failed = results["test_wrong_expectation"]
    assert failed.line == TESTS.splitlines().index("test_wrong_expectation if {") + 1
    assert "false" in failed.message
    assert (report.passed, report.failed) == (4, 1)
    assert report.policies == ["stratusec.guardrails.rds_production_encrypted_multi_az"]
    # a single test file: the policies beside it are loaded
    one = run_unit_tests(tmp_path / "rds_production_encrypted_multi_az_test.rego")
    assert (one.passed, one.failed) == (4, 1)


def test_rewrite_keeps_lines_and_columns() -> None:
    rewritten, tests = rewrite_tests(TESTS, "t_test.rego")
    original = TESTS.splitlines()
    for no, line in enumerate(rewritten.splitlines()[: len(original)]):
        assert len(line) == len(original[no]), no
    assert "with" not in rewritten.replace("without", "")
    assert [t.input_rule is not None for t in tests] == [True, True, True, True, True]
    assert "__stratusec_input_test_compliant_db_passes := db if {" in rewritten


def test_refused_test_shapes(tmp_path: Path) -> None:
    two = TESTS + (
        "\ntest_two_inputs if {\n\tcount(policy.deny) == 2 with input as prod_db\n"
        "\tcount(policy.deny) == 0 with input as {}\n}\n"
    )
    with pytest.raises(GuardrailError, match=r"two different 'with input as' values"):
        run_unit_tests(_write(tmp_path, two))
    other = TESTS + "\ntest_data if {\n\tpolicy.deny with data.x as 1\n}\n"
    with pytest.raises(GuardrailError, match=r"only 'with input as \.\.\.' is supported"):
        run_unit_tests(_write(tmp_path, other))
    outside = TESTS + "\nhelper := x if {\n\tx := policy.deny with input as prod_db\n}\n"
    with pytest.raises(GuardrailError, match=r"only supported as 'with input as \.\.\.' inside"):
        run_unit_tests(_write(tmp_path, outside))
    twice = TESTS + "\ntest_message if {\n\ttrue\n}\n"
    with pytest.raises(GuardrailError, match="test test_message is defined twice"):
        run_unit_tests(_write(tmp_path, twice))


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(GuardrailError, match="no such file or directory"):
        run_unit_tests(tmp_path / "missing")
    (tmp_path / "p.rego").write_text(SEED)
    with pytest.raises(GuardrailError, match="no test files"):
        run_unit_tests(tmp_path)
    with pytest.raises(GuardrailError, match="is not a test file"):
        run_unit_tests(tmp_path / "p.rego")
    (tmp_path / "broken_test.rego").write_text("package t\n\ntest_a if {\n\tx := \n}\n")
    with pytest.raises(GuardrailError, match=r"broken_test\.rego:4:4: does not parse"):
        run_unit_tests(tmp_path)
