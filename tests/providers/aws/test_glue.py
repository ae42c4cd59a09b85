import json

from stratusec.providers.aws import glue
from tests.conftest import ACCOUNT_ID as ACCOUNT
from tests.providers.aws.faults import fail_operation

ROLE = f"arn:aws:iam::{ACCOUNT}:role/glue-etl"


def test_dev_endpoints_and_jobs(aws, collector_ctx):
    g = aws("glue")
    g.create_dev_endpoint(
        EndpointName="dev", RoleArn=ROLE, PublicKey="ssh-rsa AAAA test", Tags={"team": "data"}
    )
    g.create_job(
        Name="nightly",
        Role="glue-etl",  # a role name: recorded as its ARN
        Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/nightly.py"},
        DefaultArguments={"--db-password": "hunter2-secret"},
        Tags={"owner": "bi"},
    )
    ctx = collector_ctx("glue")
    records = {r.type: r for r in glue.collect(ctx)}
    ep = records["aws_glue_dev_endpoint"]
    assert ep.uid == f"arn:aws:glue:us-east-1:{ACCOUNT}:devEndpoint/dev"
    assert ep.config["role_arn"] == ROLE
    assert ep.config["status"] == "READY"
    assert ep.config["public_address"]
    assert ep.config["public_keys_count"] >= 1
    assert ep.tags == {"team": "data"}
    assert ep.targets("RUNS_AS") == [ROLE]
    job = records["aws_glue_job"]
    assert job.uid == f"arn:aws:glue:us-east-1:{ACCOUNT}:job/nightly"
    assert job.config["role_arn"] == ROLE
    assert job.config["command"]["script_location"] == "s3://scripts/nightly.py"
    assert job.config["default_argument_names"] == ["--db-password"]
    assert job.tags == {"owner": "bi"}
    assert job.targets("RUNS_AS") == [ROLE]
    assert "hunter2-secret" not in json.dumps([r.model_dump() for r in records.values()])
    assert ctx.errors.items == []


def test_empty_region(collector_ctx):
    ctx = collector_ctx("glue", "eu-west-1")
    assert list(glue.collect(ctx)) == []
    assert ctx.errors.items == []


def test_tag_failure_is_unknown(aws, collector_ctx):
    aws("glue").create_job(Name="j", Role=ROLE, Command={"Name": "glueetl"})
    ctx = collector_ctx("glue")
    fail_operation(ctx, "GetTags")
    fail_operation(ctx, "GetDevEndpoints")
    [job] = list(glue.collect(ctx))
    assert job.unavailable == ["tags"]
    assert {e.api for e in ctx.errors.items} == {"get_tags", "get_dev_endpoints"}
