"""Condition-key lookup for one request: the caller's context first, then the keys the
evaluator can derive from the principal and the resource, else ``UNKNOWN``.

Derived keys: ``aws:username``, ``aws:userid``, ``aws:PrincipalArn``,
``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:PrincipalIsAWSService``,
``aws:PrincipalServiceName``, ``aws:PrincipalTag/*``, ``aws:PrincipalOrgID`` (when the
principal's ``org_id`` is set), ``aws:ResourceAccount``, ``aws:ResourceTag/*`` (when the
resource's tags are known) and ``aws:RequestedRegion`` (the region of a regional
resource ARN). A key the principal cannot have (``aws:username`` for a role) is
``ABSENT``; a key of a principal of unknown shape is ``UNKNOWN``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from stratusec.iam.request import ABSENT, UNKNOWN, Request, arn_region

Lookup = Callable[[str], Any]
"""``lookup(key_lowercase) -> value | ABSENT | UNKNOWN``."""

MFA_KEYS: Final = frozenset({"aws:multifactorauthpresent", "aws:multifactorauthage"})

_KNOWN_KEYS: Final = (
    "aws:CalledVia",
    "aws:CalledViaFirst",
    "aws:CalledViaLast",
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:FederatedProvider",
    "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalServiceName",
    "aws:PrincipalServiceNamesList",
    "aws:PrincipalType",
    "aws:Referer",
    "aws:RequestedRegion",
    "aws:RequestTag",
    "aws:ResourceAccount",
    "aws:ResourceOrgID",
    "aws:ResourceOrgPaths",
    "aws:SecureTransport",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceIdentity",
    "aws:SourceIp",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:TagKeys",
    "aws:TokenIssueTime",
    "aws:UserAgent",
    "aws:userid",
    "aws:username",
    "aws:ViaAWSService",
    "aws:VpcSourceIp",
    "aws:Ec2InstanceSourceVpc",
    "aws:Ec2InstanceSourcePrivateIPv4",
    "aws:AssumedRoot",
    "aws:SourceOwner",
    "sts:ExternalId",
    "sts:RoleSessionName",
    "sts:SourceIdentity",
    "sts:TransitiveTagKeys",
    "s3:prefix",
    "s3:delimiter",
    "s3:max-keys",
    "s3:x-amz-acl",
    "s3:x-amz-server-side-encryption",
    "s3:ResourceAccount",
    "s3:TlsVersion",
    "s3:signatureversion",
    "s3:authType",
    "kms:ViaService",
    "kms:CallerAccount",
    "kms:EncryptionContextKeys",
    "kms:GrantIsForAWSResource",
    "iam:PassedToService",
    "iam:PermissionsBoundary",
    "iam:PolicyARN",
    "iam:ResourceTag",
    "ec2:ResourceTag",
    "lambda:FunctionArn",
    "lambda:SourceFunctionArn",
    "secretsmanager:ResourceTag",
    "ssm:resourceTag",
)
_CANONICAL: Final = {k.lower(): k for k in _KNOWN_KEYS}
_TAG_PREFIXES: Final = {
    "aws:principaltag/": "aws:PrincipalTag/",
    "aws:resourcetag/": "aws:ResourceTag/",
    "aws:requesttag/": "aws:RequestTag/",
}

_PRINCIPAL_TYPE: Final = {
    "user": "User",
    "role": "AssumedRole",
    "assumed-role": "AssumedRole",
    "federated-user": "FederatedUser",
    "root": "Account",
    "anonymous": "Anonymous",
}


def canonical_key(key: str) -> str:
    """A condition key in its documented spelling when known (keys are case-insensitive),
    so that keys gathered from several policies compare and display consistently."""
    lc = key.lower()
    known = _CANONICAL.get(lc)
    if known is not None:
        return known
    for prefix, canon in _TAG_PREFIXES.items():
        if lc.startswith(prefix):
            return canon + key[len(prefix) :]
    return key


def make_lookup(req: Request, resource_account: str | None = None) -> Lookup:
    """The lookup function for ``req`` (``resource_account`` overrides the request's)."""
    ctx = req.context_lc
    p = req.principal
    ptype = p.type
    racct = resource_account if resource_account is not None else req.resource_account
    iam_shape = ptype not in ("unknown",)

    def principal_key(name: str) -> Any:
        if name == "username":
            if ptype == "user":
                return p.username if p.username is not None else UNKNOWN
            return ABSENT if iam_shape else UNKNOWN
        if name == "userid":
            return p.userid if p.userid is not None else UNKNOWN
        if name == "principalarn":
            if ptype in ("user", "role", "root", "federated-user"):
                return p.arn or UNKNOWN
            if ptype == "assumed-role":
                return p.parent_arn or UNKNOWN
            return ABSENT if iam_shape else UNKNOWN
        if name == "principalaccount":
            if ptype in ("service", "anonymous", "federated"):
                return ABSENT
            return p.account if p.account is not None else UNKNOWN
        if name == "principaltype":
            if ptype == "service":
                return ABSENT
            t = _PRINCIPAL_TYPE.get(ptype)
            return t if t is not None else UNKNOWN
        if name == "principalisawsservice":
            return ptype == "service" if iam_shape else UNKNOWN
        if name == "principalservicename":
            if ptype == "service":
                return p.service or UNKNOWN
            return ABSENT if iam_shape else UNKNOWN
        if name == "principalorgid":
            if p.org_id is not None:
                return p.org_id
            return ABSENT if ptype in ("service", "anonymous") else UNKNOWN
        return UNKNOWN

    def lookup(key: str) -> Any:
        v = ctx.get(key, UNKNOWN)
        if v is not UNKNOWN:
            return v
        if key.startswith("aws:"):
            name = key[4:]
            if name.startswith("principaltag/"):
                if ptype in ("service", "anonymous", "federated", "root"):
                    return ABSENT
                tags = p.tags_lc
                if tags is None:
                    return UNKNOWN
                return tags.get(name[13:], ABSENT)
            if name.startswith("resourcetag/"):
                rtags = req.resource_tags_lc
                if rtags is None:
                    return UNKNOWN
                return rtags.get(name[12:], ABSENT)
            if name == "resourceaccount":
                return racct if racct is not None else UNKNOWN
            if name == "requestedregion":
                region = arn_region(req.resource)
                return region if region is not None else UNKNOWN
            return principal_key(name)
        return UNKNOWN

    return lookup
