"""Observed usage of an IAM principal, and a least-privilege S3 policy proven with the IAM
evaluator.

What a principal *uses*, in order of preference:

1. IAM Access Advisor (service last accessed) and CloudTrail management events. Stratusec
   does not collect either yet (the IAM collector never calls
   GenerateServiceLastAccessedDetails, the CloudTrail collector reads trails, not events):
   the report says so and moves on. ``role_last_used`` (date and region only) is shown.
2. Workload evidence: the workloads that run as the role (stored ``RUNS_AS``
   relationships: ECS task definitions and tasks, and the services that use them, Lambda
   functions, instance profiles and the instances that carry them, ...) and the resources
   their environment names (``environment_references``: variables whose value is a bucket,
   table or queue name, an ARN, an ``s3://`` URI). A reference counts when it resolves to
   a resource of the inventory (or is an explicit S3 ARN / URI).
3. Resources named by the person asking for the plan (``resources`` option).

Each used S3 bucket maps to the S3 actions a data pipeline needs, and only those the old
policy already granted: read (``s3:GetObject`` on its objects, ``s3:ListBucket`` on the
bucket) always; write (``s3:PutObject``) when the variable's name says the bucket is a
target or an output (``TARGET``, ``OUTPUT``, ``DEST``, ``SINK``, ``UPLOAD``, ``EXPORT``,
``WRITE``, ``RESULT``, ``ARCHIVE``). Tags are never read: cloud text names resources, it
never decides what a policy grants.

The proof, with the IAM evaluator: every observed (action, resource) pair is allowed by
the new document whenever the old one allowed it; the new document allows nothing the old
one did not (sampled over every S3 action and the account's buckets); actions of other
services are unchanged; and the list of (action, resource) pairs that the old document
allowed and the new one does not.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from stratusec.errors import StratusecError
from stratusec.iam.actions import catalog
from stratusec.iam.decision import Decision
from stratusec.iam.matching import glob_match
from stratusec.iam.queries import ANALYSIS_PRINCIPAL, allowed_actions
from stratusec.iam.request import Principal
from stratusec.inventory.models import Resource

Lookup = Callable[[str], list[Resource]]

CHECK_ID: Final = "iam_policy_no_s3_full_access_all_resources"

NOT_COLLECTED: Final = {
    "access_advisor": "not collected: the IAM collector does not call "
    "GenerateServiceLastAccessedDetails (IAM Access Advisor), so per-service last access "
    "is unknown",
    "cloudtrail_events": "not collected: the CloudTrail collector reads trail settings, "
    "not management or data events",
}

# Types whose records carry RUNS_AS edges to the role they run as.
WORKLOAD_TYPES: Final = (
    "aws_ecs_task_definition",
    "aws_ecs_task",
    "aws_lambda_function",
    "aws_iam_instance_profile",
    "aws_glue_job",
    "aws_glue_dev_endpoint",
    "aws_codebuild_project",
    "aws_sagemaker_notebook_instance",
    "aws_cloudformation_stack",
    "aws_cloudformation_stack_set",
    "aws_ssm_managed_instance",
    "aws_config_configuration_recorder",
    "aws_db_instance",
    "aws_rds_cluster",
)
# What references can resolve to: type -> service.
REFERENCE_TYPES: Final = {
    "aws_s3_bucket": "s3",
    "aws_dynamodb_table": "dynamodb",
    "aws_sqs_queue": "sqs",
    "aws_sns_topic": "sns",
}
WRITE_HINT: Final = re.compile(
    r"TARGET|OUTPUT|(?:^|_)OUT(?:_|$)|DEST|SINK|UPLOAD|EXPORT|WRITE|RESULT|ARCHIVE"
)

READ_OBJECT: Final = "s3:GetObject"
WRITE_OBJECT: Final = "s3:PutObject"
LIST_BUCKET: Final = "s3:ListBucket"
SAMPLE_KEY: Final = "stratusec-sample-object"
# A bucket outside the inventory: what "s3:* on *" also hands out.
OTHER_BUCKET: Final = "stratusec-any-other-bucket"
MAX_SAMPLED_BUCKETS: Final = 200
# A made-up service: only a wildcard action pattern grants its actions.
PROBE_SERVICE: Final = "stratusecprobe"
MAX_EXAMPLES: Final = 30
MANAGED_POLICY_MAX_CHARS: Final = 6144
INLINE_ROLE_POLICY_MAX_CHARS: Final = 10240

_S3_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[^/*?]+)(?:/(?P<key>.*))?$")
_S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)(?:/(?P<key>.*))?$")
_SQS_URL = re.compile(
    r"^https://sqs\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/(\d{12})/([\w-]+(?:\.fifo)?)$"
)
_ACCOUNT_LEVEL = frozenset(
    {
        "s3:listallmybuckets",
        "s3:listdirectorybuckets",
        "s3:getaccountpublicaccessblock",
        "s3:putaccountpublicaccessblock",
    }
)
_OBJECT_LEVEL_EXTRA = frozenset(
    {
        "s3:abortmultipartupload",
        "s3:listmultipartuploadparts",
        "s3:bypassgovernanceretention",
        "s3:replicatedelete",
    }
)
_LEVEL_ORDER: Final = {"Permissions management": 0, "Write": 1, "Tagging": 2, "Read": 3, "List": 4}


class UsageError(StratusecError):
    """No least-privilege policy can be proposed (with the reason)."""


# -- observed usage -----------------------------------------------------------------------
@dataclass
class ObservedUse:
    """One resource the principal is seen to use."""

    uid: str
    type: str
    name: str
    service: str
    write: bool = False
    #: Object key prefix the reference names ("" = the whole bucket).
    prefix: str = ""
    in_inventory: bool = True
    evidence: list[str] = field(default_factory=list)


@dataclass
class Observation:
    principals: list[str]
    uses: list[ObservedUse]
    #: Every workload that runs as one of the principals, with what it references.
    workloads: list[dict[str, Any]]
    #: Workloads (and principals) with no usage evidence in the inventory.
    unobserved: list[str]
    #: References that name nothing in the inventory.
    unresolved: list[dict[str, str]]
    sources: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _label(r: Resource) -> str:
    kind = r.type.removeprefix("aws_").replace("_", " ")
    return f"{kind} {r.name}"


def _workloads(role_arn: str, lookup: Lookup) -> list[tuple[Resource, str]]:
    """(workload, how it runs as the role): the RUNS_AS sources, ECS services through
    their task definition, EC2 instances through their instance profile."""
    found: dict[str, tuple[Resource, str]] = {}
    for t in WORKLOAD_TYPES:
        for r in lookup(t):
            if role_arn in r.targets("RUNS_AS"):
                found[r.uid] = (r, "runs as the role")
    tds = {u for u, (r, _) in found.items() if r.type == "aws_ecs_task_definition"}
    if tds:
        for svc in lookup("aws_ecs_service"):
            td = next((t for t in svc.targets("USES_TASK_DEFINITION") if t in tds), None)
            if td:
                found[svc.uid] = (svc, f"uses task definition {found[td][0].name}")
    profiles = {u for u, (r, _) in found.items() if r.type == "aws_iam_instance_profile"}
    if profiles:
        for inst in lookup("aws_instance"):
            p = next((t for t in inst.targets("HAS_INSTANCE_PROFILE") if t in profiles), None)
            if p:
                found[inst.uid] = (inst, f"carries instance profile {found[p][0].name}")
    return sorted(found.values(), key=lambda x: (x[0].type, x[0].uid))


def _references_collected(r: Resource) -> bool:
    """Does the record carry ``environment_references`` (collectors that keep them)?"""
    if r.type == "aws_ecs_task_definition":
        cds = r.config.get("container_definitions") or []
        return bool(cds) and all("environment_references" in c for c in cds)
    return "environment_references" in r.config


def _references(r: Resource, task_definitions: dict[str, Resource]) -> list[dict[str, str]]:
    """The environment references of a workload: [{"name", "value", "container"?}]. A
    task that runs as the role by override takes them from its task definition."""
    out: list[dict[str, str]] = []
    if r.type == "aws_ecs_task":
        tds = [
            task_definitions[t] for t in r.targets("USES_TASK_DEFINITION") if t in task_definitions
        ]
        return [x for td in tds for x in _references(td, {})]
    if r.type == "aws_ecs_task_definition":
        for c in r.config.get("container_definitions") or []:
            for ref in c.get("environment_references") or []:
                out.append({**ref, "container": str(c.get("name") or "")})
    else:
        out.extend(dict(ref) for ref in r.config.get("environment_references") or [])
    return [x for x in out if isinstance(x.get("value"), str) and isinstance(x.get("name"), str)]


class _Index:
    """The inventory's referable resources by uid, name and URL."""

    def __init__(self, lookup: Lookup) -> None:
        self.by_uid: dict[str, Resource] = {}
        self.by_name: dict[tuple[str, str], list[Resource]] = {}
        for t in REFERENCE_TYPES:
            for r in lookup(t):
                self.by_uid[r.uid] = r
                name = str(r.config.get("name") or r.config.get("bucket") or r.name)
                self.by_name.setdefault((t, name), []).append(r)
                if t == "aws_sqs_queue" and r.config.get("url"):
                    self.by_uid[str(r.config["url"])] = r

    def resolve(self, value: str, region: str | None) -> tuple[Resource | None, str, str]:
        """(resource, bucket name if S3, key prefix) for a reference value."""
        m = _S3_ARN.match(value) or _S3_URI.match(value)
        if m:
            bucket, key = m["bucket"], (m["key"] or "")
            hits = self.by_name.get(("aws_s3_bucket", bucket)) or []
            return (hits[0] if hits else None), bucket, _prefix(key)
        hit = self.by_uid.get(value)
        if hit is not None:
            return hit, _bucket_of(hit), ""
        m = _SQS_URL.match(value)
        name = m.group(2) if m else value
        for t in REFERENCE_TYPES:
            hits = self.by_name.get((t, name)) or []
            local = [h for h in hits if region in (None, h.region, "global")] or hits
            if len(local) == 1:
                return local[0], _bucket_of(local[0]), ""
        return None, "", ""


