import json

from stratusec.providers.aws import codebuild
from tests.conftest import ACCOUNT_ID as ACCOUNT
from tests.providers.aws.faults import fail_operation, stub_operation

ROLE = f"arn:aws:iam::{ACCOUNT}:role/codebuild-service"
BATCH_ROLE = f"arn:aws:iam::{ACCOUNT}:role/codebuild-batch"


def _project(aws, name: str, **extra):
    aws("codebuild").create_project(
        name=name,
        source={"type": "GITHUB", "location": "https://bot:ghp_token123@github.com/acme/app.git"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": "BUILD_GENERAL1_SMALL",
            "environmentVariables": [{"name": "NPM_TOKEN", "value": "hunter2-secret"}],
        },
        serviceRole=ROLE,
        tags=[{"key": "team", "value": "platform"}],
        **extra,
    )


def test_projects(aws, collector_ctx):
    _project(aws, "app")
    _project(aws, "docs")
    ctx = collector_ctx("codebuild")
    records = {r.name: r for r in codebuild.collect(ctx)}
    app = records["app"]
    assert app.type == "aws_codebuild_project"
    assert app.uid == f"arn:aws:codebuild:us-east-1:{ACCOUNT}:project/app"
    assert app.config["service_role"] == ROLE
    assert app.config["build_batch_config"] is None
    assert app.config["source"]["location"] == "https://github.com/acme/app.git"
    assert [v["name"] for v in app.config["environment"]["environment_variables"]] == ["NPM_TOKEN"]
    assert app.tags == {"team": "platform"}
    assert app.targets("RUNS_AS") == [ROLE]
    dumped = json.dumps([r.model_dump() for r in records.values()])
    assert "hunter2-secret" not in dumped and "ghp_token123" not in dumped
    assert ctx.errors.items == []


def test_batch_build_role(collector_ctx):
    # moto drops buildBatchConfig: answer BatchGetProjects as AWS does.
    ctx = collector_ctx("codebuild")
    arn = f"arn:aws:codebuild:us-east-1:{ACCOUNT}:project/app"
    stub_operation(ctx, "ListProjects", {"projects": ["app"]})
    stub_operation(
        ctx,
        "BatchGetProjects",
        {
            "projects": [
                {
                    "name": "app",
                    "arn": arn,
                    "serviceRole": ROLE,
                    "buildBatchConfig": {"serviceRole": BATCH_ROLE, "timeoutInMins": 60},
                    "source": {"type": "CODECOMMIT", "buildspec": "version: 0.2\nphases: {}"},
                }
            ]
        },
    )
    [app] = list(codebuild.collect(ctx))
    assert app.config["build_batch_config"]["service_role"] == BATCH_ROLE
    assert app.config["source"]["inline_buildspec"] is True
    assert "buildspec" not in app.raw["Project"]["source"]
    assert [(r.target, r.properties) for r in app.relationships] == [
        (ROLE, {}),
        (BATCH_ROLE, {"purpose": "batch"}),
    ]


def test_many_projects_are_fetched_in_batches(aws, collector_ctx):
    for i in range(105):
        aws("codebuild").create_project(
            name=f"p{i}",
            source={"type": "S3", "location": "artifacts/src.zip"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
            serviceRole=ROLE,
        )
    ctx = collector_ctx("codebuild")
    assert len(list(codebuild.collect(ctx))) == 105
    assert ctx.errors.items == []


def test_strip_credentials():
    assert codebuild.strip_credentials("https://u:p@h/x") == "https://h/x"
    assert codebuild.strip_credentials("https://h/x@y") == "https://h/x@y"
    assert codebuild.strip_credentials(None) is None


def test_empty_region_and_failures(aws, collector_ctx):
    ctx = collector_ctx("codebuild", "eu-west-1")
    assert list(codebuild.collect(ctx)) == []
    assert ctx.errors.items == []
    _project(aws, "app")
    ctx = collector_ctx("codebuild")
    fail_operation(ctx, "BatchGetProjects")
    assert list(codebuild.collect(ctx)) == []
    assert [e.api for e in ctx.errors.items] == ["batch_get_projects"]
