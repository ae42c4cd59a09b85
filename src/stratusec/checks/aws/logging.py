"""Logging checks: CloudTrail (CIS 3.1, 3.2, 3.4, 3.5, 3.8, 3.9), AWS Config (CIS 3.3) and
KMS key rotation (CIS 3.6), plus helpers shared with the monitoring checks.

Account-level outcomes ("at least one multi-region trail") are attached to the account's
``aws_iam_account_summary`` record; per-region outcomes to the region's ``*_region``
record. When such a record is missing from the inventory (the service was not scanned, or
its collector failed in that region) a stand-in with the uid the collector would have
used is built, so that the finding keeps its identity from one scan to the next, and the
outcome is UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from stratusec.checks import Inventory, Outcome, check, fail, ok, resource_check, unknown
from stratusec.inventory.models import Resource

# -- shared helpers (also used by checks.aws.monitoring) ---------------------------------


def partition(inv: Inventory) -> str:
    """The ARN partition of the inventory's resources (``aws`` unless they say otherwise)."""
    for type_ in inv.types():
        for r in inv.of_type(type_):
            parts = r.uid.split(":")
            if len(parts) > 2 and parts[0] == "arn" and parts[1]:
                return parts[1]
    return "aws"


def account_resource(inv: Inventory) -> Resource:
    """The resource that stands for the whole account: its IAM account summary."""
    found = inv.of_type("aws_iam_account_summary")
    if found:
        return found[0]
    acct = inv.account_id or ""
    return Resource(
        uid=f"arn:{partition(inv)}:iam::{acct}:account-summary",
        account=acct,
        region="global",
        service="iam",
        type="aws_iam_account_summary",
        name="account-summary",
    )


def region_records(
    inv: Inventory, type_: str, service: str
) -> Iterator[tuple[str, Resource, bool]]:
    """``(region, record, present)`` for every scanned region (and any other region that
    has a record). A region without a record gets a stand-in and ``present=False``."""
    by_region = {r.region: r for r in inv.of_type(type_)}
    acct = inv.account_id or ""
    part = partition(inv)
    for region in [*inv.regions, *sorted(set(by_region) - set(inv.regions))]:
        rec = by_region.get(region)
        if rec is not None:
            yield region, rec, True
        else:
            yield (
                region,
                Resource(
                    uid=f"arn:{part}:{service}:{region}:{acct}:region-settings",
                    account=acct,
                    region=region,
                    service=service,
                    type=type_,
                    name=region,
                ),
                False,
            )


def readable(r: Resource, key: str) -> bool:
    """The attribute was read: present in config and not named in ``unavailable``."""
    return key in r.config and key not in r.unavailable


def flag_per_region(
    inv: Inventory,
    *,
    type_: str,
    service: str,
    key: str,
    what: str,
    on: str,
    off: str,
) -> Iterator[Outcome]:
    """One outcome per region from a boolean region attribute: True = PASS, False = FAIL,
    unreadable or no record = UNKNOWN. ``what`` names the service in messages;
    ``on``/``off`` finish the sentence "<what> <on|off> in region R"."""
    for region, rec, present in region_records(inv, type_, service):
        if not present:
            yield unknown(
                rec,
                f"No {what} data for region {region}: the {service} collector reported "
                "nothing there (service not scanned, or its collection failed).",
                region=region,
            )
            continue
        value = rec.config.get(key) if readable(rec, key) else None
        if value is None:
            yield unknown(
                rec, f"Whether {what} is {on} in region {region} could not be read.", region=region
            )
        elif value is True:
            yield ok(rec, f"{what} is {on} in region {region}.", region=region, **{key: True})
        else:
            yield fail(rec, f"{what} is {off} in region {region}.", region=region, **{key: value})


def trail_label(t: Resource) -> str:
    home = t.config.get("home_region") or t.region
    return f"{t.name} ({home})"


def trail_baseline(t: Resource) -> tuple[list[str], list[str]]:
    """Why trail ``t`` is not a multi-region trail that is logging management events
    (read and write): (problems, unknowns). Both empty = it is one."""
    c = t.config
    problems: list[str] = []
    unsure: list[str] = []
    multi = c.get("is_multi_region_trail")
    if multi is None:
        unsure.append("multi-region setting unreadable")
    elif multi is not True:
        problems.append("single-region")
    if not readable(t, "enable_logging") or c.get("enable_logging") is None:
        unsure.append("logging status unreadable")
    elif c.get("enable_logging") is not True:
        problems.append("not logging")
    mgmt = c.get("management_events") if readable(t, "management_events") else None
    if mgmt is None:
        unsure.append("event selectors unreadable")
    else:
        missing = [rw for rw in ("read", "write") if not mgmt.get(rw)]
        if len(missing) == 2:
            problems.append("no management events")
        elif missing:
            problems.append(f"management events without {missing[0]} events")
    return problems, unsure


