"""The MCP face: Stratusec's operations as MCP tools, resources and prompts.

A face holds no business logic: each tool parses its arguments (the SDK validates them
against the JSON Schema built from the signature), calls one operation and shapes the
result. Governance sits in front of every call, in one server middleware:

- ``tools/list`` is filtered to the caller's role;
- ``tools/call``, ``resources/read`` and ``prompts/get`` are identified, checked (unknown
  tool, tool not in the role, unknown or ill-typed arguments), authorized (role + Rego),
  rate-limited and audited before they run, and their outcome is audited after.
"""

import contextvars
import functools
import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context as McpContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent
from pydantic import Field, ValidationError

from stratusec import __version__
from stratusec.compliance.frameworks import framework_ids
from stratusec.errors import StratusecError
from stratusec.findings.query import FindingFilter
from stratusec.governance import approvals as approvals_mod
from stratusec.governance.audit import AuditWriteError
from stratusec.governance.gate import (
    CallDenied,
    Caller,
    Governor,
    PendingApproval,
    Ticket,
    error_text,
    running,
)
from stratusec.governance.redact import redact_value
from stratusec.mcp import resources as res_mod
from stratusec.mcp.auth import caller_for
from stratusec.mcp.schemas import (
    UNTRUSTED_NOTICE,
    AccountScan,
    ApprovalStatus,
    AttackPaths,
    Compliance,
    Explanation,
    FindingsPage,
    FindingStatus,
    GraphQuery,
    GuardrailValidation,
    Remediation,
    ScanResult,
    Severity,
)
from stratusec.operations import findings as findings_op
from stratusec.operations.compliance import check_compliance as check_compliance_op
from stratusec.operations.context import Context
from stratusec.operations.explain import explain_finding as explain_op
from stratusec.operations.graph import query_graph as query_graph_op
from stratusec.operations.paths import get_attack_paths as attack_paths_op
from stratusec.operations.remediate import bind_to_plan
from stratusec.operations.remediate import remediate as remediate_op
from stratusec.operations.scan import scan as scan_op

log = logging.getLogger("stratusec.mcp")

Transport = Literal["stdio", "http"]
T = TypeVar("T")
#: What an agent is told at ``initialize`` (and again in every prompt).
INSTRUCTIONS = f"""Stratusec: cloud security inventory, findings, compliance, security graph and
attack paths for the configured AWS accounts. Start with get_findings or check_compliance;
use explain_finding for one finding, get_attack_paths and query_graph for how an attacker
gets from an entry point to admin or sensitive data.

Every call is authorized for the human you act for and recorded in a tamper-evident audit
log. Some calls need a human's approval: you then get an approval id; a different human
decides outside this conversation, and get_approval(approval_id) tells you the outcome and
runs the approved call once. Nothing you write can approve a request.

{UNTRUSTED_NOTICE}"""

#: JSON-RPC error code (implementation-defined range) of a refused resource read or prompt.
REFUSED = -32001
#: Resource reads and prompt gets are governed (and audited) under these names.
READ_RESOURCE = "read_resource"
GET_PROMPT = "get_prompt"

_current_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar(
    "stratusec_mcp_caller", default=None
)
#: Set while get_approval runs an approved call: the approval it runs under.
_current_approval: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "stratusec_mcp_approval", default=None
)


def current_caller() -> Caller:
    c = _current_caller.get()
    if c is None:  # pragma: no cover - the middleware always sets it
        raise StratusecError("no caller identity for this request")
    return c


