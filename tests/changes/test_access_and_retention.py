"""Who may read the change log, what personal data it shows, and how long it keeps events."""

import time

import jwt

from relasi.auth.api_keys import create_api_key
from relasi.auth.scopes import ROLE_SCOPES, Role
from relasi.db import system_connection
from relasi.resolvers import change_retention
from tests.changes.helpers import ERRORS, read_all
from tests.conftest import Api

CREATE = f"""mutation($i: CreateContactInput!) {{ createContact(input: $i) {{
    contact {{ id }} {ERRORS} }} }}"""
CREATE_DEAL = (
    f"""mutation($i: CreateDealInput!) {{ createDeal(input: $i) {{ deal {{ id }} {ERRORS} }} }}"""
)
RECORDS = "{ changes(first: 10) { nodes { type record { id } } } }"


async def _with_scopes(api: Api, database, scopes) -> Api:
    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, api.workspace_id, "poller", sorted(scopes))
    return Api(api.client, api.workspace_id, key)


async def test_events_read_is_needed_and_only_admins_have_it(api, database):
    assert all("events:read" not in scopes for scopes in ROLE_SCOPES.values())
    sales = await _with_scopes(api, database, ROLE_SCOPES[Role.SALES])
    body = await sales.raw("{ changes { edges { cursor } } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "events:read" in body["errors"][0]["message"]


async def test_a_poller_without_pii_read_sees_identities_masked_and_no_amounts(api, database):
    contact = (
        await api.mutate(
            CREATE,
            i={
                "firstName": "Sari",
                "emails": [{"address": "sari@example.com"}],
                "phones": [{"number": "+6281234567890"}],
            },
        )
    )["contact"]
    await api.mutate(CREATE_DEAL, i={"name": "D", "amount": {"amount": "10", "currency": "IDR"}})
    poller = await _with_scopes(api, database, {"events:read"})
    contact_event, deal_event = (await read_all(poller))[0]
    assert contact_event["changes"]["emails"] == {"before": None, "after": ["s***@example.com"]}
    assert contact_event["changes"]["phones"] == {"before": None, "after": ["+62*******7890"]}
    assert "amount" not in deal_event["changes"]
    assert deal_event["changes"]["name"] == {"before": None, "after": "D"}
    # the record itself needs its type's read scope, like node(id:)
    body = await poller.raw(RECORDS)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["path"] == ["changes", "nodes", 0, "record"]
    reader = await _with_scopes(api, database, {"events:read", "contacts:read"})
    nodes = (await reader.raw(RECORDS))["data"]["changes"]["nodes"]
    assert nodes[0]["record"] == {"id": contact["id"]}
    admin_event = (await read_all(api))[0][0]
    assert admin_event["changes"]["emails"]["after"] == ["sari@example.com"]


async def test_a_deleted_record_reads_as_null(api):
    contact = (await api.mutate(CREATE, i={"firstName": "Gone"}))["contact"]
    await api.mutate(
        f'mutation {{ deleteContact(input: {{id: "{contact["id"]}"}}) {{ {ERRORS} }} }}'
    )
    nodes = (await api(RECORDS))["changes"]["nodes"]
    assert [(n["type"], n["record"]) for n in nodes] == [
        ("contact.created", None),
        ("contact.deleted", None),
    ]


async def test_retention_deletes_only_events_older_than_the_setting(api, other_api, database):
    for name in ("Old", "Older", "Recent"):
        await api.mutate(CREATE, i={"firstName": name})
    await other_api.mutate(CREATE, i={"firstName": "Theirs"})
    async with system_connection(database) as conn:
        await conn.execute(
            "UPDATE change_events SET occurred_at = now() - interval '31 days'"
            " WHERE workspace_id = ANY($1::uuid[])"
            " AND changes->>'first_name' IN ('Old', 'Older', 'Theirs')",
            [api.workspace_id, other_api.workspace_id],
        )
    await change_retention.prune(database, 32, batch=1)  # nothing is that old
    assert len((await read_all(api))[0]) == 3
    await change_retention.prune(database, 30, batch=1)  # one per statement, until done
    kept = (await read_all(api))[0]
    assert [e["changes"]["firstName"]["after"] for e in kept] == ["Recent"]
    assert (await read_all(other_api))[0] == []


async def test_a_members_change_names_the_member(api):
    """Staff signed in with a JWT are the actor of what they change."""
    await api.mutate(
        f"""mutation {{ createMember(input: {{name: "Rina", email: "rina@example.com", role: SALES}})
            {{ member {{ id }} {ERRORS} }} }}"""
    )
    secret = (await api.mutate(f"mutation {{ rotateJwtSecret {{ secret {ERRORS} }} }}"))["secret"]
    now = int(time.time())
    token = jwt.encode(
        {
            "aud": "relasi",
            "email": "rina@example.com",
            "relasi_workspace": str(api.workspace_id),
            "iat": now,
            "exp": now + 300,
        },
        secret,
        algorithm="HS256",
    )
    rina = Api(api.client, api.workspace_id, token)
    await rina.mutate(CREATE, i={"firstName": "Made by Rina"})
    body = await api.raw("{ changes { nodes { type actor { apiKeyName member { name } } } } }")
    assert body["data"]["changes"]["nodes"] == [
        {"type": "contact.created", "actor": {"apiKeyName": None, "member": {"name": "Rina"}}}
    ]
