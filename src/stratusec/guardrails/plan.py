"""Resources from a Terraform plan (``terraform show -json tfplan``), as guardrail inputs.

Each managed resource becomes one input, shaped like a collected resource::

    {"resource_type": "aws_db_instance", "resource_name": "orders",
     "resource_uid": "module.db.aws_db_instance.orders[0]",
     "tags": {...tags_all, ...tags}, "config": <the planned values>,
     "region": "", "account": "", "plan": {"address": ..., "actions": [...]}}

Resources come from ``resource_changes[].change.after`` (what will exist after the apply;
resources being deleted are left out), then from ``planned_values`` (``root_module`` and
its ``child_modules``, recursively) for addresses the changes do not list. Attributes
Terraform only knows after the apply (``after_unknown``) are absent: a policy cannot
judge what is not known yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from stratusec.guardrails.model import GuardrailError

PLAN_KEYS = ("format_version", "resource_changes", "planned_values")


class PlanError(GuardrailError):
    """The file is not a Terraform plan in JSON form."""


def _tags(values: Mapping[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for key in ("tags_all", "tags"):
        v = values.get(key)
        if isinstance(v, Mapping):
            tags.update({str(k): "" if x is None else str(x) for k, x in v.items()})
    return tags


def _walk_module(module: Any, where: str) -> Iterator[Mapping[str, Any]]:
    if module is None:
        return
    if not isinstance(module, Mapping):
        raise PlanError(f"{where}: expected a module object")
    resources = module.get("resources") or []
    if not isinstance(resources, list):
        raise PlanError(f"{where}.resources: expected a list")
    for i, r in enumerate(resources):
        if not isinstance(r, Mapping):
            raise PlanError(f"{where}.resources[{i}]: expected an object")
        yield r
    children = module.get("child_modules") or []
    if not isinstance(children, list):
        raise PlanError(f"{where}.child_modules: expected a list")
    for i, child in enumerate(children):
        yield from _walk_module(child, f"{where}.child_modules[{i}]")


def _input(
    address: str, rtype: str, name: str, values: Mapping[str, Any], actions: list[str]
) -> dict[str, Any]:
    return {
        "resource_type": rtype,
        "resource_name": name,
        "resource_uid": address,
        "tags": _tags(values),
        "config": dict(values),
        "region": str(values.get("region") or ""),
        "account": "",
        "plan": {"address": address, "actions": actions},
    }


def plan_inputs(doc: Any, source: str = "plan") -> list[dict[str, Any]]:
    """The guardrail inputs of a parsed ``terraform show -json`` document."""
    if not isinstance(doc, Mapping):
        raise PlanError(
            f"{source} is not a Terraform plan: expected a JSON object from "
            "'terraform show -json tfplan'"
        )
    if not any(k in doc for k in ("resource_changes", "planned_values")):
        if "values" in doc and "format_version" in doc:
            raise PlanError(
                f"{source} is Terraform state ('terraform show -json' without a plan file), "
                "not a plan: run 'terraform plan -out tfplan' and "
                "'terraform show -json tfplan'"
            )
        found = ", ".join(sorted(str(k) for k in doc)[:8]) or "nothing"
        raise PlanError(
            f"{source} is not a Terraform plan: it has none of "
            f"{', '.join(PLAN_KEYS)} (found {found}); produce it with "
            "'terraform show -json tfplan'"
        )
    out: dict[str, dict[str, Any]] = {}
    deleted: set[str] = set()
    changes = doc.get("resource_changes") or []
    if not isinstance(changes, list):
        raise PlanError(f"{source}: resource_changes must be a list")
    for i, rc in enumerate(changes):
        where = f"{source}: resource_changes[{i}]"
        if not isinstance(rc, Mapping):
            raise PlanError(f"{where}: expected an object")
        if rc.get("mode", "managed") != "managed":
            continue
        address, rtype, name = rc.get("address"), rc.get("type"), rc.get("name")
        if not all(isinstance(x, str) and x for x in (address, rtype, name)):
            raise PlanError(f"{where}: needs address, type and name")
        assert isinstance(address, str) and isinstance(rtype, str) and isinstance(name, str)
        change = rc.get("change")
        if not isinstance(change, Mapping):
            raise PlanError(f"{where} ({address}): has no change object")
        actions = [str(a) for a in change.get("actions") or []]
        after = change.get("after")
        if after is None:
            deleted.add(address)
            continue
        if not isinstance(after, Mapping):
            raise PlanError(f"{where} ({address}): change.after must be an object")
        out[address] = _input(address, rtype, name, after, actions)
    planned = doc.get("planned_values")
    if planned is not None:
        if not isinstance(planned, Mapping):
            raise PlanError(f"{source}: planned_values must be an object")
        for r in _walk_module(planned.get("root_module"), f"{source}: planned_values.root_module"):
            if r.get("mode", "managed") != "managed":
                continue
            address, rtype, name = r.get("address"), r.get("type"), r.get("name")
            if not all(isinstance(x, str) and x for x in (address, rtype, name)):
                raise PlanError(f"{source}: a planned_values resource needs address, type, name")
            assert isinstance(address, str) and isinstance(rtype, str) and isinstance(name, str)
            if address in out or address in deleted:
                continue
            values = r.get("values") or {}
            if not isinstance(values, Mapping):
                raise PlanError(f"{source}: {address}: values must be an object")
            out[address] = _input(address, rtype, name, values, [])
    return list(out.values())


def parse_plan_text(text: str, source: str = "plan") -> list[dict[str, Any]]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        col = getattr(exc, "colno", None)
        where = f"{source}:{line}:{col}" if line else source
        msg = getattr(exc, "msg", str(exc))
        raise PlanError(
            f"{where}: not a Terraform plan: the file is not JSON ({msg}); produce it with "
            "'terraform show -json tfplan > tfplan.json'"
        ) from None
    return plan_inputs(doc, source)


def load_plan(path: str | Path) -> list[dict[str, Any]]:
    """The guardrail inputs of a ``terraform show -json`` file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"no such plan file: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"cannot read plan {p}: {exc}") from None
    return parse_plan_text(text, str(p))
