"""Data-service checks: DynamoDB point-in-time recovery, Secrets Manager rotation, SQS and
SNS encryption and public access policies."""

from __future__ import annotations

from stratusec.checks import Inventory, Outcome, fail, ok, resource_check, unknown
from stratusec.checks.aws._policy import PolicyUnreadable, describe_grants, public_grants
from stratusec.inventory.models import Resource


def _unread(resource: Resource, *keys: str) -> str | None:
    """The first of ``keys`` that could not be read or is missing; None when all are there."""
    for key in keys:
        if key in resource.unavailable or key not in resource.config:
            return key
    return None


def _classified(r: Resource) -> str:
    cls = r.tags.get("data-classification") or r.tags.get("DataClassification")
    return f" ({cls} data)" if cls else ""


# -- DynamoDB -------------------------------------------------------------------------------


@resource_check(
    title="DynamoDB table has point-in-time recovery",
    description="Point-in-time recovery (continuous backups) is enabled, so the table can "
    "be restored to any second of the recovery period (up to 35 days).",
    risk="Without PITR an accidental or malicious delete or overwrite of items cannot be "
    "undone beyond whatever on-demand backups happen to exist.",
    severity="medium",
    service="dynamodb",
    resource_types=["aws_dynamodb_table"],
    categories=["resilience", "backup"],
    remediation={
        "summary": "Enable point-in-time recovery on the table.",
        "cli": "aws dynamodb update-continuous-backups --table-name TABLE_NAME "
        "--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true",
        "terraform": 'resource "aws_dynamodb_table" "this" {\n'
        "  # ...\n"
        "  point_in_time_recovery { enabled = true }\n}",
        "console": "DynamoDB > Tables > table > Backups > Point-in-time recovery > Edit > Turn on.",
    },
)
def dynamodb_table_pitr_enabled(table: Resource, inv: Inventory) -> Outcome:
    pitr = table.config.get("point_in_time_recovery")
    if _unread(table, "point_in_time_recovery") or not isinstance(pitr, dict):
        return unknown(table, f"Point-in-time recovery of table {table.name} could not be read.")
    if pitr.get("enabled"):
        days = pitr.get("recovery_period_in_days")
        return ok(
            table,
            f"Table {table.name} has point-in-time recovery"
            + (f" ({days} days)" if days else "")
            + ".",
            recovery_period_in_days=days,
        )
    return fail(
        table,
        f"Table {table.name}{_classified(table)} has no point-in-time recovery.",
        point_in_time_recovery=False,
    )


# -- Secrets Manager ----------------------------------------------------------------------


@resource_check(
    title="Secrets Manager secret rotates automatically",
    description="Automatic rotation is enabled for the secret (a rotation Lambda function "
    "or a managed rotation with a schedule).",
    risk="A secret that never rotates stays valid forever once leaked (logs, laptops, "
    "former staff, a compromised host), giving lasting access to what it protects.",
    severity="medium",
    service="secretsmanager",
    resource_types=["aws_secretsmanager_secret"],
    categories=["secrets", "credentials"],
    remediation={
        "summary": "Turn on rotation with a rotation function (AWS provides templates for "
        "RDS, Redshift, DocumentDB) or use RDS-managed master passwords.",
        "cli": "aws secretsmanager rotate-secret --secret-id SECRET_ID --rotation-lambda-arn "
        "ROTATION_LAMBDA_ARN --rotation-rules AutomaticallyAfterDays=30",
        "terraform": 'resource "aws_secretsmanager_secret_rotation" "this" {\n'
        "  secret_id           = aws_secretsmanager_secret.this.id\n"
        "  rotation_lambda_arn = aws_lambda_function.rotator.arn\n"
        "  rotation_rules { automatically_after_days = 30 }\n}",
        "console": "Secrets Manager > secret > Rotation > Edit rotation > Automatic rotation "
        "on, schedule, rotation function > Save.",
    },
)
def secretsmanager_secret_rotation_enabled(secret: Resource, inv: Inventory) -> Outcome | None:
    if secret.config.get("deleted_date"):
        return None  # scheduled for deletion
    value = None if _unread(secret, "rotation_enabled") else secret.config.get("rotation_enabled")
    if value is None:
        return unknown(secret, f"The rotation settings of secret {secret.name} could not be read.")
    rules = secret.config.get("rotation_rules") or {}
    if value:
        days = rules.get("automatically_after_days")
        every = f"every {days} days" if days else rules.get("schedule_expression")
        return ok(
            secret,
            f"Secret {secret.name} rotates automatically" + (f" ({every})" if every else "") + ".",
            rotation_rules=rules or None,
            last_rotated_date=secret.config.get("last_rotated_date"),
        )
    last = secret.config.get("last_rotated_date") or "never"
    return fail(
        secret,
        f"Secret {secret.name} has no automatic rotation (last rotated: {last}).",
        last_rotated_date=secret.config.get("last_rotated_date"),
        created_date=secret.config.get("created_date"),
    )


