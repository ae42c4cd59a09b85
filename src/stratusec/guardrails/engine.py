"""Evaluate guardrail policies: compile once, judge one resource per call.

Every policy sees one resource as ``input``::

    {"resource_type": "aws_db_instance", "resource_name": "orders-db",
     "tags": {"environment": "production"}, "config": {"storage_encrypted": false, ...},
     "resource_uid": "...", "region": "us-east-1", "account": "123456789012"}

The policies a resource type needs are grouped behind one generated entrypoint (an
object ``{package: deny set}``), so a resource costs one call whatever the number of
policies, and policies for other types cost nothing. ``input.config`` is trimmed to the
attributes the group's policies read (``input.config.<name>``), unless a policy uses
``input.config`` as a whole. When a group call fails, the group's policies are evaluated
one by one so that one broken policy reports an error and the others still judge.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stratusec.checks.model import CheckResult, Severity, Status
from stratusec.checks.runner import RunReport
from stratusec.governance.rego import _strip
from stratusec.guardrails.compiler import HELPERS_NAME, Bundle, helpers_source
from stratusec.guardrails.loader import check_unique
from stratusec.guardrails.model import Policy
from stratusec.inventory.models import Resource

EVAL_PACKAGE = "stratusec.guardrails_eval"
EVAL_MODULE = "stratusec/guardrails/_evaluate.rego"
GROUP_ENTRYPOINT = "stratusec/guardrails_eval/group"
INPUT_KEYS = (
    "resource_type",
    "resource_name",
    "tags",
    "config",
    "resource_uid",
    "region",
    "account",
)
_INPUT_TOKEN = re.compile(r"(?<![\w.])input\b")
_CONFIG_ATTR = re.compile(r"\.config\.([A-Za-z_]\w*)")
_CONFIG_INDEX = re.compile(r'\.config\[\s*"([^"\\]+)"\s*\]')
_TOP_FIELD = re.compile(r"\.([A-Za-z_]\w*)")

PASS = "pass"  # noqa: S105 - a status, not a password
DENY = "deny"
ERROR = "error"


def resource_input(item: Resource | Mapping[str, Any]) -> dict[str, Any]:
    """The ``input`` document for a collected :class:`Resource` (or an input mapping, such
    as a planned resource, passed through with the missing keys filled in)."""
    if isinstance(item, Resource):
        return {
            "resource_type": item.type,
            "resource_name": item.name,
            "tags": item.tags,
            "config": item.config,
            "resource_uid": item.uid,
            "region": item.region,
            "account": item.account,
        }
    d = dict(item)
    d.setdefault("resource_name", "")
    d.setdefault("tags", {})
    d.setdefault("config", {})
    d.setdefault("resource_uid", d.get("resource_name", ""))
    d.setdefault("region", "")
    d.setdefault("account", "")
    if not isinstance(d.get("resource_type"), str) or not d["resource_type"]:
        raise ValueError("a guardrail input needs a resource_type")
    return d


# Helpers of data.stratusec.lib that take input.config whole, and what they read of it.
_HELPER_READS = {
    "ingress_rules": frozenset(
        {
            "ingress",
            "type",
            "protocol",
            "from_port",
            "to_port",
            "cidr_blocks",
            "ipv6_cidr_blocks",
            "ip_protocol",
            "cidr_ipv4",
            "cidr_ipv6",
        }
    ),
}
# Rules of data.stratusec.lib that read input.config, and what they read of it.
_HELPER_RULE_READS = {
    "ingress": _HELPER_READS["ingress_rules"],
    "world_ingress": _HELPER_READS["ingress_rules"],
}
_LIB_IMPORT = re.compile(r"^import\s+data\.stratusec\.lib(?:\s+as\s+(\w+))?\s*$", re.M)


def input_reads(source: str) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """What a policy reads of its input: the top-level fields (``input.tags``, ...) and
    the ``input.config`` attributes; None for either when it may read anything (it uses
    ``input`` or ``input.config`` as a value, e.g. ``c := input.config``)."""
    stripped = _strip(source)
    fields: set[str] = set()
    keys: set[str] = set()
    for alias in {m.group(1) or "lib" for m in _LIB_IMPORT.finditer(stripped)}:
        call = re.compile(
            rf"(?<![\w.]){re.escape(alias)}\.(\w+)\(\s*input\.resource_type\s*,\s*"
            r"input\.config\s*\)"
        )
        for m in call.finditer(stripped):
            reads = _HELPER_READS.get(m.group(1))
            if reads is not None:
                fields |= {"resource_type", "config"}
                keys |= reads
                stripped = stripped[: m.start()] + " " * (m.end() - m.start()) + stripped[m.end() :]
        rule = re.compile(rf"(?<![\w.]){re.escape(alias)}\.(\w+)\b(?!\s*\()")
        for m in rule.finditer(stripped):
            reads = _HELPER_RULE_READS.get(m.group(1))
            if reads is not None:
                fields |= {"resource_type", "config"}
                keys |= reads
    whole_config = False
    for m in _INPUT_TOKEN.finditer(stripped):
        if re.match(r"\s+as\b", stripped[m.end() :]) or re.search(
            r"\bimport\s+$", stripped[max(0, m.start() - 16) : m.start()]
        ):
            return None, None
        rest_stripped = stripped[m.end() :]
        rest = source[m.end() : m.end() + 300]
        attr = _CONFIG_ATTR.match(rest_stripped)
        index = _CONFIG_INDEX.match(rest) if not attr else None
        if attr or index:
            fields.add("config")
            keys.add((attr or index).group(1))  # type: ignore[union-attr]
            continue
        top = _TOP_FIELD.match(rest_stripped)
        if top is None:
            return None, None
        fields.add(top.group(1))
        if top.group(1) == "config":
            whole_config = True
    return frozenset(fields), None if whole_config else frozenset(keys)


def config_keys(source: str) -> frozenset[str] | None:
    """The ``input.config`` attributes a policy reads (None: it may read any)."""
    return input_reads(source)[1]


@dataclass(frozen=True, slots=True)
class Decision:
    """One policy's verdict on one resource."""

    package: str
    title: str
    severity: str
    status: str  # pass | deny | error
    messages: tuple[str, ...]
    resource_type: str
    resource_name: str
    resource_uid: str
    region: str
    account: str

    @property
    def denied(self) -> bool:
        return self.status == DENY

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.package,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "messages": list(self.messages),
            "resource_type": self.resource_type,
            "resource_name": self.resource_name,
            "resource_uid": self.resource_uid,
            "region": self.region,
            "account": self.account,
        }


