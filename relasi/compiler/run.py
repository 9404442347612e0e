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

from graphql import GraphQLError, get_operation_ast
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType

from relasi.compiler.errors import Unsupported
from relasi.compiler.nodes import Bind, Plan, json_object
from relasi.compiler.plan import Planner
from relasi.resolvers.predicates import Params

log = logging.getLogger("relasi.compiler")

READ_PATHS = ("compiled", "resolvers")
_CACHE_SIZE = 512
_UNCOVERED = object()
_VARIABLES_CACHED = 2048  # characters of JSON: requests with more variables are written anew
_plans: OrderedDict[tuple, Any] = OrderedDict()
# (plan key, variables as JSON, page size) -> (statement, its values after the workspace's)
_statements: OrderedDict[tuple, tuple[str, tuple]] = OrderedDict()


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
    path (the default, see `Settings.read_path`) and the compiler covers the whole operation;
    otherwise the resolvers run as usual."""

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context

        context = ec.context
        if (
            ec.operation_type is OperationType.QUERY
            and getattr(context, "read_path", None) == "compiled"
            and getattr(context, "request_session", None) is not None
        ):
            ec.result = await run(ec, context.request_session)
            context.answered_compiled = ec.result is not None and ec.result.errors is None
        yield


async def run(ec: Any, session: Any) -> ExecutionResult | None:
    document = ec.graphql_document
    operation = get_operation_ast(document, ec.operation_name)
    if operation is None or "\\u0000" in (ec.query or ""):
        return None
    variables = get_variable_values(
        ec.schema._schema, operation.variable_definitions or (), ec.variables or {}
    )
    if isinstance(variables, list) or _has_nul(variables.coerced):
        return None  # the resolver path reports bad variables; NUL text is refused there
    principal = session.principal
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
    written = _written(ec, plan, key, variables, principal, session.max_page_size)
    if written is None:
        return None
    sql, values = written
    try:
        row = await session.fetchrow_alone(sql, principal.workspace_id, *values)
    except Exception as e:  # masked and logged as INTERNAL_SERVER_ERROR by ErrorPolicy
        first = plan[0][0]
        return ExecutionResult(
            data=None, errors=[GraphQLError(str(e), path=[first], original_error=e)]
        )
    if not row["found"]:
        log.debug("resolvers answer %s: a lookup found nothing", ec.operation_name or "query")
        return None  # a lookup named nothing: the resolvers give the NOT_FOUND error
    return ExecutionResult(data=CompiledData(row["data"]), errors=None)


def _written(
    ec: Any, plan: Any, key: tuple, variables: Any, principal: Any, max_page_size: int
) -> tuple[str, tuple] | None:
    """The statement of `plan` for this request's variables and the values it binds after
    the workspace's (`$1`); None when the arguments are bad (the resolvers report them). A
    statement depends on nothing else: plan, variables, page size (and the scopes, in the
    plan's key)."""
    given = json.dumps(ec.variables or {}, sort_keys=True, separators=(",", ":"), default=str)
    statement_key = (key, given, max_page_size) if len(given) <= _VARIABLES_CACHED else None
    written = _cached(_statements, statement_key) if statement_key else None
    if written is not None:
        return written
    bind = Bind(
        schema=ec.schema,
        principal=principal,
        variables=variables,
        max_page_size=max_page_size,
        params=Params(principal.workspace_id, pii=principal.has("pii:read")),
    )
    try:
        sql = _statement(bind, plan)
    except Unsupported as e:  # this request's arguments: the resolvers give their errors
        log.debug("resolvers answer %s: %s", ec.operation_name or "query", e)
        return None
    written = (sql, tuple(bind.params.values[1:]))
    if statement_key:
        _remember(_statements, statement_key, written)
    return written


def _cached(cache: OrderedDict[tuple, Any], key: tuple) -> Any:
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
    return found


def _remember(cache: OrderedDict[tuple, Any], key: tuple, value: Any) -> None:
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def _statement(bind: Bind, plan: list[tuple[str, Plan]]) -> str:
    data = json_object(bind, "", plan)
    found = " AND ".join(bind.found) or "true"
    return f"SELECT {data}::text AS data, {found} AS found"


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False
