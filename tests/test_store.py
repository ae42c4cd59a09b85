import pytest

from stratusec.errors import ConfigError, NotFoundError
from stratusec.inventory.models import Resource
from stratusec.store.db import Store, open_store


def res(uid: str, type_: str = "aws_s3_bucket", **config) -> Resource:
    r = Resource(
        uid=uid,
        account="123456789012",
        region="us-east-1",
        service="s3",
        type=type_,
        name=uid.rsplit(":", 1)[-1],
        tags={"env": "prod"},
        config=config,
        raw={"Name": uid},
        unavailable=["policy"],
    )
    r.relate("LOGS_TO", "arn:aws:s3:::logs", prefix="x/")
    return r


def test_scan_lifecycle_round_trip(store_url):
    store = open_store(store_url)
    store.migrate()  # idempotent
    sid = store.start_scan(
        account_name="prod", account_id="123456789012", regions=["us-east-1"], services=["s3"]
    )
    assert store.get_scan(sid).status == "running"
    assert store.latest_scan("prod") is None  # running scans are not "latest"
    store.add_resources(
        sid,
        [
            res("arn:aws:s3:::a", versioning={"status": "Enabled"}),
            res("arn:aws:s3:::b"),
            res("arn:aws:kms:k", "aws_kms_key"),
        ],
    )
    store.add_errors(
        sid,
        [
            {
                "service": "s3",
                "region": "global",
                "api": "GetBucketPolicy",
                "code": "AccessDenied",
                "message": "no",
                "resource": "b",
            }
        ],
    )
    store.finish_scan(
        sid,
        status="partial",
        resource_count=3,
        error_count=1,
        resource_counts={"aws_s3_bucket": 2, "aws_kms_key": 1},
    )
    scan = store.get_scan(sid)
    assert scan.status == "partial" and scan.finished_at is not None
    assert scan.finished_at.tzinfo is not None
    assert store.latest_scan("prod").id == sid
    assert store.count_resources(sid) == {"aws_s3_bucket": 2, "aws_kms_key": 1}
    buckets = list(store.iter_resources(sid, types=["aws_s3_bucket"]))
    assert [b.uid for b in buckets] == ["arn:aws:s3:::a", "arn:aws:s3:::b"]
    a = buckets[0]
    assert a.config == {"versioning": {"status": "Enabled"}}
    assert a.relationships[0].type == "LOGS_TO" and a.relationships[0].properties == {
        "prefix": "x/"
    }
    assert a.unavailable == ["policy"] and a.tags == {"env": "prod"}
    errs = store.scan_errors(sid)
    assert [(e.api, e.code) for e in errs] == [("GetBucketPolicy", "AccessDenied")]
    assert [s.id for s in store.list_scans("prod")] == [sid]
    store.delete_scan(sid)
    with pytest.raises(NotFoundError):
        store.get_scan(sid)
    store.close()


def test_bad_url_is_config_error():
    with pytest.raises(ConfigError, match="not a database URL"):
        Store("not a url")


def test_unreachable_postgres_is_config_error():
    store = Store("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match="cannot open the store"):
        store.migrate()
    assert "nobody" in store.safe_url
