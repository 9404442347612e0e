"""Reading contacts: filters across relations with quantifiers, ordering, keyset pagination."""

import pytest

ERRORS = "userErrors { field message code }"


async def _stage_ids(api) -> dict[str, str]:
    data = await api("{ pipelines { nodes { stages { id name } } } }")
    return {s["name"]: s["id"] for s in data["pipelines"]["nodes"][0]["stages"]}


async def _account(api, name, **fields) -> str:
    payload = await api.mutate(
        f"mutation($input: CreateAccountInput!) {{ createAccount(input: $input) {{ account {{ id }} {ERRORS} }} }}",
        input={"name": name, **fields},
    )
    return payload["account"]["id"]


async def _contact(api, **fields) -> str:
    payload = await api.mutate(
        f"mutation($input: CreateContactInput!) {{ createContact(input: $input) {{ contact {{ id }} {ERRORS} }} }}",
        input=fields,
    )
    return payload["contact"]["id"]


async def _names(api, filter=None, order=None, **args) -> list[str]:
    data = await api(
        "query($f: ContactFilter, $o: [ContactOrder!]) { contacts(filter: $f, orderBy: $o, first: 100) { nodes { firstName } } }",
        f=filter,
        o=order or [{"field": "FIRST_NAME"}],
    )
    return [c["firstName"] for c in data["contacts"]["nodes"]]


async def test_the_graph_filter_from_the_issue(api):
    """Contacts at Retail accounts with over 500 employees, with SOME open deal above 50,000 in
    Proposal, and NO open urgent case."""
    stages = await _stage_ids(api)
    big_retail = await _account(api, "Big Retail", industry="Retail", employeeCount=900)
    small_retail = await _account(api, "Small Retail", industry="Retail", employeeCount=40)
    contacts = {}
    for name, account in (
        ("Match", big_retail),
        ("SmallCo", small_retail),
        ("NoDeal", big_retail),
        ("Urgent", big_retail),
        ("LowDeal", big_retail),
        ("ClosedUrgent", big_retail),
    ):
        contacts[name] = await _contact(api, firstName=name, accountId=account)

    async def deal(contact, amount, stage):
        await api.mutate(
            f"mutation($input: CreateDealInput!) {{ createDeal(input: $input) {{ {ERRORS} }} }}",
            input={
                "name": f"{contact} deal",
                "stageId": stages[stage],
                "amount": {"amount": amount, "currency": "USD"},
                "contacts": [{"contactId": contacts[contact]}],
            },
        )

    async def case(contact, priority, status):
        payload = await api.mutate(
            f"mutation($input: CreateCaseInput!) {{ createCase(input: $input) {{ case {{ id version }} {ERRORS} }} }}",
            input={"subject": "Help", "contactId": contacts[contact], "priority": priority},
        )
        if status != "NEW":
            await api.mutate(
                f"mutation($input: UpdateCaseInput!) {{ updateCase(input: $input) {{ {ERRORS} }} }}",
                input={
                    "id": payload["case"]["id"],
                    "version": payload["case"]["version"],
                    "status": status,
                },
            )

    for name in ("Match", "SmallCo", "Urgent", "ClosedUrgent"):
        await deal(name, "75000", "Proposal")
    await deal("LowDeal", "20000", "Proposal")
    await deal("NoDeal", "90000", "Negotiation")
    await case("Urgent", "URGENT", "OPEN")
    await case("ClosedUrgent", "URGENT", "CLOSED")
    await case("Match", "LOW", "OPEN")

    found = await _names(
        api,
        {
            "account": {"industry": {"eq": "Retail"}, "employeeCount": {"gt": 500}},
            "deals": {
                "some": {
                    "status": {"eq": "OPEN"},
                    "amount": {"gt": "50000"},
                    "stage": {"name": {"eq": "Proposal"}},
                }
            },
            "cases": {
                "none": {"status": {"in": ["NEW", "OPEN", "PENDING"]}, "priority": {"eq": "URGENT"}}
            },
        },
    )
    assert found == ["ClosedUrgent", "Match"]

    # the same graph walked from the other side: accounts with some such contact
    data = await api(
        """{ accounts(filter: {contacts: {some: {cases: {some: {priority: {eq: URGENT}}}}}}) { nodes { name } }
             noCases: accounts(filter: {contacts: {every: {cases: {none: {}}}}}) { nodes { name } } }"""
    )
    assert data["accounts"]["nodes"] == [{"name": "Big Retail"}]
    assert data["noCases"]["nodes"] == [{"name": "Small Retail"}]


