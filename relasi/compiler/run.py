"""Running a query compiled: plan (cached), write the statement, run it on the request's
Session, hand PostgreSQL's JSON text to the HTTP layer as it is.

The plan cache is keyed by the document's text, the operation, the caller's scopes and the
values of the Boolean variables (which @skip/@include may read); a document the compiler does
not cover is remembered as such, so it goes straight to the resolvers the next time.

Writing a plan's statement for a request's arguments is most of the compiled path's Python
time, so the written statement is cached too, per plan and variables: the same list screen
or customer screen asked again (by any workspace: the workspace is always `$1`, bound per
request) runs the text written the first time, with the same values.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError, get_operation_ast
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType

from relasi.compiler import values
from relasi.compiler.errors import Unsupported
from relasi.compiler.mixed import with_resolvers
from relasi.compiler.nodes import Bind
from relasi.compiler.plan import Planner, Root
from relasi.resolvers.predicates import Params

log = logging.getLogger("relasi.compiler")

READ_PATHS = ("compiled", "resolvers")
_CACHE_SIZE = 512
_UNCOVERED = object()
_VARIABLES_CACHED = 2048  # characters of JSON: requests with more variables are written anew
_plans: OrderedDict[tuple, Any] = OrderedDict()
# (text, operation, caller, variables as JSON, page size) -> (plan, (statement, its values
# after the workspace's, the root fields it answers, those left to the resolvers))
_statements: OrderedDict[tuple, tuple[Root, tuple]] = OrderedDict()


class CompiledData(str):
    """The `data` of a response as PostgreSQL wrote it: JSON text, sent without decoding."""


def encode_response(body: Any) -> str | None:
    """The HTTP body of a compiled response; None for any other (strawberry encodes it)."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), CompiledData):
        return None
    rest = {k: v for k, v in body.items() if k != "data"}  # e.g. extensions' results
    tail = "," + json.dumps(rest, separators=(",", ":"))[1:] if rest else "}"
    return '{"data":' + body["data"] + tail


class CompiledReads(SchemaExtension):
    """Answers a query from one compiled statement when the request asks for the compiled
    path (the default, see `Settings.read_path`): the root fields the compiler covers from
    the statement, the others through the resolvers (`mixed.py`); when it covers none, the
    resolvers run as usual."""

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context

        context = ec.context
        if (
            ec.operation_type is OperationType.QUERY
            and getattr(context, "read_path", None) == "compiled"
            and getattr(context, "request_session", None) is not None
        ):
            ec.result = await run(ec, context.request_session)
            if isinstance(ec.result, ExecutionResult) and ec.result.errors is None:
                context.answered_path = "compiled"
                if ec.query is not None:  # the operation as the client named it (or not)
                    named = getattr(ec, "_provided_operation_name", ec.operation_name)
                    context.compiled = (ec.query, named, ec.graphql_document)
            elif ec.result is not None and ec.result.data is not None:
                context.answered_path = "mixed"
        yield


async def run(
    ec: Any, session: Any, *, whole: bool = False
) -> ExecutionResult | GraphQLExecutionResult | None:
    """The compiled answer, or None for the resolvers; `whole`: None also where the resolvers
    would answer some of the root fields (`compiler/shortcut.py` has no strawberry
    execution context to run them with)."""
    principal = session.principal
    # looked up by the request as sent, before its variables are coerced: the same text,
    # operation, caller and variables make the same statement (and passed every check)
    given = json.dumps(ec.variables or {}, sort_keys=True, separators=(",", ":"), default=str)
    caller = (principal.scopes, principal.member_id, principal.api_key_id)
    statement_key = (
        (ec.query, ec.operation_name, caller, given, session.max_page_size)
        if len(given) <= _VARIABLES_CACHED
        else None
    )
    known = _cached(_statements, statement_key) if statement_key else None
    if known is None:
        known = _planned(ec, principal, session.max_page_size)
        if known is None:
            return None
        if statement_key:
            _remember(_statements, statement_key, known)
    plan, (sql, bound, keys, rest) = known
    if whole and rest:
        return None
    rest = list(rest)
    try:
        row = await session.fetchrow_alone(sql, principal.workspace_id, *bound)
    except Exception as e:  # masked and logged as INTERNAL_SERVER_ERROR by ErrorPolicy
        first = plan.plans[0][0]
        return ExecutionResult(
            data=None, errors=[GraphQLError(str(e), path=[first], original_error=e)]
        )
    # a lookup that named nothing: the resolvers give the NOT_FOUND error
    rest += [key for key, found in zip(keys, row["found"], strict=True) if not found]
    if not rest:
        return ExecutionResult(data=CompiledData(row["data"]), errors=None)
    if whole or len(rest) == len(plan.keys):
        return None
    operation = get_operation_ast(ec.graphql_document, ec.operation_name)
    return await with_resolvers(ec, operation, plan, json.loads(row["data"]), set(rest))


