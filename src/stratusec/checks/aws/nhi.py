"""Standing credentials of non-human identities (NHI): the IAM users and roles that agents
and automation use, and the long-lived credentials they hold.

Which principals are non-human:

- *agent-designated*: an IAM user or role tagged ``stratusec:agent=true`` (``true``,
  ``yes`` or ``1``, any case), or whose name matches one of :data:`AGENT_NAME_PATTERNS`
  (``*-agent``, ``*-bot``, ``ci-*``; shell-style, case-insensitive). The config's
  ``access.agent_patterns`` and ``access.agent_tag`` replace these defaults: the scan puts
  them in the inventory's ``settings`` (keys ``agent_patterns``, ``agent_tag``) and the
  checks read them from there (:func:`designation`), so they stay pure functions of the
  inventory. An empty pattern list designates by tag only.
- *programmatic*: an IAM user with an active access key and no console use (no console
  password, or a password never used to sign in).

The account-wide checks in ``iam.py`` still judge every key (``iam_access_key_rotated_90_days``,
``iam_user_unused_credentials_45_days``) and every service trust
(``iam_role_trust_service_without_condition``); the checks here single out non-human
identities, whose keys end up in CI variables, config files and agent contexts.

Time-based checks take "now" from :func:`now` (monkeypatch it in tests).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Iterable
from typing import Any

from stratusec.checks import Inventory, Outcome, fail, ok, resource_check, unknown
from stratusec.checks.aws.iam import (
    _active,
    _allows_assume,
    _console_password,
    _is_service_linked,
    _missing,
    _statements,
    _user_keys,
    days_since,
    parse_time,
)
from stratusec.inventory.models import Resource

AGENT_NAME_PATTERNS: tuple[str, ...] = ("*-agent", "*-bot", "ci-*")
AGENT_TAG = "stratusec:agent"
AGENT_TAG_VALUES = frozenset({"true", "yes", "1"})
NHI_KEY_ROTATION_DAYS = 90
NHI_KEY_UNUSED_DAYS = 90


def now() -> dt.datetime:
    """The time the checks judge against (timezone-aware, UTC). Monkeypatch in tests."""
    return dt.datetime.now(dt.UTC)


# -- who is non-human -------------------------------------------------------------------------
def designation(inv: Inventory) -> tuple[tuple[str, ...], str]:
    """(name patterns, tag key) that designate agents in this inventory: its settings
    ``agent_patterns`` / ``agent_tag`` when given (not None), else the defaults. An empty
    pattern list is kept: agents are then designated by tag only."""

    def compute() -> tuple[tuple[str, ...], str]:
        patterns = inv.settings.get("agent_patterns")
        tag = inv.settings.get("agent_tag")
        if isinstance(patterns, str):
            patterns = [patterns]
        pats = (
            tuple(str(p) for p in patterns if str(p).strip())
            if isinstance(patterns, Iterable)
            else AGENT_NAME_PATTERNS
        )
        return pats, tag.strip() if isinstance(tag, str) and tag.strip() else AGENT_TAG

    return inv.memo("nhi.designation", compute)


def agent_reason(
    r: Resource,
    patterns: Iterable[str] = AGENT_NAME_PATTERNS,
    tag: str = AGENT_TAG,
) -> str | None:
    """Why ``r`` (a user or role) is designated an agent, or None."""
    for key, value in (r.tags or {}).items():
        if key.lower() == tag.lower() and str(value).strip().lower() in AGENT_TAG_VALUES:
            return f"tagged {key}={value}"
    name = (r.name or "").lower()
    for pat in patterns:
        if fnmatch.fnmatchcase(name, pat.lower()):
            return f"name matches agent pattern {pat!r}"
    return None


def user_reason(
    user: Resource,
    inv: Inventory,
    patterns: Iterable[str] | None = None,
    tag: str | None = None,
) -> str | None:
    """Why an IAM user is non-human (agent-designated, or programmatic: an active access
    key and no console use), or None (a human user, or not enough known to say).
    ``patterns`` / ``tag`` default to the inventory's :func:`designation`."""
    default_patterns, default_tag = designation(inv)
    designated = agent_reason(
        user,
        default_patterns if patterns is None else patterns,
        default_tag if tag is None else tag,
    )
    if designated:
        return designated
    keys = _user_keys(user, inv)
    if not keys or not _active(keys):
        return None
    console = _console_password(user, inv)
    if console is False:
        return "active access key and no console password"
    never_signed_in = user.config.get("password_last_used") is None
    if console and not _missing(user, "password_last_used") and never_signed_in:
        return "active access key; console password never used"
    return None


