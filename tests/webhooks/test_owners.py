"""An endpoint's payloads are rendered as whoever saved it: once that API key is revoked or
that member removed, it sends nothing more and says why (OWNER_REVOKED); an update with
`enabled: true` re-owns and enables it; a rotated key hands its endpoints on."""

import json

import jwt

from relasi.db import system_connection
from relasi.resolvers import global_ids
from tests.auth.conftest import claims, invite, jwt_secret
from tests.conftest import Api
from tests.webhooks.conftest import ERRORS, endpoint
from tests.webhooks.test_delivery import ENDPOINT
from tests.webhooks.waiting import deliveries, until
from tests.webhooks.writes import mutate

KEY = (
    'mutation { createApiKey(input: {name: "partner", scopes: '
    '["contacts:read", "webhooks:write", "webhooks:read"]}) { apiKey { id } secret '
    + ERRORS
    + " } }"
)
REVOKE = "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { " + ERRORS + " } }"
ROTATE = (
    "mutation($id: ID!) { rotateApiKey(input: {id: $id}) { apiKey { id } secret " + ERRORS + " } }"
)
REMOVE = "mutation($id: ID!) { removeMember(input: {id: $id}) { " + ERRORS + " } }"
ENABLE = (
    "mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, enabled: true}) {"
    " webhookEndpoint { enabled health { disabledCode disabledReason } } " + ERRORS + " } }"
)
CODE = """query($id: ID!) { webhookEndpoint(id: $id) {
  enabled health { disabledCode disabledReason } } }"""


async def _partner(admin: Api) -> tuple[Api, str]:
    made = await admin.mutate(KEY)
    return Api(admin.client, admin.workspace_id, made["secret"]), made["apiKey"]["id"]


async def _contact(api: Api, name: str) -> str:
    payload = await mutate(api, "createContact", {"firstName": name}, "contact { id }")
    return payload["contact"]["id"]


async def _tried(receiver, ep) -> list:
    return receiver.of(ep["name"], False)


def _records(receiver, ep) -> list[str]:
    return [a.payload["data"]["recordId"] for a in receiver.of(ep["name"], False)]


async def _revoked(admin: Api, ep: dict) -> dict:
    async def disabled():
        found = (await admin(CODE, id=ep["id"]))["webhookEndpoint"]
        return found if not found["enabled"] else None

    return await until(disabled, timeout=60)


async def test_a_revoked_key_stops_its_endpoints_until_an_admin_re_owns_them(
    wapi, receiver, run_worker
):
    partner, key_id = await _partner(wapi)
    theirs = await endpoint(partner, receiver, eventTypes=["contact.created"])
    control = await endpoint(wapi, receiver, eventTypes=["contact.created"])
    first = await _contact(wapi, "Before")
    await receiver.wait_for(theirs["name"], 1)

    await wapi.mutate(REVOKE, id=key_id)
    # written at once, before any sweep: still never rendered for (nor sent to) the revoked key
    second = await _contact(wapi, "After")
    await receiver.wait_for(control["name"], 2)
    found = await _revoked(wapi, theirs)
    assert found["health"]["disabledCode"] == "OWNER_REVOKED"
    assert "revoked" in found["health"]["disabledReason"]
    # the control endpoint got the second contact after the first: had the revoked one been
    # sent it, it would have arrived by now too (one fan-out renders both endpoints)
    assert _records(receiver, theirs) == [first]
    assert [d["recordId"] for d in await deliveries(wapi, theirs["id"])] == [first]
    assert sorted(_records(receiver, control)) == sorted([first, second])

    # an admin enables it again: theirs no more, it renders as the admin from now on
    enabled = (await wapi.mutate(ENABLE, id=theirs["id"]))["webhookEndpoint"]
    assert enabled == {"enabled": True, "health": {"disabledCode": None, "disabledReason": None}}
    third = await _contact(wapi, "Again")
    arrived = await receiver.wait_for(theirs["name"], 2)
    assert [a.payload["data"]["recordId"] for a in arrived] == [first, third]


async def test_a_removed_member_stops_the_endpoints_they_saved(
    wapi, receiver, run_worker, hooks_client
):
    secret = await jwt_secret(wapi)

    async def staff(email: str) -> tuple[dict, Api]:
        member = await invite(wapi, email, "ADMIN")
        token = jwt.encode(claims(wapi.workspace_id, email), secret, algorithm="HS256")
        signed_in = Api(hooks_client, wapi.workspace_id, token)
        await signed_in("{ me { scopes } }")  # the first sign-in makes the member active
        return member, signed_in

    member, wulan = await staff("wulan@relasi.co.id")
    await staff("andi@relasi.co.id")  # an admin stays: the last one cannot be removed
    theirs = await endpoint(wulan, receiver, eventTypes=["contact.created"])
    control = await endpoint(wapi, receiver, eventTypes=["contact.created"])
    first = await _contact(wapi, "Before")
    await receiver.wait_for(theirs["name"], 1)

    await wapi.mutate(REMOVE, id=member["id"])
    await _contact(wapi, "After")
    await receiver.wait_for(control["name"], 2)
    found = await _revoked(wapi, theirs)
    assert found["health"]["disabledCode"] == "OWNER_REVOKED"
    assert _records(receiver, theirs) == [first]


async def test_a_rotated_key_hands_its_endpoints_to_the_new_key(wapi, receiver, run_worker):
    partner, key_id = await _partner(wapi)
    theirs = await endpoint(partner, receiver, eventTypes=["contact.created"])
    rotated = await wapi.mutate(ROTATE, id=key_id)
    await _contact(wapi, "Rotated")
    await receiver.wait_for(theirs["name"], 1)
    assert (await wapi(ENDPOINT, id=theirs["id"]))["webhookEndpoint"]["enabled"]

    await wapi.mutate(REVOKE, id=rotated["apiKey"]["id"])  # the new key is the owner now
    found = await _revoked(wapi, theirs)
    assert found["health"]["disabledCode"] == "OWNER_REVOKED"


