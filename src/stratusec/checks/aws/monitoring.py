"""Monitoring and detection checks: CloudWatch metric filters and alarms on CloudTrail
events (CIS 4.1-4.15), Security Hub (CIS 4.16), GuardDuty, and CloudWatch log groups.

How a CIS 4.x control is judged (one account-level outcome per control, attached to the
account summary; the message says which step failed):

1. a multi-region trail is logging management events, read and write;
2. it delivers to a CloudWatch Logs log group (``cloud_watch_logs_group_arn``);
3. that log group has a metric filter whose pattern catches the control's events;
4. a metric alarm watches the filter's metric (same name and namespace, same region);
5. the alarm has actions enabled and at least one alarm action; an SNS action counts
   when the topic has a confirmed subscription (a topic outside the inventory cannot be
   verified: UNKNOWN).

Step 3 does not compare pattern strings. :data:`ALARM_CONTROLS` holds, for each control,
the CIS pattern and the set of required terms written as sample CloudTrail records: one
record per required ``eventName`` (or ``errorCode``, console sign-in shape, root
identity, ...), and a few routine read-only records. A filter pattern is accepted when it
*evaluates* to a match on every required record and to no match on the routine ones.
Whitespace, parentheses, quoting, operand order, extra conditions that do not exclude
the CIS events (an ``eventSource`` guard), the CIS 1.x/2.x/3.0 variants of a pattern and
broader filters (all IAM write calls) are therefore all accepted; a filter that misses one
required event, or that fires on everything, is not. The evaluator implements the
CloudWatch Logs JSON filter syntax (``{ }``, ``&&``, ``||``, parentheses, ``=``, ``!=``,
``<``, ``>``, ``<=``, ``>=``, ``*`` wildcards, ``%regex%``, ``IS TRUE|FALSE|NULL``,
``EXISTS``, ``NOT EXISTS``; ``&&`` binds tighter than ``||``; a comparison on a field the
record lacks is false) and plain term patterns (``"a" "b"``, ``?a ?b``, ``-a``);
space-delimited ``[...]`` patterns never match.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from stratusec.checks import (
    Inventory,
    Outcome,
    Status,
    check,
    fail,
    ok,
    resource_check,
    unknown,
)
from stratusec.checks.aws.logging import (
    account_resource,
    baseline_trails,
    flag_per_region,
    no_cloudtrail_data,
    readable,
    trail_label,
)
from stratusec.inventory.models import Resource

# == CloudWatch Logs filter patterns ========================================================


class PatternError(ValueError):
    """A filter pattern this evaluator does not understand."""


_MISSING: Any = object()


@dataclass(frozen=True)
class _Cmp:
    path: tuple[str | int, ...]
    op: str  # = != < > <= >= | is | exists | not_exists
    kind: str = ""  # str | word | regex | TRUE | FALSE | NULL
    value: str = ""


@dataclass(frozen=True)
class _BoolOp:
    op: str  # and | or
    left: _Node
    right: _Node


_Node = _Cmp | _BoolOp

_WORD_STOP = set('{}()"=!<>&|') | {" ", "\t", "\n", "\r"}
_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "{}()":
            out.append((ch, ch))
            i += 1
        elif text[i : i + 2] in ("&&", "||"):
            out.append((text[i : i + 2], text[i : i + 2]))
            i += 2
        elif text[i : i + 2] in ("!=", "<=", ">="):
            out.append(("op", text[i : i + 2]))
            i += 2
        elif ch in "=<>":
            out.append(("op", ch))
            i += 1
        elif ch == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise PatternError("unterminated quoted string")
            out.append(("str", "".join(buf)))
            i = j + 1
        elif ch == "%":
            j = text.find("%", i + 1)
            if j < 0:
                raise PatternError("unterminated %regex%")
            out.append(("regex", text[i + 1 : j]))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in _WORD_STOP:
                j += 1
            if j == i:
                raise PatternError(f"unexpected {ch!r}")
            out.append(("word", text[i:j]))
            i = j
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise PatternError("pattern ends too early")
        self.i += 1
        return tok

    def expect(self, kind: str) -> None:
        tok = self.next()
        if tok[0] != kind:
            raise PatternError(f"expected {kind!r}, found {tok[1]!r}")

    def parse(self) -> _Node:
        self.expect("{")
        node = self.or_()
        self.expect("}")
        if self.peek() is not None:
            raise PatternError("text after the closing brace")
        return node

    def or_(self) -> _Node:
        node = self.and_()
        while (tok := self.peek()) is not None and tok[0] == "||":
            self.next()
            node = _BoolOp("or", node, self.and_())
        return node

    def and_(self) -> _Node:
        node = self.unary()
        while (tok := self.peek()) is not None and tok[0] == "&&":
            self.next()
            node = _BoolOp("and", node, self.unary())
        return node

    def unary(self) -> _Node:
        tok = self.peek()
        if tok is not None and tok[0] == "(":
            self.next()
            node = self.or_()
            self.expect(")")
            return node
        return self.comparison()

    def comparison(self) -> _Node:
        kind, sel = self.next()
        if kind != "word" or not sel.startswith("$"):
            raise PatternError(f"expected a $.selector, found {sel!r}")
        path = _path(sel)
        kind, op = self.next()
        if kind == "op":
            vkind, value = self.next()
            if vkind not in ("str", "word", "regex"):
                raise PatternError(f"expected a value after {op}, found {value!r}")
            return _Cmp(path, op, vkind, value)
        word = op.upper() if kind == "word" else ""
        if word == "IS":
            what = self.next()[1].upper()
            if what not in ("TRUE", "FALSE", "NULL"):
                raise PatternError(f"IS {what}?")
            return _Cmp(path, "is", what)
        if word == "NOT":
            if self.next()[1].upper() != "EXISTS":
                raise PatternError("NOT must be followed by EXISTS")
            return _Cmp(path, "not_exists")
        if word == "EXISTS":
            return _Cmp(path, "exists")
        raise PatternError(f"expected an operator after {sel}, found {op!r}")


def _path(selector: str) -> tuple[str | int, ...]:
    rest = selector[1:]
    parts: list[str | int] = []
    pos = 0
    for m in _PATH_PART.finditer(rest):
        if m.start() != pos:
            raise PatternError(f"bad selector {selector!r}")
        parts.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    if pos != len(rest) or not parts:
        raise PatternError(f"bad selector {selector!r}")
    return tuple(parts)


def _resolve(event: Any, path: tuple[str | int, ...]) -> Any:
    cur = event
    for part in path:
        if isinstance(part, int):
            if not isinstance(cur, list) or part >= len(cur):
                return _MISSING
            cur = cur[part]
        else:
            if not isinstance(cur, dict) or part not in cur:
                return _MISSING
            cur = cur[part]
    return cur


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    return None


def _eval(node: _Node, event: dict[str, Any]) -> bool:
    if isinstance(node, _BoolOp):
        if node.op == "and":
            return _eval(node.left, event) and _eval(node.right, event)
        return _eval(node.left, event) or _eval(node.right, event)
    cur = _resolve(event, node.path)
    if node.op == "exists":
        return cur is not _MISSING
    if node.op == "not_exists":
        return cur is _MISSING
    if cur is _MISSING:
        return False
    if node.op == "is":
        return {"TRUE": cur is True, "FALSE": cur is False, "NULL": cur is None}[node.kind]
    if node.op in ("<", ">", "<=", ">="):
        a, b = _number(cur), _number(node.value)
        if a is None or b is None:
            return False
        return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[node.op]
    text = _scalar_text(cur)
    if text is None:
        return False
    if node.kind == "regex":
        equal = re.search(node.value, text) is not None
    elif node.kind == "word" and _number(node.value) is not None and _number(cur) is not None:
        equal = _number(cur) == _number(node.value)
    elif "*" in node.value:
        rx = ".*".join(re.escape(p) for p in node.value.split("*"))
        equal = re.fullmatch(rx, text, re.DOTALL) is not None
    else:
        equal = text == node.value
    return equal if node.op == "=" else not equal


_TERM = re.compile(r'[?-]?"(?:[^"\\]|\\.)*"|\S+')


def _term_match(pattern: str, event: dict[str, Any]) -> bool:
    text = json.dumps(event, separators=(",", ":"))
    terms = _TERM.findall(pattern)
    if not terms:
        return True  # the empty pattern matches every event

    def unq(t: str) -> str:
        return t[1:-1].replace('\\"', '"') if len(t) > 1 and t[0] == t[-1] == '"' else t

    anys = [unq(t[1:]) for t in terms if t.startswith("?")]
    if anys:
        return any(a in text for a in anys)
    required = [unq(t) for t in terms if not t.startswith("-")]
    excluded = [unq(t[1:]) for t in terms if t.startswith("-")]
    return all(t in text for t in required) and not any(t in text for t in excluded)


def compile_pattern(pattern: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate over one log event (a parsed CloudTrail record) that says whether the
    CloudWatch Logs filter ``pattern`` matches it. Raises :class:`PatternError`."""
    text = (pattern or "").strip()
    if text.startswith("{"):
        node = _Parser(_tokens(text)).parse()
        return lambda event: _eval(node, event)
    if text.startswith("["):
        raise PatternError("space-delimited [...] patterns do not apply to CloudTrail JSON")
    return lambda event: _term_match(text, event)


