"""A delivery's body: `{type, timestamp, data: {object, changes, ...}}`.

`object` is the record as the API shows it to the endpoint's owner: it is read by running a
query through the GraphQL schema with the owner's scopes, so masking (emails and phones
without pii:read), left-out fields (deal amounts without deals:amounts) and global ids are
exactly the API's. `changes` is rendered as the `changes` query shows it. One query per record
type reads the records of a whole fan-out batch, compiled as a client's query is (one SQL
statement that returns the JSON; what the compiler does not cover, such as fields the owner
may not read, falls back to the resolvers).
"""

from __future__ import annotations

import json
from datetime import UTC
from functools import cache
from typing import Any
from uuid import UUID

import asyncpg
from graphql import get_named_type, is_leaf_type, is_object_type

from relasi.auth.principal import Principal
from relasi.db import Database
from relasi.resolvers import changes, global_ids
from relasi.resolvers.session import Session

# record types whose current state is the payload's object (notes are read on timelines)
OBJECT_TYPES = ("Contact", "Account", "Deal", "Case", "Segment", "Interaction", "Task")
_BATCH = 100  # ids per query (the most a page or nodes() takes)


@cache
def _selection(type_name: str) -> str:
    """Every field of the type that takes no arguments; linked records as `{ id }`, value
    objects (Money, emails, UTM) with their fields; no connections."""
    from relasi.schema import schema

    def fields(gql_type: Any, nested: bool) -> str:
        parts = []
        for name, field in gql_type.fields.items():
            if field.args:
                continue
            target = get_named_type(field.type)
            if is_leaf_type(target):
                parts.append(name)
            elif is_object_type(target):
                if any(i.name == "Node" for i in target.interfaces):
                    parts.append(f"{name} {{ id }}")
                elif not nested and not target.name.endswith(("Connection", "Journey")):
                    parts.append(f"{name} {{ {fields(target, True)} }}")
        return " ".join(parts)

    return fields(schema._schema.get_type(type_name), False)


# Record types with a root list read their batch as one page of it filtered by id: the
# compiler answers that with one statement whose size does not grow with the batch (a
# `nodes(ids:)` lookup is one subquery per id). Others are read with `nodes(ids:)`.
_LISTS = {
    "Contact": "contacts",
    "Account": "accounts",
    "Deal": "deals",
    "Case": "cases",
    "Interaction": "interactions",
    "Task": "tasks",
}


@cache
def _query(type_name: str) -> str:
    # one type per query: fields of one name differ in type between record types
    selection = _selection(type_name)
    if type_name in _LISTS:
        return (
            "query WebhookObjects($ids: [ID!]!) {"
            f" list: {_LISTS[type_name]}(filter: {{id: {{in: $ids}}}}, first: {_BATCH})"
            f" {{ nodes {{ {selection} }} }} }}"
        )
    return (
        "query WebhookObjects($ids: [ID!]!) {"
        f" nodes(ids: $ids) {{ ... on {type_name} {{ {selection} }} }} }}"
    )


def _nodes(type_name: str, data: Any, ids: list[str]) -> list[Any]:
    """The objects of `ids` in their order (None for one not found) from a query's data."""
    data = data or {}
    if type_name not in _LISTS:
        return data.get("nodes") or [None] * len(ids)
    found = {node["id"]: node for node in (data.get("list") or {}).get("nodes") or []}
    return [found.get(gid) for gid in ids]


async def objects(
    db: Database, principal: Principal, records: set[tuple[str, UUID]]
) -> dict[UUID, Any]:
    """The current state of each (type, id) as `principal` reads it (None: gone or not
    readable)."""
    from relasi.schema import schema
    from relasi.schema.context import Context

    found: dict[UUID, Any] = {}
    for type_name in OBJECT_TYPES:
        wanted = [global_ids.encode(t, pk) for t, pk in records if t == type_name]
        for i in range(0, len(wanted), _BATCH):
            ids = wanted[i : i + _BATCH]
            session = Session(db, principal, request_id="webhooks")
            context = Context(
                request=None,
                response=None,
                db=db,
                max_page_size=_BATCH,
                principal=principal,
                request_session=session,
                read_path="compiled",  # one statement, as a client's query runs
            )
            try:
                result = await schema.execute(
                    _query(type_name), {"ids": ids}, context_value=context
                )
            finally:
                await session.close(commit=False)
            data = result.data
            if isinstance(data, str):  # compiled: PostgreSQL's JSON text
                data = json.loads(data)
            # a field the owner may not read is null (its error is the owner's business)
            for gid, node in zip(ids, _nodes(type_name, data, ids), strict=True):
                found[global_ids.decode_any(gid)[1]] = node
    return found


def body(event: asyncpg.Record, principal: Principal, obj: Any) -> str:
    """The JSON sent for one change (compact; the same bytes on every attempt). A change a
    workflow made names it (`workflowId`)."""
    data = {
        "recordType": event["record_type"],
        "recordId": global_ids.encode(event["record_type"], event["record_id"]),
        "sequence": str(event["sequence"]),
        "object": obj,
        "changes": changes.render(event, principal),
    }
    if event.get("actor_workflow_id") is not None:
        data["workflowId"] = global_ids.encode("Workflow", event["actor_workflow_id"])
    return json.dumps(
        {
            "type": event["type"],
            "timestamp": event["occurred_at"].astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "data": data,
        },
        separators=(",", ":"),
        default=str,
    )
