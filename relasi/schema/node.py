"""Relay's `node(id:)` and `nodes(ids:)`: fetch any object by its global id."""

import asyncio

import strawberry

from relasi.auth.permissions import TYPE_SCOPES, can_read_type
from relasi.errors import AppError, Forbidden
from relasi.resolvers import global_ids
from relasi.schema.relay import NODE_TYPES, Node, load_node

MAX_IDS = 100


async def _node(info: strawberry.Info, global_id: str) -> Node | None:
    type_name, pk = global_ids.decode_any(global_id)
    if type_name not in NODE_TYPES:
        return None
    if not can_read_type(info.context.principal, type_name):
        raise Forbidden(f"Reading a {type_name} needs the {TYPE_SCOPES[type_name]} scope.")
    return await load_node(info, type_name, pk)


@strawberry.type
class NodeQueries:
    @strawberry.field(description="Any object by id; null if there is none in this workspace.")
    async def node(self, info: strawberry.Info, id: strawberry.ID) -> Node | None:
        return await _node(info, id)

    @strawberry.field(
        description=f"Objects by id, in the same order (null where none); at most {MAX_IDS}."
    )
    async def nodes(self, info: strawberry.Info, ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > MAX_IDS:
            raise AppError(f"At most {MAX_IDS} ids at once.", field="ids")
        return list(await asyncio.gather(*(_node(info, i) for i in ids)))
