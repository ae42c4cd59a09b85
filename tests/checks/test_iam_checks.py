"""IAM and Access Analyzer checks: PASS, FAIL and UNKNOWN for each, on hand-built
inventories shaped like the collectors' records (tests/checks/iam_helpers.py)."""

from __future__ import annotations

import pytest

from stratusec.checks import Status
from stratusec.checks.aws import iam as iam_checks
from stratusec.checks.registry import get_check
from tests.checks.fixtures import inventory, res, run, statuses
from tests.checks.iam_helpers import (
    NOW,
    aa_region,
    access_key,
    ago,
    allow,
    doc,
    iam,
    iam_arn,
    lambda_function,
    password_policy,
    policy,
    report_row,
    role,
    summary,
    trust,
    user,
    virtual_mfa,
)

P, F, U = Status.PASS, Status.FAIL, Status.UNKNOWN
ROOT = "<root_account>"


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(iam_checks, "now", lambda: NOW)


def only(check_id: str, *resources) -> tuple[Status, str]:  # type: ignore[no-untyped-def]
    [(status, msg)] = run(check_id, inventory(*resources)).values()
    return status, msg


# -- metadata ---------------------------------------------------------------------------------
IDS = [
    "iam_root_no_access_keys",
    "iam_root_mfa_enabled",
    "iam_root_hardware_mfa_enabled",
    "iam_root_not_used_recently",
    "iam_password_policy_min_length_14",
    "iam_password_policy_reuse_24",
    "iam_password_policy_require_symbols",
    "iam_password_policy_require_numbers",
    "iam_password_policy_require_uppercase",
    "iam_password_policy_require_lowercase",
    "iam_password_policy_expires_90_days",
    "iam_user_console_mfa",
    "iam_user_no_initial_access_key",
    "iam_user_unused_credentials_45_days",
    "iam_user_single_active_access_key",
    "iam_access_key_rotated_90_days",
    "iam_user_no_direct_policies",
    "iam_support_role_exists",
    "iam_server_certificate_not_expired",
    "accessanalyzer_enabled_all_regions",
    "iam_role_trust_service_without_condition",
    "iam_role_trust_compute_service_without_condition",
    "iam_role_trust_cross_account_without_condition",
    "iam_role_trust_public",
    "iam_policy_no_full_admin",
    "iam_policy_no_s3_full_access_all_resources",
    "iam_policy_no_assume_any_role",
    "lambda_function_admin_role",
    "iam_role_admin_trusted_by_service",
]


@pytest.mark.parametrize("check_id", IDS)
def test_metadata_is_complete(check_id: str) -> None:
    meta = get_check(check_id).meta
    rem = meta.remediation
    assert meta.title and meta.description and meta.risk and meta.categories
    assert rem.summary and rem.cli and rem.terraform and rem.console


# -- root user --------------------------------------------------------------------------------
def test_root_access_keys_from_summary_then_report():
    assert only("iam_root_no_access_keys", summary(account_access_keys_present=False))[0] == P
    status, msg = only("iam_root_no_access_keys", summary(account_access_keys_present=True))
    assert status == F and "account summary" in msg
    # Summary unreadable: the credential report's root row decides.
    unread = summary(account_access_keys_present="UNAVAILABLE")
    row = report_row(ROOT, access_key_2_active=True)
    status, msg = only("iam_root_no_access_keys", unread, row)
    assert status == F and "credential report" in msg
    # Neither: unknown, reported on a stand-in with the root row's uid.
    out = list(get_check("iam_root_no_access_keys").run(inventory(unread)))
    assert [o.status for o in out] == [U]
    assert out[0].resource.uid == iam_arn("credential-report/<root_account>")


def test_root_checks_report_on_the_root_row():
    row = report_row(ROOT)
    out = list(get_check("iam_root_mfa_enabled").run(inventory(summary(), row)))
    assert [o.resource.uid for o in out] == [row.uid]