# -- SQS / SNS encryption ------------------------------------------------------------------


@resource_check(
    title="SQS queue is encrypted at rest",
    description="Server-side encryption is on for the queue: SSE-SQS (SQS-managed keys) or "
    "SSE-KMS with a KMS key.",
    risk="Messages, which often carry personal or business data, are stored unencrypted "
    "while they wait in the queue.",
    severity="medium",
    service="sqs",
    resource_types=["aws_sqs_queue"],
    categories=["encryption", "data-protection"],
    remediation={
        "summary": "Enable SSE-SQS, or SSE-KMS with a customer managed key where key "
        "policies should also control access.",
        "cli": "aws sqs set-queue-attributes --queue-url QUEUE_URL --attributes "
        "SqsManagedSseEnabled=true\n"
        "aws sqs set-queue-attributes --queue-url QUEUE_URL --attributes "
        "KmsMasterKeyId=KMS_KEY_ARN   # SSE-KMS instead",
        "terraform": 'resource "aws_sqs_queue" "this" {\n'
        '  name                    = "QUEUE_NAME"\n'
        "  sqs_managed_sse_enabled = true\n"
        "  # or: kms_master_key_id = aws_kms_key.sqs.arn\n}",
        "console": "SQS > Queues > queue > Edit > Encryption > Server-side encryption: "
        "Enabled > Save.",
    },
)
def sqs_queue_encrypted(queue: Resource, inv: Inventory) -> Outcome:
    if missing := _unread(queue, "kms_master_key_id", "sqs_managed_sse_enabled"):
        return unknown(
            queue, f"The encryption settings of queue {queue.name} ({missing}) could not be read."
        )
    key = queue.config.get("kms_master_key_id")
    if key:
        return ok(queue, f"Queue {queue.name} is encrypted with KMS key {key}.", kms_key=key)
    if queue.config.get("sqs_managed_sse_enabled"):
        return ok(queue, f"Queue {queue.name} is encrypted with SQS-managed keys (SSE-SQS).")
    return fail(queue, f"Queue {queue.name} is not encrypted at rest.", kms_key=None)


@resource_check(
    title="SNS topic is encrypted at rest",
    description="The topic has server-side encryption with a KMS key (KmsMasterKeyId).",
    risk="Messages published to the topic are stored unencrypted until delivered.",
    severity="medium",
    service="sns",
    resource_types=["aws_sns_topic"],
    categories=["encryption", "data-protection"],
    remediation={
        "summary": "Set a KMS key on the topic (a customer managed key whose policy lets the "
        "publishing services use it).",
        "cli": "aws sns set-topic-attributes --topic-arn TOPIC_ARN --attribute-name "
        "KmsMasterKeyId --attribute-value KMS_KEY_ARN",
        "terraform": 'resource "aws_sns_topic" "this" {\n'
        '  name              = "TOPIC_NAME"\n'
        "  kms_master_key_id = aws_kms_key.sns.arn\n}",
        "console": "SNS > Topics > topic > Edit > Encryption > Enable encryption > choose a "
        "KMS key > Save changes.",
    },
)
def sns_topic_encrypted(topic: Resource, inv: Inventory) -> Outcome:
    if _unread(topic, "kms_master_key_id"):
        return unknown(topic, f"The encryption settings of topic {topic.name} could not be read.")
    key = topic.config.get("kms_master_key_id")
    if key:
        return ok(topic, f"Topic {topic.name} is encrypted with KMS key {key}.", kms_key=key)
    return fail(topic, f"Topic {topic.name} is not encrypted at rest.", kms_key=None)


