"""Webhooks compiled: `webhookEndpoints`, `webhookEndpoint` and `webhookDeliveries`, as
`schema/webhooks.py` answers them (`endpoint_of`, `delivery_of`): pages read with the
resolvers' conditions and keyset (`resolvers/webhooks/listing.py`, `deliveries.conditions`),
an endpoint's health, a delivery's body as sent and its attempts, oldest first."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, get_named_type

from relasi.compiler import values
from relasi.compiler.errors import Unsupported
from relasi.compiler.forward import forward_page, plan_parts
from relasi.compiler.nodes import Arguments, Bind, Column, Const, GlobalId, ObjectPlan, Plan, Rows
from relasi.errors import AppError
from relasi.resolvers import global_ids
from relasi.resolvers.pagination import list_fingerprint, page_size
from relasi.resolvers.webhooks import deliveries, endpoints, listing

if TYPE_CHECKING:
    from relasi.compiler.plan import Planner

# GraphQL field -> SQL over the row {t}, per type (ids and nested objects: _SPECIAL)
_COLUMNS: dict[str, dict[str, str]] = {
    "WebhookEndpoint": {
        "url": "{t}.url",
        "description": "{t}.description",
        "eventTypes": "to_json({t}.event_types)",
        "filter": "{t}.filter",
        "enabled": "{t}.enabled",
        "previousSecretExpiresAt": (
            "CASE WHEN {t}.previous_secret IS NOT NULL THEN {t}.previous_secret_until END"
        ),
        "createdAt": "{t}.created_at",
        "updatedAt": "{t}.updated_at",
        "version": "{t}.version",
    },
    "WebhookEndpointHealth": {
        "lastSuccessAt": "{t}.last_success_at",
        "lastFailureAt": "{t}.last_failure_at",
        "failureStreak": "{t}.failure_streak",
        "disabledReason": "CASE WHEN {t}.enabled THEN NULL ELSE {t}.disabled_reason END",
        "disabledCode": "CASE WHEN {t}.enabled THEN NULL ELSE {t}.disabled_code END",
    },
    "WebhookDelivery": {
        "webhookId": "'msg_' || replace(({t}.id)::text, '-', '')",
        "eventType": "{t}.event_type",
        "recordId": "({t}.body)::json -> 'data' ->> 'recordId'",
        "occurredAt": "{t}.occurred_at",
        "status": "{t}.status",
        "nextAttemptAt": "CASE WHEN {t}.status = 'PENDING' THEN {t}.next_attempt_at END",
        "deliveredAt": "{t}.delivered_at",
        "payload": "({t}.body)::json",  # the body sent, as sent
    },
    "WebhookAttempt": {
        "attemptedAt": "{t}.attempted_at",
        "statusCode": "{t}.status_code",
        "durationMs": "{t}.duration_ms",
        "responseExcerpt": "{t}.response_excerpt",
        "error": "{t}.error",
    },
}
_ATTEMPTS = "FROM webhook_attempts {i} WHERE {i}.workspace_id = $1 AND {i}.delivery_id = {t}.id"
# each list: its table, global id type, keyset column, order, and the resolvers' list name
_LISTS = {
    "webhookEndpoints": ("webhook_endpoints", endpoints.TYPE_NAME, "created_at", False),
    "webhookDeliveries": ("webhook_deliveries", deliveries.TYPE_NAME, "occurred_at", True),
}


@dataclass
class EndpointLookup(Plan):
    arguments: Arguments
    target: ObjectPlan

    def sql(self, b: Bind, alias: str) -> str:
        pk = _endpoint_pk(self.arguments.raw(b)["id"], "id")
        x = b.alias()
        where = f"FROM webhook_endpoints {x} WHERE {x}.workspace_id = $1 AND {x}.id = {b.params(pk, 'uuid')}"
        b.found.append(f"EXISTS (SELECT 1 {where})")  # else NOT_FOUND: the resolver says it
        return f"(SELECT {self.target.sql(b, x)} {where})"


@dataclass
class WebhookPage(Plan):
    name: str  # a key of _LISTS
    arguments: Arguments
    parts: list[tuple[str, str, Any]]

    def sql(self, b: Bind, alias: str) -> str:
        table, _, at, descending = _LISTS[self.name]
        kwargs = self.arguments.read(b)
        after = kwargs.get("after")
        where = "t.workspace_id = $1"
        try:
            size = page_size(kwargs.get("first"), b.max_page_size)
            if self.name == "webhookDeliveries":
                pk = _endpoint_pk(kwargs["endpoint_id"], "endpointId")
                b.found.append(  # else NOT_FOUND: the resolver says it
                    "EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.workspace_id = $1"
                    f" AND e.id = {b.params(pk, 'uuid')})"
                )
                where = deliveries.conditions(b.params, pk, _filter(kwargs.get("filter")))
            after_where, order = listing.keyset(
                b.params, after, descending=descending, name=self.name, at=at
            )
        except AppError as e:  # the resolver's error
            raise Unsupported("arguments") from e
        a = b.alias()
        inner = (
            f"SELECT t.*, row_number() OVER (ORDER BY {order}) AS _n FROM {table} t"
            f" WHERE {where}{after_where} ORDER BY {order} LIMIT {size + 1}"
        )
        keys = [(f"{a}.{at}", "timestamptz"), (f"{a}.id", "uuid")]
        cursor = values.cursor(list_fingerprint(self.name), keys)
        return forward_page(b, a, inner, size, cursor, after, self.parts)


def _endpoint_pk(global_id: str, field: str) -> Any:
    try:
        return global_ids.decode(global_id, endpoints.TYPE_NAME, field=field)
    except AppError as e:  # the resolver's error
        raise Unsupported("endpoint id") from e


def _filter(flt: Any) -> dict[str, Any]:
    """The delivery filter as the resolver passes it on (`provided`, enums as values)."""
    from relasi.schema.payloads import provided  # relasi.schema imports us

    found = provided(flt) if flt is not None else {}
    return {k: v.value if isinstance(v, Enum) else v for k, v in found.items()}


def plan_webhooks(
    planner: Planner, nodes: list[FieldNode], gql_field: Any, strawberry_field: Any
) -> Plan:
    name = nodes[0].name.value
    arguments = Arguments(nodes[0], gql_field, strawberry_field)
    if name == "webhookEndpoint":
        return EndpointLookup(arguments, _object(planner, "WebhookEndpoint", nodes))
    connection_type = planner._object_type(get_named_type(gql_field.type).name)
    type_name = _LISTS[name][1]
    parts = plan_parts(planner, connection_type, nodes, lambda f: _object(planner, type_name, f))
    return WebhookPage(name, arguments, parts)


def _object(planner: Planner, type_name: str, nodes: list[FieldNode]) -> ObjectPlan:
    type_ = planner._object_type(type_name)
    special: dict[str, Callable[[list[FieldNode]], Plan]] = {
        "id": lambda _: GlobalId(type_name),
        "health": lambda found: _object(planner, "WebhookEndpointHealth", found),
        "attempts": lambda found: Rows(
            _ATTEMPTS, "{i}.attempted_at, {i}.id", _object(planner, "WebhookAttempt", found)
        ),
    }
    columns = _COLUMNS[type_name]
    plans: list[tuple[str, Plan]] = []
    for key, found in planner.collect(type_, [n.selection_set for n in nodes]).items():
        name = found[0].name.value
        if name == "__typename":
            plans.append((key, Const(values.literal(type_name))))
            continue
        planner._check(type_name, name)
        if name in columns:
            scalar = get_named_type(type_.fields[name].type).name
            if name == "eventTypes":
                scalar = "JSON"  # a list of strings, as to_json writes it
            plans.append((key, Column(columns[name], "String" if scalar == "ID" else scalar)))
        elif name in special:
            plans.append((key, special[name](found)))
        else:
            raise Unsupported(f"{type_name}.{name}")
    return ObjectPlan(plans)