def _owner(key: Resource, inv: Inventory) -> Resource | None:
    user = inv.get(key.config.get("user_arn"))
    if user is None:
        owners = [u for u in inv.related(key, "OWNED_BY") if u.type == "aws_iam_user"]
        user = owners[0] if owners else None
    return user


def _nhi_owner(key: Resource, inv: Inventory) -> tuple[Resource, str] | None:
    """(owning user, why it is non-human) when the key belongs to a non-human user."""
    user = _owner(key, inv)
    if user is None:
        return None
    why = inv.memo(f"nhi.user:{user.uid}", lambda: user_reason(user, inv))
    return (user, why) if why else None


def unconditioned_trusts(role: Resource) -> list[dict[str, Any]] | None:
    """The Allow sts:AssumeRole* statements of a role's trust policy that carry no
    Condition at all: ``{"statement", "principal"}``; None when unreadable."""
    if _missing(role, "assume_role_policy"):
        return None
    stmts = _statements(role.config["assume_role_policy"])
    if stmts is None:
        return None
    out = []
    for i, st in enumerate(stmts):
        if _allows_assume(st) and not st.get("Condition"):
            sid = st.get("Sid")
            out.append(
                {
                    "statement": f'statement "{sid}"' if sid else f"statement #{i + 1}",
                    "principal": st.get("Principal", st.get("NotPrincipal")),
                }
            )
    return out


def last_used(r: Resource, keys: Iterable[Resource] = ()) -> str | None:
    """The latest known use of a user (console sign-in or any key) or role, ISO-8601."""
    stamps: list[dt.datetime | None] = []
    if r.type == "aws_iam_user":
        stamps.append(parse_time(r.config.get("password_last_used")))
        stamps += [parse_time(k.config.get("last_used_date")) for k in keys]
    elif r.type == "aws_iam_role":
        rlu = r.config.get("role_last_used") or {}
        stamps.append(parse_time(rlu.get("last_used_date")))
    known = [s for s in stamps if s is not None]
    return max(known).isoformat() if known else None


# -- checks -----------------------------------------------------------------------------------
_DELETE_KEY_CLI = (
    "aws iam list-access-keys --user-name USER_NAME\n"
    "aws iam update-access-key --user-name USER_NAME --access-key-id ACCESS_KEY_ID "
    "--status Inactive\n"
    "aws iam delete-access-key --user-name USER_NAME --access-key-id ACCESS_KEY_ID"
)
_ROLE_INSTEAD_TF = (
    "# Replace the user's aws_iam_access_key with a role the workload assumes, e.g. for CI\n"
    "# through OIDC federation:\n"
    'resource "aws_iam_role" "ci" {\n'
    '  name               = "ROLE_NAME"\n'
    "  assume_role_policy = data.aws_iam_policy_document.oidc_trust.json\n"
    "  max_session_duration = 3600\n}"
)


