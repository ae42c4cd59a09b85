import json

import pytest

from stratusec.providers.aws import iam
from tests.providers.aws.faults import fail_operation, stub_operation

ACCOUNT = "123456789012"
DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}
DOC_V2 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def by_type(resources, type_):
    return {r.uid: r for r in resources if r.type == type_}


@pytest.fixture
def seeded(aws, monkeypatch):
    # AWS-managed policies exist in moto only when this is set before the IAM backend
    # is first used after the per-test reset.
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    c = aws("iam")
    c.create_user(UserName="alice", Path="/eng/", Tags=[{"Key": "team", "Value": "sec"}])
    c.create_user(UserName="bob")
    c.create_group(GroupName="admins")
    c.add_user_to_group(GroupName="admins", UserName="alice")
    c.attach_group_policy(GroupName="admins", PolicyArn=ADMIN)
    pol = c.create_policy(PolicyName="s3-read", PolicyDocument=json.dumps(DOC))["Policy"]["Arn"]
    c.create_policy_version(PolicyArn=pol, PolicyDocument=json.dumps(DOC_V2), SetAsDefault=False)
    c.attach_user_policy(UserName="alice", PolicyArn=pol)
    c.put_user_policy(UserName="alice", PolicyName="inline-s3", PolicyDocument=json.dumps(DOC))
    c.create_role(
        RoleName="app",
        AssumeRolePolicyDocument=json.dumps(TRUST),
        PermissionsBoundary=pol,
        MaxSessionDuration=7200,
        Tags=[{"Key": "env", "Value": "prod"}],
    )
    c.attach_role_policy(RoleName="app", PolicyArn=READONLY)
    c.put_role_policy(RoleName="app", PolicyName="inline-role", PolicyDocument=json.dumps(DOC))
    c.create_instance_profile(InstanceProfileName="app-profile")
    c.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app")
    c.create_instance_profile(InstanceProfileName="empty-profile")
    key = c.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    c.create_login_profile(UserName="alice", Password="Correct-Horse-1!")
    # moto ignores PasswordResetRequired on create
    c.update_login_profile(
        UserName="alice", Password="Correct-Horse-1!", PasswordResetRequired=True
    )
    serial = c.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"][
        "SerialNumber"
    ]
    c.enable_mfa_device(
        UserName="alice",
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    c.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")
    c.update_account_password_policy(
        MinimumPasswordLength=14, RequireSymbols=True, PasswordReusePrevention=24
    )
    c.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["a" * 40],
    )
    c.create_saml_provider(Name="okta", SAMLMetadataDocument="<xml>" + "x" * 1000 + "</xml>")
    c.upload_server_certificate(
        ServerCertificateName="old-cert", CertificateBody="body", PrivateKey="key"
    )
    return {"policy": pol, "key": key, "serial": serial}


