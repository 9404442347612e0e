"""Pages read without the row after them: a connection that does not select the flag that
needs it (hasNextPage forwards, hasPreviousPage backwards) reads exactly its page's rows, in
their keyset order. Its nodes, cursors and the other pageInfo fields are still the resolvers'.
And Money amounts in currencies of every number of decimals."""

import pytest

from tests.compiler.conftest import both_paths

PAGE = (
    "query($first: Int, $after: String, $last: Int, $before: String) {"
    " contacts(first: $first, after: $after, last: $last, before: $before, orderBy: ORDER)"
    " { SELECTION } }"
)


async def _same(api, query, variables=None) -> dict:
    reference, answer = await both_paths(api, query, variables)
    assert answer == reference
    response = await api.post(query, variables)
    assert response.headers["x-relasi-read-path"] == "compiled"
    return answer


@pytest.mark.parametrize(
    "order",
    ["[{field: CREATED_AT, direction: DESC}]", "[{field: CITY, nulls: FIRST}]"],
)
@pytest.mark.parametrize(
    "selection",
    [
        "nodes { lastName city } pageInfo { startCursor endCursor }",
        "edges { cursor node { lastName } } pageInfo { hasPreviousPage endCursor }",
        "pageInfo { hasNextPage startCursor endCursor } totalCount",
    ],
    ids=["nodes-and-cursors", "edges-and-previous", "next-only"],
)
async def test_pages_without_the_next_row_match(demo_api, order, selection):
    api = demo_api()
    query = PAGE.replace("ORDER", order).replace("SELECTION", selection)
    cursors = (
        "query($first: Int, $after: String, $last: Int, $before: String) {"
        f" contacts(first: $first, after: $after, last: $last, before: $before, orderBy: {order})"
        " { pageInfo { startCursor endCursor } } }"
    )
    middle = (await api(cursors, first=6))["contacts"]["pageInfo"]
    pages = [
        {"first": 6},
        {"first": 6, "after": middle["endCursor"]},
        {"last": 4, "before": middle["endCursor"]},
        {"last": 3},
        {"first": 0},
    ]
    for variables in pages:
        body = await _same(api, query, variables)
        if "nodes" in selection and variables.get("first") != 0:
            assert body["data"]["contacts"]["nodes"]


async def test_nested_pages_without_the_next_row_match(demo_api):
    await _same(
        demo_api(),
        "{ accounts(first: 5) { nodes { name"
        " contacts(last: 2) { nodes { fullName } pageInfo { startCursor } }"
        " deals(first: 3) { edges { cursor node { name } } } } } }",
    )


async def test_money_in_currencies_of_every_number_of_decimals(api):
    amounts = [("JPY", "1200"), ("KWD", "7"), ("KWD", "0.125"), ("CLF", "3.5")]
    amounts += [("USD", "19.9"), ("IDR", "150000"), ("EUR", "0")]
    for currency, amount in amounts:
        body = await api.raw(
            "mutation($input: CreateDealInput!) { createDeal(input: $input) { userErrors { code } } }",
            input={
                "name": f"{amount} {currency}",
                "amount": {"amount": amount, "currency": currency},
            },
        )
        assert body["data"]["createDeal"]["userErrors"] == []
    body = await _same(api, "{ deals(first: 10) { nodes { name amount { amount currency } } } }")
    shown = {n["name"]: n["amount"]["amount"] for n in body["data"]["deals"]["nodes"]}
    assert shown == {
        "1200 JPY": "1200",
        "7 KWD": "7.000",
        "0.125 KWD": "0.125",
        "3.5 CLF": "3.5000",
        "19.9 USD": "19.90",
        "150000 IDR": "150000.00",
        "0 EUR": "0.00",
    }