PARTNER = ["contacts:read", "pii:read", "webhooks:read", "webhooks:write"]
ROLE = "mutation($i: UpdateMemberRoleInput!) { updateMemberRole(input: $i) { " + ERRORS + " } }"


async def _scoped_partner(admin: Api, scopes: list[str]) -> tuple[Api, str]:
    made = await admin.mutate(
        'mutation($s: [String!]!) { createApiKey(input: {name: "partner", scopes: $s}) {'
        " apiKey { id } secret " + ERRORS + " } }",
        s=scopes,
    )
    return Api(admin.client, admin.workspace_id, made["secret"]), made["apiKey"]["id"]


async def _with_email(api: Api, name: str) -> str:
    email = {"address": f"{name.lower()}@toko.co.id", "primary": True}
    payload = await mutate(
        api, "createContact", {"firstName": name, "emails": [email]}, "contact { id }"
    )
    return payload["contact"]["id"]


async def _narrow(database, key_id: str, scope: str) -> None:
    """Take a scope from a key, as an operator does in SQL (no mutation narrows a key)."""
    async with system_connection(database) as conn:
        await conn.execute(
            "UPDATE api_keys SET scopes = array_remove(scopes, $2) WHERE id = $1",
            global_ids.decode(key_id, "ApiKey"),
            scope,
        )


async def test_a_narrowed_key_gets_masked_payloads_from_the_next_change_on(
    wapi, receiver, run_worker, database
):
    partner, key_id = await _scoped_partner(wapi, PARTNER)
    theirs = await endpoint(partner, receiver, eventTypes=["contact.created"])
    # a filter on emails needs pii:read: without it the endpoint is no longer theirs to keep
    filtered = await endpoint(
        partner,
        receiver,
        eventTypes=["contact.created"],
        filter={"contact": {"email": {"contains": "toko.co.id"}}},
    )
    await _with_email(wapi, "Ayu")
    (before,) = await receiver.wait_for(theirs["name"], 1)
    await receiver.wait_for(filtered["name"], 1)
    assert before.payload["data"]["object"]["email"] == "ayu@toko.co.id"

    await _narrow(database, key_id, "pii:read")
    await _with_email(wapi, "Budi")
    after = (await receiver.wait_for(theirs["name"], 2))[1]
    assert after.payload["data"]["object"]["email"] == "b***@toko.co.id"
    assert "budi@" not in json.dumps(after.payload)  # nor in `changes`
    found = await _revoked(wapi, filtered)
    assert found["health"]["disabledCode"] == "OWNER_REVOKED"
    assert "filter" in found["health"]["disabledReason"]
    assert len(receiver.of(filtered["name"], False)) == 1  # Budi was never sent to it


async def test_a_member_lowered_below_webhooks_write_stops_the_endpoints_they_saved(
    wapi, receiver, run_worker, hooks_client
):
    secret = await jwt_secret(wapi)
    staff = []
    for email in ("sinta@relasi.co.id", "eko@relasi.co.id"):  # an admin stays: the last can't go
        member = await invite(wapi, email, "ADMIN")
        token = jwt.encode(claims(wapi.workspace_id, email), secret, algorithm="HS256")
        staff.append((member, Api(hooks_client, wapi.workspace_id, token)))
        await staff[-1][1]("{ me { scopes } }")  # the first sign-in makes the member active
    member, sinta = staff[0]
    theirs = await endpoint(sinta, receiver, eventTypes=["contact.created"])
    control = await endpoint(wapi, receiver, eventTypes=["contact.created"])
    first = await _contact(wapi, "Before")
    await receiver.wait_for(theirs["name"], 1)

    await wapi.mutate(ROLE, i={"id": member["id"], "role": "SALES"})  # reads all, owns none
    await _contact(wapi, "After")
    await receiver.wait_for(control["name"], 2)
    found = await _revoked(wapi, theirs)
    assert found["health"]["disabledCode"] == "OWNER_REVOKED"
    assert "webhooks:write" in found["health"]["disabledReason"]
    assert _records(receiver, theirs) == [first]


async def test_deliveries_rendered_for_a_revoked_owner_are_dropped_when_it_is_re_owned(
    wapi, receiver, run_worker
):
    partner, key_id = await _scoped_partner(wapi, PARTNER)
    theirs = await endpoint(partner, receiver, eventTypes=["contact.created"])
    receiver.route(theirs["name"], status=500)  # retried, so still pending
    old = await _with_email(wapi, "Citra")
    await until(lambda: _tried(receiver, theirs))

    await wapi.mutate(REVOKE, id=key_id)
    await _revoked(wapi, theirs)
    receiver.route(theirs["name"], status=200)  # the receiver is back
    await wapi.mutate(ENABLE, id=theirs["id"])  # an admin re-owns it
    new = await _contact(wapi, "Dodi")
    (arrived,) = await receiver.wait_for(theirs["name"], 1)
    assert arrived.payload["data"]["recordId"] == new
    listed = {d["recordId"]: d for d in await deliveries(wapi, theirs["id"])}
    assert listed[old]["status"] == "FAILED"
    assert listed[old]["attempts"][-1]["error"].startswith("Not sent")
    assert all(
        a.status == 500
        for a in receiver.of(theirs["name"], False)
        if a.payload["data"]["recordId"] == old
    )
