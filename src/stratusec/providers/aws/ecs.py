"""ECS: clusters, services, tasks and task definitions, per region.

Task definitions: every account accumulates revisions, so this collects, per family, the
latest ACTIVE revision, plus every revision (ACTIVE or not) that a service or a running
task uses. Older unused ACTIVE revisions are left out (they can still be run, but they
are not what runs).

Secrets never enter a record: container environment variables, docker labels and task
overrides keep variable NAMES only; ``secrets`` keep names and ``valueFrom`` ARNs;
``command`` / ``entryPoint`` are left out (they often embed credentials).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import ec2_arn, environment_references

SERVICE = "ecs"
GLOBAL = False

_CLUSTER_BATCH = 100  # DescribeClusters limit
_SERVICE_BATCH = 10  # DescribeServices limit
_TASK_BATCH = 100  # DescribeTasks limit

# Container-definition keys copied as-is into the sanitized record (no secrets there).
_SAFE_CONTAINER_KEYS = (
    "name",
    "image",
    "essential",
    "cpu",
    "memory",
    "memoryReservation",
    "portMappings",
    "links",
    "privileged",
    "readonlyRootFilesystem",
    "user",
    "workingDirectory",
    "linuxParameters",
    "logConfiguration",
    "mountPoints",
    "volumesFrom",
    "environmentFiles",
    "repositoryCredentials",
    "disableNetworking",
    "interactive",
    "pseudoTerminal",
    "dnsServers",
    "extraHosts",
    "ulimits",
    "systemControls",
    "healthCheck",
    "dependsOn",
    "firelensConfiguration",
    "resourceRequirements",
)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _env_names(items: Any) -> list[str]:
    return sorted({str(e["name"]) for e in items or [] if isinstance(e, dict) and e.get("name")})


def _secrets(items: Any) -> list[dict[str, Any]]:
    return [
        {"name": s.get("name"), "value_from": s.get("valueFrom")}
        for s in items or []
        if isinstance(s, dict)
    ]


def sanitize_container(cd: dict[str, Any]) -> dict[str, Any]:
    """A container definition without environment values, labels' values or commands."""
    out = {k: cd[k] for k in _SAFE_CONTAINER_KEYS if k in cd}
    out["environmentVariableNames"] = _env_names(cd.get("environment"))
    out["secrets"] = [
        {"name": s["name"], "valueFrom": s["value_from"]} for s in _secrets(cd.get("secrets"))
    ]
    out["dockerLabelNames"] = sorted((cd.get("dockerLabels") or {}).keys())
    out["hasCommand"] = bool(cd.get("command") or cd.get("entryPoint"))
    return out


def _container_config(cd: dict[str, Any]) -> dict[str, Any]:
    """A sanitized container definition with snake_case keys for checks."""
    log = cd.get("logConfiguration") or {}
    lp = cd.get("linuxParameters") or {}
    caps = lp.get("capabilities") or {}
    return {
        "name": cd.get("name"),
        "image": cd.get("image"),
        "essential": cd.get("essential"),
        "privileged": cd.get("privileged"),
        "readonly_root_filesystem": cd.get("readonlyRootFilesystem"),
        "user": cd.get("user"),
        "environment_variable_names": _env_names(cd.get("environment")),
        # Values only of the variables that name a resource (bucket, table, queue, ARN).
        "environment_references": environment_references(cd.get("environment")),
        "secrets": _secrets(cd.get("secrets")),
        "environment_files": [f.get("value") for f in cd.get("environmentFiles") or []],
        "log_configuration": {
            "log_driver": log.get("logDriver"),
            "options": log.get("options"),
            "secret_options": _secrets(log.get("secretOptions")),
        }
        if log
        else None,
        "port_mappings": cd.get("portMappings") or [],
        "linux_capabilities_add": caps.get("add") or [],
        "init_process_enabled": lp.get("initProcessEnabled"),
        "mount_points": cd.get("mountPoints") or [],
        "repository_credentials": (cd.get("repositoryCredentials") or {}).get(
            "credentialsParameter"
        ),
        "docker_label_names": sorted((cd.get("dockerLabels") or {}).keys()),
    }