def test_root_mfa():
    assert only("iam_root_mfa_enabled", summary(account_mfa_enabled=True))[0] == P
    assert only("iam_root_mfa_enabled", summary(account_mfa_enabled=False))[0] == F
    unread = summary(account_mfa_enabled="UNAVAILABLE")
    assert only("iam_root_mfa_enabled", unread)[0] == U
    assert only("iam_root_mfa_enabled", unread, report_row(ROOT, mfa_active=False))[0] == F


def test_root_hardware_mfa():
    on = summary(account_mfa_enabled=True)
    assert only("iam_root_hardware_mfa_enabled", on)[0] == P
    status, msg = only("iam_root_hardware_mfa_enabled", on, virtual_mfa("root", root=True))
    assert status == F and "virtual" in msg
    assert only("iam_root_hardware_mfa_enabled", summary(account_mfa_enabled=False))[0] == F
    unread = summary(account_mfa_enabled="UNAVAILABLE")
    assert only("iam_root_hardware_mfa_enabled", unread)[0] == U
    # bob's virtual device is missing from the virtual MFA listing: it was incomplete.
    bob = user("bob", console=True, mfa=["bob"])
    assert statuses("iam_root_hardware_mfa_enabled", inventory(on, bob)) == {ROOT: U}
    dev = virtual_mfa("bob", user="bob")
    assert statuses("iam_root_hardware_mfa_enabled", inventory(on, bob, dev)) == {ROOT: P}


def test_root_not_used_recently():
    old = report_row(ROOT, password_last_used=ago(200), access_key_1_last_used_date=None)
    assert only("iam_root_not_used_recently", summary(), old)[0] == P
    recent = report_row(ROOT, password_last_used=ago(200), access_key_1_last_used_date=ago(3))
    status, msg = only("iam_root_not_used_recently", summary(), recent)
    assert status == F and "access_key_1_last_used_date 3 days ago" in msg
    # No root row (moto's report has none): unknown, never a pass.
    status, msg = only("iam_root_not_used_recently", summary(), report_row("alice"))
    assert status == U and "no root user row" in msg


# -- password policy --------------------------------------------------------------------------
PP_CASES = [
    ("iam_password_policy_min_length_14", {"minimum_password_length": 8}),
    ("iam_password_policy_reuse_24", {"password_reuse_prevention": None}),
    ("iam_password_policy_require_symbols", {"require_symbols": False}),
    ("iam_password_policy_require_numbers", {"require_numbers": False}),
    ("iam_password_policy_require_uppercase", {"require_uppercase_characters": False}),
    ("iam_password_policy_require_lowercase", {"require_lowercase_characters": False}),
    ("iam_password_policy_expires_90_days", {"expire_passwords": False, "max_password_age": 0}),
]


@pytest.mark.parametrize(("check_id", "weak"), PP_CASES)
def test_password_policy(check_id: str, weak: dict) -> None:
    assert only(check_id, password_policy())[0] == P
    assert only(check_id, password_policy(**weak))[0] == F
    status, msg = only(check_id, password_policy(exists=False))
    assert status == F and "no password policy" in msg
    assert only(check_id, password_policy(exists=None))[0] == U
    # No record at all (the IAM collection failed): unknown on a stand-in.
    assert only(check_id, summary())[0] == U


def test_password_policy_thresholds():
    status, msg = only(
        "iam_password_policy_min_length_14", password_policy(minimum_password_length=13)
    )
    assert status == F and "13" in msg
    assert (
        only("iam_password_policy_reuse_24", password_policy(password_reuse_prevention=5))[0] == F
    )
    too_long = password_policy(max_password_age=180)
    status, msg = only("iam_password_policy_expires_90_days", too_long)
    assert status == F and "180" in msg


# -- users ------------------------------------------------------------------------------------
def test_user_console_mfa():
    alice = user("alice", console=True)
    bob = user("bob", console=True, mfa=["bob"])
    ci = user("ci", console=False)
    unread = user("eve", console=True, unavailable=["mfa_devices"])
    unread_pw = user("mallory", unavailable=["password_enabled"])
    got = statuses("iam_user_console_mfa", inventory(alice, bob, ci, unread, unread_pw))
    assert got == {"alice": F, "bob": P, "eve": U, "mallory": U}  # ci: not applicable
    # The credential report fills in what the user record lacks.
    row = report_row("eve", mfa_active=True)
    assert statuses("iam_user_console_mfa", inventory(unread, row)) == {"eve": P}


