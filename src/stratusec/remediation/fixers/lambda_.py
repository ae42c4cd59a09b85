"""Lambda: a function URL with auth type NONE switched to AWS_IAM, and the resource policy
statements that opened it to everyone removed (kept in the rollback, re-added exactly)."""

from __future__ import annotations

import json
from typing import Any

from stratusec.inventory.models import Resource
from stratusec.remediation.model import ApiCall, FixerError, FixSpec
from stratusec.remediation.registry import Lookup, fixer

#: Condition (operator, key), lower-case -> the AddPermission parameter that writes it.
_CONDITION_PARAMS = {
    ("stringequals", "lambda:functionurlauthtype"): "FunctionUrlAuthType",
    ("stringequals", "aws:sourceaccount"): "SourceAccount",
    ("arnlike", "aws:sourcearn"): "SourceArn",
    ("stringequals", "aws:principalorgid"): "PrincipalOrgID",
    ("bool", "lambda:invokedviafunctionurl"): "InvokedViaFunctionUrl",
}


def _public(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"])


def _single_action(st: dict[str, Any]) -> str | None:
    act = st.get("Action")
    if isinstance(act, list) and len(act) == 1:
        act = act[0]
    return act if isinstance(act, str) else None


def url_statement(st: Any) -> dict[str, Any] | None:
    """AddPermission parameters that re-create ``st`` exactly when it is a statement
    that opens the function URL to everyone (lambda:InvokeFunctionUrl, or
    lambda:InvokeFunction only via the function URL); None otherwise."""
    if not isinstance(st, dict) or st.get("Effect") != "Allow" or not st.get("Sid"):
        return None
    if not _public(st.get("Principal")) or "NotAction" in st:
        return None
    action = _single_action(st)
    params: dict[str, Any] = {"StatementId": str(st["Sid"]), "Action": action, "Principal": "*"}
    cond = st.get("Condition") or {}
    if not isinstance(cond, dict):
        return None
    for op, block in cond.items():
        if not isinstance(block, dict):
            return None
        for key, value in block.items():
            param = _CONDITION_PARAMS.get((str(op).lower(), str(key).lower()))
            if param is None or isinstance(value, list):
                return None  # a condition AddPermission cannot write: not re-creatable
            params[param] = str(value).lower() == "true" if op.lower() == "bool" else value
    if action == "lambda:InvokeFunctionUrl":
        return params
    if action == "lambda:InvokeFunction" and params.get("InvokedViaFunctionUrl") is True:
        return params
    return None


@fixer(
    "lambda_function_url_public",
    id="lambda_function_url_iam_auth",
    title="Require IAM authentication on the function URL (auth type AWS_IAM) and remove "
    "the public invoke permission",
)
def url_iam_auth(res: Resource, _f: dict[str, Any], _o: dict[str, Any], _l: Lookup) -> FixSpec:
    c = res.config
    name = c.get("function_name") or res.name
    fn_arn = c.get("arn") or res.uid
    urls = c.get("function_urls")
    if "function_urls" in res.unavailable or not isinstance(urls, list):
        raise FixerError(f"the function URLs of {name} were not read in the last scan")
    open_urls = [u for u in urls if u.get("authorization_type") == "NONE"]
    if not open_urls:
        raise FixerError(f"no function URL of {name} has auth type NONE; scan again")
    calls: list[ApiCall] = []
    rollback: list[ApiCall] = []
    tf: list[str] = []
    for u in open_urls:
        arn = str(u.get("function_arn") or fn_arn)
        parts = arn.split(":")
        qualifier = parts[7] if len(parts) > 7 else None
        params: dict[str, Any] = {"FunctionName": name}
        if qualifier:
            params["Qualifier"] = qualifier
        where = f"{name}:{qualifier}" if qualifier else name
        calls.append(
            ApiCall(
                "lambda",
                "update_function_url_config",
                {**params, "AuthType": "AWS_IAM"},
                f"require signed requests on the URL of {where}",
                resource_arn=arn,
            )
        )
        rollback.append(
            ApiCall(
                "lambda",
                "update_function_url_config",
                {**params, "AuthType": "NONE"},
                f"open the URL of {where} again (auth type NONE)",
                resource_arn=arn,
            )
        )
        tf.append(
            f'resource "aws_lambda_function_url" "{_label(where)}" {{\n'
            f'  function_name      = "{name}"\n'
            + (f'  qualifier          = "{qualifier}"\n' if qualifier else "")
            + '  authorization_type = "AWS_IAM"\n}\n'
        )
    notes = [
        "Callers of the URL must now sign requests (SigV4) as a principal allowed to "
        "call lambda:InvokeFunctionUrl."
    ]
    policy = c.get("policy")
    if "policy" in res.unavailable:
        notes.append(
            "The resource policy could not be read: check it for a public "
            "lambda:InvokeFunctionUrl statement and remove it by hand."
        )
        policy = None
    stmts = (policy or {}).get("Statement") if isinstance(policy, dict) else None
    stmts = [stmts] if isinstance(stmts, dict) else list(stmts or [])
    removed: list[str] = []
    for st in stmts:
        add = url_statement(st)
        if add is None:
            if isinstance(st, dict) and _public(st.get("Principal")):
                notes.append(
                    f"Public statement {st.get('Sid') or '(no Sid)'} is left as it is: it is "
                    "not only a function URL grant (see lambda_function_policy_public)."
                )
            continue
        sid = add["StatementId"]
        removed.append(sid)
        calls.append(
            ApiCall(
                "lambda",
                "remove_permission",
                {"FunctionName": name, "StatementId": sid},
                f"remove public statement {sid} ({add['Action']} for everyone)",
                resource_arn=fn_arn,
            )
        )
        rollback.append(
            ApiCall(
                "lambda",
                "add_permission",
                {"FunctionName": name, **add},
                f"re-add statement {sid} as it was",
                resource_arn=fn_arn,
            )
        )
    if removed:
        tf.append(
            "# and remove the aws_lambda_permission resources with statement_id "
            + ", ".join(json.dumps(s) for s in removed)
            + "\n"
        )
    return FixSpec(
        title=f"Require IAM auth on the function URL of {name}",
        calls=calls,
        rollback=list(reversed(rollback)),
        after={"public_url": False},
        terraform="".join(tf),
        watch=["function_urls", "public_url", "policy"],
        notes=notes,
    )


def _label(text: str) -> str:
    out = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in str(text))
    return out if out[:1].isalpha() or out[:1] == "_" else f"r_{out}"
