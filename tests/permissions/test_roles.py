"""What each role and scope set sees: deal amounts, personal data, relations across domains."""

import pytest

from relasi.auth.api_keys import create_api_key
from relasi.auth.scopes import ROLE_SCOPES, Role
from tests.conftest import Api

ERRORS = "userErrors { field message code }"


async def _as(api: Api, database, scopes) -> Api:
    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, api.workspace_id, "scoped", sorted(scopes))
    return Api(api.client, api.workspace_id, key)


def _codes(body: dict) -> list[tuple[list, str]]:
    return [(e.get("path"), e["extensions"]["code"]) for e in body.get("errors", [])]


@pytest.fixture
async def graph(api) -> dict:
    account = await api.mutate(
        f'mutation {{ createAccount(input: {{name: "Bank Jaya"}}) {{ account {{ id }} {ERRORS} }} }}'
    )
    contact = await api.mutate(
        "mutation($i: CreateContactInput!) { createContact(input: $i) {"
        f" contact {{ id }} {ERRORS} }} }}",
        i={
            "firstName": "Joko",
            "emails": [{"address": "joko.widodo@example.com"}],
            "phones": [{"number": "+6281234567890"}],
            "accountId": account["account"]["id"],
        },
    )
    deal = await api.mutate(
        "mutation($i: CreateDealInput!) { createDeal(input: $i) {"
        f" deal {{ id version }} {ERRORS} }} }}",
        i={
            "name": "Core banking",
            "amount": {"amount": "250000", "currency": "USD"},
            "contacts": [{"contactId": contact["contact"]["id"]}],
        },
    )
    return {"contact": contact["contact"]["id"], "deal": deal["deal"]}


async def test_support_sees_deals_but_not_what_they_are_worth(api, database, graph):
    support = await _as(api, database, ROLE_SCOPES[Role.SUPPORT])
    body = await support.raw(
        "query($d: ID!) { deal(id: $d) { name stage { name } amount { amount } } }",
        d=graph["deal"]["id"],
    )
    assert body["data"]["deal"]["name"] == "Core banking"
    assert body["data"]["deal"]["amount"] is None
    assert _codes(body) == [(["deal", "amount"], "FORBIDDEN")]
    case = await support.mutate(
        f'mutation($c: ID!) {{ createCase(input: {{subject: "Card blocked", contactId: $c}}) {{ case {{ id }} {ERRORS} }} }}',
        c=graph["contact"],
    )
    assert case["case"]["id"]
    sales = await _as(api, database, ROLE_SCOPES[Role.SALES])
    body = await sales.raw(
        "query($d: ID!) { deal(id: $d) { amount { amount } } }", d=graph["deal"]["id"]
    )
    assert body["data"]["deal"]["amount"]["amount"] == "250000.00"


async def test_marketing_reads_deals_but_cannot_edit_them(api, database, graph):
    marketing = await _as(api, database, ROLE_SCOPES[Role.MARKETING])
    deal = graph["deal"]
    body = await marketing.raw(
        f"mutation($i: UpdateDealInput!) {{ updateDeal(input: $i) {{ deal {{ name }} {ERRORS} }} }}",
        i={"id": deal["id"], "version": deal["version"], "name": "Renamed"},
    )
    assert _codes(body) == [(["updateDeal"], "FORBIDDEN")]
    unchanged = await api("query($d: ID!) { deal(id: $d) { name } }", d=deal["id"])
    assert unchanged["deal"]["name"] == "Core banking"
    touch = await marketing.mutate(
        f"mutation($c: ID!) {{ trackInteraction(input: {{contactId: $c, channel: EMAIL, kind: EMAIL_OPEN}}) {{ created {ERRORS} }} }}",
        c=graph["contact"],
    )
    assert touch["created"] is True


async def test_viewer_writes_nothing(api, database, graph):
    viewer = await _as(api, database, ROLE_SCOPES[Role.VIEWER])
    body = await viewer.raw(
        f'mutation($c: ID!) {{ addNote(input: {{contactId: $c, body: "hi"}}) {{ {ERRORS} }} }}',
        c=graph["contact"],
    )
    assert _codes(body) == [(["addNote"], "FORBIDDEN")]
    data = await viewer(
        "query($c: ID!) { contact(id: $c) { firstName timeline { totalCount } } }",
        c=graph["contact"],
    )
    assert data["contact"]["firstName"] == "Joko"


async def test_personal_data_is_masked_without_pii_read(api, database, graph):
    viewer = await _as(api, database, ROLE_SCOPES[Role.VIEWER])
    query = (
        "query($c: ID!) { contact(id: $c) { email emails { address } phone phones { number } } }"
    )
    masked = (await viewer(query, c=graph["contact"]))["contact"]
    assert masked == {
        "email": "j***@example.com",
        "emails": [{"address": "j***@example.com"}],
        "phone": "+62*******7890",
        "phones": [{"number": "+62*******7890"}],
    }
    full = (await api(query, c=graph["contact"]))["contact"]
    assert full["email"] == "joko.widodo@example.com" and full["phone"] == "+6281234567890"

    # filtering by a hidden value would reveal it one guess at a time
    for flt in ({"email": {"eq": "joko.widodo@example.com"}}, {"phone": {"startsWith": "+62"}}):
        body = await viewer.raw(
            "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }", f=flt
        )
        assert _codes(body) == [(["contacts"], "FORBIDDEN")], flt
    nested = await viewer.raw(
        '{ deals(filter: {contacts: {some: {email: {contains: "joko"}}}}) { totalCount } }'
    )
    assert _codes(nested) == [(["deals"], "FORBIDDEN")]
    # free-text search still finds names, but not email addresses
    by_name = await viewer('{ contacts(filter: {search: "joko"}) { totalCount } }')
    by_email = await viewer('{ contacts(filter: {search: "widodo@"}) { totalCount } }')
    assert by_name["contacts"]["totalCount"] == 1 and by_email["contacts"]["totalCount"] == 0
    assert (await api('{ contacts(filter: {search: "widodo@"}) { totalCount } }'))["contacts"][
        "totalCount"
    ] == 1


async def test_relations_into_another_domain_need_its_scope(api, database, graph):
    reader = await _as(api, database, {"contacts:read"})
    body = await reader.raw(
        "query($c: ID!) { contact(id: $c) { firstName account { name } } }", c=graph["contact"]
    )
    assert body["data"]["contact"] == {"firstName": "Joko", "account": None}
    assert _codes(body) == [(["contact", "account"], "FORBIDDEN")]
    # a denied list is an error on it; being non-null, it takes its parent with it
    body = await reader.raw(
        "query($c: ID!) { contact(id: $c) { firstName deals { totalCount } } }", c=graph["contact"]
    )
    assert body["data"]["contact"] is None
    assert _codes(body) == [(["contact", "deals"], "FORBIDDEN")]
    # a write-only ingest key reads back what it wrote, but nothing else
    ingest = await _as(api, database, {"interactions:write"})
    body = await ingest.raw(
        f"mutation($c: ID!) {{ trackInteraction(input: {{contactId: $c, channel: WEB, kind: PAGE_VIEW}}) {{ created interaction {{ id channel contact {{ firstName }} }} {ERRORS} }} }}",
        c=graph["contact"],
    )
    payload = body["data"]["trackInteraction"]
    assert payload["created"] is True and payload["interaction"]["channel"] == "WEB"
    assert _codes(body) == [(["trackInteraction", "interaction", "contact"], "FORBIDDEN")]
