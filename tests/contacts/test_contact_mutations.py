"""Contacts through the API: normalised identities, no duplicate profiles, optimistic
concurrency, soft delete, and refused input that writes nothing."""

import pytest

ERRORS = "userErrors { field message code }"
CONTACT = """id version firstName lastName fullName email emails { address primary } phone
             phones { number primary } country city title lifecycleStage leadRating journeyStage
             customAttributes account { name } owner { name }"""
CREATE = f"mutation($input: CreateContactInput!) {{ createContact(input: $input) {{ contact {{ {CONTACT} }} {ERRORS} }} }}"
UPDATE = f"mutation($input: UpdateContactInput!) {{ updateContact(input: $input) {{ contact {{ {CONTACT} }} {ERRORS} }} }}"


async def test_create_normalises_emails_and_phones(api):
    payload = await api.mutate(
        CREATE,
        input={
            "firstName": " Budi ",
            "lastName": "Santoso",
            "country": "id",
            "city": "Jakarta",
            "emails": [
                {"address": "Budi@Example.COM"},
                {"address": "budi.s@work.co.id", "primary": True},
            ],
            "phones": [{"number": "0812-3456-7890"}, {"number": "+65 8123 4567"}],
            "customAttributes": {"plan": "pro", "seats": 12},
        },
    )
    contact = payload["contact"]
    assert contact["fullName"] == "Budi Santoso" and contact["country"] == "ID"
    assert contact["email"] == "budi.s@work.co.id"
    assert contact["emails"] == [
        {"address": "budi.s@work.co.id", "primary": True},
        {"address": "budi@example.com", "primary": False},
    ]
    assert contact["phone"] == "+6281234567890"
    assert [p["number"] for p in contact["phones"]] == ["+6281234567890", "+6581234567"]
    assert (contact["lifecycleStage"], contact["journeyStage"], contact["leadRating"]) == (
        "LEAD",
        "AWARENESS",
        None,
    )
    assert contact["customAttributes"] == {"plan": "pro", "seats": 12}
    assert contact["version"] == 1


async def test_one_profile_per_email_and_phone(api):
    await api.mutate(
        CREATE,
        input={
            "firstName": "A",
            "emails": [{"address": "a@example.com"}],
            "phones": [{"number": "+6281234567890"}],
        },
    )
    body = await api.raw(
        CREATE,
        input={
            "firstName": "B",
            "emails": [{"address": "x@example.com"}, {"address": "A@example.com"}],
        },
    )
    errors = body["data"]["createContact"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "emails", "1"], "CONFLICT")]
    body = await api.raw(
        CREATE, input={"firstName": "C", "phones": [{"number": "+62 812-3456-7890"}]}
    )
    assert body["data"]["createContact"]["userErrors"][0]["code"] == "CONFLICT"
    # nothing half-written: neither B nor its first email exists
    data = await api(
        '{ contacts { totalCount } x: contacts(filter: {email: {eq: "x@example.com"}}) { totalCount } }'
    )
    assert data == {"contacts": {"totalCount": 1}, "x": {"totalCount": 0}}


