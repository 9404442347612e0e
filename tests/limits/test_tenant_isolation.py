"""One tenant cannot stall the others: statement time limits, cancellation when the client goes
away, and a cap on each caller's requests in flight.

Slow requests are made real and deterministic with locks: the test holds a row (or table) lock
on its own connection, so the API's statement waits inside PostgreSQL for exactly as long as
the test wants."""

import asyncio
import logging

import httpx

from relasi.db import Database
from relasi.server import create_app
from relasi.settings import Settings
from tests.limits.conftest import (
    UPDATE,
    new_contact,
    row_locked,
    serve,
    until,
    waiting_on_locks,
)

CONTACT = "query($id: ID!) { contact(id: $id) { firstName version } }"


async def _soon(request):
    """The request's answer; a request that hangs fails the test instead of the suite."""
    return await asyncio.wait_for(request, 30)


def _update(contact: dict, name: str = "Changed") -> dict:
    return {"id": contact["id"], "version": contact["version"], "name": name}


async def test_a_mutation_past_the_time_limit_is_504_timeout(make_api, database):
    api = await make_api(statement_timeout=0.5)
    contact = await new_contact(api, database)
    async with row_locked(database, contact["pk"]):
        # more timed-out requests than the pool has connections: each gave its own back
        responses = [await _soon(api.post(UPDATE, _update(contact))) for _ in range(10)]
        assert await waiting_on_locks(database) == 0  # PostgreSQL stopped every one of them
    for response in responses:
        assert response.status_code == 504
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == "TIMEOUT", error
        assert "0.5 s" in error["message"] and "Nothing of it was written" in error["message"]
    # nothing was written, and the workspace is served as before
    assert (await api(CONTACT, id=contact["id"]))["contact"] == {
        "firstName": "Lock",
        "version": contact["version"],
    }


async def test_a_timed_out_mutation_undoes_its_whole_document(make_api, database):
    api = await make_api(statement_timeout=0.5)
    contact = await new_contact(api, database)
    document = """mutation($id: ID!, $version: Int!) {
      first: createAccount(input: {name: "Toko Maju"}) { account { name } userErrors { code } }
      late: updateContact(input: {id: $id, version: $version, firstName: "Late"}) {
        contact { id } }
    }"""
    async with row_locked(database, contact["pk"]):
        response = await _soon(
            api.post(document, {"id": contact["id"], "version": contact["version"]})
        )
    assert response.status_code == 504
    assert response.json()["errors"][0]["extensions"]["code"] == "TIMEOUT"
    # GraphQL would answer `data: null`: the account it created is not kept unreported
    assert (await api("{ accounts(first: 5) { totalCount } }"))["accounts"]["totalCount"] == 0


async def test_a_query_past_the_time_limit_fails_whole_without_internal_errors(make_api, database):
    api = await make_api(statement_timeout=0.5)
    async with database.pool.acquire() as conn, conn.transaction():
        await conn.execute("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE")
        body = await _soon(
            api.raw(
                "{ contacts(first: 5) { totalCount } pipelines { totalCount } me { workspaceId } }"
            )
        )
    codes = {e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"TIMEOUT"}, body["errors"]  # later statements are not run on a dead snapshot
    assert (await api("{ contacts(first: 5) { totalCount } }"))["contacts"]["totalCount"] == 0


async def test_one_caller_cannot_hold_the_pool(make_api, database):
    app = create_app(
        Settings(rate_limit=0, max_requests_in_flight=2, in_flight_wait=0.2, statement_timeout=60),
        database=database,
    )
    flooder = await make_api(app, "A")
    neighbour = await make_api(app, "B")
    contact = await new_contact(flooder, database)
    async with row_locked(database, contact["pk"]):
        flood = [
            asyncio.create_task(flooder.post(UPDATE, _update(contact, f"A{i}"))) for i in range(2)
        ]
        await until(lambda: _count_is(database, 2))  # both wait inside PostgreSQL

        refused = await _soon(flooder.post(UPDATE, _update(contact, "A3")))  # 0.2 s, then 429
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"

        # another workspace is served while A's requests are still in flight
        assert (await _soon(neighbour("{ contacts(first: 5) { totalCount } }")))["contacts"] == {
            "totalCount": 0
        }
        assert not any(task.done() for task in flood)
    answers = [(await task).json()["data"]["updateContact"] for task in flood]
    assert sorted(bool(a["userErrors"]) for a in answers) == [False, True]  # one won, one CONFLICT
    # the slots are free again
    assert (await flooder.post("{ me { workspaceId } }")).status_code == 200


async def _count_is(database, expected: int) -> bool:
    return await waiting_on_locks(database) == expected