def test_user_no_initial_access_key():
    unused = access_key("alice", "AKIAUNUSED", created_days=10)
    used = access_key("bob", "AKIAUSED", used_days=1)
    unread = access_key("eve", "AKIAUNREAD", last_used_unavailable=True)
    ci_key = access_key("ci", "AKIACI")
    inv = inventory(
        user("alice", console=True, keys=[unused]),
        unused,
        user("bob", console=True, keys=[used]),
        used,
        user("eve", console=True, keys=[unread]),
        unread,
        user("ci", keys=[ci_key]),  # no console password: not judged
        ci_key,
        user("dan", console=True, unavailable=["access_keys"]),
    )
    out = run("iam_user_no_initial_access_key", inv)
    assert {k: s for k, (s, _m) in out.items()} == {"alice": F, "bob": P, "eve": U, "dan": U}
    assert "AKIAUNUSED" in out["alice"][1]


def test_user_unused_credentials():
    stale_key = access_key("alice", "AKIASTALE", created_days=200, used_days=120)
    fresh_key = access_key("ci", "AKIAFRESH", created_days=1)
    old_unused = access_key("olga", "AKIAOLD", created_days=60)
    inactive = access_key("ina", "AKIAOFF", created_days=300, status="Inactive")
    unread_key = access_key("eve", "AKIAUNREAD", last_used_unavailable=True)
    inv = inventory(
        user("alice", console=True, keys=[stale_key]),
        stale_key,
        user("bob", console=True, password_created_days=2),
        user("ci", keys=[fresh_key]),
        fresh_key,
        user("olga", keys=[old_unused]),
        old_unused,
        user("pete", console=True, password_last_used_days=50),
        user("nora", console=True, password_created_days=100),
        user("ina", keys=[inactive]),
        inactive,
        user("eve", keys=[unread_key]),
        unread_key,
    )
    out = run("iam_user_unused_credentials_45_days", inv)
    got = {k: s for k, (s, _m) in out.items()}
    assert got == {
        "alice": F,
        "bob": P,
        "ci": P,
        "olga": F,
        "pete": F,
        "nora": F,
        "ina": P,
        "eve": U,
    }
    assert "last used 120 days ago" in out["alice"][1]
    assert "never used, created 60 days ago" in out["olga"][1]
    assert "never used, set 100 days ago" in out["nora"][1]


def test_user_password_last_use_falls_back_to_report():
    u = user("pete", console=True, unavailable=["password_last_used"])
    assert statuses("iam_user_unused_credentials_45_days", inventory(u)) == {"pete": U}
    row = report_row("pete", password_last_used=ago(3))
    assert statuses("iam_user_unused_credentials_45_days", inventory(u, row)) == {"pete": P}


def test_user_single_active_access_key():
    k1, k2 = access_key("two", "AKIA1"), access_key("two", "AKIA2")
    k3 = access_key("one", "AKIA3")
    k4 = access_key("one", "AKIA4", status="Inactive")
    inv = inventory(
        user("two", keys=[k1, k2]),
        user("one", keys=[k3, k4]),
        user("none"),
        user("unread", unavailable=["access_keys"]),
    )
    out = run("iam_user_single_active_access_key", inv)
    assert {k: s for k, (s, _m) in out.items()} == {"two": F, "one": P, "none": P, "unread": U}
    assert "AKIA1, AKIA2" in out["two"][1]