@pytest.mark.parametrize(
    "fields, field",
    [
        (
            {"firstName": "A", "emails": [{"address": "not-an-email"}]},
            ["input", "emails", "0", "address"],
        ),
        ({"firstName": "A", "phones": [{"number": "12345"}]}, ["input", "phones", "0", "number"]),
        ({"firstName": "A", "country": "XY"}, ["input", "country"]),
        ({"firstName": "x" * 201}, ["input", "firstName"]),
        (
            {
                "firstName": "A",
                "emails": [
                    {"address": "a@example.com", "primary": True},
                    {"address": "b@example.com", "primary": True},
                ],
            },
            ["input", "emails"],
        ),
        (
            {
                "firstName": "A",
                "emails": [{"address": "a@example.com"}, {"address": "A@example.com"}],
            },
            ["input", "emails", "1", "address"],
        ),
        ({"firstName": "A", "customAttributes": [1, 2]}, ["input", "customAttributes"]),
        ({"firstName": "A", "accountId": "bm9wZQ"}, ["input", "accountId"]),
        ({"title": "CEO"}, ["input"]),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_written(api, fields, field):
    body = await api.raw(CREATE, input=fields)
    payload = body["data"]["createContact"]
    assert payload["contact"] is None
    assert field in [e["field"] for e in payload["userErrors"]], payload["userErrors"]
    assert (await api("{ contacts { totalCount } }"))["contacts"]["totalCount"] == 0


async def test_unknown_enum_is_a_request_error(api):
    body = await api.raw(CREATE, input={"firstName": "A", "lifecycleStage": "ROCKSTAR"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "data" not in body or body["data"] is None


async def test_update_is_partial_and_versioned(api):
    contact = (
        await api.mutate(
            CREATE,
            input={"firstName": "Sari", "lastName": "Wijaya", "title": "CTO", "country": "ID"},
        )
    )["contact"]
    updated = (
        await api.mutate(
            UPDATE,
            input={
                "id": contact["id"],
                "version": 1,
                "title": None,
                "leadRating": "HOT",
                "phones": [{"number": "0812 1111 2222"}],
            },
        )
    )["contact"]
    assert updated["version"] == 2 and updated["title"] is None and updated["leadRating"] == "HOT"
    assert updated["lastName"] == "Wijaya"  # left out: unchanged
    assert updated["phone"] == "+6281211112222"  # read in the contact's stored country
    stale = await api.raw(
        UPDATE, input={"id": contact["id"], "version": 1, "firstName": "Lost update"}
    )
    assert [(e["field"], e["code"]) for e in stale["data"]["updateContact"]["userErrors"]] == [
        (["input", "version"], "CONFLICT")
    ]
    current = await api(
        "query($id: ID!) { contact(id: $id) { firstName version } }", id=contact["id"]
    )
    assert current["contact"] == {"firstName": "Sari", "version": 2}
    null_stage = await api.raw(
        UPDATE, input={"id": contact["id"], "version": 2, "lifecycleStage": None}
    )
    assert null_stage["data"]["updateContact"]["userErrors"][0]["field"] == [
        "input",
        "lifecycleStage",
    ]


async def test_update_cannot_remove_the_last_identity(api):
    contact = (await api.mutate(CREATE, input={"emails": [{"address": "only@example.com"}]}))[
        "contact"
    ]
    body = await api.raw(UPDATE, input={"id": contact["id"], "version": 1, "emails": []})
    assert body["data"]["updateContact"]["userErrors"][0]["field"] == ["input"]
    data = await api("query($id: ID!) { contact(id: $id) { email version } }", id=contact["id"])
    assert data["contact"] == {"email": "only@example.com", "version": 1}


async def test_soft_delete_and_restore(api):
    account = await api.mutate(
        f'mutation {{ createAccount(input: {{name: "Co"}}) {{ account {{ id }} {ERRORS} }} }}'
    )
    contact = (
        await api.mutate(
            CREATE,
            input={
                "firstName": "Gone",
                "accountId": account["account"]["id"],
                "emails": [{"address": "gone@example.com"}],
            },
        )
    )["contact"]
    ids = {"input": {"id": contact["id"]}}
    deleted = await api.mutate(
        f"mutation($input: ContactIdInput!) {{ deleteContact(input: $input) {{ deletedId {ERRORS} }} }}",
        **ids,
    )
    assert deleted["deletedId"] == contact["id"]
    lookup = await api.raw(
        "query($id: ID!) { contact(id: $id) { id } node(id: $id) { id } }", id=contact["id"]
    )
    assert lookup["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    data = await api(
        "query($a: ID!) { contacts { totalCount } account(id: $a) { contacts { totalCount } } }",
        a=account["account"]["id"],
    )
    assert data == {"contacts": {"totalCount": 0}, "account": {"contacts": {"totalCount": 0}}}
    # the email still belongs to the deleted profile: restore it rather than duplicating
    dup = await api.raw(
        CREATE, input={"firstName": "New", "emails": [{"address": "gone@example.com"}]}
    )
    assert dup["data"]["createContact"]["userErrors"][0]["code"] == "CONFLICT"
    restored = await api.mutate(
        f"mutation($input: ContactIdInput!) {{ restoreContact(input: $input) {{ contact {{ email version }} {ERRORS} }} }}",
        **ids,
    )
    assert restored["contact"]["email"] == "gone@example.com"
    assert (await api("{ contacts { totalCount } }"))["contacts"]["totalCount"] == 1
    again = await api.raw(
        f"mutation($input: ContactIdInput!) {{ restoreContact(input: $input) {{ {ERRORS} }} }}",
        **ids,
    )
    assert again["data"]["restoreContact"]["userErrors"][0]["code"] == "NOT_FOUND"