def _bucket_of(r: Resource) -> str:
    return str(r.config.get("bucket") or r.name) if r.type == "aws_s3_bucket" else ""


def _prefix(key: str) -> str:
    key = key.lstrip("/")
    while key.endswith("*"):
        key = key[:-1]
    return key


def _bucket_use(bucket: str, res: Resource | None) -> ObservedUse:
    return ObservedUse(
        uid=res.uid if res else f"arn:aws:s3:::{bucket}",
        type="aws_s3_bucket",
        name=bucket,
        service="s3",
        in_inventory=res is not None,
    )


def parse_resources_option(value: Any, lookup: Lookup) -> list[tuple[str, bool, str]]:
    """The ``resources`` option: bucket names, S3 ARNs or ``s3://`` URIs, each with an
    optional ``=read`` / ``=write`` (default read), as a list or a comma-separated string.
    Returns (bucket, write, prefix)."""
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value]
    else:
        raise UsageError(
            "option 'resources' must be a list or a comma-separated string of bucket names "
            "(each optionally followed by =read or =write)"
        )
    known = sorted(str(b.config.get("bucket") or b.name) for b in lookup("aws_s3_bucket"))
    out: list[tuple[str, bool, str]] = []
    for item in filter(None, items):
        ref, _, mode = item.partition("=")
        mode = mode.strip().lower() or "read"
        if mode not in ("read", "write"):
            raise UsageError(f"resource {ref!r}: mode {mode!r} is not one of: read, write")
        m = _S3_ARN.match(ref) or _S3_URI.match(ref)
        bucket, key = (m["bucket"], m["key"] or "") if m else (ref, "")
        if not m and bucket not in known:
            raise UsageError(
                f"bucket {bucket!r} is not in the account's latest scan; known buckets: "
                f"{', '.join(known) or 'none'} (or give an S3 ARN for a bucket elsewhere)"
            )
        out.append((bucket, mode == "write", _prefix(key)))
    if not out:
        raise UsageError("option 'resources' names no bucket")
    return out


