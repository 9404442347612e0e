"""An endpoint's payloads are rendered as whoever saved it: once that API key is revoked or
that member removed, it sends nothing more and says why (OWNER_REVOKED); an update with
`enabled: true` re-owns and enables it; a rotated key hands its endpoints on."""

import jwt

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