# == the CIS 4.x table ======================================================================

_ACCOUNT = "111122223333"
_IAM_USER = {
    "type": "IAMUser",
    "principalId": "AIDAEXAMPLEPRINCIPAL",
    "arn": f"arn:aws:iam::{_ACCOUNT}:user/operator",
    "accountId": _ACCOUNT,
    "accessKeyId": "AKIAEXAMPLEKEY",
    "userName": "operator",
}
_ROOT = {
    "type": "Root",
    "principalId": _ACCOUNT,
    "arn": f"arn:aws:iam::{_ACCOUNT}:root",
    "accountId": _ACCOUNT,
    "accessKeyId": "ASIAEXAMPLEKEY",
}


def _event(source: str, name: str, **fields: Any) -> dict[str, Any]:
    """A CloudTrail record as CloudTrail delivers it to CloudWatch Logs."""
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": _IAM_USER,
        "eventTime": "2024-01-01T00:00:00Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {},
        "responseElements": None,
        "requestID": "11111111-2222-3333-4444-555555555555",
        "eventID": "66666666-7777-8888-9999-000000000000",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": _ACCOUNT,
        "eventCategory": "Management",
    }
    record.update(fields)
    return record


def _read(source: str, name: str) -> dict[str, Any]:
    return _event(source, name, readOnly=True)


