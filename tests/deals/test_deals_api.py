"""Deals through the API: pipelines and stages, exact money, stage moves and their history,
contacts with roles, optimistic concurrency, soft delete, filters."""

import pytest

ERRORS = "userErrors { field message code }"
DEAL = "id name version status closedAt lostReason amount { amount currency } stage { id name } pipeline { id name }"


async def _stages(api, pipeline: str = "Sales") -> dict[str, str]:
    data = await api("{ pipelines { nodes { name stages { id name } } } }")
    (found,) = [p for p in data["pipelines"]["nodes"] if p["name"] == pipeline]
    return {s["name"]: s["id"] for s in found["stages"]}


async def _create(api, **fields):
    return await api.raw(
        f"mutation($input: CreateDealInput!) {{ createDeal(input: $input) {{ deal {{ {DEAL} }} {ERRORS} }} }}",
        input={"name": "Deal", **fields},
    )


async def test_default_pipeline_and_stages(api):
    data = await api(
        "{ pipelines { totalCount nodes { name isDefault stages { name position probability status } } } }"
    )
    (pipeline,) = data["pipelines"]["nodes"]
    assert pipeline["name"] == "Sales" and pipeline["isDefault"]
    assert [(s["name"], s["position"], s["status"]) for s in pipeline["stages"]] == [
        ("Prospecting", 0, "OPEN"),
        ("Qualification", 1, "OPEN"),
        ("Proposal", 2, "OPEN"),
        ("Negotiation", 3, "OPEN"),
        ("Closed Won", 4, "WON"),
        ("Closed Lost", 5, "LOST"),
    ]
    probabilities = [float(s["probability"]) for s in pipeline["stages"]]
    assert probabilities[:5] == sorted(probabilities[:5]) and probabilities[5] == 0


async def test_create_deal_defaults_and_exact_money(api):
    body = await _create(api, amount={"amount": "12345.67", "currency": "usd"})
    deal = body["data"]["createDeal"]["deal"]
    assert deal["stage"]["name"] == "Prospecting" and deal["pipeline"]["name"] == "Sales"
    assert deal["status"] == "OPEN" and deal["closedAt"] is None
    assert deal["amount"] == {"amount": "12345.67", "currency": "USD"}
    big = await _create(api, amount={"amount": "99999999999999.99", "currency": "IDR"})
    assert big["data"]["createDeal"]["deal"]["amount"]["amount"] == "99999999999999.99"