# -- SQS / SNS public policies ----------------------------------------------------------------


def _policy_public(r: Resource, kind: str) -> Outcome:
    if _unread(r, "policy"):
        return unknown(r, f"The access policy of {kind} {r.name} could not be read.")
    try:
        grants = public_grants(r.config.get("policy"))
    except PolicyUnreadable as exc:
        return unknown(r, f"The access policy of {kind} {r.name} is unreadable: {exc}.")
    if grants:
        return fail(
            r,
            f"{kind.capitalize()} {r.name}'s access policy is public: {describe_grants(grants)}.",
            statements=[g.as_evidence() for g in grants],
        )
    if r.config.get("policy") is None:
        return ok(r, f"{kind.capitalize()} {r.name} has no access policy (owner access only).")
    return ok(r, f"{kind.capitalize()} {r.name}'s access policy grants nothing to everyone.")


@resource_check(
    title="SQS queue policy is not public",
    description='No statement of the queue\'s access policy allows Principal "*" (or {"AWS": '
    '"*"}) without a condition that limits the caller (aws:SourceArn, aws:SourceAccount, '
    "aws:PrincipalOrgID, aws:SourceVpce, ...).",
    risk="Anyone with an AWS account can send, read or delete messages (depending on the "
    "actions), injecting data into or stealing it from the systems the queue feeds.",
    severity="high",
    service="sqs",
    resource_types=["aws_sqs_queue"],
    categories=["public-access", "data-protection"],
    remediation={
        "summary": "Restrict the statement to named principals, or add a condition on "
        "aws:SourceArn / aws:SourceAccount (for service senders such as SNS or S3).",
        "cli": "aws sqs set-queue-attributes --queue-url QUEUE_URL --attributes "
        'file://restricted-policy.json   # {"Policy": "...statement with Condition '
        'ArnEquals aws:SourceArn SOURCE_ARN..."}',
        "terraform": 'resource "aws_sqs_queue_policy" "this" {\n'
        "  queue_url = aws_sqs_queue.this.id\n"
        "  policy    = data.aws_iam_policy_document.queue.json  # principals = the sender; "
        'condition ArnEquals aws:SourceArn = "SOURCE_ARN"\n}',
        "console": 'SQS > Queues > queue > Access policy > Edit: replace Principal "*" or '
        "add a Condition on aws:SourceArn / aws:SourceAccount.",
    },
)
def sqs_queue_policy_public(queue: Resource, inv: Inventory) -> Outcome:
    return _policy_public(queue, "queue")


@resource_check(
    title="SNS topic policy is not public",
    description='No statement of the topic\'s access policy allows Principal "*" (or {"AWS": '
    '"*"}) without a condition that limits the caller (aws:SourceOwner, aws:SourceAccount, '
    "aws:SourceArn, aws:PrincipalOrgID, ...). The default topic policy, limited by "
    "AWS:SourceOwner, passes.",
    risk="Anyone with an AWS account can publish to the topic (spoofed alerts, spam to "
    "subscribers) or subscribe to it and receive every message.",
    severity="high",
    service="sns",
    resource_types=["aws_sns_topic"],
    categories=["public-access", "data-protection"],
    remediation={
        "summary": "Restrict the statement to named principals or add a condition on "
        "aws:SourceOwner / aws:SourceAccount / aws:SourceArn.",
        "cli": "aws sns set-topic-attributes --topic-arn TOPIC_ARN --attribute-name Policy "
        "--attribute-value file://restricted-policy.json",
        "terraform": 'resource "aws_sns_topic_policy" "this" {\n'
        "  arn    = aws_sns_topic.this.arn\n"
        "  policy = data.aws_iam_policy_document.topic.json  # condition StringEquals "
        'AWS:SourceOwner = "ACCOUNT_ID"\n}',
        "console": 'SNS > Topics > topic > Edit > Access policy: replace Principal "*" or '
        "add a Condition on aws:SourceOwner / aws:SourceAccount.",
    },
)
def sns_topic_policy_public(topic: Resource, inv: Inventory) -> Outcome:
    return _policy_public(topic, "topic")
