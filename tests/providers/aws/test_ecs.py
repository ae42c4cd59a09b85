from typing import Any

from stratusec.providers.aws import ecs
from tests.providers.aws.faults import fail_operation

ACCT = "123456789012"
REGION = "us-east-1"
SECRET_VALUE = "hunter2-super-secret-value"
OVERRIDE_SECRET = "override-secret-value"
TASK_ROLE = f"arn:aws:iam::{ACCT}:role/web-task"
EXEC_ROLE = f"arn:aws:iam::{ACCT}:role/web-exec"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:api-key"


def _seed(aws: Any) -> dict[str, str]:
    ec2 = aws("ec2", REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    client = aws("ecs", REGION)
    cluster = client.create_cluster(
        clusterName="prod",
        settings=[{"name": "containerInsights", "value": "enabled"}],
        tags=[{"key": "env", "value": "prod"}],
    )["cluster"]["clusterArn"]
    # Revision 1 is what the service runs; revision 2 is the latest of the family.
    for image in ("nginx:1", "nginx:2"):
        client.register_task_definition(
            family="web",
            taskRoleArn=TASK_ROLE,
            executionRoleArn=EXEC_ROLE,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": "app",
                    "image": image,
                    "memory": 256,
                    "essential": True,
                    "environment": [{"name": "DB_PASSWORD", "value": SECRET_VALUE}],
                    "secrets": [{"name": "API_KEY", "valueFrom": SECRET_ARN}],
                    "command": ["--token", SECRET_VALUE],
                    "privileged": True,
                    "readonlyRootFilesystem": False,
                    "user": "root",
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {"awslogs-group": "/ecs/web"},
                    },
                }
            ],
            tags=[{"key": "app", "value": "web"}],
        )
    service = client.create_service(
        cluster="prod",
        serviceName="web",
        taskDefinition="web:1",
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": [subnet],
                "securityGroups": [sg],
                "assignPublicIp": "ENABLED",
            }
        },
        tags=[{"key": "owner", "value": "team-web"}],
    )["service"]["serviceArn"]
    return {"cluster": cluster, "service": service, "subnet": subnet, "sg": sg}