def _sanitize_overrides(ov: dict[str, Any] | None) -> dict[str, Any] | None:
    if not ov:
        return ov
    out = {k: v for k, v in ov.items() if k != "containerOverrides"}
    out["containerOverrides"] = [
        {
            "name": co.get("name"),
            "environmentVariableNames": _env_names(co.get("environment")),
            "environmentFiles": co.get("environmentFiles"),
            "hasCommand": bool(co.get("command")),
        }
        for co in ov.get("containerOverrides") or []
    ]
    return out


def _network(svc: dict[str, Any]) -> dict[str, Any] | None:
    vpc = (svc.get("networkConfiguration") or {}).get("awsvpcConfiguration")
    if not vpc:
        return None
    ip = vpc.get("assignPublicIp")
    return {
        "subnets": list(vpc.get("subnets") or []),
        "security_groups": list(vpc.get("securityGroups") or []),
        "assign_public_ip": None if ip is None else ip == "ENABLED",
    }


def _family_revision(arn: str) -> tuple[str, int] | None:
    tail = arn.rsplit("/", 1)[-1]
    family, _, rev = tail.rpartition(":")
    return (family, int(rev)) if family and rev.isdigit() else None


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    ecs = ctx.client()

    # -- clusters --------------------------------------------------------------------
    cluster_arns = list(ctx.pages(ecs, "list_clusters", "clusterArns"))
    for batch in _chunks(cluster_arns, _CLUSTER_BATCH):
        resp = ctx.call(
            ecs,
            "describe_clusters",
            clusters=batch,
            include=["SETTINGS", "TAGS", "CONFIGURATIONS"],
        )
        if resp.failed:
            for arn in batch:  # listed but not described: a bare record, all unknown
                yield ctx.resource(
                    uid=arn,
                    type="aws_ecs_cluster",
                    name=arn.rsplit("/", 1)[-1],
                    config={"name": arn.rsplit("/", 1)[-1], "arn": arn},
                    unavailable=["setting", "configuration", "tags", "container_insights"],
                )
            continue
        for cl in resp.data.get("clusters") or []:
            yield _cluster(ctx, cl)

    # -- services and tasks, per cluster ---------------------------------------------
    used_task_defs: set[str] = set()

    def per_cluster(cluster_arn: str) -> tuple[list[Resource], set[str]]:
        out: list[Resource] = []
        used: set[str] = set()
        svc_arns = list(
            ctx.pages(
                ecs, "list_services", "serviceArns", cluster=cluster_arn, resource=cluster_arn
            )
        )
        for batch in _chunks(svc_arns, _SERVICE_BATCH):
            resp = ctx.call(
                ecs,
                "describe_services",
                cluster=cluster_arn,
                services=batch,
                include=["TAGS"],
                resource=cluster_arn,
            )
            for svc in resp.data.get("services") or []:
                res = _service(ctx, svc, cluster_arn)
                used.update(res.targets("USES_TASK_DEFINITION"))
                out.append(res)
        task_arns = list(
            ctx.pages(ecs, "list_tasks", "taskArns", cluster=cluster_arn, resource=cluster_arn)
        )
        for batch in _chunks(task_arns, _TASK_BATCH):
            resp = ctx.call(
                ecs,
                "describe_tasks",
                cluster=cluster_arn,
                tasks=batch,
                include=["TAGS"],
                resource=cluster_arn,
            )
            for task in resp.data.get("tasks") or []:
                res = _task(ctx, task, cluster_arn)
                used.update(res.targets("USES_TASK_DEFINITION"))
                out.append(res)
        return out, used

    for records, used in ctx.map(per_cluster, cluster_arns):
        used_task_defs |= used
        yield from records

    # -- task definitions: latest ACTIVE revision per family + every revision in use --
    latest: dict[str, tuple[int, str]] = {}
    for arn in ctx.pages(ecs, "list_task_definitions", "taskDefinitionArns", status="ACTIVE"):
        fr = _family_revision(arn)
        if fr and (fr[0] not in latest or fr[1] > latest[fr[0]][0]):
            latest[fr[0]] = (fr[1], arn)
    wanted = sorted({arn for _, arn in latest.values()} | used_task_defs)
    latest.clear()

    def task_definition(arn: str) -> Resource | None:
        resp = ctx.call(
            ecs, "describe_task_definition", taskDefinition=arn, include=["TAGS"], resource=arn
        )
        if not resp.ok:
            return None
        return _task_definition(ctx, resp.data.get("taskDefinition") or {}, resp.data.get("tags"))

    for res in ctx.map(task_definition, wanted):
        if res is not None:
            yield res


