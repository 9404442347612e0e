"""Segments compiled: `segment(s)`, `node` of a segment or a membership change, a segment's
size, size history, rule (masked without pii:read, at any depth of the rule), members,
overrides and change log, and `Contact.segments` — the resolvers' answers, errors and
permissions, for an admin, a key without pii:read and a partner key without segments:read."""

import pytest

from tests.compiler.test_differential import CALLERS, _compare

SEGMENT = """
  __typename id name description kind rule refreshedAt createdAt updatedAt version size
  sizeHistory(days: 3) { __typename date size }
  history: sizeHistory { size }
  members(first: 3, orderBy: [{field: LAST_NAME}]) { totalCount
    edges { cursor node { fullName email segments(first: 5) { nodes { name } } } }
    pageInfo { hasNextPage endCursor } }
  included(first: 2) { totalCount nodes { id } }
  excluded { totalCount }
  membershipChanges(first: 4) { totalCount nodes { __typename id change reason occurredAt
    contact { fullName phone } segment { name } } }
"""
SEGMENTS = f"""query($filter: SegmentFilter) {{
  segments(first: 10, orderBy: [{{field: NAME}}], filter: $filter) {{ nodes {{ {SEGMENT} }} }}
}}"""
BY_ID = f"query($id: ID!) {{ segment(id: $id) {{ {SEGMENT} }} node(id: $id) {{ id ...on Segment {{ name rule }} }} }}"


async def _segments(api) -> list[dict]:
    body = await api("{ segments(orderBy: [{field: NAME}]) { nodes { id name rule } } }")
    return body["segments"]["nodes"]


@pytest.mark.parametrize("caller", CALLERS)
async def test_segments_answer_the_same_on_both_paths(demo_api, caller):
    api = demo_api(caller)
    reads = caller != "partner"  # the partner's key lacks segments:read: FORBIDDEN, as before
    body = await _compare(api, SEGMENTS, compiled=reads)
    await _compare(api, SEGMENTS, {"filter": {"name": {"contains": "e"}}}, compiled=reads)
    for segment in await _segments(demo_api()):
        await _compare(api, BY_ID, {"id": segment["id"]}, compiled=reads)
    if reads:
        names = [n["name"] for n in body["data"]["segments"]["nodes"]]
        assert names == ["Customers", "Hand-picked", "Known people"]
        picked = body["data"]["segments"]["nodes"][1]
        assert picked["size"] == 5 and picked["included"]["totalCount"] == 5
        assert [d["size"] for d in picked["sizeHistory"]][-1] == 5
        assert len(picked["history"]) == 30
    else:
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_rules_are_masked_without_pii_read(demo_api):
    masked = {
        s["name"]: s["rule"]
        for s in (await _compare(demo_api("no_pii"), SEGMENTS, compiled=True))["data"]["segments"][
            "nodes"
        ]
    }
    full = {s["name"]: s["rule"] for s in await _segments(demo_api())}
    known = masked["Known people"]["or"]
    assert known[0] == {"email": {"eq": "d***@example.com"}}
    assert known[1] == {"phone": {"in": ["+62*******7890", "**12"]}}
    assert known[4] == {"account": {"contacts": {"none": {"phone": {"eq": "+62*****0100"}}}}}
    assert known[5]["touchpoints"]["matching"] == {"contact": {"email": {"eq": "a***@b.co"}}}
    assert [k["search"] for k in known[6:]] == ["s***@example.com", "**********7890", "Retail"]
    assert full["Known people"]["or"][0] == {"email": {"eq": "dewi.lestari@example.com"}}
    assert masked["Customers"] == full["Customers"] and masked["Hand-picked"] is None


