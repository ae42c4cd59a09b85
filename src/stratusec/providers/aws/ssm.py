"""Systems Manager: managed nodes (EC2 instances and hybrid machines whose SSM agent is
registered), per region.

A managed node is where ``ssm:SendCommand`` / ``ssm:StartSession`` run code, as the
instance profile's role (EC2) or the activation's service role (hybrid nodes). Records are
``ATTACHED_TO`` the EC2 instance they run on; hybrid nodes are ``RUNS_AS`` their role.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import ec2_arn

SERVICE = "ssm"
GLOBAL = False


def _node(ctx: CollectorContext, info: dict[str, Any]) -> Resource:
    node_id = str(info.get("InstanceId") or "")
    rtype = info.get("ResourceType")
    is_ec2 = rtype == "EC2Instance" or (rtype is None and node_id.startswith("i-"))
    role = info.get("IamRole")
    role_arn = (
        role
        if not role or str(role).startswith("arn:")
        else ctx.arn("iam", f"role/{role}", region="")
    )
    res = ctx.resource(
        uid=ctx.arn("ssm", f"managed-instance/{node_id}"),
        type="aws_ssm_managed_instance",
        name=node_id,
        config={
            "instance_id": node_id,
            "resource_type": rtype,
            "ping_status": info.get("PingStatus"),
            "last_ping_date_time": info.get("LastPingDateTime"),
            "agent_version": info.get("AgentVersion"),
            "is_latest_version": info.get("IsLatestVersion"),
            "platform_type": info.get("PlatformType"),
            "platform_name": info.get("PlatformName"),
            "platform_version": info.get("PlatformVersion"),
            "computer_name": info.get("ComputerName"),
            "ip_address": info.get("IPAddress"),
            "iam_role": role_arn,
            "activation_id": info.get("ActivationId"),
            "registration_date": info.get("RegistrationDate"),
            "association_status": info.get("AssociationStatus"),
            "source_id": info.get("SourceId"),
            "source_type": info.get("SourceType"),
        },
        raw={"InstanceInformation": info},
    )
    if is_ec2:
        res.relate("ATTACHED_TO", ec2_arn(ctx, "instance", node_id))
    else:
        res.relate("RUNS_AS", role_arn)
    return res


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    ssm = ctx.client()
    for info in ctx.pages(ssm, "describe_instance_information", "InstanceInformationList"):
        yield _node(ctx, info)
