"""S3 checks."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from stratusec.checks import Inventory, Outcome, check, fail, ok, resource_check, unknown
from stratusec.checks.aws._policy import (
    PolicyUnreadable,
    PublicGrant,
    action_allows,
    as_list,
    describe_grants,
    is_world_principal,
    public_grants,
    statements,
)
from stratusec.inventory.models import Resource


@resource_check(
    title="S3 bucket has default encryption",
    description="The bucket has a default server-side encryption configuration (SSE-S3, "
    "SSE-KMS or DSSE-KMS), so every new object is encrypted at rest.",
    risk="Objects written without encryption are readable from the underlying storage and "
    "from backups; encryption with KMS also adds a second authorization check on reads.",
    severity="medium",
    service="s3",
    resource_types=["aws_s3_bucket"],
    categories=["encryption"],
    remediation={
        "summary": "Turn on default encryption (SSE-KMS with a customer managed key where "
        "the data is sensitive).",
        "cli": "aws s3api put-bucket-encryption --bucket BUCKET --server-side-encryption-"
        'configuration \'{"Rules":[{"ApplyServerSideEncryptionByDefault":'
        '{"SSEAlgorithm":"aws:kms"},"BucketKeyEnabled":true}]}\'',
        "terraform": 'resource "aws_s3_bucket_server_side_encryption_configuration" "this" {\n'
        "  bucket = aws_s3_bucket.this.id\n"
        '  rule {\n    apply_server_side_encryption_by_default { sse_algorithm = "aws:kms" }\n'
        "    bucket_key_enabled = true\n  }\n}",
        "console": "S3 > bucket > Properties > Default encryption > Edit.",
    },
)
def s3_bucket_default_encryption(bucket: Resource, inv: Inventory) -> Outcome:
    if "server_side_encryption_configuration" in bucket.unavailable:
        return unknown(bucket, f"Encryption settings of bucket {bucket.name} could not be read.")
    sse = bucket.config.get("server_side_encryption_configuration")
    rules = (sse or {}).get("rule") or []
    algos: list[str] = [
        str(a)
        for r in rules
        if (a := (r.get("apply_server_side_encryption_by_default") or {}).get("sse_algorithm"))
    ]
    if not algos:
        return fail(bucket, f"Bucket {bucket.name} has no default encryption.", sse=None)
    return ok(
        bucket,
        f"Bucket {bucket.name} encrypts by default with {', '.join(algos)}.",
        sse_algorithms=algos,
    )


# -- shared helpers ------------------------------------------------------------------------

_PAB_FLAGS = (
    ("block_public_acls", "BlockPublicAcls"),
    ("ignore_public_acls", "IgnorePublicAcls"),
    ("block_public_policy", "BlockPublicPolicy"),
    ("restrict_public_buckets", "RestrictPublicBuckets"),
)
_PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}


def _unread(resource: Resource, *keys: str) -> str | None:
    """The first of ``keys`` that could not be read (named in ``unavailable``) or is
    missing from the record; None when all are there."""
    for key in keys:
        if key in resource.unavailable or key not in resource.config:
            return key
    return None


def _account_pab(inv: Inventory, account: str) -> Resource | None:
    for r in inv.of_type("aws_s3_account_public_access_block"):
        if r.account == account:
            return r
    return None


class _Pab:
    """The effective public access block of one bucket: bucket OR account, per flag."""

    def __init__(self, bucket: Resource, inv: Inventory) -> None:
        self.bucket_known = "public_access_block" not in bucket.unavailable and (
            "public_access_block" in bucket.config
        )
        self.bucket: dict[str, Any] = (
            (bucket.config.get("public_access_block") or {}) if (self.bucket_known) else {}
        )
        acct = _account_pab(inv, bucket.account)
        self.account_known = acct is not None and not acct.unavailable
        self.account: dict[str, Any] = (
            acct.config if acct is not None and self.account_known else {}
        )

    def flag(self, name: str) -> tuple[bool | None, str | None]:
        """(effective value, level that sets it: "bucket" / "account"); value None when it
        is off where known and a level could not be read."""
        if self.bucket.get(name) is True:
            return True, "bucket"
        if self.account.get(name) is True:
            return True, "account"
        if not self.bucket_known or not self.account_known:
            return None, None
        return False, None


# -- public exposure -----------------------------------------------------------------------


@resource_check(
    title="S3 bucket is not publicly accessible",
    description="Neither the bucket policy nor the bucket ACL grants access to everyone, "
    "after the bucket- and account-level Block Public Access settings are applied. A policy "
    'statement is public when it allows Principal "*" (or {"AWS": "*"}) without a condition '
    "that limits the caller (aws:SourceAccount, aws:SourceVpce, aws:PrincipalOrgID, "
    "aws:SourceIp, ...); an ACL is public when it grants to AllUsers or AuthenticatedUsers. "
    "RestrictPublicBuckets neutralizes a public policy and IgnorePublicAcls a public ACL; "
    "BlockPublicPolicy and BlockPublicAcls only reject new public settings and do not affect "
    "existing ones.",
    risk="Anyone on the internet can read (or, depending on the actions, list, write or "
    "delete) the bucket's objects without credentials: data exposure, defacement, or the "
    "bucket being used to host malware at your cost.",
    severity="critical",
    service="s3",
    resource_types=["aws_s3_bucket"],
    categories=["public-access", "internet-exposed", "data-protection"],
    remediation={
        "summary": "Remove the public statements from the bucket policy and the public ACL "
        "grants, then turn on Block Public Access for the bucket (and the account). Serve "
        "public content through CloudFront with origin access control instead.",
        "cli": "aws s3api put-public-access-block --bucket BUCKET --public-access-block-"
        "configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,"
        "RestrictPublicBuckets=true\n"
        "aws s3api delete-bucket-policy --bucket BUCKET   # or put a policy without the "
        "public statements\n"
        "aws s3api put-bucket-acl --bucket BUCKET --acl private",
        "terraform": 'resource "aws_s3_bucket_public_access_block" "this" {\n'
        "  bucket                  = aws_s3_bucket.this.id\n"
        "  block_public_acls       = true\n"
        "  ignore_public_acls      = true\n"
        "  block_public_policy     = true\n"
        "  restrict_public_buckets = true\n}",
        "console": "S3 > bucket > Permissions: edit the Bucket policy to remove statements "
        'with Principal "*", set the ACL to private, and turn on all four Block public '
        "access settings.",
        "docs": "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
    },
)
def s3_bucket_not_public(bucket: Resource, inv: Inventory) -> Outcome:
    pab = _Pab(bucket, inv)
    exposed: dict[str, str] = {}  # effective public mechanism ("policy"/"acl") -> evidence
    blocked: list[str] = []  # public settings neutralized by block public access
    unknowns: list[str] = []
    evidence: dict[str, Any] = {}

    # Policy.
    grants: list[PublicGrant] = []
    policy_known = _unread(bucket, "policy") is None
    if policy_known:
        try:
            grants = public_grants(bucket.config.get("policy"))
        except PolicyUnreadable:
            policy_known = False
    status_known = _unread(bucket, "policy_status") is None
    aws_public = (
        (bucket.config.get("policy_status") or {}).get("is_public") if status_known else None
    )
    if grants or aws_public is True:
        what = (
            f"its bucket policy ({describe_grants(grants)})"
            if grants
            else "its bucket policy (AWS's policy status reports it public)"
        )
        evidence["public_policy_statements"] = [g.as_evidence() for g in grants]
        restrict, level = pab.flag("restrict_public_buckets")
        if restrict is True:
            blocked.append(f"{what}, neutralized by RestrictPublicBuckets at {level} level")
        elif restrict is None:
            unknowns.append(f"{what}; whether RestrictPublicBuckets applies could not be read")
        else:
            note = ""
            if pab.bucket.get("block_public_policy") or pab.account.get("block_public_policy"):
                note = " (BlockPublicPolicy is on, but it only rejects new public policies)"
            exposed["policy"] = what + note
    elif not policy_known and aws_public is not False:
        unknowns.append("the bucket policy could not be read")

    # ACL.
    acl_public = None if _unread(bucket, "acl_public") else bucket.config.get("acl_public")
    acl_grants = [
        f"{_PUBLIC_GRANTEES[g['grantee_uri']]}:{g.get('permission')}"
        for g in (bucket.config.get("acl") or {}).get("grants") or []
        if g.get("grantee_uri") in _PUBLIC_GRANTEES
    ]
    if acl_public is True or acl_grants:
        what = f"its ACL (grants {', '.join(acl_grants) or 'to a public group'})"
        evidence["public_acl_grants"] = acl_grants
        ignore, level = pab.flag("ignore_public_acls")
        if ignore is True:
            blocked.append(f"{what}, neutralized by IgnorePublicAcls at {level} level")
        elif ignore is None:
            unknowns.append(f"{what}; whether IgnorePublicAcls applies could not be read")
        else:
            exposed["acl"] = what
    elif acl_public is None:
        unknowns.append("the bucket ACL could not be read")

    if exposed:
        return fail(
            bucket,
            f"Bucket {bucket.name} is public through {' and through '.join(exposed.values())}.",
            mechanisms=list(exposed),
            **evidence,
        )
    if unknowns:
        return unknown(bucket, f"Bucket {bucket.name}: {'; '.join(unknowns)}.", **evidence)
    if blocked:
        return ok(
            bucket,
            f"Bucket {bucket.name} is not public: {'; '.join(blocked)}.",
            blocked=blocked,
            **evidence,
        )
    return ok(bucket, f"Bucket {bucket.name} grants no public access by policy or ACL.")


@resource_check(
    title="S3 bucket has Block Public Access turned on",
    description="All four Block Public Access settings (BlockPublicAcls, IgnorePublicAcls, "
    "BlockPublicPolicy, RestrictPublicBuckets) are in effect for the bucket, set on the "
    "bucket itself or account-wide (CIS 2.1.4 accepts either).",
    risk="Without Block Public Access one policy or ACL change (a typo, a copied example, a "
    "compromised principal) makes the bucket's data public; the setting is the guard rail "
    "that stops it.",
    severity="medium",
    service="s3",
    resource_types=["aws_s3_bucket"],
    categories=["public-access", "data-protection"],
    remediation={
        "summary": "Turn on all four Block Public Access settings on the bucket (or once for "
        "the whole account). Buckets that must serve public content should do so through "
        "CloudFront with origin access control.",
        "cli": "aws s3api put-public-access-block --bucket BUCKET --public-access-block-"
        "configuration BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,"
        "RestrictPublicBuckets=true",
        "terraform": 'resource "aws_s3_bucket_public_access_block" "this" {\n'
        "  bucket                  = aws_s3_bucket.this.id\n"
        "  block_public_acls       = true\n"
        "  ignore_public_acls      = true\n"
        "  block_public_policy     = true\n"
        "  restrict_public_buckets = true\n}",
        "console": "S3 > bucket > Permissions > Block public access (bucket settings) > Edit > "
        "check 'Block all public access' > Save.",
    },
)
def s3_bucket_public_access_block(bucket: Resource, inv: Inventory) -> Outcome:
    pab = _Pab(bucket, inv)
    flags = {api: pab.flag(name) for name, api in _PAB_FLAGS}
    off = [api for api, (value, _lvl) in flags.items() if value is False]
    unread = [api for api, (value, _lvl) in flags.items() if value is None]
    levels = {api: str(lvl) for api, (value, lvl) in flags.items() if value}
    if off:
        return fail(
            bucket,
            f"Bucket {bucket.name} does not have {', '.join(off)} on, neither on the bucket "
            f"({'no configuration' if not pab.bucket else 'configured partially'}) nor for "
            "the account.",
            missing=off,
            bucket_setting=pab.bucket or None,
            set_at=levels,
        )
    if unread:
        return unknown(
            bucket,
            f"Block Public Access of bucket {bucket.name} could not be read "
            f"({', '.join(unread)} unknown).",
            unknown_flags=unread,
        )
    where = sorted(set(levels.values()))
    return ok(
        bucket,
        f"Bucket {bucket.name} has all four Block Public Access settings on "
        f"(set at {' and '.join(where)} level).",
        set_at=levels,
    )


@check(
    title="Account-level S3 Block Public Access is on",
    description="The account-wide S3 Block Public Access configuration (S3 Control) has all "
    "four settings on, so that no bucket in the account, existing or future, can be made "
    "public by a policy or an ACL.",
    risk="Without the account-level block, every bucket depends on its own settings: a new "
    "bucket created without them, or one whose settings are removed, can be made public.",
    severity="high",
    service="s3",
    resource_types=["aws_s3_account_public_access_block"],
    categories=["public-access", "data-protection"],
    remediation={
        "summary": "Turn on all four Block Public Access settings for the account (after "
        "checking that no bucket must stay public).",
        "cli": "aws s3control put-public-access-block --account-id ACCOUNT_ID "
        "--public-access-block-configuration BlockPublicAcls=true,IgnorePublicAcls=true,"
        "BlockPublicPolicy=true,RestrictPublicBuckets=true",
        "terraform": 'resource "aws_s3_account_public_access_block" "this" {\n'
        "  block_public_acls       = true\n"
        "  ignore_public_acls      = true\n"
        "  block_public_policy     = true\n"
        "  restrict_public_buckets = true\n}",
        "console": "S3 > Block Public Access settings for this account > Edit > check 'Block "
        "all public access' > Save changes.",
    },
)
def s3_account_public_access_block(inv: Inventory) -> Iterator[Outcome]:
    for rec in inv.of_type("aws_s3_account_public_access_block"):
        if rec.unavailable or rec.config.get("configured") is None:
            yield unknown(
                rec, f"The account-level S3 Block Public Access of {rec.account} could not be read."
            )
            continue
        if rec.config.get("configured") is False:
            yield fail(
                rec,
                f"Account {rec.account} has no account-level S3 Block Public Access configuration.",
                configured=False,
            )
            continue
        off = [api for name, api in _PAB_FLAGS if rec.config.get(name) is not True]
        if off:
            yield fail(
                rec,
                f"Account {rec.account}'s S3 Block Public Access has {', '.join(off)} off.",
                missing=off,
            )
        else:
            yield ok(rec, f"Account {rec.account} blocks public S3 access account-wide.")


# -- transport, versioning, MFA delete --------------------------------------------------------


def _denies_insecure_transport(st: dict[str, Any], bucket: str) -> bool:
    if str(st.get("Effect", "")).lower() != "deny" or not is_world_principal(st.get("Principal")):
        return False
    if "NotAction" in st or not action_allows(as_list(st.get("Action")), "s3:*"):
        return False
    resources = [str(r) for r in as_list(st.get("Resource"))]
    objects = f"arn:aws:s3:::{bucket}/*"
    if "NotResource" in st or not any(
        fnmatch.fnmatchcase(objects, r) or r == objects for r in resources
    ):
        return False
    for operator, block in (st.get("Condition") or {}).items():
        if str(operator).lower() not in ("bool", "boolifexists") or not isinstance(block, dict):
            continue
        for key, value in block.items():
            if str(key).lower() == "aws:securetransport" and any(
                str(v).lower() == "false" for v in as_list(value)
            ):
                return True
    return False


@resource_check(
    title="S3 bucket policy denies requests over plain HTTP",
    description='The bucket policy has a Deny statement for Principal "*" on s3:* covering '
    'the bucket\'s objects with the condition {"Bool": {"aws:SecureTransport": "false"}}, so '
    "every request must use TLS.",
    risk="Requests over HTTP can be read or altered in transit (credentials in pre-signed "
    "URLs, object data); S3 accepts HTTP unless the bucket policy refuses it.",
    severity="medium",
    service="s3",
    resource_types=["aws_s3_bucket"],
    categories=["encryption", "data-protection"],
    remediation={
        "summary": "Add a statement to the bucket policy that denies every S3 action when "
        "aws:SecureTransport is false.",
        "cli": 'aws s3api put-bucket-policy --bucket BUCKET --policy \'{"Version":'
        '"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny",'
        '"Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::BUCKET",'
        '"arn:aws:s3:::BUCKET/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}\''
        "   # merge with the existing statements",
        "terraform": 'data "aws_iam_policy_document" "tls_only" {\n'
        "  statement {\n"
        '    sid     = "DenyInsecureTransport"\n'
        '    effect  = "Deny"\n'
        '    actions = ["s3:*"]\n'
        '    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]\n'
        '    principals { type = "*" identifiers = ["*"] }\n'
        "    condition {\n"
        '      test     = "Bool"\n'
        '      variable = "aws:SecureTransport"\n'
        '      values   = ["false"]\n'
        "    }\n  }\n}\n"
        'resource "aws_s3_bucket_policy" "this" {\n'
        "  bucket = aws_s3_bucket.this.id\n"
        "  policy = data.aws_iam_policy_document.tls_only.json\n}",
        "console": "S3 > bucket > Permissions > Bucket policy > Edit: add the "
        "DenyInsecureTransport statement.",
    },
)
def s3_bucket_deny_insecure_transport(bucket: Resource, inv: Inventory) -> Outcome:
    if _unread(bucket, "policy"):
        return unknown(bucket, f"The policy of bucket {bucket.name} could not be read.")
    try:
        stmts = statements(bucket.config.get("policy"))
    except PolicyUnreadable as exc:
        return unknown(bucket, f"The policy of bucket {bucket.name} could not be parsed: {exc}.")
    if not stmts:
        return fail(
            bucket,
            f"Bucket {bucket.name} has no bucket policy, so it accepts requests over HTTP.",
            policy=None,
        )
    for i, st in enumerate(stmts):
        if _denies_insecure_transport(st, bucket.name):
            label = f'"{st["Sid"]}"' if st.get("Sid") else f"#{i + 1}"
            return ok(
                bucket,
                f"Bucket {bucket.name}'s policy statement {label} denies requests without TLS.",
                statement_index=i,
                sid=st.get("Sid"),
            )
    return fail(
        bucket,
        f"Bucket {bucket.name}'s policy ({len(stmts)} statements) has no Deny on s3:* for "
        "aws:SecureTransport=false, so it accepts requests over HTTP.",
        statements=len(stmts),
    )


@resource_check(
    title="S3 bucket has versioning enabled",
    description="Versioning is Enabled (not Suspended or never enabled), so overwritten and "
    "deleted objects can be recovered.",
    risk="Without versioning an overwrite or delete, accidental or by ransomware or a "
    "compromised principal, destroys the data for good.",
    severity="medium",
    service="s3",
    resource_types=["aws_s3_bucket"],
    categories=["resilience", "data-protection"],
    remediation={
        "summary": "Enable versioning (and add a lifecycle rule that expires noncurrent "
        "versions to bound the cost).",
        "cli": "aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration "
        "Status=Enabled",
        "terraform": 'resource "aws_s3_bucket_versioning" "this" {\n'
        "  bucket = aws_s3_bucket.this.id\n"
        '  versioning_configuration { status = "Enabled" }\n}',
        "console": "S3 > bucket > Properties > Bucket Versioning > Edit > Enable.",
    },
)
def s3_bucket_versioning_enabled(bucket: Resource, inv: Inventory) -> Outcome:
    if _unread(bucket, "versioning") or bucket.config.get("versioning") is None:
        return unknown(bucket, f"Versioning of bucket {bucket.name} could not be read.")
    status = bucket.config["versioning"].get("status") or "Disabled"
    if status == "Enabled":
        return ok(bucket, f"Bucket {bucket.name} has versioning enabled.", status=status)
    return fail(
        bucket,
        f"Bucket {bucket.name} has versioning {'suspended' if status == 'Suspended' else 'off'}.",
        status=status,
    )


@resource_check(
    title="S3 bucket has MFA Delete enabled",
    description="The bucket's versioning configuration has MFA Delete enabled, so deleting "
    "an object version or changing the versioning state needs the root user's MFA code.",
    risk="Without MFA Delete, stolen credentials with s3:DeleteObjectVersion can permanently "
    "erase every version of the data, defeating versioning.",
    severity="low",
    service="s3",
    resource_types=["aws_s3_bucket"],
    categories=["resilience", "data-protection"],
    remediation={
        "summary": "As the root user with its MFA device, enable versioning with MFA Delete "
        "(only the root user can; the console cannot do it).",
        "cli": "aws s3api put-bucket-versioning --bucket BUCKET --versioning-configuration "
        'Status=Enabled,MFADelete=Enabled --mfa "arn:aws:iam::ACCOUNT_ID:mfa/root-account-mfa-'
        'device MFA_CODE"',
        "terraform": 'resource "aws_s3_bucket_versioning" "this" {\n'
        "  bucket = aws_s3_bucket.this.id\n"
        '  mfa    = "MFA_DEVICE_SERIAL MFA_CODE"\n'
        "  versioning_configuration {\n"
        '    status     = "Enabled"\n'
        '    mfa_delete = "Enabled"\n  }\n}',
        "console": "Not available in the console: use the CLI with root credentials and the "
        "root MFA device.",
    },
)
def s3_bucket_mfa_delete(bucket: Resource, inv: Inventory) -> Outcome:
    if _unread(bucket, "versioning") or bucket.config.get("versioning") is None:
        return unknown(bucket, f"Versioning of bucket {bucket.name} could not be read.")
    v = bucket.config["versioning"]
    if v.get("mfa_delete") == "Enabled":
        return ok(bucket, f"Bucket {bucket.name} has MFA Delete enabled.")
    return fail(
        bucket,
        f"Bucket {bucket.name} has MFA Delete disabled (versioning {v.get('status')}).",
        mfa_delete=v.get("mfa_delete"),
        versioning=v.get("status"),
    )
