"""A document answered compiled, asked again, is answered again without strawberry's
pipeline (`compiler/shortcut.py`): the answers, errors, limits and media types stay the ones
the whole pipeline gives, whatever the variables of each request."""

from tests.compiler.conftest import both_paths

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"

PAGE = """query Page($n: Int, $after: String) {
  contacts(first: $n, after: $after, orderBy: [{field: CREATED_AT, direction: DESC}]) {
    nodes { fullName deals(first: $n) { nodes { name amount { amount currency } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""


async def test_repeated_documents_answer_as_the_resolvers_for_each_variables(demo_api):
    api = demo_api()
    after = None
    for n in (3, 3, 5, 2):  # the first request goes the whole way, the others are known
        reference, answer = await both_paths(api, PAGE, {"n": n, "after": after})
        assert answer == reference
        page = answer["data"]["contacts"]
        assert len(page["nodes"]) == n
        after = page["pageInfo"]["endCursor"]


async def test_limits_and_variables_are_checked_on_every_request(demo_api, database):
    api = demo_api()
    query = PAGE.replace("query Page", "query Limited")
    assert "errors" not in await api.raw(query, n=2)
    assert "errors" not in await api.raw(query, n=2)
    with database.capture_statements() as statements:
        too_big = await api.post(query, {"n": 100})
    body = too_big.json()
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX", body
    assert not any("contacts" in s for s in statements), statements
    wrong = (await api.post(query, {"n": "many"})).json()
    assert "data" not in wrong
    assert wrong["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    bad_cursor = (await api.post(query, {"n": 2, "after": "not a cursor"})).json()
    assert bad_cursor["data"] is None
    assert bad_cursor["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad_cursor["errors"][0]["path"] == ["contacts"]


async def test_media_types_and_operation_names_as_the_view_answers(demo_api):
    api = demo_api()
    two = PAGE + "\nquery Other { pipelines { totalCount } }"
    # the spec's request error, on either path, asked once or again (never remembered)
    for path in ("resolvers", "compiled", "compiled"):
        unnamed = await api.post(two, {"n": 1}, **{"X-Relasi-Read-Path": path})
        assert unnamed.status_code == 200 and "data" not in unnamed.json(), unnamed.text
        assert unnamed.json()["errors"] == [
            {
                "message": "Must provide operation name if query contains multiple operations.",
                "extensions": {"code": "BAD_USER_INPUT"},
            }
        ]
    graphql_response = await api.client.post(
        "/graphql",
        json={"query": two},
        headers={"Authorization": f"Bearer {api.key}", "Accept": GRAPHQL_RESPONSE_JSON},
    )
    assert graphql_response.status_code == 400
    named = {"query": two, "operationName": "Page", "variables": {"n": 1}}
    for accept in ("application/json", "application/graphql-response+json", "*/*"):
        response = await api.client.post(
            "/graphql",
            json=named,
            headers={"Authorization": f"Bearer {api.key}", "Accept": accept},
        )
        assert response.status_code == 200
        assert response.headers["x-relasi-read-path"] == "compiled"
        expected = "application/json" if accept == "*/*" else accept
        assert response.headers["content-type"] == expected
        assert len(response.json()["data"]["contacts"]["nodes"]) == 1
