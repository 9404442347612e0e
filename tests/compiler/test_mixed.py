"""Per root field: a query mixing root fields the compiler covers with others answers the
covered ones from one statement and the rest through the resolvers, merged in document order,
with the resolvers' errors at the resolvers' paths."""

import pytest

from tests.auth.conftest import invite, jwt_secret
from tests.auth.test_hs256 import hs256
from tests.compiler.conftest import both_paths
from tests.compiler.test_differential import _compare, _first_difference, _some_ids
from tests.compiler.test_statements import DATA_TABLES
from tests.conftest import Api

MIXED = """query Mixed($id: ID!) {
  segments(first: 1) { totalCount }
  first: contacts(first: 3) { nodes { fullName account { name } } }
  __typename
  ...More
  last: contact(id: $id) { fullName }
  preview: previewSegment(ruleJson: {nope: 1}) { userErrors { code } }
}
fragment More on Query {
  accounts(first: 2) { totalCount nodes { name } } segments(first: 1) { nodes { id } }
}"""

NOT_FOUND = "Q29udGFjdDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA"


async def _answer(api, query, variables=None):
    reference, answer = await both_paths(api, query, variables)
    assert _first_difference(reference, answer) is None, _first_difference(reference, answer)
    response = await api.post(query, variables)
    return response.json(), response.headers["x-relasi-read-path"]


async def test_mixed_root_fields_keep_document_order(demo_api):
    api = demo_api()
    contact = (await _some_ids(api))["contacts"][0]
    body, path = await _answer(api, MIXED, {"id": contact})
    assert path == "mixed"
    assert list(body["data"]) == [
        "segments",
        "first",
        "__typename",
        "accounts",
        "last",
        "preview",
    ]
    assert list(body["data"]["segments"]) == ["totalCount", "nodes"]
    assert len(body["data"]["first"]["nodes"]) == 3 and "errors" not in body


@pytest.mark.parametrize(
    "query, code, path",
    [
        # a lookup that names nothing: the resolvers answer that field, the list is compiled
        (
            "{ preview: previewSegment(ruleJson: {nope: 1}) { userErrors { code } } contacts(first: 1) { totalCount }"
            f' x: contact(id: "{NOT_FOUND}") {{ id }} }}',
            "NOT_FOUND",
            "mixed",
        ),
        # a malformed id (a nullable root field)
        (
            '{ contacts(first: 1) { totalCount } x: account(id: "nonsense") { id } }',
            "BAD_USER_INPUT",
            "mixed",
        ),
        # bad arguments on a non-null root field: no data at all
        (
            "{ preview: previewSegment(ruleJson: {nope: 1}) { userErrors { code } } deals(first: 1) { totalCount }"
            " x: contacts(first: 500) { totalCount } }",
            "BAD_USER_INPUT",
            "resolvers",
        ),
        # nothing the partner's key may read compiled: the whole operation by the resolvers
        (
            "{ contacts(first: 1) { nodes { account { name } } } cases(first: 1) { totalCount } }",
            "FORBIDDEN",
            "resolvers",
        ),
    ],
)
async def test_errors_of_one_root_field_are_the_resolvers_errors(demo_api, query, code, path):
    api = demo_api("partner" if code == "FORBIDDEN" else "admin")
    body, answered = await _answer(api, query)
    assert body["errors"][0]["extensions"]["code"] == code
    assert answered == path


async def test_the_compiled_part_is_one_statement(demo_api, database):
    api = demo_api()
    query = (
        "{ preview: previewSegment(ruleJson: {nope: 1}) { userErrors { code } } contacts(first: 5) { nodes { fullName deals(first: 2) { nodes { name } } } }"
        " accounts(first: 5) { nodes { name contacts(first: 2) { totalCount } } } }"
    )
    with database.capture_statements() as statements:
        response = await api.post(query)
    assert response.headers["x-relasi-read-path"] == "mixed", response.text
    reads = [s for s in statements if DATA_TABLES.search(s)]
    assert len(reads) == 1 and reads[0].startswith("SELECT json_build_object"), reads


async def test_pipelines_and_members_are_compiled(demo_api):
    api = demo_api()
    body = await _compare(
        api,
        "{ pipelines(first: 5) { totalCount nodes { id name isDefault createdAt"
        " stages { __typename id name position probability status deals(first: 2) { totalCount } }"
        " deals(first: 2) { nodes { name stage { name position } } } } }"
        " members(first: 5, orderBy: [{field: NAME}]) { edges { cursor node { name email role status } } } }",
        compiled=True,
    )
    assert len(body["data"]["pipelines"]["nodes"][0]["stages"]) > 2
    pipeline = body["data"]["pipelines"]["nodes"][0]["id"]
    await _compare(
        api,
        "query($id: ID!) { pipeline(id: $id) { name isDefault } }",
        {"id": pipeline},
        compiled=True,
    )


async def test_a_statement_that_reads_no_table(demo_api):
    body = await _compare(demo_api(), "{ __typename again: __typename }", compiled=True)
    assert body == {"data": {"__typename": "Query", "again": "Query"}}


ME = """{ me { __typename workspaceId scopes
  member { __typename id name email role status joinedAt }
  apiKey { __typename name prefix scopes expiresAt } } }"""


@pytest.mark.parametrize("caller", ["admin", "no_pii", "partner"])
async def test_me_is_compiled(demo_api, caller):
    body = await _compare(demo_api(caller), ME, compiled=True)
    assert body["data"]["me"]["apiKey"]["scopes"] and body["data"]["me"]["member"] is None


async def test_me_of_a_signed_in_member(api):
    """A member signed in with a JWT: their membership, no API key."""
    await invite(api, "rina@relasi.co.id", "SUPPORT")
    token = hs256(await jwt_secret(api), api.workspace_id, "rina@relasi.co.id")
    body = await _compare(Api(api.client, api.workspace_id, token), ME, compiled=True)
    assert body["data"]["me"]["member"]["role"] == "SUPPORT"
    assert body["data"]["me"]["apiKey"] is None