def test_access_key_rotated():
    old = access_key("alice", "AKIAOLD", created_days=200)
    new = access_key("ci", "AKIANEW", created_days=3)
    off = access_key("x", "AKIAOFF", created_days=500, status="Inactive")
    undated = iam(
        "aws_iam_access_key",
        "AKIANODATE",
        iam_arn("user/y/access-key/AKIANODATE"),
        config={"id": "AKIANODATE", "user": "y", "status": "Active", "create_date": None},
    )
    out = run("iam_access_key_rotated_90_days", inventory(old, new, off, undated))
    assert {k: s for k, (s, _m) in out.items()} == {"AKIAOLD": F, "AKIANEW": P, "AKIANODATE": U}
    assert "200 days old" in out["AKIAOLD"][1] and "alice" in out["AKIAOLD"][1]


def test_user_no_direct_policies():
    inv = inventory(
        user("grouped"),
        user("attached", attached=["arn:aws:iam::aws:policy/ReadOnlyAccess"]),
        user("inline", inline={"s3-read": {"Statement": []}}),
        user("partial", unavailable=["inline_policies", "managed_policy_arns"]),
    )
    out = run("iam_user_no_direct_policies", inv)
    assert {k: s for k, (s, _m) in out.items()} == {
        "grouped": P,
        "attached": F,
        "inline": F,
        "partial": U,
    }
    assert "ReadOnlyAccess" in out["attached"][1] and "s3-read" in out["inline"][1]


# -- account-wide -----------------------------------------------------------------------------
def _principal(type_: str, name: str, arns: list[str] | None) -> object:
    kind = type_.removeprefix("aws_iam_")
    return iam(
        type_,
        name,
        iam_arn(f"{kind}/{name}"),
        config={"managed_policy_arns": arns},
        unavailable=[] if arns is not None else ["managed_policy_arns"],
    )


def test_support_role_exists():
    support = "arn:aws:iam::aws:policy/AWSSupportAccess"
    holder = _principal("aws_iam_role", "support", [support])
    other = _principal("aws_iam_role", "app", ["arn:aws:iam::aws:policy/ReadOnlyAccess"])
    partial = _principal("aws_iam_group", "ops", None)
    status, msg = only("iam_support_role_exists", summary(), holder, other)
    assert status == P and "role support" in msg
    assert only("iam_support_role_exists", summary(), other)[0] == F
    assert only("iam_support_role_exists", summary(), other, partial)[0] == U
    out = list(get_check("iam_support_role_exists").run(inventory(summary(), other)))
    assert out[0].resource.uid == support


def test_server_certificate_not_expired():
    def cert(name: str, expiration: str | None) -> object:
        return iam(
            "aws_iam_server_certificate",
            name,
            iam_arn(f"server-certificate/{name}"),
            config={"name": name, "expiration": expiration},
        )

    out = run(
        "iam_server_certificate_not_expired",
        inventory(cert("old", ago(10)), cert("new", ago(-100)), cert("odd", None)),
    )
    assert {k: s for k, (s, _m) in out.items()} == {"old": F, "new": P, "odd": U}
    assert "expired 10 days ago" in out["old"][1]


def test_accessanalyzer_enabled_all_regions():
    regions = ["us-east-1", "eu-west-1", "ap-south-1", "us-west-2"]
    inv = inventory(
        aa_region("us-east-1", True, ["external"]),
        aa_region("eu-west-1", False),
        aa_region("ap-south-1", None),
        summary(),
        regions=regions,
    )
    out = list(get_check("accessanalyzer_enabled_all_regions").run(inv))
    got = {o.resource.region: o.status for o in out}
    # us-west-2 has no record at all: unknown, never a pass.
    assert got == {"us-east-1": P, "eu-west-1": F, "ap-south-1": U, "us-west-2": U}
    stand_in = next(o.resource for o in out if o.resource.region == "us-west-2")
    assert stand_in.uid == "arn:aws:access-analyzer:us-west-2:123456789012:region-settings"
    assert "external" in next(o.message for o in out if o.status == P)


def test_unrelated_resources_are_ignored():
    bucket = res("aws_s3_bucket", "b")
    assert run("iam_user_console_mfa", inventory(bucket)) == {}
    assert run("iam_access_key_rotated_90_days", inventory(bucket)) == {}


