"""IAM checks: the root user, the password policy, users' credentials, policy content, role
trust policies, and IAM Access Analyzer coverage (CIS AWS Foundations 3.0 section 1).

Time-based checks take "now" from :func:`now` (monkeypatch it in tests) and compare
timezone-aware datetimes parsed from the inventory's ISO-8601 strings.

Account-level checks (root user, password policy) report on the record the collector
makes for them; when the inventory holds no such record (the IAM collection failed), they
report UNKNOWN on a stand-in with the same uid, so that the finding keeps its identity
across scans.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable, Iterator
from typing import Any

from stratusec.checks import Inventory, Outcome, check, fail, ok, resource_check, unknown
from stratusec.checks.aws._policy import PolicyUnreadable, public_grants
from stratusec.iam import (
    Decision,
    Policy,
    Principal,
    admin_decision,
    allowed_actions,
    parse_policy,
    trust_allows,
)
from stratusec.iam.principals import principal_policies
from stratusec.inventory.models import Resource

ROOT_REPORT_USER = "<root_account>"
ROOT_RECENT_DAYS = 90
UNUSED_CREDENTIAL_DAYS = 45
KEY_ROTATION_DAYS = 90
MIN_PASSWORD_LENGTH = 14
PASSWORD_REUSE = 24
MAX_PASSWORD_AGE = 90
SUPPORT_POLICY = "AWSSupportAccess"


def now() -> dt.datetime:
    """The time the checks judge against (timezone-aware, UTC). Monkeypatch in tests."""
    return dt.datetime.now(dt.UTC)


# -- small helpers --------------------------------------------------------------------------
def parse_time(value: Any) -> dt.datetime | None:
    """An ISO-8601 timestamp as an aware datetime (naive values are UTC); None if absent
    or unparsable."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            # Fractions longer than microseconds (e.g. nanoseconds): cut to 6 digits.
            head, dot, rest = text.partition(".")
            if not dot:
                return None
            digits = "".join(ch for ch in rest if ch.isdigit())
            tz = rest[len(digits) :]
            try:
                parsed = dt.datetime.fromisoformat(f"{head}.{digits[:6]}{tz}")
            except ValueError:
                return None
    else:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def days_since(value: Any, ref: dt.datetime | None = None) -> int | None:
    """Whole days from ``value`` to ``ref`` (default :func:`now`); None if no timestamp."""
    when = parse_time(value)
    if when is None:
        return None
    return ((ref or now()) - when).days


def _missing(r: Resource, *keys: str) -> list[str]:
    """The ``keys`` the collector could not read (unavailable) or did not record at all."""
    return [k for k in keys if k in r.unavailable or k not in r.config]


def _partition(inv: Inventory) -> str:
    for t in ("aws_iam_account_summary", "aws_iam_account_password_policy", "aws_iam_user"):
        for r in inv.of_type(t):
            if r.uid.startswith("arn:"):
                return r.uid.split(":")[1]
    return "aws"


def _account(inv: Inventory) -> str | None:
    if inv.account_id:
        return inv.account_id
    for r in inv.of_type("aws_iam_account_summary"):
        return r.account
    return None


def _stand_in(
    inv: Inventory, *, uid_resource: str, type_: str, name: str, service: str = "iam"
) -> Resource | None:
    """A placeholder for an account-level record the inventory lacks (uid as the
    collector would have made it); its config is empty, so the checks say UNKNOWN."""
    acct = _account(inv)
    if acct is None:
        return None
    return Resource(
        uid=f"arn:{_partition(inv)}:iam::{acct}:{uid_resource}",
        account=acct,
        region="global",
        service=service,
        type=type_,
        name=name,
        unavailable=["*"],
    )


def _root_row(inv: Inventory) -> Resource | None:
    for r in inv.of_type("aws_iam_credential_report_entry"):
        if r.config.get("root_account") is True or r.name == ROOT_REPORT_USER:
            return r
    return None


def _root_subject(inv: Inventory) -> Resource | None:
    """What the root-user checks report on: the root row of the credential report, or a
    stand-in with its uid when the report has no such row (or could not be read)."""
    return _root_row(inv) or _stand_in(
        inv,
        uid_resource=f"credential-report/{ROOT_REPORT_USER}",
        type_="aws_iam_credential_report_entry",
        name=ROOT_REPORT_USER,
    )


def _summary(inv: Inventory) -> Resource | None:
    found = inv.of_type("aws_iam_account_summary")
    return found[0] if found else None


def _summary_flag(inv: Inventory, key: str) -> bool | None:
    s = _summary(inv)
    if s is None or key in s.unavailable:
        return None
    value = s.config.get(key)
    return value if isinstance(value, bool) else None


def _row_value(row: Resource | None, key: str) -> Any:
    """A credential-report column, or None when the row or the column is missing."""
    if row is None or key in row.unavailable:
        return None
    return row.config.get(key)


def _report_row(user: Resource, inv: Inventory) -> Resource | None:
    for r in inv.referrers(user.uid, "OWNED_BY"):
        if r.type == "aws_iam_credential_report_entry":
            return r
    return None


ROOT_TF_NOTE = (
    "# The root user's credentials cannot be managed with Terraform (or any API but the\n"
    "# root user's own session): use the console as the root user."
)


def _root_state(inv: Inventory, summary_key: str, row_keys: tuple[str, ...]) -> tuple[Any, str]:
    """(value, source) for a root fact: the live account summary first, then the
    credential report's root row (which can be up to 4 hours old). value None = unknown."""
    flag = _summary_flag(inv, summary_key)
    if flag is not None:
        return flag, "account summary"
    row = _root_row(inv)
    values = [_row_value(row, k) for k in row_keys]
    if row is not None and all(isinstance(v, bool) for v in values):
        return any(values), "credential report"
    return None, ""


# -- root user ------------------------------------------------------------------------------
@check(
    title="The root user has no access keys",
    description="The account's root user has no access keys (CIS 1.4). Judged from the "
    "account summary (AccountAccessKeysPresent), else the credential report's root row.",
    risk="Root access keys carry unrestricted, unscopable power over the whole account and "
    "cannot be limited by IAM policies or permission boundaries (only by SCPs); a leaked "
    "root key is a full account compromise.",
    severity="critical",
    service="iam",
    resource_types=["aws_iam_credential_report_entry"],
    categories=["iam", "root", "credentials"],
    remediation={
        "summary": "Sign in as the root user and delete its access keys; use IAM roles for "
        "programmatic access instead.",
        "cli": "# With the ROOT user's credentials (the only identity that can do this):\n"
        "aws iam list-access-keys\n"
        "aws iam delete-access-key --access-key-id ROOT_ACCESS_KEY_ID",
        "terraform": ROOT_TF_NOTE,
        "console": "Sign in as root > account menu > Security credentials > Access keys > "
        "Actions > Delete for each key.",
        "docs": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_root-user_manage_delete-key.html",
    },
)
def iam_root_no_access_keys(inv: Inventory) -> Iterator[Outcome]:
    subject = _root_subject(inv)
    if subject is None:
        return
    present, source = _root_state(
        inv, "account_access_keys_present", ("access_key_1_active", "access_key_2_active")
    )
    if present is None:
        yield unknown(
            subject,
            "Whether the root user has access keys is unknown: neither the account summary "
            "nor a credential report root row could be read.",
        )
    elif present:
        yield fail(subject, f"The root user has access keys ({source}).", source=source)
    else:
        yield ok(subject, f"The root user has no access keys ({source}).", source=source)


@check(
    title="MFA is enabled for the root user",
    description="The root user has an MFA device (CIS 1.5). Judged from the account summary "
    "(AccountMFAEnabled), else the credential report's root row (mfa_active).",
    risk="Without MFA the root user, which can do anything in the account including close "
    "it, is protected by a password alone.",
    severity="critical",
    service="iam",
    resource_types=["aws_iam_credential_report_entry"],
    categories=["iam", "root", "mfa"],
    remediation={
        "summary": "Sign in as the root user and assign an MFA device (a hardware key or "
        "passkey preferably).",
        "cli": "# Root MFA can only be assigned from the root user's console session.",
        "terraform": ROOT_TF_NOTE,
        "console": "Sign in as root > account menu > Security credentials > Multi-factor "
        "authentication (MFA) > Assign MFA device.",
        "docs": "https://docs.aws.amazon.com/IAM/latest/UserGuide/enable-mfa-for-root.html",
    },
)
def iam_root_mfa_enabled(inv: Inventory) -> Iterator[Outcome]:
    subject = _root_subject(inv)
    if subject is None:
        return
    enabled, source = _root_state(inv, "account_mfa_enabled", ("mfa_active",))
    if enabled is None:
        yield unknown(
            subject,
            "Whether the root user has MFA is unknown: neither the account summary nor a "
            "credential report root row could be read.",
        )
    elif enabled:
        yield ok(subject, f"The root user has MFA enabled ({source}).", source=source)
    else:
        yield fail(subject, f"The root user has no MFA device ({source}).", source=source)