def observe_usage(
    principal_arns: Iterable[str],
    lookup: Lookup,
    *,
    extra: list[tuple[str, bool, str]] | None = None,
) -> Observation:
    """What the principals are seen to use (see the module docstring for the sources)."""
    principals = list(principal_arns)
    idx = _Index(lookup)
    uses: dict[tuple[str, str], ObservedUse] = {}
    workloads: list[dict[str, Any]] = []
    unobserved: list[str] = []
    unresolved: list[dict[str, str]] = []
    roles = {r.uid: r for r in lookup("aws_iam_role")}
    last_used: list[str] = []

    def add(use: ObservedUse, write: bool, prefix: str, why: str) -> None:
        key = (use.uid, prefix)
        cur = uses.setdefault(key, use)
        cur.prefix = prefix
        cur.write = cur.write or write
        if why not in cur.evidence:
            cur.evidence.append(why)

    task_definitions: dict[str, Resource] = {}
    for p in principals:
        role = roles.get(p)
        wl = _workloads(p, lookup) if ":role/" in p else []
        if not wl:
            unobserved.append(f"{p} (no workload in the inventory runs as it)")
        if any(w.type == "aws_ecs_task" for w, _ in wl) and not task_definitions:
            task_definitions = {r.uid: r for r in lookup("aws_ecs_task_definition")}
        for w, how in wl:
            refs = _references(w, task_definitions)
            entry: dict[str, Any] = {
                "uid": w.uid,
                "type": w.type,
                "name": w.name,
                "principal": p,
                "how": how,
                "references": refs,
            }
            workloads.append(entry)
            if not refs and w.type in ("aws_ecs_task_definition", "aws_lambda_function"):
                why = (
                    "its environment names no resource"
                    if _references_collected(w)
                    else "the scan did not record its environment references"
                )
                unobserved.append(f"{_label(w)} ({why})")
            elif not refs and w.type not in ("aws_ecs_service", "aws_instance", "aws_ecs_task"):
                unobserved.append(f"{_label(w)} (no usage evidence is collected for it)")
            for ref in refs:
                res, bucket, prefix = idx.resolve(ref["value"], w.region)
                where = f" container {ref['container']}" if ref.get("container") else ""
                why = f"{_label(w)}{where}: environment variable {ref['name']}"
                write = bool(WRITE_HINT.search(ref["name"].upper()))
                if bucket:
                    add(_bucket_use(bucket, res), write, prefix, why)
                elif res is not None:
                    svc = REFERENCE_TYPES[res.type]
                    add(
                        ObservedUse(uid=res.uid, type=res.type, name=res.name, service=svc),
                        write,
                        "",
                        why,
                    )
                else:
                    unresolved.append({"workload": w.uid, **ref})
        if role is not None and role.config.get("role_last_used"):
            lu = role.config["role_last_used"]
            last_used.append(f"{role.name}: {lu.get('last_used_date')} in {lu.get('region')}")
    for bucket, write, prefix in extra or []:
        hits = idx.by_name.get(("aws_s3_bucket", bucket)) or []
        add(
            _bucket_use(bucket, hits[0] if hits else None),
            write,
            prefix,
            "named in the plan's 'resources' option",
        )
    n_refs = sum(len(w["references"]) for w in workloads)
    sources = {
        **NOT_COLLECTED,
        "role_last_used": "; ".join(last_used) or "no role last use recorded",
        "workloads": f"{len(workloads)} workload(s) run as "
        f"{', '.join(principals) or 'nothing'}; {n_refs} environment reference(s)",
    }
    if extra:
        sources["option"] = f"{len(extra)} resource(s) named in the 'resources' option"
    ordered = sorted(uses.values(), key=lambda u: (u.service, u.name, u.prefix))
    return Observation(principals, ordered, workloads, unobserved, unresolved, sources)