def baseline_trails(
    inv: Inventory,
) -> tuple[list[Resource], list[str], list[str]]:
    """Trails that are multi-region, logging, with management events read+write;
    plus why the others are not (``failures``) and what could not be judged (``unsure``),
    including multi-region trails that cover the account but whose own record is not in
    the inventory (an organization trail of another account, or a trail homed in a region
    that was not scanned), and regions whose trail listing failed."""
    good: list[Resource] = []
    failures: list[str] = []
    unsure: list[str] = []
    trails = inv.of_type("aws_cloudtrail")
    for t in trails:
        problems, unknowns = trail_baseline(t)
        if problems:
            failures.append(f"{trail_label(t)}: {', '.join(problems)}")
        elif unknowns:
            unsure.append(f"{trail_label(t)}: {', '.join(unknowns)}")
        else:
            good.append(t)
    stopped, foreign, unlisted = unrecorded_trails(inv)
    failures += [f"{name}: not logging" for name in stopped]
    unsure += [
        f"{name}: a multi-region trail whose settings are not in this inventory "
        "(organization trail of another account, or home region not scanned)"
        for name in foreign
    ]
    unsure += [f"the trails of region {region} could not be listed" for region in unlisted]
    return good, failures, unsure


def unrecorded_trails(inv: Inventory) -> tuple[list[str], list[str], list[str]]:
    return inv.memo("cloudtrail.unrecorded_trails", lambda: _unrecorded_trails(inv))


def _unrecorded_trails(inv: Inventory) -> tuple[list[str], list[str], list[str]]:
    """Multi-region trails that cover a scanned region but have no ``aws_cloudtrail``
    record here (organization trails of another account, trails homed in a region that
    was not scanned): (labels of those not logging, labels of the others); plus the
    regions whose trail listing failed (a trail could hide there)."""
    known = {t.uid for t in inv.of_type("aws_cloudtrail")}
    stopped: list[str] = []
    foreign: list[str] = []
    unlisted: list[str] = []
    for rec in inv.of_type("aws_cloudtrail_region"):
        if not readable(rec, "trails") or rec.config.get("trails") is None:
            unlisted.append(rec.region)
            continue
        for cov in rec.config.get("trails") or []:
            arn = cov.get("arn")
            if arn in known or not cov.get("is_multi_region_trail"):
                continue
            known.add(arn)
            label = f"{cov.get('name')} ({cov.get('home_region')})"
            (stopped if cov.get("is_logging") is False else foreign).append(label)
    return stopped, foreign, sorted(unlisted)


def no_cloudtrail_data(inv: Inventory) -> bool:
    return not inv.of_type("aws_cloudtrail") and not inv.of_type("aws_cloudtrail_region")


def uncovered_regions(inv: Inventory) -> list[str]:
    """Regions whose CloudTrail region record says no trail is logging there."""
    return sorted(
        r.region for r in inv.of_type("aws_cloudtrail_region") if r.config.get("logging") is False
    )


# -- CloudTrail ---------------------------------------------------------------------------

_TRAIL_TF = (
    'resource "aws_cloudtrail" "main" {\n'
    '  name                          = "TRAIL_NAME"\n'
    '  s3_bucket_name                = "TRAIL_BUCKET"\n'
    "  is_multi_region_trail         = true\n"
    "  include_global_service_events = true\n"
    "  enable_logging                = true\n"
    "  enable_log_file_validation    = true\n"
    '  kms_key_id                    = "KMS_KEY_ARN"\n'
    "  event_selector {\n"
    '    read_write_type           = "All"\n'
    "    include_management_events = true\n"
    "  }\n"
    "}"
)