@check(
    title="Hardware MFA is enabled for the root user",
    description="The root user's MFA is a hardware device (or FIDO security key), not a "
    "virtual (app-based) one (CIS 1.6): root MFA is on and no virtual MFA device is "
    "assigned to the root user.",
    risk="A virtual MFA seed lives on a phone or computer that can be lost, backed up to a "
    "cloud account or compromised; the root user warrants a dedicated hardware device.",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_credential_report_entry"],
    categories=["iam", "root", "mfa"],
    remediation={
        "summary": "Sign in as the root user, assign a hardware TOTP token or FIDO2 security "
        "key, then remove the virtual MFA device.",
        "cli": "# Root MFA can only be managed from the root user's console session.",
        "terraform": ROOT_TF_NOTE,
        "console": "Sign in as root > Security credentials > Multi-factor authentication > "
        "Assign MFA device > Security key / Hardware TOTP token; then remove the virtual "
        "device.",
        "docs": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable_physical.html",
    },
)
def iam_root_hardware_mfa_enabled(inv: Inventory) -> Iterator[Outcome]:
    subject = _root_subject(inv)
    if subject is None:
        return
    enabled, source = _root_state(inv, "account_mfa_enabled", ("mfa_active",))
    if enabled is None:
        yield unknown(subject, "Whether the root user has MFA is unknown.")
        return
    if not enabled:
        yield fail(subject, f"The root user has no MFA device at all ({source}).", source=source)
        return
    devices = inv.of_type("aws_iam_virtual_mfa_device")
    virtual = [d.uid for d in devices if d.config.get("root_account") is True]
    if virtual:
        yield fail(
            subject,
            f"The root user's MFA is a virtual device ({', '.join(virtual)}), not hardware.",
            virtual_mfa_devices=virtual,
        )
        return
    # The virtual MFA listing must be complete for "no virtual root device" to mean
    # anything: a user's virtual device missing from it shows it was not.
    listed = {d.uid for d in devices}
    for u in inv.of_type("aws_iam_user"):
        for m in u.config.get("mfa_devices") or []:
            if m.get("type") == "virtual" and m.get("serial_number") not in listed:
                yield unknown(
                    subject,
                    "The root user has MFA, but the list of virtual MFA devices is incomplete "
                    "(it lacks user devices), so whether root's is virtual is unknown.",
                )
                return
    yield ok(subject, "The root user has MFA and no virtual MFA device: hardware MFA.")


@check(
    title="The root user has not been used recently",
    description=f"Neither the root user's password nor its access keys were used in the "
    f"last {ROOT_RECENT_DAYS} days, per the credential report's root row (CIS 1.7).",
    risk="Daily use of the root user exposes the one identity that no IAM policy can limit; "
    "only a handful of tasks need root, and any other use is either a bad habit or an "
    "intrusion.",
    # medium: a few legitimate root-only tasks (closing the account, changing the support
    # plan, restoring IAM access) can explain an occasional use.
    severity="medium",
    service="iam",
    resource_types=["aws_iam_credential_report_entry"],
    categories=["iam", "root", "logging"],
    remediation={
        "summary": "Use IAM roles (IAM Identity Center) for administration; keep root for the "
        "tasks only it can do, and investigate any unexpected root sign-in in CloudTrail.",
        "cli": "aws iam generate-credential-report && aws iam get-credential-report "
        "--query Content --output text | base64 -d | grep '<root_account>'\n"
        "aws cloudtrail lookup-events --lookup-attributes "
        "AttributeKey=Username,AttributeValue=root --max-results 50",
        "terraform": "# Grant administrators a role instead of root, e.g.:\n"
        'resource "aws_iam_role" "admin" {\n'
        '  name               = "ADMIN_ROLE_NAME"\n'
        "  assume_role_policy = data.aws_iam_policy_document.admin_trust.json\n}",
        "console": "IAM > Credential report > Download; check the <root_account> row's "
        "password_last_used and access_key_*_last_used_date.",
        "docs": "https://docs.aws.amazon.com/IAM/latest/UserGuide/root-user-tasks.html",
    },
)
def iam_root_not_used_recently(inv: Inventory) -> Iterator[Outcome]:
    subject = _root_subject(inv)
    if subject is None:
        return
    row = _root_row(inv)
    cols = ("password_last_used", "access_key_1_last_used_date", "access_key_2_last_used_date")
    if row is None or _missing(row, *cols):
        yield unknown(
            subject,
            "The credential report has no root user row, so when root was last used is unknown.",
        )
        return
    ref = now()
    uses = {}
    for col in cols:
        age = days_since(row.config.get(col), ref)
        if age is not None and age <= ROOT_RECENT_DAYS:
            uses[col] = age
    if uses:
        detail = ", ".join(f"{c} {d} days ago" for c, d in uses.items())
        yield fail(subject, f"The root user was used recently: {detail}.", recent_uses=uses)
    else:
        yield ok(subject, f"The root user was not used in the last {ROOT_RECENT_DAYS} days.")


# -- password policy --------------------------------------------------------------------------
_PP_CLI = (
    "# update-account-password-policy resets every setting you omit: pass them all.\n"
    "aws iam update-account-password-policy --minimum-password-length 14 "
    "--password-reuse-prevention 24 --require-symbols --require-numbers "
    "--require-uppercase-characters --require-lowercase-characters "
    "--allow-users-to-change-password --max-password-age 90"
)
_PP_TF = (
    'resource "aws_iam_account_password_policy" "this" {\n'
    "  minimum_password_length        = 14\n"
    "  password_reuse_prevention      = 24\n"
    "  require_symbols                = true\n"
    "  require_numbers                = true\n"
    "  require_uppercase_characters   = true\n"
    "  require_lowercase_characters   = true\n"
    "  allow_users_to_change_password = true\n"
    "  max_password_age               = 90\n"
    "}"
)
_PP_CONSOLE = "IAM > Account settings > Password policy > Edit > Custom."


def _password_policy(inv: Inventory) -> Resource | None:
    found = inv.of_type("aws_iam_account_password_policy")
    if found:
        return found[0]
    return _stand_in(
        inv,
        uid_resource="account-password-policy",
        type_="aws_iam_account_password_policy",
        name="account-password-policy",
    )


def _password_policy_outcome(inv: Inventory, key: str, judge: Any) -> Iterator[Outcome]:
    """Common frame: UNKNOWN when unread, FAIL when the account has no policy at all (AWS
    then applies its default: 8 characters, no reuse prevention, no expiry), else
    ``judge(policy, value)``."""
    pp = _password_policy(inv)
    if pp is None:
        return
    if _missing(pp, "exists", key) or pp.config.get("exists") is None:
        yield unknown(pp, "The account password policy could not be read.")
    elif pp.config["exists"] is False:
        yield fail(
            pp,
            "The account has no password policy (AWS's default applies: 8 characters, no "
            "complexity, reuse or expiry requirements).",
            exists=False,
        )
    else:
        yield judge(pp, pp.config.get(key))


def _pp_remediation(summary: str) -> dict[str, str]:
    return {
        "summary": summary,
        "cli": _PP_CLI,
        "terraform": _PP_TF,
        "console": _PP_CONSOLE,
        "docs": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_passwords_account-policy.html",
    }


@check(
    title="Password policy requires at least 14 characters",
    description="The account password policy sets a minimum length of 14 or more (CIS 1.8).",
    risk="Short passwords fall to guessing and offline cracking; length is the property "
    "that most raises the cost of brute force.",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_account_password_policy"],
    categories=["iam", "password-policy"],
    remediation=_pp_remediation("Set the minimum password length to 14 or more."),
)
def iam_password_policy_min_length_14(inv: Inventory) -> Iterator[Outcome]:
    def judge(pp: Resource, value: Any) -> Outcome:
        if isinstance(value, int) and value >= MIN_PASSWORD_LENGTH:
            return ok(pp, f"The password policy requires {value} characters.", minimum=value)
        return fail(
            pp,
            f"The password policy's minimum length is {value if value is not None else 'unset'}"
            f" (needs {MIN_PASSWORD_LENGTH} or more).",
            minimum=value,
        )

    yield from _password_policy_outcome(inv, "minimum_password_length", judge)


@check(
    title="Password policy prevents reuse of the last 24 passwords",
    description="The account password policy remembers 24 previous passwords and forbids "
    "their reuse (CIS 1.9).",
    risk="Without reuse prevention a user forced to change a compromised password can set "
    "the same one again, so a leaked password stays valid.",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_account_password_policy"],
    categories=["iam", "password-policy"],
    remediation=_pp_remediation("Set password reuse prevention to 24."),
)
def iam_password_policy_reuse_24(inv: Inventory) -> Iterator[Outcome]:
    def judge(pp: Resource, value: Any) -> Outcome:
        if isinstance(value, int) and value >= PASSWORD_REUSE:
            return ok(pp, f"The password policy prevents reuse of {value} passwords.", reuse=value)
        shown = "not set" if not value else f"only {value}"
        return fail(
            pp,
            f"The password policy's reuse prevention is {shown} (needs {PASSWORD_REUSE}).",
            reuse=value,
        )

    yield from _password_policy_outcome(inv, "password_reuse_prevention", judge)


def _require_check(key: str, what: str) -> Any:
    def run(inv: Inventory) -> Iterator[Outcome]:
        def judge(pp: Resource, value: Any) -> Outcome:
            if value is True:
                return ok(pp, f"The password policy requires {what}.", **{key: True})
            return fail(pp, f"The password policy does not require {what}.", **{key: value})

        yield from _password_policy_outcome(inv, key, judge)

    return run


_COMPLEXITY_RISK = (
    "Without character-class requirements users pick passwords from a smaller space, "
    "easier to guess or crack. (NIST SP 800-63B favours length and breached-password "
    "screening over composition rules, hence the low severity; many standards, e.g. PCI "
    "DSS, still require them.)"
)
for _key, _what, _id in (
    ("require_symbols", "at least one symbol", "iam_password_policy_require_symbols"),
    ("require_numbers", "at least one number", "iam_password_policy_require_numbers"),
    (
        "require_uppercase_characters",
        "at least one uppercase letter",
        "iam_password_policy_require_uppercase",
    ),
    (
        "require_lowercase_characters",
        "at least one lowercase letter",
        "iam_password_policy_require_lowercase",
    ),
):
    check(
        id=_id,
        title=f"Password policy requires {_what}",
        description=f"The account password policy requires {_what} in every password.",
        risk=_COMPLEXITY_RISK,
        severity="low",
        service="iam",
        resource_types=["aws_iam_account_password_policy"],
        categories=["iam", "password-policy"],
        remediation=_pp_remediation(f"Require {_what} in the password policy."),
    )(_require_check(_key, _what))