def test_public_service_task_definition_and_task(aws, collector_ctx):
    seeded = _seed(aws)
    client = aws("ecs", REGION)
    # moto cannot run an awsvpc task (it crashes building the ENI): run a bridge one.
    client.register_task_definition(
        family="batch", containerDefinitions=[{"name": "job", "image": "busybox", "memory": 128}]
    )
    task_arn = client.run_task(
        cluster="prod",
        taskDefinition="batch",
        launchType="FARGATE",
        overrides={
            "containerOverrides": [
                {"name": "job", "environment": [{"name": "TOKEN", "value": OVERRIDE_SECRET}]}
            ],
            "taskRoleArn": f"arn:aws:iam::{ACCT}:role/batch-override",
        },
    )["tasks"][0]["taskArn"]
    ctx = collector_ctx("ecs", REGION)
    resources = list(ecs.collect(ctx))
    assert ctx.errors.items == []
    by_uid = {r.uid: r for r in resources}

    cluster = by_uid[seeded["cluster"]]
    assert cluster.type == "aws_ecs_cluster"
    assert cluster.name == "prod"
    assert cluster.tags == {"env": "prod"}
    assert cluster.config["container_insights"] == "enabled"
    assert cluster.config["setting"] == [{"name": "containerInsights", "value": "enabled"}]

    td1 = f"arn:aws:ecs:{REGION}:{ACCT}:task-definition/web:1"
    td2 = f"arn:aws:ecs:{REGION}:{ACCT}:task-definition/web:2"
    svc = by_uid[seeded["service"]]
    assert svc.type == "aws_ecs_service"
    assert svc.tags == {"owner": "team-web"}
    assert svc.config["cluster"] == seeded["cluster"]
    assert svc.config["task_definition"] == td1
    assert svc.config["desired_count"] == 2
    assert svc.config["launch_type"] == "FARGATE"
    assert svc.config["network_configuration"] == {
        "subnets": [seeded["subnet"]],
        "security_groups": [seeded["sg"]],
        "assign_public_ip": True,
    }
    assert svc.targets("IN_CLUSTER") == [seeded["cluster"]]
    assert svc.targets("USES_TASK_DEFINITION") == [td1]
    assert svc.targets("IN_SUBNET") == [f"arn:aws:ec2:{REGION}:{ACCT}:subnet/{seeded['subnet']}"]
    assert svc.targets("HAS_SECURITY_GROUP") == [
        f"arn:aws:ec2:{REGION}:{ACCT}:security-group/{seeded['sg']}"
    ]

    # Both the revision in use (1) and the family's latest (2) are collected.
    tds = {r.uid: r for r in resources if r.type == "aws_ecs_task_definition"}
    assert set(tds) == {td1, td2, f"arn:aws:ecs:{REGION}:{ACCT}:task-definition/batch:1"}
    td = tds[td1]
    assert td.name == "web:1"
    assert td.tags == {"app": "web"}
    c = td.config
    assert c["family"] == "web"
    assert c["revision"] == 1
    assert c["task_role_arn"] == TASK_ROLE
    assert c["execution_role_arn"] == EXEC_ROLE
    assert c["network_mode"] == "awsvpc"
    assert c["requires_compatibilities"] == ["FARGATE"]
    assert c["privileged_containers"] == ["app"]
    [container] = c["container_definitions"]
    assert container["environment_variable_names"] == ["DB_PASSWORD"]
    assert container["environment_references"] == []  # no value names a resource
    assert container["secrets"] == [{"name": "API_KEY", "value_from": SECRET_ARN}]
    assert container["privileged"] is True
    assert container["readonly_root_filesystem"] is False
    assert container["user"] == "root"
    assert container["log_configuration"]["log_driver"] == "awslogs"
    assert td.targets("RUNS_AS") == [TASK_ROLE]
    assert td.targets("USES_EXECUTION_ROLE") == [EXEC_ROLE]

    task = by_uid[task_arn]
    assert task.type == "aws_ecs_task"
    assert task.config["launch_type"] == "FARGATE"
    assert task.targets("IN_CLUSTER") == [seeded["cluster"]]
    assert task.targets("USES_TASK_DEFINITION") == [
        f"arn:aws:ecs:{REGION}:{ACCT}:task-definition/batch:1"
    ]
    assert task.targets("RUNS_AS") == [f"arn:aws:iam::{ACCT}:role/batch-override"]
    assert task.raw["Task"]["overrides"]["containerOverrides"][0]["environmentVariableNames"] == [
        "TOKEN"
    ]

    # No environment value (nor the command that embeds it) appears in any record.
    for r in resources:
        dumped = r.model_dump_json()
        assert SECRET_VALUE not in dumped
        assert OVERRIDE_SECRET not in dumped


def test_only_latest_unused_revision_is_collected(aws, collector_ctx):
    client = aws("ecs", REGION)
    for image in ("a", "b", "c"):
        client.register_task_definition(
            family="worker", containerDefinitions=[{"name": "w", "image": image, "memory": 64}]
        )
    ctx = collector_ctx("ecs", REGION)
    resources = list(ecs.collect(ctx))
    assert ctx.errors.items == []
    assert [r.uid for r in resources] == [f"arn:aws:ecs:{REGION}:{ACCT}:task-definition/worker:3"]


def test_empty_region_has_no_records_and_no_errors(collector_ctx):
    ctx = collector_ctx("ecs", "eu-west-1")
    assert list(ecs.collect(ctx)) == []
    assert ctx.errors.items == []


def test_undescribed_cluster_is_kept_with_unknown_settings(aws, collector_ctx):
    arn = aws("ecs", REGION).create_cluster(clusterName="c")["cluster"]["clusterArn"]
    ctx = collector_ctx("ecs", REGION)
    fail_operation(ctx, "DescribeClusters", "AccessDeniedException")
    [cluster] = list(ecs.collect(ctx))
    assert cluster.uid == arn
    assert "container_insights" in cluster.unavailable
    assert cluster.config.get("container_insights") is None
    assert [(e.api, e.code) for e in ctx.errors.items] == [
        ("describe_clusters", "AccessDeniedException")
    ]
