"""IAM policy evaluator: AWS's documented policy evaluation logic over collected policies,
with conditions on keys unknown at analysis time reported as ``conditional``.

    from stratusec.iam import Principal, Request, evaluate, parse_policy

    alice = Principal.from_arn("arn:aws:iam::111111111111:user/alice", tags={})
    d = evaluate(
        Request(alice, "s3:GetObject", "arn:aws:s3:::data/report.csv",
                resource_account="111111111111"),
        identity_policies=[parse_policy(doc, "data-pipeline-s3")],
    )
    d.decision  # "allow" | "deny" | "implicit_deny" | "conditional"
    d.reason    # "s3:GetObject on ... is allowed: policy data-pipeline-s3 statement 0 ..."

See docs/iam-evaluator.md.
"""

from stratusec.iam.actions import (
    ActionCatalog,
    access_category,
    access_level,
    catalog,
    expand_actions,
)
from stratusec.iam.context import canonical_key
from stratusec.iam.decision import Decision, DecisionValue, Gate, PolicyKind, StatementRef
from stratusec.iam.evaluator import (
    RCP_SERVICES,
    TRUST_ACTIONS,
    evaluate,
    resource_policy_requirement,
)
from stratusec.iam.policy import Policy, PolicyInput, Statement, as_policies, parse_policy
from stratusec.iam.queries import admin_decision, allowed_actions, is_admin, trust_allows
from stratusec.iam.request import ABSENT, Principal, PrincipalType, Request

__all__ = [
    "ABSENT",
    "RCP_SERVICES",
    "TRUST_ACTIONS",
    "ActionCatalog",
    "Decision",
    "DecisionValue",
    "Gate",
    "Policy",
    "PolicyInput",
    "PolicyKind",
    "Principal",
    "PrincipalType",
    "Request",
    "Statement",
    "StatementRef",
    "access_category",
    "access_level",
    "admin_decision",
    "allowed_actions",
    "as_policies",
    "canonical_key",
    "catalog",
    "evaluate",
    "expand_actions",
    "is_admin",
    "parse_policy",
    "resource_policy_requirement",
    "trust_allows",
]