@dataclass
class _Group:
    """The policies one resource type needs, compiled (on first use) into one bundle."""

    policies: list[Policy]
    keys: frozenset[str] | None = None  # config attributes (None: all)
    fields: frozenset[str] | None = None  # top-level input fields (None: all)
    bundle: Bundle | None = None

    def modules(self) -> list[tuple[str, str]]:
        items = ", ".join(f"{json.dumps(p.package)}: data.{p.package}.deny" for p in self.policies)
        modules = [(HELPERS_NAME, helpers_source())]
        used = {HELPERS_NAME}
        for p in self.policies:
            name = p.path
            while name in used:
                name = f"{name}#"
            used.add(name)
            modules.append((name, p.source))
        modules.append((EVAL_MODULE, f"package {EVAL_PACKAGE}\n\ngroup := {{{items}}}\n"))
        return modules

    def entrypoints(self) -> list[str]:
        return [GROUP_ENTRYPOINT] + [p.deny_entrypoint for p in self.policies]


@dataclass
class EngineStats:
    resources: int = 0
    calls: int = 0
    fallbacks: int = 0
    bundles: int = 0
    compile_seconds: float = 0.0
    seconds: float = 0.0
    by_status: Counter[str] = field(default_factory=Counter)


def _plain_messages(result: Mapping[str, Any]) -> bool:
    """Is every policy's result a list of strings?"""
    return all(
        isinstance(msgs, list) and all(type(m) is str for m in msgs) for msgs in result.values()
    )


