"""Privilege-escalation edges (``CAN_ESCALATE``): which principal can gain the rights of a
more privileged one, and how, along the documented paths of the pathfinding.cloud catalog
(``../shared/reference/pathfinding-cloud``; docs/privesc.md lists every path and whether
it is detected).

    from stratusec.graph.privesc import escalation_edges
    rows = escalation_edges(inventory)   # [{"type": "CAN_ESCALATE", "from", "to", ...}]

Evaluated, not pattern-matched: every permission a path needs is judged by the IAM
evaluator for the source principal (identity policies + permissions boundary, as
``principal_policies`` resolves them) against the specific resource (``iam:PassRole``
against the role passed, ``iam:CreatePolicyVersion`` against the policy,
``lambda:UpdateFunctionCode`` against the function ...), with the condition keys the
attacker controls filled in (``iam:PassedToService``, ``iam:PolicyARN``, ``ecs:cluster``).
An explicit Deny or a boundary that does not grant blocks the path; a condition on a key
unknown here makes the edge ``conditional`` (the keys are in ``props.condition_keys``).

Edges
-----
``from``: the IAM user or role that can escalate (principals that are certainly
admin-equivalent already are skipped). ``to``:

* the **principal whose rights are gained** (the role passed to a service, the role an
  existing function / stack / notebook / instance runs as, the user whose credentials
  are created, the role assumed or whose trust policy is rewritten, the role or user whose
  policies are rewritten before taking it over);
* the **account node** (``arn:<partition>:iam::<account>:root``) when a principal can
  rewrite its *own* permissions (self-escalation: policy versions, inline or attached
  policies, groups): it becomes administrator of the account.

Properties: ``method`` (the permissions, as the catalog names the path), ``path_id`` (the
catalog id), ``reason`` (each permission's decision with the statements that allow it,
then why the target is privileged), ``conditional``, and ``props`` (``family``,
``target_privilege``, ``via`` (the resources used: function, stack, policy, group ...),
``region``, ``permissions`` (per permission: action, resource, decision, allowing
statements), ``condition_keys``, ``unread_policies``). One edge per (from, to, path id);
further resources giving the same edge are added to ``via``.

"Privileged" (first cut): a target is privileged when it is admin-equivalent
(``admin_decision`` over its identity policies within its boundary; conditional admin
counts, conditionally, except admin that needs MFA for roles that services run as) or
when it can itself escalate to admin (found by iterating: targets reached in one round
are targets in the next). Self-escalation and "rewrite another principal's policies"
paths are reported when, after the change, the principal is admin-equivalent within its
boundary (AdministratorAccess or an admin-equivalent managed policy for attach paths).

Performance: each principal's identity policies are reduced once to the set of
escalation-relevant actions some Allow statement can match (``Policy.for_service``), so a
principal is only evaluated for the paths whose actions it can possibly perform; decisions
are memoised per (principal, action, resource, context).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final

from stratusec.iam import (
    Decision,
    Policy,
    Principal,
    Request,
    Statement,
    admin_decision,
    evaluate,
    parse_policy,
    trust_allows,
)
from stratusec.iam.principals import PrincipalPolicies, principal_policies
from stratusec.inventory.models import Resource

if TYPE_CHECKING:
    from stratusec.checks.inventory import Inventory

EDGE_TYPE: Final = "CAN_ESCALATE"
PROBE_NAME: Final = "stratusec-probe"
MAX_ROUNDS: Final = 8
MAX_VIA: Final = 20
# Keys an attacker sets in its own requests.
BASE_CONTEXT: Final[Mapping[str, Any]] = {"aws:SecureTransport": True}
ADMIN_DOC: Final[Mapping[str, Any]] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
_VAR = re.compile(r"\$\{[^}]*\}")


# --- the detector table ------------------------------------------------------------------


@dataclass(frozen=True)
class Need:
    """One permission a path needs and what it is evaluated on.

    ``on``: ``self`` (the source's own ARN), ``target`` (the role / user whose rights are
    gained), ``group`` / ``policy`` (the group or managed policy changed), ``resource``
    (the existing resource the path uses), ``admin_role`` (a StackSet administration
    role), ``*``, or ``new:<ARN template>`` for a resource the attacker creates and names
    (``{partition} {region} {account} {name} {cluster_name}``). ``context``: condition
    keys the attacker sets (values are templates: ``{service}``, ``{cluster}`` ...)."""

    action: str
    on: str = "target"
    context: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PathSpec:
    """How one catalog path is detected: its family (the detector function) and the
    family's parameters."""

    id: str
    family: str
    needs: tuple[Need, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def method(self) -> str:
        return "+".join(dict.fromkeys(n.action for n in self.needs))

    @cached_property
    def actions(self) -> frozenset[str]:
        return frozenset(n.action.lower() for n in self.needs)

    def describe(self) -> str:
        """What is checked beyond the family's rule, for docs/privesc.md."""
        parts = []
        p = self.params
        if p.get("services"):
            parts.append("a privileged role trusting " + " or ".join(p["services"]))
        if p.get("prereq"):
            parts.append(PREREQ_TEXT[p["prereq"]])
        if p.get("rtype"):
            extra = f" ({p['filter_text']})" if p.get("filter_text") else ""
            parts.append(f"an existing `{p['rtype']}`{extra} running as a privileged role")
        if self.note:
            parts.append(self.note)
        perms = ", ".join(f"`{n.action}` on {_on_text(n.on)}" for n in self.needs)
        return "; ".join(parts) + ("." if parts else "") + f" Evaluates {perms}."


def _on_text(on: str) -> str:
    if on.startswith("new:"):
        return "the new resource"
    return {
        "self": "itself",
        "target": "the target principal",
        "group": "the group",
        "policy": "the policy",
        "resource": "the resource",
        "instance": "the instance",
        "admin_role": "the administration role",
        "*": "`*`",
    }.get(on, f"`{on}`")


def _n(action: str, on: str = "target", **context: str) -> Need:
    return Need(action, on, tuple(sorted(context.items())))


def _pass(service: str) -> Need:
    return _n("iam:PassRole", "target", **{"iam:PassedToService": service})


_ARN = "arn:{partition}"
_FN = f"new:{_ARN}:lambda:{{region}}:{{account}}:function:{{name}}"
_ESM = f"new:{_ARN}:lambda:{{region}}:{{account}}:event-source-mapping:{{name}}"
_EC2_INSTANCE = f"new:{_ARN}:ec2:{{region}}:{{account}}:instance/{{name}}"
_SPOT = f"new:{_ARN}:ec2:{{region}}:{{account}}:spot-instances-request/{{name}}"
_ECS_CLUSTER = f"new:{_ARN}:ecs:{{region}}:{{account}}:cluster/{{name}}"
_ECS_TASKDEF = f"new:{_ARN}:ecs:{{region}}:{{account}}:task-definition/{{name}}:1"
_ECS_SERVICE = f"new:{_ARN}:ecs:{{region}}:{{account}}:service/{{cluster_name}}/{{name}}"
_CFN_STACK = (
    f"new:{_ARN}:cloudformation:{{region}}:{{account}}:stack/{{name}}/"
    "00000000-0000-0000-0000-000000000000"
)
_CFN_STACKSET = (
    f"new:{_ARN}:cloudformation:{{region}}:{{account}}:stackset/{{name}}:"
    "00000000-0000-0000-0000-000000000000"
)
_GLUE = f"new:{_ARN}:glue:{{region}}:{{account}}"
_CB_PROJECT = f"new:{_ARN}:codebuild:{{region}}:{{account}}:project/{{name}}"
_SM = f"new:{_ARN}:sagemaker:{{region}}:{{account}}"
_DP = f"new:{_ARN}:datapipeline:{{region}}:{{account}}:pipeline/{{name}}"
_APPRUNNER = f"new:{_ARN}:apprunner:{{region}}:{{account}}:service/{{name}}/0000"
_AGENTCORE = f"new:{_ARN}:bedrock-agentcore:{{region}}:{{account}}:code-interpreter/{{name}}"
_ECS_CTX = {"ecs:cluster": "{cluster}"}

# Extra paths (not in the catalog), detected by the same families.
EXTRA_IDS: Final = ("stratusec-iam-001",)

PATHS: tuple[PathSpec, ...] = (
    # -- self-escalation: rewrite own permissions -> the account node ----------------------
    PathSpec(
        "iam-001",
        "self",
        (_n("iam:CreatePolicyVersion", "policy"),),
        {"kind": "version"},
        note="customer managed policy attached to the principal or one of its groups",
    ),
    PathSpec(
        "iam-005",
        "self",
        (_n("iam:PutRolePolicy", "self"),),
        {"kind": "put", "types": ("aws_iam_role",)},
    ),
    PathSpec(
        "iam-007",
        "self",
        (_n("iam:PutUserPolicy", "self"),),
        {"kind": "put", "types": ("aws_iam_user",)},
    ),
    PathSpec(
        "iam-008",
        "self",
        (_n("iam:AttachUserPolicy", "self"),),
        {"kind": "attach", "types": ("aws_iam_user",)},
    ),
    PathSpec(
        "iam-009",
        "self",
        (_n("iam:AttachRolePolicy", "self"),),
        {"kind": "attach", "types": ("aws_iam_role",)},
    ),
    PathSpec(
        "iam-010",
        "self",
        (_n("iam:AttachGroupPolicy", "group"),),
        {"kind": "group_attach", "types": ("aws_iam_user",)},
        note="a group the user belongs to",
    ),
    PathSpec(
        "iam-011",
        "self",
        (_n("iam:PutGroupPolicy", "group"),),
        {"kind": "group_put", "types": ("aws_iam_user",)},
        note="a group the user belongs to",
    ),
    PathSpec(
        "iam-013",
        "self",
        (_n("iam:AddUserToGroup", "group"),),
        {"kind": "join_group", "types": ("aws_iam_user",)},
        note="an admin-equivalent group the user is not in",
    ),
    PathSpec(
        "stratusec-iam-001",
        "self",
        (_n("iam:SetDefaultPolicyVersion", "policy"),),
        {"kind": "default_version"},
        note="a non-default version of a customer policy attached to the principal "
        "that is admin-equivalent once default",
    ),
    # -- rewrite another principal's permissions, then become it -----------------------------
    PathSpec(
        "iam-014",
        "modify",
        (_n("iam:AttachRolePolicy"), _n("sts:AssumeRole")),
        {"change": "attach", "access": "assume", "ttype": "aws_iam_role"},
    ),
    PathSpec(
        "iam-015",
        "modify",
        (_n("iam:AttachUserPolicy"), _n("iam:CreateAccessKey")),
        {"change": "attach", "access": "access_key", "ttype": "aws_iam_user"},
    ),
    PathSpec(
        "iam-016",
        "modify",
        (_n("iam:CreatePolicyVersion", "policy"), _n("sts:AssumeRole")),
        {"change": "version", "access": "assume", "ttype": "aws_iam_role"},
    ),
    PathSpec(
        "iam-017",
        "modify",
        (_n("iam:PutRolePolicy"), _n("sts:AssumeRole")),
        {"change": "put", "access": "assume", "ttype": "aws_iam_role"},
    ),
    PathSpec(
        "iam-018",
        "modify",
        (_n("iam:PutUserPolicy"), _n("iam:CreateAccessKey")),
        {"change": "put", "access": "access_key", "ttype": "aws_iam_user"},
    ),
    PathSpec(
        "iam-019",
        "modify",
        (_n("iam:AttachRolePolicy"), _n("iam:UpdateAssumeRolePolicy")),
        {"change": "attach", "access": "update_trust", "ttype": "aws_iam_role"},
    ),
    PathSpec(
        "iam-020",
        "modify",
        (_n("iam:CreatePolicyVersion", "policy"), _n("iam:UpdateAssumeRolePolicy")),
        {"change": "version", "access": "update_trust", "ttype": "aws_iam_role"},
    ),
    PathSpec(
        "iam-021",
        "modify",
        (_n("iam:PutRolePolicy"), _n("iam:UpdateAssumeRolePolicy")),
        {"change": "put", "access": "update_trust", "ttype": "aws_iam_role"},
    ),
    # -- take over an existing privileged principal -----------------------------------------
    PathSpec(
        "sts-001",
        "access",
        (_n("sts:AssumeRole"),),
        {"access": "assume", "ttype": "aws_iam_role"},
        note="the trust policy allows the source (same-account trust naming it needs no "
        "identity permission)",
    ),
    PathSpec(
        "iam-012",
        "access",
        (_n("iam:UpdateAssumeRolePolicy"),),
        {"access": "update_trust", "ttype": "aws_iam_role"},
        note="then a trust policy naming the source must let it assume the role",
    ),
    PathSpec(
        "iam-002",
        "access",
        (_n("iam:CreateAccessKey"),),
        {"access": "access_key", "ttype": "aws_iam_user"},
        note="target user has fewer than 2 access keys",
    ),
    PathSpec(
        "iam-003",
        "access",
        (_n("iam:CreateAccessKey"), _n("iam:DeleteAccessKey")),
        {"access": "access_key_rotate", "ttype": "aws_iam_user"},
        note="target user already has 2 access keys",
    ),
    PathSpec(
        "iam-004",
        "access",
        (_n("iam:CreateLoginProfile"),),
        {"access": "create_login", "ttype": "aws_iam_user"},
        note="target user has no console password",
    ),
    PathSpec(
        "iam-006",
        "access",
        (_n("iam:UpdateLoginProfile"),),
        {"access": "update_login", "ttype": "aws_iam_user"},
        note="target user has a console password",
    ),
    # -- pass a privileged role to a new service resource ------------------------------------
    PathSpec(
        "ec2-001",
        "passrole",
        (_pass("ec2.amazonaws.com"), _n("ec2:RunInstances", _EC2_INSTANCE)),
        {"services": ("ec2.amazonaws.com",), "prereq": "instance_profile"},
    ),
    PathSpec(
        "ec2-003",
        "passrole",
        (_pass("ec2.amazonaws.com"), _n("ec2:RequestSpotInstances", _SPOT)),
        {"services": ("ec2.amazonaws.com",), "prereq": "instance_profile"},
    ),
    PathSpec(
        "lambda-001",
        "passrole",
        (
            _pass("lambda.amazonaws.com"),
            _n("lambda:CreateFunction", _FN),
            _n("lambda:InvokeFunction", _FN),
        ),
        {"services": ("lambda.amazonaws.com",)},
    ),
    PathSpec(
        "lambda-002",
        "passrole",
        (
            _pass("lambda.amazonaws.com"),
            _n("lambda:CreateFunction", _FN),
            _n("lambda:CreateEventSourceMapping", _ESM),
        ),
        {"services": ("lambda.amazonaws.com",), "prereq": "event_source"},
    ),
    PathSpec(
        "lambda-006",
        "passrole",
        (
            _pass("lambda.amazonaws.com"),
            _n("lambda:CreateFunction", _FN),
            _n("lambda:AddPermission", _FN),
        ),
        {"services": ("lambda.amazonaws.com",)},
    ),
    PathSpec(
        "ecs-001",
        "passrole",
        (
            _pass("ecs-tasks.amazonaws.com"),
            _n("ecs:CreateCluster", _ECS_CLUSTER),
            _n("ecs:RegisterTaskDefinition", _ECS_TASKDEF),
            _n("ecs:CreateService", _ECS_SERVICE, **_ECS_CTX),
        ),
        {"services": ("ecs-tasks.amazonaws.com",), "prereq": "new_cluster"},
    ),
    PathSpec(
        "ecs-002",
        "passrole",
        (
            _pass("ecs-tasks.amazonaws.com"),
            _n("ecs:CreateCluster", _ECS_CLUSTER),
            _n("ecs:RegisterTaskDefinition", _ECS_TASKDEF),
            _n("ecs:RunTask", _ECS_TASKDEF, **_ECS_CTX),
        ),
        {"services": ("ecs-tasks.amazonaws.com",), "prereq": "new_cluster"},
    ),
    PathSpec(
        "ecs-003",
        "passrole",
        (
            _pass("ecs-tasks.amazonaws.com"),
            _n("ecs:RegisterTaskDefinition", _ECS_TASKDEF),
            _n("ecs:CreateService", _ECS_SERVICE, **_ECS_CTX),
        ),
        {"services": ("ecs-tasks.amazonaws.com",), "prereq": "ecs_cluster"},
    ),
    PathSpec(
        "ecs-004",
        "passrole",
        (
            _pass("ecs-tasks.amazonaws.com"),
            _n("ecs:RegisterTaskDefinition", _ECS_TASKDEF),
            _n("ecs:RunTask", _ECS_TASKDEF, **_ECS_CTX),
        ),
        {"services": ("ecs-tasks.amazonaws.com",), "prereq": "ecs_cluster"},
    ),
    PathSpec(
        "ecs-005",
        "passrole",
        (
            _pass("ecs-tasks.amazonaws.com"),
            _n("ecs:RegisterTaskDefinition", _ECS_TASKDEF),
            _n("ecs:StartTask", _ECS_TASKDEF, **_ECS_CTX),
        ),
        {"services": ("ecs-tasks.amazonaws.com",), "prereq": "ecs_container_instances"},
    ),
    PathSpec(
        "cloudformation-001",
        "passrole",
        (_pass("cloudformation.amazonaws.com"), _n("cloudformation:CreateStack", _CFN_STACK)),
        {"services": ("cloudformation.amazonaws.com",)},
    ),
    PathSpec(
        "glue-001",
        "passrole",
        (_pass("glue.amazonaws.com"), _n("glue:CreateDevEndpoint", _GLUE + ":devEndpoint/{name}")),
        {"services": ("glue.amazonaws.com",)},
    ),
    PathSpec(
        "glue-003",
        "passrole",
        (
            _pass("glue.amazonaws.com"),
            _n("glue:CreateJob", _GLUE + ":job/{name}"),
            _n("glue:StartJobRun", _GLUE + ":job/{name}"),
        ),
        {"services": ("glue.amazonaws.com",)},
    ),
    PathSpec(
        "glue-004",
        "passrole",
        (
            _pass("glue.amazonaws.com"),
            _n("glue:CreateJob", _GLUE + ":job/{name}"),
            _n("glue:CreateTrigger", _GLUE + ":trigger/{name}"),
        ),
        {"services": ("glue.amazonaws.com",)},
    ),
    PathSpec(
        "glue-005",
        "passrole",
        (
            _pass("glue.amazonaws.com"),
            _n("glue:UpdateJob", "resource"),
            _n("glue:StartJobRun", "resource"),
        ),
        {"services": ("glue.amazonaws.com",), "prereq": "glue_job"},
    ),
    PathSpec(
        "glue-006",
        "passrole",
        (
            _pass("glue.amazonaws.com"),
            _n("glue:UpdateJob", "resource"),
            _n("glue:CreateTrigger", _GLUE + ":trigger/{name}"),
        ),
        {"services": ("glue.amazonaws.com",), "prereq": "glue_job"},
    ),
    PathSpec(
        "codebuild-001",
        "passrole",
        (
            _pass("codebuild.amazonaws.com"),
            _n("codebuild:CreateProject", _CB_PROJECT),
            _n("codebuild:StartBuild", _CB_PROJECT),
        ),
        {"services": ("codebuild.amazonaws.com",)},
    ),
    PathSpec(
        "codebuild-004",
        "passrole",
        (
            _pass("codebuild.amazonaws.com"),
            _n("codebuild:CreateProject", _CB_PROJECT),
            _n("codebuild:StartBuildBatch", _CB_PROJECT),
        ),
        {"services": ("codebuild.amazonaws.com",)},
    ),
    PathSpec(
        "sagemaker-001",
        "passrole",
        (
            _pass("sagemaker.amazonaws.com"),
            _n("sagemaker:CreateNotebookInstance", _SM + ":notebook-instance/{name}"),
        ),
        {"services": ("sagemaker.amazonaws.com",)},
    ),
    PathSpec(
        "sagemaker-002",
        "passrole",
        (
            _pass("sagemaker.amazonaws.com"),
            _n("sagemaker:CreateTrainingJob", _SM + ":training-job/{name}"),
        ),
        {"services": ("sagemaker.amazonaws.com",)},
    ),
    PathSpec(
        "sagemaker-003",
        "passrole",
        (
            _pass("sagemaker.amazonaws.com"),
            _n("sagemaker:CreateProcessingJob", _SM + ":processing-job/{name}"),
        ),
        {"services": ("sagemaker.amazonaws.com",)},
    ),
    PathSpec(
        "datapipeline-001",
        "passrole",
        (
            _pass("datapipeline.amazonaws.com"),
            _n("datapipeline:CreatePipeline", "*"),
            _n("datapipeline:PutPipelineDefinition", _DP),
            _n("datapipeline:ActivatePipeline", _DP),
        ),
        {"services": ("datapipeline.amazonaws.com", "elasticmapreduce.amazonaws.com")},
    ),
    PathSpec(
        "apprunner-001",
        "passrole",
        (_pass("tasks.apprunner.amazonaws.com"), _n("apprunner:CreateService", _APPRUNNER)),
        {"services": ("tasks.apprunner.amazonaws.com",)},
    ),
    PathSpec(
        "bedrock-001",
        "passrole",
        (
            _pass("bedrock-agentcore.amazonaws.com"),
            _n("bedrock-agentcore:CreateCodeInterpreter", _AGENTCORE),
            _n("bedrock-agentcore:StartCodeInterpreterSession", _AGENTCORE),
            _n("bedrock-agentcore:InvokeCodeInterpreter", _AGENTCORE),
        ),
        {"services": ("bedrock-agentcore.amazonaws.com",)},
    ),
    PathSpec(
        "cloudformation-003",
        "stackset_new",
        (
            _n(
                "iam:PassRole",
                "admin_role",
                **{"iam:PassedToService": "cloudformation.amazonaws.com"},
            ),
            _n("cloudformation:CreateStackSet", _CFN_STACKSET),
            _n("cloudformation:CreateStackInstances", _CFN_STACKSET),
        ),
        note="an administration role trusting cloudformation.amazonaws.com that may "
        "assume the (privileged) execution role",
    ),
    # -- use an existing resource that runs as a privileged role -----------------------------
    PathSpec(
        "lambda-003",
        "existing",
        (_n("lambda:UpdateFunctionCode", "resource"),),
        {
            "rtype": "aws_lambda_function",
            "filter": "lambda_triggered",
            "filter_text": "invoked by something: a resource policy or a function URL",
        },
    ),
    PathSpec(
        "lambda-004",
        "existing",
        (_n("lambda:UpdateFunctionCode", "resource"), _n("lambda:InvokeFunction", "resource")),
        {"rtype": "aws_lambda_function"},
    ),
    PathSpec(
        "lambda-005",
        "existing",
        (_n("lambda:UpdateFunctionCode", "resource"), _n("lambda:AddPermission", "resource")),
        {"rtype": "aws_lambda_function"},
    ),
    PathSpec(
        "glue-002",
        "existing",
        (_n("glue:UpdateDevEndpoint", "resource"),),
        {"rtype": "aws_glue_dev_endpoint", "filter": "endpoint_live", "filter_text": "not failed"},
    ),
    PathSpec(
        "codebuild-002",
        "existing",
        (_n("codebuild:StartBuild", "resource"),),
        {"rtype": "aws_codebuild_project"},
    ),
    PathSpec(
        "codebuild-003",
        "existing",
        (_n("codebuild:StartBuildBatch", "resource"),),
        {
            "rtype": "aws_codebuild_project",
            "filter": "batch_project",
            "role": "batch_role",
            "filter_text": "configured for batch builds",
        },
    ),
    PathSpec(
        "sagemaker-004",
        "existing",
        (_n("sagemaker:CreatePresignedNotebookInstanceUrl", "resource"),),
        {
            "rtype": "aws_sagemaker_notebook_instance",
            "filter": "in_service",
            "filter_text": "InService",
        },
    ),
    PathSpec(
        "sagemaker-005",
        "existing",
        (
            _n(
                "sagemaker:CreateNotebookInstanceLifecycleConfig",
                _SM + ":notebook-instance-lifecycle-config/{name}",
            ),
            _n("sagemaker:StopNotebookInstance", "resource"),
            _n("sagemaker:UpdateNotebookInstance", "resource"),
            _n("sagemaker:StartNotebookInstance", "resource"),
        ),
        {"rtype": "aws_sagemaker_notebook_instance"},
    ),
    PathSpec(
        "cloudformation-002",
        "existing",
        (_n("cloudformation:UpdateStack", "resource"),),
        {
            "rtype": "aws_cloudformation_stack",
            "filter": "stack_live",
            "filter_text": "with a service role, in a state that can be updated",
        },
    ),
    PathSpec(
        "cloudformation-005",
        "existing",
        (
            _n("cloudformation:CreateChangeSet", "resource"),
            _n("cloudformation:ExecuteChangeSet", "resource"),
        ),
        {
            "rtype": "aws_cloudformation_stack",
            "filter": "stack_live",
            "filter_text": "with a service role, in a state that can be updated",
        },
    ),
    PathSpec(
        "cloudformation-004",
        "stackset_update",
        (
            _n(
                "iam:PassRole",
                "admin_role",
                **{"iam:PassedToService": "cloudformation.amazonaws.com"},
            ),
            _n("cloudformation:UpdateStackSet", "resource"),
        ),
        {"rtype": "aws_cloudformation_stack_set"},
        note="self-managed StackSet whose execution role in this account is privileged; "
        "with no instance in this account, also cloudformation:CreateStackInstances",
    ),
    PathSpec(
        "ssm-001",
        "existing",
        (_n("ssm:StartSession", "instance"),),
        {
            "rtype": "aws_ssm_managed_instance",
            "filter": "ssm_online",
            "role": "ssm_role",
            "filter_text": "SSM agent online; the EC2 instance profile's role",
        },
    ),
    PathSpec(
        "ssm-002",
        "existing",
        (
            _n("ssm:SendCommand", "instance"),
            _n("ssm:SendCommand", f"{_ARN}:ssm:{{region}}::document/AWS-RunShellScript"),
        ),
        {
            "rtype": "aws_ssm_managed_instance",
            "filter": "ssm_online",
            "role": "ssm_role",
            "filter_text": "SSM agent online; the EC2 instance profile's role",
        },
    ),
    PathSpec(
        "ec2instanceconnect-003",
        "existing",
        (_n("ec2-instance-connect:SendSSHPublicKey", "resource"), _n("ec2:DescribeInstances", "*")),
        {
            "rtype": "aws_instance",
            "filter": "ssh_instance",
            "role": "instance_role",
            "filter_text": "running, Linux, a security group open on TCP 22",
        },
        note="the OS image (EC2 Instance Connect support) is not checked",
    ),
    PathSpec(
        "ec2-002",
        "existing",
        (
            _n("ec2:ModifyInstanceAttribute", "resource"),
            _n("ec2:StopInstances", "resource"),
            _n("ec2:StartInstances", "resource"),
        ),
        {
            "rtype": "aws_instance",
            "filter": "instance_live",
            "role": "instance_role",
            "filter_text": "not terminated, with an instance profile",
        },
    ),
)

NOT_COVERED: Final[Mapping[str, str]] = {
    "apprunner-002": "Needs existing App Runner services and their instance roles: there is "
    "no App Runner collector (moto does not emulate App Runner either).",
    "bedrock-002": "Needs existing Bedrock AgentCore code interpreters and their execution "
    "roles: there is no Bedrock AgentCore collector.",
    "ec2-004": "Needs launch templates and the instance profile each version references: the "
    "EC2 collector does not collect launch templates (nor which Auto Scaling groups launch "
    "them).",
}

PREREQ_TEXT: Final[Mapping[str, str]] = {
    "instance_profile": "the role has an instance profile",
    "event_source": "an event source exists in the region (SQS queue or DynamoDB table with a "
    "stream; Kinesis streams are not collected)",
    "ecs_cluster": "an ECS cluster exists (evaluated with `ecs:cluster` = that cluster)",
    "ecs_container_instances": "an ECS cluster with registered container instances exists",
    "new_cluster": "a new cluster (named by the attacker)",
    "glue_job": "an existing Glue job (evaluated on that job's ARN)",
}


# --- evaluation helpers ------------------------------------------------------------------


@dataclass(frozen=True)
class _Priv:
    """Why a target counts as privileged."""

    kind: str  # "admin" | "conditional admin" | "escalates"
    decision: Decision | None = None
    via: tuple[str, ...] = ()

    def ok(self, service_run: bool) -> bool:
        """Admin that needs MFA does not count for roles services run as (no MFA there)."""
        return not (service_run and self.decision is not None and self.decision.mfa_required)

    def describe(self, name: str) -> str:
        if self.kind == "escalates":
            return f"{name} can itself escalate to admin ({', '.join(self.via)})"
        assert self.decision is not None
        when = "" if self.decision.allowed else " when conditions hold"
        return f"{name} is admin-equivalent{when}: {self.decision.reason}"


@dataclass(eq=False)
class _Who:
    rec: Resource
    pp: PrincipalPolicies
    admin: Decision
    can: frozenset[str]

    @property
    def uid(self) -> str:
        return self.rec.uid

    @property
    def principal(self) -> Principal:
        return self.pp.principal

    @property
    def partition(self) -> str:
        return _partition(self.uid)


@dataclass(eq=False)
class _Group:
    rec: Resource
    policies: tuple[Policy, ...]
    admin: Decision


def _partition(arn: str) -> str:
    parts = arn.split(":", 2)
    return parts[1] if len(parts) > 2 and parts[1] else "aws"


def _sensitive() -> dict[str, frozenset[str]]:
    actions = {n.action.lower() for spec in PATHS for n in spec.needs}
    actions |= {"sts:assumerole", "iam:updateassumerolepolicy"}
    by_svc: dict[str, set[str]] = {}
    for a in actions:
        by_svc.setdefault(a.split(":", 1)[0], set()).add(a)
    return {k: frozenset(v) for k, v in by_svc.items()}


_SENSITIVE = _sensitive()


def _grants(policies: Sequence[Policy]) -> frozenset[str]:
    """The escalation-relevant actions some Allow statement of ``policies`` can match
    (ignoring resources and conditions: a cheap over-approximation for skipping)."""
    out: set[str] = set()
    for pol in policies:
        for svc, acts in _SENSITIVE.items():
            for st in pol.for_service(svc):
                if not st.allow:
                    continue
                for a in acts:
                    if a not in out and st.action_set.match(a) is not st.not_action:
                        out.add(a)
    return frozenset(out)


def _policy_key(policies: Sequence[Policy], boundary: Policy | None) -> tuple[int, ...]:
    key = tuple(id(p.statements) for p in policies)
    return (*key, -1, id(boundary.statements) if boundary is not None else 0)


def _concrete(pattern: str, fill: Mapping[str, str], service: str) -> str | None:
    """A concrete ARN an attacker could give a new resource so that ``pattern`` (a
    statement's Resource) matches it; None when the pattern is for another region or
    account."""
    parts = pattern.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    _, part, svc, region, account, rest = parts

    def wild(seg: str) -> bool:
        return "*" in seg or "?" in seg or "$" in seg

    part = fill["partition"] if wild(part) else part
    svc = service if wild(svc) else svc
    if wild(region):
        region = fill["region"]
    elif region and region != fill["region"]:
        return None
    if wild(account):
        account = fill["account"]
    elif account and account != fill["account"]:
        return None
    rest = _VAR.sub("x", rest).replace("*", "x").replace("?", "x")
    return f"arn:{part}:{svc}:{region}:{account}:{rest}"


def _best(decisions: Sequence[Decision]) -> Decision:
    """The most permissive of several decisions (allow > conditional > the rest)."""
    for d in decisions:
        if d.allowed:
            return d
    for d in decisions:
        if d.possibly_allowed:
            return d
    return decisions[0]


def _trust_for(who: _Who) -> dict[str, Any]:
    """A trust policy naming ``who`` directly (what iam:UpdateAssumeRolePolicy writes)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": who.uid}, "Action": "sts:AssumeRole"}
        ],
    }


def _key_count(user: Resource) -> int | None:
    keys = user.config.get("access_keys")
    if "access_keys" in user.unavailable or not isinstance(keys, list):
        return None
    return len(keys)


def _has_login(user: Resource) -> bool | None:
    if "login_profile" in user.unavailable:
        return None
    if user.config.get("login_profile") is not None:
        return True
    enabled = user.config.get("password_enabled")
    return bool(enabled) if enabled is not None else False


# --- the environment: inventory indexes and memoised decisions ---------------------------


class _Env:
    def __init__(self, inv: Inventory) -> None:
        self.inv = inv
        self.regions = list(inv.regions) or ["us-east-1"]
        self._checks: dict[tuple[Any, ...], Decision] = {}
        self._allows: dict[tuple[str, str], tuple[Statement, ...]] = {}
        self._admins: dict[tuple[int, ...], tuple[tuple[Any, ...], Decision]] = {}
        self._cans: dict[tuple[int, ...], tuple[tuple[Any, ...], frozenset[str]]] = {}
        self._trusts: dict[str, Policy | None] = {}
        self._service_trust: dict[tuple[str, tuple[str, ...]], Decision | None] = {}
        self.whos: dict[str, _Who] = {}
        for type_ in ("aws_iam_user", "aws_iam_role"):
            for r in inv.of_type(type_):
                pp = principal_policies(r, inv)
                if pp is None:
                    continue
                self.whos[r.uid] = _Who(
                    r, pp, self.admin_of(pp.identity, pp.boundary), self._can(pp)
                )
        self.groups: dict[str, _Group] = {}
        for g in inv.of_type("aws_iam_group"):
            pols = self._group_policies(g)
            self.groups[g.uid] = _Group(g, pols, self.admin_of(pols, None))
        self.admin_groups = [g for g in self.groups.values() if g.admin.possibly_allowed]
        # Sources: every principal not certainly admin-equivalent already.
        self.sources = [w for w in self.whos.values() if not w.admin.allowed]
        self._by_arn = {w.uid: w for w in self.sources}
        self._by_userid = {
            str(w.rec.config["unique_id"]): w for w in self.sources if w.rec.config.get("unique_id")
        }
        self._assume_capable = [w for w in self.sources if "sts:assumerole" in w.can]
        self._attach_candidates: dict[str, list[tuple[str, Policy]]] = {}

    # -- policies ---------------------------------------------------------------------------
    def _can(self, pp: PrincipalPolicies) -> frozenset[str]:
        key = _policy_key(pp.identity, pp.boundary)
        hit = self._cans.get(key)
        if hit is None:
            can = _grants(pp.identity)
            if pp.boundary is not None and can:
                can &= _grants([pp.boundary])
            # The policies are kept with the answer: their ids stay theirs.
            hit = self._cans[key] = ((*pp.identity, pp.boundary), can)
        return hit[1]

    def admin_of(self, policies: Sequence[Policy], boundary: Policy | None) -> Decision:
        """``admin_decision`` over ``policies`` within ``boundary``, memoised by content."""
        key = _policy_key(policies, boundary)
        hit = self._admins.get(key)
        if hit is None:
            d = admin_decision(list(policies), permissions_boundary=boundary)
            hit = self._admins[key] = ((*policies, boundary), d)
        return hit[1]

    def managed(self, arn: str) -> tuple[Resource, Policy] | None:
        rec = self.inv.get(arn)
        doc = rec.config.get("policy") if rec is not None else None
        if rec is None or not isinstance(doc, Mapping):
            return None
        return rec, parse_policy(doc, rec.name)

    def _group_policies(self, g: Resource) -> tuple[Policy, ...]:
        out: list[Policy] = []
        docs = g.config.get("inline_policies")
        if isinstance(docs, Mapping):
            out += [parse_policy(doc, str(name)) for name, doc in sorted(docs.items())]
        for arn in g.config.get("managed_policy_arns") or []:
            hit = self.managed(str(arn))
            if hit is not None:
                out.append(hit[1])
        return tuple(out)

    def customer_policies_of(self, who: _Who) -> list[tuple[Resource, Policy]]:
        """Customer managed policies attached to ``who`` directly or through its groups."""
        arns: list[str] = list(who.rec.config.get("managed_policy_arns") or [])
        if who.rec.type == "aws_iam_user":
            for g_uid in who.rec.targets("MEMBER_OF"):
                g = self.inv.get(g_uid)
                if g is not None:
                    arns += g.config.get("managed_policy_arns") or []
        out: list[tuple[Resource, Policy]] = []
        for arn in dict.fromkeys(str(a) for a in arns):
            hit = self.managed(arn)
            if (
                hit is not None
                and not hit[0].config.get("aws_managed")
                and ":aws:policy/" not in arn
            ):
                out.append(hit)
        return out

    def attach_candidates(self, partition: str) -> list[tuple[str, Policy]]:
        """Managed policies worth attaching: AdministratorAccess (always exists), then every
        admin-equivalent managed policy in the inventory."""
        hit = self._attach_candidates.get(partition)
        if hit is not None:
            return hit
        admin_arn = f"arn:{partition}:iam::aws:policy/AdministratorAccess"
        rec_pol = self.managed(admin_arn)
        out = [
            (admin_arn, rec_pol[1] if rec_pol else parse_policy(ADMIN_DOC, "AdministratorAccess"))
        ]
        for rec in self.inv.of_type("aws_iam_policy"):
            if rec.uid == admin_arn or rec.config.get("is_attachable") is False:
                continue
            got = self.managed(rec.uid)
            if got is not None and self.admin_of([got[1]], None).allowed:
                out.append((rec.uid, got[1]))
        self._attach_candidates[partition] = out
        return out

    def trust(self, role: Resource) -> Policy | None:
        if role.uid not in self._trusts:
            doc = role.config.get("assume_role_policy")
            self._trusts[role.uid] = (
                parse_policy(doc, f"trust policy of {role.name}")
                if isinstance(doc, Mapping)
                else None
            )
        return self._trusts[role.uid]

    def service_trust(self, role: _Who, services: tuple[str, ...]) -> Decision | None:
        """Whether one of ``services`` may assume ``role`` (the trust side alone)."""
        key = (role.uid, services)
        if key not in self._service_trust:
            found: Decision | None = None
            trust = self.trust(role.rec)
            if trust is not None:
                ds = [
                    trust_allows(
                        trust,
                        Principal.for_service(s),
                        role_arn=role.uid,
                        context={"aws:SourceAccount": role.rec.account},
                    )
                    for s in services
                ]
                d = _best(ds)
                found = d if d.possibly_allowed else None
            self._service_trust[key] = found
        return self._service_trust[key]

    def assumers(self, role: Resource) -> list[_Who]:
        """The sources the role's trust policy may allow: those it names, plus, when it
        names an account or everyone, those whose policies may allow sts:AssumeRole."""
        trust = self.trust(role)
        if trust is None:
            return []
        named: dict[str, _Who] = {}
        broad = False
        for st in trust.for_service("sts"):
            spec = st.principal
            if not st.allow or spec is None:
                continue
            if st.not_principal or spec.any or spec.accounts:
                broad = True
            for a in spec.arns:
                if (w := self._by_arn.get(a)) is not None:
                    named[w.uid] = w
            for u in spec.unique_ids:
                if (w := self._by_userid.get(u)) is not None:
                    named[w.uid] = w
        if broad:
            for w in self._assume_capable:
                named.setdefault(w.uid, w)
        return list(named.values())

    def may_name(self, role: Resource, who: _Who) -> bool:
        """Cheap test: can the role's trust policy allow ``who`` at all?"""
        trust = self.trust(role)
        if trust is None:
            return False
        for st in trust.for_service("sts"):
            if not st.allow or st.principal is None:
                continue
            if st.not_principal or st.principal.match(who.principal):
                return True
        return False

    # -- decisions --------------------------------------------------------------------------
    def check(
        self,
        who: _Who,
        action: str,
        resource: str,
        *,
        context: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        resource_policy: Any = None,
    ) -> Decision:
        key = (
            who.uid,
            action,
            resource,
            tuple(context.items()) if context else (),
            id(resource_policy),
        )
        hit = self._checks.get(key)
        if hit is None and resource_policy is None and self.nothing_allows(who, action, resource):
            hit = Decision("implicit_deny", action, resource)
            self._checks[key] = hit
        if hit is None:
            ctx = {**BASE_CONTEXT, **context} if context else BASE_CONTEXT
            rp = resource_policy if isinstance(resource_policy, Mapping) else None
            hit = evaluate(
                Request(who.principal, action, resource, resource_tags=tags, context=ctx),
                identity_policies=who.pp.identity,
                permissions_boundary=who.pp.boundary,
                resource_policy=rp,
            )
            self._checks[key] = hit
        return hit

    def nothing_allows(self, who: _Who, action: str, resource: str) -> bool:
        """Cheap exit before evaluating: no Allow statement of ``who`` can match the action
        and resource (conditions and policy variables aside), so the evaluator would answer
        implicit deny."""
        key = (who.uid, action)
        sts = self._allows.get(key)
        if sts is None:
            a = action.lower()
            svc = a.split(":", 1)[0]
            sts = tuple(
                st
                for pol in who.pp.identity
                for st in pol.for_service(svc)
                if st.allow and st.action_set.match(a) is not st.not_action
            )
            self._allows[key] = sts
        for st in sts:
            rs = st.resource_set
            if rs is None or st.not_resource or rs.templates or rs.match(resource) is not False:
                return False
        return True

    def need(
        self,
        who: _Who,
        need: Need,
        fill: Mapping[str, str],
        *,
        target: Resource | None = None,
        resource: Resource | None = None,
        arn: str | None = None,
    ) -> Decision:
        """Evaluate one ``Need`` for ``who``; ``fill`` gives the template values."""
        context = {k: v.format(**fill) for k, v in need.context}
        on = need.on
        if on.startswith("new:"):
            template = on[4:]
            generic = template.format(**{**fill, "name": PROBE_NAME})
            svc = need.action.split(":", 1)[0].lower()
            candidates = [
                generic,
                *self._derived(who, need.action, {**fill, "name": PROBE_NAME}, svc),
            ]
            return _best([self.check(who, need.action, c, context=context) for c in candidates])
        if on == "*":
            return self.check(who, need.action, "*", context=context)
        if on in ("resource", "instance") and resource is not None:
            return self.check(
                who,
                need.action,
                arn or resource.uid,
                context=context,
                tags=resource.tags,
                resource_policy=resource.config.get("policy")
                if resource.type == "aws_lambda_function"
                else None,
            )
        if target is not None:
            return self.check(who, need.action, target.uid, context=context, tags=target.tags)
        if ":" in on:  # an ARN template of a fixed resource
            return self.check(who, need.action, on.format(**fill), context=context)
        raise ValueError(f"need {need} cannot be evaluated here")

    def _derived(self, who: _Who, action: str, fill: Mapping[str, str], svc: str) -> list[str]:
        a = action.lower()
        out: list[str] = []
        for pol in who.pp.identity:
            for st in pol.for_service(svc):
                if not st.allow or st.not_resource or not st.resources:
                    continue
                if st.action_set.match(a) is st.not_action:
                    continue
                for pat in st.resources:
                    if pat == "*":
                        continue
                    c = _concrete(pat, fill, svc)
                    if c is not None and c not in out:
                        out.append(c)
                        if len(out) >= 8:
                            return out
        return out

    def fill(self, who: _Who, region: str, **extra: str) -> dict[str, str]:
        return {
            "partition": who.partition,
            "region": region,
            "account": who.rec.account,
            "name": PROBE_NAME,
            "cluster": f"arn:{who.partition}:ecs:{region}:{who.rec.account}:cluster/{PROBE_NAME}",
            "cluster_name": PROBE_NAME,
            **extra,
        }

    # -- relationships ----------------------------------------------------------------------
    def has_instance_profile(self, role: Resource) -> bool:
        if role.config.get("instance_profile_arns"):
            return True
        return any(
            r.type == "aws_iam_instance_profile" for r in self.inv.referrers(role.uid, "RUNS_AS")
        )

    def instance_role(self, inst: Resource) -> str | None:
        profiles = inst.targets("HAS_INSTANCE_PROFILE") or [
            str(inst.config.get("iam_instance_profile") or "")
        ]
        for p_uid in profiles:
            prof = self.inv.get(p_uid)
            if prof is None:
                continue
            for role in prof.targets("RUNS_AS"):
                return role
        return None

    def account_node(self, who: _Who) -> str:
        return f"arn:{who.partition}:iam::{who.rec.account}:root"


# --- edges ----------------------------------------------------------------------------------


class _Edges:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str], dict[str, Any]] = {}

    def add(self, row: dict[str, Any]) -> None:
        key = (row["from"], row["to"], row["path_id"])
        old = self.rows.get(key)
        if old is None:
            self.rows[key] = row
            return
        via = list(old["props"].get("via", []))
        for v in row["props"].get("via", []):
            if v not in via and len(via) < MAX_VIA:
                via.append(v)
        keep = row if old["conditional"] and not row["conditional"] else old
        if via:
            keep["props"]["via"] = via
        self.rows[key] = keep