# -- narrowing ----------------------------------------------------------------------------
def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, list) else [v]


def _statements(doc: Any) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        raise UsageError("the policy document is not a JSON object")
    st = doc.get("Statement")
    items = _as_list(st)
    if not items or not all(isinstance(s, dict) for s in items):
        raise UsageError("the policy document has no readable statements")
    return [dict(s) for s in items]


def _one(st: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [st]}


def s3_resource_kind(action: str) -> str:
    """'object', 'bucket' or 'account': what an S3 action is authorised against (by name;
    the bundled action catalogue has no resource types)."""
    a = action.lower()
    if a in _ACCOUNT_LEVEL:
        return "account"
    if "object" in a or a in _OBJECT_LEVEL_EXTRA:
        return "object"
    return "bucket"


def _s3_actions() -> tuple[str, ...]:
    return catalog().service_actions("s3")


def _probe(kind: str, bucket: str, prefix: str = "") -> str:
    if kind == "account":
        return "*"
    if kind == "object":
        return f"arn:aws:s3:::{bucket}/{prefix}{SAMPLE_KEY}"
    return f"arn:aws:s3:::{bucket}"


def _broad_s3(st: dict[str, Any], account: str | None) -> bool:
    """Does this statement, alone, grant some S3 action on a bucket outside the inventory?"""
    if st.get("Effect") != "Allow":
        return False
    pol = _one(st)
    for kind in ("bucket", "object"):
        res = _probe(kind, OTHER_BUCKET)
        cands = [a for a in _s3_actions() if s3_resource_kind(a) == kind]
        if allowed_actions([pol], res, cands, resource_account=account):
            return True
    return False


def _s3_pattern(p: str) -> bool | None:
    """True: the action pattern covers only S3; False: no S3; None: S3 and more."""
    svc = p.split(":", 1)[0].lower() if ":" in p else p.lower()
    if svc == "s3":
        return True
    if "*" in svc or "?" in svc:
        return None if glob_match(svc, "s3") else False
    return False


