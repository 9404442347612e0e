"""Staff tokens a workspace's own backend signs with HS256 and the workspace's secret, and how
a user becomes a member's principal (first sign-in, roles, removal, the `sub` claim)."""

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from relasi.auth.scopes import ROLE_SCOPES, Role
from relasi.server import create_app
from relasi.settings import Settings
from tests.auth.conftest import (
    ERRORS,
    ME,
    Caller,
    claims,
    code_of,
    hs256_signed_with,
    invite,
    jwt_secret,
    scoped_key,
)

ROLE = f"mutation($i: UpdateMemberRoleInput!) {{ updateMemberRole(input: $i) {{ member {{ role }} {ERRORS} }} }}"
REMOVE = f"mutation($i: RemoveMemberInput!) {{ removeMember(input: $i) {{ member {{ status removedAt }} {ERRORS} }} }}"


def hs256(secret: str, workspace_id, email: str | None, **overrides) -> str:
    return jwt.encode(claims(workspace_id, email, **overrides), secret, algorithm="HS256")


async def test_invited_member_becomes_active_on_first_sign_in(api, caller, database):
    invited = await invite(api, "rina@relasi.co.id", "SUPPORT")
    assert invited["status"] == "INVITED"
    secret = await jwt_secret(api)
    token = hs256(secret, api.workspace_id, "RINA@relasi.co.id")
    me = (await caller.data(token, ME))["me"]
    assert me["member"]["id"] == invited["id"]
    assert me["member"]["status"] == "ACTIVE" and me["member"]["joinedAt"] is not None
    assert me["scopes"] == sorted(ROLE_SCOPES[Role.SUPPORT])
    async with database.pool.acquire() as conn:
        subject = await conn.fetchval(
            "SELECT subject FROM members WHERE workspace_id = $1", api.workspace_id
        )
    assert subject == "idp|RINA@relasi.co.id"  # learned from the token's `sub`
    joined = me["member"]["joinedAt"]
    again = (await caller.data(token, ME))["me"]
    assert again["member"]["joinedAt"] == joined  # joining happens once


async def test_hs256_needs_the_current_workspace_secret(api, other_api, caller, rsa_key):
    await invite(api, "rina@relasi.co.id")
    await caller.refused(hs256("no-secret-yet-" * 3, api.workspace_id, "rina@relasi.co.id"))
    first = await jwt_secret(api)
    old_token = hs256(first, api.workspace_id, "rina@relasi.co.id")
    await caller.data(old_token, ME)
    second = await jwt_secret(api)
    await caller.refused(old_token)  # rotation ends the old secret's tokens at once
    await caller.data(hs256(second, api.workspace_id, "rina@relasi.co.id"), ME)
    await caller.refused(hs256(second, api.workspace_id, "rina@relasi.co.id", aud="other"))
    await caller.refused(hs256(second, api.workspace_id, "rina@relasi.co.id", aud=None))
    await caller.refused(hs256(second, api.workspace_id, "rina@relasi.co.id", exp=1))
    # another workspace's secret does not sign for this one (nor the other way round)
    other_secret = await jwt_secret(other_api)
    await caller.refused(hs256(other_secret, api.workspace_id, "rina@relasi.co.id"))
    # a public key is no HMAC secret (algorithm confusion)
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = hs256_signed_with(pem, claims(api.workspace_id, "rina@relasi.co.id"))
    await caller.refused(token)


async def test_role_changes_apply_from_the_next_request(api, caller):
    member = await invite(api, "rina@relasi.co.id", "VIEWER")
    token = hs256(await jwt_secret(api), api.workspace_id, "rina@relasi.co.id")
    assert (await caller.data(token, ME))["me"]["scopes"] == sorted(ROLE_SCOPES[Role.VIEWER])
    await api.mutate(ROLE, i={"id": member["id"], "role": "MARKETING"})
    assert (await caller.data(token, ME))["me"]["scopes"] == sorted(ROLE_SCOPES[Role.MARKETING])


async def test_removed_member_is_refused_and_can_be_invited_again(api, caller):
    member = await invite(api, "rina@relasi.co.id")
    token = hs256(await jwt_secret(api), api.workspace_id, "rina@relasi.co.id")
    await caller.data(token, ME)
    removed = await api.mutate(REMOVE, i={"id": member["id"]})
    assert removed["member"]["status"] == "REMOVED" and removed["member"]["removedAt"]
    await caller.refused(token)
    again = await invite(api, "rina@relasi.co.id", "SALES")
    assert again["id"] == member["id"] and again["status"] == "INVITED"
    assert (await caller.data(token, ME))["me"]["member"]["role"] == "SALES"


