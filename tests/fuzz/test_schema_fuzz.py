"""Property-based fuzzing of the whole schema (hypothesis-graphql): valid and invalid
documents with random arguments, sent over real HTTP to a running server. Whatever arrives,
the server answers with a GraphQL error of the closed set of codes, never a 500, never a stack
trace, and never an unexpected (INTERNAL_SERVER_ERROR) failure."""

import asyncio
import threading
import time
from datetime import UTC

import asyncpg
import httpx
import pytest
import uvicorn
from graphql import NameNode, ObjectFieldNode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from relasi.errors import ErrorCode
from relasi.resolvers.workspaces import create_workspace
from relasi.schema import schema
from relasi.server import create_app
from relasi.settings import Settings
from tests.cli.serving import free_port

SDL = schema.as_str()
CODES = {code.value for code in ErrorCode} - {ErrorCode.INTERNAL_SERVER_ERROR.value}
SCALARS = {
    "DateTime": st.datetimes(timezones=st.just(UTC)).map(lambda d: nodes.String(d.isoformat())),
    "Date": st.dates().map(lambda d: nodes.String(d.isoformat())),
    "Decimal": st.decimals(allow_nan=False, allow_infinity=False, places=2).map(
        lambda d: nodes.String(str(d))
    ),
    "JSON": st.dictionaries(st.text(max_size=5), st.integers(), max_size=3).map(
        lambda d: nodes.Object(
            [
                ObjectFieldNode(name=NameNode(value=f"k{i}"), value=nodes.Int(v))
                for i, v in enumerate(d.values())
            ]
        )
    ),
}
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def live(database):
    """A real server (uvicorn on loopback, in a thread with its own event loop and pool) and
    an admin key of a fresh workspace with a little data."""

    async def workspace() -> str:
        conn = await asyncpg.connect(database.dsn)
        try:
            return (await create_workspace(conn, "Fuzz"))[1]
        finally:
            await conn.close()

    key = asyncio.run(workspace())
    app = create_app(Settings(database_url=database.dsn, rate_limit=0, pool_max_size=4))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {key}"}
    )
    client.post(
        "/graphql",
        json={"query": 'mutation { createContact(input: {firstName: "Fuzz"}) { contact { id } } }'},
    )
    yield client
    client.close()
    server.should_exit = True
    thread.join(timeout=30)


def _check(client: httpx.Client, document: str) -> None:
    response = client.post("/graphql", json={"query": document}, timeout=30)
    assert response.status_code in (200, 400), (response.status_code, document, response.text)
    assert "Traceback" not in response.text and 'File "' not in response.text
    body = response.json()
    for error in body.get("errors", []):
        assert error.get("extensions", {}).get("code") in CODES, (document, error)


@FUZZ
@given(document=queries(SDL, custom_scalars=SCALARS))
def test_valid_queries(live, document):
    _check(live, document)


@FUZZ
@given(document=mutations(SDL, custom_scalars=SCALARS))
def test_valid_mutations(live, document):
    _check(live, document)


@FUZZ
@given(document=queries(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE))
def test_invalid_queries(live, document):
    _check(live, document)


@FUZZ
@given(document=mutations(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE))
def test_invalid_mutations(live, document):
    _check(live, document)


async def test_nul_characters_are_bad_input_not_crashes(api):
    """Found by the fuzzer: PostgreSQL cannot store U+0000 in text or jsonb."""
    body = await api.raw(
        "mutation($i: CreateContactInput!) { createContact(input: $i) {"
        " contact { id } userErrors { field code } } }",
        i={"firstName": "a\u0000b", "customAttributes": {"k": "\u0000"}},
    )
    assert body["data"]["createContact"]["userErrors"] == [
        {"field": ["input", "firstName"], "code": "BAD_USER_INPUT"},
        {"field": ["input", "customAttributes"], "code": "BAD_USER_INPUT"},
    ]
    search = await api.raw('{ contacts(filter: {search: "\\u0000"}) { totalCount } }')
    assert search["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