def _guard(fn: Callable[..., Any], offload: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """An async tool around ``fn`` that turns our own errors (bad input, unknown names) into
    tool errors with their message: anticipated failures, not crashes to log with a
    traceback. A synchronous ``fn`` runs through ``offload`` (a worker thread, or inline
    for sub-millisecond reads on the embedded store)."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            if inspect.iscoroutinefunction(fn):
                return await fn(*args, **kwargs)
            return await offload(functools.partial(fn, *args, **kwargs))
        except StratusecError as exc:
            raise ToolError(str(exc)) from None

    return wrapper


def structured(data: dict[str, Any]) -> CallToolResult:
    """A tool result whose text is the compact JSON of its structured content (the SDK
    validates it against the tool's output schema)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data)


def _client_name(ctx: ServerRequestContext[Any, Any]) -> str | None:
    try:
        params = ctx.session.client_params
    except Exception:  # pragma: no cover - no session on this request
        return None
    if params is None or params.client_info is None:
        return None
    return str(params.client_info.name or "") or None


def _error_result(message: str, structured: dict[str, Any] | None = None) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=message)],
        is_error=True,
        structured_content=structured,
    )


def _result_info(result: Any) -> tuple[bool, int, str | None]:
    """(is_error, size in bytes of the text content, error text) of a tools/call result,
    which arrives as a model over some transports and as a dict over others."""
    if isinstance(result, CallToolResult):
        is_error = bool(result.is_error)
        texts = [c.text for c in result.content if isinstance(c, TextContent)]
    elif isinstance(result, dict):
        is_error = bool(result.get("isError") or result.get("is_error"))
        texts = [
            str(c.get("text", ""))
            for c in result.get("content", []) or []
            if isinstance(c, dict) and c.get("type") == "text"
        ]
    else:
        return False, 0, None
    size = sum(len(t.encode("utf-8")) for t in texts)
    return is_error, size, (texts[0][:2000] if is_error and texts else None)


@dataclass
class _Tools:
    """The tool names and their argument models, for the middleware's checks."""

    server: MCPServer
    _names: frozenset[str] | None = None

    def names(self) -> frozenset[str]:
        if self._names is None:  # tools are registered once, at construction
            self._names = frozenset(t.name for t in self.server._tool_manager.list_tools())
        return self._names

    def check_arguments(self, name: str, arguments: Any) -> str | None:
        """None if the arguments fit the tool's schema, else a specific message."""
        tool = self.server._tool_manager.get_tool(name)
        if tool is None:  # pragma: no cover - checked before
            return f"unknown tool {name!r}"
        if not isinstance(arguments, dict):
            return "arguments must be a JSON object"
        props = dict(tool.parameters.get("properties", {}))
        unknown = sorted(set(arguments) - set(props))
        if unknown:
            return (
                f"unknown argument(s) {', '.join(map(repr, unknown))} for {name}; "
                f"valid arguments: {', '.join(sorted(props)) or 'none'}"
            )
        try:
            tool.fn_metadata.arg_model.model_validate(arguments)
        except ValidationError as exc:
            problems = []
            for e in exc.errors()[:5]:
                loc = ".".join(str(p) for p in e["loc"]) or "arguments"
                problems.append(f"{loc}: {e['msg']}")
            return f"invalid arguments for {name}: " + "; ".join(problems)
        return None


