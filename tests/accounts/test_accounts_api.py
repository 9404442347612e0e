"""Accounts through the API: normalised unique domains, hierarchy without cycles, exact
revenue, optimistic concurrency and soft delete."""

import pytest

ERRORS = "userErrors { field message code }"
ACCOUNT = """id version name domain industry employeeCount country customAttributes
             annualRevenue { amount currency } parent { name } owner { name }"""
CREATE = f"mutation($input: CreateAccountInput!) {{ createAccount(input: $input) {{ account {{ {ACCOUNT} }} {ERRORS} }} }}"
UPDATE = f"mutation($input: UpdateAccountInput!) {{ updateAccount(input: $input) {{ account {{ {ACCOUNT} }} {ERRORS} }} }}"


async def _create(api, name, **fields):
    return (await api.mutate(CREATE, input={"name": name, **fields}))["account"]


async def test_create_normalises_and_links(api):
    owner = await api.mutate(
        f'mutation {{ createMember(input: {{name: "Rina", email: "Rina@Relasi.co.id"}}) {{ member {{ id email }} {ERRORS} }} }}'
    )
    assert owner["member"]["email"] == "rina@relasi.co.id"
    parent = await _create(api, "Holding")
    account = await _create(
        api,
        "Toko Maju",
        domain="HTTPS://www.TokoMaju.co.id/about",
        industry="Retail",
        employeeCount=650,
        annualRevenue={"amount": "1250000.50", "currency": "usd"},
        country="id",
        ownerId=owner["member"]["id"],
        parentId=parent["id"],
        customAttributes={"tier": "enterprise"},
    )
    assert account["domain"] == "tokomaju.co.id" and account["country"] == "ID"
    assert account["annualRevenue"] == {"amount": "1250000.50", "currency": "USD"}
    assert account["parent"] == {"name": "Holding"} and account["owner"] == {"name": "Rina"}
    data = await api(
        "query($id: ID!) { account(id: $id) { children { nodes { name } } parent { name } } }",
        id=parent["id"],
    )
    assert data["account"] == {"children": {"nodes": [{"name": "Toko Maju"}]}, "parent": None}


async def test_one_live_account_per_domain(api):
    first = await _create(api, "Kopi", domain="kopi.co.id")
    body = await api.raw(CREATE, input={"name": "Kopi again", "domain": "WWW.KOPI.CO.ID"})
    assert [(e["field"], e["code"]) for e in body["data"]["createAccount"]["userErrors"]] == [
        (["input", "domain"], "CONFLICT")
    ]
    # once the first is deleted its domain is free; restoring it then conflicts
    await api.mutate(
        f"mutation($input: AccountIdInput!) {{ deleteAccount(input: $input) {{ {ERRORS} }} }}",
        input={"id": first["id"]},
    )
    await _create(api, "Kopi 2", domain="kopi.co.id")
    restore = await api.raw(
        f"mutation($input: AccountIdInput!) {{ restoreAccount(input: $input) {{ account {{ id }} {ERRORS} }} }}",
        input={"id": first["id"]},
    )
    assert restore["data"]["restoreAccount"]["userErrors"][0]["code"] == "CONFLICT"
    assert (await api("{ accounts { totalCount } }"))["accounts"]["totalCount"] == 1