@check(
    title="Password policy expires passwords within 90 days",
    description=f"The account password policy makes passwords expire after at most "
    f"{MAX_PASSWORD_AGE} days.",
    risk="A password that never expires stays usable indefinitely once leaked. (Low "
    "severity: NIST SP 800-63B advises against periodic rotation without evidence of "
    "compromise; keep it where a standard you follow requires it, and prefer MFA and SSO.)",
    severity="low",
    service="iam",
    resource_types=["aws_iam_account_password_policy"],
    categories=["iam", "password-policy"],
    remediation=_pp_remediation(f"Set a maximum password age of {MAX_PASSWORD_AGE} days or less."),
)
def iam_password_policy_expires_90_days(inv: Inventory) -> Iterator[Outcome]:
    def judge(pp: Resource, value: Any) -> Outcome:
        expire = pp.config.get("expire_passwords")
        if isinstance(value, int) and 0 < value <= MAX_PASSWORD_AGE:
            return ok(pp, f"Passwords expire after {value} days.", max_password_age=value)
        if not value or expire is False:
            return fail(pp, "Passwords never expire.", max_password_age=value)
        return fail(
            pp,
            f"Passwords expire only after {value} days (limit {MAX_PASSWORD_AGE}).",
            max_password_age=value,
        )

    yield from _password_policy_outcome(inv, "max_password_age", judge)


# -- users and their credentials ------------------------------------------------------------
def _console_password(user: Resource, inv: Inventory) -> bool | None:
    """Whether the user has a console password (the user record, else the credential
    report); None when unknown."""
    if not _missing(user, "password_enabled") and isinstance(user.config["password_enabled"], bool):
        return bool(user.config["password_enabled"])
    value = _row_value(_report_row(user, inv), "password_enabled")
    return value if isinstance(value, bool) else None


def _user_keys(user: Resource, inv: Inventory) -> list[Resource] | None:
    """The user's access key records (None when the key listing failed). A key the user
    record lists but the inventory lacks gets a stand-in whose last use is unknown."""
    if _missing(user, "access_keys") or not isinstance(user.config["access_keys"], list):
        return None
    out = []
    for k in user.config["access_keys"]:
        uid = f"{user.uid}/access-key/{k.get('id')}"
        rec = inv.get(uid)
        if rec is None:
            rec = Resource(
                uid=uid,
                account=user.account,
                region=user.region,
                service="iam",
                type="aws_iam_access_key",
                name=str(k.get("id")),
                config={
                    "id": k.get("id"),
                    "status": k.get("status"),
                    "create_date": k.get("create_date"),
                },
                unavailable=["last_used_date"],
            )
        out.append(rec)
    return out


def _active(keys: Iterable[Resource]) -> list[Resource]:
    return [k for k in keys if k.config.get("status") == "Active"]


USER_MFA_CLI = (
    "aws iam create-virtual-mfa-device --virtual-mfa-device-name USER_NAME "
    "--outfile USER_NAME-qr.png --bootstrap-method QRCodePNG\n"
    "aws iam enable-mfa-device --user-name USER_NAME --serial-number "
    "arn:aws:iam::ACCOUNT_ID:mfa/USER_NAME --authentication-code1 CODE1 "
    "--authentication-code2 CODE2"
)


@resource_check(
    title="IAM users with a console password have MFA",
    description="Every IAM user that can sign in to the console has an MFA device (CIS 1.10). "
    "Users without a console password are not judged.",
    risk="A console password alone can be phished, guessed or reused from another breach; "
    "MFA stops a stolen password from being enough to sign in.",
    severity="high",
    service="iam",
    resource_types=["aws_iam_user"],
    categories=["iam", "mfa", "credentials"],
    remediation={
        "summary": "Have the user register an MFA device (passkey/security key preferred), and "
        "enforce it with a policy that denies everything but MFA self-service without "
        "aws:MultiFactorAuthPresent; better, move people to IAM Identity Center.",
        "cli": USER_MFA_CLI,
        "terraform": 'resource "aws_iam_virtual_mfa_device" "USER_NAME" {\n'
        '  virtual_mfa_device_name = "USER_NAME"\n}\n'
        "# The device is then enabled by the user with two codes (console or CLI).\n"
        'data "aws_iam_policy_document" "require_mfa" {\n'
        "  statement {\n"
        '    effect        = "Deny"\n'
        '    not_actions   = ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", '
        '"iam:ListMFADevices", "iam:ResyncMFADevice", "sts:GetSessionToken"]\n'
        '    resources     = ["*"]\n'
        "    condition {\n"
        '      test     = "BoolIfExists"\n'
        '      variable = "aws:MultiFactorAuthPresent"\n'
        '      values   = ["false"]\n'
        "    }\n  }\n}",
        "console": "IAM > Users > USER_NAME > Security credentials > Multi-factor "
        "authentication (MFA) > Assign MFA device.",
        "docs": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_mfa_enable.html",
    },
)
def iam_user_console_mfa(user: Resource, inv: Inventory) -> Outcome | None:
    console = _console_password(user, inv)
    if console is None:
        return unknown(user, f"Whether user {user.name} has a console password is unknown.")
    if not console:
        return None
    devices = None if _missing(user, "mfa_devices") else user.config["mfa_devices"]
    if isinstance(devices, list):
        has_mfa = bool(devices)
        serials = [d.get("serial_number") for d in devices]
    else:
        row_mfa = _row_value(_report_row(user, inv), "mfa_active")
        if not isinstance(row_mfa, bool):
            return unknown(
                user, f"User {user.name} has a console password; its MFA devices are unknown."
            )
        has_mfa, serials = row_mfa, []
    if has_mfa:
        return ok(user, f"User {user.name} signs in to the console with MFA.", mfa=serials)
    return fail(
        user,
        f"User {user.name} has a console password and no MFA device.",
        console_password=True,
        mfa_devices=[],
    )


@resource_check(
    title="Console users have no access key they never used",
    description="An IAM user with a console password has no active access key that was "
    "never used: keys made 'just in case' at user setup (CIS 1.11). Users without a "
    "console password are not judged.",
    risk="Access keys created by default at setup are long-lived credentials nobody needs; "
    "they end up in scripts and laptops and widen the attack surface for no benefit.",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_user"],
    categories=["iam", "credentials"],
    remediation={
        "summary": "Delete access keys that were never used; create keys only when a "
        "workload needs them (and prefer roles).",
        "cli": "aws iam list-access-keys --user-name USER_NAME\n"
        "aws iam delete-access-key --user-name USER_NAME --access-key-id ACCESS_KEY_ID",
        "terraform": "# Remove the aws_iam_access_key resource for USER_NAME, then apply.",
        "console": "IAM > Users > USER_NAME > Security credentials > Access keys > Actions > "
        "Deactivate, then Delete.",
    },
)
def iam_user_no_initial_access_key(user: Resource, inv: Inventory) -> Outcome | None:
    console = _console_password(user, inv)
    if console is None:
        return unknown(user, f"Whether user {user.name} has a console password is unknown.")
    if not console:
        return None
    keys = _user_keys(user, inv)
    if keys is None:
        return unknown(user, f"The access keys of user {user.name} could not be listed.")
    never, unread = [], []
    for k in _active(keys):
        if _missing(k, "last_used_date"):
            unread.append(k.name)
        elif k.config.get("last_used_date") is None:
            never.append(k.name)
    if never:
        return fail(
            user,
            f"User {user.name} has a console password and active access key(s) never used: "
            f"{', '.join(never)}.",
            unused_keys=never,
        )
    if unread:
        return unknown(
            user, f"The last use of access key(s) {', '.join(unread)} of {user.name} is unknown."
        )
    return ok(user, f"User {user.name} has no unused access key.")


@resource_check(
    title=f"Credentials unused for {UNUSED_CREDENTIAL_DAYS} days are disabled",
    description=f"An IAM user has no console password and no active access key left unused "
    f"for {UNUSED_CREDENTIAL_DAYS} days or more; a credential never used counts from its "
    f"creation (CIS 1.12).",
    risk="Dormant credentials belong to people who left or workloads that moved; nobody "
    "notices when they are stolen and used.",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_user"],
    categories=["iam", "credentials"],
    remediation={
        "summary": "Deactivate (then delete) unused access keys and remove unused console "
        "passwords.",
        "cli": "aws iam update-access-key --user-name USER_NAME --access-key-id ACCESS_KEY_ID "
        "--status Inactive\n"
        "aws iam delete-login-profile --user-name USER_NAME",
        "terraform": "# Remove the unused aws_iam_access_key / aws_iam_user_login_profile for "
        'USER_NAME (or set status = "Inactive" on the key), then apply.',
        "console": "IAM > Users > USER_NAME > Security credentials: Deactivate the access key; "
        "Console sign-in > Manage > Disable.",
    },
)
def iam_user_unused_credentials_45_days(user: Resource, inv: Inventory) -> Outcome:
    ref = now()
    stale: dict[str, str] = {}
    unknowns: list[str] = []
    console = _console_password(user, inv)
    if console is None:
        unknowns.append("console password")
    elif console:
        if _missing(user, "password_last_used"):
            last = _row_value(_report_row(user, inv), "password_last_used")
            known = _report_row(user, inv) is not None
        else:
            last, known = user.config["password_last_used"], True
        if not known:
            unknowns.append("console password last use")
        elif last is not None:
            age = days_since(last, ref)
            if age is not None and age >= UNUSED_CREDENTIAL_DAYS:
                stale["console password"] = f"last used {age} days ago"
        else:
            profile = user.config.get("login_profile") or {}
            created = profile.get("create_date") or user.config.get("create_date")
            age = days_since(created, ref)
            if age is None:
                unknowns.append("console password age")
            elif age >= UNUSED_CREDENTIAL_DAYS:
                stale["console password"] = f"never used, set {age} days ago"
    keys = _user_keys(user, inv)
    if keys is None:
        unknowns.append("access keys")
    else:
        for k in _active(keys):
            if _missing(k, "last_used_date"):
                unknowns.append(f"access key {k.name} last use")
                continue
            last = k.config["last_used_date"]
            if last is not None:
                age = days_since(last, ref)
                if age is not None and age >= UNUSED_CREDENTIAL_DAYS:
                    stale[f"access key {k.name}"] = f"last used {age} days ago"
            else:
                age = days_since(k.config.get("create_date"), ref)
                if age is None:
                    unknowns.append(f"access key {k.name} age")
                elif age >= UNUSED_CREDENTIAL_DAYS:
                    stale[f"access key {k.name}"] = f"never used, created {age} days ago"
    if stale:
        detail = "; ".join(f"{c}: {d}" for c, d in stale.items())
        return fail(
            user,
            f"User {user.name} has credentials unused for {UNUSED_CREDENTIAL_DAYS}+ days: "
            f"{detail}.",
            stale=stale,
        )
    if unknowns:
        return unknown(user, f"For user {user.name}, unknown: {', '.join(unknowns)}.")
    return ok(user, f"User {user.name} has no credential unused for {UNUSED_CREDENTIAL_DAYS} days.")


