"""Revoking a key (or removing a member) reaches its open sockets at once: the revoking
transaction announces it with NOTIFY, and every process ends that caller's subscriptions with
UNAUTHENTICATED, without waiting for an event or for the cached validity check to expire."""

import jwt
import pytest

from relasi.auth.api_keys import create_api_key, revoke_api_key
from relasi.resolvers import global_ids
from tests.auth.conftest import claims, invite, jwt_secret
from tests.conftest import Api
from tests.subscriptions.conftest import Live

ERRORS = "userErrors { field message code }"
REVOKE = (
    f"mutation($i: RevokeApiKeyInput!) {{ revokeApiKey(input: $i) {{ apiKey {{ id }} {ERRORS} }} }}"
)
ROTATE = f"mutation($i: RotateApiKeyInput!) {{ rotateApiKey(input: $i) {{ secret {ERRORS} }} }}"
REMOVE = (
    f"mutation($i: RemoveMemberInput!) {{ removeMember(input: $i) {{ member {{ id }} {ERRORS} }} }}"
)
TRACK = (
    "mutation($c: ID!) { trackInteraction(input: {contactId: $c, channel: WEB, kind: PAGE_VIEW})"
    " { userErrors { code } } }"
)


async def _contact(api) -> str:
    payload = await api.mutate(
        'mutation { createContact(input: {firstName: "Dewi"}) { contact { id } userErrors { code } } }'
    )
    return payload["contact"]["id"]


@pytest.mark.parametrize("how", ["revokeApiKey", "rotateApiKey", "relasi key revoke"])
@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_revoking_a_key_ends_its_subscriptions_at_once(
    live_app, api, database, how, protocol
):
    async with database.pool.acquire() as conn:
        row, key = await create_api_key(conn, api.workspace_id, "feed", ["interactions:read"])
    contact = await _contact(api)
    live = Live(live_app, Api(api.client, api.workspace_id, key))
    async with live.subscribed(protocol) as sock:
        op = await sock.subscribe("subscription { interactionAdded { channel } }")
        await live.listening()
        # an event first: the socket's validity is now cached for seconds
        await api.mutate(TRACK, c=contact)
        assert (await sock.data(op))["interactionAdded"] == {"channel": "WEB"}
        if how == "relasi key revoke":
            async with database.pool.acquire() as conn:
                assert await revoke_api_key(conn, key.split("_")[1])
        else:
            await api.mutate(REVOKE if how == "revokeApiKey" else ROTATE, i={"id": _id(row)})
        # no event needed, and none delivered after the revocation
        errors = await sock.errors(op)
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", errors
        await api.mutate(TRACK, c=contact)
        await sock.nothing(0.3)
        # the socket stays open, but a new subscription on it is refused at once
        again = await sock.subscribe("subscription { interactionAdded { channel } }")
        errors = await sock.errors(again, timeout=2)
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", errors


async def test_removing_a_member_ends_their_subscriptions_at_once(live_app, api):
    member = await invite(api, "rina@relasi.co.id", "SUPPORT")
    token = jwt.encode(
        claims(api.workspace_id, "rina@relasi.co.id"), await jwt_secret(api), algorithm="HS256"
    )
    live = Live(live_app, api)
    async with live.sockets(token, api.key) as (sock, admin_sock):  # the admin's goes on
        op = await sock.subscribe("subscription { caseUpdated { id } }")
        admin_op = await admin_sock.subscribe("subscription { caseUpdated { id } }")
        await live.listening(2)
        await api.mutate(REMOVE, i={"id": member["id"]})
        errors = await sock.errors(op)
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", errors
        created = await api.mutate(
            'mutation { createCase(input: {subject: "Help"}) { case { id } userErrors { code } } }'
        )
        assert (await admin_sock.data(admin_op))["caseUpdated"] == {"id": created["case"]["id"]}


def _id(row) -> str:
    return global_ids.encode("ApiKey", row["id"])


CASES = "subscription { caseUpdated { id } }"
CASE = 'mutation { createCase(input: {subject: "Help"}) { case { id } userErrors { code } } }'


@pytest.mark.parametrize("protocol", ["graphql-transport-ws", "graphql-ws"])
async def test_rotating_the_jwt_secret_ends_its_hs256_sockets_at_once(
    live_app, api, other_api, protocol
):
    email = "rina@relasi.co.id"
    for workspace in (api, other_api):  # the same user, in two workspaces
        await invite(workspace, email, "SUPPORT")
    old = jwt.encode(claims(api.workspace_id, email), await jwt_secret(api), algorithm="HS256")
    theirs = jwt.encode(
        claims(other_api.workspace_id, email), await jwt_secret(other_api), algorithm="HS256"
    )
    live = Live(live_app, api)
    async with live.sockets(old, api.key, theirs, protocol=protocol) as (sock, key_sock, their):
        op, key_op, their_op = [await s.subscribe(CASES) for s in (sock, key_sock, their)]
        await live.listening(3)
        new = jwt.encode(claims(api.workspace_id, email), await jwt_secret(api), algorithm="HS256")
        # no event needed: the rotation ends the old token's subscription
        errors = await sock.errors(op)
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", errors
        # the workspace's API key and the other workspace's HS256 token go on
        mine = (await api.mutate(CASE))["case"]["id"]
        assert (await key_sock.data(key_op))["caseUpdated"] == {"id": mine}
        other = (await other_api.mutate(CASE))["case"]["id"]
        assert (await their.data(their_op))["caseUpdated"] == {"id": other}
        # a new subscription on the old token's socket is refused at once
        again = await sock.subscribe(CASES)
        errors = await sock.errors(again, timeout=2)
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", errors
    # a token of the new secret opens a socket that gets its events
    async with live.sockets(new, protocol=protocol) as (sock,):
        op = await sock.subscribe(CASES)
        await live.listening()
        created = (await api.mutate(CASE))["case"]["id"]
        assert (await sock.data(op))["caseUpdated"] == {"id": created}
