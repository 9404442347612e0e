"""Introspection compiled: `__schema` and `__type` answer as graphql-core answers them, also
aliased, through fragments, with variables and @skip/@include, and beside compiled reads
(one statement: tests/compiler/test_statements.py)."""

import pytest
from graphql import get_introspection_query

from tests.compiler.test_differential import CALLERS, _compare

TYPE = """query($name: String!, $deprecated: Boolean!, $withFields: Boolean!) {
  __typename
  t: __type(name: $name) { name kind description
    fields(includeDeprecated: $deprecated) @include(if: $withFields) { name args { name } }
    ...Wrapped }
  contacts(first: 2) { nodes { fullName } }
  nothing: __type(name: "NoSuchType") { name }
}
fragment Wrapped on __Type { possibleTypes { name } interfaces { name } }"""


@pytest.mark.parametrize("caller", CALLERS)
async def test_the_whole_introspection_query_is_compiled(demo_api, caller):
    body = await _compare(
        demo_api(caller), get_introspection_query(descriptions=True), compiled=True
    )
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"Contact", "Segment", "ChangeEvent", "Query"} <= names


@pytest.mark.parametrize(
    "variables",
    [
        {"name": "Contact", "deprecated": True, "withFields": True},
        {"name": "Node", "deprecated": False, "withFields": False},
        {"name": "Unknown", "deprecated": False, "withFields": True},
    ],
)
async def test_type_lookups_beside_reads(demo_api, variables):
    api = demo_api()
    body = await _compare(api, TYPE, variables, compiled=True)
    assert list(body["data"]) == ["__typename", "t", "contacts", "nothing"]
    assert body["data"]["nothing"] is None
    assert (body["data"]["t"] is None) == (variables["name"] == "Unknown")


async def test_introspection_alone_is_compiled(demo_api):
    body = await _compare(
        demo_api("partner"),
        "{ a: __schema { queryType { name } } b: __schema { mutationType { name } } }",
        compiled=True,
    )
    assert body["data"] == {
        "a": {"queryType": {"name": "Query"}},
        "b": {"mutationType": {"name": "Mutation"}},
    }