@resource_check(
    title="IAM users have at most one active access key",
    description="No IAM user has two active access keys at once (CIS 1.13).",
    risk="Two active keys usually mean a rotation that was never finished: the old key "
    "stays valid, doubling what can leak and hiding which key a workload really uses.",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_user"],
    categories=["iam", "credentials"],
    remediation={
        "summary": "Finish the rotation: move workloads to one key, deactivate and delete the "
        "other.",
        "cli": "aws iam update-access-key --user-name USER_NAME --access-key-id OLD_KEY_ID "
        "--status Inactive\n"
        "aws iam delete-access-key --user-name USER_NAME --access-key-id OLD_KEY_ID",
        "terraform": "# Keep a single aws_iam_access_key resource per user.",
        "console": "IAM > Users > USER_NAME > Security credentials > Access keys: deactivate "
        "and delete the key no longer in use.",
    },
)
def iam_user_single_active_access_key(user: Resource, inv: Inventory) -> Outcome:
    keys = _user_keys(user, inv)
    if keys is None:
        return unknown(user, f"The access keys of user {user.name} could not be listed.")
    active = [k.name for k in _active(keys)]
    if len(active) > 1:
        return fail(
            user,
            f"User {user.name} has {len(active)} active access keys: {', '.join(active)}.",
            active_keys=active,
        )
    return ok(user, f"User {user.name} has {len(active)} active access key(s).", active_keys=active)


@resource_check(
    title=f"Access keys are rotated every {KEY_ROTATION_DAYS} days",
    description=f"Every active access key is younger than {KEY_ROTATION_DAYS} days (CIS "
    f"1.14). Inactive keys are not judged.",
    risk="The older a key, the more copies of it exist (laptops, CI variables, old "
    "images) and the longer a leaked copy stays usable.",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_access_key"],
    categories=["iam", "credentials"],
    remediation={
        "summary": "Create a new key, move the workload to it, then deactivate and delete "
        "the old one; better, replace long-lived keys with roles.",
        "cli": "aws iam create-access-key --user-name USER_NAME\n"
        "# update the workload, then:\n"
        "aws iam update-access-key --user-name USER_NAME --access-key-id OLD_KEY_ID "
        "--status Inactive\n"
        "aws iam delete-access-key --user-name USER_NAME --access-key-id OLD_KEY_ID",
        "terraform": "# Replace the key: terraform apply -replace="
        "'aws_iam_access_key.KEY_RESOURCE_NAME'",
        "console": "IAM > Users > USER_NAME > Security credentials > Create access key; then "
        "deactivate and delete the old key.",
    },
)
def iam_access_key_rotated_90_days(key: Resource, inv: Inventory) -> Outcome | None:
    if _missing(key, "status"):
        return unknown(key, f"The status of access key {key.name} is unknown.")
    if key.config["status"] != "Active":
        return None
    user = key.config.get("user") or "?"
    age = days_since(key.config.get("create_date"))
    if age is None:
        return unknown(key, f"The creation date of access key {key.name} ({user}) is unknown.")
    if age > KEY_ROTATION_DAYS:
        return fail(
            key,
            f"Access key {key.name} of user {user} is {age} days old (limit {KEY_ROTATION_DAYS}).",
            age_days=age,
            user=user,
        )
    return ok(key, f"Access key {key.name} of user {user} is {age} days old.", age_days=age)


@resource_check(
    title="IAM users receive permissions only through groups",
    description="No IAM user has inline policies or directly attached managed policies (CIS 1.15).",
    risk="Per-user grants are invisible in group reviews, drift out of sync and are "
    "forgotten when people change roles.",
    severity="low",
    service="iam",
    resource_types=["aws_iam_user"],
    categories=["iam", "least-privilege"],
    remediation={
        "summary": "Move the permissions to a group (or a role) and remove them from the user.",
        "cli": "aws iam add-user-to-group --user-name USER_NAME --group-name GROUP_NAME\n"
        "aws iam detach-user-policy --user-name USER_NAME --policy-arn POLICY_ARN\n"
        "aws iam delete-user-policy --user-name USER_NAME --policy-name POLICY_NAME",
        "terraform": 'resource "aws_iam_group_policy_attachment" "this" {\n'
        '  group      = "GROUP_NAME"\n  policy_arn = "POLICY_ARN"\n}\n'
        'resource "aws_iam_user_group_membership" "this" {\n'
        '  user   = "USER_NAME"\n  groups = ["GROUP_NAME"]\n}\n'
        "# and remove aws_iam_user_policy / aws_iam_user_policy_attachment for the user.",
        "console": "IAM > Users > USER_NAME > Permissions: remove the directly attached and "
        "inline policies; add the user to a group that grants them.",
    },
)
def iam_user_no_direct_policies(user: Resource, inv: Inventory) -> Outcome:
    missing = _missing(user, "inline_policies", "managed_policy_arns")
    inline = user.config.get("inline_policies")
    attached = user.config.get("managed_policy_arns")
    if missing or inline is None or attached is None:
        return unknown(user, f"The policies of user {user.name} could not be read.")
    if inline or attached:
        parts = []
        if attached:
            parts.append(f"attached {', '.join(attached)}")
        if inline:
            parts.append(f"inline {', '.join(sorted(inline))}")
        return fail(
            user,
            f"User {user.name} has direct policies: {'; '.join(parts)}.",
            managed_policy_arns=list(attached),
            inline_policies=sorted(inline),
        )
    return ok(user, f"User {user.name} has no direct policies.")


# -- account-wide -----------------------------------------------------------------------------
@check(
    title="A support role exists (AWSSupportAccess is attached)",
    description="The AWS managed policy AWSSupportAccess is attached to at least one IAM "
    "user, group or role, so incidents can be handled with AWS Support (CIS 1.17; CIS's "
    "audit expects a role, which is the preferred holder).",
    risk="Without a designated support identity, people reach for the root user or broad "
    "admin rights to open and manage support cases during an incident.",
    severity="low",
    service="iam",
    resource_types=["aws_iam_policy"],
    categories=["iam", "incident-response"],
    remediation={
        "summary": "Create a role trusted by your administrators and attach AWSSupportAccess.",
        "cli": "aws iam create-role --role-name SUPPORT_ROLE_NAME --assume-role-policy-document "
        "file://TRUST_POLICY.json\n"
        "aws iam attach-role-policy --role-name SUPPORT_ROLE_NAME --policy-arn "
        "arn:aws:iam::aws:policy/AWSSupportAccess",
        "terraform": 'resource "aws_iam_role" "support" {\n'
        '  name               = "SUPPORT_ROLE_NAME"\n'
        "  assume_role_policy = data.aws_iam_policy_document.support_trust.json\n}\n"
        'resource "aws_iam_role_policy_attachment" "support" {\n'
        "  role       = aws_iam_role.support.name\n"
        '  policy_arn = "arn:aws:iam::aws:policy/AWSSupportAccess"\n}',
        "console": "IAM > Roles > Create role > trusted entity: your account > permissions: "
        "AWSSupportAccess.",
    },
)
def iam_support_role_exists(inv: Inventory) -> Iterator[Outcome]:
    suffix = f":iam::aws:policy/{SUPPORT_POLICY}"
    subject = next((p for p in inv.of_type("aws_iam_policy") if p.uid.endswith(suffix)), None)
    if subject is None:
        acct = _account(inv)
        if acct is None:
            return
        subject = Resource(
            uid=f"arn:{_partition(inv)}{suffix}",
            account=acct,
            region="global",
            service="iam",
            type="aws_iam_policy",
            name=SUPPORT_POLICY,
        )
    principals = [
        p for t in ("aws_iam_role", "aws_iam_group", "aws_iam_user") for p in inv.of_type(t)
    ]
    if not principals and _summary(inv) is None:
        yield unknown(subject, "No IAM data was collected: who holds AWSSupportAccess is unknown.")
        return
    holders: list[str] = []
    unread: list[str] = []
    for p in principals:
        arns = p.config.get("managed_policy_arns")
        if "managed_policy_arns" in p.unavailable or arns is None:
            unread.append(p.name)
        elif any(str(a).endswith(suffix) for a in arns):
            holders.append(f"{_kind(p)} {p.name}")
    if holders:
        yield ok(subject, f"{SUPPORT_POLICY} is attached to {', '.join(holders)}.", holders=holders)
    elif unread:
        yield unknown(
            subject,
            f"No principal read has {SUPPORT_POLICY}, but the policies of "
            f"{', '.join(unread)} could not be read.",
        )
    else:
        yield fail(subject, f"{SUPPORT_POLICY} is attached to no user, group or role.")


