"""Clients that leave while their events are being sent: a real `relasi serve`, whose log is
the operator's view. A socket closed mid-burst is the client's business, not an error."""

import asyncio
import contextlib
import signal

import httpx

from relasi.resolvers.workspaces import create_workspace
from tests.cli.serving import free_port, serve, stop, wait_ready
from tests.subscriptions.wsclient import connect

TRACK = """mutation($c: ID!) {
  trackInteraction(input: {contactId: $c, channel: CHAT, kind: MESSAGE}) {
    interaction { id } userErrors { message } } }"""
ADDED = "subscription($c: ID) { interactionAdded(contactId: $c) { id channel } }"
SOCKETS = 20


async def test_sockets_closed_mid_burst_log_no_errors_and_the_server_serves_on(database, tmp_path):
    async with database.pool.acquire() as conn:
        _, key = await create_workspace(conn, "Leavers")
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    server = serve(tmp_path, port, DATABASE_URL=database.dsn)
    headers = {"Authorization": f"Bearer {key}"}
    try:
        await asyncio.to_thread(wait_ready, server, port)
        async with httpx.AsyncClient(timeout=30) as client:

            async def track(contact: str) -> None:
                response = await client.post(
                    url, json={"query": TRACK, "variables": {"c": contact}}, headers=headers
                )
                assert response.json()["data"]["trackInteraction"]["userErrors"] == []

            created = await client.post(
                url,
                json={
                    "query": 'mutation { createContact(input: {firstName: "Lia"}) '
                    "{ contact { id } } }"
                },
                headers=headers,
            )
            contact = created.json()["data"]["createContact"]["contact"]["id"]

            async with contextlib.AsyncExitStack() as stack:
                sockets = []
                for _ in range(SOCKETS):
                    sock = await stack.enter_async_context(connect(url, client))
                    assert (await sock.init(key))["type"] == "connection_ack"
                    sockets.append((sock, await sock.subscribe(ADDED, c=contact)))
                await _live(track, contact, sockets)
                # a burst the clients will not stay for: they close while it is being sent
                burst = [asyncio.create_task(track(contact)) for _ in range(20)]
                await asyncio.sleep(0.05)
            await asyncio.gather(*burst)

            # the server serves on: a new subscriber gets the next event
            async with connect(url, client) as sock:
                assert (await sock.init(key))["type"] == "connection_ack"
                op = await sock.subscribe(ADDED, c=contact)
                await _live(track, contact, [(sock, op)])
    finally:
        output = await asyncio.to_thread(stop, server, signal.SIGINT)
    assert "Traceback" not in output and "ERROR" not in output, output[-3000:]


async def _live(track, contact: str, sockets: list) -> None:
    """Until each socket has received an event (events written before a subscription is
    registered are never delivered to it)."""
    waiting = list(sockets)
    for _ in range(60):
        await track(contact)
        still = []
        for sock, op in waiting:
            try:
                await sock.data(op, timeout=0.5)
            except TimeoutError:
                still.append((sock, op))
        waiting = still
        if not waiting:
            return
    raise AssertionError(f"{len(waiting)} subscriptions never received an event")
