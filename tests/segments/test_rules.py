"""Every operator and predicate kind: a segment's materialised members equal a direct
evaluation of its rule (`contacts(filter:)`) and the contacts the rule describes."""

import json

import pytest

from tests.segments import helpers as h
from tests.segments.conftest import days_ago

NAMES = ("Ayu", "Budi", "Citra", "Dewi")

# (rule, the contacts it selects); `ids` fills in ids of the test graph
RULES = [
    # contact fields: every operator
    (lambda ids: {"city": {"eq": "Jakarta"}}, {"Ayu", "Citra"}),
    (lambda ids: {"city": {"ne": "Jakarta"}}, {"Budi", "Dewi"}),
    (lambda ids: {"city": {"in": ["Bandung", "Surabaya"]}}, {"Budi", "Dewi"}),
    (lambda ids: {"city": {"notIn": ["Bandung", "Surabaya"]}}, {"Ayu", "Citra"}),
    (lambda ids: {"city": {"contains": "BAYA"}}, {"Dewi"}),
    (lambda ids: {"city": {"startsWith": "ja"}}, {"Ayu", "Citra"}),
    (lambda ids: {"leadRating": {"isNull": True}}, {"Citra"}),
    (lambda ids: {"leadRating": {"isNull": False}}, {"Ayu", "Budi", "Dewi"}),
    (lambda ids: {"lifecycleStage": {"in": ["CUSTOMER", "LEAD"]}}, {"Ayu", "Budi", "Dewi"}),
    (lambda ids: {"journeyStage": {"eq": "AWARENESS"}}, set(NAMES)),
    (lambda ids: {"country": {"eq": "ID"}}, {"Ayu", "Budi"}),
    (lambda ids: {"accountId": {"eq": ids["retail"]}}, {"Ayu", "Dewi"}),
    (lambda ids: {"createdAt": {"gt": "2000-01-01T00:00:00Z"}}, set(NAMES)),
    (lambda ids: {"createdAt": {"lte": "2000-01-01T00:00:00Z"}}, set()),
    (lambda ids: {"email": {"eq": "AYU@retail.co.id"}}, {"Ayu"}),
    (lambda ids: {"search": "lestari"}, {"Ayu"}),
    # custom attributes
    (lambda ids: {"customAttributes": [{"key": "plan", "eq": "pro"}]}, {"Ayu"}),
    (lambda ids: {"customAttributes": [{"key": "plan", "ne": "pro"}]}, {"Budi", "Citra", "Dewi"}),
    (lambda ids: {"customAttributes": [{"key": "plan", "in": ["pro", "free"]}]}, {"Ayu", "Budi"}),
    (lambda ids: {"customAttributes": [{"key": "seats", "gt": 5}]}, {"Ayu"}),
    (lambda ids: {"customAttributes": [{"key": "seats", "lte": 2}]}, {"Budi"}),
    (lambda ids: {"customAttributes": [{"key": "seats", "exists": False}]}, {"Citra", "Dewi"}),
    # the account, through the contact
    (lambda ids: {"account": {"industry": {"eq": "Retail"}}}, {"Ayu", "Dewi"}),
    (lambda ids: {"account": {"employeeCount": {"gte": 900}}}, {"Ayu", "Dewi"}),
    (lambda ids: {"account": {"employeeCount": {"lt": 900}}}, {"Budi"}),
    (lambda ids: {"account": {"annualRevenue": {"gt": "1000000"}}}, {"Ayu", "Dewi"}),
    (lambda ids: {"account": {"country": {"eq": "SG"}}}, {"Budi"}),
    # deals and cases
    (
        lambda ids: {
            "deals": {
                "some": {
                    "status": {"eq": "OPEN"},
                    "amount": {"gte": "50000"},
                    "stageId": {"eq": ids["Proposal"]},
                    "pipelineId": {"eq": ids["pipeline"]},
                }
            }
        },
        {"Ayu"},
    ),
    (lambda ids: {"deals": {"none": {"status": {"eq": "OPEN"}}}}, {"Budi", "Citra", "Dewi"}),
    (lambda ids: {"deals": {"every": {"status": {"eq": "WON"}}}}, {"Budi", "Citra", "Dewi"}),
    (lambda ids: {"deals": {"some": {"stage": {"name": {"eq": "Closed Won"}}}}}, {"Budi"}),
    (
        lambda ids: {
            "cases": {"some": {"status": {"in": ["NEW", "OPEN"]}, "priority": {"eq": "URGENT"}}}
        },
        {"Budi"},
    ),
    (lambda ids: {"cases": {"some": {"satisfactionScore": {"lt": 3}}}}, {"Dewi"}),
    (lambda ids: {"averageSatisfaction": {"lt": 3}}, {"Dewi"}),
    (lambda ids: {"averageSatisfaction": {"gte": 3, "withinDays": 7}}, {"Ayu"}),
    # behaviour
    (lambda ids: {"touchpoints": {}}, {"Ayu", "Budi", "Citra"}),
    (lambda ids: {"touchpoints": {"atLeast": 3}}, {"Ayu"}),
    (lambda ids: {"touchpoints": {"atMost": 1}}, {"Budi", "Citra", "Dewi"}),
    (lambda ids: {"touchpoints": {"atMost": 0}}, {"Dewi"}),
    (lambda ids: {"touchpoints": {"withinDays": 14}}, {"Ayu", "Citra"}),
    (
        lambda ids: {
            "touchpoints": {
                "matching": {"channel": {"eq": "WHATSAPP"}, "kind": {"eq": "MESSAGE"}},
                "withinDays": 14,
                "atLeast": 2,
            }
        },
        {"Ayu"},
    ),
    (lambda ids: {"touchpoints": {"matching": {"utmCampaign": {"eq": "ramadan"}}}}, {"Ayu"}),
    (
        lambda ids: {"touchpoints": {"matching": {"occurredAt": {"lt": h_days_ago(20)}}}},
        {"Budi"},
    ),
    (lambda ids: {"lastTouchpoint": {"olderThanDays": 14}}, {"Budi"}),
    (lambda ids: {"lastTouchpoint": {"olderThanDays": 14, "orNever": True}}, {"Budi", "Dewi"}),
    (lambda ids: {"averageSentiment": {"lt": 0}}, {"Ayu"}),
    (lambda ids: {"averageSentiment": {"gt": 0, "withinDays": 60}}, {"Budi"}),
    # and / or / not
    (
        lambda ids: {"and": [{"city": {"eq": "Jakarta"}}, {"leadRating": {"eq": "HOT"}}]},
        {"Ayu"},
    ),
    (
        lambda ids: {"or": [{"city": {"eq": "Bandung"}}, {"leadRating": {"eq": "COLD"}}]},
        {"Budi", "Dewi"},
    ),
    (lambda ids: {"not": {"leadRating": {"eq": "HOT"}}}, {"Citra", "Dewi"}),
    (lambda ids: {"or": []}, set()),
    (lambda ids: {}, set(NAMES)),
    # the example: hot leads in Jakarta who chatted on WhatsApp in the last 14 days and
    # have no open deal (Ayu has one)
    (
        lambda ids: {
            "leadRating": {"eq": "HOT"},
            "city": {"eq": "Jakarta"},
            "touchpoints": {"matching": {"channel": {"eq": "WHATSAPP"}}, "withinDays": 14},
            "deals": {"none": {"status": {"eq": "OPEN"}}},
        },
        set(),
    ),
]


