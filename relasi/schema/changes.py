"""`changes`: the change log, read in order by pollers (scope events:read)."""

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from relasi.auth.permissions import TYPE_SCOPES, can_read_type
from relasi.errors import Forbidden
from relasi.resolvers import changes, global_ids
from relasi.resolvers.timeline import load_actor_name
from relasi.schema.refs import ActorRef, WorkflowRef
from relasi.schema.relay import NODE_TYPES, Node, PageInfo, forward_connection, load_node


@strawberry.type(
    description="One change of one record, recorded in the same transaction as the write."
)
class ChangeEvent:
    type: str = strawberry.field(
        description="What happened, e.g. contact.updated, deal.stage_changed (see the README)."
    )
    record_type: str = strawberry.field(description="The changed record's type, e.g. Contact.")
    occurred_at: datetime = strawberry.field(description="When the write made the change.")
    request_id: str | None = strawberry.field(
        description="The API request that made it; null for system work."
    )
    row: strawberry.Private[Any]

    @strawberry.field(
        description="The number of the write that made the change in the workspace's log: "
        "gapless, in commit order; the events of one write share it (a string: it may "
        "exceed 32 bits)."
    )
    def sequence(self) -> str:
        return str(self.row["sequence"])

    @strawberry.field(description="The changed record's id (it may since have been deleted).")
    def record_id(self) -> strawberry.ID:
        return global_ids.encode(self.row["record_type"], self.row["record_id"])

    @strawberry.field(
        description='Changed fields as the API names them: {"field": {"before": ..., '
        '"after": ...}}; personal data masked without pii:read.'
    )
    def changes(self, info: strawberry.Info) -> JSON:
        return changes.render(self.row, info.context.principal)

    @strawberry.field(description="The record as it is now; null if it is gone.")
    async def record(self, info: strawberry.Info) -> Node | None:
        type_name = self.record_type
        if type_name not in NODE_TYPES:
            return None  # notes are read on their timelines
        if not can_read_type(info.context.principal, type_name):
            raise Forbidden(f"Reading a {type_name} needs the {TYPE_SCOPES[type_name]} scope.")
        return await load_node(info, type_name, self.row["record_id"])

    @strawberry.field(
        description="The workflow whose run made the change (then `actor` is empty); null "
        "for changes made otherwise."
    )
    async def workflow(self, info: strawberry.Info) -> WorkflowRef | None:
        from relasi.resolvers.workflows import definitions
        from relasi.schema.workflows import workflow_of

        pk = self.row["actor_workflow_id"]
        if pk is None:
            return None
        row = await definitions.load(info.context.session, pk)
        return workflow_of(row) if row is not None else None

    @strawberry.field(description="Who made the change; both fields null for system work.")
    async def actor(self, info: strawberry.Info) -> ActorRef:
        from relasi.schema.deals import Actor

        return Actor(
            api_key_name=await load_actor_name(info.context.session, self.row["actor_api_key_id"]),
            member=await load_node(info, "Member", self.row["actor_member_id"]),
        )


@strawberry.type
class ChangeEventEdge:
    cursor: str = strawberry.field(description="Pass as `after` to read on from this event.")
    node: ChangeEvent


@strawberry.type(description="A page of the change log, oldest first.")
class ChangeEventConnection:
    edges: list[ChangeEventEdge]
    page_info: PageInfo

    @strawberry.field(description="The events of `edges`, for clients that need no cursors.")
    def nodes(self) -> list[ChangeEvent]:
        return [edge.node for edge in self.edges]


@strawberry.input(description="Which events to read; lists mean any of.")
class ChangeEventFilter:
    types: list[str] | None = strawberry.field(
        default=None, description="Event types, e.g. ['deal.stage_changed', 'case.created']."
    )
    record_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Ids of the records whose changes to read."
    )


@strawberry.type
class ChangeQueries:
    @strawberry.field(
        description="The change log (events:read): every committed change, in commit order, "
        "so a change committed later never lands behind a cursor already handed out. Poll "
        "with `after` set to the last `endCursor` (a page with nothing new returns it again). "
        "Events are kept RELASI_CHANGE_RETENTION_DAYS days."
    )
    async def changes(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: ChangeEventFilter | None = None,
    ) -> ChangeEventConnection:
        found, more = await changes.page(
            info.context.session,
            first,
            after,
            filter.types if filter else None,
            filter.record_ids if filter else None,
        )
        return forward_connection(
            ChangeEventConnection,
            ChangeEventEdge,
            found,
            more,
            after,
            changes.cursor_of,
            lambda row: ChangeEvent(
                type=row["type"],
                record_type=row["record_type"],
                occurred_at=row["occurred_at"],
                request_id=row["request_id"],
                row=row,
            ),
            end_at_after=True,
        )
