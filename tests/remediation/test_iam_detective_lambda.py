"""IAM, GuardDuty, AWS Config and Lambda fixers end to end on moto: seed, scan, plan,
approve (as another human), apply once, re-check; live state asserted; rollback where it
is meaningful; and the reasons a plan is refused."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

import boto3
import pytest

from stratusec.checks.aws import iam as iam_checks
from stratusec.remediation.engine import RemediationError
from tests.remediation.conftest import FixLab

pytestmark = pytest.mark.slow

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "111122223333"


def _ver(applied: dict[str, Any]) -> dict[str, Any]:
    ver = applied["result"]["verification"]
    assert ver["resolved"] and ver["matches_expected"], ver
    return ver


def _later(monkeypatch: pytest.MonkeyPatch, days: int) -> None:
    """The checks (and fixers) judge time as if ``days`` had passed."""
    when = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    monkeypatch.setattr(iam_checks, "now", lambda: when)


# -- password policy -------------------------------------------------------------------------


def test_password_policy_created_then_deleted_by_rollback(fixlab: Any, aws: Any) -> None:
    iam = aws("iam")
    lab: FixLab = fixlab()
    lab.scan("iam")
    plan = lab.plan(lab.finding("iam_password_policy_min_length_14"))
    assert [c["operation"] for c in plan["calls"]] == ["update_account_password_policy"]
    assert [c["operation"] for c in plan["rollback"]] == ["delete_account_password_policy"]
    assert plan["session_policy"]["Statement"] == [
        {"Effect": "Allow", "Action": ["iam:UpdateAccountPasswordPolicy"], "Resource": "*"}
    ]
    applied = lab.apply(plan)
    _ver(applied)
    pol = iam.get_account_password_policy()["PasswordPolicy"]
    assert pol["MinimumPasswordLength"] == 14 and pol["PasswordReusePrevention"] == 24
    assert pol["MaxPasswordAge"] == 90
    assert all(
        pol[k]
        for k in (
            "RequireSymbols",
            "RequireNumbers",
            "RequireUppercaseCharacters",
            "RequireLowercaseCharacters",
        )
    )
    lab.rollback(applied)
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_account_password_policy()


def test_password_policy_keeps_stricter_values_and_rollback_restores(fixlab: Any, aws: Any) -> None:
    iam = aws("iam")
    iam.update_account_password_policy(
        MinimumPasswordLength=20,
        MaxPasswordAge=30,
        PasswordReusePrevention=5,
        RequireNumbers=True,
        AllowUsersToChangePassword=False,
        HardExpiry=True,
    )
    before = iam.get_account_password_policy()["PasswordPolicy"]
    lab: FixLab = fixlab()
    lab.scan("iam")
    applied = lab.fix("iam_password_policy_require_symbols")
    _ver(applied)
    pol = iam.get_account_password_policy()["PasswordPolicy"]
    assert pol["MinimumPasswordLength"] == 20  # stricter than CIS: kept
    assert pol["MaxPasswordAge"] == 30
    assert pol["PasswordReusePrevention"] == 24
    assert pol["HardExpiry"] is True and pol["AllowUsersToChangePassword"] is False
    assert pol["RequireSymbols"] and pol["RequireUppercaseCharacters"]
    lab.rollback(applied)
    assert iam.get_account_password_policy()["PasswordPolicy"] == before


# -- access keys -----------------------------------------------------------------------------


def _key_client(aws: Any, key: dict[str, Any]) -> Any:
    return boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=aws("sts").meta.endpoint_url,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )


def test_unused_access_keys_deactivated_and_reactivated(
    fixlab: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = aws("iam")
    iam.create_user(UserName="dormant")
    k1 = iam.create_access_key(UserName="dormant")["AccessKey"]
    k2 = iam.create_access_key(UserName="dormant")["AccessKey"]
    _key_client(aws, k2).get_caller_identity()  # used once, then forgotten
    iam.create_user(UserName="console-only")
    iam.create_login_profile(UserName="console-only", Password="Aa1!aaaaaaaaaaaaaa")
    _later(monkeypatch, 100)
    lab: FixLab = fixlab()
    lab.scan("iam")

    # Only the console password is unused: not automated (no rollback possible).
    with pytest.raises(RemediationError, match="delete-login-profile --user-name console-only"):
        lab.plan(lab.finding("iam_user_unused_credentials_45_days", "console-only"))

    applied = lab.fix("iam_user_unused_credentials_45_days", "dormant")
    _ver(applied)
    assert sorted(c["params"]["AccessKeyId"] for c in applied["calls"]) == sorted(
        [k1["AccessKeyId"], k2["AccessKeyId"]]
    )
    assert {c["resource_arn"] for c in applied["calls"]} == {f"arn:aws:iam::{ACCOUNT}:user/dormant"}
    live = iam.list_access_keys(UserName="dormant")["AccessKeyMetadata"]
    assert {k["Status"] for k in live} == {"Inactive"}  # deactivated, never deleted
    assert len(live) == 2
    lab.rollback(applied)
    live = iam.list_access_keys(UserName="dormant")["AccessKeyMetadata"]
    assert {k["Status"] for k in live} == {"Active"}


def test_old_access_key_deactivated_only_when_unused(
    fixlab: Any, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = aws("iam")
    iam.create_user(UserName="ci")
    old = iam.create_access_key(UserName="ci")["AccessKey"]
    iam.create_user(UserName="app")
    busy = iam.create_access_key(UserName="app")["AccessKey"]
    _key_client(aws, busy).get_caller_identity()
    _later(monkeypatch, 120)
    lab: FixLab = fixlab()
    lab.scan("iam")
    plan = lab.plan(lab.finding("iam_access_key_rotated_90_days", old["AccessKeyId"]))
    applied = lab.apply(plan)
    # An inactive key is not judged by the rotation check: resolved as not applicable.
    assert applied["result"]["verification"]["matches_expected"]
    assert iam.list_access_keys(UserName="ci")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    # The app's key is as old, but (seen from a later day) was used 10 days ago: a key in
    # use is rotated, not switched off.
    f = lab.finding("iam_access_key_rotated_90_days", busy["AccessKeyId"])
    _later(monkeypatch, 10)
    with pytest.raises(RemediationError, match=r"in use.*Rotate it instead"):
        lab.plan(f)
    assert iam.list_access_keys(UserName="app")["AccessKeyMetadata"][0]["Status"] == "Active"


# -- *:* policies ----------------------------------------------------------------------------

ADMIN_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
READ_DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def test_full_admin_inline_policy_deleted_and_put_back(fixlab: Any, aws: Any) -> None:
    iam = aws("iam")
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    iam.put_role_policy(RoleName="worker", PolicyName="admin", PolicyDocument=json.dumps(ADMIN_DOC))
    iam.put_role_policy(RoleName="worker", PolicyName="read", PolicyDocument=json.dumps(READ_DOC))
    lab: FixLab = fixlab()
    lab.scan("iam")
    applied = lab.fix("iam_policy_no_full_admin", "worker")
    _ver(applied)
    assert [(c["operation"], c["params"]) for c in applied["calls"]] == [
        ("delete_role_policy", {"RoleName": "worker", "PolicyName": "admin"})
    ]
    assert iam.list_role_policies(RoleName="worker")["PolicyNames"] == ["read"]
    lab.rollback(applied)
    assert sorted(iam.list_role_policies(RoleName="worker")["PolicyNames"]) == ["admin", "read"]
    doc = iam.get_role_policy(RoleName="worker", PolicyName="admin")["PolicyDocument"]
    assert doc == ADMIN_DOC


def _managed_admin_everywhere(aws: Any) -> str:
    iam = aws("iam")
    arn = iam.create_policy(PolicyName="god-mode", PolicyDocument=json.dumps(ADMIN_DOC))["Policy"][
        "Arn"
    ]
    iam.create_user(UserName="ops")
    iam.attach_user_policy(UserName="ops", PolicyArn=arn)
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=arn)
    iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    iam.attach_role_policy(RoleName="deployer", PolicyArn=arn)
    return str(arn)


def test_full_admin_managed_policy_detached_everywhere_and_reattached(
    fixlab: Any, aws: Any
) -> None:
    iam = aws("iam")
    arn = _managed_admin_everywhere(aws)
    lab: FixLab = fixlab()
    lab.scan("iam")
    plan = lab.plan(lab.finding("iam_policy_no_full_admin", "god-mode"))
    assert [c["operation"] for c in plan["calls"]] == [
        "detach_group_policy",
        "detach_role_policy",
        "detach_user_policy",
    ]
    assert {c["resource_arn"] for c in plan["calls"]} == {
        f"arn:aws:iam::{ACCOUNT}:group/admins",
        f"arn:aws:iam::{ACCOUNT}:role/deployer",
        f"arn:aws:iam::{ACCOUNT}:user/ops",
    }
    assert [c["operation"] for c in plan["rollback"]] == [
        "attach_user_policy",
        "attach_role_policy",
        "attach_group_policy",
    ]
    applied = lab.apply(plan)
    assert applied["status"] == "applied"
    assert applied["result"]["verification"]["matches_expected"]
    ents = iam.list_entities_for_policy(PolicyArn=arn)
    assert not (ents["PolicyUsers"] or ents["PolicyGroups"] or ents["PolicyRoles"])
    lab.rollback(applied)
    ents = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in ents["PolicyUsers"]] == ["ops"]
    assert [g["GroupName"] for g in ents["PolicyGroups"]] == ["admins"]
    assert [r["RoleName"] for r in ents["PolicyRoles"]] == ["deployer"]


def test_full_admin_managed_policy_verified_resolved(fixlab: Any, aws: Any) -> None:
    _managed_admin_everywhere(aws)
    lab: FixLab = fixlab()
    lab.scan("iam")
    lab.fix("iam_policy_no_full_admin", "god-mode")


# -- trust policies --------------------------------------------------------------------------


def _trust_doc(aws: Any, role: str) -> dict[str, Any]:
    return dict(aws("iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])


def test_service_trust_gets_source_condition_other_principals_untouched(
    fixlab: Any, aws: Any
) -> None:
    iam = aws("iam")
    mixed = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Services",
                "Effect": "Allow",
                "Principal": {"Service": ["ec2.amazonaws.com", "sns.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName="notifier", AssumeRolePolicyDocument=json.dumps(mixed))
    events = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName="scheduler", AssumeRolePolicyDocument=json.dumps(events))
    lab: FixLab = fixlab()
    lab.scan("iam")
    before = _trust_doc(aws, "notifier")
    applied = lab.fix("iam_role_trust_service_without_condition", "notifier")
    _ver(applied)
    stmts = _trust_doc(aws, "notifier")["Statement"]
    # EC2 (which sends no source keys) keeps its statement; SNS gets its own, conditioned.
    assert stmts[0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert "Condition" not in stmts[0]
    assert stmts[1]["Principal"] == {"Service": "sns.amazonaws.com"}
    assert stmts[1]["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert stmts[1]["Sid"] == "ServicesConditioned"
    lab.rollback(applied)
    assert _trust_doc(aws, "notifier") == before

    f = lab.finding("iam_role_trust_service_without_condition", "scheduler")
    with pytest.raises(RemediationError, match="source_arn must be an ARN"):
        lab.plan(f, source_arn="arn:aws:events:*:*:*")
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/nightly"
    lab.fix("iam_role_trust_service_without_condition", "scheduler", source_arn=rule)
    cond = _trust_doc(aws, "scheduler")["Statement"][0]["Condition"]
    assert cond == {"ArnLike": {"aws:SourceArn": rule}}


def test_cross_account_trust_needs_an_external_id(fixlab: Any, aws: Any) -> None:
    iam = aws("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName="vendor-access", AssumeRolePolicyDocument=json.dumps(trust))
    lab: FixLab = fixlab()
    lab.scan("iam")
    f = lab.finding("iam_role_trust_cross_account_without_condition", "vendor-access")
    with pytest.raises(RemediationError, match=f"options.external_id.*{OTHER_ACCOUNT}"):
        lab.plan(f)
    with pytest.raises(RemediationError, match="external_id must be"):
        lab.plan(f, external_id="no spaces allowed")
    with pytest.raises(RemediationError, match=r"unknown option.*valid options: external_id"):
        lab.plan(f, externalid="x")
    applied = lab.fix(
        "iam_role_trust_cross_account_without_condition",
        "vendor-access",
        external_id="vendor-7f3a",
    )
    _ver(applied)
    st = _trust_doc(aws, "vendor-access")["Statement"][0]
    assert st["Condition"] == {"StringEquals": {"sts:ExternalId": "vendor-7f3a"}}
    assert st["Principal"] == {"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"}
    lab.rollback(applied)
    assert _trust_doc(aws, "vendor-access") == trust


# -- GuardDuty -------------------------------------------------------------------------------


def test_guardduty_created_in_one_region_enabled_in_another(fixlab: Any, aws: Any) -> None:
    eu = aws("guardduty", "eu-west-1")
    det = eu.create_detector(Enable=False)["DetectorId"]
    lab: FixLab = fixlab()
    lab.scan("guardduty")

    plan = lab.plan(lab.finding("guardduty_enabled_all_regions", "us-east-1"))
    assert [c["operation"] for c in plan["calls"]] == ["create_detector"]
    # The new detector's id only exists after the apply: the rollback refers to it.
    assert plan["rollback"][0]["params"] == {"DetectorId": "${call[0].DetectorId}"}
    _ver(lab.apply(plan))
    us = aws("guardduty")
    [new] = us.list_detectors()["DetectorIds"]
    assert us.get_detector(DetectorId=new)["Status"] == "ENABLED"

    applied = lab.fix("guardduty_enabled_all_regions", "eu-west-1")
    _ver(applied)
    assert [c["operation"] for c in applied["calls"]] == ["update_detector"]
    assert applied["calls"][0]["resource_arn"] == (
        f"arn:aws:guardduty:eu-west-1:{ACCOUNT}:detector/{det}"
    )
    assert eu.get_detector(DetectorId=det)["Status"] == "ENABLED"
    lab.rollback(applied)
    assert eu.get_detector(DetectorId=det)["Status"] == "DISABLED"


def test_guardduty_created_detector_rolled_back(fixlab: Any, aws: Any) -> None:
    lab: FixLab = fixlab()
    lab.scan("guardduty")
    applied = lab.fix("guardduty_enabled_all_regions", "us-east-1")
    lab.rollback(applied)
    assert aws("guardduty").list_detectors()["DetectorIds"] == []


# -- AWS Config ------------------------------------------------------------------------------

CONFIG_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "config.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def test_config_recorder_created_with_role_and_bucket_then_removed(fixlab: Any, aws: Any) -> None:
    role = aws("iam").create_role(
        RoleName="config-recorder", AssumeRolePolicyDocument=json.dumps(CONFIG_TRUST)
    )["Role"]["Arn"]
    aws("s3").create_bucket(Bucket="config-history")
    cfg = aws("config")
    lab: FixLab = fixlab()
    lab.scan("config", "iam", "s3")
    f = lab.finding("config_recorder_enabled_all_regions", "us-east-1")
    with pytest.raises(RemediationError, match=f"options.role_arn.*{role}"):
        lab.plan(f)
    with pytest.raises(RemediationError, match=r"options.bucket.*config-history"):
        lab.plan(f, role_arn=role)
    with pytest.raises(RemediationError, match="global_resources must be true or false"):
        lab.plan(f, role_arn=role, bucket="config-history", global_resources="maybe")
    applied = lab.fix(
        "config_recorder_enabled_all_regions",
        "us-east-1",
        role_arn=role,
        bucket="config-history",
    )
    _ver(applied)
    assert [c["operation"] for c in applied["calls"]] == [
        "put_configuration_recorder",
        "put_delivery_channel",
        "start_configuration_recorder",
    ]
    [status] = cfg.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["recording"] is True
    [rec] = cfg.describe_configuration_recorders()["ConfigurationRecorders"]
    assert rec["roleARN"] == role and rec["recordingGroup"]["allSupported"] is True
    [ch] = cfg.describe_delivery_channels()["DeliveryChannels"]
    assert ch["s3BucketName"] == "config-history"
    lab.rollback(applied)
    assert cfg.describe_configuration_recorders()["ConfigurationRecorders"] == []
    assert cfg.describe_delivery_channels()["DeliveryChannels"] == []


def test_config_existing_partial_recorder_widened_and_started(fixlab: Any, aws: Any) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/config-recorder"
    cfg = aws("config", "eu-west-1")
    group = {
        "allSupported": False,
        "includeGlobalResourceTypes": False,
        "resourceTypes": ["AWS::S3::Bucket"],
    }
    cfg.put_configuration_recorder(
        ConfigurationRecorder={"name": "partial", "roleARN": role, "recordingGroup": group}
    )
    cfg.put_delivery_channel(DeliveryChannel={"name": "main", "s3BucketName": "somewhere"})
    lab: FixLab = fixlab()
    lab.scan("config")
    applied = lab.fix("config_recorder_enabled_all_regions", "eu-west-1", global_resources=False)
    _ver(applied)
    assert [c["operation"] for c in applied["calls"]] == [
        "put_configuration_recorder",
        "start_configuration_recorder",
    ]
    [rec] = cfg.describe_configuration_recorders()["ConfigurationRecorders"]
    assert rec["name"] == "partial" and rec["roleARN"] == role
    assert rec["recordingGroup"]["allSupported"] is True
    assert rec["recordingGroup"]["includeGlobalResourceTypes"] is False
    lab.rollback(applied)
    [rec] = cfg.describe_configuration_recorders()["ConfigurationRecorders"]
    assert rec["recordingGroup"]["allSupported"] is False
    assert rec["recordingGroup"]["resourceTypes"] == ["AWS::S3::Bucket"]
    [status] = cfg.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    assert status["recording"] is False
    assert [c["name"] for c in cfg.describe_delivery_channels()["DeliveryChannels"]] == ["main"]


# -- Lambda ----------------------------------------------------------------------------------


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 'ok'\n")
    return buf.getvalue()


def test_lambda_url_iam_auth_and_public_statement_removed(fixlab: Any, aws: Any) -> None:
    lambda_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = aws("iam").create_role(
        RoleName="fn-role", AssumeRolePolicyDocument=json.dumps(lambda_trust)
    )["Role"]["Arn"]
    lam = aws("lambda")
    lam.create_function(
        FunctionName="webhook",
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip()},
    )
    lam.create_function_url_config(FunctionName="webhook", AuthType="NONE")
    lam.add_permission(
        FunctionName="webhook",
        StatementId="FunctionURLAllowPublicAccess",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
    )
    lam.add_permission(
        FunctionName="webhook",
        StatementId="FromEvents",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
    )
    lab: FixLab = fixlab()
    lab.scan("lambda")
    applied = lab.fix("lambda_function_url_public", "webhook")
    _ver(applied)
    assert [c["operation"] for c in applied["calls"]] == [
        "update_function_url_config",
        "remove_permission",
    ]
    assert applied["calls"][1]["params"] == {
        "FunctionName": "webhook",
        "StatementId": "FunctionURLAllowPublicAccess",
    }
    assert lam.get_function_url_config(FunctionName="webhook")["AuthType"] == "AWS_IAM"
    sids = [
        s["Sid"] for s in json.loads(lam.get_policy(FunctionName="webhook")["Policy"])["Statement"]
    ]
    assert sids == ["FromEvents"]
    lab.rollback(applied)
    assert lam.get_function_url_config(FunctionName="webhook")["AuthType"] == "NONE"
    stmts = json.loads(lam.get_policy(FunctionName="webhook")["Policy"])["Statement"]
    public = [s for s in stmts if s["Sid"] == "FunctionURLAllowPublicAccess"]
    assert public and public[0]["Principal"] == "*"
    assert public[0]["Action"] == "lambda:InvokeFunctionUrl"


def test_url_statements_as_aws_writes_them_are_recreated_exactly() -> None:
    """The statements AWS itself writes for a public function URL (moto stores the
    AddPermission fields differently) map back to the AddPermission call that made them;
    anything else public is left alone."""
    from stratusec.remediation.fixers.lambda_ import url_statement

    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:webhook"
    url = {
        "Sid": "FunctionURLAllowPublicAccess",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:InvokeFunctionUrl",
        "Resource": arn,
        "Condition": {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}},
    }
    via_url = {
        "Sid": "FunctionURLAllowInvokeAction",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:InvokeFunction",
        "Resource": arn,
        "Condition": {"Bool": {"lambda:InvokedViaFunctionUrl": "true"}},
    }
    assert url_statement(url) == {
        "StatementId": "FunctionURLAllowPublicAccess",
        "Action": "lambda:InvokeFunctionUrl",
        "Principal": "*",
        "FunctionUrlAuthType": "NONE",
    }
    assert url_statement(via_url) == {
        "StatementId": "FunctionURLAllowInvokeAction",
        "Action": "lambda:InvokeFunction",
        "Principal": "*",
        "InvokedViaFunctionUrl": True,
    }
    # Public invoke not limited to the URL, a condition AddPermission cannot write, a
    # service principal: not URL grants, not touched.
    plain = {k: v for k, v in via_url.items() if k != "Condition"}
    odd = {**url, "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    service = {**url, "Principal": {"Service": "events.amazonaws.com"}}
    assert url_statement(plain) is None
    assert url_statement(odd) is None
    assert url_statement(service) is None
