from stratusec.providers.aws import sagemaker
from tests.conftest import ACCOUNT_ID as ACCOUNT
from tests.providers.aws.faults import fail_operation

ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker-exec"


def test_notebook_instances(aws, collector_ctx):
    aws("sagemaker").create_notebook_instance(
        NotebookInstanceName="research",
        InstanceType="ml.t3.medium",
        RoleArn=ROLE,
        DirectInternetAccess="Enabled",
        RootAccess="Enabled",
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    ctx = collector_ctx("sagemaker")
    [nb] = list(sagemaker.collect(ctx))
    assert nb.type == "aws_sagemaker_notebook_instance"
    assert nb.uid == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:notebook-instance/research"
    assert nb.config["role_arn"] == ROLE
    assert nb.config["direct_internet_access"] == "Enabled"
    assert nb.config["root_access"] == "Enabled"
    assert nb.config["status"] == "InService"
    assert nb.tags == {"team": "ml"}
    assert nb.targets("RUNS_AS") == [ROLE]
    assert nb.unavailable == []
    assert ctx.errors.items == []


def test_empty_region(collector_ctx):
    ctx = collector_ctx("sagemaker", "eu-west-1")
    assert list(sagemaker.collect(ctx)) == []
    assert ctx.errors.items == []


def test_describe_failure_is_unknown(aws, collector_ctx):
    aws("sagemaker").create_notebook_instance(
        NotebookInstanceName="research", InstanceType="ml.t3.medium", RoleArn=ROLE
    )
    ctx = collector_ctx("sagemaker")
    fail_operation(ctx, "DescribeNotebookInstance")
    [nb] = list(sagemaker.collect(ctx))
    assert nb.config["role_arn"] is None
    assert {"role_arn", "direct_internet_access", "root_access"} <= set(nb.unavailable)
    assert nb.targets("RUNS_AS") == []
    assert [e.api for e in ctx.errors.items] == ["describe_notebook_instance"]