async def test_field_operators(api):
    await _contact(
        api,
        firstName="Ayu",
        lastName="Lestari",
        country="ID",
        lifecycleStage="CUSTOMER",
        emails=[{"address": "ayu@kopi.co.id"}],
        customAttributes={"plan": "pro", "seats": 30},
    )
    await _contact(
        api,
        firstName="Bima",
        lastName="Aditya",
        country="SG",
        lifecycleStage="LEAD",
        leadRating="HOT",
        customAttributes={"plan": "free", "seats": 2},
    )
    await _contact(
        api,
        firstName="Citra",
        country="ID",
        lifecycleStage="CHURNED",
        phones=[{"number": "+6281299990000"}],
    )

    assert await _names(api, {"lifecycleStage": {"in": ["CUSTOMER", "CHURNED"]}}) == [
        "Ayu",
        "Citra",
    ]
    assert await _names(api, {"lifecycleStage": {"ne": "LEAD"}, "country": {"eq": "ID"}}) == [
        "Ayu",
        "Citra",
    ]
    assert await _names(api, {"leadRating": {"isNull": True}}) == ["Ayu", "Citra"]
    assert await _names(api, {"leadRating": {"notIn": ["HOT"]}}) == [
        "Ayu",
        "Citra",
    ]  # unset counts as "not HOT"
    assert await _names(api, {"lastName": {"startsWith": "les"}}) == ["Ayu"]
    assert await _names(api, {"firstName": {"contains": "IM"}}) == ["Bima"]
    assert await _names(api, {"email": {"eq": "AYU@kopi.co.id"}}) == ["Ayu"]
    assert await _names(api, {"email": {"isNull": True}}) == ["Bima", "Citra"]
    assert await _names(api, {"phone": {"eq": "+6281299990000"}}) == ["Citra"]
    assert await _names(api, {"search": "bima aditya"}) == ["Bima"]
    assert await _names(api, {"search": "kopi"}) == ["Ayu"]
    assert await _names(api, {"search": "100%_"}) == []  # LIKE wildcards are literal
    assert await _names(api, {"customAttributes": [{"key": "plan", "eq": "pro"}]}) == ["Ayu"]
    assert await _names(api, {"customAttributes": [{"key": "seats", "gt": 10}]}) == ["Ayu"]
    assert await _names(api, {"customAttributes": [{"key": "plan", "exists": False}]}) == ["Citra"]
    assert await _names(
        api, {"or": [{"country": {"eq": "SG"}}, {"lifecycleStage": {"eq": "CHURNED"}}]}
    ) == ["Bima", "Citra"]
    assert await _names(api, {"not": {"country": {"eq": "ID"}}}) == ["Bima"]
    assert await _names(
        api, {"and": [{"country": {"eq": "ID"}}, {"not": {"firstName": {"eq": "Ayu"}}}]}
    ) == ["Citra"]
    assert await _names(
        api, {"createdAt": {"gt": "2000-01-01T00:00:00Z", "lt": "2999-01-01T00:00:00Z"}}
    ) == ["Ayu", "Bima", "Citra"]


