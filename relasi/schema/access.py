"""Who is calling (`me`), and the workspace's HS256 secret for staff tokens."""

from datetime import datetime

import strawberry

from relasi.resolvers import global_ids, workspaces
from relasi.resolvers.loaders import load_one
from relasi.schema.enums import MemberStatus, Role
from relasi.schema.errors import UserError
from relasi.schema.payloads import run_mutation


@strawberry.type(description="The member a request was signed in as.")
class CallerMember:
    id: strawberry.ID = strawberry.field(description="The Member's id.")
    name: str
    email: str
    role: Role
    status: MemberStatus
    joined_at: datetime | None


@strawberry.type(description="The API key a request was made with.")
class CallerApiKey:
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None


@strawberry.type(description="The caller of this request: an API key or a signed-in member.")
class Me:
    workspace_id: strawberry.ID = strawberry.field(
        description="The workspace (the uuid JWTs name in their workspace claim)."
    )
    scopes: list[str] = strawberry.field(
        description="What the caller may do: the key's scopes, or the member's role's. "
        "`admin` includes every other scope."
    )
    member_id: strawberry.Private[object]
    api_key_id: strawberry.Private[object]

    # the caller's own membership and key have types of their own: reading them needs no
    # scope beyond being the caller (Member and ApiKey objects do)
    @strawberry.field(description="The signed-in member (null for API keys).")
    async def member(self, info: strawberry.Info) -> CallerMember | None:
        row = await load_one(info.context.session, "Member", self.member_id)
        if row is None:
            return None
        return CallerMember(
            id=strawberry.ID(global_ids.encode("Member", row["id"])),
            name=row["name"],
            email=row["email"],
            role=Role(row["role"]),
            status=MemberStatus(row["status"]),
            joined_at=row["joined_at"],
        )

    @strawberry.field(description="The API key used (null for members).")
    async def api_key(self, info: strawberry.Info) -> CallerApiKey | None:
        row = await load_one(info.context.session, "ApiKey", self.api_key_id)
        if row is None:
            return None
        return CallerApiKey(
            name=row["name"],
            prefix=row["prefix"],
            scopes=list(row["scopes"]),
            expires_at=row["expires_at"],
        )


@strawberry.type(description="The workspace's new HS256 secret, shown this once.")
class JwtSecretPayload:
    secret: str | None = strawberry.field(
        default=None,
        description="Sign staff tokens with it (HS256). Tokens signed with the previous secret "
        "stop working at once.",
    )
    user_errors: list[UserError]


@strawberry.type
class AccessQueries:
    @strawberry.field(description="Who is calling, with which scopes.")
    def me(self, info: strawberry.Info) -> Me:
        principal = info.context.principal
        return Me(
            workspace_id=strawberry.ID(str(principal.workspace_id)),
            scopes=sorted(principal.scopes),
            member_id=principal.member_id,
            api_key_id=principal.api_key_id,
        )


@strawberry.type
class AccessMutations:
    @strawberry.mutation(
        description="Create or replace the workspace's secret for HS256 staff tokens (admins "
        "only), for a backend that signs its own users' tokens."
    )
    async def rotate_jwt_secret(self, info: strawberry.Info) -> JwtSecretPayload:
        async def action(session):
            return await workspaces.set_jwt_secret(session, session.workspace_id, replace=True)

        return await run_mutation(info, JwtSecretPayload, action, lambda s: {"secret": s})