def narrow_s3_policy(
    doc: Any, uses: list[ObservedUse], *, account: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """The document with its broad S3 grants replaced by the observed uses; and the
    explanation, one line per decision."""
    statements = _statements(doc)
    notes: list[str] = []
    kept: list[dict[str, Any]] = []
    conditions: list[Any] = []
    broad_idx: list[int] = []
    for i, st in enumerate(statements):
        label = f"statement #{i + 1}" + (f" ({st['Sid']})" if st.get("Sid") else "")
        if not _broad_s3(st, account):
            kept.append(st)
            continue
        broad_idx.append(i)
        if "NotAction" in st or "NotResource" in st:
            raise UsageError(
                f"{label} grants S3 through NotAction/NotResource; narrow it by hand (it "
                "cannot be split into S3 and non-S3 parts reliably)"
            )
        actions = [str(a) for a in _as_list(st.get("Action"))]
        mixed = [a for a in actions if _s3_pattern(a) is None]
        if mixed:
            raise UsageError(
                f"{label} has action pattern(s) {', '.join(mixed)} that cover S3 and other "
                "services; narrow it by hand"
            )
        conditions.append(st.get("Condition"))
        rest = [a for a in actions if _s3_pattern(a) is False]
        s3_part = [a for a in actions if _s3_pattern(a)]
        if rest:
            new = {**st, "Action": rest if len(rest) > 1 else rest[0]}
            kept.append(new)
            notes.append(
                f"{label}: its S3 actions ({', '.join(s3_part)}) are removed; its other "
                f"actions ({', '.join(rest)}) are kept as they were"
            )
        else:
            notes.append(f"{label}: grants {', '.join(s3_part)} broadly; replaced")
    if not broad_idx:
        raise UsageError("no statement of the policy grants S3 beyond specific buckets")
    distinct = {json.dumps(c, sort_keys=True) for c in conditions}
    if len(distinct) > 1:
        raise UsageError("the broad S3 statements carry different conditions; narrow them by hand")
    condition = conditions[0] if conditions else None
    old = {"Version": "2012-10-17", "Statement": [statements[i] for i in broad_idx]}
    s3_uses = [u for u in uses if u.service == "s3"]
    if not s3_uses:
        raise UsageError("no S3 bucket is seen in use")
    rw_objects: list[str] = []
    r_objects: list[str] = []
    buckets: list[str] = []
    for u in s3_uses:
        obj = f"arn:aws:s3:::{u.name}/{u.prefix}*"
        wanted = [READ_OBJECT, WRITE_OBJECT] if u.write else [READ_OBJECT]
        granted = allowed_actions(
            [old], _probe("object", u.name, u.prefix), wanted, resource_account=account
        )
        lists = allowed_actions(
            [old], _probe("bucket", u.name), [LIST_BUCKET], resource_account=account
        )
        missing = [a for a in wanted if a not in granted]
        if missing:
            notes.append(
                f"{u.name}: the old policy did not grant {', '.join(missing)} on it, so "
                "neither does the new one"
            )
        if WRITE_OBJECT in granted:
            rw_objects.append(obj)
        elif READ_OBJECT in granted:
            r_objects.append(obj)
        if LIST_BUCKET in lists:
            buckets.append(f"arn:aws:s3:::{u.name}")
        mode = "read and write" if u.write else "read"
        scope = f" under prefix {u.prefix!r}" if u.prefix else ""
        where = "" if u.in_inventory else " (not in the inventory: named by an explicit S3 ARN/URI)"
        notes.append(f"{u.name}{scope}: {mode}{where}, because " + "; ".join(u.evidence))
    new_statements: list[dict[str, Any]] = []

    def grant(sid: str, actions: list[str], resources: list[str]) -> None:
        if not resources:
            return
        st: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": actions if len(actions) > 1 else actions[0],
            "Resource": sorted(set(resources)) if len(set(resources)) > 1 else resources[0],
        }
        if condition:
            st["Condition"] = copy.deepcopy(condition)
        new_statements.append(st)

    grant("ObservedObjectReadWrite", [READ_OBJECT, WRITE_OBJECT], rw_objects)
    grant("ObservedObjectRead", [READ_OBJECT], r_objects)
    grant("ObservedBucketList", [LIST_BUCKET], buckets)
    if not new_statements:
        raise UsageError("the old policy grants none of the needed actions on the used buckets")
    new_doc = {"Version": doc.get("Version") or "2012-10-17", "Statement": kept + new_statements}
    return new_doc, notes