@resource_check(
    title="Expired IAM server certificates are removed",
    description="No SSL/TLS certificate stored in IAM has expired (CIS 1.19).",
    risk="An expired certificate deployed to a load balancer or CloudFront breaks TLS for "
    "clients or trains them to click through warnings; stale certificates also clutter "
    "what gets deployed by mistake.",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_server_certificate"],
    categories=["iam", "encryption"],
    remediation={
        "summary": "Delete expired server certificates (after making sure nothing uses them) "
        "and manage certificates in ACM, which renews them.",
        "cli": "aws iam delete-server-certificate --server-certificate-name CERT_NAME",
        "terraform": "# Remove the aws_iam_server_certificate resource CERT_NAME; issue the "
        "certificate with aws_acm_certificate instead.",
        "console": "IAM server certificates have no console page: use the CLI (list with "
        "'aws iam list-server-certificates').",
    },
)
def iam_server_certificate_not_expired(cert: Resource, inv: Inventory) -> Outcome:
    expires = parse_time(cert.config.get("expiration"))
    if expires is None or "expiration" in cert.unavailable:
        return unknown(cert, f"The expiration date of server certificate {cert.name} is unknown.")
    ref = now()
    if expires <= ref:
        days = (ref - expires).days
        return fail(
            cert,
            f"Server certificate {cert.name} expired {days} days ago ({expires.date()}).",
            expiration=expires.isoformat(),
        )
    return ok(
        cert,
        f"Server certificate {cert.name} is valid until {expires.date()}.",
        expiration=expires.isoformat(),
    )


@check(
    title="IAM Access Analyzer is enabled in every region",
    description="Each scanned region has an active IAM Access Analyzer (account or "
    "organization zone of trust) (CIS 1.20).",
    risk="Without an analyzer, resources shared outside the account or organization (S3 "
    "buckets, KMS keys, roles, queues, ...) in that region go unnoticed.",
    severity="medium",
    service="accessanalyzer",
    resource_types=["aws_accessanalyzer_region"],
    categories=["iam", "monitoring"],
    remediation={
        "summary": "Create an analyzer (type ACCOUNT, or ORGANIZATION from the delegated "
        "administrator) in every region.",
        "cli": "aws accessanalyzer create-analyzer --analyzer-name ANALYZER_NAME --type ACCOUNT "
        "--region REGION",
        "terraform": 'resource "aws_accessanalyzer_analyzer" "this" {\n'
        "  # one per region (a provider alias per region)\n"
        '  analyzer_name = "ANALYZER_NAME"\n'
        '  type          = "ACCOUNT"\n}',
        "console": "IAM > Access analyzer (in each region) > Create analyzer.",
        "docs": "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-getting-started.html",
    },
)
def accessanalyzer_enabled_all_regions(inv: Inventory) -> Iterator[Outcome]:
    records = {r.region: r for r in inv.of_type("aws_accessanalyzer_region")}
    acct = _account(inv)
    partition = _partition(inv)
    for region in inv.regions:
        rec = records.get(region)
        if rec is None:
            if acct is None:
                continue
            stand_in = Resource(
                uid=f"arn:{partition}:access-analyzer:{region}:{acct}:region-settings",
                account=acct,
                region=region,
                service="accessanalyzer",
                type="aws_accessanalyzer_region",
                name=region,
                unavailable=["enabled"],
            )
            yield unknown(stand_in, f"No IAM Access Analyzer data was collected in {region}.")
            continue
        enabled = None if "enabled" in rec.unavailable else rec.config.get("enabled")
        if enabled is None:
            yield unknown(rec, f"Whether IAM Access Analyzer is enabled in {region} is unknown.")
        elif enabled:
            active = rec.config.get("active_analyzers") or []
            yield ok(
                rec,
                f"IAM Access Analyzer is active in {region}: {', '.join(active)}.",
                analyzers=active,
            )
        else:
            yield fail(
                rec,
                f"No active IAM Access Analyzer in {region}.",
                analyzers=rec.config.get("analyzers") or [],
            )


# -- role trust policies ----------------------------------------------------------------------
# Service principals that are the runtime identity of compute you launch (instances,
# functions, tasks, pods). The role reaches them through iam:PassRole by someone in this
# account, so the cross-customer "confused deputy" does not apply in the same way, and
# several of these services send no aws:SourceArn/aws:SourceAccount to condition on.
COMPUTE_SERVICES = frozenset(
    {"ec2", "lambda", "edgelambda", "ecs-tasks", "eks", "eks-fargate-pods", "pods.eks"}
)
# Condition keys that tie a service's use of the role to this account's own resources.
SOURCE_KEYS = frozenset(
    {"aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"}
)
# Condition keys that make a cross-account trust safe(r): a shared secret with the third
# party, membership of our organization, or MFA.
CROSS_ACCOUNT_KEYS = frozenset(
    {
        "sts:externalid",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
    }
)
_ASSUME_ACTIONS = (
    "sts:AssumeRole",
    "sts:AssumeRoleWithWebIdentity",
    "sts:AssumeRoleWithSAML",
)
_POSITIVE_CONDITION_OPS = frozenset(
    {
        "stringequals",
        "stringequalsignorecase",
        "stringlike",
        "arnequals",
        "arnlike",
        "bool",
        "numericlessthan",
        "numericlessthanequals",
    }
)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(document: Any) -> list[dict[str, Any]] | None:
    """The statements of a parsed policy document; None when it is not one."""
    if not isinstance(document, dict):
        return None
    stmts = document.get("Statement")
    if isinstance(stmts, dict):
        stmts = [stmts]
    if not isinstance(stmts, list):
        return None
    return [s for s in stmts if isinstance(s, dict)]


def _label(st: dict[str, Any], index: int) -> str:
    sid = st.get("Sid")
    return f'statement "{sid}"' if sid else f"statement #{index + 1}"


def _value_is_concrete(key: str, value: Any) -> bool:
    text = str(value).strip()
    if key in ("aws:multifactorauthpresent",):
        return text.lower() == "true"
    if not text.strip("*?"):
        return False
    if text.startswith("arn:"):
        parts = text.split(":", 5)
        return len(parts) == 6 and bool(parts[4].strip("*?") or parts[5].strip("*?/"))
    return True


def condition_keys(condition: Any, wanted: frozenset[str]) -> list[str]:
    """The ``wanted`` condition keys (lower-case) that ``condition`` constrains with a
    positive operator and concrete values. ``...IfExists`` and ``ForAllValues:`` forms
    do not count: they hold when the key is missing from the request."""
    found: list[str] = []
    if not isinstance(condition, dict):
        return found
    for operator, block in condition.items():
        op = str(operator).lower()
        if op.endswith("ifexists") or op.startswith("forallvalues:"):
            continue
        op = op.removeprefix("foranyvalue:")
        if op not in _POSITIVE_CONDITION_OPS or not isinstance(block, dict):
            continue
        for key, values in block.items():
            k = str(key).lower()
            vals = _as_list(values)
            if k in wanted and vals and all(_value_is_concrete(k, v) for v in vals):
                found.append(k)
    return found


def _allows_assume(st: dict[str, Any]) -> bool:
    if str(st.get("Effect", "")).lower() != "allow":
        return False
    if "NotAction" in st:
        return True  # every action but some: assume in all likelihood
    acts = [str(a).lower() for a in _as_list(st.get("Action"))]
    return any(fnmatch.fnmatchcase(w.lower(), a) for a in acts for w in _ASSUME_ACTIONS)


def _service_name(principal: str) -> str:
    """``lambda.amazonaws.com`` -> ``lambda`` (also ``.amazonaws.com.cn``)."""
    return principal.split(".amazonaws.com", 1)[0]


def _trust(role: Resource) -> tuple[list[dict[str, Any]] | None, str | None]:
    """(statements, why unknown) of a role's trust policy."""
    if _missing(role, "assume_role_policy"):
        return None, f"The trust policy of role {role.name} could not be read."
    stmts = _statements(role.config["assume_role_policy"])
    if stmts is None:
        return None, f"The trust policy of role {role.name} could not be parsed."
    return stmts, None


def _is_service_linked(role: Resource) -> bool:
    return str(role.config.get("path") or "").startswith("/aws-service-role/")