@check(
    id="cloudtrail_multi_region_logging",
    title="A multi-region CloudTrail trail is logging management events",
    description="At least one trail applies to all regions, is logging, and records "
    "management events of both kinds (read and write), so that every API call in every "
    "region, including regions nobody uses, is recorded.",
    risk="Without a trail in a region, API activity there leaves no audit record: an "
    "attacker can work in an unused region (crypto-mining, persistence) unseen, and "
    "incidents cannot be reconstructed.",
    severity="high",
    service="cloudtrail",
    resource_types=["aws_iam_account_summary", "aws_cloudtrail", "aws_cloudtrail_region"],
    categories=["logging"],
    remediation={
        "summary": "Create (or convert) one trail to a multi-region trail that logs all "
        "management events, and start logging.",
        "cli": "aws cloudtrail update-trail --name TRAIL_NAME --is-multi-region-trail "
        "--include-global-service-events\n"
        "aws cloudtrail put-event-selectors --trail-name TRAIL_NAME --event-selectors "
        '\'[{"ReadWriteType":"All","IncludeManagementEvents":true}]\'\n'
        "aws cloudtrail start-logging --name TRAIL_NAME",
        "terraform": _TRAIL_TF,
        "console": "CloudTrail > Trails > TRAIL_NAME > General details > Edit: 'Enable "
        "for all regions'; Management events: Read and Write; then 'Start logging'.",
        "docs": "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/"
        "receive-cloudtrail-log-files-from-multiple-regions.html",
    },
)
def cloudtrail_multi_region_logging(inv: Inventory) -> Iterator[Outcome]:
    acct = account_resource(inv)
    if no_cloudtrail_data(inv):
        yield unknown(acct, "No CloudTrail data in this inventory (cloudtrail not scanned).")
        return
    good, failures, unsure = baseline_trails(inv)
    if good:
        names = [trail_label(t) for t in good]
        excluded = sorted(
            {
                src
                for t in good
                for src in (t.config.get("management_events") or {}).get(
                    "exclude_event_sources", []
                )
            }
        )
        note = f" (management events from {', '.join(excluded)} excluded)" if excluded else ""
        yield ok(
            acct,
            f"Multi-region trail {', '.join(names)} is logging management events (read and "
            f"write){note}.",
            trails=[t.uid for t in good],
            excluded_event_sources=excluded,
        )
        return
    gaps = uncovered_regions(inv)
    where = f" Regions with no logging trail at all: {', '.join(gaps)}." if gaps else ""
    if unsure:
        yield unknown(
            acct,
            "No multi-region trail could be confirmed to log management events: "
            f"{'; '.join(unsure + failures)}.{where}",
            unsure=unsure,
            failures=failures,
            regions_without_logging=gaps,
        )
        return
    detail = "; ".join(failures) if failures else "the account has no trails"
    yield fail(
        acct,
        f"No multi-region trail is logging management events (read and write): {detail}.{where}",
        failures=failures,
        regions_without_logging=gaps,
    )


@resource_check(
    title="CloudTrail log file validation is enabled",
    description="The trail writes signed digest files, so that any change to or deletion "
    "of a delivered log file can be detected (aws cloudtrail validate-logs).",
    risk="Without digests, an attacker with write access to the log bucket can alter or "
    "delete log files to hide their activity and nobody can prove it.",
    severity="medium",
    service="cloudtrail",
    resource_types=["aws_cloudtrail"],
    categories=["logging"],
    remediation={
        "summary": "Enable log file integrity validation on the trail.",
        "cli": "aws cloudtrail update-trail --name TRAIL_NAME --enable-log-file-validation",
        "terraform": 'resource "aws_cloudtrail" "main" {\n  # ...\n'
        "  enable_log_file_validation = true\n}",
        "console": "CloudTrail > Trails > TRAIL_NAME > General details > Edit > Additional "
        "settings: Log file validation 'Enabled'.",
    },
)
def cloudtrail_log_file_validation(trail: Resource, inv: Inventory) -> Outcome:
    value = trail.config.get("enable_log_file_validation")
    if not readable(trail, "enable_log_file_validation") or value is None:
        return unknown(trail, f"Log file validation of trail {trail_label(trail)} is unknown.")
    if value is True:
        return ok(trail, f"Trail {trail_label(trail)} has log file validation enabled.")
    return fail(
        trail,
        f"Trail {trail_label(trail)} has log file validation disabled.",
        enable_log_file_validation=value,
    )


