"""Which contact owns an email or phone is personal data: a caller without pii:read learns
that an identity is taken, never by whom (no owner id in any conflict message)."""

import pytest

from relasi.auth.api_keys import create_api_key
from tests.conftest import Api

ERRORS = "userErrors { field message code }"
CREATE = f"mutation($input: CreateContactInput!) {{ createContact(input: $input) {{ contact {{ id }} {ERRORS} }} }}"
UPDATE = f"mutation($input: UpdateContactInput!) {{ updateContact(input: $input) {{ contact {{ id }} {ERRORS} }} }}"
DELETE = (
    f"mutation($input: ContactIdInput!) {{ deleteContact(input: $input) {{ deletedId {ERRORS} }} }}"
)
TRACK = f"mutation($input: TrackInteractionInput!) {{ trackInteraction(input: $input) {{ created {ERRORS} }} }}"
WRITER = ["contacts:read", "contacts:write", "interactions:write"]


async def _keyed(api: Api, database, scopes: list[str]) -> Api:
    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, api.workspace_id, "writer", scopes)
    return Api(api.client, api.workspace_id, key)


async def _errors(api: Api, query: str, **variables) -> list[dict]:
    body = await api.raw(query, **variables)
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    return payload["userErrors"]


@pytest.mark.parametrize("pii", [False, True])
async def test_identity_conflicts_name_the_owner_only_with_pii_read(api, database, pii):
    owner = (
        await api.mutate(
            CREATE,
            input={
                "firstName": "Ani",
                "emails": [{"address": "ani@example.com"}],
                "phones": [{"number": "+6281211112222"}],
            },
        )
    )["contact"]["id"]
    other = (
        await api.mutate(
            CREATE, input={"firstName": "Budi", "phones": [{"number": "+6281299998888"}]}
        )
    )["contact"]["id"]
    gone = (
        await api.mutate(
            CREATE, input={"firstName": "Citra", "emails": [{"address": "citra@example.com"}]}
        )
    )["contact"]["id"]
    await api.mutate(DELETE, input={"id": gone})
    caller = await _keyed(api, database, WRITER + (["pii:read"] if pii else []))

    conflicts = [
        await _errors(
            caller, CREATE, input={"firstName": "X", "emails": [{"address": "ANI@example.com"}]}
        ),
        await _errors(
            caller, CREATE, input={"firstName": "X", "phones": [{"number": "+62 812-1111-2222"}]}
        ),
        await _errors(
            caller,
            UPDATE,
            input={"id": other, "version": 1, "emails": [{"address": "ani@example.com"}]},
        ),
        # a touch naming two people's identities, and one of a deleted contact
        await _errors(
            caller,
            TRACK,
            input={
                "contact": {"email": "ani@example.com", "phone": "+6281299998888"},
                "channel": "WEB",
                "kind": "PAGE_VIEW",
            },
        ),
        await _errors(
            caller,
            TRACK,
            input={
                "contact": {"email": "citra@example.com"},
                "channel": "WEB",
                "kind": "PAGE_VIEW",
            },
        ),
    ]
    for errors in conflicts:
        assert [e["code"] for e in errors] == ["CONFLICT"], errors
        message = errors[0]["message"]
        assert any(c in message for c in (owner, other, gone)) is pii, message
    if not pii:
        assert "already taken by another contact" in conflicts[0][0]["message"]
