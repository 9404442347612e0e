"""One plain filter form: a list's typed filter, a segment rule and `filter_form.parse` are
checked by the same checker and compiled by the same compiler."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relasi.errors import UserInputError
from relasi.resolvers import filter_form
from relasi.resolvers import segments as _segments  # noqa: F401 (adds the contact predicates)
from relasi.schema.enums import DealStatus
from relasi.schema.filters import AccountFilter, DealFilter, DecimalFilter, StringFilter
from tests.segments import helpers as h

_DealStatusFilter = DealFilter.__strawberry_definition__.get_field("status").type.of_type
LONG = "x" * 257
CONTACT_ID = "Q29udGFjdDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDE"  # Contact:0...1
DEAL_ID = "RGVhbDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDE"  # Deal:0...1


def _nested(depth: int) -> dict:
    flt: dict = {"city": {"eq": "Jakarta"}}
    for _ in range(depth):
        flt = {"not": flt}
    return flt


# (a ContactFilter the GraphQL types accept, the path of its one problem, code)
BAD = [
    ({"city": {"contains": LONG}}, ["city", "contains"], "BAD_USER_INPUT"),
    (
        {"deals": {"some": {"name": {"notIn": [LONG]}}}},
        ["deals", "some", "name", "notIn", "0"],
        "BAD_USER_INPUT",
    ),
    ({"lastName": {"in": ["x"] * 1001}}, ["lastName", "in"], "BAD_USER_INPUT"),
    ({"or": [{"search": "a"}, {"search": "a\u0000"}]}, ["or", "1", "search"], "BAD_USER_INPUT"),
    ({"accountId": {"eq": CONTACT_ID}}, ["accountId", "eq"], "BAD_USER_INPUT"),
    ({"accountId": {"in": ["not an id"]}}, ["accountId", "in", "0"], "BAD_USER_INPUT"),
    ({"touchpoints": {"withinDays": 0}}, ["touchpoints", "withinDays"], "BAD_USER_INPUT"),
    ({"averageSentiment": {"withinDays": 3}}, ["averageSentiment"], "BAD_USER_INPUT"),
    ({"averageSentiment": {"lt": 2}}, ["averageSentiment", "lt"], "BAD_USER_INPUT"),
    (
        {"touchpoints": {"matching": {"utmCampaign": {"startsWith": LONG}}}},
        ["touchpoints", "matching", "utmCampaign", "startsWith"],
        "BAD_USER_INPUT",
    ),
    ({"inSegment": [DEAL_ID]}, ["inSegment", "0"], "NOT_FOUND"),
    (
        {"customAttributes": [{"key": "plan", "gt": {"a": 1}}]},
        ["customAttributes", "0", "gt"],
        "BAD_USER_INPUT",
    ),
    (
        {"customAttributes": [{"key": LONG, "exists": True}]},
        ["customAttributes", "0", "key"],
        "BAD_USER_INPUT",
    ),
    (_nested(9), ["not"] * 9, "BAD_USER_INPUT"),
]


@pytest.mark.parametrize(("flt", "path", "code"), BAD)
async def test_a_bad_filter_is_the_same_error_everywhere(api, flt, path, code):
    # parse, directly
    with pytest.raises(UserInputError) as raised:
        filter_form.parse("Contact", flt, ["filter"])
    assert [(e.field, e.code.value) for e in raised.value.errors] == [(["filter", *path], code)]
    message = raised.value.message
    # a list (a GraphQL error at the filter argument)
    body = await api.raw(
        "query($f: ContactFilter) { contacts(filter: $f, first: 5) { totalCount } }", f=flt
    )
    (error,) = body["errors"]
    assert error["extensions"] == {"code": code, "field": ".".join(["filter", *path])}
    assert error["message"] == message
    # a segment rule, typed and as JSON (userErrors at the rule's node)
    for key in ("rule", "ruleJson"):
        errors = await h.create_segment_errors(api, **{key: flt})
        assert errors == [{"field": ["input", key, *path], "message": message, "code": code}]
    assert (await api("{ segments { totalCount } }"))["segments"]["totalCount"] == 0


async def test_a_relation_list_filter_is_checked_alike(api, graph):
    body = await api.raw(
        "query($f: ContactFilter) { accounts(first: 1) { nodes { contacts(filter: $f) {"
        " totalCount } } } }",
        f={"touchpoints": {"atLeast": -1}},
    )
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "filter.touchpoints.atLeast",
    }


def test_plain_is_what_a_client_typed():
    typed = DealFilter(
        amount=DecimalFilter(gt=Decimal("10000")),
        account=AccountFilter(industry=StringFilter(eq="Retail")),
        or_=[DealFilter(status=_DealStatusFilter(eq=DealStatus.WON))],
    )
    plain = {
        "amount": {"gt": "10000"},
        "account": {"industry": {"eq": "Retail"}},
        "or": [{"status": {"eq": "WON"}}],
    }
    assert filter_form.plain(typed) == plain
    parsed = filter_form.parse("Deal", plain, [])
    assert parsed.amount.gt == Decimal("10000") and parsed.account.industry.eq == "Retail"


# Every operator of every kind of value, and the predicates: rules a property test combines
OPERATORS = [
    {"firstName": {"eq": "Ayu"}},
    {"firstName": {"ne": "Ayu"}},
    {"city": {"in": ["Jakarta", "Bandung"]}},
    {"city": {"notIn": ["Jakarta"]}},
    {"city": {"contains": "AND"}},
    {"lastName": {"startsWith": "les"}},
    {"lastName": {"isNull": True}},
    {"leadRating": {"eq": "HOT"}},
    {"leadRating": {"in": ["COLD"]}},
    {"lifecycleStage": {"ne": "CUSTOMER"}},
    {"createdAt": {"gt": "2020-01-01T00:00:00+00:00"}},
    {"createdAt": {"lte": "2020-01-01T00:00:00+07:00"}},
    {"account": {"employeeCount": {"gte": 100}}},
    {"account": {"employeeCount": {"lt": 100}, "country": {"eq": "SG"}}},
    {"account": {"annualRevenue": {"gt": "1000000"}}},
    {"deals": {"some": {"amount": {"gte": "50000.00"}}}},
    {"deals": {"none": {"status": {"eq": "WON"}}}},
    {"deals": {"every": {"status": {"eq": "OPEN"}}}},
    {"cases": {"some": {"priority": {"eq": "URGENT"}}}},
    {"cases": {"some": {"satisfactionScore": {"lte": 2}}}},
    {"interactions": {"some": {"sentiment": {"lt": "-0.1"}}}},
    {"interactions": {"some": {"occurredAt": {"gte": "2020-01-01T00:00:00+00:00"}}}},
    {"search": "ayu"},
    {"customAttributes": [{"key": "plan", "eq": "pro"}]},
    {"customAttributes": [{"key": "seats", "gt": 5}]},
    {"customAttributes": [{"key": "plan", "in": ["free", "trial"]}]},
    {"customAttributes": [{"key": "seats", "exists": False}]},
    {"touchpoints": {"atLeast": 2, "matching": {"channel": {"eq": "WHATSAPP"}}}},
    {"touchpoints": {"atMost": 0}},
    {"lastTouchpoint": {"olderThanDays": 7, "orNever": True}},
    {"averageSentiment": {"lt": 0}},
    {"averageSatisfaction": {"gte": 4}},
]


def _combined(draw_from: list) -> st.SearchStrategy:
    one = st.sampled_from(draw_from)
    return st.one_of(
        one,
        st.lists(one, min_size=1, max_size=3).map(lambda fs: {"and": fs}),
        st.lists(one, min_size=0, max_size=3).map(lambda fs: {"or": fs}),
        one.map(lambda f: {"not": f}),
    )


async def _same_rows(api, flt) -> None:
    """The typed list filter and the plain form (a segment preview of the same JSON, and a
    segment saved with the typed rule) select the same contacts."""
    listed = await h.matching(api, flt)
    preview = await api(
        "query($r: JSON) { previewSegment(ruleJson: $r, first: 100) { count contacts { id }"
        " userErrors { field } } }",
        r=flt,
    )
    assert preview["previewSegment"]["userErrors"] == []
    assert {c["id"] for c in preview["previewSegment"]["contacts"]} == listed, flt
    assert preview["previewSegment"]["count"] == len(listed)


@pytest.mark.parametrize("flt", OPERATORS)
async def test_every_operator_selects_the_same_rows_typed_and_plain(api, graph, flt):
    await _same_rows(api, flt)
    segment = await h.create_segment(api, "Same", flt)
    assert segment["rule"] == flt  # stored as the client typed it
    assert await h.members(api, segment["id"]) == await h.matching(api, flt)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(flt=_combined(OPERATORS))
async def test_combined_filters_select_the_same_rows_typed_and_plain(api, graph, flt):
    await _same_rows(api, flt)