@pytest.mark.parametrize(
    "amount, field, code",
    [
        ({"amount": "-1", "currency": "USD"}, ["input", "amount", "amount"], "BAD_USER_INPUT"),
        ({"amount": "10.5", "currency": "JPY"}, ["input", "amount", "amount"], "BAD_USER_INPUT"),
        ({"amount": "10", "currency": "ABC"}, ["input", "amount", "currency"], "BAD_USER_INPUT"),
        ({"amount": "10", "currency": "XTS"}, ["input", "amount", "currency"], "BAD_USER_INPUT"),
        ({"amount": "10", "currency": "XAU"}, ["input", "amount", "currency"], "BAD_USER_INPUT"),
        ({"amount": "1e20", "currency": "USD"}, ["input", "amount", "amount"], "BAD_USER_INPUT"),
    ],
)
async def test_bad_amounts_are_refused_and_nothing_is_written(api, amount, field, code):
    body = await _create(api, amount=amount)
    payload = body["data"]["createDeal"]
    assert payload["deal"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    assert (await api("{ deals { totalCount } }"))["deals"]["totalCount"] == 0


async def test_amount_must_be_a_decimal(api):
    body = await _create(api, amount={"amount": "lots", "currency": "USD"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_move_stage_records_history_status_and_close_time(api):
    stages = await _stages(api)
    deal = (await _create(api))["data"]["createDeal"]["deal"]
    move = f"mutation($input: MoveDealStageInput!) {{ moveDealStage(input: $input) {{ deal {{ {DEAL} }} {ERRORS} }} }}"
    for name in ("Qualification", "Proposal", "Closed Lost"):
        extra = {"lostReason": "Chose a competitor"} if name == "Closed Lost" else {}
        payload = await api.mutate(move, input={"id": deal["id"], "stageId": stages[name], **extra})
    lost = payload["deal"]
    assert (
        lost["status"] == "LOST" and lost["closedAt"] and lost["lostReason"] == "Chose a competitor"
    )
    reopened = (await api.mutate(move, input={"id": deal["id"], "stageId": stages["Negotiation"]}))[
        "deal"
    ]
    assert reopened["status"] == "OPEN" and reopened["closedAt"] is None
    won = (await api.mutate(move, input={"id": deal["id"], "stageId": stages["Closed Won"]}))[
        "deal"
    ]
    assert won["status"] == "WON" and won["closedAt"]

    data = await api(
        """query($id: ID!) { deal(id: $id) { stageHistory { fromStage { name } toStage { name }
             changedAt changedBy { apiKeyName member { name } } } } }""",
        id=deal["id"],
    )
    history = data["deal"]["stageHistory"]
    assert [(h["fromStage"] and h["fromStage"]["name"], h["toStage"]["name"]) for h in history] == [
        (None, "Prospecting"),
        ("Prospecting", "Qualification"),
        ("Qualification", "Proposal"),
        ("Proposal", "Closed Lost"),
        ("Closed Lost", "Negotiation"),
        ("Negotiation", "Closed Won"),
    ]
    assert all(h["changedBy"] == {"apiKeyName": "admin", "member": None} for h in history)
    assert [h["changedAt"] for h in history] == sorted(h["changedAt"] for h in history)


async def test_moving_to_the_current_stage_adds_no_history(api):
    stages = await _stages(api)
    deal = (await _create(api))["data"]["createDeal"]["deal"]
    await api.mutate(
        f"mutation($input: MoveDealStageInput!) {{ moveDealStage(input: $input) {{ {ERRORS} }} }}",
        input={"id": deal["id"], "stageId": stages["Prospecting"]},
    )
    data = await api(
        "query($id: ID!) { deal(id: $id) { stageHistory { toStage { name } } } }", id=deal["id"]
    )
    assert len(data["deal"]["stageHistory"]) == 1


async def _second_pipeline(api) -> dict:
    payload = await api.mutate(
        f"""mutation {{ createPipeline(input: {{name: "Renewals", stages: [
              {{name: "Due", probability: "0.5", status: OPEN}},
              {{name: "Renewed", probability: "1", status: WON}},
              {{name: "Churned", probability: "0", status: LOST}}]}}) {{
              pipeline {{ id name isDefault stages {{ id name position }} }} {ERRORS} }} }}"""
    )
    return payload["pipeline"]


async def test_create_pipeline_and_move_a_deal_into_it(api):
    renewals = await _second_pipeline(api)
    assert not renewals["isDefault"] and [s["name"] for s in renewals["stages"]] == [
        "Due",
        "Renewed",
        "Churned",
    ]
    deal = (await _create(api))["data"]["createDeal"]["deal"]
    moved = await api.mutate(
        f"mutation($input: MoveDealStageInput!) {{ moveDealStage(input: $input) {{ deal {{ {DEAL} }} {ERRORS} }} }}",
        input={"id": deal["id"], "stageId": renewals["stages"][1]["id"]},
    )
    assert moved["deal"]["pipeline"]["name"] == "Renewals" and moved["deal"]["status"] == "WON"
    direct = await _create(api, pipelineId=renewals["id"])
    assert direct["data"]["createDeal"]["deal"]["stage"]["name"] == "Due"


async def test_stage_of_another_pipeline_is_refused(api):
    renewals = await _second_pipeline(api)
    sales_stage = (await _stages(api))["Proposal"]
    body = await _create(api, pipelineId=renewals["id"], stageId=sales_stage)
    payload = body["data"]["createDeal"]
    assert payload["deal"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "stageId"], "BAD_USER_INPUT")
    ]
    assert (await api("{ deals { totalCount } }"))["deals"]["totalCount"] == 0


@pytest.mark.parametrize(
    "stages, field",
    [
        ([{"name": "A", "probability": "0.5", "status": "OPEN"}], ["input", "stages"]),
        (
            [
                {"name": "A", "probability": "0.5", "status": "OPEN"},
                {"name": "B", "probability": "1", "status": "WON"},
                {"name": "C", "probability": "1", "status": "WON"},
            ],
            ["input", "stages"],
        ),
        (
            [
                {"name": "A", "probability": "1.5", "status": "OPEN"},
                {"name": "B", "probability": "1", "status": "WON"},
                {"name": "C", "probability": "0", "status": "LOST"},
            ],
            ["input", "stages", "0", "probability"],
        ),
        (
            [
                {"name": "A", "probability": "0.5", "status": "OPEN"},
                {"name": "a", "probability": "1", "status": "WON"},
                {"name": "C", "probability": "0", "status": "LOST"},
            ],
            ["input", "stages", "1", "name"],
        ),
    ],
)
async def test_bad_pipelines_are_refused(api, stages, field):
    body = await api.raw(
        f"mutation($input: CreatePipelineInput!) {{ createPipeline(input: $input) {{ pipeline {{ id }} {ERRORS} }} }}",
        input={"name": "Broken", "stages": stages},
    )
    errors = body["data"]["createPipeline"]["userErrors"]
    assert field in [e["field"] for e in errors], errors
    assert (await api("{ pipelines { totalCount } }"))["pipelines"]["totalCount"] == 1


async def test_deal_contacts_with_roles(api):
    ids = []
    for name in ("Ana", "Bo"):
        payload = await api.mutate(
            f'mutation {{ createContact(input: {{firstName: "{name}"}}) {{ contact {{ id }} {ERRORS} }} }}'
        )
        ids.append(payload["contact"]["id"])
    deal = (await _create(api, contacts=[{"contactId": ids[0], "role": "DECISION_MAKER"}]))["data"][
        "createDeal"
    ]["deal"]
    add = f"mutation($input: DealContactLinkInput!) {{ addDealContact(input: $input) {{ {ERRORS} }} }}"
    await api.mutate(add, input={"dealId": deal["id"], "contactId": ids[1], "role": "CHAMPION"})
    await api.mutate(
        add, input={"dealId": deal["id"], "contactId": ids[0], "role": "INFLUENCER"}
    )  # role change
    query = """query($d: ID!, $c: ID!) { deal(id: $d) { contacts(orderBy: [{field: FIRST_NAME}]) {
                 totalCount edges { role node { firstName } } } }
               contact(id: $c) { deals { edges { role node { id } } } } }"""
    data = await api(query, d=deal["id"], c=ids[1])
    assert [(e["node"]["firstName"], e["role"]) for e in data["deal"]["contacts"]["edges"]] == [
        ("Ana", "INFLUENCER"),
        ("Bo", "CHAMPION"),
    ]
    assert data["contact"]["deals"]["edges"] == [{"role": "CHAMPION", "node": {"id": deal["id"]}}]

    remove = f"mutation($input: RemoveDealContactInput!) {{ removeDealContact(input: $input) {{ {ERRORS} }} }}"
    await api.mutate(remove, input={"dealId": deal["id"], "contactId": ids[1]})
    again = await api.raw(remove, input={"dealId": deal["id"], "contactId": ids[1]})
    assert [e["code"] for e in again["data"]["removeDealContact"]["userErrors"]] == ["NOT_FOUND"]
    data = await api(query, d=deal["id"], c=ids[1])
    assert data["deal"]["contacts"]["totalCount"] == 1 and data["contact"]["deals"]["edges"] == []

    twice = await _create(api, contacts=[{"contactId": ids[0]}, {"contactId": ids[0]}])
    assert twice["data"]["createDeal"]["userErrors"][0]["field"] == ["input", "contacts"]


async def test_update_with_stale_version_conflicts(api):
    deal = (await _create(api, name="Original"))["data"]["createDeal"]["deal"]
    update = f"mutation($input: UpdateDealInput!) {{ updateDeal(input: $input) {{ deal {{ {DEAL} }} {ERRORS} }} }}"
    first = await api.mutate(
        update, input={"id": deal["id"], "version": deal["version"], "name": "First"}
    )
    assert first["deal"]["version"] == deal["version"] + 1
    stale = await api.raw(
        update, input={"id": deal["id"], "version": deal["version"], "name": "Second"}
    )
    errors = stale["data"]["updateDeal"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "version"], "CONFLICT")]
    data = await api("query($id: ID!) { deal(id: $id) { name } }", id=deal["id"])
    assert data["deal"]["name"] == "First"
    cleared = await api.mutate(
        update, input={"id": deal["id"], "version": first["deal"]["version"], "amount": None}
    )
    assert cleared["deal"]["amount"] is None and cleared["deal"]["name"] == "First"