def _planned(ec: Any, principal: Any, max_page_size: int) -> tuple[Root, tuple] | None:
    """The plan of the request's operation (cached per text, operation, scopes and Boolean
    variables) and its statement for the request's variables; None for the resolvers."""
    document = ec.graphql_document
    operation = get_operation_ast(document, ec.operation_name)
    if operation is None or "\\u0000" in (ec.query or ""):
        return None
    variables = get_variable_values(
        ec.schema._schema, operation.variable_definitions or (), ec.variables or {}
    )
    if isinstance(variables, list) or _has_nul(variables.coerced):
        return None  # the resolver path reports bad variables; NUL text is refused there
    switches = tuple(sorted((k, v) for k, v in variables.coerced.items() if isinstance(v, bool)))
    key = (ec.query, ec.operation_name, principal.scopes, switches)
    plan = _cached(_plans, key)
    if plan is None:
        try:
            plan = Planner(ec.schema, document, operation, principal, variables.coerced).root()
        except Unsupported as e:
            log.debug("resolvers answer %s: %s", ec.operation_name or "query", e)
            plan = _UNCOVERED
        _remember(_plans, key, plan)
    if plan is _UNCOVERED:
        return None
    written = _written(ec.schema, plan, variables, principal, max_page_size)
    return None if written is None else (plan, written)


def _written(
    schema: Any, plan: Root, variables: Any, principal: Any, max_page_size: int
) -> tuple[str, tuple, list[str], list[str]] | None:
    """The statement of `plan` for this request's variables, the values it binds after the
    workspace's (`$1`), the root fields it answers and those left to the resolvers; None when
    the arguments let it answer none (the resolvers report them). A statement depends on
    nothing else: plan, caller, variables, page size (and the scopes, in the plan's key); the
    caller's own ids are bound by `me` (compiler/caller.py), so a statement is the caller's."""
    bind = Bind(
        schema=schema,
        principal=principal,
        variables=variables,
        max_page_size=max_page_size,
        params=Params(principal.workspace_id, pii=principal.has("pii:read")),
    )
    sql, keys, rest = _statement(bind, plan)
    if sql is None:
        return None
    return sql, tuple(bind.params.values[1:]), keys, rest


def _cached(cache: OrderedDict[tuple, Any], key: tuple) -> Any:
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
    return found


def _remember(cache: OrderedDict[tuple, Any], key: tuple, value: Any) -> None:
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def _statement(bind: Bind, plan: Root) -> tuple[str | None, list[str], list[str]]:
    """The statement of the root fields this request's arguments let the compiler write (None:
    none of them), their keys, and the keys of those left to the resolvers."""
    fields, pairs, found, written, rest = [], [], [], [], list(plan.rest)
    for key, field_plan in plan.plans:
        params, lookups = len(bind.params.values), len(bind.found)
        try:
            value = field_plan.sql(bind, "")
        except Unsupported as e:
            log.debug("resolvers answer %s: %s", key, e)
            del bind.params.values[params:], bind.found[lookups:]
            rest.append(key)
            continue
        column = f"v.f{len(fields)}"
        fields.append(f"{value} AS f{len(fields)}")
        pairs.append(f"{values.literal(key)}, {column}")
        written.append(key)
        conditions = [c.replace("{value}", column) for c in bind.found[lookups:]]
        found.append(" AND ".join(conditions) or "true")
    if not pairs:
        return None, written, rest
    data = f"json_build_object({', '.join(pairs)})"
    # each root field's value computed once (OFFSET 0: not folded into both of its uses);
    # $1 (the workspace) is always bound, even to a statement that reads no table
    statement = f"SELECT {data}::text AS data, ARRAY[{', '.join(found)}] AS found"
    computed = f"LATERAL (SELECT {', '.join(fields)} OFFSET 0) v"
    return f"{statement} FROM (SELECT $1::uuid) AS workspace, {computed}", written, rest


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
