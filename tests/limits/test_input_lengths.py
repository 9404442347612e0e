"""Every string input has a maximum length, checked before anything runs: filter and search
values are short (they become patterns and arrays), stored text has its own caps."""

import pytest

LONG = "x" * 257
LIMIT = "x" * 256

CONTACTS = "query($f: ContactFilter) { contacts(filter: $f, first: 5) { totalCount } }"


def _refused(body: dict, field: str) -> None:
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}, error
    assert "at most 256 characters" in error["message"]


@pytest.mark.parametrize(
    ("flt", "field"),
    [
        ({"search": LONG}, "filter.search"),
        ({"firstName": {"contains": LONG}}, "filter.firstName.contains"),
        ({"lastName": {"startsWith": LONG}}, "filter.lastName.startsWith"),
        ({"city": {"eq": LONG}}, "filter.city.eq"),
        ({"lastName": {"in": ["Sari", LONG]}}, "filter.lastName.in.1"),
        ({"account": {"name": {"contains": LONG}}}, "filter.account.name.contains"),
        ({"deals": {"some": {"name": {"notIn": [LONG]}}}}, "filter.deals.some.name.notIn.0"),
        ({"or": [{"search": "a"}, {"search": LONG}]}, "filter.or.1.search"),
        ({"customAttributes": [{"key": "plan", "eq": LONG}]}, "filter.customAttributes.0.eq"),
        ({"customAttributes": [{"key": LONG, "exists": True}]}, "filter.customAttributes.0.key"),
    ],
)
async def test_long_filter_values_are_refused_before_any_statement(api, database, flt, field):
    with database.capture_statements() as statements:
        body = await api.raw(CONTACTS, f=flt)
    _refused(body, field)
    assert not [s for s in statements if "contacts" in s]  # only the key was looked up


async def test_filter_values_up_to_the_limit_pass(api):
    flt = {"search": LIMIT, "account": {"name": {"startsWith": LIMIT}}}
    assert (await api(CONTACTS, f=flt))["contacts"]["totalCount"] == 0


async def test_long_filter_values_in_relation_lists_are_refused(api):
    await api.mutate('mutation { createAccount(input: {name: "Toko"}) { userErrors { field } } }')
    body = await api.raw(
        "query($v: String!) { accounts(first: 1) { nodes { name"
        " contacts(first: 5, filter: {firstName: {contains: $v}}) { totalCount } } } }",
        v=LONG,
    )
    _refused(body, "filter.firstName.contains")
    assert body["errors"][0]["path"] == ["accounts", "nodes", 0, "contacts"]


async def test_long_in_lists_are_refused(api):
    body = await api.raw(CONTACTS, f={"lastName": {"in": [str(i) for i in range(1001)]}})
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "filter.lastName.in"}


async def test_segment_rules_cap_their_strings_at_the_input_path(api):
    payload = (
        await api(
            'mutation($v: String!, $j: JSON) { createSegment(input: {name: "Long",'
            ' rule: {firstName: {contains: $v}, customAttributes: [{key: "plan", eq: $j}]}})'
            " { segment { id } userErrors { field message code } } }",
            v=LONG,
            j=LONG,
        )
    )["createSegment"]
    assert payload["segment"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
        (["input", "rule", "customAttributes", "0", "eq"], "BAD_USER_INPUT"),
        (["input", "rule", "firstName", "contains"], "BAD_USER_INPUT"),
    ]


@pytest.mark.parametrize(
    ("fields", "path", "limit"),
    [
        ({"firstName": "x" * 201}, ["input", "firstName"], 200),
        (
            {"firstName": "A", "emails": [{"address": "a" * 250 + "@example.com"}]},
            ["input", "emails", "0", "address"],
            254,
        ),
        (
            {"firstName": "A", "phones": [{"number": "1" * 65}]},
            ["input", "phones", "0", "number"],
            64,
        ),
    ],
)
async def test_stored_text_has_its_caps(api, fields, path, limit):
    payload = (
        await api(
            "mutation($input: CreateContactInput!) { createContact(input: $input)"
            " { contact { id } userErrors { field message code } } }",
            input=fields,
        )
    )["createContact"]
    (error,) = payload["userErrors"]
    assert (error["field"], error["code"]) == (path, "BAD_USER_INPUT")
    assert f"at most {limit} characters" in error["message"]
