"""Lambda checks: public function URLs and public resource policies."""

from __future__ import annotations

from typing import Any

from stratusec.checks import Inventory, Outcome, fail, ok, resource_check, unknown
from stratusec.checks.aws._policy import (
    PolicyUnreadable,
    action_allows,
    describe_grants,
    public_grants,
)
from stratusec.inventory.models import Resource


def _public_invoke_url_grant(policy: Any) -> bool | None:
    """Whether the resource policy lets everyone call lambda:InvokeFunctionUrl (AWS needs
    this besides auth type NONE before an anonymous request succeeds); None if unreadable."""
    try:
        grants = public_grants(policy)
    except PolicyUnreadable:
        return None
    return any(
        not g.not_action and action_allows(g.actions, "lambda:InvokeFunctionUrl") for g in grants
    )


@resource_check(
    title="Lambda function URL requires IAM authentication",
    description="No function URL of the function (unqualified or for an alias) has auth type "
    "NONE; URLs use AWS_IAM so every request must be signed by an authorized principal.",
    risk="A function URL with auth type NONE is an unauthenticated HTTPS endpoint: anyone "
    "who finds it can invoke the function, run its code with its execution role's "
    "permissions and run up its cost.",
    severity="high",
    service="lambda",
    resource_types=["aws_lambda_function"],
    categories=["public-access", "internet-exposed"],
    remediation={
        "summary": "Switch the URL to AWS_IAM auth (and sign requests), put the function "
        "behind API Gateway with an authorizer, or delete the URL; then remove the public "
        "lambda:InvokeFunctionUrl statement from the resource policy.",
        "cli": "aws lambda update-function-url-config --function-name FUNCTION_NAME "
        "--auth-type AWS_IAM\n"
        "aws lambda remove-permission --function-name FUNCTION_NAME --statement-id "
        "FunctionURLAllowPublicAccess",
        "terraform": 'resource "aws_lambda_function_url" "this" {\n'
        "  function_name      = aws_lambda_function.this.function_name\n"
        '  authorization_type = "AWS_IAM"\n}',
        "console": "Lambda > Functions > function > Configuration > Function URL > Edit > "
        "Auth type: AWS_IAM > Save.",
    },
)
def lambda_function_url_public(fn: Resource, inv: Inventory) -> Outcome:
    if "public_url" in fn.unavailable or "function_urls" in fn.unavailable:
        return unknown(fn, f"The function URLs of {fn.name} could not be read.")
    urls = fn.config.get("function_urls")
    if urls is None and fn.config.get("public_url") is None:
        return unknown(fn, f"The function URLs of {fn.name} are not reported.")
    open_urls = [u for u in urls or [] if u.get("authorization_type") == "NONE"]
    if not open_urls and fn.config.get("public_url") is True:
        open_urls = [{"function_url": None, "authorization_type": "NONE"}]
    if not open_urls:
        if urls:
            return ok(fn, f"Every function URL of {fn.name} requires IAM authentication.")
        return ok(fn, f"Function {fn.name} has no function URL.")
    grant = (
        None if "policy" in fn.unavailable else _public_invoke_url_grant(fn.config.get("policy"))
    )
    note = ""
    if grant is False:
        note = (
            "; AWS serves anonymous requests once the resource policy also grants "
            "lambda:InvokeFunctionUrl to everyone, which it does not do yet (one "
            "add-permission call away)"
        )
    cors_any = [
        u.get("function_url")
        for u in open_urls
        if "*" in ((u.get("cors") or {}).get("AllowOrigins") or [])
    ]
    shown = ", ".join(str(u.get("function_url") or "(URL)") for u in open_urls)
    return fail(
        fn,
        f"Function {fn.name} has a function URL with auth type NONE ({shown}): requests need "
        f"no credentials or signature{note}.",
        urls=[u.get("function_url") for u in open_urls],
        policy_grants_public_invoke=grant,
        cors_allow_any_origin=cors_any,
        role=fn.config.get("role"),
    )


@resource_check(
    title="Lambda function resource policy is not public",
    description='No statement of the function\'s resource-based policy allows Principal "*" '
    '(or {"AWS": "*"}) without a condition that limits the caller (aws:SourceArn, '
    "aws:SourceAccount, aws:PrincipalOrgID, ...).",
    risk="Anyone with an AWS account (or, for function URLs, anyone at all) can invoke the "
    "function or manage it, depending on the actions granted; the function runs with its "
    "execution role's permissions.",
    severity="high",
    service="lambda",
    resource_types=["aws_lambda_function"],
    categories=["public-access"],
    remediation={
        "summary": "Remove the public statement, or re-add it for the specific principal or "
        "service with a SourceArn / SourceAccount condition.",
        "cli": "aws lambda remove-permission --function-name FUNCTION_NAME --statement-id "
        "STATEMENT_ID\n"
        "aws lambda add-permission --function-name FUNCTION_NAME --statement-id STATEMENT_ID "
        "--action lambda:InvokeFunction --principal SERVICE.amazonaws.com --source-arn "
        "SOURCE_ARN --source-account ACCOUNT_ID",
        "terraform": 'resource "aws_lambda_permission" "this" {\n'
        '  statement_id   = "STATEMENT_ID"\n'
        '  action         = "lambda:InvokeFunction"\n'
        "  function_name  = aws_lambda_function.this.function_name\n"
        '  principal      = "SERVICE.amazonaws.com"\n'
        '  source_arn     = "SOURCE_ARN"\n'
        '  source_account = "ACCOUNT_ID"\n}',
        "console": "Lambda > Functions > function > Configuration > Permissions > "
        "Resource-based policy statements: delete the statement with principal '*'.",
    },
)
def lambda_function_policy_public(fn: Resource, inv: Inventory) -> Outcome:
    if "policy" in fn.unavailable or "policy" not in fn.config:
        return unknown(fn, f"The resource policy of function {fn.name} could not be read.")
    try:
        grants = public_grants(fn.config.get("policy"))
    except PolicyUnreadable as exc:
        return unknown(fn, f"The resource policy of function {fn.name} is unreadable: {exc}.")
    if grants:
        return fail(
            fn,
            f"Function {fn.name}'s resource policy is public: {describe_grants(grants)}.",
            statements=[g.as_evidence() for g in grants],
        )
    if fn.config.get("policy") is None:
        return ok(fn, f"Function {fn.name} has no resource policy.")
    return ok(fn, f"Function {fn.name}'s resource policy grants nothing to everyone.")