async def test_members_created_directly_sign_in_as_active(api, caller):
    await api.mutate(
        f'mutation {{ createMember(input: {{name: "Dodi", email: "dodi@relasi.co.id", role: ADMIN}}) {{ member {{ status role }} {ERRORS} }} }}'
    )
    token = hs256(await jwt_secret(api), api.workspace_id, "dodi@relasi.co.id")
    me = (await caller.data(token, ME))["me"]
    assert me["scopes"] == ["admin"] and me["member"]["status"] == "ACTIVE"


async def test_a_signed_in_admin_manages_members_a_sales_member_cannot(api, caller):
    await invite(api, "boss@relasi.co.id", "ADMIN")
    await invite(api, "rina@relasi.co.id", "SALES")
    secret = await jwt_secret(api)
    boss = hs256(secret, api.workspace_id, "boss@relasi.co.id")
    rina = hs256(secret, api.workspace_id, "rina@relasi.co.id")
    invite_doc = f'mutation {{ inviteMember(input: {{email: "new@relasi.co.id"}}) {{ member {{ status }} {ERRORS} }} }}'
    assert (await caller.data(boss, invite_doc))["inviteMember"]["member"]["status"] == "INVITED"
    refused = (await caller.post(rina, invite_doc)).json()
    assert code_of(refused) == "FORBIDDEN"


async def test_sub_claim_binds_on_first_sign_in(api, database):
    app = create_app(Settings(jwt_user_claim="sub"), database=database)
    transport = httpx.ASGITransport(app=app)
    await invite(api, "rina@relasi.co.id", "SALES")
    secret = await jwt_secret(api)
    async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as client:
        caller = Caller(client)
        # first sign-in: matched by the invitation's email, binds the subject
        first = hs256(secret, api.workspace_id, "rina@relasi.co.id", sub="u-123")
        assert (await caller.data(first, ME))["me"]["member"]["role"] == "SALES"
        # later: the subject alone names the member, whatever the email says
        await caller.data(hs256(secret, api.workspace_id, None, sub="u-123"), ME)
        await caller.data(hs256(secret, api.workspace_id, "renamed@x.co", sub="u-123"), ME)
        # another subject with the same email is someone else
        await caller.refused(hs256(secret, api.workspace_id, "rina@relasi.co.id", sub="u-999"))
        await caller.refused(hs256(secret, api.workspace_id, "rina@relasi.co.id", sub=None))
        # an invitation after removal goes to whoever signs in with the email next
        member = (await caller.data(first, ME))["me"]["member"]
        await api.mutate(REMOVE, i={"id": member["id"]})
        await invite(api, "rina@relasi.co.id", "SALES")
        await caller.data(hs256(secret, api.workspace_id, "rina@relasi.co.id", sub="u-999"), ME)
        await caller.refused(first)


async def test_rotating_the_secret_is_for_admins(api, database, caller):
    key = await scoped_key(database, api.workspace_id, "members:read", "contacts:read")
    body = (await caller.post(key, f"mutation {{ rotateJwtSecret {{ secret {ERRORS} }} }}")).json()
    assert code_of(body) == "FORBIDDEN"
    assert body["data"] is None


async def test_me_names_each_caller_even_when_the_same_query_was_just_answered(api, caller):
    """Two members of one role ask the same `me` one after the other: each gets their own
    record on both read paths (a compiled statement is cached per caller, never shared)."""
    await invite(api, "ayu@relasi.co.id", "SALES")
    await invite(api, "budi@relasi.co.id", "SALES")
    secret = await jwt_secret(api)
    for path in ("compiled", "resolvers"):
        for email in ("ayu@relasi.co.id", "budi@relasi.co.id", "ayu@relasi.co.id"):
            token = hs256(secret, api.workspace_id, email)
            response = await caller.client.post(
                "/graphql",
                json={"query": ME},
                headers={"Authorization": f"Bearer {token}", "X-Relasi-Read-Path": path},
            )
            assert response.json()["data"]["me"]["member"]["email"] == email, path
