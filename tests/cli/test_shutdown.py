"""Stopping `relasi serve` with signals: graceful for clients, and the embedded PostgreSQL
stopped by the last process using it, whatever happened to the others."""

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from httpx_ws import WebSocketDisconnect

from tests.cli.serving import (
    clean_up,
    create_workspace,
    embedded_dsn,
    free_port,
    postgres_stops,
    postmaster_pid,
    refuses_connections,
    serve,
    stop,
    wait_ready,
)
from tests.subscriptions.wsclient import connect

CREATE = (
    'mutation { createAccount(input: {name: "Late"}) { account { name } userErrors { code } } }'
)
EARLY = 'mutation { createAccount(input: {name: "Early"}) { account { id } } }'
TRACK = """mutation($a: ID!, $s: String!) {
  trackInteraction(input: {accountId: $a, channel: CHAT, kind: MESSAGE, summary: $s}) {
    userErrors { code } } }"""
# Read outside any transaction: PostgreSQL keeps one snapshot of pg_stat_activity per
# transaction, so polled from inside the lock's transaction it would never show a backend that
# connected after the first poll (a request on a newly opened pool connection).
LOCK_WAITS = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"


async def _waiting_for_a_lock(
    client: httpx.AsyncClient,
    url: str,
    auth: dict[str, str],
    blocker: asyncpg.Connection,
    watcher: asyncpg.Connection,
) -> asyncio.Task:
    """A request in flight: its INSERT waits for `blocker`'s lock on the table until
    `blocker`'s transaction ends."""
    await blocker.execute("BEGIN; LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE")
    slow = asyncio.create_task(client.post(url, json={"query": CREATE}, headers=auth))
    for _ in range(600):
        if await watcher.fetchval(LOCK_WAITS):
            break
        await asyncio.sleep(0.1)
    assert await watcher.fetchval(LOCK_WAITS) == 1, await watcher.fetch(
        "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity"
    )
    return slow


@dataclass
class Served:
    server: subprocess.Popen
    port: int
    url: str
    key: str
    auth: dict[str, str]


@contextlib.asynccontextmanager
async def _served(data_dir, shutdown_timeout: str) -> AsyncIterator[Served]:
    """`relasi serve` whose statements may wait for the test's locks for 120 s, and a
    workspace's key; killed at the end if it still runs."""
    port = free_port()
    server = serve(
        data_dir, port, RELASI_SHUTDOWN_TIMEOUT=shutdown_timeout, RELASI_STATEMENT_TIMEOUT="120"
    )
    try:
        await asyncio.to_thread(wait_ready, server, port)
        key = await asyncio.to_thread(create_workspace, data_dir)
        url = f"http://127.0.0.1:{port}/graphql"
        yield Served(server, port, url, key, {"Authorization": f"Bearer {key}"})
    finally:
        clean_up(data_dir, server)


async def test_sigterm_finishes_requests_closes_sockets_and_stops_postgres(data_dir):
    # the request in flight waits for the test's lock as long as the test holds it
    async with _served(data_dir, shutdown_timeout="120") as served:
        server, url, auth = served.server, served.url, served.auth
        blocker = await asyncpg.connect(embedded_dsn(data_dir))
        watcher = await asyncpg.connect(embedded_dsn(data_dir))
        async with httpx.AsyncClient(timeout=120) as client, connect(url, client) as sock:
            assert (await sock.init(served.key))["type"] == "connection_ack"
            op = await sock.subscribe("subscription { interactionAdded { summary } }")
            # the subscription is live and the notifier reads the change log: events arrive
            early = await client.post(url, json={"query": EARLY}, headers=auth)
            account = early.json()["data"]["createAccount"]["account"]["id"]
            event = None
            for i in range(100):
                variables = {"a": account, "s": f"touch {i}"}
                tracked = await client.post(
                    url, json={"query": TRACK, "variables": variables}, headers=auth
                )
                assert tracked.json()["data"]["trackInteraction"]["userErrors"] == []
                with contextlib.suppress(TimeoutError):
                    event = await sock.data(op, timeout=0.5)
                    break
            assert event is not None and event["interactionAdded"]["summary"].startswith("touch")

            slow = await _waiting_for_a_lock(client, url, auth, blocker, watcher)
            await watcher.close()

            server.send_signal(signal.SIGTERM)
            # the WebSocket is closed with a close frame: 1012, the service restarts
            with pytest.raises(WebSocketDisconnect) as closed:
                await sock.receive(timeout=60)
            assert closed.value.code == 1012
            # the server shuts down (no new connections) while the request still runs...
            for _ in range(600):
                if refuses_connections(served.port):
                    break
                await asyncio.sleep(0.1)
            assert refuses_connections(served.port)
            assert not slow.done()
            # ...and it finishes once the database lets it
            await blocker.execute("ROLLBACK")
            await blocker.close()
            response = await slow
        assert response.status_code == 200, response.text
        assert response.json()["data"]["createAccount"] == {
            "account": {"name": "Late"},
            "userErrors": [],
        }
        assert await asyncio.to_thread(server.wait, 120) == 0, server.stdout.read()
        assert postgres_stops(data_dir)


async def test_a_request_past_the_grace_period_gets_a_503_and_writes_nothing(data_dir):
    async with _served(data_dir, shutdown_timeout="1") as served:
        blocker = await asyncpg.connect(embedded_dsn(data_dir))
        watcher = await asyncpg.connect(embedded_dsn(data_dir))
        try:
            async with httpx.AsyncClient(timeout=120) as client:
                slow = await _waiting_for_a_lock(client, served.url, served.auth, blocker, watcher)
                served.server.send_signal(signal.SIGTERM)
                # a second later uvicorn cancels the request: it answers what a client can act
                # on (not uvicorn's bare 500), once its statement is cancelled and rolled back
                response = await asyncio.wait_for(slow, 60)
            assert await watcher.fetchval(LOCK_WAITS) == 0
            late = await watcher.fetchval("SELECT count(*) FROM accounts WHERE name = 'Late'")
        finally:
            await blocker.close()
            await watcher.close()
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error
        assert error["extensions"]["requestId"] in error["message"]
        assert late == 0
        # the answer does not hold the shutdown up
        assert await asyncio.to_thread(served.server.wait, 60) == 0
        out = served.server.stdout.read()
        assert "Exception in ASGI application" not in out, out
        assert "stopped unfinished by the server's shutdown" in out, out
        assert postgres_stops(data_dir)


def test_a_killed_server_does_not_keep_postgres_running_after_the_last_exit(data_dir):
    port = free_port()
    doomed = survivor = None
    try:
        doomed = serve(data_dir, port)
        wait_ready(doomed, port)
        postgres = postmaster_pid(data_dir)
        doomed.kill()  # SIGKILL: no cleanup of any kind runs
        doomed.wait()
        assert postmaster_pid(data_dir) == postgres  # nobody stopped it

        survivor = serve(data_dir, port)
        wait_ready(survivor, port)
        assert postmaster_pid(data_dir) == postgres  # joined the running server
        stop(survivor, signal.SIGTERM)
        # the killed process is not counted as a user: the last one out stopped PostgreSQL
        assert postgres_stops(data_dir)
    finally:
        clean_up(data_dir, doomed, survivor)