# -- proof --------------------------------------------------------------------------------
def _examples(removed: list[dict[str, Any]], order: list[str]) -> list[dict[str, Any]]:
    """Up to MAX_EXAMPLES removed pairs, taken in turn from each resource (most powerful
    actions first), so that every bucket shows what it loses."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in removed:
        groups.setdefault(r["resource"], []).append(r)
    queues = [groups[r] for r in dict.fromkeys(order) if r in groups]
    out: list[dict[str, Any]] = []
    i = 0
    while len(out) < MAX_EXAMPLES and any(i < len(q) for q in queues):
        out += [q[i] for q in queues if i < len(q)]
        i += 1
    return out[:MAX_EXAMPLES]


def _decision(d: Decision | None) -> str:
    return d.decision if d is not None else "implicit_deny"


def prove(
    before: Any,
    after: Any,
    uses: list[ObservedUse],
    buckets: list[str],
    *,
    principal: str | None = None,
    account: str | None = None,
) -> dict[str, Any]:
    """Compare ``before`` and ``after`` with the IAM evaluator (see the module docstring).
    ``buckets``: the account's bucket names to sample (the used ones come first)."""
    who = Principal.from_arn(principal) if principal else ANALYSIS_PRINCIPAL

    def decide(doc: Any, resource: str, actions: Iterable[str]) -> dict[str, Decision]:
        return allowed_actions(
            [doc], resource, actions, principal=who, resource_account=account, include_denied=True
        )

    observed: list[dict[str, Any]] = []
    for u in uses:
        if u.service != "s3":
            continue
        pairs = [
            (READ_OBJECT, _probe("object", u.name, u.prefix)),
            (LIST_BUCKET, _probe("bucket", u.name)),
        ]
        if u.write:
            pairs.append((WRITE_OBJECT, _probe("object", u.name, u.prefix)))
        for action, res in pairs:
            was = decide(before, res, [action])[action]
            now = decide(after, res, [action])[action]
            kept = (not was.possibly_allowed) or (
                now.allowed if was.allowed else now.possibly_allowed
            )
            observed.append(
                {
                    "action": action,
                    "resource": res,
                    "before": was.decision,
                    "after": now.decision,
                    "still_allowed": kept,
                    "evidence": u.evidence,
                }
            )
    used = [u.name for u in uses if u.service == "s3"]
    ordered = list(dict.fromkeys([*used, *sorted(buckets)]))
    sampled = ordered[:MAX_SAMPLED_BUCKETS]
    resources: list[tuple[str, str]] = [("account", "*")]
    for b in [*sampled, OTHER_BUCKET]:
        resources += [("bucket", _probe("bucket", b)), ("object", _probe("object", b))]
    removed: list[dict[str, Any]] = []
    added: list[dict[str, Any]] = []
    by_resource: dict[str, int] = {}
    checked = 0
    for kind, res in resources:
        acts = [a for a in _s3_actions() if s3_resource_kind(a) == kind]
        old = decide(before, res, acts)
        new = decide(after, res, acts)
        for a in acts:
            checked += 1
            o, n = old[a], new[a]
            if o.possibly_allowed and not n.possibly_allowed:
                removed.append({"action": a, "resource": res, "level": catalog().level(a)})
                by_resource[res] = by_resource.get(res, 0) + 1
            elif n.possibly_allowed and not o.possibly_allowed:
                added.append({"action": a, "resource": res})
    removed.sort(key=lambda x: (_LEVEL_ORDER.get(str(x["level"]), 9), x["action"]))
    # Other services: every action of every service either document names (and a made-up
    # action only a wildcard grants), on "*" and on the resources either document names,
    # decides the same before and after.
    both = [*_statements(before), *_statements(after)]
    other_services = sorted(
        {
            str(a).split(":", 1)[0].lower()
            for st in both
            for a in _as_list(st.get("Action"))
            if ":" in str(a) and _s3_pattern(str(a)) is False and "*" not in str(a).split(":")[0]
        }
    )
    named = sorted({str(r) for st in both for r in _as_list(st.get("Resource"))} | {"*"})
    changed: list[dict[str, str]] = []
    for svc in [*other_services, PROBE_SERVICE]:
        svc_acts = catalog().service_actions(svc) or (f"{svc}:AnyAction",)
        for res in named:
            old = decide(before, res, svc_acts)
            new = decide(after, res, svc_acts)
            changed += [
                {
                    "action": a,
                    "resource": res,
                    "before": _decision(old[a]),
                    "after": _decision(new[a]),
                }
                for a in svc_acts
                if old[a].decision != new[a].decision
            ]
    return {
        "principal": principal or "(analysis principal)",
        "observed": observed,
        "all_observed_allowed": all(o["still_allowed"] for o in observed),
        "removed": {
            "count": len(removed),
            "pairs_checked": checked,
            "buckets_sampled": len(sampled),
            "buckets_total": len(ordered),
            "other_bucket_probe": f"arn:aws:s3:::{OTHER_BUCKET} stands for any bucket outside "
            "the inventory (the old policy also reached buckets of other accounts)",
            "by_resource": dict(sorted(by_resource.items())),
            "examples": _examples(removed, [r for _, r in resources]),
            "pairs": removed,
        },
        "added": added,
        "other_services": other_services,
        "other_services_changed": changed[:MAX_EXAMPLES],
        "holds": bool(observed)
        and all(o["still_allowed"] for o in observed)
        and not added
        and not changed,
    }


