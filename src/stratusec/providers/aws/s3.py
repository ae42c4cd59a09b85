"""S3: every bucket with its access, encryption, versioning, logging, lock and ownership
settings (read with a client in the bucket's own region), plus the account-level public
access block (S3 Control).

Sub-resources are nested under the Terraform sub-resource names. A setting that is not
configured is None (or, for versioning, "Disabled"); a setting that could not be read is
None AND named in ``unavailable``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.inventory.models import Resource, tags_from_list
from stratusec.providers.aws.base import CollectorContext
from stratusec.providers.aws.util import key_ref_uid, parse_policy

SERVICE = "s3"
GLOBAL = True

PUBLIC_GRANTEES = frozenset(
    {
        "http://acs.amazonaws.com/groups/global/AllUsers",
        "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
    }
)

_PAB_KEYS = (
    ("BlockPublicAcls", "block_public_acls"),
    ("IgnorePublicAcls", "ignore_public_acls"),
    ("BlockPublicPolicy", "block_public_policy"),
    ("RestrictPublicBuckets", "restrict_public_buckets"),
)


def bucket_region(location: str | None) -> str:
    """GetBucketLocation's LocationConstraint as a region name."""
    if not location:
        return "us-east-1"
    if location == "EU":
        return "eu-west-1"
    return location


def _pab(cfg: dict[str, Any]) -> dict[str, Any]:
    return {tf: bool(cfg.get(api, False)) for api, tf in _PAB_KEYS}