def test_principals_policies_and_credentials(seeded, collector_ctx):
    ctx = collector_ctx("iam", "global")
    resources = list(iam.collect(ctx))
    assert ctx.errors.items == []
    assert all(r.region == "global" and r.service == "iam" for r in resources)
    assert len({r.uid for r in resources}) == len(resources)

    alice_arn = f"arn:aws:iam::{ACCOUNT}:user/eng/alice"
    users = by_type(resources, "aws_iam_user")
    assert set(users) == {alice_arn, f"arn:aws:iam::{ACCOUNT}:user/bob"}
    alice = users[alice_arn]
    assert alice.tags == {"team": "sec"}
    assert alice.config["path"] == "/eng/"
    assert alice.config["user_id"]
    assert alice.config["inline_policies"] == {"inline-s3": DOC}
    assert alice.config["managed_policy_arns"] == [seeded["policy"]]
    assert alice.config["groups"] == ["admins"]
    assert alice.config["login_profile"]["password_reset_required"] is True
    assert alice.config["password_enabled"] is True
    assert alice.config["mfa_devices"][0]["serial_number"] == seeded["serial"]
    assert alice.config["mfa_devices"][0]["type"] == "virtual"
    assert [k["id"] for k in alice.config["access_keys"]] == [seeded["key"]]
    assert alice.unavailable == []
    group_arn = f"arn:aws:iam::{ACCOUNT}:group/admins"
    assert alice.targets("MEMBER_OF") == [group_arn]
    assert alice.targets("HAS_POLICY") == [seeded["policy"]]

    bob = users[f"arn:aws:iam::{ACCOUNT}:user/bob"]
    assert bob.config["login_profile"] is None
    assert bob.config["password_enabled"] is False
    assert bob.config["mfa_devices"] == []
    assert bob.config["access_keys"] == []
    assert bob.unavailable == []

    group = by_type(resources, "aws_iam_group")[group_arn]
    assert group.config["managed_policy_arns"] == [ADMIN]
    assert group.config["users"] == ["alice"]
    assert group.targets("HAS_POLICY") == [ADMIN]

    role_arn = f"arn:aws:iam::{ACCOUNT}:role/app"
    role = by_type(resources, "aws_iam_role")[role_arn]
    assert role.config["assume_role_policy"] == TRUST
    assert role.config["inline_policies"] == {"inline-role": DOC}
    assert role.config["managed_policy_arns"] == [READONLY]
    assert role.config["permissions_boundary"] == seeded["policy"]
    assert role.config["max_session_duration"] == 7200
    profile_arn = f"arn:aws:iam::{ACCOUNT}:instance-profile/app-profile"
    assert role.config["instance_profile_arns"] == [profile_arn]
    assert role.tags == {"env": "prod"}
    assert role.targets("HAS_POLICY") == [READONLY]
    assert role.targets("HAS_PERMISSIONS_BOUNDARY") == [seeded["policy"]]

    profiles = by_type(resources, "aws_iam_instance_profile")
    assert profiles[profile_arn].targets("RUNS_AS") == [role_arn]
    assert profiles[profile_arn].config["role"] == "app"
    empty = profiles[f"arn:aws:iam::{ACCOUNT}:instance-profile/empty-profile"]
    assert empty.config["roles"] == [] and empty.relationships == []

    policies = by_type(resources, "aws_iam_policy")
    # Customer policy plus only the AWS-managed policies in use (moto loads ~1500).
    assert set(policies) == {seeded["policy"], ADMIN, READONLY}
    cust = policies[seeded["policy"]]
    assert cust.config["aws_managed"] is False
    assert cust.config["policy"] == DOC
    assert cust.config["default_version_id"] == "v1"
    assert cust.config["attachment_count"] == 1
    assert [v["policy"] for v in cust.config["policy_versions"]] == [DOC, DOC_V2]
    admin = policies[ADMIN]
    assert admin.config["aws_managed"] is True
    assert admin.config["policy"]["Statement"][0]["Action"] == "*"
    assert len(admin.raw["Policy"]["PolicyVersionList"]) == 1

    key_uid = f"{alice_arn}/access-key/{seeded['key']}"
    key = by_type(resources, "aws_iam_access_key")[key_uid]
    assert key.config["status"] == "Active"
    assert key.config["user"] == "alice"
    assert key.config["last_used_service"] is None  # moto says "N/A"
    assert key.targets("OWNED_BY") == [alice_arn]
    assert "SecretAccessKey" not in json.dumps(key.model_dump())

    mfas = by_type(resources, "aws_iam_virtual_mfa_device")
    assert mfas[seeded["serial"]].targets("OWNED_BY") == [alice_arn]
    assert mfas[seeded["serial"]].config["assigned"] is True
    root_mfa = mfas[f"arn:aws:iam::{ACCOUNT}:mfa/root-account-mfa-device"]
    assert root_mfa.config["root_account"] is True
    dumped = json.dumps([m.model_dump() for m in mfas.values()])
    assert "Base32StringSeed" not in dumped and "QRCodePNG" not in dumped

    pp = by_type(resources, "aws_iam_account_password_policy")[
        f"arn:aws:iam::{ACCOUNT}:account-password-policy"
    ]
    assert pp.config["exists"] is True
    assert pp.config["minimum_password_length"] == 14
    assert pp.config["require_symbols"] is True
    assert pp.config["require_numbers"] is False
    assert pp.config["password_reuse_prevention"] == 24

    summary = by_type(resources, "aws_iam_account_summary")[
        f"arn:aws:iam::{ACCOUNT}:account-summary"
    ]
    assert summary.config["Users"] == 2
    assert summary.config["account_mfa_enabled"] is False
    assert summary.config["account_access_keys_present"] is False

    oidc = next(iter(by_type(resources, "aws_iam_openid_connect_provider").values()))
    assert oidc.config["client_id_list"] == ["sts.amazonaws.com"]
    assert oidc.name == "token.actions.githubusercontent.com"
    saml = by_type(resources, "aws_iam_saml_provider")
    assert list(saml) == [f"arn:aws:iam::{ACCOUNT}:saml-provider/okta"]
    certs = by_type(resources, "aws_iam_server_certificate")
    cert = certs[f"arn:aws:iam::{ACCOUNT}:server-certificate/old-cert"]
    assert "expiration" in cert.config

    entries = by_type(resources, "aws_iam_credential_report_entry")
    entry = entries[f"arn:aws:iam::{ACCOUNT}:credential-report/alice"]
    assert entry.config["password_enabled"] is True
    assert entry.config["mfa_active"] is True
    assert entry.config["access_key_1_active"] is True
    assert entry.config["access_key_2_active"] is False
    assert entry.config["access_key_2_last_rotated"] is None
    assert isinstance(entry.config["access_key_1_last_rotated"], str)
    assert entry.targets("OWNED_BY") == [alice_arn]