@resource_check(
    title="CloudTrail logs are encrypted with a KMS key",
    description="The trail encrypts its log files with SSE-KMS using a customer managed "
    "key, so that reading them needs kms:Decrypt on that key as well as S3 access.",
    risk="With SSE-S3 only, anyone who can read the log bucket reads the full API history "
    "of the account (resource names, IPs, principals); a KMS key adds an independent "
    "access control and an audit record of every decryption.",
    severity="medium",
    service="cloudtrail",
    resource_types=["aws_cloudtrail"],
    categories=["logging", "encryption"],
    remediation={
        "summary": "Create a customer managed KMS key whose policy lets CloudTrail use it, "
        "and configure the trail to use it.",
        "cli": "aws cloudtrail update-trail --name TRAIL_NAME --kms-key-id KMS_KEY_ARN",
        "terraform": 'resource "aws_cloudtrail" "main" {\n  # ...\n'
        "  kms_key_id = aws_kms_key.cloudtrail.arn\n}",
        "console": "CloudTrail > Trails > TRAIL_NAME > General details > Edit: Log file "
        "SSE-KMS encryption 'Enabled', choose the key.",
    },
)
def cloudtrail_kms_encryption(trail: Resource, inv: Inventory) -> Outcome:
    if "kms_key_id" not in trail.config:
        return unknown(trail, f"Encryption of trail {trail_label(trail)} is unknown.")
    key = trail.config.get("kms_key_id")
    if key:
        return ok(trail, f"Trail {trail_label(trail)} encrypts its logs with KMS key {key}.")
    return fail(
        trail,
        f"Trail {trail_label(trail)} does not encrypt its logs with a KMS key (SSE-S3 only).",
        kms_key_id=None,
    )


@resource_check(
    title="CloudTrail sends its events to CloudWatch Logs",
    description="The trail delivers its events to a CloudWatch Logs log group, which is "
    "what metric filters and alarms (CIS 4.x) and real-time analysis work on.",
    risk="Events that only land in S3 are seen in batches and only when someone looks: "
    "no alarm can fire on a root login or a disabled trail.",
    severity="low",
    service="cloudtrail",
    resource_types=["aws_cloudtrail"],
    categories=["logging", "monitoring"],
    remediation={
        "summary": "Create a log group and a role CloudTrail can assume to write to it, "
        "and configure the trail with both.",
        "cli": "aws logs create-log-group --log-group-name LOG_GROUP\n"
        "aws cloudtrail update-trail --name TRAIL_NAME --cloud-watch-logs-log-group-arn "
        "arn:aws:logs:REGION:ACCOUNT_ID:log-group:LOG_GROUP:* --cloud-watch-logs-role-arn "
        "arn:aws:iam::ACCOUNT_ID:role/CLOUDTRAIL_TO_CLOUDWATCH_ROLE",
        "terraform": 'resource "aws_cloudtrail" "main" {\n  # ...\n'
        '  cloud_watch_logs_group_arn = "${aws_cloudwatch_log_group.trail.arn}:*"\n'
        "  cloud_watch_logs_role_arn  = aws_iam_role.cloudtrail_to_cloudwatch.arn\n}",
        "console": "CloudTrail > Trails > TRAIL_NAME > CloudWatch Logs > Edit: Enabled, "
        "choose or create the log group and IAM role.",
    },
)
def cloudtrail_cloudwatch_logs_integration(trail: Resource, inv: Inventory) -> Outcome:
    if "cloud_watch_logs_group_arn" not in trail.config:
        return unknown(trail, f"CloudWatch Logs delivery of trail {trail_label(trail)} unknown.")
    group = trail.config.get("cloud_watch_logs_group_arn")
    if not group:
        return fail(
            trail,
            f"Trail {trail_label(trail)} does not send its events to CloudWatch Logs.",
            cloud_watch_logs_group_arn=None,
        )
    status = trail.config.get("status") or {}
    error = status.get("latest_cloud_watch_logs_delivery_error")
    if error:
        return fail(
            trail,
            f"Trail {trail_label(trail)} is configured for log group {group}, but delivery "
            f"fails: {error}.",
            cloud_watch_logs_group_arn=group,
            delivery_error=error,
        )
    return ok(
        trail,
        f"Trail {trail_label(trail)} sends its events to CloudWatch Logs group {group}.",
        cloud_watch_logs_group_arn=group,
        latest_delivery=status.get("latest_cloud_watch_logs_delivery_time"),
    )


def trail_bucket(trail: Resource, inv: Inventory) -> Resource | None:
    name = trail.config.get("s3_bucket_name")
    for uid in trail.targets("LOGS_TO"):
        found = inv.get(uid)
        if found is not None and found.type == "aws_s3_bucket":
            return found
    return inv.named("aws_s3_bucket", name) if name else None


