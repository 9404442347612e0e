"""Every custom scalar's edge values, at every place the schema takes that scalar (found by
walking the schema, `scalar_routes.py`): whatever the value, the answer is a coded GraphQL
error or data, never INTERNAL_SERVER_ERROR. Decimals that are no numbers (NaN, Infinity) or
absurdly large or small are BAD_USER_INPUT naming where they were sent."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relasi.schema import schema
from relasi.schema.scalars import MAX_FRACTION_DIGITS, MAX_INTEGER_DIGITS
from tests.fuzz.scalar_routes import routes

ROUTES = routes(schema._schema)
NOT_NUMBERS = ["NaN", "sNaN", "-NaN", "Infinity", "-Infinity", "inf", "nan"]
HUGE = [
    "1e999999",
    "-1e999999",
    "1e-999999",
    "0e999999",
    "9" * (MAX_INTEGER_DIGITS + 1),
    "0." + "0" * MAX_FRACTION_DIGITS + "1",
    "1" * 100_000,
]
JSON_DEEP: object = 1
for _ in range(200):
    JSON_DEEP = [JSON_DEEP]
EDGES = {
    "Decimal": st.sampled_from(
        [
            *NOT_NUMBERS,
            *HUGE,
            "",
            " ",
            "1_000",
            "0x10",
            "\uff11\uff12",
            "-0",
            1e308,
            10**40,
            True,
            [],
            {},
        ]
    )
    | st.decimals(allow_nan=True, allow_infinity=True).map(str)
    | st.text(max_size=12),
    "DateTime": st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59.999999Z",
            "9999-12-31T23:59:59-12:00",
            "2024-02-30T00:00:00Z",
            "2024-01-01T00:00:00",
            "",
            "now",
            "1" * 5_000,
            0,
            1e308,
        ]
    )
    | st.datetimes().map(lambda d: d.isoformat())
    | st.text(max_size=12),
    "Date": st.sampled_from(["0001-01-01", "9999-12-31", "2024-02-30", "", "0000-01-01", 0])
    | st.dates().map(lambda d: d.isoformat())
    | st.text(max_size=12),
    "JSON": st.sampled_from(
        [JSON_DEEP, {"\u0000": 1}, "\u0000", 10**100, -1e308, "x" * 5_000, None, [], {"": [None]}]
    )
    | st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)  # JSON has neither
        | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    ),
}


def test_every_custom_scalar_of_the_schema_is_covered():
    assert {r.scalar for r in ROUTES} == set(EDGES)
    # the places the audit found failing are among the routes
    names = {str(r) for r in ROUTES}
    for expected in (
        "createPipeline.input.stages.probability",
        "trackInteraction.input.sentiment",
        "createDeal.input.amount.amount",
        "deals.filter.amount.gt",
        "accounts.filter.annualRevenue.lt",
        "interactions.filter.sentiment.gte",
    ):
        assert expected in names, expected


async def _errors(api, route, value) -> list[dict]:
    document, variables = route.request(value)
    response = await api.client.post(
        "/graphql",
        json={"query": document, "variables": variables},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert response.status_code in (200, 400), (str(route), value, response.text[:500])
    return response.json().get("errors", [])


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_edge_values_never_fail_unexpectedly(api, data):
    route = data.draw(st.sampled_from(ROUTES), label="route")
    value = data.draw(EDGES[route.scalar], label="value")
    errors = await _errors(api, route, value)
    for error in errors:
        assert error.get("extensions", {}).get("code") != "INTERNAL_SERVER_ERROR", (
            str(route),
            value,
            error,
        )


@pytest.mark.parametrize("value", NOT_NUMBERS + HUGE[:-1])
async def test_decimals_that_are_no_numbers_are_bad_input_everywhere(api, value):
    for route in (r for r in ROUTES if r.scalar == "Decimal"):
        errors = await _errors(api, route, value)
        assert [e["extensions"]["code"] for e in errors] == ["BAD_USER_INPUT"], (str(route), errors)
        # the message names the variable and where in it the value was
        path = ".".join(route.steps[-1:]) or route.argument
        assert path in errors[0]["message"] and "Decimal" in errors[0]["message"], errors


async def test_edge_values_the_property_test_found(api):
    await api.mutate(
        'mutation { createContact(input: {firstName: "A", customAttributes: {tags: [1, 2]}}) '
        "{ contact { id } userErrors { code } } }"
    )
    count = "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }"
    # an attribute filter without an operator is no condition
    everyone = await api(count, f={"customAttributes": [{"key": "tags", "eq": None}]})
    assert everyone["contacts"]["totalCount"] == 1
    # JSON arrays among `in` values are values, not an array dimension
    tagged = await api(count, f={"customAttributes": [{"key": "tags", "in": [[1, 2], [3]]}]})
    assert tagged["contacts"]["totalCount"] == 1
    # a time before year 1 once in UTC
    body = await api.raw(count, f={"createdAt": {"gt": "0001-01-01T00:00:00+14:00"}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "out of range in UTC" in body["errors"][0]["message"]