async def test_id_filters_check_the_type(api):
    account = await _account(api, "Co")
    await _contact(api, firstName="In", accountId=account)
    await _contact(api, firstName="Out")
    assert await _names(api, {"accountId": {"eq": account}}) == ["In"]
    assert await _names(api, {"accountId": {"isNull": True}}) == ["Out"]
    contact = await _contact(api, firstName="X")
    body = await api.raw(
        "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
        f={"accountId": {"eq": contact}},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_ordering_with_nulls_and_tiebreak(api):
    for first, last, city in (
        ("A", "Zed", None),
        ("B", "amir", "Bandung"),
        ("C", "Amir", None),
        ("D", None, "Aceh"),
    ):
        await _contact(api, firstName=first, lastName=last, city=city)
    by_last = await _names(api, order=[{"field": "LAST_NAME"}, {"field": "FIRST_NAME"}])
    assert by_last == ["B", "C", "A", "D"]  # case-insensitive, nulls last
    assert await _names(
        api,
        order=[
            {"field": "LAST_NAME", "direction": "DESC", "nulls": "FIRST"},
            {"field": "FIRST_NAME"},
        ],
    ) == ["D", "A", "B", "C"]
    assert await _names(
        api,
        order=[{"field": "CITY", "nulls": "FIRST"}, {"field": "FIRST_NAME", "direction": "DESC"}],
    ) == ["C", "A", "D", "B"]
    body = await api.raw("{ contacts(orderBy: [{field: CITY}, {field: CITY}]) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "order",
    [
        [{"field": "CREATED_AT", "direction": "DESC"}],
        [{"field": "CITY", "nulls": "FIRST"}],
        [{"field": "LAST_NAME", "direction": "DESC"}, {"field": "CITY"}],
    ],
)
async def test_pagination_walks_both_ways_without_gaps(api, order):
    cities = ["Jakarta", None, "Bandung", None, "Medan"]
    for i in range(13):
        await _contact(api, firstName=f"P{i:02d}", lastName=f"L{i % 4}", city=cities[i % 5])
    query = """query($o: [ContactOrder!], $first: Int, $after: String, $last: Int, $before: String) {
      contacts(orderBy: $o, first: $first, after: $after, last: $last, before: $before) {
        totalCount edges { cursor node { firstName } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
    full = [
        e["node"]["firstName"] for e in (await api(query, o=order, first=100))["contacts"]["edges"]
    ]
    assert len(full) == 13

    forward, after, pages = [], None, 0
    while True:
        page = (await api(query, o=order, first=4, after=after))["contacts"]
        forward += [e["node"]["firstName"] for e in page["edges"]]
        pages += 1
        assert page["totalCount"] == 13
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert forward == full and pages == 4

    backward, before = [], None
    while True:
        page = (await api(query, o=order, last=5, before=before))["contacts"]
        backward = [e["node"]["firstName"] for e in page["edges"]] + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward == full

    other_order = [{"field": "FIRST_NAME"}]
    body = await api.raw(query, o=other_order, first=2, after=after)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_relation_connections_page_per_parent(api):
    accounts = [await _account(api, f"Acc{i}") for i in range(3)]
    for i, account in enumerate(accounts):
        for j in range(i + 2):
            await _contact(api, firstName=f"A{i}C{j}", accountId=account)
    query = """query($after: String) { accounts(orderBy: [{field: NAME}]) { nodes { name
                 contacts(first: 2, after: $after, orderBy: [{field: FIRST_NAME}]) {
                   totalCount nodes { firstName } pageInfo { hasNextPage endCursor } } } } }"""
    data = await api(query)
    pages = {a["name"]: a["contacts"] for a in data["accounts"]["nodes"]}
    assert {n: [c["firstName"] for c in p["nodes"]] for n, p in pages.items()} == {
        "Acc0": ["A0C0", "A0C1"],
        "Acc1": ["A1C0", "A1C1"],
        "Acc2": ["A2C0", "A2C1"],
    }
    assert {n: p["totalCount"] for n, p in pages.items()} == {"Acc0": 2, "Acc1": 3, "Acc2": 4}
    assert {n: p["pageInfo"]["hasNextPage"] for n, p in pages.items()} == {
        "Acc0": False,
        "Acc1": True,
        "Acc2": True,
    }
    # each parent's cursor continues that parent's own list
    cursor = pages["Acc2"]["pageInfo"]["endCursor"]
    data = await api(
        "query($id: ID!, $after: String) { account(id: $id) { contacts(first: 5, after: $after, orderBy: [{field: FIRST_NAME}]) { nodes { firstName } } } }",
        id=accounts[2],
        after=cursor,
    )
    assert [c["firstName"] for c in data["account"]["contacts"]["nodes"]] == ["A2C2", "A2C3"]
