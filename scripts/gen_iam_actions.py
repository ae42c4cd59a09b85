"""Generate src/stratusec/iam/data/iam_actions.json: the IAM actions of the services in
scope, each with an access level, derived from botocore's service models.

    .venv/bin/python scripts/gen_iam_actions.py [--check]

Action names are botocore operation names under the service's IAM prefix, corrected where
IAM's action differs from the API operation (S3 object/bucket actions, lambda:Invoke ->
lambda:InvokeFunction, Bedrock runtime APIs), plus well-known actions that are no API
operation (iam:PassRole, sts:TagSession, kms:ReEncryptFrom, ...).

Access level heuristic (AWS's Service Authorization Reference is the authority; this is
an approximation of it, with explicit overrides in OVERRIDES):

* ``Tagging``: Tag*/Untag*, AddTags*/RemoveTags*, CreateTags/DeleteTags;
* ``Permissions management``: changes to who may do what: Put/Delete/Set/Update/Attach/
  Detach...Policy, AddPermission/RemovePermission, *Acl writes, KMS grants, PassRole,
  CreatePolicy(Version), SetDefaultPolicyVersion, UpdateAssumeRolePolicy, permissions
  boundaries, IAM credentials (access keys, login profiles, MFA, SSH/signing keys),
  group membership, public-access blocks, resource sharing;
* ``List``: List*;
* ``Read``: Get*, Describe*, Head*, BatchGet*, Query, Scan, Search*, Lookup*, Select*;
* ``Write``: everything else.

``--check`` exits non-zero when the committed file differs from what would be written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import botocore
import botocore.loaders

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src/stratusec/iam/data/iam_actions.json"

# botocore service name -> IAM action prefix
SERVICES = {
    "apprunner": "apprunner",
    "bedrock": "bedrock",
    "bedrock-agent": "bedrock",
    "bedrock-agent-runtime": "bedrock",
    "bedrock-runtime": "bedrock",
    "cloudformation": "cloudformation",
    "cloudtrail": "cloudtrail",
    "codebuild": "codebuild",
    "config": "config",
    "datapipeline": "datapipeline",
    "dynamodb": "dynamodb",
    "dynamodbstreams": "dynamodb",
    "ec2": "ec2",
    "ec2-instance-connect": "ec2-instance-connect",
    "ecs": "ecs",
    "glue": "glue",
    "guardduty": "guardduty",
    "iam": "iam",
    "kms": "kms",
    "lambda": "lambda",
    "logs": "logs",
    "rds": "rds",
    "s3": "s3",
    "sagemaker": "sagemaker",
    "sagemaker-runtime": "sagemaker",
    "secretsmanager": "secretsmanager",
    "sns": "sns",
    "sqs": "sqs",
    "ssm": "ssm",
    "sts": "sts",
}

# (prefix, operation) -> IAM action names (empty: no action of its own)
RENAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("lambda", "Invoke"): ("InvokeFunction",),
    ("lambda", "InvokeWithResponseStream"): ("InvokeFunction",),
    ("bedrock", "Converse"): ("InvokeModel",),
    ("bedrock", "ConverseStream"): ("InvokeModelWithResponseStream",),
    ("kms", "ReEncrypt"): ("ReEncryptFrom", "ReEncryptTo"),
    ("sagemaker", "InvokeEndpointWithResponseStream"): ("InvokeEndpoint",),
    ("s3", "ListObjects"): ("ListBucket",),
    ("s3", "ListObjectsV2"): ("ListBucket",),
    ("s3", "ListObjectVersions"): ("ListBucketVersions",),
    ("s3", "ListBuckets"): ("ListAllMyBuckets",),
    ("s3", "ListMultipartUploads"): ("ListBucketMultipartUploads",),
    ("s3", "ListParts"): ("ListMultipartUploadParts",),
    ("s3", "HeadObject"): ("GetObject",),
    ("s3", "HeadBucket"): ("ListBucket",),
    ("s3", "CopyObject"): ("GetObject", "PutObject"),
    ("s3", "DeleteObjects"): ("DeleteObject",),
    ("s3", "CreateMultipartUpload"): ("PutObject",),
    ("s3", "UploadPart"): ("PutObject",),
    ("s3", "UploadPartCopy"): ("PutObject",),
    ("s3", "CompleteMultipartUpload"): ("PutObject",),
    ("s3", "SelectObjectContent"): ("GetObject",),
    ("s3", "RenameObject"): ("RenameObject",),
    ("s3", "CreateSession"): ("CreateSession",),
    ("s3", "PutBucketEncryption"): ("PutEncryptionConfiguration",),
    ("s3", "GetBucketEncryption"): ("GetEncryptionConfiguration",),
    ("s3", "DeleteBucketEncryption"): ("PutEncryptionConfiguration",),
    ("s3", "PutBucketLifecycle"): ("PutLifecycleConfiguration",),
    ("s3", "PutBucketLifecycleConfiguration"): ("PutLifecycleConfiguration",),
    ("s3", "GetBucketLifecycle"): ("GetLifecycleConfiguration",),
    ("s3", "GetBucketLifecycleConfiguration"): ("GetLifecycleConfiguration",),
    ("s3", "DeleteBucketLifecycle"): ("PutLifecycleConfiguration",),
    ("s3", "PutBucketReplication"): ("PutReplicationConfiguration",),
    ("s3", "GetBucketReplication"): ("GetReplicationConfiguration",),
    ("s3", "DeleteBucketReplication"): ("PutReplicationConfiguration",),
    ("s3", "PutPublicAccessBlock"): ("PutBucketPublicAccessBlock",),
    ("s3", "GetPublicAccessBlock"): ("GetBucketPublicAccessBlock",),
    ("s3", "DeletePublicAccessBlock"): ("PutBucketPublicAccessBlock",),
    ("s3", "PutBucketCors"): ("PutBucketCORS",),
    ("s3", "GetBucketCors"): ("GetBucketCORS",),
    ("s3", "DeleteBucketCors"): ("PutBucketCORS",),
    ("s3", "DeleteBucketTagging"): ("PutBucketTagging",),
    ("s3", "PutBucketNotificationConfiguration"): ("PutBucketNotification",),
    ("s3", "GetBucketNotificationConfiguration"): ("GetBucketNotification",),
    ("s3", "PutBucketAccelerateConfiguration"): ("PutAccelerateConfiguration",),
    ("s3", "GetBucketAccelerateConfiguration"): ("GetAccelerateConfiguration",),
    ("s3", "PutBucketAnalyticsConfiguration"): ("PutAnalyticsConfiguration",),
    ("s3", "GetBucketAnalyticsConfiguration"): ("GetAnalyticsConfiguration",),
    ("s3", "DeleteBucketAnalyticsConfiguration"): ("PutAnalyticsConfiguration",),
    ("s3", "ListBucketAnalyticsConfigurations"): ("GetAnalyticsConfiguration",),
    ("s3", "PutBucketInventoryConfiguration"): ("PutInventoryConfiguration",),
    ("s3", "GetBucketInventoryConfiguration"): ("GetInventoryConfiguration",),
    ("s3", "DeleteBucketInventoryConfiguration"): ("PutInventoryConfiguration",),
    ("s3", "ListBucketInventoryConfigurations"): ("GetInventoryConfiguration",),
    ("s3", "PutBucketMetricsConfiguration"): ("PutMetricsConfiguration",),
    ("s3", "GetBucketMetricsConfiguration"): ("GetMetricsConfiguration",),
    ("s3", "DeleteBucketMetricsConfiguration"): ("PutMetricsConfiguration",),
    ("s3", "ListBucketMetricsConfigurations"): ("GetMetricsConfiguration",),
    ("s3", "PutBucketIntelligentTieringConfiguration"): ("PutIntelligentTieringConfiguration",),
    ("s3", "GetBucketIntelligentTieringConfiguration"): ("GetIntelligentTieringConfiguration",),
    ("s3", "DeleteBucketIntelligentTieringConfiguration"): ("PutIntelligentTieringConfiguration",),
    ("s3", "ListBucketIntelligentTieringConfigurations"): ("GetIntelligentTieringConfiguration",),
    ("s3", "DeleteBucketOwnershipControls"): ("PutBucketOwnershipControls",),
    ("s3", "PutObjectLockConfiguration"): ("PutBucketObjectLockConfiguration",),
    ("s3", "GetObjectLockConfiguration"): ("GetBucketObjectLockConfiguration",),
    ("s3", "DeleteBucketMetadataConfiguration"): ("DeleteBucketMetadataTableConfiguration",),
    ("s3", "GetObjectAttributes"): ("GetObject", "GetObjectAttributes"),
}

# Well-known actions that are not (or not only) API operations.
EXTRA: dict[str, tuple[str, ...]] = {
    "iam": ("PassRole",),
    "sts": ("TagSession", "SetSourceIdentity", "SetContext"),
    "kms": ("ReEncryptFrom", "ReEncryptTo"),
    "s3": (
        "GetObjectVersion",
        "GetObjectVersionAcl",
        "GetObjectVersionTagging",
        "GetObjectVersionAttributes",
        "PutObjectVersionAcl",
        "PutObjectVersionTagging",
        "DeleteObjectVersion",
        "DeleteObjectVersionTagging",
        "ListBucketVersions",
        "GetBucketObjectLockConfiguration",
        "BypassGovernanceRetention",
        "ReplicateObject",
        "ReplicateDelete",
        "PutAccountPublicAccessBlock",
        "GetAccountPublicAccessBlock",
    ),
    "ec2-instance-connect": ("OpenTunnel",),
    "ssm": ("StartSession",),
    "lambda": ("InvokeFunctionUrl",),
    "ecs": ("ExecuteCommand",),
    "bedrock": ("InvokeModel", "InvokeModelWithResponseStream"),
    "logs": ("Unmask",),
}

LEVELS = ("List", "Read", "Write", "Permissions management", "Tagging")

# (prefix, action) -> level, where the prefix heuristic misclassifies an action that
# matters to the graph (data reads, sharing, grants).
OVERRIDES: dict[tuple[str, str], str] = {
    ("iam", "PassRole"): "Permissions management",
    ("iam", "CreateServiceLinkedRole"): "Write",
    ("iam", "GetAccountAuthorizationDetails"): "Read",
    ("kms", "Decrypt"): "Write",
    ("kms", "CreateGrant"): "Permissions management",
    ("kms", "RetireGrant"): "Permissions management",
    ("kms", "RevokeGrant"): "Permissions management",
    ("kms", "PutKeyPolicy"): "Permissions management",
    ("s3", "ListAllMyBuckets"): "List",
    ("s3", "ListBucket"): "List",
    ("s3", "ListBucketVersions"): "List",
    ("s3", "GetObject"): "Read",
    ("s3", "PutBucketPublicAccessBlock"): "Permissions management",
    ("s3", "PutAccountPublicAccessBlock"): "Permissions management",
    ("s3", "PutBucketOwnershipControls"): "Permissions management",
    ("ec2", "ModifySnapshotAttribute"): "Permissions management",
    ("ec2", "ModifyImageAttribute"): "Permissions management",
    ("rds", "ModifyDBSnapshotAttribute"): "Permissions management",
    ("rds", "ModifyDBClusterSnapshotAttribute"): "Permissions management",
    ("sns", "SetTopicAttributes"): "Permissions management",
    ("secretsmanager", "GetSecretValue"): "Read",
    ("ssm", "GetParameter"): "Read",
    ("ssm", "GetParameters"): "Read",
    ("ssm", "GetParametersByPath"): "Read",
    ("ssm", "StartSession"): "Write",
    ("ssm", "SendCommand"): "Write",
    ("sts", "GetCallerIdentity"): "Read",
    ("ecr", "GetAuthorizationToken"): "Read",
}

_TAGGING = re.compile(r"^(Tag|Untag|AddTags|RemoveTags|CreateTags$|DeleteTags$)")
_PERMS = re.compile(
    r"^((Put|Delete|Set|Update|Attach|Detach)\w*Polic(y|ies)$"
    r"|AddPermission|RemovePermission|(Put|Delete)\w*Permission(s)?$"
    r"|Put\w*Acl$|SetDefaultPolicyVersion$|CreatePolicy(Version)?$|DeletePolicyVersion$"
    r"|UpdateAssumeRolePolicy$|(Put|Delete)\w*PermissionsBoundary$"
    r"|(Create|Update|Delete)(AccessKey|LoginProfile|ServiceSpecificCredential)$"
    r"|(Create|Enable|Deactivate|Resync|Delete)(Virtual)?MFADevice$"
    r"|(Upload|Update|Delete)(SSHPublicKey|SigningCertificate)$"
    r"|(AddUserToGroup|RemoveUserFromGroup|ChangePassword|UpdateAccountPasswordPolicy)$"
    r"|(Create|Revoke|Retire)Grant$|PassRole$"
    r"|(Put|Delete)\w*PublicAccessBlock$|(Put|Delete)ResourcePolicy$)"
)
_LIST = re.compile(r"^List")
_READ = re.compile(r"^(Get|Describe|Head|BatchGet|Query$|Scan$|Search|Lookup|Select)")


def classify(prefix: str, action: str) -> str:
    level = OVERRIDES.get((prefix, action))
    if level is not None:
        return level
    if _TAGGING.match(action) and not action.startswith("ListTags"):
        return "Tagging"
    if _PERMS.match(action):
        return "Permissions management"
    if _LIST.match(action):
        return "List"
    if _READ.match(action):
        return "Read"
    return "Write"


def build() -> dict[str, object]:
    loader = botocore.loaders.Loader()
    actions: dict[str, set[str]] = {}
    for service, prefix in SERVICES.items():
        model = loader.load_service_model(service, "service-2")
        names = actions.setdefault(prefix, set())
        for op in model["operations"]:
            names.update(RENAMES.get((prefix, op), (op,)))
    for prefix, extra in EXTRA.items():
        actions.setdefault(prefix, set()).update(extra)
    services: dict[str, dict[str, list[str]]] = {}
    for prefix in sorted(actions):
        by_level: dict[str, list[str]] = {lv: [] for lv in LEVELS}
        for name in sorted(actions[prefix]):
            by_level[classify(prefix, name)].append(name)
        services[prefix] = {lv: names for lv, names in by_level.items() if names}
    return {
        "about": "IAM actions by service and access level; generated by "
        "scripts/gen_iam_actions.py from botocore service models (heuristic access levels).",
        "botocore": botocore.__version__,
        "services": services,
    }


def render(data: dict[str, object]) -> str:
    # One line per (service, level): compact, and diffs stay readable.
    services = data["services"]
    assert isinstance(services, dict)
    lines = ["{"]
    lines.append(f'  "about": {json.dumps(data["about"])},')
    lines.append(f'  "botocore": {json.dumps(data["botocore"])},')
    lines.append('  "services": {')
    svc_items = list(services.items())
    for i, (prefix, levels) in enumerate(svc_items):
        lines.append(f"    {json.dumps(prefix)}: {{")
        lv_items = list(levels.items())
        for j, (level, names) in enumerate(lv_items):
            comma = "," if j < len(lv_items) - 1 else ""
            lines.append(f"      {json.dumps(level)}: {json.dumps(names)}{comma}")
        lines.append("    }" + ("," if i < len(svc_items) - 1 else ""))
    lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--check", action="store_true", help="fail if the data file is stale")
    args = ap.parse_args()
    text = render(build())
    if args.check:
        current = OUT.read_text() if OUT.exists() else ""
        if current != text:
            print(f"{OUT} is out of date: run scripts/gen_iam_actions.py", file=sys.stderr)
            return 1
        return 0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    count = sum(len(n) for lv in json.loads(text)["services"].values() for n in lv.values())
    print(f"wrote {OUT.relative_to(ROOT)}: {count} actions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
