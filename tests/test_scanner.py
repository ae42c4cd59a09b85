import threading
import types

import pytest

from stratusec.config import Account, CredentialSource, ScanSettings
from stratusec.errors import CredentialsError, NotFoundError
from stratusec.providers.aws import registry
from stratusec.providers.aws.scanner import run_scan, validate_regions, validate_services
from stratusec.store.db import open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 's.db'}")
    yield s
    s.close()


def fake_service(monkeypatch, name, collect, global_=False):
    mod = types.SimpleNamespace(SERVICE=name, GLOBAL=global_, collect=collect)
    monkeypatch.setitem(registry.MODULES, name, name)
    real_load = registry.load
    monkeypatch.setattr(registry, "load", lambda s: mod if s == name else real_load(s))
    return mod


def test_scan_guardduty_into_store(account, aws, store):
    aws("guardduty", "us-east-1").create_detector(Enable=True)
    events = []
    out = run_scan(account, store, services=["guardduty"], on_event=events.append)
    assert out.status == "succeeded"
    assert out.resource_counts == {"aws_guardduty_detector": 1, "aws_guardduty_region": 2}
    assert out.api_calls >= 3 and out.api_attempts >= out.api_calls
    assert out.account_id == "123456789012"
    assert {e.kind for e in events} == {"plan", "start", "done"}
    scan = store.get_scan(out.scan_id)
    assert (
        scan.status == "succeeded" and scan.resource_count == 3 and scan.api_calls == out.api_calls
    )
    assert len(list(store.iter_resources(out.scan_id))) == 3


def test_failing_collector_makes_scan_partial_not_aborted(account, store, monkeypatch):
    def boom(ctx):
        yield ctx.resource(uid=ctx.arn("boom", "first"), type="aws_boom", name="first")
        raise KeyError("unexpected shape")

    fake_service(monkeypatch, "boom", boom)
    out = run_scan(account, store, services=["boom", "guardduty"])
    assert out.status == "partial"
    assert {(e.service, e.api, e.code) for e in out.errors} == {("boom", "collector", "KeyError")}
    assert out.resource_counts["aws_guardduty_region"] == 2  # other services still collected
    assert out.resource_counts["aws_boom"] == 2  # what was yielded before the crash stands
    assert [e.code for e in store.scan_errors(out.scan_id)] == ["KeyError", "KeyError"]
    assert store.get_scan(out.scan_id).status == "partial"


def test_failing_api_is_recorded_per_service_region_api(account, store, monkeypatch):
    def denied(ctx):
        # A real call that fails: describe a detector that does not exist.
        ctx.call(ctx.client("guardduty"), "get_detector", DetectorId="missing-detector-id")
        yield from ()

    fake_service(monkeypatch, "denied", denied)
    out = run_scan(account, store, services=["denied"], regions=["eu-west-1"])
    assert out.status == "partial"
    [err] = out.errors
    assert (err.service, err.region, err.api) == ("denied", "eu-west-1", "get_detector")


def test_duplicate_uids_are_stored_once(account, store, monkeypatch):
    def dup(ctx):
        yield ctx.resource(uid="arn:aws:dup:::same", type="aws_dup", name="same")

    fake_service(monkeypatch, "dup", dup)
    out = run_scan(account, store, services=["dup"])  # two regions -> same uid twice
    assert out.resource_counts == {"aws_dup": 1}
    assert out.duplicates == 1


def test_tasks_run_concurrently(account, store, monkeypatch):
    barrier = threading.Barrier(2, timeout=10)

    def wait_for_other_region(ctx):
        barrier.wait()  # raises BrokenBarrierError if tasks were serialised
        yield ctx.resource(uid=ctx.arn("c", "x"), type="aws_c", name=ctx.region)

    fake_service(monkeypatch, "conc", wait_for_other_region)
    out = run_scan(account, store, services=["conc"], settings=ScanSettings(max_workers=4))
    assert out.status == "succeeded", out.errors
    assert out.resource_counts == {"aws_c": 2}


def test_unreachable_endpoint_fails_before_creating_a_scan(store):
    acct = Account(
        name="gone",
        credentials=CredentialSource(source="emulator"),
        endpoint_url="http://127.0.0.1:9",
        regions=["us-east-1"],
    )
    with pytest.raises(
        CredentialsError, match=r"cannot reach the AWS endpoint at http://127\.0\.0\.1:9"
    ):
        run_scan(acct, store, services=["guardduty"])
    assert store.list_scans() == []


def test_missing_env_credentials(store, monkeypatch):
    acct = Account(
        name="envacct", credentials=CredentialSource(source="env"), regions=["us-east-1"]
    )
    with pytest.raises(CredentialsError, match="needs AWS_ACCESS_KEY_ID"):
        run_scan(acct, store, services=["guardduty"])


def test_account_id_mismatch(account, store):
    account.account_id = "999999999999"
    with pytest.raises(NotFoundError, match="belong to 123456789012"):
        run_scan(account, store, services=["guardduty"])


def test_validation_of_names():
    with pytest.raises(NotFoundError, match="unknown region 'eu-west-9'"):
        validate_regions(["eu-west-9"])
    assert validate_regions(["us-east-1", "us-east-1"]) == ["us-east-1"]
    with pytest.raises(NotFoundError, match="valid services: iam, s3"):
        validate_services(["ec3"])
    assert validate_services(None) == registry.all_services()


def test_enabled_regions_when_config_has_none(account, store):
    account.regions = []
    out = run_scan(account, store, services=["guardduty"])
    assert len(out.regions) > 10 and "eu-west-1" in out.regions