# -- the report ---------------------------------------------------------------------------
def holders(res: Resource, lookup: Lookup) -> list[str]:
    """The principals a policy applies to: the managed policy's attachments (roles, users,
    groups), or the principal itself for its inline policies."""
    if res.type != "aws_iam_policy":
        return [res.uid]
    out = []
    for t in ("aws_iam_role", "aws_iam_user", "aws_iam_group"):
        for p in lookup(t):
            if res.uid in (p.config.get("managed_policy_arns") or []):
                out.append(p.uid)
    return sorted(out)


def policy_diff(before: Any, after: Any, name: str) -> str:
    a = json.dumps(before, indent=2, sort_keys=False).splitlines()
    b = json.dumps(after, indent=2, sort_keys=False).splitlines()
    return "\n".join(difflib.unified_diff(a, b, f"{name} (before)", f"{name} (after)", lineterm=""))


def _check_after(res: Resource, documents: dict[str, Any]) -> dict[str, Any]:
    """Run the finding's check on a copy of the resource that holds the new documents."""
    from stratusec.checks.inventory import Inventory
    from stratusec.checks.registry import get_check
    from stratusec.checks.runner import run_checks

    config = copy.deepcopy(res.config)
    if res.type == "aws_iam_policy":
        config["policy"] = next(iter(documents.values()))
    else:
        config["inline_policies"] = {**(config.get("inline_policies") or {}), **documents}
    twin = res.model_copy(update={"config": config})
    report = run_checks(Inventory([twin]), [get_check(CHECK_ID)])
    got = [r for r in report.results if r.resource_uid == res.uid]
    if report.errors or not got:
        return {"status": "error", "message": str(report.errors or "no result")}
    return {"status": got[0].status.value, "message": got[0].message}


def _documents(res: Resource) -> dict[str, Any]:
    """The documents to narrow: the managed policy's default version, or the principal's
    inline policies that grant S3 broadly."""
    if res.type == "aws_iam_policy":
        if res.config.get("aws_managed"):
            raise UsageError(
                f"{res.name} is an AWS managed policy: its document cannot be changed; detach "
                "it and attach a customer managed policy made from this plan's document"
            )
        if not isinstance(res.config.get("policy"), dict):
            raise UsageError(f"the document of policy {res.name} was not read by the scan")
        return {res.name: res.config["policy"]}
    inline = res.config.get("inline_policies")
    if not isinstance(inline, dict):
        raise UsageError(f"the inline policies of {res.name} were not read by the scan")
    broad = {
        str(n): d
        for n, d in sorted(inline.items())
        if isinstance(d, dict) and any(_broad_s3(s, res.account) for s in _statements_or_empty(d))
    }
    if not broad:
        raise UsageError(f"no inline policy of {res.name} grants S3 broadly")
    return broad


def _statements_or_empty(doc: Any) -> list[dict[str, Any]]:
    try:
        return _statements(doc)
    except UsageError:
        return []