def h_days_ago(days):
    return days_ago(days)


async def test_every_operator_materialises_what_the_filter_selects(api, graph):
    names = {graph[n]: n for n in NAMES}
    for i, (make, expected) in enumerate(RULES):
        rule = make(graph)
        segment = await h.create_segment(api, f"Rule {i}", rule)
        got = {names[c] for c in await h.members(api, segment["id"])}
        direct = {names[c] for c in await h.matching(api, rule)}
        assert got == direct == expected, (rule, got, direct)
        # stored as sent, times in their normal ISO 8601 form
        assert segment["rule"] == json.loads(json.dumps(rule).replace(':00Z"', ':00+00:00"'))
        assert segment["kind"] == "DYNAMIC"
        preview = await api(
            "query($r: ContactFilter) { previewSegment(rule: $r, first: 2) "
            "{ count contacts { id } userErrors { field } } }",
            r=rule,
        )
        assert preview["previewSegment"]["count"] == len(expected)
        assert len(preview["previewSegment"]["contacts"]) == min(2, len(expected))


async def test_in_segment_reads_other_segments(api, graph):
    jakarta = await h.create_segment(api, "Jakarta", {"city": {"eq": "Jakarta"}})
    hot = await h.create_segment(api, "Hot", {"leadRating": {"eq": "HOT"}})
    both = await h.create_segment(
        api, "Hot in Jakarta", {"inSegment": [jakarta["id"]], "and": [{"inSegment": hot["id"]}]}
    )
    either = await h.create_segment(api, "Either", {"inSegment": [jakarta["id"], hot["id"]]})
    outside = await h.create_segment(api, "Not Jakarta", {"not": {"inSegment": [jakarta["id"]]}})
    assert await h.members(api, both["id"]) == {graph["Ayu"]}
    assert await h.members(api, either["id"]) == {graph[n] for n in ("Ayu", "Budi", "Citra")}
    assert await h.members(api, outside["id"]) == {graph["Budi"], graph["Dewi"]}
    # lists filter by segment too
    assert await h.matching(api, {"inSegment": [hot["id"]]}) == {graph["Ayu"], graph["Budi"]}

    # and follow their changes live: Citra turns hot, Budi moves to Jakarta
    await h.update_contact(api, graph["Citra"], leadRating="HOT")
    await h.update_contact(api, graph["Budi"], city="Jakarta")
    assert await h.members(api, both["id"]) == {graph[n] for n in ("Ayu", "Budi", "Citra")}
    assert await h.members(api, outside["id"]) == {graph["Dewi"]}
    changes = await api(
        "query($id: ID!) { segment(id: $id) { membershipChanges(first: 10) "
        "{ nodes { change reason contact { firstName } } } } }",
        id=both["id"],
    )
    recent = changes["segment"]["membershipChanges"]["nodes"][:2]
    assert {(c["change"], c["reason"], c["contact"]["firstName"]) for c in recent} == {
        ("ENTERED", "CONTACT", "Citra"),
        ("ENTERED", "CONTACT", "Budi"),
    }


@pytest.mark.parametrize("as_json", [False, True])
async def test_rule_json_round_trips(api, graph, as_json):
    rule = {"deals": {"some": {"amount": {"gt": "50000.5"}}}, "city": {"in": ["Jakarta"]}}
    key = "ruleJson" if as_json else "rule"
    payload = await api.mutate(
        "mutation($input: CreateSegmentInput!) { createSegment(input: $input) "
        f"{{ segment {{ rule size }} {h.ERRORS} }} }}",
        input={"name": "Big deals", key: rule},
    )
    assert payload["segment"]["rule"] == rule
    assert payload["segment"]["size"] == 1