# -- role trust -------------------------------------------------------------------------------
def _trust_statuses(check_id: str, *roles) -> dict[str, Status]:  # type: ignore[no-untyped-def]
    return statuses(check_id, inventory(*roles))


def test_role_trust_service_without_condition():
    cfg = role("config-role", trust({"Service": "config.amazonaws.com"}))
    guarded = role(
        "guarded",
        trust(
            {"Service": "config.amazonaws.com"},
            {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        ),
    )
    if_exists = role(
        "if-exists",
        trust(
            {"Service": ["cloudtrail.amazonaws.com"]},
            {"StringEqualsIfExists": {"aws:SourceAccount": "123456789012"}},
        ),
    )
    wildcard = role(
        "wildcard",
        trust({"Service": "sns.amazonaws.com"}, {"ArnLike": {"aws:SourceArn": "*"}}),
    )
    half = role(
        "half",
        trust(
            {"Service": "sns.amazonaws.com"},
            {"ArnLike": {"aws:SourceArn": ["arn:aws:sns:us-east-1:123456789012:t", "*"]}},
        ),
    )
    compute = role("fn", trust({"Service": "lambda.amazonaws.com"}))
    unread = role("unread", unavailable=["assume_role_policy"])
    linked = role("linked", trust({"Service": "config.amazonaws.com"}))
    linked.config["path"] = "/aws-service-role/config.amazonaws.com/"
    out = run(
        "iam_role_trust_service_without_condition",
        inventory(cfg, guarded, if_exists, wildcard, half, compute, unread, linked),
    )
    assert {k: s for k, (s, _m) in out.items()} == {
        "config-role": F,
        "guarded": P,
        "if-exists": F,
        "wildcard": F,
        "half": F,
        "unread": U,
    }
    assert "config.amazonaws.com (statement #1)" in out["config-role"][1]


def test_role_trust_compute_service_without_condition():
    fn = role("fn", trust({"Service": "lambda.amazonaws.com"}))
    task = role(
        "task",
        trust(
            {"Service": "ecs-tasks.amazonaws.com"},
            {"ArnLike": {"aws:SourceArn": "arn:aws:ecs:us-east-1:123456789012:*"}},
        ),
    )
    cfg = role("config-role", trust({"Service": "config.amazonaws.com"}))
    got = _trust_statuses("iam_role_trust_compute_service_without_condition", fn, task, cfg)
    assert got == {"fn": F, "task": P}


def test_role_trust_cross_account():
    audit = role(
        "security-audit",
        trust(
            {"AWS": "arn:aws:iam::210987654321:root"},
            {"StringEquals": {"sts:ExternalId": "acme-audit-7f3c"}},
        ),
    )
    bare = role("vendor", trust({"AWS": ["210987654321"]}))
    org = role(
        "org",
        trust(
            {"AWS": "arn:aws:iam::210987654321:role/deployer"},
            {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        ),
    )
    mfa = role(
        "mfa",
        trust(
            {"AWS": "arn:aws:iam::210987654321:root"},
            {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        ),
    )
    mfa_false = role(
        "mfa-false",
        trust(
            {"AWS": "arn:aws:iam::210987654321:root"},
            {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
        ),
    )
    same = role("same", trust({"AWS": "arn:aws:iam::123456789012:root"}))
    svc = role("svc", trust({"Service": "lambda.amazonaws.com"}))
    unread = role("unread", unavailable=["assume_role_policy"])
    out = run(
        "iam_role_trust_cross_account_without_condition",
        inventory(audit, bare, org, mfa, mfa_false, same, svc, unread),
    )
    assert {k: s for k, (s, _m) in out.items()} == {
        "security-audit": P,
        "vendor": F,
        "org": P,
        "mfa": P,
        "mfa-false": F,
        "unread": U,
    }
    assert "210987654321 (statement #1)" in out["vendor"][1]


def test_role_trust_public():
    public = role("public", trust("*"))
    aws_star = role("aws-star", trust({"AWS": ["*"]}, Sid="Open"))
    ext_only = role("ext-only", trust({"AWS": "*"}, {"StringEquals": {"sts:ExternalId": "x"}}))
    org = role("org", trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}))
    svc = role("svc", trust({"Service": "lambda.amazonaws.com"}))
    unread = role("unread", unavailable=["assume_role_policy"])
    out = run("iam_role_trust_public", inventory(public, aws_star, ext_only, org, svc, unread))
    assert {k: s for k, (s, _m) in out.items()} == {
        "public": F,
        "aws-star": F,
        "ext-only": F,
        "org": P,
        "svc": P,
        "unread": U,
    }
    assert 'statement "Open"' in out["aws-star"][1]


# -- policy content ---------------------------------------------------------------------------
ADMIN = doc(allow("*"))
ADMIN_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"


def test_policy_no_full_admin_managed():
    out = run(
        "iam_policy_no_full_admin",
        inventory(
            policy("AdministratorAccess", ADMIN, aws_managed=True),
            policy("custom-admin", doc(allow("*:*", Sid="All"))),
            policy(
                "nearly",
                doc({"Effect": "Allow", "NotAction": "account:CloseAccount", "Resource": "*"}),
            ),
            policy("no-iam", doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})),
            policy(
                "mfa-admin",
                doc(allow("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})),
            ),
            policy("scoped", doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))),
            policy("unused-admin", ADMIN, attachments=0),
            policy("garbled", "not json {"),
        ),
    )
    got = {k: s for k, (s, _m) in out.items()}
    assert got == {
        "AdministratorAccess": F,
        "custom-admin": F,
        "nearly": F,
        "no-iam": P,
        "mfa-admin": F,
        "scoped": P,
        "garbled": U,
    }  # unused-admin: not attached, not judged
    assert out["AdministratorAccess"][1].startswith("AWS managed policy AdministratorAccess")
    assert "statement #1 (All)" in out["custom-admin"][1]
    assert "only with MFA" in out["mfa-admin"][1]