def test_empty_account_has_no_password_policy_and_no_errors(collector_ctx):
    ctx = collector_ctx("iam", "global")
    resources = list(iam.collect(ctx))
    assert ctx.errors.items == []
    types = sorted(r.type for r in resources)
    assert types == ["aws_iam_account_password_policy", "aws_iam_account_summary"]
    pp = next(r for r in resources if r.type == "aws_iam_account_password_policy")
    assert pp.config["exists"] is False
    assert pp.config["minimum_password_length"] is None
    assert pp.config["password_reuse_prevention"] is None
    assert pp.unavailable == []


def test_parse_credential_report_types_values():
    csv_text = (
        "user,arn,user_creation_time,password_enabled,password_last_used,"
        "password_last_changed,password_next_rotation,mfa_active,access_key_1_active,"
        "access_key_1_last_rotated,access_key_1_last_used_date,cert_1_active\n"
        "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,"
        "not_supported,2024-05-01T10:00:00+00:00,not_supported,not_supported,true,false,"
        "N/A,N/A,false\n"
        "carol,arn:aws:iam::123456789012:user/carol,2021-01-01T00:00:00+00:00,true,"
        "no_information,2021-01-02T00:00:00+00:00,N/A,false,true,"
        "2021-01-03T00:00:00+00:00,2024-01-01T00:00:00+00:00,false\n"
    )
    root, carol = iam.parse_credential_report(csv_text.encode())
    assert root["user"] == "<root_account>"
    assert root["password_enabled"] is None
    assert root["password_last_used"] == "2024-05-01T10:00:00+00:00"
    assert root["mfa_active"] is True
    assert root["access_key_1_active"] is False
    assert root["access_key_1_last_rotated"] is None
    assert carol["password_enabled"] is True
    assert carol["password_last_used"] is None
    assert carol["access_key_1_last_used_date"] == "2024-01-01T00:00:00+00:00"
    assert carol["cert_1_active"] is False


def test_credential_report_root_row_becomes_record(aws, collector_ctx, monkeypatch):
    aws("iam").create_user(UserName="carol")
    ctx = collector_ctx("iam", "global")
    client = ctx.client()
    real = client.get_credential_report

    def with_root(**kw):
        resp = real(**kw)
        lines = resp["Content"].decode().splitlines()
        n = len(lines[0].split(","))
        root = ["<root_account>", f"arn:aws:iam::{ACCOUNT}:root", "2020-01-01T00:00:00+00:00"]
        root += ["not_supported"] * 4 + ["true"] + ["false"] * (n - 8)
        resp["Content"] = "\n".join([lines[0], ",".join(root), *lines[1:]]).encode()
        return resp

    monkeypatch.setattr(client, "get_credential_report", with_root)
    resources = list(iam.collect(ctx))
    assert ctx.errors.items == []
    entries = by_type(resources, "aws_iam_credential_report_entry")
    root = entries[f"arn:aws:iam::{ACCOUNT}:credential-report/<root_account>"]
    assert root.config["root_account"] is True
    assert root.config["mfa_active"] is True
    assert root.config["access_key_1_active"] is False
    assert root.targets("OWNED_BY") == [f"arn:aws:iam::{ACCOUNT}:root"]
    carol = entries[f"arn:aws:iam::{ACCOUNT}:credential-report/carol"]
    assert carol.config["root_account"] is False
    assert carol.targets("OWNED_BY") == [f"arn:aws:iam::{ACCOUNT}:user/carol"]