def _signin(mfa: str, result: str, **fields: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {
        "eventType": "AwsConsoleSignIn",
        "additionalEventData": {
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": mfa,
        },
        "responseElements": {"ConsoleLogin": result},
    }
    extra.update(fields)
    return _event("signin.amazonaws.com", "ConsoleLogin", **extra)


# Routine read-only activity: no CIS 4.x filter may fire on these.
_ROUTINE: tuple[tuple[str, dict[str, Any]], ...] = (
    ("ec2:DescribeInstances (read-only)", _read("ec2.amazonaws.com", "DescribeInstances")),
    ("sts:GetCallerIdentity (read-only)", _read("sts.amazonaws.com", "GetCallerIdentity")),
    ("s3:ListBuckets (read-only)", _read("s3.amazonaws.com", "ListBuckets")),
)


@dataclass(frozen=True)
class AlarmControl:
    """One CIS 4.x control: the CIS pattern, the records it must catch, and the routine
    records of its own service it must not fire on."""

    check_id: str
    cis: str
    subject: str  # "unauthorized API calls", used in titles and messages
    metric: str  # suggested metric name for the remediation
    severity: str
    risk: str
    pattern: str
    required: tuple[tuple[str, dict[str, Any]], ...]
    routine: tuple[tuple[str, dict[str, Any]], ...] = ()
    # Events in the CIS pattern that can no longer occur (EC2-Classic, retired 2022):
    # a filter that leaves them out is still accepted.
    optional_events: tuple[str, ...] = field(default=())


def _changes(source: str, names: list[str]) -> tuple[tuple[str, dict[str, Any]], ...]:
    short = source.split(".", 1)[0]
    return tuple((f"{short}:{n}", _event(source, n)) for n in names)


def _or_events(source: str | None, names: list[str]) -> str:
    alts = " || ".join(f"($.eventName = {n})" for n in names)
    if source is None:
        return "{ " + alts + " }"
    return f"{{ ($.eventSource = {source}) && ({alts}) }}"


_IAM_POLICY_EVENTS = [
    "DeleteGroupPolicy",
    "DeleteRolePolicy",
    "DeleteUserPolicy",
    "PutGroupPolicy",
    "PutRolePolicy",
    "PutUserPolicy",
    "CreatePolicy",
    "DeletePolicy",
    "CreatePolicyVersion",
    "DeletePolicyVersion",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "AttachUserPolicy",
    "DetachUserPolicy",
    "AttachGroupPolicy",
    "DetachGroupPolicy",
]
_TRAIL_EVENTS = ["CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging"]
_KMS_EVENTS = ["DisableKey", "ScheduleKeyDeletion"]
_S3_POLICY_EVENTS = [
    "PutBucketAcl",
    "PutBucketPolicy",
    "PutBucketCors",
    "PutBucketLifecycle",
    "PutBucketReplication",
    "DeleteBucketPolicy",
    "DeleteBucketCors",
    "DeleteBucketLifecycle",
    "DeleteBucketReplication",
]
_CONFIG_EVENTS = [
    "StopConfigurationRecorder",
    "DeleteDeliveryChannel",
    "PutDeliveryChannel",
    "PutConfigurationRecorder",
]
_SG_EVENTS = [
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "CreateSecurityGroup",
    "DeleteSecurityGroup",
]
_NACL_EVENTS = [
    "CreateNetworkAcl",
    "CreateNetworkAclEntry",
    "DeleteNetworkAcl",
    "DeleteNetworkAclEntry",
    "ReplaceNetworkAclEntry",
    "ReplaceNetworkAclAssociation",
]
_GATEWAY_EVENTS = [
    "CreateCustomerGateway",
    "DeleteCustomerGateway",
    "AttachInternetGateway",
    "CreateInternetGateway",
    "DeleteInternetGateway",
    "DetachInternetGateway",
]
_ROUTE_EVENTS = [
    "CreateRoute",
    "CreateRouteTable",
    "ReplaceRoute",
    "ReplaceRouteTableAssociation",
    "DeleteRouteTable",
    "DeleteRoute",
    "DisassociateRouteTable",
]
_VPC_EVENTS = [
    "CreateVpc",
    "DeleteVpc",
    "ModifyVpcAttribute",
    "AcceptVpcPeeringConnection",
    "CreateVpcPeeringConnection",
    "DeleteVpcPeeringConnection",
    "RejectVpcPeeringConnection",
]
_CLASSICLINK_EVENTS = [
    "AttachClassicLinkVpc",
    "DetachClassicLinkVpc",
    "DisableVpcClassicLink",
    "EnableVpcClassicLink",
]
_ORG_EVENTS = [
    "AcceptHandshake",
    "AttachPolicy",
    "CreateAccount",
    "CreateOrganizationalUnit",
    "CreatePolicy",
    "DeclineHandshake",
    "DeleteOrganization",
    "DeleteOrganizationalUnit",
    "DeletePolicy",
    "DetachPolicy",
    "DisablePolicyType",
    "EnablePolicyType",
    "InviteAccountToOrganization",
    "LeaveOrganization",
    "MoveAccount",
    "RemoveAccountFromOrganization",
    "UpdatePolicy",
    "UpdateOrganizationalUnit",
]

_CHANGE_RISK = (
    "Without an alarm, {what} go unnoticed until someone reads the logs: an attacker or a "
    "mistaken change can {effect} for as long as nobody looks."
)

ALARM_CONTROLS: tuple[AlarmControl, ...] = (
    AlarmControl(
        check_id="cloudwatch_alarm_unauthorized_api_calls",
        cis="4.1",
        subject="unauthorized API calls",
        metric="UnauthorizedAPICalls",
        severity="medium",
        risk="Bursts of AccessDenied / UnauthorizedOperation errors are the footprint of "
        "stolen credentials being probed or of an attacker enumerating permissions; without "
        "an alarm they are only found after the fact.",
        pattern='{ (($.errorCode = "*UnauthorizedOperation") || '
        '($.errorCode = "AccessDenied*")) && '
        '($.sourceIPAddress != "delivery.logs.amazonaws.com") && '
        '($.eventName != "HeadBucket") }',
        required=(
            (
                "ec2:RunInstances failing with Client.UnauthorizedOperation",
                _event(
                    "ec2.amazonaws.com", "RunInstances", errorCode="Client.UnauthorizedOperation"
                ),
            ),
            (
                "iam:CreateUser failing with AccessDenied",
                _event("iam.amazonaws.com", "CreateUser", errorCode="AccessDenied"),
            ),
            (
                "kms:Decrypt failing with AccessDeniedException",
                _event("kms.amazonaws.com", "Decrypt", errorCode="AccessDeniedException"),
            ),
        ),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_console_signin_without_mfa",
        cis="4.2",
        subject="Management Console sign-in without MFA",
        metric="ConsoleSigninWithoutMFA",
        severity="medium",
        risk="A console sign-in without MFA means a password alone opened the account: "
        "with a phished or reused password that is an attacker's first step, and nobody is "
        "told.",
        pattern='{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") '
        '&& ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',
        required=(
            ("a successful IAM user ConsoleLogin with MFAUsed=No", _signin("No", "Success")),
        ),
        routine=(("a ConsoleLogin with MFA", _signin("Yes", "Success")),),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_root_usage",
        cis="4.3",
        subject="usage of the root user",
        metric="RootAccountUsage",
        severity="medium",
        risk="The root user cannot be restricted by IAM policies; any use of it outside "
        "the few tasks that need it is either a mistake or an intruder, and should page "
        "someone at once.",
        pattern='{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }',
        required=(
            (
                "a root ConsoleLogin",
                _signin("No", "Success", userIdentity=_ROOT),
            ),
            (
                "iam:CreateAccessKey called by root",
                _event("iam.amazonaws.com", "CreateAccessKey", userIdentity=_ROOT),
            ),
        ),
        routine=(
            ("iam:CreateAccessKey by an IAM user", _event("iam.amazonaws.com", "CreateAccessKey")),
        ),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_iam_policy_changes",
        cis="4.4",
        subject="IAM policy changes",
        metric="IAMPolicyChanges",
        severity="medium",
        risk=_CHANGE_RISK.format(
            what="changes to IAM policies",
            effect="grant itself or others new permissions (privilege escalation, backdoor roles)",
        ),
        pattern=_or_events("iam.amazonaws.com", _IAM_POLICY_EVENTS),
        required=_changes("iam.amazonaws.com", _IAM_POLICY_EVENTS),
        routine=(("iam:GetPolicy (read-only)", _read("iam.amazonaws.com", "GetPolicy")),),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_cloudtrail_config_changes",
        cis="4.5",
        subject="CloudTrail configuration changes",
        metric="CloudTrailConfigChanges",
        severity="medium",
        risk=_CHANGE_RISK.format(
            what="stopped, deleted or re-pointed trails",
            effect="blind the account's audit log and act unrecorded",
        ),
        pattern=_or_events(None, _TRAIL_EVENTS),
        required=_changes("cloudtrail.amazonaws.com", _TRAIL_EVENTS),
        routine=(
            (
                "cloudtrail:DescribeTrails (read-only)",
                _read("cloudtrail.amazonaws.com", "DescribeTrails"),
            ),
        ),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_console_auth_failures",
        cis="4.6",
        subject="Management Console authentication failures",
        metric="ConsoleSigninFailures",
        severity="low",
        risk="Repeated failed console sign-ins indicate password guessing against the "
        "account; an alarm gives time to lock the targeted users before one succeeds.",
        pattern='{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
        required=(
            (
                "a ConsoleLogin failing with 'Failed authentication'",
                _signin("No", "Failure", errorMessage="Failed authentication"),
            ),
        ),
        routine=(("a successful ConsoleLogin", _signin("Yes", "Success")),),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_kms_key_disable_or_deletion",
        cis="4.7",
        subject="disabling or scheduled deletion of customer managed KMS keys",
        metric="DisableOrDeleteCMK",
        severity="medium",
        risk=_CHANGE_RISK.format(
            what="disabled or deletion-scheduled KMS keys",
            effect="make every piece of data encrypted under the key unreadable for good "
            "(a ransom or sabotage technique)",
        ),
        pattern=_or_events("kms.amazonaws.com", _KMS_EVENTS),
        required=_changes("kms.amazonaws.com", _KMS_EVENTS),
        routine=(("kms:Decrypt (read-only)", _read("kms.amazonaws.com", "Decrypt")),),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_s3_bucket_policy_changes",
        cis="4.8",
        subject="S3 bucket policy changes",
        metric="S3BucketPolicyChanges",
        severity="low",
        risk=_CHANGE_RISK.format(
            what="changes to bucket policies, ACLs, CORS, lifecycle and replication",
            effect="expose a bucket publicly, copy it to another account, or expire its data",
        ),
        pattern=_or_events("s3.amazonaws.com", _S3_POLICY_EVENTS),
        required=_changes("s3.amazonaws.com", _S3_POLICY_EVENTS),
        routine=(("s3:GetBucketPolicy (read-only)", _read("s3.amazonaws.com", "GetBucketPolicy")),),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_config_changes",
        cis="4.9",
        subject="AWS Config configuration changes",
        metric="AWSConfigChanges",
        severity="low",
        risk=_CHANGE_RISK.format(
            what="stopped recorders or changed delivery channels",
            effect="switch off configuration history and compliance evaluation",
        ),
        pattern=_or_events("config.amazonaws.com", _CONFIG_EVENTS),
        required=_changes("config.amazonaws.com", _CONFIG_EVENTS),
        routine=(
            (
                "config:DescribeConfigurationRecorders (read-only)",
                _read("config.amazonaws.com", "DescribeConfigurationRecorders"),
            ),
        ),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_security_group_changes",
        cis="4.10",
        subject="security group changes",
        metric="SecurityGroupChanges",
        severity="low",
        risk=_CHANGE_RISK.format(
            what="security group changes", effect="open ports to the internet"
        ),
        pattern=_or_events(None, _SG_EVENTS),
        required=_changes("ec2.amazonaws.com", _SG_EVENTS),
        routine=(
            (
                "ec2:DescribeSecurityGroups (read-only)",
                _read("ec2.amazonaws.com", "DescribeSecurityGroups"),
            ),
        ),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_nacl_changes",
        cis="4.11",
        subject="network ACL changes",
        metric="NACLChanges",
        severity="low",
        risk=_CHANGE_RISK.format(
            what="network ACL changes", effect="open subnets to traffic they should not get"
        ),
        pattern=_or_events(None, _NACL_EVENTS),
        required=_changes("ec2.amazonaws.com", _NACL_EVENTS),
        routine=(
            (
                "ec2:DescribeNetworkAcls (read-only)",
                _read("ec2.amazonaws.com", "DescribeNetworkAcls"),
            ),
        ),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_network_gateway_changes",
        cis="4.12",
        subject="network gateway changes",
        metric="NetworkGatewayChanges",
        severity="low",
        risk=_CHANGE_RISK.format(
            what="new, attached or removed internet and customer gateways",
            effect="create a path into or out of a private network",
        ),
        pattern=_or_events(None, _GATEWAY_EVENTS),
        required=_changes("ec2.amazonaws.com", _GATEWAY_EVENTS),
        routine=(
            (
                "ec2:DescribeInternetGateways (read-only)",
                _read("ec2.amazonaws.com", "DescribeInternetGateways"),
            ),
        ),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_route_table_changes",
        cis="4.13",
        subject="route table changes",
        metric="RouteTableChanges",
        severity="low",
        risk=_CHANGE_RISK.format(
            what="route table changes",
            effect="re-route private traffic through an internet gateway or a host it controls",
        ),
        pattern=_or_events("ec2.amazonaws.com", _ROUTE_EVENTS),
        required=_changes("ec2.amazonaws.com", _ROUTE_EVENTS),
        routine=(
            (
                "ec2:DescribeRouteTables (read-only)",
                _read("ec2.amazonaws.com", "DescribeRouteTables"),
            ),
        ),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_vpc_changes",
        cis="4.14",
        subject="VPC changes",
        metric="VPCChanges",
        severity="low",
        risk=_CHANGE_RISK.format(
            what="VPC changes and peering connections",
            effect="connect a private network to one it controls",
        ),
        pattern=_or_events(None, _VPC_EVENTS + _CLASSICLINK_EVENTS),
        required=_changes("ec2.amazonaws.com", _VPC_EVENTS),
        routine=(("ec2:DescribeVpcs (read-only)", _read("ec2.amazonaws.com", "DescribeVpcs")),),
        optional_events=tuple(_CLASSICLINK_EVENTS),
    ),
    AlarmControl(
        check_id="cloudwatch_alarm_organizations_changes",
        cis="4.15",
        subject="AWS Organizations changes",
        metric="OrganizationsChanges",
        severity="low",
        risk=_CHANGE_RISK.format(
            what="changes to the organization (accounts, OUs, SCPs, handshakes)",
            effect="remove guardrail policies, move an account out of reach, or take an "
            "account out of the organization",
        ),
        pattern=_or_events("organizations.amazonaws.com", _ORG_EVENTS),
        required=_changes("organizations.amazonaws.com", _ORG_EVENTS),
        routine=(
            (
                "organizations:ListAccounts (read-only)",
                _read("organizations.amazonaws.com", "ListAccounts"),
            ),
        ),
    ),
)


def pattern_verdict(control: AlarmControl, pattern: str | None) -> tuple[bool, str]:
    """(whether ``pattern`` catches the control's events and spares routine ones, why)."""
    try:
        matches = compile_pattern(pattern)
    except PatternError as exc:
        return False, f"pattern not understood ({exc})"
    missed = [label for label, event in control.required if not matches(event)]
    if missed:
        more = f" and {len(missed) - 3} more" if len(missed) > 3 else ""
        return False, f"misses {', '.join(missed[:3])}{more}"
    noisy = [label for label, event in (*control.routine, *_ROUTINE) if matches(event)]
    if noisy:
        return False, f"also fires on routine activity ({noisy[0]})"
    return True, "catches every event of the control"


# == the 4.x chain ===========================================================================


def _is_sns(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) > 5 and parts[0] == "arn" and parts[2] == "sns"


def _log_group_ref(arn: str) -> tuple[str, str, str] | None:
    """(uid, region, name) of ``arn:PARTITION:logs:REGION:ACCOUNT:log-group:NAME[:*]``."""
    uid = arn[:-2] if arn.endswith(":*") else arn
    parts = uid.split(":", 6)
    if len(parts) < 7 or parts[2] != "logs" or parts[5] != "log-group" or not parts[6]:
        return None
    return uid, parts[3], parts[6]


@dataclass
class _Step:
    status: Status
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _alarm_actions(alarm: Resource, inv: Inventory) -> _Step:
    c = alarm.config
    if c.get("actions_enabled") is False:
        return _Step(Status.FAIL, f"alarm {alarm.name} has its actions disabled")
    actions = [str(a) for a in c.get("alarm_actions") or []]
    if not actions:
        return _Step(Status.FAIL, f"alarm {alarm.name} has no alarm action")
    other = [a for a in actions if not _is_sns(a)]
    if other:
        return _Step(Status.PASS, f"alarm {alarm.name} triggers {other[0]}", {"action": other[0]})
    unsure: list[str] = []
    empty: list[str] = []
    for arn in actions:
        topic = inv.get(arn)
        if topic is None:
            unsure.append(f"topic {arn} is not in this inventory (its subscribers are unknown)")
            continue
        subs = [
            s
            for s in inv.referrers(topic.uid, "SUBSCRIBED_TO")
            if s.type == "aws_sns_topic_subscription" and not s.config.get("pending_confirmation")
        ]
        confirmed = len(subs) or (topic.config.get("subscriptions_confirmed") or 0)
        if confirmed:
            return _Step(
                Status.PASS,
                f"alarm {alarm.name} notifies SNS topic {topic.name} ({confirmed} confirmed "
                "subscription(s))",
                {"topic": topic.uid},
            )
        if "subscriptions" in topic.unavailable:
            unsure.append(f"the subscriptions of topic {topic.name} could not be read")
        else:
            empty.append(f"SNS topic {topic.name} has no confirmed subscription")
    if unsure:
        return _Step(Status.UNKNOWN, f"alarm {alarm.name}: {'; '.join(unsure)}")
    return _Step(Status.FAIL, f"alarm {alarm.name} notifies nobody: {'; '.join(empty)}")


def _best(steps: list[_Step]) -> _Step:
    for status in (Status.PASS, Status.UNKNOWN):
        found = [s for s in steps if s.status == status]
        if found:
            if status == Status.PASS:
                return found[0]
            return _Step(status, "; ".join(s.message for s in found))
    return _Step(Status.FAIL, "; ".join(s.message for s in steps))


def _region_record(inv: Inventory, region: str) -> Resource | None:
    for r in inv.of_type("aws_cloudwatch_region"):
        if r.region == region:
            return r
    return None


def _chain(control: AlarmControl, trail: Resource, inv: Inventory) -> _Step:
    label = trail_label(trail)
    if not readable(trail, "cloud_watch_logs_group_arn"):
        return _Step(Status.UNKNOWN, f"step 2: CloudWatch Logs delivery of {label} unknown")
    arn = trail.config.get("cloud_watch_logs_group_arn")
    if not arn:
        return _Step(Status.FAIL, f"step 2: trail {label} does not send events to CloudWatch Logs")
    ref = _log_group_ref(str(arn))
    if ref is None:
        return _Step(Status.UNKNOWN, f"step 2: trail {label} names log group {arn!r}")
    uid, region, name = ref
    cw = _region_record(inv, region)
    if cw is None:
        return _Step(
            Status.UNKNOWN,
            f"step 3: CloudWatch Logs of region {region} is not in this inventory "
            f"(log group {name} of trail {label})",
        )
    if "metric_filters" in cw.unavailable:
        return _Step(
            Status.UNKNOWN, f"step 3: the metric filters of region {region} could not be listed"
        )
    filters = [
        f
        for f in inv.of_type("aws_cloudwatch_log_metric_filter")
        if f.region == region
        and (f.config.get("log_group_name") == name or uid in f.targets("ATTACHED_TO"))
    ]
    if not filters:
        exists = any(
            g.uid == uid or (g.region == region and g.name == name)
            for g in inv.of_type("aws_cloudwatch_log_group")
        )
        gone = "" if exists or "log_groups" in cw.unavailable else " (and does not exist)"
        return _Step(
            Status.FAIL,
            f"step 3: log group {name} of trail {label} has no metric filter{gone}",
        )
    matching: list[Resource] = []
    rejected: list[str] = []
    for f in filters:
        good, why = pattern_verdict(control, f.config.get("pattern"))
        if good:
            matching.append(f)
        else:
            rejected.append(f"{f.name}: {why}")
    if not matching:
        return _Step(
            Status.FAIL,
            f"step 3: none of the {len(filters)} metric filter(s) on log group {name} "
            f"(trail {label}) catches {control.subject} ({'; '.join(rejected[:3])})",
            {"rejected_filters": rejected},
        )
    if "metric_alarms" in cw.unavailable:
        return _Step(
            Status.UNKNOWN,
            f"step 4: metric filter {matching[0].name} matches, but the alarms of region "
            f"{region} could not be listed",
        )
    steps: list[_Step] = []
    for f in matching:
        metrics = {
            (t.get("name"), t.get("namespace")) for t in f.config.get("metric_transformation") or []
        }
        alarms = [
            a
            for a in inv.of_type("aws_cloudwatch_metric_alarm")
            if a.region == region
            and any(
                (m.get("name"), m.get("namespace")) in metrics
                for m in a.config.get("metrics")
                or [{"name": a.config.get("metric_name"), "namespace": a.config.get("namespace")}]
            )
        ]
        shown = ", ".join(f"{ns}/{m}" for m, ns in sorted(metrics, key=str))
        if not alarms:
            steps.append(
                _Step(
                    Status.FAIL,
                    f"step 4: metric filter {f.name} on log group {name} matches, but no "
                    f"alarm watches its metric {shown}",
                )
            )
            continue
        for a in alarms:
            act = _alarm_actions(a, inv)
            if act.status == Status.PASS:
                act.message = (
                    f"metric filter {f.name} on log group {name} (trail {label}) catches "
                    f"{control.subject}; {act.message}"
                )
                act.evidence.update({"trail": trail.uid, "metric_filter": f.uid, "alarm": a.uid})
            else:
                act.message = f"step 5: metric filter {f.name} matches, but {act.message}"
            steps.append(act)
    return _best(steps)


def _alarm_outcome(control: AlarmControl, inv: Inventory) -> Outcome:
    acct = account_resource(inv)
    cis = f"CIS {control.cis}"
    if no_cloudtrail_data(inv):
        return unknown(acct, f"{cis}: no CloudTrail data in this inventory.")
    good, failures, unsure = baseline_trails(inv)
    if not good:
        if unsure:
            return unknown(
                acct,
                f"{cis}: step 1: no multi-region trail could be confirmed to log management "
                f"events ({'; '.join(unsure + failures)}).",
            )
        return fail(
            acct,
            f"{cis}: no alarm for {control.subject}. Step 1 fails: no multi-region trail is "
            "logging management events (read and write)"
            + (f" ({'; '.join(failures)})" if failures else " (the account has no trails)")
            + ", so no metric filter can see every region's events.",
            step=1,
            failures=failures,
        )
    best = _best([_chain(control, t, inv) for t in good])
    if best.status == Status.PASS:
        return ok(acct, f"{cis}: {best.message}.", **best.evidence)
    if best.status == Status.UNKNOWN:
        return unknown(acct, f"{cis}: alarm for {control.subject} not verifiable: {best.message}.")
    return fail(acct, f"{cis}: no working alarm for {control.subject}: {best.message}.")


def _alarm_remediation(control: AlarmControl) -> dict[str, str]:
    filter_name = control.metric
    return {
        "summary": "On the log group of a multi-region trail, create a metric filter with "
        f"the CIS {control.cis} pattern, an alarm on its metric, and an SNS topic with at "
        "least one confirmed subscriber as the alarm action.",
        "cli": "aws logs put-metric-filter --region REGION --log-group-name "
        f"CLOUDTRAIL_LOG_GROUP --filter-name {filter_name} --metric-transformations "
        f"metricName={control.metric},metricNamespace=CISBenchmark,metricValue=1 "
        f"--filter-pattern '{control.pattern}'\n"
        "aws sns subscribe --region REGION --topic-arn "
        "arn:aws:sns:REGION:ACCOUNT_ID:SNS_TOPIC --protocol email --notification-endpoint "
        "SECURITY_EMAIL\n"
        f"aws cloudwatch put-metric-alarm --region REGION --alarm-name {filter_name} "
        f"--metric-name {control.metric} --namespace CISBenchmark --statistic Sum "
        "--period 300 --evaluation-periods 1 --threshold 1 --comparison-operator "
        "GreaterThanOrEqualToThreshold --treat-missing-data notBreaching --alarm-actions "
        "arn:aws:sns:REGION:ACCOUNT_ID:SNS_TOPIC",
        "terraform": 'resource "aws_cloudwatch_log_metric_filter" "'
        f'{control.check_id}" {{\n'
        f'  name           = "{filter_name}"\n'
        '  log_group_name = "CLOUDTRAIL_LOG_GROUP"\n'
        f"  pattern        = {json.dumps(control.pattern)}\n"
        "  metric_transformation {\n"
        f'    name      = "{control.metric}"\n'
        '    namespace = "CISBenchmark"\n'
        '    value     = "1"\n  }\n}\n'
        f'resource "aws_cloudwatch_metric_alarm" "{control.check_id}" {{\n'
        f'  alarm_name          = "{filter_name}"\n'
        f'  metric_name         = "{control.metric}"\n'
        '  namespace           = "CISBenchmark"\n'
        '  statistic           = "Sum"\n'
        "  period              = 300\n"
        "  evaluation_periods  = 1\n"
        "  threshold           = 1\n"
        '  comparison_operator = "GreaterThanOrEqualToThreshold"\n'
        '  treat_missing_data  = "notBreaching"\n'
        '  alarm_actions       = ["arn:aws:sns:REGION:ACCOUNT_ID:SNS_TOPIC"]\n}',
        "console": "CloudWatch > Log groups > CLOUDTRAIL_LOG_GROUP > Metric filters > Create "
        "metric filter (paste the pattern); then select the filter > Create alarm, with an "
        "SNS topic that has a confirmed subscriber as the notification.",
        "docs": "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/"
        "cloudwatch-alarms-for-cloudtrail.html",
    }


def _register_alarm_check(control: AlarmControl) -> None:
    def run(inv: Inventory) -> Iterator[Outcome]:
        yield _alarm_outcome(control, inv)

    run.__name__ = control.check_id
    required = len(control.required)
    check(
        id=control.check_id,
        title=f"A log metric filter and alarm exist for {control.subject}",
        description=f"CIS {control.cis}: the CloudTrail events of a multi-region trail reach "
        "CloudWatch Logs, where a metric filter catches "
        f"{control.subject} ({required} required event shape(s); equivalent patterns are "
        "accepted) and a metric alarm on its metric notifies someone (an SNS topic with a "
        f"confirmed subscription, or another action). CIS pattern: {control.pattern}"
        + (
            f" ({', '.join(control.optional_events)} are not required: EC2-Classic was "
            "retired in 2022.)"
            if control.optional_events
            else ""
        ),
        risk=control.risk,
        severity=control.severity,
        service="cloudwatch",
        resource_types=[
            "aws_iam_account_summary",
            "aws_cloudtrail",
            "aws_cloudwatch_log_metric_filter",
            "aws_cloudwatch_metric_alarm",
        ],
        categories=["monitoring", "logging"],
        remediation=_alarm_remediation(control),
    )(run)


for _control in ALARM_CONTROLS:
    _register_alarm_check(_control)


# == GuardDuty, Security Hub ===============================================================


@check(
    id="guardduty_enabled_all_regions",
    title="GuardDuty is enabled in every region",
    description="Each scanned region has an enabled GuardDuty detector.",
    risk="Without GuardDuty a region has no managed threat detection: compromised "
    "credentials, crypto-mining instances, calls from known-malicious IPs and data "
    "exfiltration there raise no finding. Attackers favour regions nobody watches.",
    severity="medium",
    service="guardduty",
    resource_types=["aws_guardduty_region"],
    categories=["threat-detection", "monitoring"],
    remediation={
        "summary": "Create (or enable) a detector in every region; in an organization, "
        "use a delegated administrator with auto-enable.",
        "cli": "aws guardduty create-detector --region REGION --enable "
        "--finding-publishing-frequency FIFTEEN_MINUTES",
        "terraform": 'resource "aws_guardduty_detector" "this" {\n  enable = true\n'
        '  finding_publishing_frequency = "FIFTEEN_MINUTES"\n}',
        "console": "GuardDuty (in each region) > Get started > Enable GuardDuty.",
    },
)
def guardduty_enabled_all_regions(inv: Inventory) -> Iterator[Outcome]:
    yield from flag_per_region(
        inv,
        type_="aws_guardduty_region",
        service="guardduty",
        key="enabled",
        what="GuardDuty",
        on="enabled",
        off="not enabled (no enabled detector)",
    )


@check(
    id="securityhub_enabled_all_regions",
    title="Security Hub is enabled in every region",
    description="Security Hub is enabled (the account is subscribed) in each scanned region.",
    risk="Without Security Hub a region's findings (GuardDuty, Inspector, Macie, Config "
    "rules, security standard controls) are not aggregated or prioritised, and the "
    "standard controls that continuously check the configuration are not run there.",
    severity="medium",
    service="securityhub",
    resource_types=["aws_securityhub_region"],
    categories=["monitoring", "compliance"],
    remediation={
        "summary": "Enable Security Hub in every region (with AWS Config recording, which "
        "its controls need); in an organization, use a delegated administrator and central "
        "configuration.",
        "cli": "aws securityhub enable-security-hub --region REGION --enable-default-standards",
        "terraform": 'resource "aws_securityhub_account" "this" {\n'
        "  enable_default_standards = true\n}",
        "console": "Security Hub (in each region) > Go to Security Hub > Enable Security Hub.",
    },
)
def securityhub_enabled_all_regions(inv: Inventory) -> Iterator[Outcome]:
    for out in flag_per_region(
        inv,
        type_="aws_securityhub_region",
        service="securityhub",
        key="enabled",
        what="Security Hub",
        on="enabled",
        off="not enabled",
    ):
        standards = out.resource.config.get("enabled_standards_arns")
        if out.status == Status.PASS and standards is not None:
            names = [s.split(":standards/", 1)[-1] for s in standards]
            out.message = out.message[:-1] + (
                f", standards: {', '.join(names)}." if names else ", with no standard enabled."
            )
            out.evidence["enabled_standards"] = standards
        yield out


# == CloudWatch log groups =================================================================

MIN_RETENTION_DAYS = 365


@resource_check(
    title="CloudWatch log groups keep events for at least a year",
    description=f"The log group keeps events for at least {MIN_RETENTION_DAYS} days (or "
    "never expires them).",
    risk="Investigations regularly reach back months: an intrusion is on average found "
    "long after it began, and logs that expired after a few days cannot show how it "
    "started. Many regimes require a year of retention.",
    severity="low",
    service="cloudwatch",
    resource_types=["aws_cloudwatch_log_group"],
    categories=["logging"],
    remediation={
        "summary": f"Set the retention to {MIN_RETENTION_DAYS} days or more (or export to "
        "S3 with a lifecycle policy for long-term storage).",
        "cli": "aws logs put-retention-policy --region REGION --log-group-name LOG_GROUP "
        f"--retention-in-days {MIN_RETENTION_DAYS}",
        "terraform": 'resource "aws_cloudwatch_log_group" "this" {\n'
        f'  name              = "LOG_GROUP"\n  retention_in_days = {MIN_RETENTION_DAYS}\n}}',
        "console": "CloudWatch > Log groups > LOG_GROUP > Actions > Edit retention setting.",
    },
)
def cloudwatch_log_group_retention(group: Resource, inv: Inventory) -> Outcome:
    if not readable(group, "retention_in_days"):
        return unknown(group, f"Retention of log group {group.name} is unknown.")
    days = group.config.get("retention_in_days")
    if days is None:
        return ok(group, f"Log group {group.name} never expires its events.", retention=None)
    if days >= MIN_RETENTION_DAYS:
        return ok(group, f"Log group {group.name} keeps events for {days} days.", retention=days)
    return fail(
        group,
        f"Log group {group.name} keeps events for only {days} days (minimum {MIN_RETENTION_DAYS}).",
        retention=days,
        minimum=MIN_RETENTION_DAYS,
    )


@resource_check(
    title="CloudWatch log groups are encrypted with a KMS key",
    description="The log group encrypts its events with a customer managed KMS key.",
    risk="Log events often carry sensitive data (tokens, personal data, internal "
    "addresses); with a KMS key, reading them also needs kms:Decrypt and every "
    "decryption is recorded. Without one, CloudWatch's service-owned encryption is the "
    "only protection.",
    severity="low",
    service="cloudwatch",
    resource_types=["aws_cloudwatch_log_group"],
    categories=["logging", "encryption"],
    remediation={
        "summary": "Associate a customer managed KMS key (whose policy allows "
        "logs.REGION.amazonaws.com) with the log group.",
        "cli": "aws logs associate-kms-key --region REGION --log-group-name LOG_GROUP "
        "--kms-key-id arn:aws:kms:REGION:ACCOUNT_ID:key/KEY_ID",
        "terraform": 'resource "aws_cloudwatch_log_group" "this" {\n'
        '  name       = "LOG_GROUP"\n  kms_key_id = aws_kms_key.logs.arn\n}',
        "console": "Not available in the console for existing log groups: use the CLI "
        "(associate-kms-key).",
    },
)
def cloudwatch_log_group_encrypted(group: Resource, inv: Inventory) -> Outcome:
    if not readable(group, "kms_key_id"):
        return unknown(group, f"Encryption of log group {group.name} is unknown.")
    key = group.config.get("kms_key_id")
    if key:
        return ok(group, f"Log group {group.name} is encrypted with KMS key {key}.", kms_key_id=key)
    return fail(group, f"Log group {group.name} is not encrypted with a KMS key.", kms_key_id=None)
