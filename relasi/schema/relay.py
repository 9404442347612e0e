"""Relay building blocks: the Node interface, global ids, and keyset Connections.

Strawberry's own `relay.ListConnection` pages by slicing a list; ours receive a `Page` whose
`first/after` were already pushed into SQL by `resolvers.pagination`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types.base import StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

from relasi.errors import NotFound
from relasi.resolvers import filter_form, global_ids, loaders
from relasi.resolvers.model import entity
from relasi.resolvers.pagination import OrderSpec, Page, PageArgs

T = TypeVar("T")

NODE_TYPES: dict[str, type] = {}


@strawberry.interface(description="An object with a globally unique, opaque id.")
class Node:
    id: strawberry.ID
    pk: strawberry.Private[Any]  # the row's uuid
    row: strawberry.Private[Any]  # the row itself, for fields computed from several columns


def node_type(cls: type) -> type:
    """Register a Node type so `node(id:)` can build it from a row."""
    NODE_TYPES[cls.__strawberry_definition__.name] = cls
    return cls


def _enum_class(annotation: Any) -> type[Enum] | None:
    while isinstance(annotation, StrawberryOptional):
        annotation = annotation.of_type
    if isinstance(annotation, StrawberryEnumDefinition):
        return annotation.wrapped_cls
    return None


_converters: dict[type, list[tuple[str, type[Enum] | None]]] = {}
_MISSING = object()


def from_row(cls: type[T], row: Any, **extra: Any) -> T:
    """Build a strawberry type from a row: columns fill the fields of the same name, enum
    columns become enum members, and `id` becomes the global id (the uuid stays in `pk`)."""
    plan = _converters.get(cls)
    if plan is None:
        enums = {
            f.python_name: _enum_class(f.type)
            for f in cls.__strawberry_definition__.fields
            if f.base_resolver is None
        }
        plan = [
            (f.name, enums.get(f.name))
            for f in dataclasses.fields(cls)
            if f.init and f.name not in ("id", "pk", "row")
        ]
        _converters[cls] = plan
    values = {}
    for name, enum in plan:
        value = row.get(name, _MISSING)
        if value is _MISSING or name in extra:
            continue
        values[name] = enum(value) if enum is not None and value is not None else value
    type_name = cls.__strawberry_definition__.name
    return cls(id=global_ids.encode(type_name, row["id"]), pk=row["id"], row=row, **values, **extra)


@strawberry.type(description="Where a page sits in its list (Relay cursor connections).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Pass as `after` (or `before`) to page on.")
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    counter: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="The nodes of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]

    @strawberry.field(description="How many items the whole list holds under this filter.")
    async def total_count(self) -> int:
        return await self.counter()


def build_connection(
    connection_cls: type,
    node_cls: type,
    page: Page,
    count: Callable[[], Awaitable[int]],
    edge_cls: type | None = None,
    edge_extra: Callable[[Any], dict[str, Any]] | None = None,
) -> Any:
    edge_cls = edge_cls or Edge
    edges = [
        edge_cls(
            cursor=cursor, node=from_row(node_cls, row), **(edge_extra(row) if edge_extra else {})
        )
        for row, cursor in zip(page.rows, page.cursors, strict=True)
    ]
    return connection_cls(edges=edges, page_info=page_info(page), counter=count)


def page_info(page: Page) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.cursors[-1] if page.cursors else None,
    )


def forward_connection(
    connection_cls: type,
    edge_cls: type,
    rows: list[Any],
    more: bool,
    after: str | None,
    cursor: Callable[[Any], str],
    node: Callable[[Any], Any],
    *,
    end_at_after: bool = False,
) -> Any:
    """A page of a list paged forwards only (`rows` after the cursor `after`, and whether
    `more` follow) as its Connection. `end_at_after`: an empty page's endCursor is `after`, so
    a poller keeps its place."""
    edges = [edge_cls(cursor=cursor(r), node=node(r)) for r in rows]
    return connection_cls(
        edges=edges,
        page_info=PageInfo(
            has_next_page=more,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else (after if end_at_after else None),
        ),
    )


def page_args(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> PageArgs:
    return PageArgs(first=first, after=after, last=last, before=before)


def order_specs(order_by: list[Any] | None) -> list[OrderSpec] | None:
    """`[XOrder]` inputs -> resolver OrderSpecs (the order field enum's value is the field name)."""
    if not order_by:
        return None
    return [
        OrderSpec(
            field=o.field.value,
            desc=o.direction.value == "DESC",
            nulls_first=None if o.nulls is None else o.nulls.value == "FIRST",
        )
        for o in order_by
    ]


# entity name -> (its Connection type, its node type), filled by each domain's schema module
CONNECTIONS: dict[str, tuple[type, type]] = {}


def connection_of(entity_name: str, connection_cls: type, node_cls: type) -> None:
    CONNECTIONS[entity_name] = (connection_cls, node_cls)


def parsed_filter(entity_name: str, flt: Any) -> Any:
    """A list's typed filter input, checked as the plain filter form (the one checker lists,
    segment rules and webhooks share): what the loaders compile."""
    if flt is None:
        return None
    return filter_form.parse(entity_name, filter_form.plain(flt), ["filter"])


async def root_connection(
    info: strawberry.Info,
    entity_name: str,
    flt: Any,
    order_by: list[Any] | None,
    args: PageArgs,
) -> Any:
    session = info.context.session
    ent = entity(entity_name)
    flt = parsed_filter(entity_name, flt)
    page = await loaders.root_page(session, ent, flt, order_specs(order_by), args)
    connection_cls, node_cls = CONNECTIONS[entity_name]
    return build_connection(
        connection_cls, node_cls, page, lambda: loaders.root_count(session, ent, flt)
    )


async def relation_connection(
    info: strawberry.Info,
    parent: str,
    relation: str,
    parent_pk: Any,
    flt: Any,
    order_by: list[Any] | None,
    args: PageArgs,
    *,
    connection_cls: type | None = None,
    edge_cls: type | None = None,
    edge_extra: Callable[[Any], dict[str, Any]] | None = None,
) -> Any:
    """One parent's page of a to-many relation; batched with its siblings by the loaders."""
    session = info.context.session
    ent = entity(parent)
    target = ent.relation(relation).target
    flt = parsed_filter(target, flt)
    page = await loaders.relation_page(
        session, ent, relation, parent_pk, flt, order_specs(order_by), args
    )
    default_connection, node_cls = CONNECTIONS[target]
    return build_connection(
        connection_cls or default_connection,
        node_cls,
        page,
        lambda: loaders.relation_count(session, ent, relation, parent_pk, flt),
        edge_cls=edge_cls,
        edge_extra=edge_extra,
    )


async def load_node(info: strawberry.Info, type_name: str, pk: Any) -> Any:
    """A to-one link: the live row of `type_name` with id `pk`, built as its node type."""
    row = await loaders.load_one(info.context.session, type_name, pk)
    return None if row is None else from_row(NODE_TYPES[type_name], row)


def link_field(type_name: str, column: str, returns: Any, description: str | None = None) -> Any:
    """A to-one link: the `type_name` node whose id is the row's `column` (null for a null id
    or a row gone), batched with its siblings by the loaders."""

    async def resolve(root: Any, info: strawberry.Info) -> Any:
        return await load_node(info, type_name, root.row[column])

    resolve.__annotations__ = {"root": Any, "info": strawberry.Info, "return": returns}
    return strawberry.field(resolver=resolve, description=description)


async def get_node(info: strawberry.Info, type_name: str, global_id: str) -> Any:
    """A typed lookup by id: NOT_FOUND for an id that names nothing in this workspace."""
    node = await load_node(info, type_name, global_ids.decode(global_id, type_name))
    if node is None:
        raise NotFound(f"No {type_name} with id {global_id!r}.", field="id")
    return node


def lookup_field(node_cls: type) -> Any:
    """A root lookup, `x(id: ID!): X`: the node, NOT_FOUND for an id naming nothing here."""
    type_name = node_cls.__strawberry_definition__.name

    async def resolve(root: Any, info: strawberry.Info, id: strawberry.ID) -> Any:
        return await get_node(info, type_name, id)

    resolve.__annotations__ = {
        "root": Any,
        "info": strawberry.Info,
        "id": strawberry.ID,
        "return": node_cls | None,
    }
    article = "An" if type_name[0] in "AEIOU" else "A"
    return strawberry.field(
        resolver=resolve,
        description=f"{article} {type_name.lower()} by id (NOT_FOUND if none in this workspace).",
    )


def _connection_resolver(
    parent: str | None,
    relation: str | None,
    filter_type: Any,
    order_type: Any,
    returns: Any,
    options: Callable[[], dict[str, Any]] | None,
) -> Callable[..., Any]:
    async def resolve(
        root: Any,
        info: strawberry.Info,
        filter: Any = None,
        order_by: Any = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Any:
        args = page_args(first, after, last, before)
        if parent is None:
            return await root_connection(info, relation, filter, order_by, args)
        return await relation_connection(
            info,
            parent,
            relation,
            root.pk,
            filter,
            order_by,
            args,
            **(options() if options else {}),
        )

    resolve.__annotations__ = {
        "root": Any,
        "info": strawberry.Info,
        "filter": filter_type | None,
        "order_by": list[order_type] | None,
        "first": int | None,
        "after": str | None,
        "last": int | None,
        "before": str | None,
        "return": returns,
    }
    return resolve


def list_field(
    entity_name: str,
    filter_type: Any,
    order_type: Any,
    returns: Any,
    description: str | None = None,
) -> Any:
    """A root list: `entities(filter, orderBy, first, after, last, before): EntityConnection`."""
    resolver = _connection_resolver(None, entity_name, filter_type, order_type, returns, None)
    return strawberry.field(resolver=resolver, description=description)


def relation_field(
    parent: str,
    relation: str,
    filter_type: Any,
    order_type: Any,
    returns: Any,
    description: str | None = None,
    options: Callable[[], dict[str, Any]] | None = None,
) -> Any:
    """A to-many relation as a connection paged per parent (batched across parents).

    `options` returns relation_connection's connection_cls / edge_cls / edge_extra: a function,
    so it may name types of modules that are imported later.
    """
    resolver = _connection_resolver(parent, relation, filter_type, order_type, returns, options)
    return strawberry.field(resolver=resolver, description=description)
