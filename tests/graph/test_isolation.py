"""A row of another workspace behaves exactly like a row that does not exist."""

import pytest

ERRORS = "userErrors { field message code }"


async def _graph(api) -> dict[str, str]:
    """One object of every type in `api`'s workspace; returns their ids."""
    member = await api.mutate(
        f'mutation {{ createMember(input: {{name: "Sari", email: "sari@other.co.id"}}) {{ member {{ id }} {ERRORS} }} }}'
    )
    account = await api.mutate(
        f'mutation {{ createAccount(input: {{name: "Secret Corp", domain: "secret.co.id"}}) {{ account {{ id }} {ERRORS} }} }}'
    )
    ids = {"member": member["member"]["id"], "account": account["account"]["id"]}
    contact = await api.mutate(
        'mutation($a: ID!) { createContact(input: {firstName: "Hidden", accountId: $a,'
        f' emails: [{{address: "hidden@secret.co.id"}}]}}) {{ contact {{ id version }} {ERRORS} }} }}',
        a=ids["account"],
    )
    ids["contact"] = contact["contact"]["id"]
    deal = await api.mutate(
        f'mutation($c: ID!) {{ createDeal(input: {{name: "Big", contacts: [{{contactId: $c}}]}})'
        f" {{ deal {{ id stage {{ id }} pipeline {{ id }} }} {ERRORS} }} }}",
        c=ids["contact"],
    )
    ids["deal"] = deal["deal"]["id"]
    ids["stage"] = deal["deal"]["stage"]["id"]
    ids["pipeline"] = deal["deal"]["pipeline"]["id"]
    case = await api.mutate(
        f'mutation($c: ID!) {{ createCase(input: {{subject: "Leak", contactId: $c}}) {{ case {{ id }} {ERRORS} }} }}',
        c=ids["contact"],
    )
    ids["case"] = case["case"]["id"]
    interaction = await api.mutate(
        "mutation($c: ID!) { trackInteraction(input: {contactId: $c, channel: CHAT, kind: MESSAGE,"
        f' source: "chat", externalId: "m-1"}}) {{ interaction {{ id }} {ERRORS} }} }}',
        c=ids["contact"],
    )
    ids["interaction"] = interaction["interaction"]["id"]
    return ids


@pytest.fixture
async def foreign(other_api):
    return await _graph(other_api)


@pytest.mark.parametrize("field", ["account", "contact", "deal", "case", "interaction", "pipeline"])
async def test_lookup_of_foreign_id_is_not_found(api, foreign, field):
    body = await api.raw(f"query($id: ID!) {{ {field}(id: $id) {{ id }} }}", id=foreign[field])
    assert body["data"][field] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_node_and_nodes_hide_foreign_rows(api, foreign):
    ids = list(foreign.values())
    data = await api("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids=ids)
    assert data["nodes"] == [None] * len(ids)
    data = await api("query($id: ID!) { node(id: $id) { id } }", id=foreign["contact"])
    assert data["node"] is None


async def test_lists_and_filters_never_show_foreign_rows(api, foreign):
    data = await api(
        """query($a: ID!) {
             contacts { totalCount } accounts { totalCount } deals { totalCount }
             cases { totalCount } interactions { totalCount } members { totalCount }
             byAccount: contacts(filter: {accountId: {eq: $a}}) { totalCount }
             bySearch: contacts(filter: {search: "hidden"}) { totalCount }
             pipelines { totalCount }
           }""",
        a=foreign["account"],
    )
    assert data.pop("pipelines") == {"totalCount": 1}  # its own default pipeline only
    assert all(v == {"totalCount": 0} for v in data.values()), data


MUTATIONS = [
    (
        "updateContact",
        "UpdateContactInput",
        lambda f: {"id": f["contact"], "version": 1, "firstName": "X"},
    ),
    ("deleteContact", "ContactIdInput", lambda f: {"id": f["contact"]}),
    (
        "updateAccount",
        "UpdateAccountInput",
        lambda f: {"id": f["account"], "version": 1, "name": "X"},
    ),
    ("deleteAccount", "AccountIdInput", lambda f: {"id": f["account"]}),
    ("updateDeal", "UpdateDealInput", lambda f: {"id": f["deal"], "version": 1, "name": "X"}),
    ("moveDealStage", "MoveDealStageInput", lambda f: {"id": f["deal"], "stageId": f["stage"]}),
    ("deleteDeal", "DealIdInput", lambda f: {"id": f["deal"]}),
    (
        "addDealContact",
        "DealContactLinkInput",
        lambda f: {"dealId": f["deal"], "contactId": f["contact"]},
    ),
    ("updateCase", "UpdateCaseInput", lambda f: {"id": f["case"], "version": 1, "subject": "X"}),
    ("deleteCase", "CaseIdInput", lambda f: {"id": f["case"]}),
    (
        "createContact",
        "CreateContactInput",
        lambda f: {"firstName": "A", "accountId": f["account"]},
    ),
    ("createContact", "CreateContactInput", lambda f: {"firstName": "A", "ownerId": f["member"]}),
    ("createDeal", "CreateDealInput", lambda f: {"name": "A", "stageId": f["stage"]}),
    ("createDeal", "CreateDealInput", lambda f: {"name": "A", "pipelineId": f["pipeline"]}),
    ("createCase", "CreateCaseInput", lambda f: {"subject": "A", "contactId": f["contact"]}),
    (
        "trackInteraction",
        "TrackInteractionInput",
        lambda f: {"contactId": f["contact"], "channel": "WEB", "kind": "PAGE_VIEW"},
    ),
]


@pytest.mark.parametrize("mutation, input_type, make_input", MUTATIONS)
async def test_mutations_with_foreign_ids_are_not_found(
    api, other_api, foreign, mutation, input_type, make_input
):
    body = await api.raw(
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {ERRORS} }} }}",
        input=make_input(foreign),
    )
    errors = body["data"][mutation]["userErrors"]
    assert [e["code"] for e in errors] == ["NOT_FOUND"], errors

    # the other workspace's graph is untouched
    data = await other_api(
        """query($c: ID!, $d: ID!) { contact(id: $c) { firstName version }
             deal(id: $d) { name stage { name } contacts { totalCount } } }""",
        c=foreign["contact"],
        d=foreign["deal"],
    )
    assert data["contact"] == {"firstName": "Hidden", "version": 1}
    assert data["deal"]["name"] == "Big"
    assert data["deal"]["stage"]["name"] == "Prospecting"
    assert data["deal"]["contacts"]["totalCount"] == 1
    counts = await api("{ contacts { totalCount } deals { totalCount } cases { totalCount } }")
    assert counts == {k: {"totalCount": 0} for k in ("contacts", "deals", "cases")}
