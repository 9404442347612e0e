"""Members: the workspace's staff, their roles, invitations and removal."""

from datetime import datetime

import strawberry

from relasi.resolvers import global_ids, members
from relasi.schema.enums import MemberStatus, Role
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
from relasi.schema.task_lists import tasks_field


@node_type
@strawberry.type(
    description="A user's membership of this workspace. Records are owned by members; the "
    "role decides what the member may do when signed in with a JWT."
)
class Member(Node):
    name: str
    email: str
    role: Role = strawberry.field(description="Decides the member's scopes.")
    status: MemberStatus
    invited_at: datetime | None = strawberry.field(description="When the member was invited.")
    joined_at: datetime | None = strawberry.field(
        description="When the member first signed in (null until then)."
    )
    removed_at: datetime | None = strawberry.field(description="When the member was removed.")
    created_at: datetime
    updated_at: datetime
    tasks = tasks_field("Member")


@strawberry.type
class MemberConnection(Connection[Member]):
    pass


connection_of("Member", MemberConnection, Member)


@strawberry.input(description="A member who is ACTIVE at once.")
class CreateMemberInput:
    name: str
    email: str
    role: Role = strawberry.field(default=Role.VIEWER, description="Default VIEWER.")


@strawberry.input(description="Invite a user by email; they join on their first sign-in.")
class InviteMemberInput:
    email: str = strawberry.field(description="Matched (ignoring case) to the token's user claim.")
    name: str | None = strawberry.field(default=None, description="Default: the email's name.")
    role: Role = strawberry.field(default=Role.VIEWER, description="Default VIEWER.")


@strawberry.input
class UpdateMemberRoleInput:
    id: strawberry.ID
    role: Role


@strawberry.input
class RemoveMemberInput:
    id: strawberry.ID


@strawberry.type
class MemberPayload:
    member: Member | None = None
    user_errors: list[UserError]


def _member(row) -> dict:
    return {"member": from_row(Member, row)}


@strawberry.type
class MemberQueries:
    members = list_field(
        "Member",
        MemberFilter,
        MemberOrder,
        MemberConnection,
        "The workspace's staff, in every status (filter on `status` to leave out the removed).",
    )


@strawberry.type
class MemberMutations:
    @strawberry.mutation(description="Add a staff member, ACTIVE at once (admins only).")
    async def create_member(self, info: strawberry.Info, input: CreateMemberInput) -> MemberPayload:
        return await run_mutation(
            info, MemberPayload, lambda s: members.create_member(s, provided(input)), _member
        )

    @strawberry.mutation(
        description="Invite a user by email (admins only). Relasi records the invitation; "
        "sending it is up to you. The member becomes ACTIVE on first sign-in. A removed "
        "member's email is invited again on the same member. An email that is already a "
        "member is CONFLICT."
    )
    async def invite_member(self, info: strawberry.Info, input: InviteMemberInput) -> MemberPayload:
        async def action(session):
            return await members.invite(session, session.workspace_id, provided(input))

        return await run_mutation(info, MemberPayload, action, _member)

    @strawberry.mutation(
        description="Change a member's role (admins only); it applies from the member's next "
        "request. Demoting the last active admin is CONFLICT."
    )
    async def update_member_role(
        self, info: strawberry.Info, input: UpdateMemberRoleInput
    ) -> MemberPayload:
        async def action(session):
            pk = global_ids.decode(input.id, "Member", field="input.id")
            return await members.set_role(session, session.workspace_id, pk, input.role)

        return await run_mutation(info, MemberPayload, action, _member)

    @strawberry.mutation(
        description="Remove a member (admins only): their next request is refused; what they "
        "own stays theirs. Removing the last active admin is CONFLICT; removing twice changes "
        "nothing."
    )
    async def remove_member(self, info: strawberry.Info, input: RemoveMemberInput) -> MemberPayload:
        async def action(session):
            pk = global_ids.decode(input.id, "Member", field="input.id")
            return await members.remove(session, session.workspace_id, pk)

        return await run_mutation(info, MemberPayload, action, _member)
