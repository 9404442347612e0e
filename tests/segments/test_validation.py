"""A bad rule is refused with userErrors pointing at the node, and nothing is written."""

import pytest

from tests.segments import helpers as h

CASES = [
    # (the rule as JSON, the path after ["input", "ruleJson"], code)
    ({"cty": {"eq": "Jakarta"}}, ["cty"], "BAD_USER_INPUT"),
    ({"city": {"gt": "A"}}, ["city", "gt"], "BAD_USER_INPUT"),  # no order on text
    ({"city": {"eq": 5}}, ["city", "eq"], "BAD_USER_INPUT"),
    ({"leadRating": {"eq": "LUKEWARM"}}, ["leadRating", "eq"], "BAD_USER_INPUT"),
    ({"createdAt": {"gt": "2026-01-01T00:00:00"}}, ["createdAt", "gt"], "BAD_USER_INPUT"),
    (
        {"and": [{"city": {"eq": "Jakarta"}}, {"deals": {"some": {"amount": {"gt": "lots"}}}}]},
        ["and", "1", "deals", "some", "amount", "gt"],
        "BAD_USER_INPUT",
    ),
    ({"deals": {"any": {}}}, ["deals", "any"], "BAD_USER_INPUT"),
    (
        {"account": {"employeeCount": {"in": [1, "two"]}}},
        ["account", "employeeCount", "in", "1"],
        "BAD_USER_INPUT",
    ),
    (
        {"account": {"employeeCount": {"gt": 2**40}}},
        ["account", "employeeCount", "gt"],
        "BAD_USER_INPUT",
    ),
    ({"accountId": {"eq": "bm90IGFuIGlk"}}, ["accountId", "eq"], "BAD_USER_INPUT"),
    ({"touchpoints": {"withinDays": 0}}, ["touchpoints", "withinDays"], "BAD_USER_INPUT"),
    ({"touchpoints": {"atLeast": "3"}}, ["touchpoints", "atLeast"], "BAD_USER_INPUT"),
    (
        {"touchpoints": {"matching": {"chanel": {"eq": "WEB"}}}},
        ["touchpoints", "matching", "chanel"],
        "BAD_USER_INPUT",
    ),
    ({"lastTouchpoint": {}}, ["lastTouchpoint", "olderThanDays"], "BAD_USER_INPUT"),
    ({"averageSentiment": {"withinDays": 3}}, ["averageSentiment"], "BAD_USER_INPUT"),
    ({"averageSentiment": {"lt": 2}}, ["averageSentiment", "lt"], "BAD_USER_INPUT"),
    (
        {"customAttributes": [{"key": "plan", "like": "p%"}]},
        ["customAttributes", "0", "like"],
        "BAD_USER_INPUT",
    ),
    ({"or": {"city": {"eq": "x"}}}, ["or"], "BAD_USER_INPUT"),
    (["city"], [], "BAD_USER_INPUT"),
]


@pytest.mark.parametrize("rule, path, code", CASES)
async def test_bad_rule_json_is_reported_at_its_node(api, rule, path, code):
    errors = await h.create_segment_errors(api, ruleJson=rule)
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "ruleJson", *path], code)]
    preview = await api(
        "query($r: JSON) { previewSegment(ruleJson: $r) { count userErrors { field code } } }",
        r=rule,
    )
    assert preview["previewSegment"]["userErrors"] == [{"field": ["ruleJson", *path], "code": code}]
    assert (await api("{ segments { totalCount } }"))["segments"]["totalCount"] == 0