def _message(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("msg"), str):
        return value["msg"]
    return json.dumps(value, sort_keys=True, default=str)


class GuardrailEngine:
    """A set of policies, compiled once. :meth:`evaluate` judges one resource.

    The policies a resource type needs form a group, compiled on first use into its own
    bundle with one entrypoint returning ``{package: deny set}`` (a bundle holding only
    the policies it needs evaluates faster than one holding all of them).
    :meth:`compile_all` compiles every group now (to validate a policy set up front).
    An engine evaluates one resource at a time per group; use :meth:`clone` for another
    thread.
    """

    def __init__(self, policies: Sequence[Policy]) -> None:
        self.policies = list(policies)
        check_unique(self.policies)
        self.stats = EngineStats()
        self._lock = threading.Lock()
        untyped = [i for i, p in enumerate(self.policies) if not p.meta.resource_types]
        types = sorted({t for p in self.policies for t in p.meta.resource_types})
        self._groups: dict[tuple[int, ...], _Group] = {}
        self._by_type: dict[str, _Group] = {}
        reads = [input_reads(p.source) for p in self.policies]

        def union(parts: list[frozenset[str] | None]) -> frozenset[str] | None:
            out: set[str] = set()
            for part in parts:
                if part is None:
                    return None
                out |= part
            return frozenset(out)

        def group_for(members: tuple[int, ...]) -> _Group:
            if members not in self._groups:
                self._groups[members] = _Group(
                    policies=[self.policies[i] for i in members],
                    keys=union([reads[i][1] for i in members]),
                    fields=union([reads[i][0] for i in members]),
                )
            return self._groups[members]

        for t in types:
            members = tuple(
                sorted(
                    {i for i, p in enumerate(self.policies) if t in p.meta.resource_types}
                    | set(untyped)
                )
            )
            self._by_type[t] = group_for(members)
        self._any: _Group | None = group_for(tuple(untyped)) if untyped else None

    # -- inspection ----------------------------------------------------------------------
    def applicable(self, resource_type: str) -> list[Policy]:
        g = self._by_type.get(resource_type, self._any)
        return list(g.policies) if g is not None else []

    @property
    def resource_types(self) -> list[str]:
        """The resource types some policy names (empty when a policy judges every type)."""
        return sorted(self._by_type)

    def clone(self) -> GuardrailEngine:
        """An independent engine over the same policies (for a second thread)."""
        return GuardrailEngine(self.policies)

    # -- compiling -----------------------------------------------------------------------
    def _bundle(self, group: _Group) -> Bundle:
        if group.bundle is None:
            with self._lock:
                if group.bundle is None:
                    t0 = time.perf_counter()
                    group.bundle = Bundle(group.modules(), group.entrypoints())
                    self.stats.bundles += 1
                    self.stats.compile_seconds += time.perf_counter() - t0
        return group.bundle

    def compile_all(self) -> GuardrailEngine:
        """Compile every group now; raises :class:`CompileError` if one does not."""
        for group in self._groups.values():
            self._bundle(group)
        return self

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(self, item: Resource | Mapping[str, Any]) -> list[Decision]:
        """Every applicable policy's decision on one resource (empty when none applies)."""
        t0 = time.perf_counter()
        inp = resource_input(item)
        group = self._by_type.get(inp["resource_type"], self._any)
        if group is None:
            return []
        bundle = self._bundle(group)
        self.stats.resources += 1
        payload = inp
        if group.fields is not None or group.keys is not None:
            fields = INPUT_KEYS if group.fields is None else group.fields
            payload = {k: inp[k] for k in fields if k in inp and k != "config"}
            if "config" in fields:
                config = inp.get("config") or {}
                payload["config"] = (
                    {k: config[k] for k in group.keys if k in config}
                    if group.keys is not None and isinstance(config, Mapping)
                    else config
                )
        self.stats.calls += 1
        value, error = bundle.query(GROUP_ENTRYPOINT, payload)
        if error is None and isinstance(value, dict) and not _plain_messages(value):
            # Not a list of plain strings per policy (objects as messages, or a string
            # split by bare quotes): read the exact values from the node tree.
            self.stats.calls += 1
            value, error = bundle.query(GROUP_ENTRYPOINT, payload, tree=True)
        if (
            error is None
            and isinstance(value, dict)
            and all(isinstance(value.get(p.package), list) for p in group.policies)
        ):
            out = [self._decision(p, inp, value[p.package], None) for p in group.policies]
        else:
            # One policy failed (or the group did): evaluate each policy on its own, so
            # that the broken one reports an error and the others still judge.
            self.stats.fallbacks += 1
            out = []
            for p in group.policies:
                self.stats.calls += 1
                v, e = bundle.query(p.deny_entrypoint, payload)
                if e is None and not isinstance(v, list):
                    e = "'deny' is undefined or not a set"
                out.append(self._decision(p, inp, v if e is None else None, e))
        for d in out:
            self.stats.by_status[d.status] += 1
        self.stats.seconds += time.perf_counter() - t0
        return out

    @staticmethod
    def _decision(
        pol: Policy, inp: Mapping[str, Any], denies: list[Any] | None, error: str | None
    ) -> Decision:
        messages: tuple[str, ...]
        if error is not None:
            status, messages = ERROR, (f"policy evaluation failed: {error}",)
        else:
            messages = tuple(sorted({_message(v) for v in denies or []}))
            status = DENY if messages else PASS
        return Decision(
            package=pol.package,
            title=pol.meta.title,
            severity=pol.meta.severity,
            status=status,
            messages=messages,
            resource_type=str(inp.get("resource_type", "")),
            resource_name=str(inp.get("resource_name", "")),
            resource_uid=str(inp.get("resource_uid", "")),
            region=str(inp.get("region", "")),
            account=str(inp.get("account", "")),
        )

    def evaluate_all(self, items: Iterable[Resource | Mapping[str, Any]]) -> list[Decision]:
        out: list[Decision] = []
        for item in items:
            out.extend(self.evaluate(item))
        return out