@resource_check(
    title="Non-human IAM users hold no long-lived access keys",
    description="IAM users used by agents or automation hold no active access key. Non-human "
    f"users are those tagged {AGENT_TAG}=true or named like {', '.join(AGENT_NAME_PATTERNS)} "
    "(defaults; the config's access.agent_tag and access.agent_patterns replace them), "
    "and users with an active access key and no console use (no console password, or one "
    "never used). Human users are not judged.",
    risk="A long-lived access key for an agent or a pipeline never expires by itself and is "
    "copied into CI variables, config files, containers and AI agent contexts; whoever "
    "reads one copy holds the identity's full permissions until someone notices.",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_user"],
    categories=["iam", "credentials", "non-human-identity"],
    remediation={
        "summary": "Replace the key with short-lived credentials: a role the workload assumes "
        "(instance/task role, OIDC federation for CI, or just-in-time access through "
        "'stratusec access request' for agents), then deactivate and delete the key.",
        "cli": _DELETE_KEY_CLI,
        "terraform": _ROLE_INSTEAD_TF,
        "console": "IAM > Users > USER_NAME > Security credentials > Access keys > Actions > "
        "Deactivate, then Delete; give the workload a role instead.",
        "docs": "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#bp-workloads-use-roles",
    },
)
def nhi_user_standing_access_key(user: Resource, inv: Inventory) -> Outcome | None:
    why = user_reason(user, inv)
    if why is None:
        return None
    keys = _user_keys(user, inv)
    if keys is None:
        return unknown(user, f"The access keys of non-human user {user.name} ({why}) are unknown.")
    active = [k.name for k in _active(keys)]
    if active:
        return fail(
            user,
            f"Non-human user {user.name} ({why}) holds long-lived access key(s): "
            f"{', '.join(active)}.",
            non_human=why,
            active_keys=active,
        )
    return ok(
        user, f"Non-human user {user.name} ({why}) holds no active access key.", non_human=why
    )