def service_trusts(
    role: Resource, *, compute: bool | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    """(unconditioned, conditioned) service trusts of ``role``, each
    ``{"service", "statement", "index"}``; ``compute`` selects compute (True), other
    (False) or all (None) services. None when the trust policy is unreadable."""
    stmts, _why = _trust(role)
    if stmts is None:
        return None
    bare: list[dict[str, Any]] = []
    guarded: list[dict[str, Any]] = []
    for i, st in enumerate(stmts):
        principal = st.get("Principal")
        if not _allows_assume(st) or not isinstance(principal, dict):
            continue
        for svc in _as_list(principal.get("Service")):
            name = _service_name(str(svc))
            if compute is not None and (name in COMPUTE_SERVICES) != compute:
                continue
            entry = {"service": str(svc), "statement": _label(st, i), "index": i}
            keys = condition_keys(st.get("Condition"), SOURCE_KEYS)
            (guarded if keys else bare).append({**entry, "condition_keys": keys})
    return bare, guarded


def _service_trust_outcome(role: Resource, compute: bool) -> Outcome | None:
    if _is_service_linked(role):
        return None  # AWS owns a service-linked role's trust policy
    found = service_trusts(role, compute=compute)
    if found is None:
        return unknown(role, _trust(role)[1] or f"Trust policy of {role.name} unreadable.")
    bare, guarded = found
    if bare:
        detail = ", ".join(f"{b['service']} ({b['statement']})" for b in bare)
        return fail(
            role,
            f"Role {role.name} trusts {detail} with no aws:SourceArn / aws:SourceAccount "
            f"condition.",
            services=[b["service"] for b in bare],
            statements=[b["statement"] for b in bare],
        )
    if guarded:
        detail = ", ".join(f"{g['service']} ({', '.join(g['condition_keys'])})" for g in guarded)
        return ok(role, f"Role {role.name}'s service trust is conditioned: {detail}.")
    return None


_SERVICE_TRUST_TF = (
    'data "aws_iam_policy_document" "trust" {\n'
    "  statement {\n"
    '    actions = ["sts:AssumeRole"]\n'
    '    principals {\n      type        = "Service"\n'
    '      identifiers = ["SERVICE.amazonaws.com"]\n    }\n'
    "    condition {\n"
    '      test     = "StringEquals"\n'
    '      variable = "aws:SourceAccount"\n'
    '      values   = ["ACCOUNT_ID"]\n    }\n'
    "    condition {\n"
    '      test     = "ArnLike"\n'
    '      variable = "aws:SourceArn"\n'
    '      values   = ["arn:aws:SERVICE:REGION:ACCOUNT_ID:RESOURCE"]\n    }\n'
    "  }\n}"
)
_SERVICE_TRUST_CLI = (
    "aws iam update-assume-role-policy --role-name ROLE_NAME --policy-document "
    '\'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
    '{"Service":"SERVICE.amazonaws.com"},"Action":"sts:AssumeRole","Condition":'
    '{"StringEquals":{"aws:SourceAccount":"ACCOUNT_ID"},"ArnLike":{"aws:SourceArn":'
    '"arn:aws:SERVICE:REGION:ACCOUNT_ID:RESOURCE"}}}]}\''
)


@resource_check(
    title="Roles trusted by AWS services restrict the calling resource",
    description="A role assumable by an AWS service principal (other than the compute "
    "services whose runtime identity it is: EC2, Lambda, ECS tasks, EKS) has an "
    "aws:SourceArn, aws:SourceAccount or aws:SourceOrgID condition. Service-linked roles "
    "are not judged.",
    risk="Without a source condition, the service can be made to assume the role on behalf "
    "of another AWS customer who names its ARN in their own resource (the cross-service "
    "'confused deputy'), reaching this account with the role's permissions.",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_role"],
    categories=["iam", "trust-policy", "confused-deputy"],
    remediation={
        "summary": "Add aws:SourceAccount (and aws:SourceArn where the service supports it) "
        "conditions to the trust statement.",
        "cli": _SERVICE_TRUST_CLI,
        "terraform": _SERVICE_TRUST_TF,
        "console": "IAM > Roles > ROLE_NAME > Trust relationships > Edit trust policy: add a "
        "Condition on aws:SourceAccount / aws:SourceArn.",
        "docs": "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
    },
)
def iam_role_trust_service_without_condition(role: Resource, inv: Inventory) -> Outcome | None:
    return _service_trust_outcome(role, compute=False)


@resource_check(
    title="Roles trusted by compute services restrict the calling resource",
    description="A role assumable by a compute service principal (ec2, lambda, edgelambda, "
    "ecs-tasks, eks, eks-fargate-pods, pods.eks) has an aws:SourceArn / aws:SourceAccount "
    "condition.",
    risk="Low: these roles are the runtime identity of compute launched in this account, "
    "handed over with iam:PassRole, so no other customer can make the service use them; "
    "an unconditioned trust is AWS's standard pattern (and EC2 offers no source key). A "
    "source condition still narrows which of your own resources can use the role, e.g. "
    "for ECS task roles, where AWS recommends it.",
    severity="low",
    service="iam",
    resource_types=["aws_iam_role"],
    categories=["iam", "trust-policy"],
    remediation={
        "summary": "Where the service supports it (ECS tasks, Lambda@Edge, EKS), add "
        "aws:SourceAccount / aws:SourceArn conditions; otherwise control who may pass the "
        "role with narrowly scoped iam:PassRole grants.",
        "cli": _SERVICE_TRUST_CLI,
        "terraform": _SERVICE_TRUST_TF,
        "console": "IAM > Roles > ROLE_NAME > Trust relationships > Edit trust policy.",
        "docs": "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html",
    },
)
def iam_role_trust_compute_service_without_condition(
    role: Resource, inv: Inventory
) -> Outcome | None:
    return _service_trust_outcome(role, compute=True)


def _principal_account(value: str) -> str | None:
    v = value.strip()
    if len(v) == 12 and v.isdigit():
        return v
    parts = v.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[2] in ("iam", "sts"):
        acct = parts[4]
        return acct if len(acct) == 12 and acct.isdigit() else None
    return None


@resource_check(
    title="Cross-account role trust requires an external id, organization or MFA",
    description="A role trusting a principal in another AWS account (its root or a "
    "specific user/role) requires sts:ExternalId, aws:PrincipalOrgID / "
    "aws:PrincipalOrgPaths, or MFA in the trust statement.",
    risk="Trusting another account's root lets every identity there that has "
    "sts:AssumeRole rights take the role; for a third party (a vendor), a missing "
    "external id lets any of its other customers make it assume your role (confused "
    "deputy).",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_role"],
    categories=["iam", "trust-policy", "cross-account"],
    remediation={
        "summary": "Add an sts:ExternalId condition for third parties, aws:PrincipalOrgID for "
        "accounts of your organization, or require MFA for people; trust a specific role "
        "rather than the account root.",
        "cli": "aws iam update-assume-role-policy --role-name ROLE_NAME --policy-document "
        '\'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":'
        '{"AWS":"arn:aws:iam::OTHER_ACCOUNT_ID:role/OTHER_ROLE"},"Action":'
        '"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":'
        '"EXTERNAL_ID"}}}]}\'',
        "terraform": 'data "aws_iam_policy_document" "trust" {\n'
        "  statement {\n"
        '    actions = ["sts:AssumeRole"]\n'
        "    principals {\n"
        '      type        = "AWS"\n'
        '      identifiers = ["arn:aws:iam::OTHER_ACCOUNT_ID:role/OTHER_ROLE"]\n'
        "    }\n"
        "    condition {\n"
        '      test     = "StringEquals"\n'
        '      variable = "sts:ExternalId"\n'
        '      values   = ["EXTERNAL_ID"]\n'
        "    }\n  }\n}",
        "console": "IAM > Roles > ROLE_NAME > Trust relationships > Edit trust policy: add a "
        "Condition on sts:ExternalId or aws:PrincipalOrgID.",
        "docs": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-user_externalid.html",
    },
)
def iam_role_trust_cross_account_without_condition(
    role: Resource, inv: Inventory
) -> Outcome | None:
    stmts, why = _trust(role)
    if stmts is None:
        return unknown(role, why or f"Trust policy of {role.name} unreadable.")
    bare: list[str] = []
    guarded: list[str] = []
    for i, st in enumerate(stmts):
        principal = st.get("Principal")
        if not _allows_assume(st) or not isinstance(principal, dict):
            continue
        foreign = [
            str(p)
            for p in _as_list(principal.get("AWS"))
            if (acct := _principal_account(str(p))) is not None and acct != role.account
        ]
        if not foreign:
            continue
        keys = condition_keys(st.get("Condition"), CROSS_ACCOUNT_KEYS)
        desc = f"{', '.join(foreign)} ({_label(st, i)})"
        if keys:
            guarded.append(f"{desc} with {', '.join(keys)}")
        else:
            bare.append(desc)
    if bare:
        return fail(
            role,
            f"Role {role.name} trusts {'; '.join(bare)} with no sts:ExternalId, "
            f"aws:PrincipalOrgID or MFA condition.",
            principals=bare,
        )
    if guarded:
        return ok(
            role,
            f"Role {role.name}'s cross-account trust is conditioned: {'; '.join(guarded)}.",
            principals=guarded,
        )
    return None


@resource_check(
    title="No role can be assumed by anyone",
    description='No role trust policy allows Principal "*" (any AWS identity in any '
    "account) to assume the role without a condition restricting the caller's account, "
    "organization or identity.",
    risk="Anyone with AWS credentials, in any account, can assume the role and use its "
    "permissions.",
    severity="critical",
    service="iam",
    resource_types=["aws_iam_role"],
    categories=["iam", "trust-policy", "public-access"],
    remediation={
        "summary": 'Replace the "*" principal with the specific accounts or roles that need '
        "the role, or add an aws:PrincipalOrgID / aws:PrincipalAccount condition.",
        "cli": "aws iam update-assume-role-policy --role-name ROLE_NAME --policy-document "
        "file://TRUST_POLICY.json  # with a specific Principal",
        "terraform": 'data "aws_iam_policy_document" "trust" {\n'
        "  statement {\n"
        '    actions = ["sts:AssumeRole"]\n'
        "    principals {\n"
        '      type        = "AWS"\n'
        '      identifiers = ["arn:aws:iam::TRUSTED_ACCOUNT_ID:role/TRUSTED_ROLE"]\n'
        "    }\n  }\n}",
        "console": "IAM > Roles > ROLE_NAME > Trust relationships > Edit trust policy.",
    },
)
def iam_role_trust_public(role: Resource, inv: Inventory) -> Outcome:
    if _missing(role, "assume_role_policy"):
        return unknown(role, f"The trust policy of role {role.name} could not be read.")
    try:
        grants = public_grants(role.config["assume_role_policy"])
    except PolicyUnreadable:
        return unknown(role, f"The trust policy of role {role.name} could not be parsed.")
    open_grants = [
        g
        for g in grants
        if g.not_action or any(_allows_assume({"Effect": "Allow", "Action": a}) for a in g.actions)
    ]
    if open_grants:
        return fail(
            role,
            f"Role {role.name} can be assumed by anyone: "
            + "; ".join(g.describe() for g in open_grants)
            + ".",
            statements=[g.as_evidence() for g in open_grants],
        )
    return ok(role, f"Role {role.name} is not assumable by everyone.")


# -- policy content ---------------------------------------------------------------------------
# Judged with the IAM policy evaluator (stratusec.iam): NotAction / NotResource, wildcards,
# denies and conditions are handled there. A decision that depends on condition keys
# unknown at analysis time ("conditional") still counts as a grant: the policy hands out
# the access to whoever meets the condition; the message names the condition keys.

# Requests that only a statement granting every S3 action on every S3 resource allows: a
# made-up action (only a wildcard matches it) on a made-up bucket and object, plus the
# actions that matter most.
S3_PROBE_ACTIONS = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteBucket",
    "s3:PutBucketPolicy",
    "s3:StratusecProbeAction",
)
S3_PROBE_RESOURCES = (
    "arn:aws:s3:::stratusec-probe-bucket",
    "arn:aws:s3:::stratusec-probe-bucket/stratusec/probe-object",
)
# Any role, in this account or another one.
ASSUME_PROBE_RESOURCES = (
    "arn:{partition}:iam::{account}:role/stratusec-probe-role",
    "arn:{partition}:iam::000000000000:role/stratusec-probe-role",
)