def test_credential_report_timeout_is_an_error(aws, collector_ctx, monkeypatch):
    aws("iam").create_user(UserName="dave")
    ctx = collector_ctx("iam", "global")
    stub_operation(ctx, "GenerateCredentialReport", {"State": "STARTED"})
    monkeypatch.setattr(iam, "CREDENTIAL_REPORT_TIMEOUT", 0.2)
    resources = list(iam.collect(ctx))
    assert not [r for r in resources if r.type == "aws_iam_credential_report_entry"]
    assert [(e.api, e.code) for e in ctx.errors.items] == [
        ("generate_credential_report", "Timeout")
    ]
    # Everything else is still collected.
    assert any(r.type == "aws_iam_user" for r in resources)


def test_failed_login_profile_read_is_unavailable(aws, collector_ctx):
    aws("iam").create_user(UserName="erin")
    ctx = collector_ctx("iam", "global")
    fail_operation(ctx, "GetLoginProfile")
    resources = list(iam.collect(ctx))
    user = by_type(resources, "aws_iam_user")[f"arn:aws:iam::{ACCOUNT}:user/erin"]
    assert user.config["login_profile"] is None
    assert user.config["password_enabled"] is None
    assert "login_profile" in user.unavailable and "password_enabled" in user.unavailable
    assert user.config["mfa_devices"] == []  # other details still read
    errs = [(e.api, e.code, e.resource) for e in ctx.errors.items]
    assert errs == [("get_login_profile", "AccessDenied", f"arn:aws:iam::{ACCOUNT}:user/erin")]


def test_failed_password_policy_read_is_unknown_not_absent(collector_ctx):
    ctx = collector_ctx("iam", "global")
    fail_operation(ctx, "GetAccountPasswordPolicy")
    resources = list(iam.collect(ctx))
    pp = next(r for r in resources if r.type == "aws_iam_account_password_policy")
    assert pp.config["exists"] is None
    assert "exists" in pp.unavailable and "minimum_password_length" in pp.unavailable


def test_authorization_details_failure_falls_back_to_listings(aws, collector_ctx):
    c = aws("iam")
    c.create_user(UserName="frank")
    c.create_role(RoleName="svc", AssumeRolePolicyDocument=json.dumps(TRUST))
    ctx = collector_ctx("iam", "global")
    fail_operation(ctx, "GetAccountAuthorizationDetails")
    resources = list(iam.collect(ctx))
    assert [e.api for e in ctx.errors.items] == ["get_account_authorization_details"]
    user = by_type(resources, "aws_iam_user")[f"arn:aws:iam::{ACCOUNT}:user/frank"]
    assert user.config["inline_policies"] is None
    assert "inline_policies" in user.unavailable and "managed_policy_arns" in user.unavailable
    assert user.config["password_enabled"] is False  # per-user details still read
    role = by_type(resources, "aws_iam_role")[f"arn:aws:iam::{ACCOUNT}:role/svc"]
    assert role.config["assume_role_policy"] == TRUST
    assert role.config["managed_policy_arns"] is None
    assert "managed_policy_arns" in role.unavailable


def test_detail_calls_on_a_pool_give_the_same_records(aws, pooled_ctx):
    c = aws("iam")
    for i in range(6):
        c.create_user(UserName=f"u{i}")
        c.create_access_key(UserName=f"u{i}")
    ctx = pooled_ctx("iam", "global")
    resources = list(iam.collect(ctx))
    assert ctx.errors.items == []
    assert len(by_type(resources, "aws_iam_user")) == 6
    keys = by_type(resources, "aws_iam_access_key")
    assert len(keys) == 6
    assert {k.config["user"] for k in keys.values()} == {f"u{i}" for i in range(6)}