@resource_check(
    title="The CloudTrail S3 bucket has server access logging",
    description="The bucket that receives the trail's log files records S3 server access "
    "logs, so that every read, write and delete of the audit logs is itself recorded.",
    risk="Without access logs on the trail bucket, reading or deleting the audit trail "
    "(to learn about the account, or to cover tracks) leaves no record outside CloudTrail "
    "data events.",
    severity="low",
    service="cloudtrail",
    resource_types=["aws_cloudtrail"],
    categories=["logging"],
    remediation={
        "summary": "Enable server access logging on the trail's bucket, to a separate "
        "bucket that the trail's writers cannot modify.",
        "cli": "aws s3api put-bucket-logging --bucket TRAIL_BUCKET --bucket-logging-status "
        '\'{"LoggingEnabled":{"TargetBucket":"ACCESS_LOG_BUCKET",'
        '"TargetPrefix":"TRAIL_BUCKET/"}}\'',
        "terraform": 'resource "aws_s3_bucket_logging" "trail_bucket" {\n'
        '  bucket        = "TRAIL_BUCKET"\n'
        '  target_bucket = "ACCESS_LOG_BUCKET"\n'
        '  target_prefix = "TRAIL_BUCKET/"\n}',
        "console": "S3 > TRAIL_BUCKET > Properties > Server access logging > Edit: Enable, "
        "choose the target bucket.",
    },
)
def cloudtrail_bucket_access_logging(trail: Resource, inv: Inventory) -> Outcome:
    name = trail.config.get("s3_bucket_name")
    if not name:
        return unknown(trail, f"Trail {trail_label(trail)} names no S3 bucket.")
    bucket = trail_bucket(trail, inv)
    if bucket is None:
        return unknown(
            trail,
            f"Bucket {name} of trail {trail_label(trail)} is not in this inventory (another "
            "account's bucket, or S3 not scanned): its access logging cannot be judged.",
            s3_bucket_name=name,
        )
    if not readable(bucket, "logging"):
        return unknown(
            trail,
            f"Access logging of bucket {name} (trail {trail_label(trail)}) could not be read.",
            s3_bucket_name=name,
        )
    logging = bucket.config.get("logging")
    if logging and logging.get("target_bucket"):
        target = f"{logging['target_bucket']}/{logging.get('target_prefix') or ''}"
        return ok(
            trail,
            f"Bucket {name} of trail {trail_label(trail)} logs access to s3://{target}.",
            s3_bucket_name=name,
            target=target,
        )
    return fail(
        trail,
        f"Bucket {name} of trail {trail_label(trail)} has no server access logging.",
        s3_bucket_name=name,
        logging=None,
    )


# -- S3 object-level (data event) logging ---------------------------------------------------

_POSITIVE_OPS = ("Equals", "StartsWith")
_NEGATIVE_OPS = ("NotEquals", "NotStartsWith", "NotEndsWith")


def _selector_covers(selector: dict[str, Any], bucket_arn: str) -> bool:
    """Does one S3 data-event selector (as summarised by the CloudTrail collector) log
    every object of the bucket?"""
    if selector.get("all_buckets"):
        return True
    objects = f"{bucket_arn}/"
    resources = [str(v) for v in selector.get("resources") or []]
    if "name" not in selector:
        # Classic selector: ARNs, "arn:aws:s3:::bucket/" = every object of the bucket,
        # "arn:aws:s3:::bucket/prefix" = only some.
        return any(v.rstrip("/") == bucket_arn for v in resources)
    # Advanced selector: "Operator:value" conditions on resources.ARN.
    positive: list[tuple[str, str]] = []
    negative: list[tuple[str, str]] = []
    for entry in resources:
        op, _, value = entry.partition(":")
        (negative if op in _NEGATIVE_OPS or op.startswith("Not") else positive).append((op, value))
    if positive and not any(
        op == "StartsWith" and objects.startswith(value) for op, value in positive
    ):
        return False  # only some objects (Equals one key, EndsWith a suffix, ...)
    for op, value in negative:
        if op == "NotStartsWith" and (objects.startswith(value) or value.startswith(objects)):
            return False
        if op in ("NotEquals", "NotEndsWith") and value.startswith(objects):
            return False
    return True