def least_privilege_report(
    res: Resource, lookup: Lookup, *, resources: Any = None
) -> dict[str, Any]:
    """Propose narrowed documents for a policy (or a principal's inline policies) that
    grants S3 broadly, from the principals' observed usage, and prove them.

    Returns ``{"principals", "usage", "policies": [{"name", "before", "after", "diff",
    "notes", "proof"}], "check_after", "warnings"}``. Raises ``UsageError`` when nothing
    can be proposed (no evidence, a statement that cannot be split, ...)."""
    docs = _documents(res)
    principals = holders(res, lookup)
    extra = parse_resources_option(resources, lookup) if resources is not None else None
    obs = observe_usage(principals, lookup, extra=extra)
    if not any(u.service == "s3" for u in obs.uses):
        seen = "; ".join(obs.unobserved) or "no workload runs as it"
        raise UsageError(
            f"no S3 usage is observed for {', '.join(principals) or res.name} ({seen}); "
            f"Access Advisor and CloudTrail events are not collected. Name the buckets it "
            f"needs with the 'resources' option (known buckets: "
            f"{', '.join(sorted(b.name for b in lookup('aws_s3_bucket'))) or 'none'})"
        )
    buckets = [str(b.config.get("bucket") or b.name) for b in lookup("aws_s3_bucket")]
    principal = principals[0] if len(principals) == 1 else None
    out: list[dict[str, Any]] = []
    for name, doc in docs.items():
        new, notes = narrow_s3_policy(doc, obs.uses, account=res.account)
        limit = (
            MANAGED_POLICY_MAX_CHARS
            if res.type == "aws_iam_policy"
            else INLINE_ROLE_POLICY_MAX_CHARS
        )
        size = len(re.sub(r"\s", "", json.dumps(new)))
        if size > limit:
            raise UsageError(
                f"the narrowed document of {name} has {size} characters, over IAM's limit of "
                f"{limit}"
            )
        proof = prove(doc, new, obs.uses, buckets, principal=principal, account=res.account)
        if not proof["holds"]:
            failed = {k: proof[k] for k in ("observed", "added", "other_services_changed")}
            raise UsageError(
                f"the narrowed document of {name} failed its proof: "
                f"{json.dumps(failed, default=str)[:2000]}"
            )
        out.append(
            {
                "name": name,
                "before": doc,
                "after": new,
                "diff": policy_diff(doc, new, name),
                "notes": notes,
                "proof": proof,
            }
        )
    warnings = [
        f"no usage evidence for {u}: it keeps only what is listed above" for u in obs.unobserved
    ]
    warnings += [
        f"{r['workload']}: {r['name']}={r['value']} names nothing in the inventory"
        for r in obs.unresolved
    ]
    if res.type == "aws_iam_policy":
        count = res.config.get("attachment_count")
        if isinstance(count, int) and count > len(principals):
            warnings.append(
                f"the policy has {count} attachment(s) but the scan shows {len(principals)}: "
                "the others' usage is unknown"
            )
    return {
        "resource": res.uid,
        "principals": principals,
        "usage": obs.as_dict(),
        "policies": out,
        "check_after": _check_after(res, {p["name"]: p["after"] for p in out}),
        "warnings": warnings,
    }


def proof_lines(report: dict[str, Any]) -> list[str]:
    """The report as human-readable lines (for a plan's notes)."""
    lines = [f"Usage sources: {k}: {v}" for k, v in report["usage"]["sources"].items()]
    for p in report["policies"]:
        lines += [f"{p['name']}: {n}" for n in p["notes"]]
        pr = p["proof"]
        ok = sum(1 for o in pr["observed"] if o["still_allowed"])
        lines.append(
            f"Proof (IAM evaluator, principal {pr['principal']}): {ok} of {len(pr['observed'])} "
            "observed (action, resource) pairs are still allowed: "
            + ", ".join(f"{o['action']} on {o['resource']}" for o in pr["observed"])
        )
        rm = pr["removed"]
        lines.append(
            f"Proof: of {rm['pairs_checked']} (S3 action, resource) pairs sampled over "
            f"{rm['buckets_sampled']} of the account's {rm['buckets_total']} bucket(s), the "
            f"account level and any other bucket, the old document allowed {rm['count']} that "
            "the new one does not, e.g. "
            + ", ".join(f"{e['action']} on {e['resource']}" for e in rm["examples"][:12])
        )
        lines.append(
            "Proof: the new document allows nothing the old one did not"
            + (
                f"; actions of {', '.join(pr['other_services'])} decide exactly as before"
                if pr["other_services"]
                else ""
            )
        )
    others = [u for u in report["usage"]["uses"] if u["service"] != "s3"]
    if others:
        lines.append(
            "Also seen in use, outside S3 (the policy's other statements are kept as they "
            "are): "
            + "; ".join(f"{u['name']} ({u['service']}): {', '.join(u['evidence'])}" for u in others)
        )
    ca = report["check_after"]
    lines.append(f"{CHECK_ID} on the new document(s): {ca['status']} ({ca['message']})")
    lines += [f"WARNING: {w}" for w in report["warnings"]]
    return lines