def _cluster(ctx: CollectorContext, cl: dict[str, Any]) -> Resource:
    arn = cl.get("clusterArn") or ctx.arn("ecs", f"cluster/{cl.get('clusterName')}")
    name = cl.get("clusterName") or arn.rsplit("/", 1)[-1]
    settings = {s.get("name"): s.get("value") for s in cl.get("settings") or []}
    cfg = cl.get("configuration") or {}
    exec_cfg = cfg.get("executeCommandConfiguration") or {}
    res = ctx.resource(
        uid=arn,
        type="aws_ecs_cluster",
        name=name,
        tags=tags_from_list(cl.get("tags"), key="key", value="value"),
        config={
            "name": name,
            "arn": arn,
            "status": cl.get("status"),
            "setting": [{"name": k, "value": v} for k, v in settings.items()],
            "container_insights": settings.get("containerInsights"),
            "configuration": {
                "execute_command_configuration": {
                    "kms_key_id": exec_cfg.get("kmsKeyId"),
                    "logging": exec_cfg.get("logging"),
                    "log_configuration": exec_cfg.get("logConfiguration"),
                }
                if exec_cfg
                else None,
                "managed_storage_configuration": cfg.get("managedStorageConfiguration"),
            }
            if cfg
            else None,
            "capacity_providers": cl.get("capacityProviders") or [],
            "default_capacity_provider_strategy": cl.get("defaultCapacityProviderStrategy") or [],
            "service_connect_defaults": cl.get("serviceConnectDefaults"),
            "active_services_count": cl.get("activeServicesCount"),
            "running_tasks_count": cl.get("runningTasksCount"),
            "registered_container_instances_count": cl.get("registeredContainerInstancesCount"),
        },
        raw={"Cluster": cl},
    )
    if exec_cfg.get("kmsKeyId"):
        res.relate("USES_KEY", exec_cfg["kmsKeyId"], purpose="execute_command")
    return res


def _service(ctx: CollectorContext, svc: dict[str, Any], cluster_arn: str) -> Resource:
    arn = svc.get("serviceArn") or ""
    name = svc.get("serviceName") or arn.rsplit("/", 1)[-1]
    net = _network(svc)
    td = svc.get("taskDefinition")
    res = ctx.resource(
        uid=arn,
        type="aws_ecs_service",
        name=name,
        tags=tags_from_list(svc.get("tags"), key="key", value="value"),
        config={
            "name": name,
            "arn": arn,
            "cluster": svc.get("clusterArn") or cluster_arn,
            "status": svc.get("status"),
            "task_definition": td,
            "desired_count": svc.get("desiredCount"),
            "running_count": svc.get("runningCount"),
            "launch_type": svc.get("launchType"),
            "platform_version": svc.get("platformVersion"),
            "capacity_provider_strategy": svc.get("capacityProviderStrategy") or [],
            "scheduling_strategy": svc.get("schedulingStrategy"),
            "network_configuration": net,
            "load_balancer": [
                {
                    "target_group_arn": lb.get("targetGroupArn"),
                    "elb_name": lb.get("loadBalancerName"),
                    "container_name": lb.get("containerName"),
                    "container_port": lb.get("containerPort"),
                }
                for lb in svc.get("loadBalancers") or []
            ],
            "service_registries": svc.get("serviceRegistries") or [],
            "iam_role": svc.get("roleArn"),
            "enable_execute_command": svc.get("enableExecuteCommand"),
            "enable_ecs_managed_tags": svc.get("enableECSManagedTags"),
            "propagate_tags": svc.get("propagateTags"),
            "deployment_controller": (svc.get("deploymentController") or {}).get("type"),
            "health_check_grace_period_seconds": svc.get("healthCheckGracePeriodSeconds"),
            "created_at": svc.get("createdAt"),
        },
        raw={"Service": {k: v for k, v in svc.items() if k != "events"}},
    )
    res.relate("IN_CLUSTER", svc.get("clusterArn") or cluster_arn)
    res.relate("USES_TASK_DEFINITION", td)
    for sn in (net or {}).get("subnets") or []:
        res.relate("IN_SUBNET", ec2_arn(ctx, "subnet", sn))
    for sg in (net or {}).get("security_groups") or []:
        res.relate("HAS_SECURITY_GROUP", ec2_arn(ctx, "security-group", sg))
    return res