def _data_events_outcome(bucket: Resource, inv: Inventory, mode: str) -> Outcome:
    arn = bucket.config.get("arn") or bucket.uid
    if no_cloudtrail_data(inv):
        return unknown(bucket, f"No CloudTrail data in this inventory to judge {bucket.name}.")
    covering: list[str] = []
    partial: list[str] = []
    unsure: list[str] = []
    for t in inv.of_type("aws_cloudtrail"):
        c = t.config
        in_region = c.get("is_multi_region_trail") is True or (
            (c.get("home_region") or t.region) == bucket.region
        )
        if not in_region:
            continue
        s3 = c.get("s3_object_data_events") if readable(t, "s3_object_data_events") else None
        logging = c.get("enable_logging") if readable(t, "enable_logging") else None
        if s3 is None:
            unsure.append(f"{trail_label(t)}: event selectors unreadable")
            continue
        selectors = [s for s in s3.get("selectors") or [] if s.get(mode)]
        if not any(_selector_covers(s, arn) for s in selectors):
            if selectors and any(
                str(r).find(bucket.name) >= 0 for s in selectors for r in s.get("resources") or []
            ):
                partial.append(trail_label(t))
            continue
        if logging is None:
            unsure.append(f"{trail_label(t)}: logging status unreadable")
        elif logging is True:
            covering.append(trail_label(t))
        else:
            partial.append(f"{trail_label(t)} (not logging)")
    _stopped, foreign, unlisted = unrecorded_trails(inv)
    unsure += [
        f"{name}: multi-region trail whose selectors are not in this inventory" for name in foreign
    ]
    if bucket.region in unlisted:
        unsure.append(f"the trails of region {bucket.region} could not be listed")
    kind = "write" if mode == "write" else "read"
    if covering:
        return ok(
            bucket,
            f"Object-level {kind} events of bucket {bucket.name} are logged by trail "
            f"{', '.join(covering)}.",
            trails=covering,
        )
    if unsure:
        return unknown(
            bucket,
            f"Object-level {kind} logging of bucket {bucket.name} could not be confirmed: "
            f"{'; '.join(unsure)}.",
            unsure=unsure,
        )
    extra = f" (selectors that cover it only in part, or a stopped trail: {', '.join(partial)})"
    return fail(
        bucket,
        f"No logging trail records object-level {kind} events for bucket {bucket.name}"
        f"{extra if partial else ''}.",
        partial=partial,
    )


def _data_events_remediation(read_only: str) -> dict[str, str]:
    kind = "read" if read_only == "true" else "write"
    selectors = (
        '[{"Name":"Management events","FieldSelectors":[{"Field":"eventCategory",'
        '"Equals":["Management"]}]},{"Name":"S3 object ' + kind + ' events",'
        '"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]},'
        '{"Field":"resources.type","Equals":["AWS::S3::Object"]},'
        '{"Field":"readOnly","Equals":["' + read_only + '"]}]}]'
    )
    return {
        "summary": f"Add an S3 data event selector for {kind} events (all buckets, or at "
        "least this one) to a multi-region trail. PutEventSelectors replaces the trail's "
        "selectors: keep the ones it already has.",
        "cli": f"aws cloudtrail put-event-selectors --trail-name TRAIL_NAME "
        f"--advanced-event-selectors '{selectors}'",
        "terraform": 'resource "aws_cloudtrail" "main" {\n  # ...\n'
        "  advanced_event_selector {\n"
        '    name = "Management events"\n'
        '    field_selector {\n      field  = "eventCategory"\n      equals = ["Management"]\n'
        "    }\n  }\n"
        "  advanced_event_selector {\n"
        f'    name = "S3 object {kind} events"\n'
        '    field_selector {\n      field  = "eventCategory"\n      equals = ["Data"]\n    }\n'
        '    field_selector {\n      field  = "resources.type"\n'
        '      equals = ["AWS::S3::Object"]\n    }\n'
        f'    field_selector {{\n      field  = "readOnly"\n      equals = ["{read_only}"]\n'
        "    }\n  }\n}",
        "console": "CloudTrail > Trails > TRAIL_NAME > Data events > Edit: add data event "
        f"type 'S3', log selector template '{'Log readOnly events' if kind == 'read' else 'Log writeOnly events'}'.",  # noqa: E501
    }


@resource_check(
    title="Object-level write events are logged for the S3 bucket",
    description="A logging trail that covers the bucket's region records S3 data events "
    "of the write kind (PutObject, DeleteObject, ...) for every object of the bucket.",
    risk="Management events do not show object writes and deletes: tampering with or "
    "destroying data in the bucket leaves no audit record.",
    severity="low",
    service="cloudtrail",
    resource_types=["aws_s3_bucket"],
    categories=["logging"],
    remediation=_data_events_remediation("false"),
)
def cloudtrail_s3_data_events_write(bucket: Resource, inv: Inventory) -> Outcome:
    return _data_events_outcome(bucket, inv, "write")