async def test_delete_and_restore(api):
    deal = (await _create(api))["data"]["createDeal"]["deal"]
    ids = {"input": {"id": deal["id"]}}
    await api.mutate(
        f"mutation($input: DealIdInput!) {{ deleteDeal(input: $input) {{ deletedId {ERRORS} }} }}",
        **ids,
    )
    body = await api.raw("query($id: ID!) { deal(id: $id) { id } }", id=deal["id"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await api("{ deals { totalCount } pipelines { nodes { deals { totalCount } } } }")) == {
        "deals": {"totalCount": 0},
        "pipelines": {"nodes": [{"deals": {"totalCount": 0}}]},
    }
    again = await api.raw(
        f"mutation($input: DealIdInput!) {{ deleteDeal(input: $input) {{ {ERRORS} }} }}", **ids
    )
    assert again["data"]["deleteDeal"]["userErrors"][0]["code"] == "NOT_FOUND"
    restored = await api.mutate(
        f"mutation($input: DealIdInput!) {{ restoreDeal(input: $input) {{ deal {{ id }} {ERRORS} }} }}",
        **ids,
    )
    assert restored["deal"]["id"] == deal["id"]
    assert (await api("{ deals { totalCount } }"))["deals"]["totalCount"] == 1


async def test_deal_filters_and_ordering(api):
    stages = await _stages(api)
    account = await api.mutate(
        f'mutation {{ createAccount(input: {{name: "Toko", industry: "Retail"}}) {{ account {{ id }} {ERRORS} }} }}'
    )
    specs = [
        ("A", "100", "Proposal"),
        ("B", "60000", "Proposal"),
        ("C", None, "Qualification"),
        ("D", "75000", "Closed Won"),
    ]
    for name, amount, stage in specs:
        fields = {"name": name, "stageId": stages[stage], "accountId": account["account"]["id"]}
        if amount:
            fields["amount"] = {"amount": amount, "currency": "USD"}
        assert (await _create(api, **fields))["data"]["createDeal"]["userErrors"] == []

    async def names(filter=None, order=None):
        data = await api(
            "query($f: DealFilter, $o: [DealOrder!]) { deals(filter: $f, orderBy: $o) { nodes { name } } }",
            f=filter,
            o=order or [{"field": "NAME"}],
        )
        return [d["name"] for d in data["deals"]["nodes"]]

    assert await names({"status": {"eq": "OPEN"}, "amount": {"gt": "50000"}}) == ["B"]
    assert await names({"stage": {"name": {"eq": "Proposal"}}}) == ["A", "B"]
    assert await names({"amount": {"isNull": True}}) == ["C"]
    assert await names({"account": {"industry": {"eq": "Retail"}}, "status": {"ne": "WON"}}) == [
        "A",
        "B",
        "C",
    ]
    assert await names(order=[{"field": "AMOUNT", "direction": "DESC"}]) == ["D", "B", "A", "C"]
    assert await names(order=[{"field": "AMOUNT", "direction": "DESC", "nulls": "FIRST"}]) == [
        "C",
        "D",
        "B",
        "A",
    ]
