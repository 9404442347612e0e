"""While PostgreSQL cannot be reached, /graphql answers 503 SERVICE_UNAVAILABLE with
Retry-After (never a bare 500), logs the request id, and recovers by itself. The database is
made unreachable for real: the app's pool connects through a TCP relay the test cuts."""

import asyncio
import logging

import httpx
import pytest

from relasi.db import Database
from relasi.server import create_app
from relasi.settings import Settings
from tests.conftest import new_api
from tests.limits.conftest import UPDATE, new_contact, row_locked, until, waiting_on_locks
from tests.limits.pgproxy import PgProxy
from tests.subscriptions.wsclient import LEGACY_WS, asgi_client, connect

QUERY = "{ contacts(first: 5) { totalCount } }"


@pytest.fixture
async def cut(database):
    """(api, proxy, app): an API whose app reaches PostgreSQL only through `proxy`."""
    proxy = PgProxy(database.dsn)
    await proxy.up()
    db = await Database.connect(proxy.dsn, min_size=0, max_size=2, connect_timeout=1)
    app = create_app(Settings(rate_limit=0, statement_timeout=60), database=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://relasi.test"
    ) as client:
        yield await new_api(database, client), proxy, app
    await proxy.down()
    db.pool.terminate()


def _assert_unavailable(response: httpx.Response, caplog) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "5"
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    request_id = error["extensions"]["requestId"]
    assert request_id in error["message"]
    assert any(
        r.name == "relasi" and r.levelno == logging.WARNING and request_id in r.getMessage()
        for r in caplog.records
    )


async def test_database_down_is_503_then_recovers(cut, caplog):
    api, proxy, _ = cut
    assert (await api.post(QUERY)).status_code == 200
    await proxy.down()
    _assert_unavailable(await api.post(QUERY), caplog)
    await proxy.up()
    assert (await api.post(QUERY)).json() == {"data": {"contacts": {"totalCount": 0}}}


async def test_a_silent_database_host_is_503_after_the_connect_timeout(cut, caplog):
    api, proxy, _ = cut
    proxy.silent = True  # no connection in the pool yet (min_size=0): a new one never answers
    _assert_unavailable(await asyncio.wait_for(api.post(QUERY), 30), caplog)
    proxy.silent = False
    assert (await api.post(QUERY)).status_code == 200


async def test_connection_lost_mid_request_is_503(cut, database, caplog):
    api, proxy, _ = cut
    contact = await new_contact(api, database)
    variables = {"id": contact["id"], "version": contact["version"], "name": "Lost"}
    async with row_locked(database, contact["pk"]):
        request = asyncio.create_task(api.post(UPDATE, variables))
        await until(lambda: _waiting(database))  # the UPDATE waits inside PostgreSQL
        await proxy.down()
        response = await asyncio.wait_for(request, 30)
    _assert_unavailable(response, caplog)


async def test_a_commit_that_fails_is_503_and_nothing_is_written(cut, database, caplog):
    api, proxy, _ = cut
    contact = await new_contact(api, database)
    proxy.drop_on_commit = True
    response = await api.post(
        UPDATE, {"id": contact["id"], "version": contact["version"], "name": "Uncommitted"}
    )
    _assert_unavailable(response, caplog)
    proxy.drop_on_commit = False
    found = await api("query($id: ID!) { contact(id: $id) { firstName } }", id=contact["id"])
    assert found["contact"]["firstName"] == "Lock"


async def _waiting(database) -> bool:
    return await waiting_on_locks(database) == 1


async def test_a_websocket_is_refused_with_service_unavailable(cut):
    # (graphql-transport-ws can only close the socket, with 4403, as for a wrong key)
    api, proxy, app = cut
    await proxy.down()
    async with asgi_client(app) as client, connect("/graphql", client, LEGACY_WS) as sock:
        error = await sock.init(api.key)
    assert error["type"] == "connection_error"
    assert error["payload"]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
