"""Policy documents parsed once into immutable, precompiled objects.

Input is what the inventory stores: a parsed JSON dict (or the JSON text, possibly
URL-encoded as IAM returns it). ``Statement`` may be one object or a list;
``Action``/``Resource``/``Principal`` values may be a string or a list; ``Principal``
may be ``"*"`` or an object with ``AWS``, ``Service``, ``Federated``, ``CanonicalUser``.

``parse_policy`` never raises: anything malformed is skipped and listed in
``Policy.errors`` (a statement without ``Effect`` or without ``Action``/``NotAction``
grants nothing). Parsed policies are cached per document object (documents are treated
as immutable once handed over) and per JSON text.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias, cast

from stratusec.iam.conditions import Condition, parse_conditions
from stratusec.iam.matching import PatternSet
from stratusec.iam.request import Principal

# How a resource-based policy statement's principal matched the caller.
NO_MATCH: Final = 0
ACCOUNT: Final = 1  # the caller's account (id or :root): delegates to its identity side
PARENT: Final = 2  # the role ARN of a session (or the IAM user behind a federated user)
DIRECT: Final = 3  # the caller itself (user ARN, session ARN, "*", service, federated)

_ROOT = re.compile(r"^arn:[^:]+:iam::(\d{12}):root$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_UNIQUE_ID = re.compile(r"^(AIDA|AROA|AIPA|ANPA|ANVA|ASIA|AKIA)[A-Z0-9]{8,}$")


def _strings(value: Any, errors: list[str], element: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else [value]
    out = tuple(str(x) for x in items if isinstance(x, str))
    if len(out) != len(items):
        errors.append(f"{element}: non-string values ignored")
    return out


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """A ``Principal``/``NotPrincipal`` element."""

    any: bool = False
    accounts: frozenset[str] = frozenset()
    arns: frozenset[str] = frozenset()
    unique_ids: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    federated: frozenset[str] = frozenset()
    canonical: frozenset[str] = frozenset()
    raw: Any = None

    def match(self, p: Principal) -> int:
        """``DIRECT``, ``PARENT``, ``ACCOUNT`` or ``NO_MATCH`` for ``Principal``."""
        if self.any:
            return DIRECT
        t = p.type
        if t == "service":
            return DIRECT if (p.service or "").lower() in self.services else NO_MATCH
        if t == "federated":
            prov = (p.provider or "").lower()
            return DIRECT if prov in self.federated else NO_MATCH
        if t == "anonymous":
            return NO_MATCH
        if p.canonical_id is not None and p.canonical_id in self.canonical:
            return DIRECT
        if p.arn in self.arns:
            return PARENT if t == "role" else DIRECT
        uid = p.userid
        if (
            uid is not None
            and self.unique_ids
            and (uid in self.unique_ids or uid.split(":", 1)[0] in self.unique_ids)
        ):
            return DIRECT if t == "user" else PARENT
        if p.parent_arn is not None and p.parent_arn in self.arns:
            return PARENT
        if p.account is not None and p.account in self.accounts:
            return DIRECT if t == "root" else ACCOUNT
        return NO_MATCH

    def excludes(self, p: Principal) -> bool:
        """For ``NotPrincipal``: True when every layer of the caller is listed (AWS
        checks the account, then the role, then the session / user, so all must be
        named for the caller to be excepted)."""
        if self.any:
            return True
        t = p.type
        if t == "service":
            return (p.service or "").lower() in self.services
        if t == "federated":
            return (p.provider or "").lower() in self.federated
        if t in ("anonymous", "unknown"):
            return False
        if p.account is None or p.account not in self.accounts:
            return False
        if t == "root":
            return True
        uid_base = p.userid.split(":", 1)[0] if p.userid else None
        own = p.arn in self.arns or (p.userid is not None and p.userid in self.unique_ids)
        parent = (p.parent_arn is not None and p.parent_arn in self.arns) or (
            uid_base is not None and uid_base in self.unique_ids
        )
        if t == "user":
            return own
        if t == "role":
            return own or parent
        if t == "assumed-role":
            return own and parent
        return own  # federated-user

    def describe(self) -> str:
        if self.any:
            return "*"
        return json.dumps(self.raw, sort_keys=True) if self.raw is not None else "?"


def parse_principal(value: Any, errors: list[str]) -> PrincipalSpec:
    if value == "*":
        return PrincipalSpec(any=True, raw=value)
    if not isinstance(value, Mapping):
        errors.append("Principal is neither '*' nor an object")
        return PrincipalSpec(raw=value)
    accounts: set[str] = set()
    arns: set[str] = set()
    uids: set[str] = set()
    any_ = False
    for a in _strings(value.get("AWS"), errors, "Principal.AWS"):
        a = a.strip()
        if a == "*":
            any_ = True
        elif _ACCOUNT_ID.match(a):
            accounts.add(a)
        elif m := _ROOT.match(a):
            accounts.add(m.group(1))
        elif _UNIQUE_ID.match(a):
            uids.add(a)
        else:
            arns.add(a)
    return PrincipalSpec(
        any=any_,
        accounts=frozenset(accounts),
        arns=frozenset(arns),
        unique_ids=frozenset(uids),
        services=frozenset(
            s.lower() for s in _strings(value.get("Service"), errors, "Principal.Service")
        ),
        federated=frozenset(
            s.lower() for s in _strings(value.get("Federated"), errors, "Principal.Federated")
        ),
        canonical=frozenset(_strings(value.get("CanonicalUser"), errors, "Principal.Canonical")),
        raw=value,
    )


@dataclass(frozen=True, slots=True, eq=False)
class Statement:
    index: int
    sid: str | None
    allow: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...] | None  # None: no Resource/NotResource element
    not_resource: bool
    principal: PrincipalSpec | None  # None: no Principal/NotPrincipal element
    not_principal: bool
    conditions: tuple[Condition, ...]
    services: frozenset[str] | None  # services the action element can match; None = any
    action_set: PatternSet = field(repr=False)
    resource_set: PatternSet | None = field(repr=False)

    @property
    def effect(self) -> Literal["Allow", "Deny"]:
        return "Allow" if self.allow else "Deny"

    def describe(self) -> str:
        """``allows s3:* on *`` style summary."""
        verb = "allows" if self.allow else "denies"
        acts = ", ".join(self.actions) or "nothing"
        if self.not_action:
            acts = f"all actions except {acts}"
        if self.resources is None:
            res = "any resource"
        else:
            res = ", ".join(self.resources)
            if self.not_resource:
                res = f"all resources except {res}"
        who = ""
        if self.principal is not None:
            who = f" {'to all principals except' if self.not_principal else 'to'} "
            who += self.principal.describe()
        cond = ""
        if self.conditions:
            cond = " if " + " and ".join(c.describe() for c in self.conditions)
        return f"{verb} {acts} on {res}{who}{cond}"


def _action_services(actions: tuple[str, ...], not_action: bool) -> frozenset[str] | None:
    """The services an Action element can match (for indexing); None when any."""
    if not_action:
        return None
    services: set[str] = set()
    for a in actions:
        if ":" not in a:
            if "*" in a or "?" in a:
                return None
            continue  # not an action name: matches nothing
        svc = a.split(":", 1)[0].lower()
        if "*" in svc or "?" in svc:
            return None
        services.add(svc)
    return frozenset(services)


def parse_statement(
    raw: Any, index: int, *, variables: bool, errors: list[str]
) -> Statement | None:
    if not isinstance(raw, Mapping):
        errors.append(f"statement {index}: not an object")
        return None
    errs: list[str] = []
    sid = raw.get("Sid")
    sid = str(sid) if sid is not None else None
    effect = str(raw.get("Effect", "")).strip().lower()
    if effect not in ("allow", "deny"):
        errors.append(f"statement {index}: Effect must be Allow or Deny")
        return None
    not_action = "Action" not in raw and "NotAction" in raw
    actions = _strings(raw.get("NotAction" if not_action else "Action"), errs, "Action")
    if "Action" not in raw and "NotAction" not in raw:
        errs.append("no Action or NotAction: the statement matches nothing")
    not_resource = "Resource" not in raw and "NotResource" in raw
    resources: tuple[str, ...] | None = None
    if "Resource" in raw or "NotResource" in raw:
        resources = _strings(raw.get("NotResource" if not_resource else "Resource"), errs, "Res")
    not_principal = "Principal" not in raw and "NotPrincipal" in raw
    principal: PrincipalSpec | None = None
    if "Principal" in raw or "NotPrincipal" in raw:
        principal = parse_principal(raw.get("NotPrincipal" if not_principal else "Principal"), errs)
    if not_principal and effect == "allow":
        errs.append("NotPrincipal with Allow grants to everyone else (AWS no longer supports it)")
    conditions = parse_conditions(raw.get("Condition"), variables=variables, errors=errs)
    errors.extend(f"statement {index}: {e}" for e in errs)
    return Statement(
        index=index,
        sid=sid,
        allow=effect == "allow",
        actions=actions,
        not_action=not_action,
        resources=resources,
        not_resource=not_resource,
        principal=principal,
        not_principal=not_principal,
        conditions=conditions,
        services=_action_services(actions, not_action),
        action_set=PatternSet(actions, ignore_case=True),
        resource_set=(
            PatternSet(resources, variables=variables) if resources is not None else None
        ),
    )


@dataclass(frozen=True, slots=True, eq=False)
class Policy:
    """A parsed policy document. ``name`` identifies it in explanations."""

    name: str
    statements: tuple[Statement, ...]
    version: str | None = None
    errors: tuple[str, ...] = ()
    _by_service: dict[str, tuple[Statement, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def for_service(self, service: str) -> tuple[Statement, ...]:
        """The statements whose Action/NotAction can match an action of ``service``
        (lower case), in document order."""
        hit = self._by_service.get(service)
        if hit is None:
            hit = tuple(s for s in self.statements if s.services is None or service in s.services)
            self._by_service[service] = hit
        return hit


PolicyInput: TypeAlias = "Policy | Mapping[str, Any] | str"

_CACHE_MAX: Final = 65536
_id_cache: OrderedDict[tuple[int, str], tuple[Any, Policy]] = OrderedDict()
_content_cache: OrderedDict[str, Policy] = OrderedDict()
_text_cache: OrderedDict[tuple[str, str], Policy] = OrderedDict()
_lock = threading.Lock()


def _load_text(text: str) -> Any:
    for candidate in (text, urllib.parse.unquote(text)):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def _build(doc: Any, name: str) -> Policy:
    errors: list[str] = []
    if isinstance(doc, str):
        doc = _load_text(doc)
    if not isinstance(doc, Mapping):
        return Policy(name=name, statements=(), errors=("not a JSON object",))
    version = doc.get("Version")
    version = str(version) if version is not None else None
    variables = version == "2012-10-17"
    raw = doc.get("Statement")
    items = raw if isinstance(raw, list) else ([raw] if raw is not None else [])
    if raw is None:
        errors.append("no Statement")
    statements = []
    for i, item in enumerate(items):
        st = parse_statement(item, i, variables=variables, errors=errors)
        if st is not None:
            statements.append(st)
    return Policy(name=name, statements=tuple(statements), version=version, errors=tuple(errors))


def parse_policy(document: PolicyInput, name: str | None = None) -> Policy:
    """Parse (or fetch from cache) a policy document. A ``Policy`` passes through
    (renamed when ``name`` differs). ``name`` defaults to the document's ``Id`` or
    ``"policy"``."""
    if isinstance(document, Policy):
        if name is None or name == document.name:
            return document
        return Policy(name, document.statements, document.version, document.errors)
    if name is None:
        pid = document.get("Id") if isinstance(document, Mapping) else None
        name = str(pid) if pid else "policy"
    if isinstance(document, str):
        tkey = (document, name)
        with _lock:
            hit = _text_cache.get(tkey)
            if hit is not None:
                _text_cache.move_to_end(tkey)
                return hit
        pol = _build(document, name)
        with _lock:
            _text_cache[tkey] = pol
            if len(_text_cache) > _CACHE_MAX:
                _text_cache.popitem(last=False)
        return pol
    key = (id(document), name)
    with _lock:
        entry = _id_cache.get(key)
        if entry is not None and entry[0] is document:
            _id_cache.move_to_end(key)
            return entry[1]
    # Documents loaded afresh from the store are new objects with the same content: parse
    # each distinct content once (parsing, not naming, is the expensive part).
    try:
        ckey: str | None = json.dumps(document, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        ckey = None
    parsed: Policy | None = None
    if ckey is not None:
        with _lock:
            parsed = _content_cache.get(ckey)
    if parsed is None:
        parsed = _build(document, name)
        if ckey is not None:
            with _lock:
                _content_cache[ckey] = parsed
                if len(_content_cache) > _CACHE_MAX:
                    _content_cache.popitem(last=False)
    pol = _named(parsed, name)
    with _lock:
        # Keeping the document referenced keeps its id from being reused.
        _id_cache[key] = (document, pol)
        if len(_id_cache) > _CACHE_MAX:
            _id_cache.popitem(last=False)
    return pol


def _named(pol: Policy, name: str) -> Policy:
    if pol.name == name:
        return pol
    return Policy(name, pol.statements, pol.version, pol.errors, pol._by_service)


def as_policies(
    policies: PolicyInput | Sequence[PolicyInput] | None, *, prefix: str = "policy"
) -> tuple[Policy, ...]:
    """Normalise one policy or a sequence of them. Raw documents are named by their
    ``Id``, else ``prefix[i]``."""
    if policies is None:
        return ()
    items: Sequence[PolicyInput]
    if isinstance(policies, (list, tuple)):
        for p in policies:
            if type(p) is not Policy:
                break
        else:  # the common case: already parsed
            return cast(tuple[Policy, ...], tuple(policies))
        items = policies
    elif isinstance(policies, (Policy, Mapping, str)):
        items = (policies,)
    else:
        items = tuple(policies)
    out = []
    for i, p in enumerate(items):
        if isinstance(p, Policy):
            out.append(p)
        else:
            pid = p.get("Id") if isinstance(p, Mapping) else None
            out.append(parse_policy(p, str(pid) if pid else f"{prefix}[{i}]"))
    return tuple(out)


def clear_cache() -> None:
    with _lock:
        _id_cache.clear()
        _text_cache.clear()
        _content_cache.clear()