def _task(ctx: CollectorContext, task: dict[str, Any], cluster_arn: str) -> Resource:
    arn = task.get("taskArn") or ""
    enis: list[dict[str, Any]] = []
    for att in task.get("attachments") or []:
        if att.get("type") != "ElasticNetworkInterface":
            continue
        details = {d.get("name"): d.get("value") for d in att.get("details") or []}
        enis.append(
            {
                "network_interface_id": details.get("networkInterfaceId"),
                "subnet_id": details.get("subnetId"),
                "private_ipv4_address": details.get("privateIPv4Address"),
                "mac_address": details.get("macAddress"),
                "status": att.get("status"),
            }
        )
    overrides = task.get("overrides") or {}
    raw_task = dict(task)
    raw_task["overrides"] = _sanitize_overrides(overrides)
    res = ctx.resource(
        uid=arn,
        type="aws_ecs_task",
        name=arn.rsplit("/", 1)[-1],
        tags=tags_from_list(task.get("tags"), key="key", value="value"),
        config={
            "arn": arn,
            "cluster": task.get("clusterArn") or cluster_arn,
            "task_definition": task.get("taskDefinitionArn"),
            "group": task.get("group"),
            "started_by": task.get("startedBy"),
            "launch_type": task.get("launchType"),
            "platform_version": task.get("platformVersion"),
            "last_status": task.get("lastStatus"),
            "desired_status": task.get("desiredStatus"),
            "enable_execute_command": task.get("enableExecuteCommand"),
            "task_role_arn_override": overrides.get("taskRoleArn"),
            "execution_role_arn_override": overrides.get("executionRoleArn"),
            "network_interfaces": enis,
            "containers": [
                {
                    "name": c.get("name"),
                    "image": c.get("image"),
                    "image_digest": c.get("imageDigest"),
                }
                for c in task.get("containers") or []
            ],
            "started_at": task.get("startedAt"),
        },
        raw={"Task": raw_task},
    )
    res.relate("IN_CLUSTER", task.get("clusterArn") or cluster_arn)
    res.relate("USES_TASK_DEFINITION", task.get("taskDefinitionArn"))
    res.relate("RUNS_AS", overrides.get("taskRoleArn"), source="override")
    res.relate("USES_EXECUTION_ROLE", overrides.get("executionRoleArn"), source="override")
    for eni in enis:
        res.relate("IN_SUBNET", ec2_arn(ctx, "subnet", eni["subnet_id"]))
        res.relate(
            "HAS_NETWORK_INTERFACE", ec2_arn(ctx, "network-interface", eni["network_interface_id"])
        )
    return res


def _task_definition(ctx: CollectorContext, td: dict[str, Any], tags: Any) -> Resource:
    arn = td.get("taskDefinitionArn") or ""
    family = td.get("family") or ""
    revision = td.get("revision")
    containers = td.get("containerDefinitions") or []
    raw_td = dict(td)
    raw_td["containerDefinitions"] = [sanitize_container(c) for c in containers]
    res = ctx.resource(
        uid=arn,
        type="aws_ecs_task_definition",
        name=f"{family}:{revision}",
        tags=tags_from_list(tags, key="key", value="value"),
        config={
            "family": family,
            "revision": revision,
            "arn": arn,
            "status": td.get("status"),
            "task_role_arn": td.get("taskRoleArn"),
            "execution_role_arn": td.get("executionRoleArn"),
            "network_mode": td.get("networkMode"),
            "requires_compatibilities": td.get("requiresCompatibilities") or [],
            "cpu": td.get("cpu"),
            "memory": td.get("memory"),
            "pid_mode": td.get("pidMode"),
            "ipc_mode": td.get("ipcMode"),
            "runtime_platform": td.get("runtimePlatform"),
            "ephemeral_storage": td.get("ephemeralStorage"),
            "volume": td.get("volumes") or [],
            "container_definitions": [_container_config(c) for c in containers],
            "privileged_containers": sorted(
                str(c["name"]) for c in containers if c.get("privileged") and c.get("name")
            ),
            "registered_at": td.get("registeredAt"),
        },
        raw={"TaskDefinition": raw_td},
    )
    res.relate("RUNS_AS", td.get("taskRoleArn"))
    res.relate("USES_EXECUTION_ROLE", td.get("executionRoleArn"))
    return res