class StratusecMCP:
    """Builds the MCP server for one transport and governs every call through it."""

    def __init__(self, ctx: Context, governor: Governor, transport: Transport) -> None:
        self.ctx = ctx
        self.gov = governor
        self.transport = transport
        self.inline_store = ctx.store.dialect == "sqlite"
        self.server: MCPServer = MCPServer(
            name="stratusec",
            title="Stratusec",
            version=__version__,
            instructions=INSTRUCTIONS,
            website_url="https://github.com/stratusec/stratusec",
            middleware=[self._middleware],  # type: ignore[list-item]
            **self._auth_kwargs(),
        )
        self.tools = _Tools(self.server)
        self._register_tools()
        res_mod.register(self.server, self)

    # -- running blocking work ------------------------------------------------------------
    async def in_thread(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn)

    async def quick(self, fn: Callable[[], T]) -> T:
        """Sub-millisecond store work (audit appends, one indexed query): inline on the
        embedded SQLite store, where a thread hop costs more than the work; in a worker
        thread on a server database, whose latency must not stall the event loop."""
        if self.inline_store:
            return fn()
        return await anyio.to_thread.run_sync(fn)

    # overridden by the HTTP runner (it needs the public URL and the verifier)
    def _auth_kwargs(self) -> dict[str, Any]:
        return {}

    # -- identity --------------------------------------------------------------------------
    def caller(self, rctx: ServerRequestContext[Any, Any]) -> Caller | None:
        return caller_for(self.gov, self.transport, _client_name(rctx))

    # -- governance middleware -------------------------------------------------------------
    async def _middleware(
        self,
        rctx: ServerRequestContext[Any, Any],
        call_next: Callable[[ServerRequestContext[Any, Any]], Awaitable[Any]],
    ) -> Any:
        method = rctx.method
        if method not in ("tools/list", "tools/call", "resources/read", "prompts/get"):
            return await call_next(rctx)
        caller = self.caller(rctx)
        if caller is None:
            return _error_result("no authenticated caller: a bearer token is required")
        token = _current_caller.set(caller)
        try:
            if method == "tools/list":
                return self._filter_tools(await call_next(rctx), caller)
            if method == "tools/call":
                return await self._governed_tool_call(rctx, call_next, caller)
            return await self._governed_read(rctx, call_next, caller, method)
        finally:
            _current_caller.reset(token)

    def _filter_tools(self, result: Any, caller: Caller) -> Any:
        allowed = self.gov.tools_for(caller)
        if isinstance(result, dict):
            tools = [t for t in result.get("tools", []) if t.get("name") in allowed]
            return {**result, "tools": tools}
        result.tools = [t for t in result.tools if t.name in allowed]
        return result

    async def _governed_tool_call(
        self,
        rctx: ServerRequestContext[Any, Any],
        call_next: Callable[[ServerRequestContext[Any, Any]], Awaitable[Any]],
        caller: Caller,
    ) -> Any:
        params = rctx.params or {}
        name = str(params.get("name") or "")
        arguments = params.get("arguments") or {}
        audit_args = arguments if isinstance(arguments, dict) else {"_raw": str(arguments)}
        t0 = time.perf_counter()
        visible = self.gov.tools_for(caller)

        def refuse(msg: str, rule: str, decision: str = "deny", outcome: str = "denied") -> Any:
            ms = (time.perf_counter() - t0) * 1000
            try:
                self.gov.refuse(
                    caller,
                    name or "(none)",
                    audit_args,
                    reason=msg,
                    rule=rule,
                    decision=decision,
                    outcome=outcome,
                    duration_ms=ms,
                )
            except AuditWriteError as exc:
                return _error_result(str(exc))
            return _error_result(msg)

        if name not in self.tools.names():
            return await self.quick(
                functools.partial(
                    refuse,
                    f"unknown tool {name!r}; tools available to role {caller.role!r}: "
                    f"{', '.join(sorted(visible)) or 'none'}",
                    "tools:unknown",
                )
            )
        if name not in visible:
            return await self.quick(
                functools.partial(
                    refuse,
                    f"tool {name!r} is not available to role {caller.role!r}; its tools: "
                    f"{', '.join(sorted(visible)) or 'none'}",
                    f"role:{caller.role}",
                )
            )
        problem = self.tools.check_arguments(name, arguments)
        if problem is not None:
            return await self.quick(
                functools.partial(refuse, problem, "schema", "invalid", "error")
            )
        if name == "remediate" and arguments.get("mode") in ("apply", "rollback"):
            # Bind the approval to a stored plan and its digest (planning now when asked by
            # finding id). Planning changes nothing in the account.
            try:
                arguments = await self.in_thread(
                    functools.partial(bind_to_plan, self.ctx, arguments, caller.principal)
                )
            except StratusecError as exc:
                return await self.quick(
                    functools.partial(refuse, str(exc), "remediate:plan", "allow", "error")
                )
        try:
            started = await self.quick(functools.partial(self.gov.begin, caller, name, arguments))
        except (StratusecError, AuditWriteError) as exc:
            # denied, or an invalid request (recorded by the gate): nothing ran
            return _error_result(str(exc))
        if isinstance(started, PendingApproval):
            return _error_result(started.message(), started.as_dict())
        return await self._run_ticket(started, lambda: call_next(rctx))

    async def _run_ticket(self, ticket: Ticket, run: Callable[[], Awaitable[Any]]) -> Any:
        try:
            with running(ticket.call_id):
                result = await run()
        except BaseException as exc:
            message = error_text(exc)
            with anyio.CancelScope(shield=True):
                await self.quick(lambda: self.gov.finish(ticket, error=message))
            raise
        is_error, size, err = _result_info(result)
        try:
            await self.quick(
                lambda: self.gov.finish(
                    ticket, error=(err or "error") if is_error else None, result_size=size
                )
            )
        except AuditWriteError as exc:
            # The call ran but its outcome could not be recorded: withhold the result.
            return _error_result(f"{exc}; the result is withheld")
        return result

    async def _governed_read(
        self,
        rctx: ServerRequestContext[Any, Any],
        call_next: Callable[[ServerRequestContext[Any, Any]], Awaitable[Any]],
        caller: Caller,
        method: str,
    ) -> Any:
        params = dict(rctx.params or {})
        args: dict[str, Any]
        if method == "resources/read":
            action, args = READ_RESOURCE, {"uri": str(params.get("uri", ""))}
        else:
            action = GET_PROMPT
            args = {
                "name": str(params.get("name", "")),
                "arguments": params.get("arguments") or {},
            }
        try:
            started = await self.quick(functools.partial(self.gov.begin, caller, action, args))
        except (CallDenied, AuditWriteError) as exc:
            raise MCPError(code=REFUSED, message=str(exc)) from None
        if isinstance(started, PendingApproval):
            raise MCPError(code=REFUSED, message=started.message(), data=started.as_dict())
        return await self._run_ticket(started, lambda: call_next(rctx))

    # -- tools ----------------------------------------------------------------------------
    def _register_tools(self) -> None:
        srv, ctx = self.server, self.ctx
        frameworks = tuple(framework_ids())

        def guard(fn: Callable[..., Any]) -> Callable[..., Any]:
            return _guard(fn, self.in_thread)

        def quick(fn: Callable[..., Any]) -> Callable[..., Any]:
            return _guard(fn, self.quick)

        accounts = [a.name for a in ctx.config.accounts]
        account_doc = (
            "Account name from the Stratusec config"
            + (f" (one of: {', '.join(accounts)})" if accounts else "")
            + "; omit for every account."
        )
        Account = Annotated[
            str | None,
            Field(description=account_doc, json_schema_extra={"examples": accounts[:3]}),
        ]

        @srv.tool(
            title="Scan cloud accounts",
            description=(
                "Collect the inventory of one configured account (or all), rebuild its "
                "security graph and re-evaluate every check. Read-only on the cloud side; "
                "takes seconds to minutes and reports progress. Returns per-account status "
                "(succeeded / partial / failed), resource count, failed APIs and the "
                "findings that were opened or resolved."
            ),
        )
        @guard
        async def scan(
            mcp_ctx: McpContext,
            account: Account = None,
            regions: Annotated[
                list[str] | None,
                Field(description="Regions to scan, e.g. ['us-east-1']; default: configured"),
            ] = None,
            services: Annotated[
                list[str] | None,
                Field(description="Services to collect, e.g. ['iam','s3']; default: all"),
            ] = None,
        ) -> ScanResult:
            done = {"n": 0, "total": 0}
            # The scanner calls back from its own pool threads: reach this event loop by token.
            loop_token = anyio.lowlevel.current_token()

            def on_event(_acct: str, ev: Any) -> None:
                if ev.kind == "plan":
                    done["total"] += len(ev.tasks)
                elif ev.kind == "done":
                    done["n"] += 1
                else:
                    return
                try:
                    anyio.from_thread.run(
                        mcp_ctx.report_progress,
                        float(done["n"]),
                        float(done["total"] or 1),
                        f"{ev.service} {ev.region}".strip() or "planning",
                        token=loop_token,
                    )
                except Exception as exc:  # progress is best effort
                    log.debug("progress notification failed: %s", type(exc).__name__)

            results = await anyio.to_thread.run_sync(
                lambda: scan_op(
                    ctx, account=account, regions=regions, services=services, on_event=on_event
                )
            )
            scans = []
            for o, ev in results:
                scans.append(
                    AccountScan(
                        account=o.account_name,
                        account_id=o.account_id,
                        scan_id=o.scan_id,
                        status=o.status,  # type: ignore[arg-type]
                        resources=o.resource_count,
                        regions=o.regions,
                        duration_seconds=round(o.duration, 3),
                        api_calls=o.api_calls,
                        errors=[
                            {
                                "service": e.service,
                                "region": e.region,
                                "api": e.api,
                                "error": e.message,
                            }
                            for e in o.errors[:50]
                        ],
                        evaluation=ev.as_dict() if ev else None,
                    )
                )
            return ScanResult(scans=scans)

        @srv.tool(
            title="List findings",
            description=(
                "Security findings from the latest scans, most severe first. Filter by "
                "account, severity, service, check id, compliance control "
                "(e.g. 'cis-aws-3.0:1.4'), status, first-seen time, or only those new in "
                "the latest scan. Paginated: pass next_cursor back as cursor. Each finding "
                "has a stable id for explain_finding."
            ),
        )
        @quick
        def get_findings(
            account: Account = None,
            severity: Annotated[
                list[Severity] | None, Field(description="Keep only these severities")
            ] = None,
            service: Annotated[
                list[str] | None, Field(description="AWS services, e.g. ['s3','iam']")
            ] = None,
            check: Annotated[list[str] | None, Field(description="Check ids")] = None,
            control: Annotated[
                str | None,
                Field(description="Compliance control as framework:id, e.g. cis-aws-3.0:1.4"),
            ] = None,
            status: Annotated[FindingStatus, Field(description="Finding status")] = "open",
            since: Annotated[
                str | None, Field(description="First seen since: 30m, 24h, 7d, 2w or ISO date")
            ] = None,
            new: Annotated[bool, Field(description="Only findings new in the latest scan")] = False,
            limit: Annotated[int, Field(ge=1, le=500, description="Page size")] = 50,
            cursor: Annotated[
                str | None, Field(description="next_cursor from the previous page")
            ] = None,
            include_evidence: Annotated[
                bool,
                Field(description="Include each finding's raw evidence (explain_finding has it)"),
            ] = False,
        ) -> Annotated[CallToolResult, FindingsPage]:
            page = findings_op.get_findings(
                ctx,
                FindingFilter(
                    account=account,
                    severity=list(severity or []),
                    service=list(service or []),
                    check=list(check or []),
                    control=control,
                    status=status,
                    since=since,
                    new=new,
                    limit=limit,
                    cursor=cursor,
                    evidence=include_evidence,
                ),
            )
            return structured(
                {
                    "findings": page.findings,
                    "total": page.total,
                    "next_cursor": page.next_cursor,
                    "notice": UNTRUSTED_NOTICE,
                }
            )

        @srv.tool(
            title="Explain a finding",
            description=(
                "Everything about one finding: what the check found, why it matters, the "
                "evidence, the resource and its neighbours in the security graph, the attack "
                "paths through it, when it was first and last seen, and how to fix it."
            ),
        )
        @guard
        def explain_finding(
            finding_id: Annotated[
                str, Field(min_length=1, max_length=128, description="Finding id")
            ],
        ) -> Explanation:
            return Explanation.model_validate(explain_op(ctx, finding_id))

        @srv.tool(
            title="Query the security graph",
            description=(
                "Run one read-only Cypher statement on an account's security graph (read the "
                "resource stratusec://graph/{account} for labels, relationship types and "
                "properties). Writes, procedures that change state, file access and "
                "multiple statements are refused. Results are capped at limit rows and the "
                "statement is stopped after timeout_ms."
            ),
        )
        @guard
        def query_graph(
            cypher: Annotated[
                str,
                Field(
                    min_length=1,
                    max_length=10_000,
                    description="e.g. MATCH (r:Resource {kind:'aws_s3_bucket'}) RETURN r.name",
                ),
            ],
            account: Account = None,
            params: Annotated[
                dict[str, Any] | None, Field(description="Query parameters ($name)")
            ] = None,
            limit: Annotated[int, Field(ge=1, le=1000, description="Maximum rows")] = 100,
            timeout_ms: Annotated[
                int, Field(ge=100, le=30_000, description="Time limit in milliseconds")
            ] = 5000,
        ) -> GraphQuery:
            if account:
                ctx.config.account(account)
            r = query_graph_op(ctx, account, cypher, params, limit=limit, timeout_ms=timeout_ms)
            return GraphQuery.model_validate(r.as_dict())

        @srv.tool(
            title="Attack paths",
            description=(
                "Ranked attack paths in an account: from the Internet or a principal to "
                "admin-equivalent principals, sensitive data, or a named resource. Every hop "
                "has a reason (the policy statement, trust policy, route or security group "
                "that makes it possible)."
            ),
        )
        @guard
        def get_attack_paths(
            account: Account = None,
            source: Annotated[
                str | None,
                Field(description="'internet', or a principal ARN or name; default: all entries"),
            ] = None,
            to: Annotated[
                str,
                Field(description="'admin', 'sensitive', 'any', or a resource ARN or name"),
            ] = "any",
            max_hops: Annotated[int, Field(ge=1, le=8, description="Longest path")] = 6,
            limit: Annotated[int, Field(ge=1, le=100, description="Maximum paths")] = 20,
        ) -> AttackPaths:
            acct, paths = attack_paths_op(
                ctx, account=account, source=source, to=to, max_hops=max_hops, limit=limit
            )
            return AttackPaths(account=acct, count=len(paths), paths=[p.as_dict() for p in paths])

        @srv.tool(
            title="Compliance posture",
            description=(
                "A compliance framework's controls judged from the latest scan of each "
                "account (or one account): pass / fail / unknown / manual per control, with "
                "the failing checks, and an overall score."
            ),
        )
        @guard
        def check_compliance(
            framework: Annotated[
                Literal[frameworks],  # type: ignore[valid-type]
                Field(description="Framework id"),
            ] = "cis-aws-3.0",
            account: Account = None,
        ) -> Compliance:
            reports = check_compliance_op(ctx, framework=framework, account=account)
            return Compliance(framework=framework, reports=reports)

        @srv.tool(
            title="Remediate a finding",
            description=(
                "Plan the fix of one finding (mode='plan', the default): the exact AWS API "
                "calls, the config before and after, the equivalent Terraform and AWS CLI, "
                "the blast radius (what uses the resource, which attack paths the fix cuts) "
                "and the rollback. Nothing changes in the account. mode='apply' (with the "
                "plan_id and plan_digest of a plan, or a finding_id to plan first) asks a "
                "different human to approve it: you get an approval id; once approved, "
                "get_approval runs it exactly once, re-checks the resource and reports "
                "whether the finding is resolved. mode='rollback' restores an applied "
                "plan's before state, also after approval."
            ),
        )
        @guard
        def remediate(
            finding_id: Annotated[
                str | None, Field(max_length=64, description="Finding id (mode plan/apply)")
            ] = None,
            mode: Annotated[
                Literal["plan", "apply", "rollback"], Field(description="What to do")
            ] = "plan",
            plan_id: Annotated[
                str | None, Field(pattern=r"^[0-9a-f]{32}$", description="A stored plan")
            ] = None,
            plan_digest: Annotated[
                str | None,
                Field(pattern=r"^[0-9a-f]{64}$", description="The digest of that plan"),
            ] = None,
            options: Annotated[
                dict[str, Any] | None,
                Field(description="Fixer options, e.g. {'kms_key_id': 'arn:...'}"),
            ] = None,
        ) -> Remediation:
            caller = current_caller()
            approval = _current_approval.get()

            def record(event: str, facts: dict[str, Any]) -> None:
                self.gov.note(caller, event, facts, approval_id=approval)

            out = remediate_op(
                ctx,
                actor=caller.principal,
                record=record,
                finding_id=finding_id,
                mode=mode,
                plan_id=plan_id,
                plan_digest=plan_digest,
                options=options,
                approval_id=approval,
            )
            return Remediation.model_validate(out)

        @srv.tool(
            title="Test a guardrail policy",
            description=(
                "Judge resources with a Rego v1 guardrail policy: a stored one by name "
                "(bundled, user or active) or a draft text, against an account's latest scan "
                "or a Terraform plan (the JSON of 'terraform show -json'). Returns per-"
                "resource pass / deny / error with the policy's messages. Validating never "
                "activates anything."
            ),
        )
        @guard
        def validate_guardrail(
            policy: Annotated[
                str | None, Field(max_length=256, description="A stored policy's name")
            ] = None,
            policy_text: Annotated[
                str | None, Field(max_length=100_000, description="A draft policy (Rego v1)")
            ] = None,
            account: Account = None,
            plan: Annotated[
                dict[str, Any] | None, Field(description="terraform show -json output")
            ] = None,
            resource_types: Annotated[
                list[str] | None, Field(description="Only these types, e.g. aws_db_instance")
            ] = None,
            resource_names: Annotated[list[str] | None, Field(description="Only these")] = None,
        ) -> GuardrailValidation:
            from stratusec.guardrails.validate import validate_guardrail as validate_op

            return GuardrailValidation.model_validate(
                validate_op(
                    ctx,
                    policy=policy,
                    policy_text=policy_text,
                    account=account,
                    plan=plan,
                    resource_types=resource_types,
                    resource_names=resource_names,
                )
            )

        @srv.tool(
            title="Activate a guardrail policy",
            description=(
                "Ask to run a bundled or user guardrail policy at every scan (its denials "
                "become findings guardrail:<package>), or with active=false to stop running "
                "it. Always needs a different human's approval: you get an approval id, and "
                "get_approval runs the change once it is approved."
            ),
        )
        @guard
        def activate_guardrail(
            policy: Annotated[str, Field(min_length=1, max_length=256, description="Its name")],
            active: Annotated[bool, Field(description="false: deactivate")] = True,
        ) -> dict[str, Any]:
            from stratusec.operations.dispatch import set_guardrail

            return set_guardrail(
                ctx,
                {"policy": policy, "active": active},
                actor=current_caller().principal,
                approval_id=_current_approval.get(),
            )

        levels = ctx.config.access.levels
        level_doc = "A configured access level" + (
            f" (one of: {', '.join(sorted(levels))})" if levels else ""
        )

        @srv.tool(
            title="Request just-in-time access",
            description=(
                "Ask for short-lived access with a reason: a configured access level, or a "
                "target (an AWS account or a PostgreSQL database from the config) with exactly "
                "the AWS actions and resource ARNs, or the PostgreSQL privileges (e.g. "
                "'SELECT on public.orders'), you need. The level decides: granted at once, or "
                "after a different human approves (you get an approval id; get_approval "
                "finishes it), or refused with the rule and the limits. AWS grants are proven "
                "by the IAM evaluator first. You get the grant id and how the human fetches "
                "the credentials, not the secret."
            ),
        )
        @guard
        def request_access(
            reason: Annotated[str, Field(min_length=1, max_length=2000, description="Why")],
            level: Annotated[
                str | None, Field(min_length=1, max_length=128, description=level_doc)
            ] = None,
            target: Annotated[
                str | None,
                Field(min_length=1, max_length=128, description="Account or database name"),
            ] = None,
            duration: Annotated[
                str, Field(pattern=r"^\d+[smh]$", description="e.g. 15m, 1h (max: the level's)")
            ] = "15m",
            actions: Annotated[
                list[str] | None,
                Field(max_length=100, description="AWS actions, e.g. ['s3:GetObject']"),
            ] = None,
            resources: Annotated[
                list[str] | None, Field(max_length=100, description="AWS resource ARNs")
            ] = None,
            privileges: Annotated[
                list[str] | None,
                Field(max_length=100, description="PostgreSQL, e.g. ['SELECT on public.orders']"),
            ] = None,
            ticket: Annotated[str | None, Field(max_length=128, description="Ticket")] = None,
        ) -> dict[str, Any]:
            from stratusec.operations.access import deliver
            from stratusec.operations.access import request_access as access_op

            caller = current_caller()
            grant = access_op(
                ctx,
                requester=caller.principal,
                role=caller.role,
                on_behalf_of=caller.on_behalf_of,
                agent=caller.agent,
                level=level,
                target=target,
                reason=reason,
                duration=duration,
                actions=actions,
                resources=resources,
                privileges=privileges,
                ticket=ticket,
                approval_id=_current_approval.get(),
            )
            if ctx.config.access.secrets_to_agent:
                # Allowed by the config: the credentials go to the agent, once.
                grant["credentials"] = deliver(ctx, grant["grant_id"], actor=caller.principal)
                grant["how_to_fetch"] = "delivered in this result (access.secrets_to_agent)"
            return grant

        @srv.tool(
            title="Approval status",
            description=(
                "The status of an approval request you were given by an earlier call. A "
                "different human approves or denies it outside this conversation. Once it is "
                "approved, this call runs the approved call exactly once, with exactly the "
                "approved arguments, and returns its result; later calls show the stored "
                "outcome. You cannot approve anything yourself."
            ),
        )
        @guard
        async def get_approval(
            mcp_ctx: McpContext,
            approval_id: Annotated[
                str, Field(pattern=r"^[0-9a-f]{32}$", description="The approval id you were given")
            ],
        ) -> ApprovalStatus:
            return await self._approval_status(mcp_ctx, approval_id)

    # -- get_approval: status, and the approved call run once -------------------------------------
    async def _approval_status(self, mcp_ctx: McpContext, approval_id: str) -> ApprovalStatus:
        caller = current_caller()
        req = await anyio.to_thread.run_sync(
            approvals_mod.get_approval, self.ctx.store, approval_id
        )
        if req["requester"] != caller.principal:
            raise CallDenied(f"approval request {approval_id} belongs to another caller")
        result: Any = req.get("result")
        status = req["status"]
        message = {
            "pending": "Waiting for a different human to approve or deny it.",
            "denied": "A human denied it; the call did not run.",
            "expired": "Nobody decided in time; the call did not run. Ask again if needed.",
            "executed": "It already ran (once); the stored outcome is under result.",
        }.get(status, "")
        if status == "approved":
            ticket = await anyio.to_thread.run_sync(self.gov.begin_approved, caller, approval_id)
            token = _current_approval.set(approval_id)
            try:
                out = await self._run_ticket(
                    ticket,
                    lambda: self.server.call_tool(ticket.tool, ticket.arguments, mcp_ctx),
                )
            finally:
                _current_approval.reset(token)
            result = _structured(out)
            req = await anyio.to_thread.run_sync(
                approvals_mod.get_approval, self.ctx.store, approval_id
            )
            status = req["status"]
            message = f"Approved by {req['decided_by']}; the call ran once, its result is below."
        return ApprovalStatus(
            approval_id=approval_id,
            status=status,
            tool=req["tool"],
            arguments=redact_value(req["arguments"]),
            requester=req["requester"],
            on_behalf_of=req["on_behalf_of"],
            reason=req["reason"],
            created_at=req["created_at"],
            expires_at=req["expires_at"],
            decided_by=req["decided_by"],
            decided_at=req["decided_at"],
            decision_reason=req["decision_reason"],
            executed_at=req["executed_at"],
            result=result,
            message=message,
        )


def _structured(out: Any) -> Any:
    """The structured content of a tool result (or its text when it has none)."""
    if isinstance(out, CallToolResult):
        if out.structured_content is not None:
            return out.structured_content
        texts = [c.text for c in out.content if isinstance(c, TextContent)]
        if out.is_error:
            return {"error": texts[0] if texts else "error"}
        try:
            return json.loads(texts[0]) if texts else None
        except ValueError:
            return texts[0] if texts else None
    return out
