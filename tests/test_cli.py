import json

import yaml

from stratusec import paths
from tests.cli_helpers import run_cli


def test_init_verifies_and_writes_config(capsys, moto_url, stratusec_home):
    r = run_cli(
        capsys,
        "init",
        "--provider",
        "aws",
        "--endpoint-url",
        moto_url,
        "--account-name",
        "lab",
        "--regions",
        "us-east-1,eu-west-1",
    )
    assert r.code == 0, r.err
    assert "verified: arn:aws:sts::123456789012:user/moto" in r.err
    data = yaml.safe_load(paths.config_path().read_text())
    [acct] = data["accounts"]
    assert acct["name"] == "lab" and acct["account_id"] == "123456789012"
    assert acct["regions"] == ["us-east-1", "eu-west-1"]
    assert acct["credentials"]["source"] == "emulator" and acct["endpoint_url"] == moto_url
    assert (paths.config_path().stat().st_mode & 0o777) == 0o600


def test_init_unreachable_endpoint_changes_nothing(capsys, stratusec_home):
    r = run_cli(capsys, "init", "--provider", "aws", "--endpoint-url", "http://127.0.0.1:9")
    assert r.code == 2
    assert "cannot reach the AWS endpoint at http://127.0.0.1:9" in r.err
    assert "Traceback" not in r.err + r.out
    assert not paths.config_path().exists()


def test_init_missing_profile(capsys):
    r = run_cli(capsys, "init", "--provider", "aws", "--profile", "nosuch")
    assert r.code == 2 and "AWS profile 'nosuch' not found" in r.err


def test_init_missing_credentials(capsys):
    r = run_cli(capsys, "init", "--provider", "aws", "--regions", "us-east-1")
    assert r.code == 2
    assert "no AWS credentials found" in r.err


def test_init_bad_provider_and_region(capsys):
    assert "unknown provider 'gcp'" in run_cli(capsys, "init", "--provider", "gcp").err
    r = run_cli(capsys, "init", "--provider", "aws", "--regions", "moon-1")
    assert r.code == 2 and "unknown region 'moon-1'" in r.err


def _init(capsys, moto_url):
    r = run_cli(
        capsys,
        "init",
        "--provider",
        "aws",
        "--endpoint-url",
        moto_url,
        "--account-name",
        "lab",
        "--regions",
        "us-east-1",
    )
    assert r.code == 0, r.err


def test_scan_json_and_exit_codes(capsys, moto_url, aws):
    _init(capsys, moto_url)
    aws("guardduty").create_detector(Enable=True)
    r = run_cli(capsys, "scan", "--account", "lab", "--services", "guardduty", "--output", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)  # stdout is JSON only; progress went to stderr
    [scan] = data["scans"]
    assert scan["status"] == "succeeded" and scan["resource_count"] == 2
    assert "guardduty/us-east-1" in r.err
    r = run_cli(capsys, "scans", "--output", "json")
    assert json.loads(r.out)["scans"][0]["scan_id"] == scan["scan_id"]


def test_scan_table_summary(capsys, moto_url):
    _init(capsys, moto_url)
    r = run_cli(capsys, "scan", "--services", "guardduty", "--no-progress")
    assert r.code == 0
    assert "Scan of lab (123456789012)" in r.out and "guardduty" in r.out


def test_scan_bad_inputs_exit_2(capsys, moto_url, stratusec_home):
    r = run_cli(capsys, "scan")
    assert r.code == 2 and "no accounts configured" in r.err
    _init(capsys, moto_url)
    for args, msg in [
        (["--account", "nope"], "unknown account 'nope'; configured accounts: lab"),
        (["--regions", "us-east-7"], "unknown region 'us-east-7'"),
        (["--services", "s4"], "unknown service 's4'"),
        (["--output", "xml"], "unknown output 'xml'"),
    ]:
        r = run_cli(capsys, "scan", *args)
        assert r.code == 2, args
        assert msg in r.err
        assert "Traceback" not in r.err


def test_invalid_config_exit_2(capsys, stratusec_home):
    stratusec_home.mkdir(parents=True, exist_ok=True)
    paths.config_path().write_text("accounts:\n  - name: x\n    colour: blue\n")
    r = run_cli(capsys, "scan")
    assert r.code == 2
    assert "unknown key 'accounts[0].colour'" in r.err and str(paths.config_path()) in r.err


def test_unreachable_endpoint_on_scan(capsys, stratusec_home):
    stratusec_home.mkdir(parents=True, exist_ok=True)
    paths.config_path().write_text(
        "accounts:\n  - name: x\n    endpoint_url: http://127.0.0.1:9\n"
        "    regions: [us-east-1]\n    credentials: {source: emulator}\n"
    )
    r = run_cli(capsys, "scan")
    assert r.code == 2 and "cannot reach the AWS endpoint" in r.err