@resource_check(
    title="Object-level read events are logged for the S3 bucket",
    description="A logging trail that covers the bucket's region records S3 data events "
    "of the read kind (GetObject, ...) for every object of the bucket.",
    risk="Management events do not show object reads: data exfiltration from the bucket "
    "(with stolen credentials or through a too-broad policy) leaves no audit record.",
    severity="low",
    service="cloudtrail",
    resource_types=["aws_s3_bucket"],
    categories=["logging"],
    remediation=_data_events_remediation("true"),
)
def cloudtrail_s3_data_events_read(bucket: Resource, inv: Inventory) -> Outcome:
    return _data_events_outcome(bucket, inv, "read")


# -- AWS Config ---------------------------------------------------------------------------


@check(
    id="config_recorder_enabled_all_regions",
    title="AWS Config is recording in every region",
    description="Each scanned region has a customer-managed configuration recorder that "
    "records all supported resource types and is running.",
    risk="Without Config a region keeps no history of resource configuration: changes "
    "(an opened security group, a public bucket) cannot be traced, evaluated by Config "
    "rules, or reconstructed after an incident.",
    severity="medium",
    service="config",
    resource_types=["aws_config_region"],
    categories=["logging"],
    remediation={
        "summary": "Create a recorder for all supported resource types and a delivery "
        "channel in the region, and start the recorder.",
        "cli": "aws configservice put-configuration-recorder --region REGION "
        "--configuration-recorder name=default,roleARN=arn:aws:iam::ACCOUNT_ID:role/"
        "CONFIG_ROLE --recording-group allSupported=true,includeGlobalResourceTypes=true\n"
        "aws configservice put-delivery-channel --region REGION --delivery-channel "
        "name=default,s3BucketName=CONFIG_BUCKET\n"
        "aws configservice start-configuration-recorder --region REGION "
        "--configuration-recorder-name default",
        "terraform": 'resource "aws_config_configuration_recorder" "this" {\n'
        '  name     = "default"\n  role_arn = aws_iam_role.config.arn\n'
        "  recording_group {\n    all_supported                 = true\n"
        "    include_global_resource_types = true\n  }\n}\n"
        'resource "aws_config_delivery_channel" "this" {\n  name           = "default"\n'
        '  s3_bucket_name = "CONFIG_BUCKET"\n'
        "  depends_on     = [aws_config_configuration_recorder.this]\n}\n"
        'resource "aws_config_configuration_recorder_status" "this" {\n'
        "  name       = aws_config_configuration_recorder.this.name\n"
        "  is_enabled = true\n"
        "  depends_on = [aws_config_delivery_channel.this]\n}",
        "console": "AWS Config (in each region) > Settings > Edit: record all resource "
        "types, choose the bucket and role; make sure recording is on.",
    },
)
def config_recorder_enabled_all_regions(inv: Inventory) -> Iterator[Outcome]:
    for region, rec, present in region_records(inv, "aws_config_region", "config"):
        if not present:
            yield unknown(
                rec,
                f"No AWS Config data for region {region}: the config collector reported "
                "nothing there (service not scanned, or its collection failed).",
                region=region,
            )
            continue
        recording = rec.config.get("recording") if readable(rec, "recording") else None
        recorders = rec.config.get("recorders") or []
        summary = ", ".join(
            f"{r.get('name')} (recording={r.get('recording')}, "
            f"all_supported={r.get('all_supported')})"
            for r in recorders
            if not r.get("service_principal")
        )
        if recording is None:
            yield unknown(rec, f"Whether AWS Config records in region {region} is unknown.")
        elif recording is True:
            yield ok(
                rec,
                f"AWS Config records all supported resource types in region {region} "
                f"(recorder {summary}).",
                recorders=recorders,
            )
        elif not summary:
            yield fail(
                rec, f"AWS Config has no configuration recorder in region {region}.", recorders=[]
            )
        else:
            yield fail(
                rec,
                f"AWS Config is not recording all resource types in region {region}: {summary}.",
                recorders=recorders,
            )


