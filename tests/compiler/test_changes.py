"""`changes` compiled: every event type's rendering (API names, global ids, Money, `utm`, a
deal's contacts, identities), masks without pii:read, deal amounts left out without
deals:amounts, each event's record and actor, pages and cursors, and the resolvers' errors —
the same JSON on both paths."""

import pytest

from relasi.auth.api_keys import create_api_key
from tests.changes.test_event_types import (
    test_each_event_type_once_with_before_after_actor_and_request as writes,
)
from tests.compiler.conftest import PARTNER, READS_WITHOUT_PII
from tests.compiler.test_differential import _compare
from tests.conftest import Api

EVENT = """__typename type recordType recordId occurredAt requestId sequence changes
  actor { __typename apiKeyName member { name } }"""
PAGE = f"""query($first: Int, $after: String, $filter: ChangeEventFilter) {{
  changes(first: $first, after: $after, filter: $filter) {{
    __typename
    edges {{ __typename cursor node {{ {EVENT} }} }}
    nodes {{ type record {{ __typename id ... on Contact {{ fullName email }} ... on Deal {{ name }}
      ... on Segment {{ name size }} ... on Interaction {{ channel }} }} }}
    pageInfo {{ __typename hasNextPage hasPreviousPage startCursor endCursor }}
  }}
}}"""
EVENTS_ONLY = f"""query($first: Int, $after: String) {{
  changes(first: $first, after: $after) {{ edges {{ cursor node {{ {EVENT} }} }}
    pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} }} }}"""
MORE = """mutation($c: CreateContactInput!, $d: CreateDealInput!, $a: CreateAccountInput!) {
  c: createContact(input: $c) { contact { id } userErrors { message } }
  d: createDeal(input: $d) { deal { id } userErrors { message } }
  a: createAccount(input: $a) { account { id } userErrors { message } }
}"""


@pytest.fixture
async def logged(api, database):
    """A workspace with every event type, personal data and amounts in its log, and keys of
    the three callers."""
    await writes(api)
    contact = {
        "firstName": "Dewi",
        "emails": [{"address": "dewi@example.com"}, {"address": "d.l@work.co.id", "primary": True}],
        "phones": [{"number": "+6281234567890"}],
        "customAttributes": {"tier": "gold", "score": 1.5, "nested": {"a_b": [1, 2.25]}},
    }
    created = await api(
        MORE,
        c=contact,
        d={"name": "Kopi", "amount": {"amount": "1250000", "currency": "IDR"}},
        a={"name": "Toko", "annualRevenue": {"amount": "99.5", "currency": "USD"}},
    )
    assert all(not p["userErrors"] for p in created.values()), created
    keys = {}
    async with database.pool.acquire() as conn:
        for name, scopes in (
            ("no_pii", [*READS_WITHOUT_PII, "events:read"]),
            (
                "no_amounts",
                [s for s in READS_WITHOUT_PII if s != "deals:amounts"]
                + ["events:read", "pii:read"],
            ),
            ("partner", [*PARTNER, "events:read"]),
            ("no_events", PARTNER),
        ):
            _, keys[name] = await create_api_key(conn, api.workspace_id, name, scopes)
    return {"admin": api, **{k: Api(api.client, api.workspace_id, v) for k, v in keys.items()}}


async def test_the_change_log_answers_the_same_on_both_paths(logged):
    for caller in ("admin", "no_pii", "no_amounts"):
        api = logged[caller]
        body = await _compare(api, PAGE, {"first": 100}, compiled=True)
        events = body["data"]["changes"]["nodes"]
        assert len(events) > 30
        after = None
        for _ in range(4):  # pages and cursors
            found = await _compare(api, EVENTS_ONLY, {"first": 9, "after": after}, compiled=True)
            after = found["data"]["changes"]["pageInfo"]["endCursor"]
        found = await _compare(api, EVENTS_ONLY, {"first": 0, "after": after}, compiled=True)
        assert found["data"]["changes"]["pageInfo"]["endCursor"] == after
        await _compare(
            api,
            PAGE,
            {"filter": {"types": ["deal.created", "contact.created", "interaction.tracked"]}},
            compiled=True,
        )
    admin = await _compare(logged["admin"], EVENTS_ONLY, {"first": 100})
    masked = await _compare(logged["no_pii"], EVENTS_ONLY, {"first": 100})
    amounts = await _compare(logged["no_amounts"], EVENTS_ONLY, {"first": 100})
    text = str(admin)
    assert "dewi@example.com" in text and "1250000" in text and "'utm'" in text
    assert "dewi@example.com" not in str(masked) and "d***@example.com" in str(masked)
    assert "1250000" not in str(amounts) and "99.50" in str(amounts)


async def test_records_the_caller_may_not_read_are_the_resolvers(logged):
    """The partner's key reads events but not every record type, nor members: asking for
    `record` or an actor's member is answered by the resolvers (FORBIDDEN), the rest
    compiled."""
    partner = logged["partner"]
    without_members = EVENTS_ONLY.replace(" member { name }", "")
    await _compare(partner, without_members, {"first": 50}, compiled=True)
    body = await _compare(partner, EVENTS_ONLY, {"first": 50}, compiled=False)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await _compare(partner, PAGE, {"first": 50}, compiled=False)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await _compare(logged["no_events"], EVENTS_ONLY, compiled=False)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "variables",
    [
        {"first": -1},
        {"first": 101},
        {"after": "bm9wZQ"},
        {"filter": {"types": ["contact.exploded"]}},
        {"filter": {"recordIds": ["nonsense"]}},
    ],
)
async def test_bad_arguments_are_the_resolvers_errors(logged, variables):
    body = await _compare(logged["admin"], PAGE, variables, compiled=False)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
