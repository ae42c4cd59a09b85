"""Rego guardrails: policies that judge one normalized resource (live or planned).

See docs/guardrails.md. The pieces: :mod:`model` (policy records and metadata),
:mod:`lint` (Rego v1 and the guardrail contract), :mod:`loader` (bundled, user, file and
draft policies), :mod:`engine` (compile once, evaluate one resource per call),
:mod:`plan` (``terraform show -json``), :mod:`unit` (``test_`` rules), :mod:`store`
(activations) and :mod:`validate` (the test/validate operation behind the CLI and MCP).
"""

from __future__ import annotations

from stratusec.guardrails.engine import (
    Decision,
    GuardrailEngine,
    evaluate_inventory,
    guardrail_report,
    resource_input,
)
from stratusec.guardrails.loader import (
    available_policies,
    bundled_policies,
    load_policy_file,
    policy_from_source,
    resolve_policies,
    user_policies,
    user_policy_dir,
)
from stratusec.guardrails.model import GuardrailError, Policy, PolicyMeta

__all__ = [
    "Decision",
    "GuardrailEngine",
    "GuardrailError",
    "Policy",
    "PolicyMeta",
    "available_policies",
    "bundled_policies",
    "evaluate_inventory",
    "guardrail_report",
    "load_policy_file",
    "policy_from_source",
    "resolve_policies",
    "resource_input",
    "user_policies",
    "user_policy_dir",
]
