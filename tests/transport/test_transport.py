"""GraphQL over HTTP as clients meet it: keys, methods, media types, errors, health."""

import logging

from relasi.auth.api_keys import revoke_api_key
from relasi.resolvers import pipelines

QUERY = "{ pipelines { totalCount } }"


async def test_missing_or_bad_key_is_401_unauthenticated(client, api):
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Basic {api.key}"},
        {"Authorization": f"Bearer {api.key}x"},
    ):
        response = await client.post("/graphql", json={"query": QUERY}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        body = response.json()
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "data" not in body


async def test_revoked_key_stops_working(client, api, database):
    assert (await api.post(QUERY)).status_code == 200
    prefix = api.key.split("_")[1]
    async with database.pool.acquire() as conn:
        assert await revoke_api_key(conn, prefix)
    response = await api.post(QUERY)
    assert response.status_code == 401


async def test_get_queries_and_graphiql(client, api):
    response = await client.get(
        "/graphql", params={"query": QUERY}, headers={"Authorization": f"Bearer {api.key}"}
    )
    assert response.json() == {"data": {"pipelines": {"totalCount": 1}}}
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_mutations_are_refused_over_get(client, api):
    response = await client.get(
        "/graphql",
        params={"query": 'mutation { createAccount(input: {name: "X"}) { userErrors { code } } }'},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert response.status_code == 400
    assert (await api("{ accounts { totalCount } }"))["accounts"]["totalCount"] == 0


async def test_graphql_response_media_type(api):
    accept = {"Accept": "application/graphql-response+json"}
    ok = await api.post(QUERY, **accept)
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("application/graphql-response+json")
    bad = await api.post("{ pipelines { ", **accept)
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    legacy = await api.post("{ pipelines { ")
    assert legacy.status_code == 200
    assert legacy.headers["content-type"].startswith("application/json")


async def test_request_errors_carry_bad_user_input(api):
    cases = [
        "{ nope }",
        "{ contacts(filter: {lifecycleStage: {eq: ROCKSTAR}}) { totalCount } }",
        'mutation { createContact(input: {firstName: "A", lifecycleStage: ROCKSTAR}) { userErrors { code } } }',
    ]
    for query in cases:
        body = await api.raw(query)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert "Traceback" not in str(body)
    body = await api.raw("query($n: Int!) { contacts(first: $n) { totalCount } }", n="many")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_page_size_limits(api):
    body = await api.raw("{ contacts(first: 101) { totalCount } }")
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "first"}
    body = await api.raw("{ contacts(first: 1, last: 1) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await api.raw('{ contacts(after: "garbage") { totalCount } }')
    assert body["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}


async def test_malformed_ids(api):
    body = await api.raw('{ contact(id: "%%%") { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await api.raw('{ nodes(ids: ["%%%"]) { id } }')
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_health_and_readiness(client):
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


async def test_request_errors_have_no_data_entry(api):
    """GraphQL over HTTP: parse, validation and variable errors carry no `data` at all (not
    even null), with either media type; an error while executing keeps `data`."""
    request_errors = [
        ("{ pipelines { ", {}),  # parse
        ("{ nope }", {}),  # validation
        ("query($n: Int!) { contacts(first: $n) { totalCount } }", {"n": "many"}),  # variables
        ("{ " + " ".join(f"t{i}: __typename" for i in range(101)) + " }", {}),  # limits
    ]
    for accept, status in (("application/graphql-response+json", 400), ("application/json", 200)):
        for query, variables in request_errors:
            response = await api.post(query, variables, Accept=accept)
            assert response.status_code == status, (accept, query)
            body = response.json()
            assert "data" not in body and body["errors"], (accept, query, body)
    executed = await api.raw('{ contact(id: "nope") { id } }')
    assert executed["errors"][0]["path"] == ["contact"]
    assert "data" in executed


async def test_only_unexpected_errors_are_logged_as_errors(api, caplog, monkeypatch):
    """A NOT_FOUND id or a typo is normal traffic (debug); an unexpected failure is logged
    once, at ERROR, under the request id the client gets."""
    caplog.set_level(logging.DEBUG)
    await api.raw(
        '{ contact(id: "Q29udGFjdDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA=") { id } }'
    )
    await api.post("{ contacts { nodez { id } } }")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []

    async def broken(session, pipeline_pk):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipelines, "stages", broken)
    # the resolvers' path (compiled, stages are read in SQL, not by this function)
    query = "{ pipelines { nodes { stages { name } } } }"
    body = (await api.post(query, **{"X-Relasi-Read-Path": "resolvers"})).json()
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "disk on fire" not in str(body)
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 1 and error["extensions"]["requestId"] in logged[0].getMessage()
    assert "disk on fire" in caplog.text  # the traceback is in the log, not the response
