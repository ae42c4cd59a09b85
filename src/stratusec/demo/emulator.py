"""Fill the few gaps in moto that a scan of the demo account would otherwise hit.

Only read APIs that real AWS has and moto answers with an HTML 500; each returns what
AWS returns for an account in the seeded state. Applied inside the demo server process
(and the test suite's in-process moto server) only.
"""

from __future__ import annotations

import datetime
import json
from typing import Any


def patch_moto() -> None:
    from moto.core.responses import ActionResult
    from moto.ec2.responses.settings import Settings

    if not hasattr(Settings, "get_ebs_default_kms_key_id"):

        def get_ebs_default_kms_key_id(self: Any) -> ActionResult:
            # AWS's default until ModifyEbsDefaultKmsKeyId is called (moto lacks both).
            return ActionResult({"KmsKeyId": "alias/aws/ebs"})

        Settings.get_ebs_default_kms_key_id = get_ebs_default_kms_key_id  # type: ignore[attr-defined]
    patch_access_analyzer()
    patch_ssm_instance_information()


def patch_access_analyzer() -> None:
    """moto has no IAM Access Analyzer backend: answer ListAnalyzers as AWS does for an
    account where no analyzer was ever created (an empty list); any other Access Analyzer
    call gets a clean NotImplemented error instead of an HTML 500."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if getattr(DomainDispatcherApplication, "_stratusec_access_analyzer", False):
        return
    original = DomainDispatcherApplication.get_application

    def access_analyzer_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body: dict[str, Any]
        if environ.get("REQUEST_METHOD") == "GET" and environ.get("PATH_INFO") == "/analyzer":
            status, body = "200 OK", {"analyzers": []}
        else:
            status = "501 Not Implemented"
            body = {"message": "not emulated by the Stratusec demo"}
        data = json.dumps(body).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        if not status.startswith("200"):
            headers.append(("x-amzn-ErrorType", "NotImplemented"))
        start_response(status, headers)
        return [data]

    def get_application(self: Any, environ: dict[str, Any]) -> Any:
        if "/access-analyzer/aws4_request" in environ.get("HTTP_AUTHORIZATION", ""):
            return access_analyzer_app
        return original(self, environ)

    DomainDispatcherApplication.get_application = get_application  # type: ignore[method-assign]
    DomainDispatcherApplication._stratusec_access_analyzer = True  # type: ignore[attr-defined]


def patch_ssm_instance_information() -> None:
    """moto has no SSM DescribeInstanceInformation: answer it as AWS does for the seeded
    account. A managed node is a running EC2 instance whose instance profile role carries
    AmazonSSMManagedInstanceCore (or the older AmazonEC2RoleforSSM): the SSM agent ships
    with the AMIs the demo stands for, and that policy is what lets it register. Other
    instances are not managed, so the seeded account (no such role) answers an empty list."""
    from moto.core.responses import ActionResult
    from moto.ec2.models import ec2_backends
    from moto.ssm.responses import SimpleSystemManagerResponse

    if hasattr(SimpleSystemManagerResponse, "describe_instance_information"):
        return
    ssm_policies = (
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        "arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforSSM",
    )

    def describe_instance_information(self: Any) -> ActionResult:
        ec2 = ec2_backends[self.current_account][self.region]
        nodes: list[dict[str, Any]] = []
        for assoc in ec2.iam_instance_profile_associations.values():
            inst = assoc.instance
            if inst is None or inst.state != "running":
                continue
            roles = getattr(assoc.iam_instance_profile, "roles", None) or []
            windows = str(inst.platform or "").lower() == "windows"
            if not any(
                arn in getattr(role, "managed_policies", {})
                for role in roles
                for arn in ssm_policies
            ):
                continue
            nodes.append(
                {
                    "InstanceId": inst.id,
                    "PingStatus": "Online",
                    "LastPingDateTime": datetime.datetime.now(datetime.UTC),
                    "AgentVersion": "3.3.1142.0",
                    "IsLatestVersion": True,
                    "PlatformType": "Windows" if windows else "Linux",
                    "PlatformName": "Microsoft Windows Server" if windows else "Amazon Linux",
                    "ResourceType": "EC2Instance",
                    "IPAddress": inst.private_ip,
                    "ComputerName": inst.private_dns_name,
                }
            )
        return ActionResult({"InstanceInformationList": nodes})

    ssm_response: Any = SimpleSystemManagerResponse  # moto's class: adding an action
    ssm_response.describe_instance_information = describe_instance_information
