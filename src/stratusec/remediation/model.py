"""What a fixer produces: the API calls of a fix, their rollback, and the expected result."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def pascal(operation: str) -> str:
    """boto3 method name -> API operation name: put_public_access_block ->
    PutPublicAccessBlock."""
    return "".join(p[:1].upper() + p[1:] for p in operation.split("_"))


def kebab(operation: str) -> str:
    return operation.replace("_", "-")


# The AWS CLI's service names where they differ from boto3's.
_CLI_SERVICE = {"s3": "s3api"}


@dataclass(frozen=True)
class ApiCall:
    """One AWS API call: ``boto3.client(service, region).<operation>(**params)``."""

    service: str
    operation: str
    params: dict[str, Any]
    description: str
    region: str | None = None  # None: the plan's region (global services: the home region)
    #: The IAM action it needs, when not ``<service>:<Operation>`` (e.g. S3's
    #: PutBucketEncryption is authorized as s3:PutEncryptionConfiguration).
    iam_action: str | None = None
    #: The ARN the session policy allows it on ("*" for calls without a resource).
    resource_arn: str = "*"
    #: Further (action, resource) pairs the call needs, e.g. ("iam:PassRole", role ARN).
    extra_actions: tuple[tuple[str, str], ...] = ()

    @property
    def action(self) -> str:
        return self.iam_action or f"{self.service}:{pascal(self.operation)}"

    def cli(self, region: str | None) -> str:
        svc = _CLI_SERVICE.get(self.service, self.service)
        where = f" --region {self.region or region}" if (self.region or region) else ""
        body = json.dumps(self.params, separators=(",", ":"), default=str)
        return f"aws {svc} {kebab(self.operation)}{where} --cli-input-json '{body}'"

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["action"] = self.action
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ApiCall:
        return cls(
            service=d["service"],
            operation=d["operation"],
            params=dict(d["params"]),
            description=d["description"],
            region=d.get("region"),
            iam_action=d.get("iam_action"),
            resource_arn=d.get("resource_arn", "*"),
            extra_actions=tuple((a, r) for a, r in d.get("extra_actions") or ()),
        )


@dataclass
class FixSpec:
    """A fixer's answer for one resource."""

    title: str
    calls: list[ApiCall]
    rollback: list[ApiCall]
    #: Config keys -> the values expected after the fix (the "after" side of the diff).
    after: dict[str, Any]
    #: The equivalent change for teams that fix in code.
    terraform: str
    #: Config keys whose current values the plan depends on (its fingerprint).
    watch: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Services to collect again for the verification, besides the resource's own (when
    #: the fix changes another resource the check reads, e.g. the trail's bucket).
    verify_services: list[str] = field(default_factory=list)
    #: The fix may remove the resource from what the collector reports (e.g. a managed
    #: policy left with no attachments): not finding it again then means resolved.
    gone_means_resolved: bool = False


class FixerError(Exception):
    """A fixer cannot plan for this resource as it stands (with the reason)."""