@resource_check(
    title=f"Access keys of non-human identities are rotated every {NHI_KEY_ROTATION_DAYS} days",
    description=f"Every active access key of a non-human IAM user (see "
    f"nhi_user_standing_access_key) is younger than {NHI_KEY_ROTATION_DAYS} days. "
    "iam_access_key_rotated_90_days judges every key; this one marks the keys agents and "
    "automation hold, at a higher severity. Inactive keys are not judged.",
    risk="An old automation key has been copied into the most places (pipelines, images, "
    "agent prompts and logs) and a leaked copy stays valid for as long as it is not rotated.",
    severity="high",
    service="iam",
    resource_types=["aws_iam_access_key"],
    categories=["iam", "credentials", "non-human-identity"],
    remediation={
        "summary": "Move the workload to a role (short-lived credentials); if a key is "
        "unavoidable, create a new one, switch the workload and delete the old key.",
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
def nhi_access_key_rotated_90_days(key: Resource, inv: Inventory) -> Outcome | None:
    owner = _nhi_owner(key, inv)
    if owner is None or key.config.get("status") != "Active":
        return None
    user, why = owner
    age = days_since(key.config.get("create_date"), now())
    if age is None:
        return unknown(key, f"The creation date of access key {key.name} ({user.name}) is unknown.")
    if age > NHI_KEY_ROTATION_DAYS:
        return fail(
            key,
            f"Access key {key.name} of non-human user {user.name} ({why}) is {age} days old "
            f"(limit {NHI_KEY_ROTATION_DAYS}).",
            age_days=age,
            user=user.name,
            non_human=why,
        )
    return ok(
        key,
        f"Access key {key.name} of non-human user {user.name} is {age} days old.",
        age_days=age,
        user=user.name,
    )


@resource_check(
    title=f"Access keys of non-human identities are not left unused for {NHI_KEY_UNUSED_DAYS} days",
    description=f"Every active access key of a non-human IAM user was used in the last "
    f"{NHI_KEY_UNUSED_DAYS} days; a key never used counts from its creation. Inactive keys "
    "are not judged.",
    risk="A dormant automation key belongs to a pipeline or agent that moved on: nobody "
    "watches it, so a stolen copy is used unnoticed.",
    severity="medium",
    service="iam",
    resource_types=["aws_iam_access_key"],
    categories=["iam", "credentials", "non-human-identity"],
    remediation={
        "summary": "Deactivate the unused key, wait for anything to break, then delete it.",
        "cli": _DELETE_KEY_CLI,
        "terraform": '# Set status = "Inactive" on the aws_iam_access_key (or remove it), '
        "then apply.",
        "console": "IAM > Users > USER_NAME > Security credentials > Access keys > Actions > "
        "Deactivate, then Delete.",
    },
)
def nhi_access_key_unused_90_days(key: Resource, inv: Inventory) -> Outcome | None:
    owner = _nhi_owner(key, inv)
    if owner is None or key.config.get("status") != "Active":
        return None
    user, why = owner
    if _missing(key, "last_used_date"):
        return unknown(key, f"The last use of access key {key.name} ({user.name}) is unknown.")
    ref = now()
    last = key.config.get("last_used_date")
    if last is not None:
        age, what = days_since(last, ref), "last used {age} days ago"
    else:
        age, what = (
            days_since(key.config.get("create_date"), ref),
            "never used, created {age} days ago",
        )
    if age is None:
        return unknown(key, f"The age of access key {key.name} ({user.name}) is unknown.")
    text = what.format(age=age)
    if age >= NHI_KEY_UNUSED_DAYS:
        return fail(
            key,
            f"Access key {key.name} of non-human user {user.name} ({why}) is {text}.",
            days_unused=age,
            never_used=last is None,
            user=user.name,
            non_human=why,
        )
    return ok(key, f"Access key {key.name} of non-human user {user.name} was {text}.")


@resource_check(
    title="Agent roles are assumable only under a condition",
    description=f"A role designated for an agent (tagged {AGENT_TAG}=true or named like "
    f"{', '.join(AGENT_NAME_PATTERNS)} by default; the config's access.agent_tag and "
    "access.agent_patterns replace them) has no trust statement that allows assuming it "
    "without any Condition (source, external id, principal tag, MFA, ...). Other roles are "
    "judged by iam_role_trust_service_without_condition and its siblings; service-linked "
    "roles are not judged.",
    risk="An agent role that any trusted principal or service can assume unconditionally "
    "is a standing credential in all but name: whoever holds the trusted identity becomes "
    "the agent at any time, outside the just-in-time broker and its approvals.",
    severity="high",
    service="iam",
    resource_types=["aws_iam_role"],
    categories=["iam", "trust-policy", "non-human-identity"],
    remediation={
        "summary": "Add conditions to every trust statement of the agent role (aws:SourceArn/"
        "aws:SourceAccount for services, sts:ExternalId or aws:PrincipalTag for the broker, "
        "token audience/subject for OIDC), or let agents reach it only through "
        "'stratusec access request'.",
        "cli": "aws iam update-assume-role-policy --role-name ROLE_NAME --policy-document "
        '\'{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":'
        '"arn:aws:iam::ACCOUNT_ID:role/BROKER_ROLE"},"Action":"sts:AssumeRole",'
        '"Condition":{"StringEquals":{"sts:ExternalId":"EXTERNAL_ID"}}}]}\'',
        "terraform": 'data "aws_iam_policy_document" "agent_trust" {\n'
        "  statement {\n"
        '    actions = ["sts:AssumeRole"]\n'
        '    principals {\n      type        = "AWS"\n'
        '      identifiers = ["arn:aws:iam::ACCOUNT_ID:role/BROKER_ROLE"]\n    }\n'
        "    condition {\n"
        '      test     = "StringEquals"\n'
        '      variable = "sts:ExternalId"\n'
        '      values   = ["EXTERNAL_ID"]\n    }\n'
        "  }\n}",
        "console": "IAM > Roles > ROLE_NAME > Trust relationships > Edit trust policy: add a "
        "Condition to each statement.",
    },
)
def nhi_agent_role_trust_without_condition(role: Resource, inv: Inventory) -> Outcome | None:
    why = agent_reason(role, *designation(inv))
    if why is None or _is_service_linked(role):
        return None
    bare = unconditioned_trusts(role)
    if bare is None:
        return unknown(role, f"The trust policy of agent role {role.name} could not be read.")
    if bare:
        detail = ", ".join(b["statement"] for b in bare)
        return fail(
            role,
            f"Agent role {role.name} ({why}) can be assumed with no condition: {detail}.",
            non_human=why,
            statements=[b["statement"] for b in bare],
            principals=[b["principal"] for b in bare],
        )
    return ok(role, f"Every trust statement of agent role {role.name} ({why}) has a condition.")