@resource_check(
    title="The AWS Config recorder records all resource types",
    description="The configuration recorder's recording group records all supported "
    "resource types (allSupported, no exclusions), so new resource types are recorded "
    "as AWS adds them.",
    risk="A recorder limited to a list of types leaves every other resource without "
    "configuration history or Config rule evaluation.",
    severity="low",
    service="config",
    resource_types=["aws_config_configuration_recorder"],
    categories=["logging"],
    remediation={
        "summary": "Set the recording group to all supported resource types.",
        "cli": "aws configservice put-configuration-recorder --region REGION "
        "--configuration-recorder name=RECORDER,roleARN=arn:aws:iam::ACCOUNT_ID:role/"
        "CONFIG_ROLE --recording-group allSupported=true,includeGlobalResourceTypes=true",
        "terraform": 'resource "aws_config_configuration_recorder" "this" {\n  # ...\n'
        "  recording_group {\n    all_supported                 = true\n"
        "    include_global_resource_types = true\n  }\n}",
        "console": "AWS Config > Settings > Edit > Recording strategy: 'All resource types "
        "with customizable overrides'.",
    },
)
def config_recorder_all_resource_types(rec: Resource, inv: Inventory) -> Outcome | None:
    if rec.config.get("service_principal"):
        return None  # a service-linked recorder records what its service needs
    if not readable(rec, "recording_group") or not rec.config.get("recording_group"):
        return unknown(rec, f"Recording group of Config recorder {rec.name} is unknown.")
    group = rec.config["recording_group"]
    excluded = list(group.get("exclusion_by_resource_types") or [])
    where = f"Config recorder {rec.name} ({rec.region})"
    if group.get("all_supported") and not excluded:
        glob = group.get("include_global_resource_types")
        return ok(
            rec,
            f"{where} records all supported resource types"
            f"{' including global ones' if glob else ''}.",
            include_global_resource_types=glob,
        )
    if excluded:
        return fail(
            rec,
            f"{where} excludes {len(excluded)} resource type(s): {', '.join(excluded[:10])}.",
            exclusion_by_resource_types=excluded,
        )
    types = list(group.get("resource_types") or [])
    shown = ", ".join(types[:10]) + (" ..." if len(types) > 10 else "")
    return fail(
        rec,
        f"{where} records only {len(types)} resource type(s): {shown or 'none'}.",
        resource_types=types,
    )


# -- KMS ---------------------------------------------------------------------------------


@resource_check(
    title="Customer managed KMS keys rotate automatically",
    description="Automatic rotation is enabled on every customer managed symmetric key "
    "with KMS-generated key material. Keys where rotation does not apply (AWS managed "
    "keys, asymmetric and HMAC keys, imported or custom key store material, keys pending "
    "deletion) are not applicable.",
    risk="Key material that never changes stays usable for every ciphertext ever made "
    "with it; regular rotation limits how much data a leaked or cryptanalysed key exposes "
    "and is required by most compliance regimes.",
    severity="medium",
    service="kms",
    resource_types=["aws_kms_key"],
    categories=["encryption"],
    remediation={
        "summary": "Enable automatic key rotation (yearly by default; 90-2560 days configurable).",
        "cli": "aws kms enable-key-rotation --key-id KEY_ID --rotation-period-in-days 365",
        "terraform": 'resource "aws_kms_key" "this" {\n  # ...\n'
        "  enable_key_rotation     = true\n  rotation_period_in_days = 365\n}",
        "console": "KMS > Customer managed keys > KEY > Key rotation: 'Automatically rotate "
        "this KMS key every year'.",
    },
)
def kms_key_rotation_enabled(key: Resource, inv: Inventory) -> Outcome | None:
    c = key.config
    aliases = c.get("aliases") or []
    label = f"KMS key {key.name}" + (f" ({', '.join(aliases)})" if aliases else "")
    if "enable_key_rotation" in key.unavailable or "enable_key_rotation" not in c:
        return unknown(key, f"Rotation status of {label} could not be read.")
    if c.get("key_manager") not in (None, "CUSTOMER"):
        return None
    if any(str(a).startswith("alias/aws/") for a in aliases):
        # The alias/aws/ namespace is reserved for AWS managed keys (customers cannot
        # create such aliases), whatever KeyManager an emulator reports.
        return None
    rotation = c.get("enable_key_rotation")
    if rotation is None:
        # The collector says why rotation does not apply (AWS managed, asymmetric, ...).
        return None
    if rotation is True:
        period = c.get("rotation_period_in_days")
        every = f" every {period} days" if period else ""
        return ok(key, f"{label} rotates automatically{every}.", rotation_period_in_days=period)
    return fail(
        key,
        f"{label} (customer managed, {c.get('key_spec') or 'symmetric'}, state "
        f"{c.get('key_state')}) does not rotate its key material.",
        enable_key_rotation=False,
        aliases=aliases,
    )