async def test_contact_segments_and_membership_change_nodes(demo_api):
    admin = demo_api()
    changes = await admin(
        "{ segments(first: 3) { nodes { membershipChanges(first: 3) { nodes { id } } } } }"
    )
    change_ids = [
        n["id"] for s in changes["segments"]["nodes"] for n in s["membershipChanges"]["nodes"]
    ]
    assert change_ids
    query = """query($ids: [ID!]!) {
      nodes(ids: $ids) { __typename ... on SegmentMembershipChange { change reason
        contact { fullName segments(first: 3, orderBy: [{field: NAME, direction: DESC}]) {
          totalCount edges { cursor node { name size } } } } segment { name kind } } }
      contacts(first: 10) { nodes { segments { totalCount nodes { name } } } }
    }"""
    for caller in CALLERS:
        body = await _compare(
            demo_api(caller), query, {"ids": change_ids}, compiled=caller != "partner"
        )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "query, code",
    [
        ("{ segments(first: 2) { nodes { sizeHistory(days: 0) { size } } } }", "BAD_USER_INPUT"),
        ("{ segments(first: 2) { nodes { sizeHistory(days: 367) { size } } } }", "BAD_USER_INPUT"),
        (
            '{ segment(id: "U2VnbWVudDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA") { id } }',
            "NOT_FOUND",
        ),
        (
            '{ segment(id: "Q29udGFjdDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA") { id } }',
            "NOT_FOUND",  # a contact's id
        ),
        (
            '{ segment(id: "nonsense") { id } }',
            "BAD_USER_INPUT",
        ),
        ("{ segments(first: 101) { totalCount } }", "BAD_USER_INPUT"),
    ],
)
async def test_segment_errors_are_the_resolvers_errors(demo_api, query, code):
    body = await _compare(demo_api(), query, compiled=False)
    assert body["errors"][0]["extensions"]["code"] == code


PREVIEW = """query($rule: ContactFilter, $ruleJson: JSON, $first: Int!) {
  previewSegment(rule: $rule, ruleJson: $ruleJson, first: $first) {
    __typename count userErrors { field message code }
    contacts { id fullName email account { name } }
  }
}"""


@pytest.mark.parametrize(
    "variables",
    [
        {"rule": {"lifecycleStage": {"eq": "CUSTOMER"}}, "first": 5},
        {"ruleJson": {"or": [{"city": {"eq": "Jakarta"}}, {"search": "a"}]}, "first": 0},
        {"ruleJson": {"touchpoints": {"atLeast": 2}}, "first": 100},
    ],
)
@pytest.mark.parametrize("caller", CALLERS)
async def test_previews_answer_the_same_on_both_paths(demo_api, caller, variables):
    body = await _compare(demo_api(caller), PREVIEW, variables, compiled=caller != "partner")
    if caller != "partner":
        preview = body["data"]["previewSegment"]
        assert preview["userErrors"] == [] and len(preview["contacts"]) <= preview["count"]


@pytest.mark.parametrize(
    "variables",
    [
        {"ruleJson": {"nope": 1}, "first": 5},  # userErrors
        {"first": 5},  # no rule
        {"rule": {"city": {"eq": "Bandung"}}, "ruleJson": {"city": {"eq": "Bandung"}}, "first": 5},
        {"ruleJson": {"email": {"eq": "a@b.co"}}, "first": 5},  # personal data
        {"ruleJson": {"city": {"eq": "Bandung"}}, "first": 101},  # page size
        {
            "ruleJson": {
                "inSegment": {"id": "U2VnbWVudDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA"}
            },
            "first": 5,
        },
    ],
)
async def test_previews_with_problems_are_the_resolvers(demo_api, variables):
    for caller in ("admin", "no_pii"):
        await _compare(demo_api(caller), PREVIEW, variables)
    await _compare(demo_api("no_pii"), PREVIEW, variables, compiled=False)


@pytest.mark.parametrize(
    "selection", ["count", "userErrors { code }", "contacts { id }", "__typename"]
)
async def test_a_preview_selecting_part_of_it(demo_api, selection):
    """Only what is selected is read (a value bound for an unselected part would refuse the
    statement)."""
    query = "query($rule: JSON) { previewSegment(ruleJson: $rule, first: 3) { " + selection + " } }"
    rule = {"createdAt": {"gt": "0001-01-01T00:00:00Z"}, "lastName": {"contains": "a"}}
    await _compare(demo_api(), query, {"rule": rule}, compiled=True)
