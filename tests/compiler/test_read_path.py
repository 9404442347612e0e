"""Choosing the path: RELASI_READ_PATH (default compiled) and the X-Relasi-Read-Path header,
and the response header saying which path answered."""

import httpx
import pytest

from relasi.server import create_app
from relasi.settings import Settings
from tests.conftest import Api

QUERY = "{ contacts(first: 2) { nodes { fullName } } }"


async def test_the_header_chooses_and_the_answer_says_which(api):
    await api.mutate(
        'mutation { createContact(input: {firstName: "Ayu"}) '
        "{ contact { id } userErrors { field message code } } }"
    )
    default = await api.post(QUERY)
    assert default.headers["x-relasi-read-path"] == "compiled"
    resolvers = await api.post(QUERY, **{"X-Relasi-Read-Path": "resolvers"})
    assert resolvers.headers["x-relasi-read-path"] == "resolvers"
    assert (
        default.json()
        == resolvers.json()
        == {"data": {"contacts": {"nodes": [{"fullName": "Ayu"}]}}}
    )
    # a mutation, or a query the compiler does not cover, is answered by the resolvers
    uncovered = await api.post("{ previewSegment(ruleJson: {nope: 1}) { userErrors { code } } }")
    assert uncovered.headers["x-relasi-read-path"] == "resolvers"


async def test_a_bad_header_value_is_refused(api):
    response = await api.post(QUERY, **{"X-Relasi-Read-Path": "fast"})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "compiled, resolvers" in error["message"]


@pytest.mark.parametrize("setting", ["resolvers", "compiled"])
async def test_the_setting_is_the_default(database, api, setting):
    app = create_app(Settings(rate_limit=0, read_path=setting), database=database)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as client:
        response = await Api(client, api.workspace_id, api.key).post(QUERY)
    assert response.status_code == 200
    assert response.headers["x-relasi-read-path"] == setting