def _documents(r: Resource) -> tuple[list[tuple[str, Any]] | None, str | None]:
    """The policy documents a policy check judges on ``r``, as (name, document):
    a managed policy's default version (only when it is attached to something), or a
    user's / group's / role's inline policies. ([], None): nothing to judge;
    (None, why): unknown."""
    if r.type == "aws_iam_policy":
        if not r.config.get("attachment_count"):
            return [], None  # not attached: grants nothing (a boundary only limits)
        if _missing(r, "policy") or r.config["policy"] is None:
            return None, f"The document of policy {r.name} could not be read."
        return [(r.name, r.config["policy"])], None
    if _missing(r, "inline_policies") or not isinstance(r.config["inline_policies"], dict):
        return None, f"The inline policies of {_kind(r)} {r.name} could not be read."
    return [(str(n), d) for n, d in sorted(r.config["inline_policies"].items())], None


def _kind(r: Resource) -> str:
    return r.type.removeprefix("aws_iam_").replace("_", " ")


def _where(r: Resource, name: str) -> str:
    if r.type == "aws_iam_policy":
        kind = "AWS managed policy" if r.config.get("aws_managed") else "policy"
        return f"{kind} {name}"
    return f"inline policy {name} of {_kind(r)} {r.name}"


def _grant_text(decisions: list[Decision]) -> tuple[str, list[dict[str, Any]], list[str]]:
    """(statements described, statement evidence, condition keys) of the decisions."""
    refs: dict[tuple[str, int], Any] = {}
    keys: set[str] = set()
    for d in decisions:
        for ref in d.allowed_by:
            if ref.kind != "identity":
                continue  # e.g. the probe trust policy
            refs.setdefault((ref.policy, ref.index), ref)
        keys.update(d.conditional_keys)
    text = "; ".join(
        f"statement #{ref.index + 1}{f' ({ref.sid})' if ref.sid else ''} {ref.statement.describe()}"
        for ref in refs.values()
    )
    return text, [ref.to_dict() for ref in refs.values()], sorted(keys)


def _cond_suffix(keys: list[str], mfa: bool = False) -> str:
    if mfa:
        return " (only with MFA)"
    return f" (when conditions on {', '.join(keys)} hold)" if keys else ""


SKIP: Any = object()
"""A judge's answer for a document another check reports on (full admin)."""


def _policy_check(
    r: Resource,
    judge: Any,
    *,
    passed: str,
) -> Outcome | None:
    """Run ``judge(name, policy) -> (finding text, evidence) | None | SKIP`` over the
    documents of ``r``: FAIL with every finding; UNKNOWN when a document is unreadable;
    not applicable when every document was skipped; else PASS with ``passed``."""
    docs, why = _documents(r)
    if docs is None:
        return unknown(r, why or f"The policies of {r.name} could not be read.")
    if not docs:
        return None
    findings: list[str] = []
    evidence: list[dict[str, Any]] = []
    unreadable: list[str] = []
    skipped = 0
    for name, doc in docs:
        pol = parse_policy(doc, name)
        if not pol.statements and pol.errors:
            unreadable.append(name)
            continue
        got = judge(name, pol)
        if got is SKIP:
            skipped += 1
        elif got is not None:
            text, ev = got
            findings.append(f"{_where(r, name)}: {text}")
            evidence.append({"policy": name, **ev})
    if findings:
        msg = "; ".join(findings) + "."
        return fail(r, msg[0].upper() + msg[1:], findings=evidence)
    if unreadable:
        return unknown(r, f"Policy document(s) {', '.join(unreadable)} could not be parsed.")
    if skipped == len(docs):
        return None  # judged by another check (full admin)
    what = (
        _where(r, docs[0][0])
        if len(docs) == 1
        else f"inline policies {', '.join(n for n, _ in docs)} of {_kind(r)} {r.name}"
    )
    return ok(r, f"{what[0].upper()}{what[1:]}: {passed}")


def _admin_judge(name: str, pol: Policy) -> tuple[str, dict[str, Any]] | None:
    d = admin_decision([pol])
    if not d.possibly_allowed:
        return None
    text, refs, keys = _grant_text([d])
    suffix = "" if d.allowed else _cond_suffix(keys, d.mfa_required)
    return (
        f"{text} (full administrative access){suffix}",
        {"statements": refs, "decision": d.decision, "condition_keys": keys},
    )


_POLICY_TYPES = ["aws_iam_policy", "aws_iam_user", "aws_iam_group", "aws_iam_role"]


@resource_check(
    title='No attached IAM policy allows full "*:*" administrative privileges',
    description="No attached managed policy (customer or AWS managed, e.g. "
    "AdministratorAccess) and no inline policy of a user, group or role effectively allows "
    "every action on every resource (CIS 1.16). Judged with the IAM policy evaluator: "
    "NotAction/NotResource tricks count, and a grant behind a condition still counts (the "
    "message names the condition keys). Unattached managed policies are not judged.",
    risk="A principal with *:* can do anything in the account, including erasing logs and "
    "granting itself or others any access; its compromise is a full account compromise.",
    severity="high",
    service="iam",
    resource_types=_POLICY_TYPES,
    categories=["iam", "least-privilege"],
    remediation={
        "summary": "Replace the policy with least-privilege policies scoped to the actions and "
        "resources needed (IAM Access Analyzer can generate one from CloudTrail activity); "
        "keep full admin to a few break-glass roles that require MFA.",
        "cli": "aws iam list-entities-for-policy --policy-arn POLICY_ARN\n"
        "aws iam detach-role-policy --role-name ROLE_NAME --policy-arn POLICY_ARN\n"
        "aws iam delete-role-policy --role-name ROLE_NAME --policy-name INLINE_POLICY_NAME",
        "terraform": "# Remove the aws_iam_*_policy_attachment of POLICY_ARN (or the inline\n"
        "# aws_iam_role_policy) and attach a scoped policy instead:\n"
        'data "aws_iam_policy_document" "scoped" {\n'
        "  statement {\n"
        '    actions   = ["SERVICE:ACTION"]\n'
        '    resources = ["RESOURCE_ARN"]\n'
        "  }\n}",
        "console": "IAM > Policies > POLICY_NAME > Entities attached: detach; or IAM > Roles/"
        "Users/Groups > NAME > Permissions: remove the inline policy.",
    },
)
def iam_policy_no_full_admin(r: Resource, inv: Inventory) -> Outcome | None:
    return _policy_check(r, _admin_judge, passed="no statement grants *:* on *.")


def _s3_full_judge(name: str, pol: Policy) -> tuple[str, dict[str, Any]] | None:
    if admin_decision([pol]).possibly_allowed:
        return SKIP  # full admin: reported by iam_policy_no_full_admin
    decisions: list[Decision] = []
    for resource in S3_PROBE_RESOURCES:
        got = allowed_actions([pol], resource, S3_PROBE_ACTIONS)
        if len(got) != len(S3_PROBE_ACTIONS):
            return None
        decisions.extend(got.values())
    text, refs, keys = _grant_text(decisions)
    conditional = any(not d.allowed for d in decisions)
    suffix = _cond_suffix(keys) if conditional else ""
    return (
        f"{text} (every S3 action on every bucket and object){suffix}",
        {"statements": refs, "condition_keys": keys},
    )


@resource_check(
    title="No IAM policy allows s3:* on all resources",
    description="No attached managed policy and no inline policy grants every S3 action "
    "(s3:*, or an equivalent wildcard/NotAction) on every bucket and object. Policies that "
    "grant full administrative access are left to iam_policy_no_full_admin.",
    risk="s3:* on * lets the principal read, overwrite and delete every object in every "
    "bucket of the account (and any bucket elsewhere that trusts it), change bucket "
    "policies to make data public, and turn off versioning or logging: one compromised "
    "workload exposes all data in S3.",
    severity="high",
    service="iam",
    resource_types=_POLICY_TYPES,
    categories=["iam", "least-privilege", "data-protection"],
    remediation={
        "summary": "Scope the statement to the buckets (and prefixes) and the S3 actions the "
        "workload needs.",
        "cli": "aws iam create-policy-version --policy-arn POLICY_ARN --set-as-default "
        '--policy-document \'{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Action":["s3:GetObject","s3:PutObject"],"Resource":'
        '"arn:aws:s3:::BUCKET_NAME/PREFIX/*"},{"Effect":"Allow","Action":'
        '"s3:ListBucket","Resource":"arn:aws:s3:::BUCKET_NAME"}]}\'',
        "terraform": 'data "aws_iam_policy_document" "s3" {\n'
        "  statement {\n"
        '    actions   = ["s3:GetObject", "s3:PutObject"]\n'
        '    resources = ["arn:aws:s3:::BUCKET_NAME/PREFIX/*"]\n'
        "  }\n"
        "  statement {\n"
        '    actions   = ["s3:ListBucket"]\n'
        '    resources = ["arn:aws:s3:::BUCKET_NAME"]\n'
        "  }\n}",
        "console": "IAM > Policies > POLICY_NAME > Edit: replace s3:* and Resource * with the "
        "needed actions and bucket ARNs.",
    },
)
def iam_policy_no_s3_full_access_all_resources(r: Resource, inv: Inventory) -> Outcome | None:
    return _policy_check(r, _s3_full_judge, passed="no statement grants s3:* on all of S3.")


