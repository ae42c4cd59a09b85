"""ECS checks."""

from __future__ import annotations

from stratusec.checks import Inventory, Outcome, fail, ok, resource_check, unknown
from stratusec.inventory.models import Resource


@resource_check(
    title="ECS service does not give its tasks public IP addresses",
    description="An awsvpc ECS service with assignPublicIp ENABLED gives every task a public "
    "IP address; in a subnet routed to an internet gateway the tasks are reachable from "
    "the internet wherever their security groups allow it.",
    risk="Tasks with public addresses are directly exposed: a permissive security group or a "
    "vulnerable container becomes an entry point, and the task role's permissions (often "
    "broad for data pipelines) are one exploit away.",
    severity="high",
    service="ecs",
    resource_types=["aws_ecs_service"],
    categories=["public-exposure", "network"],
    remediation={
        "summary": "Run the tasks in private subnets with assignPublicIp DISABLED; reach the "
        "internet through a NAT gateway and expose services only through a load balancer.",
        "cli": "aws ecs update-service --cluster CLUSTER --service SERVICE "
        "--network-configuration 'awsvpcConfiguration={subnets=[PRIVATE_SUBNET_ID],"
        "securityGroups=[SG_ID],assignPublicIp=DISABLED}'",
        "terraform": 'resource "aws_ecs_service" "this" {\n  # ...\n  network_configuration {\n'
        "    subnets          = [aws_subnet.private.id]\n"
        "    security_groups  = [aws_security_group.tasks.id]\n"
        "    assign_public_ip = false\n  }\n}",
        "console": "ECS > Clusters > CLUSTER > Services > SERVICE > Update > Networking: "
        "choose private subnets and turn Public IP off.",
    },
)
def ecs_service_no_public_ip(svc: Resource, inv: Inventory) -> Outcome | None:
    if "network_configuration" in svc.unavailable:
        return unknown(svc, f"Network configuration of ECS service {svc.name} could not be read.")
    net = svc.config.get("network_configuration")
    if not net:
        return None  # bridge/host network mode: no task ENI, not applicable
    subnets = [s.name for s in inv.related(svc, "IN_SUBNET")]
    public_subnets = [
        s.name for s in inv.related(svc, "IN_SUBNET") if s.config.get("public") is True
    ]
    if net.get("assign_public_ip") is True:
        where = (
            f" in public subnet(s) {', '.join(public_subnets)}"
            if public_subnets
            else f" (subnets: {', '.join(subnets) or 'unknown'})"
        )
        return fail(
            svc,
            f"ECS service {svc.name} assigns public IPs to its tasks{where}.",
            subnets=net.get("subnets"),
            public_subnets=public_subnets,
            security_groups=net.get("security_groups"),
        )
    return ok(svc, f"ECS service {svc.name} does not assign public IPs.")
