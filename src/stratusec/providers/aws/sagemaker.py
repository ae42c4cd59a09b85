"""SageMaker: notebook instances (the role they run as, internet and root access, network
placement, encryption), per region."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import ec2_arn, key_ref_uid

SERVICE = "sagemaker"
GLOBAL = False

# Filled from DescribeNotebookInstance only (unknown when it fails).
_DETAIL_FIELDS = [
    "role_arn",
    "direct_internet_access",
    "root_access",
    "subnet_id",
    "security_groups",
    "kms_key_id",
    "volume_size",
    "network_interface_id",
]


def _notebook(ctx: CollectorContext, sm: Any, summary: dict[str, Any]) -> Resource:
    name = str(summary.get("NotebookInstanceName") or "")
    arn = str(
        summary.get("NotebookInstanceArn") or ctx.arn("sagemaker", f"notebook-instance/{name}")
    )
    got = ctx.call(
        sm,
        "describe_notebook_instance",
        NotebookInstanceName=name,
        resource=arn,
        absent=("ValidationException",),
    )
    nb: dict[str, Any] = {**summary, **got.data} if got.ok else dict(summary)
    unavailable = [] if got.ok else list(_DETAIL_FIELDS)
    tr = ctx.call(sm, "list_tags", ResourceArn=arn, resource=arn)
    if tr.failed:
        unavailable.append("tags")
    sgs = list(nb.get("SecurityGroups") or [])
    subnet = nb.get("SubnetId")
    kms = nb.get("KmsKeyId")
    imds = nb.get("InstanceMetadataServiceConfiguration") or {}
    res = ctx.resource(
        uid=arn,
        type="aws_sagemaker_notebook_instance",
        name=name,
        tags=tags_from_list(tr.data.get("Tags")),
        config={
            "name": name,
            "arn": arn,
            "role_arn": nb.get("RoleArn"),
            "status": nb.get("NotebookInstanceStatus"),
            "instance_type": nb.get("InstanceType"),
            # "Enabled" / "Disabled", as Terraform has them.
            "direct_internet_access": nb.get("DirectInternetAccess"),
            "root_access": nb.get("RootAccess"),
            "subnet_id": subnet,
            "security_groups": sgs,
            "kms_key_id": kms,
            "volume_size": nb.get("VolumeSizeInGB"),
            "lifecycle_config_name": nb.get("NotebookInstanceLifecycleConfigName"),
            "default_code_repository": nb.get("DefaultCodeRepository"),
            "platform_identifier": nb.get("PlatformIdentifier"),
            "network_interface_id": nb.get("NetworkInterfaceId"),
            "url": nb.get("Url"),
            "instance_metadata_service_configuration": {
                "minimum_instance_metadata_service_version": imds.get(
                    "MinimumInstanceMetadataServiceVersion"
                )
            }
            if imds
            else None,
            "creation_time": nb.get("CreationTime"),
            "last_modified_time": nb.get("LastModifiedTime"),
        },
        raw={"NotebookInstance": nb, "Tags": tr.data.get("Tags") or []},
        unavailable=unavailable,
    )
    res.relate("RUNS_AS", nb.get("RoleArn"))
    res.relate("IN_SUBNET", ec2_arn(ctx, "subnet", subnet))
    for sg in sgs:
        res.relate("HAS_SECURITY_GROUP", ec2_arn(ctx, "security-group", sg))
    res.relate("USES_KEY", key_ref_uid(ctx, kms))
    return res


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    sm = ctx.client()
    notebooks = ctx.pages(sm, "list_notebook_instances", "NotebookInstances")
    yield from ctx.map(lambda nb: _notebook(ctx, sm, nb), notebooks)