def _assume_any_judge(account: str, partition: str, memo: dict[Any, Any]) -> Any:
    """Judge: does the policy let its holder assume any role, in this account or another?
    Asked of the evaluator as a role assumption against a probe role whose trust policy
    delegates to the holder's account, so that only the identity policy decides."""
    who = Principal.from_arn(f"arn:{partition}:iam::{account}:role/stratusec-probe-principal")
    trust_doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }

    def judge(name: str, pol: Policy) -> Any:
        # Cheap exit: no Allow statement whose Action can match an sts action.
        if not any(s.allow for s in pol.for_service("sts")):
            return None
        # The same parsed document (a managed policy attached in many places) is judged once.
        key = pol.statements  # shared by every parse of the same document
        if key not in memo:
            memo[key] = _judge(pol)
        return memo[key]

    def _judge(pol: Policy) -> Any:
        if admin_decision([pol]).possibly_allowed:
            return SKIP  # full admin: reported by iam_policy_no_full_admin
        decisions: list[Decision] = []
        for pattern in ASSUME_PROBE_RESOURCES:
            target = pattern.format(account=account, partition=partition)
            d = trust_allows(trust_doc, who, role_arn=target, identity_policies=[pol])
            if not d.possibly_allowed:
                return None
            decisions.append(d)
        text, refs, keys = _grant_text(decisions)
        conditional = any(not d.allowed for d in decisions)
        return (
            f"{text} (any role, in any account){_cond_suffix(keys) if conditional else ''}",
            {"statements": refs, "condition_keys": keys},
        )

    return judge


@resource_check(
    title="No IAM policy allows assuming any role",
    description="No attached managed policy and no inline policy allows sts:AssumeRole on "
    'every role (Resource "*" or an equivalent wildcard). Full-admin policies are left '
    "to iam_policy_no_full_admin.",
    risk="The principal can assume every role whose trust policy trusts its account or "
    "itself, here and in other accounts: its real permissions are the union of all those "
    "roles', and a compromise moves laterally (and often up to admin) in one call.",
    severity="medium",
    service="iam",
    resource_types=_POLICY_TYPES,
    categories=["iam", "least-privilege", "privilege-escalation"],
    remediation={
        "summary": "List the ARNs of the roles the principal really needs to assume.",
        "cli": "aws iam put-role-policy --role-name ROLE_NAME --policy-name POLICY_NAME "
        '--policy-document \'{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Action":"sts:AssumeRole","Resource":"arn:aws:iam::ACCOUNT_ID:role/'
        "TARGET_ROLE\"}]}'",
        "terraform": 'data "aws_iam_policy_document" "assume" {\n'
        "  statement {\n"
        '    actions   = ["sts:AssumeRole"]\n'
        '    resources = ["arn:aws:iam::ACCOUNT_ID:role/TARGET_ROLE"]\n'
        "  }\n}",
        "console": "IAM > Roles/Users > NAME > Permissions > POLICY_NAME > Edit: replace "
        "Resource * with the target role ARNs.",
    },
)
def iam_policy_no_assume_any_role(r: Resource, inv: Inventory) -> Outcome | None:
    return _policy_check(
        r,
        _assume_any_judge(r.account, _partition(inv), inv.memo("iam.assume_any", dict)),
        passed="no statement allows assuming any role.",
    )


# -- admin-equivalent roles -------------------------------------------------------------------
def role_admin(role: Resource, inv: Inventory) -> tuple[str, str, dict[str, Any]]:
    """Whether a role's own policies (inline + attached managed, within its permissions
    boundary) effectively allow *:* on *. Returns (verdict, text, evidence) with verdict
    ``admin`` / ``conditional`` (admin when condition keys unknown here hold) /
    ``mfa`` (admin only with MFA, which service sessions never carry) / ``no`` /
    ``unknown``. SCPs are not in the inventory and are not applied."""
    pp = principal_policies(role, inv)
    assert pp is not None  # role_admin is only called for aws_iam_role records
    own = (f"inline policies of {role.name}", f"managed policies of {role.name}")
    if any(u in own for u in pp.unread):
        return "unknown", f"the policies of role {role.name} could not be read", {}
    boundary_arn = role.config.get("permissions_boundary")
    missing = [f"boundary {u}" if u == boundary_arn else u for u in pp.unread]
    policies, boundary = list(pp.identity), pp.boundary
    d = admin_decision(policies, permissions_boundary=boundary)
    text, refs, keys = _grant_text([d])
    evidence = {"statements": refs, "decision": d.decision, "unread_policies": missing}
    if d.allowed:
        # A missing policy could only hold a Deny; say so rather than claim certainty.
        note = f" (policies not read: {', '.join(missing)})" if missing else ""
        return "admin", f"{text}{note}", evidence
    if d.possibly_allowed:
        if d.mfa_required:
            return "mfa", f"{text} (only with MFA)", evidence
        return "conditional", f"{text}{_cond_suffix(keys)}", {**evidence, "condition_keys": keys}
    if missing:
        return "unknown", f"policies {', '.join(missing)} could not be read", evidence
    return "no", f"role {role.name} is not admin-equivalent", evidence


@resource_check(
    title="Lambda functions do not run with an admin-equivalent role",
    description="A Lambda function's execution role does not effectively allow *:* on * "
    "(judged with the IAM policy evaluator over the role's inline and managed policies and "
    "its permissions boundary; SCPs are not considered).",
    risk="Code running as admin turns any bug in the function or its dependencies (code "
    "injection, SSRF, a malicious package) into a full account compromise.",
    severity="high",
    service="lambda",
    resource_types=["aws_lambda_function"],
    categories=["iam", "least-privilege", "serverless"],
    remediation={
        "summary": "Give the function a dedicated role with only the permissions its code "
        "uses (start from AWSLambdaBasicExecutionRole and add scoped statements).",
        "cli": "aws lambda update-function-configuration --function-name FUNCTION_NAME "
        "--role arn:aws:iam::ACCOUNT_ID:role/SCOPED_ROLE_NAME",
        "terraform": 'resource "aws_lambda_function" "this" {\n'
        "  # ...\n"
        "  role = aws_iam_role.scoped.arn\n}",
        "console": "Lambda > Functions > FUNCTION_NAME > Configuration > Permissions > Edit "
        "> Execution role.",
    },
)
def lambda_function_admin_role(fn: Resource, inv: Inventory) -> Outcome:
    role_arn = fn.config.get("role")
    if "role" in fn.unavailable or not role_arn:
        return unknown(fn, f"The execution role of function {fn.name} is unknown.")
    role = inv.get(role_arn)
    if role is None:
        return unknown(
            fn, f"The execution role {role_arn} of function {fn.name} is not in the inventory."
        )
    verdict, text, evidence = role_admin(role, inv)
    evidence["role"] = role_arn
    if verdict in ("admin", "conditional"):
        return fail(
            fn,
            f"Function {fn.name} runs as admin-equivalent role {role.name}: {text}.",
            **evidence,
        )
    if verdict == "unknown":
        return unknown(fn, f"Whether role {role.name} of function {fn.name} is admin: {text}.")
    why = f" ({text}; a function's sessions never carry MFA)" if verdict == "mfa" else ""
    return ok(
        fn, f"Function {fn.name}'s role {role.name} is not admin-equivalent{why}.", **evidence
    )


@resource_check(
    title="No admin-equivalent role is assumable by a service without a condition",
    description="A role whose policies effectively allow *:* on * is not trusted by an AWS "
    "service principal without an aws:SourceArn/aws:SourceAccount condition. Roles without "
    "such a service trust are not judged.",
    risk="Whoever can get the service to use the role (anyone in the account who can pass "
    "it to a function, instance or task, or, for services open to the confused deputy, "
    "another AWS customer) runs with full administrative access: a direct path to account "
    "takeover.",
    severity="high",
    service="iam",
    resource_types=["aws_iam_role"],
    categories=["iam", "least-privilege", "trust-policy", "privilege-escalation"],
    remediation={
        "summary": "Do not give service roles admin rights: scope the role to the service's "
        "needs; if a broad role is unavoidable, add aws:SourceArn/aws:SourceAccount "
        "conditions and restrict iam:PassRole on it.",
        "cli": "aws iam detach-role-policy --role-name ROLE_NAME --policy-arn "
        "arn:aws:iam::aws:policy/AdministratorAccess\n"
        "aws iam attach-role-policy --role-name ROLE_NAME --policy-arn SCOPED_POLICY_ARN",
        "terraform": 'resource "aws_iam_role_policy_attachment" "scoped" {\n'
        '  role       = "ROLE_NAME"\n'
        '  policy_arn = "SCOPED_POLICY_ARN"\n}\n'
        "# and remove the AdministratorAccess (or *:*) attachment.",
        "console": "IAM > Roles > ROLE_NAME > Permissions: remove the admin policy and attach "
        "a scoped one; Trust relationships: add a source condition.",
    },
)
def iam_role_admin_trusted_by_service(role: Resource, inv: Inventory) -> Outcome | None:
    if _is_service_linked(role):
        return None
    found = service_trusts(role)
    if found is None:
        return unknown(role, _trust(role)[1] or f"Trust policy of {role.name} unreadable.")
    bare, _guarded = found
    if not bare:
        return None
    services = sorted({b["service"] for b in bare})
    verdict, text, evidence = role_admin(role, inv)
    evidence["services"] = services
    if verdict in ("admin", "conditional"):
        return fail(
            role,
            f"Role {role.name} is admin-equivalent ({text}) and trusted by "
            f"{', '.join(services)} with no source condition.",
            **evidence,
        )
    if verdict == "unknown":
        return unknown(role, f"Whether role {role.name} is admin-equivalent is unknown: {text}.")
    return ok(
        role,
        f"Role {role.name} (trusted by {', '.join(services)}) is not admin-equivalent"
        + (f" ({text}; service sessions never carry MFA)." if verdict == "mfa" else "."),
        **evidence,
    )