def test_policy_no_full_admin_inline_and_unreadable():
    unread_pol = policy("unread", None)
    unread_pol.unavailable.append("policy")
    out = run(
        "iam_policy_no_full_admin",
        inventory(
            role("admin-inline", inline={"everything": ADMIN, "fine": doc(allow("sqs:*"))}),
            role("fine", inline={"queue": doc(allow("sqs:SendMessage"))}),
            role("bare"),
            role("partial", unavailable=["inline_policies"]),
            user("u", inline={"all": ADMIN}),
            unread_pol,
        ),
    )
    got = {k: s for k, (s, _m) in out.items()}
    assert got == {"admin-inline": F, "fine": P, "partial": U, "u": F, "unread": U}  # bare: N/A
    assert "Inline policy everything of role admin-inline" in out["admin-inline"][1]


def test_policy_no_s3_full_access():
    out = run(
        "iam_policy_no_s3_full_access_all_resources",
        inventory(
            policy("data-pipeline-s3", doc(allow("s3:*", Sid="PipelineBuckets"))),
            policy("all-buckets", doc(allow(["s3:*"], ["arn:aws:s3:::*"]))),
            policy("not-iam", doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})),
            policy("one-bucket", doc(allow("s3:*", ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]))),
            policy("read-all", doc(allow(["s3:Get*", "s3:List*"]))),
            policy(
                "vpce",
                doc(allow("s3:*", Condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b"}})),
            ),
            policy("AdministratorAccess", ADMIN, aws_managed=True),
        ),
    )
    got = {k: s for k, (s, _m) in out.items()}
    assert got == {
        "data-pipeline-s3": F,
        "all-buckets": F,
        "not-iam": F,
        "one-bucket": P,
        "read-all": P,
        "vpce": F,
    }  # AdministratorAccess: left to iam_policy_no_full_admin
    assert (
        "Policy data-pipeline-s3: statement #1 (PipelineBuckets) allows s3:* on *"
        in out["data-pipeline-s3"][1]
    )
    assert "aws:SourceVpce" in out["vpce"][1]


