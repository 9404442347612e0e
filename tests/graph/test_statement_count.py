"""Every relation loads through a batched DataLoader: the number of SQL statements a request
runs depends on the query's depth, never on how many rows its lists hold."""

import pytest

from relasi.db import Database

NESTED = """
query($n: Int!) {
  contacts(first: $n, orderBy: [{field: CREATED_AT, direction: ASC}]) {
    totalCount
    edges { cursor node {
      fullName email phones { number }
      owner { name }
      account { name parent { name } contacts(first: 3) { totalCount nodes { fullName } } }
      deals(first: 5) { totalCount edges { role node { name amount { amount currency }
                        stage { name } pipeline { name } stageHistory { toStage { name } } } } }
      cases(first: 5) { nodes { subject status owner { name } } }
      interactions(first: 5) { pageInfo { hasNextPage } nodes { channel kind occurredAt } }
    } }
  }
}
"""


async def _populate(api, count: int) -> None:
    """`count` contacts, each with an account (with a parent), a deal, a case and touchpoints."""
    member = await api.mutate(
        'mutation { createMember(input: {name: "Rina", email: "rina@acme.co.id"}) '
        "{ member { id } userErrors { field message code } } }"
    )
    owner = member["member"]["id"]
    parent = await api.mutate(
        'mutation { createAccount(input: {name: "Holding"}) '
        "{ account { id } userErrors { field message code } } }"
    )
    parts = []
    for i in range(count):
        parts.append(
            f'a{i}: createAccount(input: {{name: "Account {i}", parentId: "{parent["account"]["id"]}",'
            f' ownerId: "{owner}"}}) {{ account {{ id }} userErrors {{ message }} }}'
        )
    accounts = await api.mutate_many(parts)
    parts = []
    for i in range(count):
        account_id = accounts[f"a{i}"]["account"]["id"]
        parts.append(
            f'c{i}: createContact(input: {{firstName: "C{i}", emails: [{{address: "c{i}@acme.co.id"}}],'
            f' phones: [{{number: "+628123456{i:04d}"}}], accountId: "{account_id}",'
            f' ownerId: "{owner}"}}) {{ contact {{ id }} userErrors {{ message }} }}'
        )
    contacts = await api.mutate_many(parts)
    parts = []
    for i in range(count):
        contact_id = contacts[f"c{i}"]["contact"]["id"]
        account_id = accounts[f"a{i}"]["account"]["id"]
        parts.append(
            f'd{i}: createDeal(input: {{name: "Deal {i}", accountId: "{account_id}",'
            f' amount: {{amount: "1000", currency: "USD"}},'
            f' contacts: [{{contactId: "{contact_id}", role: CHAMPION}}]}}) {{ userErrors {{ message }} }}'
            f' k{i}: createCase(input: {{subject: "Help {i}", contactId: "{contact_id}",'
            f' ownerId: "{owner}"}}) {{ userErrors {{ message }} }}'
        )
        for j in range(3):
            parts.append(
                f'i{i}_{j}: trackInteraction(input: {{contactId: "{contact_id}", channel: WEB,'
                f" kind: PAGE_VIEW}}) {{ userErrors {{ message }} }}"
            )
    created = await api.mutate_many(parts)
    assert all(not payload["userErrors"] for payload in created.values())


async def _statements(api, database, n: int) -> tuple[int, dict]:
    with database.capture_statements() as statements:
        data = await api(NESTED, n=n)
    return len(statements), data


@pytest.mark.parametrize("small, large", [(5, 50)])
async def test_nested_query_cost_does_not_grow_with_list_length(api, database, small, large):
    await _populate(api, large)
    few, few_data = await _statements(api, database, small)
    many, many_data = await _statements(api, database, large)

    assert len(few_data["contacts"]["edges"]) == small
    assert len(many_data["contacts"]["edges"]) == large
    # each contact really got its nested data
    for edge in many_data["contacts"]["edges"]:
        node = edge["node"]
        assert node["account"]["parent"]["name"] == "Holding"
        assert node["deals"]["edges"][0]["role"] == "CHAMPION"
        assert (
            node["deals"]["edges"][0]["node"]["stageHistory"][0]["toStage"]["name"] == "Prospecting"
        )
        assert len(node["interactions"]["nodes"]) == 3
        assert node["cases"]["nodes"][0]["owner"]["name"] == "Rina"
    assert few == many
    # and the number is small: one statement per relation level, plus auth and the transaction
    assert many <= 30, many


async def test_counting_needs_a_database_that_logs_its_statements(database):
    """Serving, asyncpg's statement log is off (`count_statements`): a capture there would
    count nothing and let any count pass, so it refuses to start."""
    quiet = await Database.connect(database.dsn, min_size=1, max_size=1)
    try:
        with pytest.raises(RuntimeError, match="count_statements"), quiet.capture_statements():
            pass
    finally:
        await quiet.close()
    with database.capture_statements() as statements:
        async with database.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
    assert statements[0] == "SELECT 1"  # (then the pool's reset of the connection)