async def test_a_client_that_disconnects_cancels_its_statement(make_api, database, caplog):
    app = create_app(Settings(rate_limit=0, statement_timeout=60), database=database)
    api = await make_api(app)
    contact = await new_contact(api, database)
    caplog.set_level(logging.DEBUG)
    async with (
        serve(app) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as live,
        row_locked(database, contact["pk"]),
    ):
        request = asyncio.create_task(
            live.post(
                "/graphql",
                json={"query": UPDATE, "variables": _update(contact)},
                headers={"Authorization": f"Bearer {api.key}"},
            )
        )
        await until(lambda: _count_is(database, 1))
        request.cancel()  # the client gives up: httpx closes the connection
        await until(lambda: _count_is(database, 0))  # while the lock is still held
    # it never wrote, not even once the lock was gone
    assert (await api(CONTACT, id=contact["id"]))["contact"]["firstName"] == "Lock"
    assert "client disconnected; its request was cancelled" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_client_that_disconnects_while_sending_is_logged_at_debug(
    make_api, database, caplog
):
    app = create_app(Settings(rate_limit=0), database=database)
    api = await make_api(app)
    caplog.set_level(logging.DEBUG)
    async with serve(app) as url:
        host, port = url.removeprefix("http://").split(":")
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: relasi\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + api.key.encode() + b"\r\n"
            b"Content-Length: 100000\r\n\r\n" + b'{"query": "{ me { workspaceId } }", "x": "'
        )
        await writer.drain()
        writer.close()  # gone with most of its body unsent
        await writer.wait_closed()
        await until(lambda: _logged(caplog, "disconnected before its request was read"))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def _logged(caplog, text: str) -> bool:
    return text in caplog.text


TRACK_ONE = """mutation($c: ID!) { trackInteraction(input: {contactId: $c, channel: WEB,
  kind: PAGE_VIEW}) { created userErrors { field message code } } }"""
TRACK_MANY = """mutation($c: ID!) { trackInteractions(inputs: [{contactId: $c, channel: WEB,
  kind: PAGE_VIEW}]) { results { created } userErrors { field message code } } }"""


async def test_bulk_mutations_run_under_the_longer_limit(make_api, database):
    api = await make_api(statement_timeout=0.3, bulk_statement_timeout=60)
    contact = await new_contact(api, database)
    variables = {"c": contact["id"]}
    async with row_locked(database, contact["pk"]):
        refused = await _soon(api.post(TRACK_ONE, variables))
        assert (refused.status_code, refused.json()["errors"][0]["extensions"]["code"]) == (
            504,
            "TIMEOUT",
        )
        batch = asyncio.create_task(api.raw(TRACK_MANY, **variables))
        await until(lambda: _count_is(database, 1))
        await asyncio.sleep(1)  # more than three times the query limit
        assert await waiting_on_locks(database) == 1 and not batch.done()
    body = await _soon(batch)
    assert body["data"]["trackInteractions"]["results"] == [{"created": True}]


async def test_a_request_waiting_for_its_slot_holds_no_connection(make_api, database):
    """A request that waits for its caller's in-flight slot has authenticated on a pooled
    connection, and gives it back while it waits: with a pool of two, one request of A in
    flight (held by a lock) and one waiting, B is still served."""
    small = await Database.connect(database.dsn, min_size=1, max_size=2)
    try:
        app = create_app(
            Settings(
                rate_limit=0, max_requests_in_flight=1, in_flight_wait=20, statement_timeout=60
            ),
            database=small,
        )
        flooder = await make_api(app, "A")
        neighbour = await make_api(app, "B")
        contact = await new_contact(flooder, database)
        async with row_locked(database, contact["pk"]):
            first = asyncio.create_task(flooder.post(UPDATE, _update(contact, "A1")))
            await until(lambda: _count_is(database, 1))
            waiting = asyncio.create_task(flooder("{ contacts(first: 1) { totalCount } }"))
            await asyncio.sleep(0.5)  # authenticated, waiting for A's one slot
            assert not waiting.done()
            served = await asyncio.wait_for(neighbour("{ contacts(first: 5) { totalCount } }"), 10)
            assert served["contacts"] == {"totalCount": 0}
        assert (await _soon(first)).status_code == 200
        assert (await _soon(waiting))["contacts"]["totalCount"] == 1
    finally:
        await small.close()


async def test_a_flood_of_reads_leaves_a_connection_for_the_servers_own_work(make_api, database):
    """Requests hand their connections on to the next request without the pool
    (`db.ReadyConnections`), but never all of them: with a pool of two flooded by reads, the
    server's own work (the notifier, the jobs), which takes its connections from the pool,
    still gets one in a moment, again and again."""
    small = await Database.connect(database.dsn, min_size=1, max_size=2)
    try:
        app = create_app(Settings(rate_limit=0, max_requests_in_flight=0), database=small)
        flooder = await make_api(app, "A")
        stop, served = asyncio.Event(), [0]

        async def flood() -> None:
            while not stop.is_set():
                assert (await flooder("{ contacts(first: 5) { totalCount } }"))["contacts"]
                served[0] += 1

        async def served_past(n: int) -> bool:
            return served[0] > n

        floods = [asyncio.create_task(flood()) for _ in range(4)]
        try:
            await until(lambda: served_past(20))
            for _ in range(5):
                async with asyncio.timeout(5), small.pool.acquire() as conn:
                    assert await conn.fetchval("SELECT 1") == 1
                before = served[0]
                await until(lambda n=before + 4: served_past(n))  # the flood goes on meanwhile
        finally:
            stop.set()
            await _soon(asyncio.gather(*floods))
    finally:
        await small.close()
