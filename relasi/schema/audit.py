"""The audit log (admins only): every change made through the API, with before/after values."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from relasi.resolvers import global_ids
from relasi.resolvers.timeline import load_actor_name
from relasi.schema.enums import AuditOperation
from relasi.schema.filters import AuditEntryFilter, AuditEntryOrder
from relasi.schema.relay import Connection, Node, connection_of, list_field, load_node, node_type

if TYPE_CHECKING:
    from relasi.schema.deals import Actor

ActorRef = Annotated["Actor", strawberry.lazy("relasi.schema.deals")]


@node_type
@strawberry.type(description="One change of one object: who made it, through which mutation.")
class AuditEntry(Node):
    occurred_at: datetime
    entity_type: str = strawberry.field(description="The changed object's type, e.g. Contact.")
    operation: AuditOperation
    mutation: str | None = strawberry.field(description="The mutation, e.g. updateContact.")
    request_id: str | None = strawberry.field(description="The request it was part of.")
    changes: JSON = strawberry.field(
        description='Changed fields: {"field": {"before": ..., "after": ...}} (stored names).'
    )

    @strawberry.field(description="The changed object's id (it may since have been deleted).")
    def entity_id(self) -> strawberry.ID:
        return global_ids.encode(self.entity_type, self.row["entity_id"])

    @strawberry.field(description="Who made the change.")
    async def actor(self, info: strawberry.Info) -> ActorRef:
        from relasi.schema.deals import Actor

        return Actor(
            api_key_name=await load_actor_name(info.context.session, self.row["actor_api_key_id"]),
            member=await load_node(info, "Member", self.row["actor_member_id"]),
        )


@strawberry.type
class AuditEntryConnection(Connection[AuditEntry]):
    pass


connection_of("AuditEntry", AuditEntryConnection, AuditEntry)


@strawberry.type
class AuditQueries:
    audit_log = list_field(
        "AuditEntry",
        AuditEntryFilter,
        AuditEntryOrder,
        AuditEntryConnection,
        "Every change made through the API, newest first (admins only).",
    )