def evaluate_inventory(
    resources: Iterable[Resource | Mapping[str, Any]],
    policies: Sequence[Policy] | GuardrailEngine,
) -> list[Decision]:
    """Every applicable (policy, resource) decision, in resource order."""
    engine = policies if isinstance(policies, GuardrailEngine) else GuardrailEngine(policies)
    return engine.evaluate_all(resources)


def guardrail_report(
    resources: Iterable[Resource], active: Sequence[Policy] | GuardrailEngine
) -> RunReport:
    """Active guardrails as check results (``check_id = guardrail:<package>``) for the
    findings store: a deny is FAIL, a pass PASS, an evaluation error UNKNOWN (never a
    pass)."""
    report = RunReport()
    t0 = time.perf_counter()
    engine = active if isinstance(active, GuardrailEngine) else GuardrailEngine(active)
    by_package = {p.package: p for p in engine.policies}
    for pol in engine.policies:
        report.counts[pol.check_id] = Counter()
    for r in resources:
        for d in engine.evaluate(r):
            pol = by_package[d.package]
            if d.status == DENY:
                status, message = Status.FAIL, "; ".join(d.messages)
            elif d.status == PASS:
                status, message = Status.PASS, f"{r.name} passes guardrail: {pol.meta.title}"
            else:
                status, message = Status.UNKNOWN, "; ".join(d.messages)
            report.counts[pol.check_id][status.value] += 1
            report.results.append(
                CheckResult(
                    check_id=pol.check_id,
                    status=status,
                    severity=Severity(pol.meta.severity),
                    message=message,
                    evidence={
                        "guardrail": pol.package,
                        "title": pol.meta.title,
                        "messages": list(d.messages),
                        "policy_sha256": pol.sha256,
                    },
                    resource_uid=r.uid,
                    resource_type=r.type,
                    resource_name=r.name,
                    account=r.account,
                    region=r.region,
                    service=r.service,
                )
            )
    report.seconds = time.perf_counter() - t0
    return report