async def test_typed_rule_errors_point_into_rule(api):
    # a decimal that is not a number: refused by the Decimal scalar in a typed rule, by the
    # rule check in ruleJson
    rule = {"and": [{}, {"deals": {"some": {"amount": {"gt": "NaN"}}}}]}
    body = await api.raw(
        "mutation($input: CreateSegmentInput!) { createSegment(input: $input) { segment { id } } }",
        input={"name": "Bad", "rule": rule},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT" and "data" not in body
    assert (
        "$input' has invalid value at .rule.and[1].deals.some.amount.gt"
        in body["errors"][0]["message"]
    )
    errors = await h.create_segment_errors(api, ruleJson=rule)
    assert errors == [
        {
            "field": ["input", "ruleJson", "and", "1", "deals", "some", "amount", "gt"],
            "message": "Expected a finite decimal number.",
            "code": "BAD_USER_INPUT",
        }
    ]
    contact = await h.contact(api, "Ayu")
    errors = await h.create_segment_errors(api, rule={"accountId": {"eq": contact}})
    assert [e["field"] for e in errors] == [["input", "rule", "accountId", "eq"]]
    errors = await h.create_segment_errors(api, rule={"city": {"eq": "x"}}, ruleJson={})
    assert [e["field"] for e in errors] == [["input", "ruleJson"]]


async def test_rules_nest_at_most_eight_levels(api):
    rule: dict = {"city": {"eq": "Jakarta"}}
    for _ in range(8):
        rule = {"not": rule}
    await h.create_segment(api, "Eight deep", rule)
    errors = await h.create_segment_errors(api, rule={"not": rule})
    assert [e["field"] for e in errors] == [["input", "rule", *["not"] * 9]]
    assert "at most 8 levels" in errors[0]["message"]


async def test_segment_references_are_checked(api, other_api):
    base = await h.create_segment(api, "Base", {"city": {"eq": "Jakarta"}})
    foreign = await h.create_segment(other_api, "Theirs", {})
    contact = await h.contact(api, "Ayu")
    errors = await h.create_segment_errors(
        api, rule={"or": [{"inSegment": [base["id"], foreign["id"]]}, {"inSegment": contact}]}
    )
    assert [(e["field"], e["code"]) for e in errors] == [
        (["input", "rule", "or", "0", "inSegment", "1"], "NOT_FOUND"),
        (["input", "rule", "or", "1", "inSegment", "0"], "NOT_FOUND"),
    ]

    # a cycle: base -> middle -> base
    middle = await h.create_segment(api, "Middle", {"inSegment": [base["id"]]})
    data = await api(
        "mutation($input: UpdateSegmentInput!) { updateSegment(input: $input) "
        f"{{ segment {{ id }} {h.ERRORS} }} }}",
        input={
            "id": base["id"],
            "version": base["version"],
            "rule": {"not": {"inSegment": [middle["id"]]}},
        },
    )
    errors = data["updateSegment"]["userErrors"]
    assert [(e["field"], e["code"]) for e in errors] == [
        (["input", "rule", "not", "inSegment", "0"], "BAD_USER_INPUT")
    ]
    assert "read itself" in errors[0]["message"]
    data = await api(
        "mutation($input: UpdateSegmentInput!) { updateSegment(input: $input) "
        f"{{ segment {{ id }} {h.ERRORS} }} }}",
        input={"id": base["id"], "version": base["version"], "rule": {"inSegment": base["id"]}},
    )
    assert data["updateSegment"]["userErrors"][0]["field"] == ["input", "rule", "inSegment", "0"]

    # chains of segments reading segments stay short
    previous = middle
    for i in range(3):
        previous = await h.create_segment(api, f"Level {i}", {"inSegment": [previous["id"]]})
    errors = await h.create_segment_errors(api, rule={"inSegment": [previous["id"]]})
    assert "levels deep" in errors[0]["message"]

    # a segment another one reads cannot be deleted
    data = await api(
        f"mutation($id: ID!) {{ deleteSegment(input: {{id: $id}}) {{ deletedId {h.ERRORS} }} }}",
        id=base["id"],
    )
    assert [e["code"] for e in data["deleteSegment"]["userErrors"]] == ["CONFLICT"]


async def test_kinds_names_and_overrides_are_checked(api, other_api):
    errors = await h.create_segment_errors(api, kind="DYNAMIC")
    assert [e["field"] for e in errors] == [["input", "rule"]]
    errors = await h.create_segment_errors(api, kind="STATIC", rule={})
    assert [e["field"] for e in errors] == [["input", "rule"]]
    errors = await h.create_segment_errors(api, name="  ", rule={})
    assert [e["field"] for e in errors] == [["input", "name"]]
    await h.create_segment(api, "Taken", {})
    errors = await h.create_segment_errors(api, name="taken", rule={})
    assert [(e["field"], e["code"]) for e in errors] == [(["input", "name"], "CONFLICT")]
    mine = await h.contact(api, "Ayu")
    theirs = await h.contact(other_api, "Budi")
    errors = await h.create_segment_errors(api, include=[mine, theirs, "x"], rule={})
    assert [(e["field"], e["code"]) for e in errors] == [
        (["input", "include", "2"], "BAD_USER_INPUT"),
        (["input", "include", "1"], "NOT_FOUND"),
    ]
    errors = await h.create_segment_errors(api, include=[mine], exclude=[mine], rule={})
    assert [e["field"] for e in errors] == [["input", "exclude", "0"]]
    assert (await api("{ segments { totalCount } }"))["segments"]["totalCount"] == 1