def test_policy_no_assume_any_role():
    out = run(
        "iam_policy_no_assume_any_role",
        inventory(
            role("lambda-processor", inline={"assume-anything": doc(allow("sts:AssumeRole"))}),
            role("wild", inline={"p": doc(allow("sts:*", "arn:aws:iam::*:role/*"))}),
            role(
                "one",
                inline={"p": doc(allow("sts:AssumeRole", "arn:aws:iam::123456789012:role/x"))},
            ),
            role(
                "local",
                inline={"p": doc(allow("sts:AssumeRole", "arn:aws:iam::123456789012:role/*"))},
            ),
            role("admin", inline={"p": ADMIN}),
        ),
    )
    got = {k: s for k, (s, _m) in out.items()}
    assert got == {"lambda-processor": F, "wild": F, "one": P, "local": P}  # admin: 1.16's
    assert "Inline policy assume-anything of role lambda-processor" in out["lambda-processor"][1]


# -- admin-equivalent roles -------------------------------------------------------------------
def _admin_world(*extra):  # type: ignore[no-untyped-def]
    return inventory(policy("AdministratorAccess", ADMIN, aws_managed=True), *extra)


def test_lambda_function_admin_role():
    admin = role("admin-role", trust({"Service": "lambda.amazonaws.com"}), attached=[ADMIN_ARN])
    plain = role("lambda-processor", inline={"assume-anything": doc(allow("sts:AssumeRole"))})
    boundary = policy("s3-only", doc(allow("s3:*")), attachments=0)
    bounded = role("bounded", attached=[ADMIN_ARN])
    bounded.config["permissions_boundary"] = boundary.uid
    lost = role("lost", attached=["arn:aws:iam::123456789012:policy/missing"])
    mfa = role(
        "mfa",
        inline={"p": doc(allow("*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))},
    )
    inv = _admin_world(
        admin,
        plain,
        boundary,
        bounded,
        lost,
        mfa,
        lambda_function("admin-fn", admin.uid),
        lambda_function("order-processor", plain.uid),
        lambda_function("bounded-fn", bounded.uid),
        lambda_function("lost-fn", lost.uid),
        lambda_function("mfa-fn", mfa.uid),
        lambda_function("orphan-fn", iam_arn("role/gone")),
    )
    out = run("lambda_function_admin_role", inv)
    got = {k: s for k, (s, _m) in out.items()}
    assert got == {
        "admin-fn": F,
        "order-processor": P,
        "bounded-fn": P,
        "lost-fn": U,
        "mfa-fn": P,
        "orphan-fn": U,
    }
    assert "admin-role" in out["admin-fn"][1] and "allows * on *" in out["admin-fn"][1]
    assert "never carry MFA" in out["mfa-fn"][1]


def test_role_admin_trusted_by_service():
    admin = role("admin-role", trust({"Service": "lambda.amazonaws.com"}), attached=[ADMIN_ARN])
    guarded = role(
        "guarded-admin",
        trust(
            {"Service": "config.amazonaws.com"},
            {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        ),
        attached=[ADMIN_ARN],
    )
    human = role(
        "human-admin", trust({"AWS": "arn:aws:iam::123456789012:root"}), attached=[ADMIN_ARN]
    )
    worker = role(
        "worker", trust({"Service": "ec2.amazonaws.com"}), inline={"q": doc(allow("sqs:*"))}
    )
    unread = role(
        "unread",
        trust({"Service": "lambda.amazonaws.com"}),
        unavailable=["inline_policies", "managed_policy_arns"],
    )
    out = run(
        "iam_role_admin_trusted_by_service", _admin_world(admin, guarded, human, worker, unread)
    )
    got = {k: s for k, (s, _m) in out.items()}
    assert got == {"admin-role": F, "worker": P, "unread": U}  # the others: no bare service trust
    assert "lambda.amazonaws.com" in out["admin-role"][1]


def test_support_role_unknown_without_iam_data():
    bucket = res("aws_s3_bucket", "b")
    assert statuses("iam_support_role_exists", inventory(bucket)) == {"AWSSupportAccess": U}
