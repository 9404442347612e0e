"""API keys: created, listed (prefix only), rotated and revoked by admins."""

from datetime import datetime

import strawberry

from relasi.resolvers import api_keys, global_ids
from relasi.schema.errors import UserError
from relasi.schema.filters import ApiKeyFilter, ApiKeyOrder
from relasi.schema.payloads import provided, run_mutation
from relasi.schema.relay import (
    Connection,
    Node,
    connection_of,
    from_row,
    node_type,
    page_args,
    root_connection,
)


@node_type
@strawberry.type(
    description="A key for an integration or partner: `Authorization: Bearer rls_<prefix>_"
    "<secret>`. Only its prefix is shown; the secret is shown once, when the key is made."
)
class ApiKey(Node):
    name: str
    prefix: str = strawberry.field(description="Names the key in lists and logs.")
    scopes: list[str] = strawberry.field(description="What the key may do (see `me`).")
    created_at: datetime
    expires_at: datetime | None = strawberry.field(description="Null: never expires.")
    last_used_at: datetime | None = strawberry.field(
        description="The key's latest request, to the minute."
    )
    revoked_at: datetime | None = strawberry.field(description="Null while the key works.")


@strawberry.type
class ApiKeyConnection(Connection[ApiKey]):
    pass


connection_of("ApiKey", ApiKeyConnection, ApiKey)


@strawberry.input
class CreateApiKeyInput:
    name: str = strawberry.field(description="A label, e.g. the integration's name.")
    scopes: list[str] = strawberry.field(description="At least one, e.g. contacts:read.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="When the key stops working (null: never)."
    )


@strawberry.input
class RotateApiKeyInput:
    id: strawberry.ID
    expires_at: datetime | None = strawberry.field(
        default=strawberry.UNSET,
        description="The new key's expiry. Left out: the old key's lifetime again from now; "
        "null: never.",
    )


@strawberry.input
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.type(description="A new key and its secret, shown this once.")
class NewApiKeyPayload:
    api_key: ApiKey | None = None
    secret: str | None = strawberry.field(
        default=None,
        description="The whole key to send as `Authorization: Bearer <secret>`. Store it now: "
        "only its hash is kept.",
    )
    user_errors: list[UserError]


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey | None = None
    user_errors: list[UserError]


def _new_key(result) -> dict:
    row, secret = result
    return {"api_key": from_row(ApiKey, row), "secret": secret}


@strawberry.type
class ApiKeyQueries:
    @strawberry.field(
        description="The workspace's API keys, revoked ones included (admins only). Never "
        "their secrets."
    )
    async def api_keys(
        self,
        info: strawberry.Info,
        filter: ApiKeyFilter | None = None,
        order_by: list[ApiKeyOrder] | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> ApiKeyConnection:
        args = page_args(first, after, last, before)
        return await root_connection(info, "ApiKey", filter, order_by, args)


@strawberry.type
class ApiKeyMutations:
    @strawberry.mutation(
        description="Make an API key (admins only). Unknown scopes are refused; the secret is "
        "in the payload, once."
    )
    async def create_api_key(
        self, info: strawberry.Info, input: CreateApiKeyInput
    ) -> NewApiKeyPayload:
        async def action(session):
            return await api_keys.create(
                session, session.workspace_id, provided(input), session.principal
            )

        return await run_mutation(info, NewApiKeyPayload, action, _new_key)

    @strawberry.mutation(
        description="Replace a key with a new one of the same name and scopes (admins only). "
        "The old key is revoked at once; for a switch without downtime, create a second key, "
        "deploy it, then revoke the first."
    )
    async def rotate_api_key(
        self, info: strawberry.Info, input: RotateApiKeyInput
    ) -> NewApiKeyPayload:
        async def action(session):
            data = provided(input)
            pk = global_ids.decode(data.pop("id"), "ApiKey", field="input.id")
            return await api_keys.rotate(session, session.workspace_id, pk, data, session.principal)

        return await run_mutation(info, NewApiKeyPayload, action, _new_key)

    @strawberry.mutation(
        description="Revoke a key (admins only): it stops working at once. Revoking twice "
        "changes nothing."
    )
    async def revoke_api_key(
        self, info: strawberry.Info, input: RevokeApiKeyInput
    ) -> ApiKeyPayload:
        async def action(session):
            pk = global_ids.decode(input.id, "ApiKey", field="input.id")
            return await api_keys.revoke(session, session.workspace_id, pk)

        return await run_mutation(
            info, ApiKeyPayload, action, lambda row: {"api_key": from_row(ApiKey, row)}
        )