def _edge(
    spec: PathSpec,
    who: _Who,
    to: str,
    decisions: Sequence[Decision],
    *,
    target_text: str,
    target_decisions: Sequence[Decision] = (),
    props: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    everything = [*decisions, *target_decisions]
    conditional = any(not d.allowed for d in everything)
    keys = sorted({k for d in everything for k in d.conditional_keys})
    out_props: dict[str, Any] = {
        "family": spec.family,
        "category": FAMILIES[spec.family].category,
        "permissions": [
            {
                "action": d.action,
                "resource": d.resource,
                "decision": d.decision,
                "allowed_by": [r.describe() for r in d.allowed_by],
            }
            for d in decisions
        ],
    }
    if keys:
        out_props["condition_keys"] = keys
    if any(d.mfa_required for d in everything):
        out_props["mfa_required"] = True
    if who.pp.unread:
        out_props["unread_policies"] = list(who.pp.unread)
    for k, v in (props or {}).items():
        if v not in (None, "", [], ()):
            out_props[k] = list(v) if isinstance(v, tuple) else v
    reason = "; ".join(d.reason for d in decisions) + f"; {target_text}"
    return {
        "type": EDGE_TYPE,
        "from": who.uid,
        "to": to,
        "method": spec.method,
        "path_id": spec.id,
        "reason": reason,
        "conditional": conditional,
        "props": out_props,
    }


# --- families ---------------------------------------------------------------------------------

Targets = Mapping[str, _Priv]
Detector = Callable[[_Env, PathSpec, Sequence[_Who], Targets, _Edges], None]


@dataclass(frozen=True)
class Family:
    detect: Detector
    once: bool  # runs once (its targets do not depend on who is privileged)
    category: str
    summary: str


_Change = tuple[list[Decision], tuple[Policy, ...], str, dict[str, Any]]


def _without(identity: Sequence[Policy], pol: Policy) -> tuple[Policy, ...]:
    return tuple(p for p in identity if not (p.statements is pol.statements and p.name == pol.name))


def _attach_changes(
    env: _Env, who: _Who, action: str, target: Resource, base: tuple[Policy, ...]
) -> Iterator[_Change]:
    """Attach AdministratorAccess (or another admin-equivalent managed policy):
    ``iam:PolicyARN`` is the policy attached. The first allowed candidate wins."""
    found: _Change | None = None
    for arn, pol in env.attach_candidates(who.partition):
        d = env.check(who, action, target.uid, context={"iam:PolicyARN": arn}, tags=target.tags)
        if d.allowed:
            yield [d], (*base, pol), target.uid, {"policy_attached": arn}
            return
        if d.possibly_allowed and found is None:
            found = ([d], (*base, pol), target.uid, {"policy_attached": arn})
    if found is not None:
        yield found


def _self_changes(env: _Env, spec: PathSpec, who: _Who) -> Iterator[_Change]:
    kind = spec.params["kind"]
    action = spec.needs[0].action
    ident = who.pp.identity
    admin = parse_policy(ADMIN_DOC, "policy written by the attacker")
    if kind == "put":
        d = env.check(who, action, who.uid, tags=who.rec.tags)
        yield [d], (*ident, admin), who.uid, {}
    elif kind == "attach":
        yield from _attach_changes(env, who, action, who.rec, ident)
    elif kind in ("group_put", "group_attach"):
        for g_uid in who.rec.targets("MEMBER_OF"):
            g = env.inv.get(g_uid)
            if g is None:
                continue
            if kind == "group_put":
                d = env.check(who, action, g.uid, tags=g.tags)
                yield [d], (*ident, admin), g.uid, {}
            else:
                yield from _attach_changes(env, who, action, g, ident)
    elif kind == "join_group":
        mine = set(who.rec.targets("MEMBER_OF"))
        for grp in env.admin_groups:
            if grp.rec.uid in mine:
                continue
            d = env.check(who, action, grp.rec.uid, tags=grp.rec.tags)
            yield [d], (*ident, *grp.policies), grp.rec.uid, {}
    elif kind == "version":
        for rec, pol in env.customer_policies_of(who):
            d = env.check(who, action, rec.uid)
            yield [d], (*_without(ident, pol), admin), rec.uid, {}
    elif kind == "default_version":
        for rec, pol in env.customer_policies_of(who):
            for v in rec.config.get("policy_versions") or []:
                doc = v.get("policy")
                if v.get("is_default_version") or not isinstance(doc, Mapping):
                    continue
                d = env.check(who, action, rec.uid)
                vpol = parse_policy(doc, f"{rec.name} version {v.get('version_id')}")
                yield (
                    [d],
                    (*_without(ident, pol), vpol),
                    rec.uid,
                    {"version_id": v.get("version_id")},
                )


def _after_text(who: _Who, after: Decision) -> str:
    """Why the principal is admin after the change (the full admin decision would list
    every statement of its other policies too)."""
    text = f"after the change {who.rec.name} is admin-equivalent"
    if who.pp.boundary is not None:
        text += f" within its permissions boundary {who.pp.boundary.name}"
    if not after.allowed:
        text += " when " + ", ".join(sorted(after.conditional_keys)) + " allow"
    return text


def _detect_self(
    env: _Env, spec: PathSpec, sources: Sequence[_Who], targets: Targets, out: _Edges
) -> None:
    types = spec.params.get("types")
    for who in sources:
        if (types and who.rec.type not in types) or not spec.actions <= who.can:
            continue
        for decisions, identity, via, props in _self_changes(env, spec, who):
            if not all(d.possibly_allowed for d in decisions):
                continue
            after = env.admin_of(identity, who.pp.boundary)
            if not after.possibly_allowed:
                continue
            text = _after_text(who, after)
            out.add(
                _edge(
                    spec,
                    who,
                    env.account_node(who),
                    decisions,
                    target_text=text,
                    target_decisions=[after],
                    props={"via": [via], "target_privilege": "admin after change", **props},
                )
            )


def _access(env: _Env, access: str, who: _Who, x: _Who) -> list[Decision] | None:
    """How ``who`` takes over ``x``; the decisions, or None when it cannot."""
    if access == "assume":
        trust = env.trust(x.rec)
        if trust is None or not env.may_name(x.rec, who):
            return None
        d = trust_allows(
            trust,
            who.principal,
            role_arn=x.uid,
            context=BASE_CONTEXT,
            identity_policies=who.pp.identity,
            permissions_boundary=who.pp.boundary,
        )
        return [d] if d.possibly_allowed else None
    if access == "update_trust":
        d1 = env.check(who, "iam:UpdateAssumeRolePolicy", x.uid, tags=x.rec.tags)
        if not d1.possibly_allowed:
            return None
        d2 = trust_allows(
            _trust_for(who),
            who.principal,
            role_arn=x.uid,
            context=BASE_CONTEXT,
            identity_policies=who.pp.identity,
            permissions_boundary=who.pp.boundary,
        )
        return [d1, d2] if d2.possibly_allowed else None
    if access in ("access_key", "access_key_rotate"):
        count = _key_count(x.rec)
        if access == "access_key" and count is not None and count >= 2:
            return None
        if access == "access_key_rotate" and (count is None or count < 2):
            return None
        ds = [env.check(who, "iam:CreateAccessKey", x.uid, tags=x.rec.tags)]
        if access == "access_key_rotate":
            ds.append(env.check(who, "iam:DeleteAccessKey", x.uid, tags=x.rec.tags))
        return ds if all(d.possibly_allowed for d in ds) else None
    if access in ("create_login", "update_login"):
        has = _has_login(x.rec)
        if has is not None and has != (access == "update_login"):
            return None
        action = "iam:CreateLoginProfile" if access == "create_login" else "iam:UpdateLoginProfile"
        d = env.check(who, action, x.uid, tags=x.rec.tags)
        return [d] if d.possibly_allowed else None
    raise ValueError(access)


def _prefilter(spec: PathSpec, who: _Who) -> bool:
    """``who`` may hold every identity permission the path needs (sts:AssumeRole can come
    from the trust policy alone)."""
    return spec.actions - {"sts:assumerole"} <= who.can


def _detect_access(
    env: _Env, spec: PathSpec, sources: Sequence[_Who], targets: Targets, out: _Edges
) -> None:
    access, ttype = spec.params["access"], spec.params["ttype"]
    live = [s for s in sources if _prefilter(spec, s)]
    for uid, priv in targets.items():
        x = env.whos.get(uid)
        if x is None or x.rec.type != ttype or not priv.ok(service_run=False):
            continue
        for who in env.assumers(x.rec) if access == "assume" else live:
            if who is x:
                continue
            ds = _access(env, access, who, x)
            if ds is None:
                continue
            props: dict[str, Any] = {"target_privilege": priv.kind, "escalates_via": priv.via}
            if access.startswith("access_key"):
                props["access_keys"] = _key_count(x.rec)
            out.add(
                _edge(
                    spec,
                    who,
                    x.uid,
                    ds,
                    target_text=priv.describe(x.rec.name),
                    target_decisions=[priv.decision] if priv.decision else [],
                    props=props,
                )
            )


def _detect_modify(
    env: _Env, spec: PathSpec, sources: Sequence[_Who], targets: Targets, out: _Edges
) -> None:
    change, access, ttype = spec.params["change"], spec.params["access"], spec.params["ttype"]
    candidates = [
        x
        for x in env.whos.values()
        if x.rec.type == ttype and not x.admin.possibly_allowed and x.uid not in targets
    ]
    action = spec.needs[0].action
    admin = parse_policy(ADMIN_DOC, "policy written by the attacker")
    for who in sources:
        if not _prefilter(spec, who):
            continue
        for x in candidates:
            if x is who or (access == "assume" and not env.may_name(x.rec, who)):
                continue
            changes: list[_Change] = []
            if change == "put":
                d = env.check(who, action, x.uid, tags=x.rec.tags)
                changes.append(([d], (*x.pp.identity, admin), x.uid, {}))
            elif change == "attach":
                changes += list(_attach_changes(env, who, action, x.rec, x.pp.identity))
            else:
                for rec, pol in env.customer_policies_of(x):
                    d = env.check(who, action, rec.uid)
                    changes.append(([d], (*_without(x.pp.identity, pol), admin), rec.uid, {}))
            for decisions, identity, via, props in changes:
                if not all(d.possibly_allowed for d in decisions):
                    continue
                after = env.admin_of(identity, x.pp.boundary)
                if not after.possibly_allowed:
                    continue
                acc = _access(env, access, who, x)
                if acc is None:
                    break  # the same for every change of this target
                text = _after_text(x, after)
                out.add(
                    _edge(
                        spec,
                        who,
                        x.uid,
                        [*decisions, *acc],
                        target_text=text,
                        target_decisions=[after],
                        props={"via": [via], "target_privilege": "admin after change", **props},
                    )
                )
                break


def _places(env: _Env, prereq: str | None) -> list[tuple[str, Resource | None]]:
    """(region, prerequisite resource) pairs where a passrole path can be carried out."""
    inv = env.inv
    if prereq == "event_source":
        recs = [q for q in inv.of_type("aws_sqs_queue")] + [
            t for t in inv.of_type("aws_dynamodb_table") if t.config.get("stream_enabled")
        ]
        return [(r.region, r) for r in recs]
    if prereq in ("ecs_cluster", "ecs_container_instances"):
        out: list[tuple[str, Resource | None]] = []
        for c in inv.of_type("aws_ecs_cluster"):
            if c.config.get("status") not in (None, "ACTIVE"):
                continue
            if prereq == "ecs_container_instances" and not c.config.get(
                "registered_container_instances_count"
            ):
                continue
            out.append((c.region, c))
        return out
    if prereq == "glue_job":
        return [(j.region, j) for j in inv.of_type("aws_glue_job")]
    return [(r, None) for r in env.regions]


def _place_fill(env: _Env, who: _Who, region: str, rec: Resource | None) -> dict[str, str]:
    if rec is not None and rec.type == "aws_ecs_cluster":
        return env.fill(who, region, cluster=rec.uid, cluster_name=rec.name)
    return env.fill(who, region)


def _detect_passrole(
    env: _Env, spec: PathSpec, sources: Sequence[_Who], targets: Targets, out: _Edges
) -> None:
    services = tuple(spec.params["services"])
    prereq = spec.params.get("prereq")
    roles: list[tuple[_Who, _Priv, Decision]] = []
    for uid, priv in targets.items():
        x = env.whos.get(uid)
        if x is None or x.rec.type != "aws_iam_role" or not priv.ok(service_run=True):
            continue
        if ":role/aws-service-role/" in x.uid:  # service-linked roles cannot be passed
            continue
        if prereq == "instance_profile" and not env.has_instance_profile(x.rec):
            continue
        trusted = env.service_trust(x, services)
        if trusted is not None:
            roles.append((x, priv, trusted))
    if not roles:
        return
    places = _places(env, prereq)
    if not places:
        return
    pass_need, others = spec.needs[0], spec.needs[1:]
    for who in sources:
        if not _prefilter(spec, who):
            continue
        # iam:PassRole does not depend on the region: judge it once per role.
        base = env.fill(who, env.regions[0])
        passable = [
            (x, priv, trusted, dp)
            for x, priv, trusted in roles
            if x is not who
            and not env.nothing_allows(who, pass_need.action, x.uid)
            and (dp := env.need(who, pass_need, base, target=x.rec)).possibly_allowed
        ]
        done: set[str] = set()
        for region, rec in places if passable else []:
            fill = _place_fill(env, who, region, rec)
            ds = [env.need(who, n, fill, resource=rec) for n in others]
            if not all(d.possibly_allowed for d in ds):
                continue
            for x, priv, trusted, dp in passable:
                if x.uid in done:
                    continue
                done.add(x.uid)
                text = f"{x.rec.name} trusts {', '.join(services)}; " + priv.describe(x.rec.name)
                out.add(
                    _edge(
                        spec,
                        who,
                        x.uid,
                        [dp, *ds],
                        target_text=text,
                        target_decisions=[trusted, *([priv.decision] if priv.decision else [])],
                        props={
                            "target_privilege": priv.kind,
                            "escalates_via": priv.via,
                            "region": region,
                            "via": [rec.uid] if rec is not None else [],
                            "passed_to": pass_need.context[0][1] if pass_need.context else None,
                        },
                    )
                )


# -- existing resources: which ones qualify, which role they run as ---------------------------


def _ssh_open(env: _Env, inst: Resource) -> bool:
    for sg_uid in inst.targets("HAS_SECURITY_GROUP"):
        sg = env.inv.get(sg_uid)
        for rule in (sg.config.get("ingress") or []) if sg is not None else []:
            proto = str(rule.get("protocol"))
            lo, hi = rule.get("from_port"), rule.get("to_port")
            if proto not in ("tcp", "-1", "6"):
                continue
            if proto == "-1" or (isinstance(lo, int) and isinstance(hi, int) and lo <= 22 <= hi):
                return True
    return False


# Stack states from which UpdateStack / change sets are impossible.
_DEAD_STACK = frozenset(
    {
        "CREATE_FAILED",
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_FAILED",
        "ROLLBACK_COMPLETE",
        "DELETE_IN_PROGRESS",
        "DELETE_FAILED",
        "DELETE_COMPLETE",
    }
)

_FILTERS: Mapping[str, Callable[[_Env, Resource], bool]] = {
    "lambda_triggered": lambda env, r: bool(
        (isinstance(r.config.get("policy"), Mapping) and r.config["policy"].get("Statement"))
        or r.config.get("function_urls")
    ),
    "batch_project": lambda env, r: bool(r.config.get("build_batch_config")),
    "in_service": lambda env, r: r.config.get("status") == "InService",
    "stack_live": lambda env, r: r.config.get("status") not in _DEAD_STACK,
    "endpoint_live": lambda env, r: r.config.get("status") not in ("FAILED", "TERMINATING"),
    "ssm_online": lambda env, r: r.config.get("ping_status") == "Online",
    "ssh_instance": lambda env, r: (
        r.config.get("state") == "running"
        and "windows" not in str(r.config.get("platform") or "").lower()
        and _ssh_open(env, r)
    ),
    "instance_live": lambda env, r: r.config.get("state") not in ("terminated", "shutting-down"),
}


def _batch_role(env: _Env, r: Resource) -> str | None:
    cfg = r.config.get("build_batch_config") or {}
    return (cfg.get("service_role") if isinstance(cfg, Mapping) else None) or r.config.get(
        "service_role"
    )


def _ssm_role(env: _Env, r: Resource) -> str | None:
    for inst_uid in r.targets("ATTACHED_TO"):
        inst = env.inv.get(inst_uid)
        if inst is not None:
            return env.instance_role(inst)
    runs = r.targets("RUNS_AS")
    return runs[0] if runs else None


def _runs_as(env: _Env, r: Resource) -> str | None:
    runs = r.targets("RUNS_AS")
    return runs[0] if runs else None


_ROLES: Mapping[str, Callable[[_Env, Resource], str | None]] = {
    "runs_as": _runs_as,
    "batch_role": _batch_role,
    "ssm_role": _ssm_role,
    "instance_role": lambda env, r: env.instance_role(r),
}


def _instance_arn(r: Resource) -> str:
    """The ARN IAM evaluates SSM calls on: the EC2 instance, or the hybrid managed node."""
    inst = r.config.get("instance_id")
    if r.config.get("resource_type") == "EC2Instance" and inst:
        return f"arn:{_partition(r.uid)}:ec2:{r.region}:{r.account}:instance/{inst}"
    return r.uid


def _detect_existing(
    env: _Env, spec: PathSpec, sources: Sequence[_Who], targets: Targets, out: _Edges
) -> None:
    p = spec.params
    keep = _FILTERS.get(p.get("filter", ""), lambda env, r: True)
    role_of = _ROLES[p.get("role", "runs_as")]
    live = [s for s in sources if _prefilter(spec, s)]
    if not live:
        return
    for rec in env.inv.of_type(p["rtype"]):
        role_uid = role_of(env, rec)
        priv = targets.get(role_uid or "")
        x = env.whos.get(role_uid or "")
        if priv is None or x is None or not priv.ok(service_run=True) or not keep(env, rec):
            continue
        arn, subject = None, rec
        if rec.type == "aws_ssm_managed_instance":
            # SSM permissions are evaluated on the EC2 instance (its ARN and tags).
            arn = _instance_arn(rec)
            subject = next(
                (i for i in env.inv.related(rec, "ATTACHED_TO") if i.type == "aws_instance"), rec
            )
        for who in live:
            if who is x:
                continue
            fill = env.fill(who, rec.region)
            ds = [env.need(who, n, fill, resource=subject, arn=arn) for n in spec.needs]
            if not all(d.possibly_allowed for d in ds):
                continue
            out.add(
                _edge(
                    spec,
                    who,
                    x.uid,
                    ds,
                    target_text=f"{rec.name} runs as {x.rec.name}; " + priv.describe(x.rec.name),
                    target_decisions=[priv.decision] if priv.decision else [],
                    props={
                        "target_privilege": priv.kind,
                        "escalates_via": priv.via,
                        "via": [rec.uid],
                        "region": rec.region,
                    },
                )
            )


def _exec_trusts(env: _Env, x: _Who, admin_role: _Who) -> Decision | None:
    trust = env.trust(x.rec)
    if trust is None:
        return None
    d = trust_allows(
        trust,
        admin_role.principal,
        role_arn=x.uid,
        identity_policies=admin_role.pp.identity,
        permissions_boundary=admin_role.pp.boundary,
    )
    return d if d.possibly_allowed else None


def _detect_stackset_new(
    env: _Env, spec: PathSpec, sources: Sequence[_Who], targets: Targets, out: _Edges
) -> None:
    cfn = ("cloudformation.amazonaws.com",)
    admin_roles = [
        w for w in env.whos.values() if w.rec.type == "aws_iam_role" and env.service_trust(w, cfn)
    ]
    pairs: list[tuple[_Who, _Priv, _Who, Decision]] = []
    for uid, priv in targets.items():
        x = env.whos.get(uid)
        if x is None or x.rec.type != "aws_iam_role" or not priv.ok(service_run=True):
            continue
        for ar in admin_roles:
            t = _exec_trusts(env, x, ar) if ar is not x else None
            if t is not None:
                pairs.append((x, priv, ar, t))
    if not pairs:
        return
    pass_need, others = spec.needs[0], spec.needs[1:]
    for who in sources:
        if not _prefilter(spec, who):
            continue
        done: set[str] = set()
        for region in env.regions:
            fill = env.fill(who, region)
            ds = [env.need(who, n, fill) for n in others]
            if not all(d.possibly_allowed for d in ds):
                continue
            for x, priv, ar, t in pairs:
                if who is x or x.uid in done:
                    continue
                dp = env.need(who, pass_need, fill, target=ar.rec)
                if not dp.possibly_allowed:
                    continue
                done.add(x.uid)
                text = (
                    f"administration role {ar.rec.name} may assume execution role "
                    f"{x.rec.name}; " + priv.describe(x.rec.name)
                )
                out.add(
                    _edge(
                        spec,
                        who,
                        x.uid,
                        [dp, *ds],
                        target_text=text,
                        target_decisions=[t, *([priv.decision] if priv.decision else [])],
                        props={
                            "target_privilege": priv.kind,
                            "escalates_via": priv.via,
                            "via": [ar.uid],
                            "region": region,
                        },
                    )
                )


def _detect_stackset_update(
    env: _Env, spec: PathSpec, sources: Sequence[_Who], targets: Targets, out: _Edges
) -> None:
    live = [s for s in sources if _prefilter(spec, s)]
    for ss in env.inv.of_type("aws_cloudformation_stack_set") if live else []:
        cfg = ss.config
        if cfg.get("permission_model") not in (None, "SELF_MANAGED"):
            continue
        if cfg.get("status") not in (None, "ACTIVE"):
            continue
        part = _partition(ss.uid)
        exec_name = cfg.get("execution_role_name") or "AWSCloudFormationStackSetExecutionRole"
        x_uid = f"arn:{part}:iam::{ss.account}:role/{exec_name}"
        priv, x = targets.get(x_uid), env.whos.get(x_uid)
        ar = env.whos.get(
            str(
                cfg.get("administration_role_arn")
                or f"arn:{part}:iam::{ss.account}:role/AWSCloudFormationStackSetAdministrationRole"
            )
        )
        if priv is None or x is None or ar is None or not priv.ok(service_run=True):
            continue
        t = _exec_trusts(env, x, ar)
        if t is None:
            continue
        instances = cfg.get("instances")
        here = isinstance(instances, list) and any(
            i.get("account") == ss.account for i in instances if isinstance(i, Mapping)
        )
        for who in live:
            if who is x:
                continue
            fill = env.fill(who, ss.region)
            ds = [
                env.need(who, spec.needs[0], fill, target=ar.rec),
                env.need(who, spec.needs[1], fill, resource=ss),
            ]
            if not here:
                ds.append(env.check(who, "cloudformation:CreateStackInstances", ss.uid))
            if not all(d.possibly_allowed for d in ds):
                continue
            text = (
                f"StackSet {ss.name} runs as execution role {x.rec.name} (administration role "
                f"{ar.rec.name}); " + priv.describe(x.rec.name)
            )
            out.add(
                _edge(
                    spec,
                    who,
                    x.uid,
                    ds,
                    target_text=text,
                    target_decisions=[t, *([priv.decision] if priv.decision else [])],
                    props={
                        "target_privilege": priv.kind,
                        "escalates_via": priv.via,
                        "via": [ss.uid],
                        "region": ss.region,
                    },
                )
            )


FAMILIES: Final[Mapping[str, Family]] = {
    "self": Family(
        _detect_self,
        True,
        "self-escalation",
        "Rewrites its own permissions (edge to the account node); reported when the "
        "principal is admin-equivalent after the change, within its permissions boundary",
    ),
    "modify": Family(
        _detect_modify,
        True,
        "principal-access",
        "Rewrites a non-admin principal's permissions, then takes it over; reported when the "
        "target is admin-equivalent after the change, within its boundary",
    ),
    "access": Family(
        _detect_access,
        False,
        "principal-access",
        "Takes over an existing privileged principal",
    ),
    "passrole": Family(
        _detect_passrole,
        False,
        "new-passrole",
        "Passes a privileged role to a new resource of the service (iam:PassRole evaluated "
        "on that role's ARN with iam:PassedToService)",
    ),
    "stackset_new": Family(
        _detect_stackset_new,
        False,
        "new-passrole",
        "Creates a StackSet whose execution role is privileged",
    ),
    "existing": Family(
        _detect_existing,
        False,
        "existing-passrole",
        "Uses an existing resource that runs as a privileged role (permissions evaluated on "
        "that resource's ARN)",
    ),
    "stackset_update": Family(
        _detect_stackset_update,
        False,
        "existing-passrole",
        "Updates an existing StackSet whose execution role is privileged",
    ),
}

COVERED: Final[Mapping[str, PathSpec]] = {s.id: s for s in PATHS}


# --- entry point ------------------------------------------------------------------------------


def escalation_edges(inv: Inventory) -> list[dict[str, Any]]:
    """``CAN_ESCALATE`` edge rows for the inventory (see the module docstring)."""
    env = _Env(inv)
    sources = env.sources
    first: dict[str, _Priv] = {
        uid: _Priv("admin" if w.admin.allowed else "conditional admin", w.admin)
        for uid, w in env.whos.items()
        if w.admin.possibly_allowed
    }
    out = _Edges()
    for spec in PATHS:
        fam = FAMILIES[spec.family]
        if fam.once:
            fam.detect(env, spec, sources, first, out)
    known: dict[str, _Priv] = dict(first)
    new: Mapping[str, _Priv] = first
    for _ in range(MAX_ROUNDS):
        for spec in PATHS:
            fam = FAMILIES[spec.family]
            if not fam.once:
                fam.detect(env, spec, sources, new, out)
        reached: dict[str, set[str]] = {}
        for src, _dst, path_id in out.rows:
            if src not in known:
                reached.setdefault(src, set()).add(path_id)
        if not reached:
            break
        new = {uid: _Priv("escalates", None, tuple(sorted(ids))) for uid, ids in reached.items()}
        known.update(new)
    return [out.rows[k] for k in sorted(out.rows)]
