"""IAM: the account password policy to CIS strength, deactivating unused access keys,
removing policies that grant ``*:*``, and adding a condition to a role trust policy.

Every plan is built from the latest scan's stored records (never from live listing calls),
and text from cloud data (names, descriptions, tags) only ever names a resource.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from stratusec.checks.aws import iam as iam_checks
from stratusec.inventory.models import Resource
from stratusec.remediation.model import ApiCall, FixerError, FixSpec
from stratusec.remediation.registry import Lookup, fixer

# -- password policy ------------------------------------------------------------------------
#: Terraform attribute (the collector's key) -> UpdateAccountPasswordPolicy parameter.
_PP_PARAMS = {
    "minimum_password_length": "MinimumPasswordLength",
    "require_symbols": "RequireSymbols",
    "require_numbers": "RequireNumbers",
    "require_uppercase_characters": "RequireUppercaseCharacters",
    "require_lowercase_characters": "RequireLowercaseCharacters",
    "allow_users_to_change_password": "AllowUsersToChangePassword",
    "max_password_age": "MaxPasswordAge",
    "password_reuse_prevention": "PasswordReusePrevention",
    "hard_expiry": "HardExpiry",
}
_PP_REQUIRE = (
    "require_symbols",
    "require_numbers",
    "require_uppercase_characters",
    "require_lowercase_characters",
)
PP_CHECKS = (
    "iam_password_policy_min_length_14",
    "iam_password_policy_reuse_24",
    "iam_password_policy_require_symbols",
    "iam_password_policy_require_numbers",
    "iam_password_policy_require_uppercase",
    "iam_password_policy_require_lowercase",
    "iam_password_policy_expires_90_days",
)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pp_params(values: dict[str, Any]) -> dict[str, Any]:
    """UpdateAccountPasswordPolicy parameters for a policy in the collector's form. The
    call resets every setting it is not given, so all of them are passed (an unset
    length, age or reuse count is left out: that is its AWS default)."""
    params: dict[str, Any] = {}
    for tf, api in _PP_PARAMS.items():
        v = values.get(tf)
        if tf in ("minimum_password_length", "max_password_age", "password_reuse_prevention"):
            n = _int(v)
            if n:  # 0 / None: "not set" (never expires, no reuse prevention)
                params[api] = n
        else:
            params[api] = bool(v)
    return params


@fixer(
    *PP_CHECKS,
    id="iam_password_policy_cis",
    title="Set the account password policy to CIS strength (keeping stricter settings)",
)
def password_policy(
    res: Resource, _f: dict[str, Any], _o: dict[str, Any], _lookup: Lookup
) -> FixSpec:
    c = res.config
    exists = c.get("exists")
    if exists is None or "exists" in res.unavailable:
        raise FixerError("the account password policy could not be read in the last scan")
    cur = c if exists else {}
    length = _int(cur.get("minimum_password_length")) or 0
    age = _int(cur.get("max_password_age")) or 0
    reuse = _int(cur.get("password_reuse_prevention")) or 0
    new: dict[str, Any] = {
        "minimum_password_length": max(iam_checks.MIN_PASSWORD_LENGTH, length),
        **{k: True for k in _PP_REQUIRE},
        # Not a CIS requirement: keep what the account has (on for a new policy).
        "allow_users_to_change_password": bool(cur.get("allow_users_to_change_password"))
        if exists
        else True,
        "max_password_age": age if 0 < age <= iam_checks.MAX_PASSWORD_AGE else 90,
        "password_reuse_prevention": max(iam_checks.PASSWORD_REUSE, reuse),
        "hard_expiry": bool(cur.get("hard_expiry")),
    }
    if exists and all(
        _same_setting(c.get(k), v) for k, v in new.items() if k != "allow_users_to_change_password"
    ):
        raise FixerError("the password policy already meets CIS strength; scan again")
    pp_call = "update_account_password_policy"
    rollback = (
        [
            ApiCall(
                "iam",
                pp_call,
                _pp_params(c),
                "restore the previous password policy (every setting)",
            )
        ]
        if exists
        else [
            ApiCall(
                "iam",
                "delete_account_password_policy",
                {},
                "remove the password policy again (AWS's default applies)",
            )
        ]
    )
    changed = [k for k, v in new.items() if not exists or not _same_setting(c.get(k), v)]
    tf_body = "".join(
        f"  {k:<30} = {str(v).lower() if isinstance(v, bool) else v}\n" for k, v in new.items()
    )
    return FixSpec(
        title="Set the account password policy to CIS strength",
        calls=[
            ApiCall(
                "iam",
                pp_call,
                _pp_params(new),
                "14+ characters, all four character classes, 24 remembered passwords, "
                "expiry within 90 days (stricter current values kept)",
            )
        ],
        rollback=rollback,
        after={**new, "expire_passwords": True, "exists": True},
        terraform=f'resource "aws_iam_account_password_policy" "this" {{\n{tf_body}}}\n',
        watch=["exists", *_PP_PARAMS, "expire_passwords"],
        notes=[
            f"Changes: {', '.join(changed)}.",
            "Existing passwords stay valid until they expire; users whose password is older "
            f"than {new['max_password_age']} days must change it at their next sign-in.",
        ],
    )


def _same_setting(current: Any, wanted: Any) -> bool:
    if isinstance(wanted, bool):
        return bool(current) == wanted
    return bool(current == wanted)


# -- unused access keys ---------------------------------------------------------------------
_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")


def _key_age(key: Resource) -> tuple[int | None, str]:
    """(days since the key was last used, or created when never used; how it was used)."""
    last = key.config.get("last_used_date")
    if last:
        return iam_checks.days_since(last), "last used"
    return iam_checks.days_since(key.config.get("create_date")), "never used, created"


def _key_call(user: str, user_arn: str, key_id: str, status: str, why: str) -> ApiCall:
    return ApiCall(
        "iam",
        "update_access_key",
        {"UserName": user, "AccessKeyId": key_id, "Status": status},
        why,
        resource_arn=user_arn,
    )


@fixer(
    "iam_user_unused_credentials_45_days",
    "iam_access_key_rotated_90_days",
    id="iam_deactivate_unused_access_keys",
    title="Deactivate access keys that are no longer used (never deletes them)",
)
def deactivate_keys(
    res: Resource, f: dict[str, Any], _o: dict[str, Any], lookup: Lookup
) -> FixSpec:
    if res.type == "aws_iam_access_key":
        return _deactivate_old_key(res)
    user = res.config.get("name") or res.name
    user_arn = res.config.get("arn") or res.uid
    stale = (f.get("evidence") or {}).get("stale") or {}
    named = [k.removeprefix("access key ") for k in stale if str(k).startswith("access key ")]
    if not named:
        raise FixerError(
            f"the finding names no unused access key of {user}, only its console password; "
            "removing a console password cannot be undone by a rollback, so it is not "
            f"automated: aws iam delete-login-profile --user-name {user}"
        )
    keys = {
        k.config.get("id"): k
        for k in lookup("aws_iam_access_key")
        if k.config.get("user_arn") == user_arn
    }
    picked: list[Resource] = []
    for key_id in named:
        key = keys.get(key_id)
        if not _KEY_ID.match(str(key_id)) or key is None:
            raise FixerError(f"access key {key_id} of {user} is not in the last scan; scan again")
        if key.config.get("status") != "Active":
            raise FixerError(f"access key {key_id} of {user} is already inactive; scan again")
        picked.append(key)
    access_keys = res.config.get("access_keys") or []
    after_keys = [
        {**k, "status": "Inactive"} if k.get("id") in named else dict(k) for k in access_keys
    ]
    notes = [
        f"Access key {k.config['id']}: {stale.get('access key ' + k.config['id'])}; anything "
        "still holding it gets InvalidClientTokenId. The key is kept: reactivate it (the "
        "rollback) if something breaks, delete it later."
        for k in picked
    ]
    if "console password" in stale:
        notes.append(
            f"The console password of {user} is unused too ({stale['console password']}): the "
            "finding stays open until it is removed (aws iam delete-login-profile "
            f"--user-name {user}); that is not automated because it cannot be rolled back."
        )
    ids = [k.config["id"] for k in picked]
    return FixSpec(
        title=f"Deactivate unused access key(s) {', '.join(ids)} of user {user}",
        calls=[_key_call(user, user_arn, i, "Inactive", f"deactivate unused key {i}") for i in ids],
        rollback=[
            _key_call(user, user_arn, i, "Active", f"reactivate key {i}") for i in reversed(ids)
        ],
        after={"access_keys": after_keys},
        terraform="".join(
            f'resource "aws_iam_access_key" "{_label(i)}" {{\n  user   = "{user}"\n'
            '  status = "Inactive"\n}\n'
            for i in ids
        ),
        watch=["access_keys"],
        notes=notes,
    )


def _deactivate_old_key(key: Resource) -> FixSpec:
    c = key.config
    key_id, user, user_arn = c.get("id") or key.name, c.get("user"), c.get("user_arn")
    if not user or not user_arn:
        raise FixerError(f"the owner of access key {key_id} is not in the last scan")
    if c.get("status") != "Active":
        raise FixerError(f"access key {key_id} is already inactive; scan again")
    if "last_used_date" in key.unavailable:
        raise FixerError(
            f"when access key {key_id} was last used is unknown: it is not deactivated blind"
        )
    limit = iam_checks.KEY_ROTATION_DAYS
    age, how = _key_age(key)
    if age is None or age < limit:
        raise FixerError(
            f"access key {key_id} of {user} is old but in use ({how} {age} days ago): "
            "deactivating it would break whoever uses it. Rotate it instead: create a new "
            "key, move the workload to it, then deactivate the old one"
        )
    return FixSpec(
        title=f"Deactivate access key {key_id} of user {user} ({how} {age} days ago)",
        calls=[_key_call(user, user_arn, key_id, "Inactive", f"deactivate unused key {key_id}")],
        rollback=[_key_call(user, user_arn, key_id, "Active", f"reactivate key {key_id}")],
        after={"status": "Inactive"},
        terraform=f'resource "aws_iam_access_key" "{_label(key_id)}" {{\n  user   = "{user}"\n'
        '  status = "Inactive"\n}\n',
        watch=["status", "last_used_date"],
        notes=[
            f"The key was {how} {age} days ago (unused for {limit}+ days). It is kept: "
            "reactivate it (the rollback) if something breaks, delete it later."
        ],
    )


def _label(text: str) -> str:
    """A Terraform resource label from a name (cloud text only names things)."""
    out = re.sub(r"[^A-Za-z0-9_-]", "_", str(text))
    return out if out[:1].isalpha() or out[:1] == "_" else f"r_{out}"


# -- policies that grant *:* ----------------------------------------------------------------
#: Principal resource type -> (API noun, name parameter).
_KINDS = {
    "aws_iam_user": ("user", "UserName"),
    "aws_iam_group": ("group", "GroupName"),
    "aws_iam_role": ("role", "RoleName"),
}


@fixer(
    "iam_policy_no_full_admin",
    id="iam_remove_full_admin_policy",
    title="Detach a managed policy granting *:* from every principal, or delete such an "
    "inline policy (its document is kept for the rollback)",
)
def remove_full_admin(
    res: Resource, f: dict[str, Any], _o: dict[str, Any], lookup: Lookup
) -> FixSpec:
    if res.type == "aws_iam_policy":
        return _detach_everywhere(res, lookup)
    if res.type not in _KINDS:
        raise FixerError(f"{res.type} is not a policy, user, group or role")
    return _delete_inline(res, f)


def _detach_everywhere(pol: Resource, lookup: Lookup) -> FixSpec:
    arn = pol.config.get("arn") or pol.uid
    name = pol.config.get("name") or pol.name
    holders: list[tuple[str, str, str, str]] = []  # (kind, name param, principal, its ARN)
    unread: list[str] = []
    for type_, (kind, param) in _KINDS.items():
        for p in lookup(type_):
            attached = p.config.get("managed_policy_arns")
            if "managed_policy_arns" in p.unavailable or attached is None:
                unread.append(f"{kind} {p.name}")
            elif arn in attached:
                holders.append((kind, param, p.config.get("name") or p.name, p.uid))
    if unread:
        raise FixerError(
            f"the managed policies of {', '.join(sorted(unread)[:10])} were not read in the "
            "last scan, so where the policy is attached is not known; scan IAM again"
        )
    holders.sort()
    count = pol.config.get("attachment_count")
    if not holders:
        raise FixerError(f"the last scan shows policy {name} attached to nothing; scan again")
    if isinstance(count, int) and count != len(holders):
        raise FixerError(
            f"policy {name} is attached {count} time(s) but the last scan shows "
            f"{len(holders)} attachment(s); scan IAM again"
        )
    calls = [
        ApiCall(
            "iam",
            f"detach_{kind}_policy",
            {param: who, "PolicyArn": arn},
            f"detach {name} from {kind} {who}",
            resource_arn=who_arn,
        )
        for kind, param, who, who_arn in holders
    ]
    rollback = [
        ApiCall(
            "iam",
            f"attach_{kind}_policy",
            {param: who, "PolicyArn": arn},
            f"attach {name} to {kind} {who} again",
            resource_arn=who_arn,
        )
        for kind, param, who, who_arn in reversed(holders)
    ]
    shown = ", ".join(f"{kind} {who}" for kind, _p, who, _a in holders)
    return FixSpec(
        title=f"Detach full-admin policy {name} from {shown}",
        calls=calls,
        rollback=rollback,
        after={"attachment_count": 0},
        terraform="# Remove these attachments of "
        f"{arn} (then terraform apply):\n"
        + "".join(
            f'#   aws_iam_{kind}_policy_attachment with {kind} = "{who}"\n'
            for kind, _p, who, _a in holders
        )
        + "# and attach a policy scoped to what each principal needs.\n",
        watch=["attachment_count", "default_version_id", "policy"],
        # An AWS managed policy with no attachments left is no longer collected.
        gone_means_resolved=True,
        notes=[
            f"{shown} lose every permission {name} gave them (all of them, for a *:* "
            "policy): give each a scoped policy first, or they stop working.",
            "The policy itself is kept (unattached, it grants nothing).",
        ],
    )


def _delete_inline(res: Resource, f: dict[str, Any]) -> FixSpec:
    kind, param = _KINDS[res.type]
    who = res.config.get("name") or res.name
    inline = res.config.get("inline_policies")
    if "inline_policies" in res.unavailable or not isinstance(inline, dict):
        raise FixerError(f"the inline policies of {kind} {who} were not read in the last scan")
    named = [
        str(x.get("policy"))
        for x in (f.get("evidence") or {}).get("findings") or []
        if isinstance(x, dict) and x.get("policy")
    ]
    names = sorted(dict.fromkeys(n for n in named if n in inline))
    if not names:
        raise FixerError(
            f"the finding names no inline policy that {kind} {who} still has; scan again"
        )
    calls = [
        ApiCall(
            "iam",
            f"delete_{kind}_policy",
            {param: who, "PolicyName": n},
            f"delete inline policy {n} of {kind} {who}",
            resource_arn=res.uid,
        )
        for n in names
    ]
    rollback = [
        ApiCall(
            "iam",
            f"put_{kind}_policy",
            {param: who, "PolicyName": n, "PolicyDocument": json.dumps(inline[n])},
            f"put inline policy {n} back, as it was",
            resource_arn=res.uid,
        )
        for n in reversed(names)
    ]
    remaining = {k: v for k, v in inline.items() if k not in names}
    return FixSpec(
        title=f"Delete full-admin inline polic{'ies' if len(names) > 1 else 'y'} "
        f"{', '.join(names)} of {kind} {who}",
        calls=calls,
        rollback=rollback,
        after={"inline_policies": remaining},
        terraform="".join(
            f"# Remove aws_iam_{kind}_policy {n!r} of {kind} {who!r}, then terraform apply.\n"
            for n in names
        ),
        watch=["inline_policies"],
        notes=[
            f"{kind.capitalize()} {who} loses every permission the deleted "
            "document(s) gave (everything, for *:*): give it a scoped policy first. The "
            "documents are kept in this plan's rollback."
        ],
    )


# -- role trust policy: add a condition -----------------------------------------------------
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_TRUST_CHECKS = (
    "iam_role_trust_service_without_condition",
    "iam_role_trust_cross_account_without_condition",
)


def _one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def _with_condition(st: dict[str, Any], op: str, key: str, value: str) -> dict[str, Any]:
    out = copy.deepcopy(st)
    cond = out.get("Condition")
    cond = dict(cond) if isinstance(cond, dict) else {}
    block = cond.get(op)
    block = dict(block) if isinstance(block, dict) else {}
    block[key] = value
    cond[op] = block
    out["Condition"] = cond
    return out


def _split(
    st: dict[str, Any], kind: str, targets: list[str], op: str, key: str, value: str
) -> list[dict[str, Any]]:
    """The statement with the condition added for ``targets`` (principals of ``kind``):
    in place when they are all it trusts, else as a separate statement (the other
    principals keep their statement unchanged, so e.g. EC2 keeps working)."""
    principal = st["Principal"]
    listed = [str(p) for p in iam_checks._as_list(principal.get(kind))]
    rest = [p for p in listed if p not in targets]
    if not rest and set(principal) == {kind}:
        return [_with_condition(st, op, key, value)]
    keep = copy.deepcopy(st)
    if rest:
        keep["Principal"][kind] = _one_or_list(rest)
    else:
        del keep["Principal"][kind]
    new = copy.deepcopy(st)
    new["Principal"] = {kind: _one_or_list(targets)}
    if new.get("Sid"):
        new["Sid"] = re.sub(r"[^A-Za-z0-9]", "", f"{new['Sid']}Conditioned")
    return [keep, _with_condition(new, op, key, value)]


def _arn_ok(value: str) -> bool:
    parts = value.split(":", 5)
    return (
        len(parts) == 6
        and parts[0] == "arn"
        and bool(parts[2])
        and bool(parts[4].strip("*?") or parts[5].strip("*?/"))
    )


@fixer(
    *_TRUST_CHECKS,
    id="iam_role_trust_add_condition",
    title="Add a source condition (service trust) or an external id (cross-account trust) "
    "to a role's trust policy",
    options={
        "source_arn": "service trust: require aws:SourceArn = this ARN (wildcards allowed) "
        "instead of aws:SourceAccount = the role's account",
        "external_id": "cross-account trust: the sts:ExternalId the other account must send "
        "(required for that fix; agree it with the other party first)",
    },
)
def trust_condition(res: Resource, f: dict[str, Any], o: dict[str, Any], _l: Lookup) -> FixSpec:
    role = res.config.get("name") or res.name
    doc = res.config.get("assume_role_policy")
    stmts, why = iam_checks._trust(res)
    if stmts is None or not isinstance(doc, dict):
        raise FixerError(why or f"the trust policy of role {role} could not be read")
    if iam_checks._is_service_linked(res):
        raise FixerError(f"role {role} is service-linked: AWS owns its trust policy")
    raw = doc.get("Statement")
    originals: list[Any] = [raw] if isinstance(raw, dict) else list(raw or [])
    if len(originals) != len(stmts):
        raise FixerError(f"the trust policy of role {role} has statements that are not objects")
    if f.get("check_id") == "iam_role_trust_cross_account_without_condition":
        plan = _cross_account_targets(res, stmts)
        kind, op, key, value = "AWS", "StringEquals", "sts:ExternalId", _external_id(o, plan)
        what = f"sts:ExternalId for {', '.join(sorted({p for ps in plan.values() for p in ps}))}"
    else:
        plan = _service_targets(res)
        kind = "Service"
        if o.get("source_arn"):
            value = str(o["source_arn"]).strip()
            services = sorted({s for ss in plan.values() for s in ss})
            if not _arn_ok(value):
                raise FixerError(
                    f"option source_arn must be an ARN naming a resource "
                    f"(arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE); got {value!r}"
                )
            if len(services) > 1:
                raise FixerError(
                    f"role {role} trusts {', '.join(services)} without a condition; one "
                    "source_arn cannot name a resource of each: leave source_arn out "
                    "(aws:SourceAccount) or fix the trust policy by hand"
                )
            op, key = "ArnLike", "aws:SourceArn"
        else:
            op, key, value = "StringEquals", "aws:SourceAccount", res.account
        what = f"{key} for {', '.join(sorted({s for ss in plan.values() for s in ss}))}"
    new_stmts: list[Any] = []
    for i, st in enumerate(originals):
        if i in plan and isinstance(st, dict):
            new_stmts.extend(_split(st, kind, plan[i], op, key, value))
        else:
            new_stmts.append(copy.deepcopy(st))
    new_doc = {**copy.deepcopy(doc), "Statement": new_stmts}
    arn = res.config.get("arn") or res.uid
    shown = "the agreed value" if key == "sts:ExternalId" else value
    where = ", ".join(f"#{i + 1}" for i in plan)
    notes = [f"Adds {op} {key} = {shown} to trust statement(s) {where}."]
    if kind == "Service" and key == "aws:SourceAccount":
        notes.append(
            "The service then assumes the role only when it acts for a resource of account "
            f"{res.account}; for a resource in another account, use source_arn instead."
        )
    if kind == "AWS":
        notes.append(
            "The other account must pass this external id (sts:AssumeRole --external-id) "
            "from now on: calls without it are refused."
        )
    return FixSpec(
        title=f"Require {what} in the trust policy of role {role}",
        calls=[
            ApiCall(
                "iam",
                "update_assume_role_policy",
                {"RoleName": role, "PolicyDocument": json.dumps(new_doc)},
                f"add the {key} condition, every other statement unchanged",
                resource_arn=arn,
            )
        ],
        rollback=[
            ApiCall(
                "iam",
                "update_assume_role_policy",
                {"RoleName": role, "PolicyDocument": json.dumps(doc)},
                "restore the previous trust policy exactly",
                resource_arn=arn,
            )
        ],
        after={"assume_role_policy": new_doc},
        terraform=f'resource "aws_iam_role" "{_label(role)}" {{\n  name = "{role}"\n'
        f"  assume_role_policy = <<-EOT\n{json.dumps(new_doc, indent=2)}\n  EOT\n  # ...\n}}\n",
        watch=["assume_role_policy"],
        notes=notes,
    )


def _service_targets(res: Resource) -> dict[int, list[str]]:
    found = iam_checks.service_trusts(res, compute=False)
    targets: dict[int, list[str]] = {}
    for b in (found or ([], []))[0]:
        targets.setdefault(int(b["index"]), []).append(str(b["service"]))
    if not targets:
        raise FixerError(
            f"role {res.name} trusts no service (other than compute services) without a "
            "source condition; scan again"
        )
    return targets


def _cross_account_targets(res: Resource, stmts: list[dict[str, Any]]) -> dict[int, list[str]]:
    """Statement index -> the other accounts' principals it trusts with no condition
    (the same judgement as iam_role_trust_cross_account_without_condition)."""
    targets: dict[int, list[str]] = {}
    for i, st in enumerate(stmts):
        principal = st.get("Principal")
        if not iam_checks._allows_assume(st) or not isinstance(principal, dict):
            continue
        if iam_checks.condition_keys(st.get("Condition"), iam_checks.CROSS_ACCOUNT_KEYS):
            continue
        foreign = [
            str(p)
            for p in iam_checks._as_list(principal.get("AWS"))
            if (a := iam_checks._principal_account(str(p))) is not None and a != res.account
        ]
        if foreign:
            targets[i] = foreign
    if not targets:
        raise FixerError(f"role {res.name} trusts no other account without a condition; scan again")
    return targets


def _external_id(o: dict[str, Any], targets: dict[int, list[str]]) -> str:
    value = o.get("external_id")
    accounts = sorted({p for ps in targets.values() for p in ps})
    if not value:
        raise FixerError(
            f"pass options.external_id: the value {', '.join(accounts)} must send "
            "(sts:ExternalId); agree it with them first, or their AssumeRole calls fail"
        )
    text = str(value)
    if not _EXTERNAL_ID.match(text):
        raise FixerError(
            "option external_id must be 2-1224 characters of letters, digits and "
            "+=,.@:/-_ (what sts:AssumeRole accepts)"
        )
    return text
