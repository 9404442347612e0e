"""Stopping `relasi serve` with signals: graceful for clients, and the embedded PostgreSQL
stopped by the last process using it, whatever happened to the others."""

import asyncio
import signal

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
LOCK_WAITS = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"


async def test_sigterm_finishes_requests_closes_sockets_and_stops_postgres(data_dir):
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    server = serve(data_dir, port, RELASI_SHUTDOWN_TIMEOUT="120")
    try:
        await asyncio.to_thread(wait_ready, server, port)
        key = await asyncio.to_thread(create_workspace, data_dir)
        blocker = await asyncpg.connect(embedded_dsn(data_dir))
        async with httpx.AsyncClient(timeout=120) as client, connect(url, client) as sock:
            assert (await sock.init(key))["type"] == "connection_ack"
            await sock.subscribe("subscription { interactionAdded { id } }")

            # a request in flight: its INSERT waits for our lock on the table
            lock = blocker.transaction()
            await lock.start()
            await blocker.execute("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE")
            slow = asyncio.create_task(
                client.post(url, json={"query": CREATE}, headers={"Authorization": f"Bearer {key}"})
            )
            for _ in range(600):
                if await blocker.fetchval(LOCK_WAITS):
                    break
                await asyncio.sleep(0.1)
            assert await blocker.fetchval(LOCK_WAITS) == 1, await blocker.fetch(
                "SELECT state, wait_event_type, wait_event, query FROM pg_stat_activity"
            )

            server.send_signal(signal.SIGTERM)
            # the WebSocket is closed with a close frame: 1012, the service restarts
            with pytest.raises(WebSocketDisconnect) as closed:
                await sock.receive(timeout=60)
            assert closed.value.code == 1012
            # the server shuts down (no new connections) while the request still runs...
            for _ in range(600):
                if refuses_connections(port):
                    break
                await asyncio.sleep(0.1)
            assert refuses_connections(port)
            assert not slow.done()
            # ...and it finishes once the database lets it
            await lock.rollback()
            await blocker.close()
            response = await slow
        assert response.status_code == 200, response.text
        assert response.json()["data"]["createAccount"] == {
            "account": {"name": "Late"},
            "userErrors": [],
        }
        assert await asyncio.to_thread(server.wait, 120) == 0, server.stdout.read()
        assert postgres_stops(data_dir)
    finally:
        clean_up(data_dir, server)


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
