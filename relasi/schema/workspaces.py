"""The caller's workspace and its settings: name, and the time zone schedules run in."""

from datetime import datetime
from typing import Any

import strawberry

from relasi.resolvers import workspaces
from relasi.schema.errors import UserError
from relasi.schema.payloads import provided, run_mutation


@strawberry.type(description="The workspace the caller belongs to.")
class Workspace:
    id: strawberry.ID = strawberry.field(
        description="The workspace's uuid (the one JWTs name in their workspace claim)."
    )
    name: str
    time_zone: str = strawberry.field(
        description="IANA time zone name (default UTC): workflow schedules (cron) run in it, "
        "and a date field's day (a deal's expected close date) starts at its midnight."
    )
    created_at: datetime


def workspace_of(row: Any) -> Workspace:
    return Workspace(
        id=strawberry.ID(str(row["id"])),
        name=row["name"],
        time_zone=row["time_zone"],
        created_at=row["created_at"],
    )


@strawberry.input(description="Fields left out stay as they are.")
class UpdateWorkspaceInput:
    name: str | None = strawberry.UNSET
    time_zone: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="An IANA name such as Asia/Jakarta or Europe/Berlin (not an offset or an "
        "abbreviation like WIB). Schedules follow it from their next run on.",
    )


@strawberry.type
class WorkspacePayload:
    workspace: Workspace | None = None
    user_errors: list[UserError]


@strawberry.type
class WorkspaceQueries:
    @strawberry.field(description="The caller's workspace, with its settings.")
    async def workspace(self, info: strawberry.Info) -> Workspace:
        session = info.context.session
        return workspace_of(await workspaces.get(session, session.workspace_id))


@strawberry.type
class WorkspaceMutations:
    @strawberry.mutation(description="Change the workspace's name or time zone (admins only).")
    async def update_workspace(
        self, info: strawberry.Info, input: UpdateWorkspaceInput
    ) -> WorkspacePayload:
        async def action(session):
            return await workspaces.update(session, provided(input))

        return await run_mutation(
            info, WorkspacePayload, action, lambda row: {"workspace": workspace_of(row)}
        )
