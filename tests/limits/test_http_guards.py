"""Protections in front of GraphQL: content types (CSRF), body size, rate limits, CORS,
production mode."""

import httpx
import pytest

from relasi.server import create_app
from relasi.settings import Settings
from tests.conftest import new_api

QUERY = "{ pipelines { totalCount } }"


@pytest.fixture
async def make_client(database):
    clients = []

    async def make(**settings) -> httpx.AsyncClient:
        app = create_app(Settings(**settings), database=database)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://relasi.test"
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def test_simple_request_content_types_are_refused(api, client):
    headers = {"Authorization": f"Bearer {api.key}"}
    for content_type in (
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ):
        response = await client.post(
            "/graphql",
            content=f'{{"query": "{QUERY}"}}',
            headers={**headers, "Content-Type": content_type},
        )
        assert response.status_code == 415, content_type
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert "Cross-site" in response.json()["errors"][0]["message"]
    ok = await client.post("/graphql", json={"query": QUERY}, headers=headers)
    assert ok.status_code == 200


async def test_body_size_limit(api, make_client):
    client = await make_client(max_body_bytes=2048, rate_limit=0)
    headers = {"Authorization": f"Bearer {api.key}", "Content-Type": "application/json"}
    big = '{"query": "{ pipelines { totalCount } }", "variables": {"x": "' + "a" * 5000 + '"}}'
    declared = await client.post("/graphql", content=big, headers=headers)
    assert declared.status_code == 413
    assert declared.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    async def chunks():  # no Content-Length: counted as it streams
        for i in range(0, len(big), 500):
            yield big[i : i + 500].encode()

    streamed = await client.post("/graphql", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    small = await client.post("/graphql", json={"query": QUERY}, headers=headers)
    assert small.status_code == 200


async def test_rate_limit_per_key(database, make_client):
    client = await make_client(rate_limit=0.5, rate_limit_burst=3)
    first = await new_api(database, client, "Limited")
    second = await new_api(database, client, "Other")
    statuses = [(await first.post(QUERY)).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = await first.post(QUERY)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert (await second.post(QUERY)).status_code == 200  # each key has its own bucket


async def test_cors_allow_list(make_client):
    client = await make_client(cors_origins="https://app.example.com", rate_limit=0)
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = await client.options(
        "/graphql",
        headers={
            **preflight,
            "Origin": "https://app.example.com",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    other = await client.options(
        "/graphql", headers={**preflight, "Origin": "https://evil.example.net"}
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


async def test_production_mode(api, make_client):
    client = await make_client(production=True, rate_limit=0)
    headers = {"Authorization": f"Bearer {api.key}"}
    introspection = await client.post(
        "/graphql", json={"query": "{ __schema { types { name } } }"}, headers=headers
    )
    body = introspection.json()
    assert "data" not in body and body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    typo = await client.post(
        "/graphql", json={"query": "{ contactz { totalCount } }"}, headers=headers
    )
    assert "Did you mean" not in typo.text
    # no hint of any kind: arguments, types, enum values, input fields, in documents and in
    # variables alike
    typos = [
        ("{ contacts(frist: 1) { totalCount } }", {}),
        ("query($f: ContactFiltr) { contacts(filter: $f) { totalCount } }", {}),
        ("{ contacts(filter: {lifecycleStage: {eq: LEED}}) { totalCount } }", {}),
        ("{ contacts(filter: {lifecycleStag: {eq: LEAD}}) { totalCount } }", {}),
        (
            "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
            {"f": {"lifecycleStage": {"eq": "LEED"}}},
        ),
        (
            "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
            {"f": {"lifecycleStag": {"eq": "LEAD"}}},
        ),
    ]
    for query, variables in typos:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        body = response.json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
        assert "Did you mean" not in response.text, body
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert "graphiql" not in page.text.lower()
    # the same requests outside production
    dev = await make_client(rate_limit=0)
    typo = await dev.post(
        "/graphql", json={"query": "{ contactz { totalCount } }"}, headers=headers
    )
    assert "Did you mean" in typo.text
    for query, variables in typos:  # outside production the hints help developers
        response = await dev.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert "Did you mean" in response.text, query


async def test_batches_are_refused_with_a_graphql_error(api, client):
    response = await client.post(
        "/graphql",
        json=[{"query": QUERY}, {"query": QUERY}],
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "Batching" in error["message"]


async def test_failed_authentication_is_rate_limited_per_address(api, database):
    app = create_app(
        Settings(rate_limit=0, auth_failure_limit=0.5, auth_failure_burst=3), database=database
    )

    def client_at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 4711))
        return httpx.AsyncClient(transport=transport, base_url="http://relasi.test")

    async with client_at("203.0.113.7") as guesser, client_at("198.51.100.2") as other:

        async def post(client: httpx.AsyncClient, key: str | None) -> httpx.Response:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            return await client.post("/graphql", json={"query": QUERY}, headers=headers)

        # forgetting the key is no guess; wrong keys are, three in a row are allowed
        assert [(await post(guesser, None)).status_code for _ in range(5)] == [401] * 5
        wrong = [(await post(guesser, f"rls_x_{i}")).status_code for i in range(3)]
        assert wrong == [401, 401, 401]
        refused = await post(guesser, "rls_x_4")
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "2"
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        # the address is refused before its token is looked at, even a valid one
        assert (await post(guesser, api.key)).status_code == 429
        # other addresses are not affected
        assert (await post(other, api.key)).status_code == 200
        assert (await post(other, "rls_x_5")).status_code == 401