async def test_hierarchy_cycles_are_refused(api):
    a = await _create(api, "A")
    b = await _create(api, "B", parentId=a["id"])
    c = await _create(api, "C", parentId=b["id"])
    for account, parent in ((a, c["id"]), (a, b["id"]), (b, b["id"])):
        body = await api.raw(
            UPDATE, input={"id": account["id"], "version": account["version"], "parentId": parent}
        )
        errors = body["data"]["updateAccount"]["userErrors"]
        assert [(e["field"], e["code"]) for e in errors] == [
            (["input", "parentId"], "BAD_USER_INPUT")
        ], errors
    data = await api("query($id: ID!) { account(id: $id) { parent { name } version } }", id=a["id"])
    assert data["account"] == {"parent": None, "version": 1}
    moved = (
        await api.mutate(
            UPDATE, input={"id": c["id"], "version": c["version"], "parentId": a["id"]}
        )
    )["account"]
    assert moved["parent"] == {"name": "A"}
    cleared = (
        await api.mutate(
            UPDATE, input={"id": c["id"], "version": moved["version"], "parentId": None}
        )
    )["account"]
    assert cleared["parent"] is None


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"name": ""}, ["input", "name"]),
        ({"name": "x" * 201}, ["input", "name"]),
        ({"name": "A", "domain": "not a domain"}, ["input", "domain"]),
        ({"name": "A", "employeeCount": -5}, ["input", "employeeCount"]),
        (
            {"name": "A", "annualRevenue": {"amount": "-1", "currency": "USD"}},
            ["input", "annualRevenue", "amount"],
        ),
        (
            {"name": "A", "annualRevenue": {"amount": "1.001", "currency": "USD"}},
            ["input", "annualRevenue", "amount"],
        ),
        (
            {"name": "A", "annualRevenue": {"amount": "1", "currency": "EURO"}},
            ["input", "annualRevenue", "currency"],
        ),
        ({"name": "A", "country": "Indonesia"}, ["input", "country"]),
        (
            {
                "name": "A",
                "parentId": "QWNjb3VudDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
            },
            ["input", "parentId"],
        ),
        ({"name": "A", "ownerId": "garbage!"}, ["input", "ownerId"]),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(api, fields, field):
    body = await api.raw(CREATE, input=fields)
    payload = body["data"]["createAccount"]
    assert payload["account"] is None
    assert [e["field"] for e in payload["userErrors"]] == [field], payload["userErrors"]
    assert (await api("{ accounts { totalCount } }"))["accounts"]["totalCount"] == 0


async def test_update_versions_and_partial_fields(api):
    account = await _create(api, "PT Sinar", industry="Energy", employeeCount=10)
    updated = (
        await api.mutate(
            UPDATE, input={"id": account["id"], "version": 1, "employeeCount": 12, "industry": None}
        )
    )["account"]
    assert (updated["version"], updated["employeeCount"], updated["industry"], updated["name"]) == (
        2,
        12,
        None,
        "PT Sinar",
    )
    stale = await api.raw(UPDATE, input={"id": account["id"], "version": 1, "name": "Lost"})
    assert stale["data"]["updateAccount"]["userErrors"][0]["code"] == "CONFLICT"
    missing = await api.raw(
        UPDATE,
        input={
            "id": "QWNjb3VudDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
            "version": 1,
            "name": "X",
        },
    )
    assert missing["data"]["updateAccount"]["userErrors"][0]["code"] == "NOT_FOUND"


async def test_deleted_parent_disappears_from_children(api):
    parent = await _create(api, "Parent")
    child = await _create(api, "Child", parentId=parent["id"])
    await api.mutate(
        f"mutation($input: AccountIdInput!) {{ deleteAccount(input: $input) {{ {ERRORS} }} }}",
        input={"id": parent["id"]},
    )
    data = await api(
        "query($id: ID!) { account(id: $id) { parent { name } } accounts { nodes { name } } }",
        id=child["id"],
    )
    assert data == {"account": {"parent": None}, "accounts": {"nodes": [{"name": "Child"}]}}


async def test_account_filters_and_ordering(api):
    await _create(
        api,
        "Alpha",
        industry="Retail",
        employeeCount=900,
        annualRevenue={"amount": "10", "currency": "USD"},
        customAttributes={"tier": "enterprise"},
    )
    await _create(api, "beta", industry="Software", employeeCount=50)
    await _create(api, "Gamma", industry="Retail", employeeCount=120, domain="gamma.id")
    data = await api(
        """{ retail: accounts(filter: {industry: {eq: "Retail"}, employeeCount: {gte: 100}}, orderBy: [{field: EMPLOYEE_COUNT, direction: DESC}]) { nodes { name } }
             byName: accounts(orderBy: [{field: NAME}]) { nodes { name } }
             search: accounts(filter: {search: "gamma.i"}) { nodes { name } }
             tier: accounts(filter: {customAttributes: [{key: "tier", eq: "enterprise"}]}) { nodes { name } }
             noRevenue: accounts(filter: {annualRevenue: {isNull: true}}, orderBy: [{field: NAME, direction: DESC}]) { nodes { name } } }"""
    )
    names = {k: [n["name"] for n in v["nodes"]] for k, v in data.items()}
    assert names == {
        "retail": ["Alpha", "Gamma"],
        "byName": ["Alpha", "beta", "Gamma"],
        "search": ["Gamma"],
        "tier": ["Alpha"],
        "noRevenue": ["Gamma", "beta"],
    }