def _acl(data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    owner = data.get("Owner") or {}
    grants = []
    public = False
    for g in data.get("Grants") or []:
        grantee = g.get("Grantee") or {}
        uri = grantee.get("URI")
        if uri in PUBLIC_GRANTEES:
            public = True
        grants.append(
            {
                "grantee_type": grantee.get("Type"),
                "grantee_uri": uri,
                "grantee_id": grantee.get("ID"),
                "grantee_email_address": grantee.get("EmailAddress"),
                "grantee_display_name": grantee.get("DisplayName"),
                "permission": g.get("Permission"),
            }
        )
    acl = {
        "owner": {"id": owner.get("ID"), "display_name": owner.get("DisplayName")},
        "grants": grants,
    }
    return acl, public


def _sse(data: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for r in (data.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []:
        default = r.get("ApplyServerSideEncryptionByDefault") or {}
        rules.append(
            {
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": default.get("SSEAlgorithm"),
                    "kms_master_key_id": default.get("KMSMasterKeyID"),
                }
                if default
                else None,
                "bucket_key_enabled": r.get("BucketKeyEnabled"),
            }
        )
    return {"rule": rules}


def _object_lock(data: dict[str, Any]) -> dict[str, Any]:
    cfg = data.get("ObjectLockConfiguration") or {}
    retention = (cfg.get("Rule") or {}).get("DefaultRetention")
    return {
        "object_lock_enabled": cfg.get("ObjectLockEnabled"),
        "rule": {
            "default_retention": {
                "mode": retention.get("Mode"),
                "days": retention.get("Days"),
                "years": retention.get("Years"),
            }
        }
        if retention
        else None,
    }


def _ownership(data: dict[str, Any]) -> dict[str, Any]:
    rules = (data.get("OwnershipControls") or {}).get("Rules") or []
    return {"rule": [{"object_ownership": r.get("ObjectOwnership")} for r in rules]}


def collect(ctx: CollectorContext) -> Iterator[Resource]:
    s3 = ctx.client("s3", ctx.api_region)

    def detail(bucket: dict[str, Any]) -> Resource:
        name = bucket["Name"]
        arn = f"arn:{ctx.partition}:s3:::{name}"
        unavailable: list[str] = []
        raw: dict[str, Any] = {"list_buckets": bucket}

        # Region: ListBuckets gives it on current AWS; else ask GetBucketLocation.
        region = bucket.get("BucketRegion")
        if not region:
            loc = ctx.call(s3, "get_bucket_location", Bucket=name, resource=arn)
            if loc.ok:
                raw["get_bucket_location"] = loc.data
                region = bucket_region(loc.data.get("LocationConstraint"))
            else:
                # botocore follows S3's region redirects, so the home region still works.
                unavailable.append("region")
        client = ctx.client("s3", region or ctx.api_region)

        def get(
            op: str, attr: str, absent: tuple[str, ...] = ()
        ) -> tuple[dict[str, Any] | None, bool]:
            """(data, ok); data None when absent or failed; a failure marks ``attr``."""
            r = ctx.call(client, op, Bucket=name, absent=absent, resource=arn)
            if r.ok:
                raw[op] = r.data
                return r.data, True
            if r.failed:
                unavailable.append(attr)
            return None, False

        pol, _ = get("get_bucket_policy", "policy", ("NoSuchBucketPolicy",))
        policy = parse_policy(pol.get("Policy")) if pol else None
        if pol:
            raw["get_bucket_policy"] = {"Policy": policy}

        ps = ctx.call(
            client,
            "get_bucket_policy_status",
            Bucket=name,
            absent=("NoSuchBucketPolicy", "NoSuchPolicyStatus"),
            resource=arn,
        )
        policy_status: dict[str, Any] | None
        if ps.ok:
            raw["get_bucket_policy_status"] = ps.data
            policy_status = {"is_public": bool((ps.data.get("PolicyStatus") or {}).get("IsPublic"))}
        elif ps.absent:
            policy_status = {"is_public": False}  # no policy: the policy makes nothing public
        else:
            policy_status = None
            unavailable.append("policy_status")

        acl_data, acl_ok = get("get_bucket_acl", "acl")
        acl, acl_public = _acl(acl_data) if acl_data is not None else (None, None)
        if not acl_ok:
            unavailable.append("acl_public")

        pab, _ = get(
            "get_public_access_block",
            "public_access_block",
            ("NoSuchPublicAccessBlockConfiguration",),
        )
        public_access_block = _pab(pab.get("PublicAccessBlockConfiguration") or {}) if pab else None

        enc, _ = get(
            "get_bucket_encryption",
            "server_side_encryption_configuration",
            ("ServerSideEncryptionConfigurationNotFoundError",),
        )
        sse = _sse(enc) if enc else None

        ver, ver_ok = get("get_bucket_versioning", "versioning")
        versioning = (
            {
                "status": (ver or {}).get("Status") or "Disabled",
                "mfa_delete": (ver or {}).get("MFADelete") or "Disabled",
            }
            if ver_ok
            else None
        )

        log, _ = get("get_bucket_logging", "logging")
        log_enabled = (log or {}).get("LoggingEnabled")
        logging = (
            {
                "target_bucket": log_enabled.get("TargetBucket"),
                "target_prefix": log_enabled.get("TargetPrefix"),
            }
            if log_enabled
            else None
        )

        tag_data, _ = get("get_bucket_tagging", "tags", ("NoSuchTagSet",))
        lock, _ = get(
            "get_object_lock_configuration",
            "object_lock_configuration",
            ("ObjectLockConfigurationNotFoundError",),
        )
        own, _ = get(
            "get_bucket_ownership_controls",
            "ownership_controls",
            ("OwnershipControlsNotFoundError",),
        )

        res = ctx.resource(
            uid=arn,
            type="aws_s3_bucket",
            name=name,
            region=region or ctx.api_region,
            tags=tags_from_list((tag_data or {}).get("TagSet")),
            config={
                "bucket": name,
                "arn": arn,
                "region": region,
                "creation_date": bucket.get("CreationDate"),
                "policy": policy,
                "policy_status": policy_status,
                "acl": acl,
                "acl_public": acl_public,
                "public_access_block": public_access_block,
                "server_side_encryption_configuration": sse,
                "versioning": versioning,
                "logging": logging,
                "object_lock_configuration": _object_lock(lock) if lock else None,
                "ownership_controls": _ownership(own) if own else None,
            },
            raw=raw,
            unavailable=unavailable,
        )
        if logging and logging["target_bucket"]:
            res.relate(
                "LOGS_TO",
                f"arn:{ctx.partition}:s3:::{logging['target_bucket']}",
                target_prefix=logging["target_prefix"],
            )
        for rule in (sse or {}).get("rule") or []:
            default = rule.get("apply_server_side_encryption_by_default") or {}
            res.relate(
                "USES_KEY",
                key_ref_uid(ctx, default.get("kms_master_key_id"), region or ctx.api_region),
                sse_algorithm=default.get("sse_algorithm"),
            )
        return res

    yield from ctx.map(detail, ctx.pages(s3, "list_buckets", "Buckets"))
    yield _account_public_access_block(ctx)


def _account_public_access_block(ctx: CollectorContext) -> Resource:
    control = ctx.client("s3control", ctx.api_region)
    r = ctx.call(
        control,
        "get_public_access_block",
        AccountId=ctx.account_id,
        absent=("NoSuchPublicAccessBlockConfiguration",),
        resource=f"account {ctx.account_id}",
    )
    config: dict[str, Any] = {"account_id": ctx.account_id}
    unavailable: list[str] = []
    if r.ok:
        config.update(_pab(r.data.get("PublicAccessBlockConfiguration") or {}))
        config["configured"] = True
    elif r.absent:
        config.update({tf: False for _, tf in _PAB_KEYS})
        config["configured"] = False
    else:
        config.update({tf: None for _, tf in _PAB_KEYS})
        config["configured"] = None
        unavailable = [tf for _, tf in _PAB_KEYS] + ["configured"]
    return ctx.resource(
        uid=ctx.arn("s3", "account-public-access-block", region=""),
        type="aws_s3_account_public_access_block",
        name=ctx.account_id,
        region="global",
        config=config,
        raw={"get_public_access_block": r.data} if r.ok else {},
        unavailable=unavailable,
    )
