from stratusec.checks import Status
from tests.checks.fixtures import inventory, res, run


def test_s3_bucket_default_encryption_pass_fail_unknown():
    enc = res(
        "aws_s3_bucket",
        "enc",
        config={
            "server_side_encryption_configuration": {
                "rule": [{"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}}]
            }
        },
    )
    plain = res("aws_s3_bucket", "plain", config={"server_side_encryption_configuration": None})
    unread = res(
        "aws_s3_bucket",
        "unread",
        unavailable=["server_side_encryption_configuration"],
        config={"server_side_encryption_configuration": None},
    )
    out = run("s3_bucket_default_encryption", inventory(enc, plain, unread))
    assert out["enc"][0] == Status.PASS and "aws:kms" in out["enc"][1]
    assert out["plain"][0] == Status.FAIL
    assert out["unread"][0] == Status.UNKNOWN
