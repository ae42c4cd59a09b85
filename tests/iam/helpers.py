"""Builders shared by the IAM evaluator tests."""

from __future__ import annotations

from typing import Any

from stratusec.iam import ABSENT, Principal, Request

A = "111111111111"
B = "222222222222"
V = "2012-10-17"


def doc(*statements: dict[str, Any], version: str = V) -> dict[str, Any]:
    return {"Version": version, "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def user(name: str = "alice", account: str = A, **kw: Any) -> Principal:
    kw.setdefault("tags", {})
    return Principal.from_arn(f"arn:aws:iam::{account}:user/{name}", **kw)


def role(name: str = "dev", account: str = A, **kw: Any) -> Principal:
    kw.setdefault("tags", {})
    return Principal.from_arn(f"arn:aws:iam::{account}:role/{name}", **kw)


def session(role_name: str = "dev", name: str = "s1", account: str = A, **kw: Any) -> Principal:
    kw.setdefault("tags", {})
    return Principal.from_arn(f"arn:aws:sts::{account}:assumed-role/{role_name}/{name}", **kw)


def principal_from_spec(spec: Any) -> Principal:
    """A case-table principal: an ARN (tags known empty) or an object."""
    if isinstance(spec, str):
        return Principal.from_arn(spec, tags={})
    spec = dict(spec)
    ptype = spec.pop("type", None)
    tags = spec.pop("tags", {})
    if tags == "unknown":
        tags = None
    if ptype == "anonymous":
        return Principal.anonymous()
    if ptype == "service":
        return Principal.for_service(spec["service"])
    if ptype == "federated":
        return Principal.federated_identity(spec.pop("provider"), **spec)
    arn = spec.pop("arn")
    if ptype is not None:
        return Principal(arn=arn, type=ptype, tags=tags, **spec)
    return Principal.from_arn(arn, tags=tags, **spec)


def context_from_spec(ctx: dict[str, Any] | None) -> dict[str, Any]:
    return {k: (ABSENT if v == "<absent>" else v) for k, v in (ctx or {}).items()}


def request_from_spec(spec: dict[str, Any]) -> Request:
    resource = spec.get("resource", "*")
    if "resource_account" in spec:
        racct = spec["resource_account"]
    elif resource.startswith("arn:aws:s3:::"):
        racct = A
    else:
        racct = None  # from the ARN
    return Request(
        principal_from_spec(spec["principal"]),
        spec["action"],
        resource,
        resource_account=racct,
        resource_tags=spec.get("resource_tags"),
        context=context_from_spec(spec.get("context")),
    )
