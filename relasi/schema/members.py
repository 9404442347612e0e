"""Members: the workspace's staff."""

from datetime import datetime

import strawberry

from relasi.resolvers import members
from relasi.schema.errors import UserError
from relasi.schema.filters import MemberFilter, MemberOrder
from relasi.schema.payloads import provided, run_mutation
from relasi.schema.relay import (
    Connection,
    Node,
    connection_of,
    from_row,
    list_field,
    node_type,
)


@node_type
@strawberry.type(description="A person of the workspace's staff; records are owned by members.")
class Member(Node):
    name: str
    email: str
    created_at: datetime
    updated_at: datetime


@strawberry.type
class MemberConnection(Connection[Member]):
    pass


connection_of("Member", MemberConnection, Member)


@strawberry.input
class CreateMemberInput:
    name: str
    email: str


@strawberry.type
class MemberPayload:
    member: Member | None = None
    user_errors: list[UserError]


@strawberry.type
class MemberQueries:
    members = list_field(
        "Member", MemberFilter, MemberOrder, MemberConnection, "The workspace's staff."
    )


@strawberry.type
class MemberMutations:
    @strawberry.mutation(description="Add a staff member (admins only).")
    async def create_member(self, info: strawberry.Info, input: CreateMemberInput) -> MemberPayload:
        return await run_mutation(
            info,
            MemberPayload,
            lambda s: members.create_member(s, provided(input)),
            lambda row: {"member": from_row(Member, row)},
        )
