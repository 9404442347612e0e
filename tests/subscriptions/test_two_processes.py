"""Two `relasi serve` processes on one database: a write through one reaches a subscriber of
the other (PostgreSQL LISTEN/NOTIFY carries it; there is no other service)."""

import asyncio
import signal

import httpx

from relasi.resolvers.workspaces import create_workspace
from tests.cli.serving import free_port, serve, stop, wait_ready
from tests.subscriptions.wsclient import connect

TRACK = """mutation($c: ID!, $s: String!) {
  trackInteraction(input: {contactId: $c, channel: CHAT, kind: MESSAGE, summary: $s}) {
    interaction { id } userErrors { message } } }"""
ADDED = "subscription($c: ID) { interactionAdded(contactId: $c) { id summary } }"


async def test_a_write_through_one_process_reaches_a_subscriber_of_another(database, tmp_path):
    async with database.pool.acquire() as conn:
        _, key = await create_workspace(conn, "Two processes")
    ports = [free_port(), free_port()]
    processes = [serve(tmp_path, port, DATABASE_URL=database.dsn) for port in ports]
    headers = {"Authorization": f"Bearer {key}"}
    subscriber_url, writer_url = (f"http://127.0.0.1:{port}/graphql" for port in ports)
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            for process, port in zip(processes, ports, strict=True):
                await asyncio.to_thread(wait_ready, process, port)

            async def post(query: str, **variables) -> dict:
                response = await client.post(
                    writer_url, json={"query": query, "variables": variables}, headers=headers
                )
                assert response.status_code == 200, response.text
                body = response.json()
                assert "errors" not in body, body
                return body["data"]

            created = await post(
                'mutation { createContact(input: {firstName: "Dua"}) { contact { id } } }'
            )
            contact = created["createContact"]["contact"]["id"]

            async with connect(subscriber_url, client) as sock:
                assert (await sock.init(key))["type"] == "connection_ack"
                op = await sock.subscribe(ADDED, c=contact)
                # the subscription is live once a probe written through the other process
                # arrives (probes written before that are simply never delivered)
                for _ in range(60):
                    await post(TRACK, c=contact, s="probe")
                    try:
                        await sock.data(op, timeout=0.5)
                        break
                    except TimeoutError:
                        continue
                else:
                    raise AssertionError("no probe arrived")

                data = await post(TRACK, c=contact, s="the one")
                expected = data["trackInteraction"]["interaction"]["id"]
                while True:  # a late probe may still be on its way
                    event = (await sock.data(op, timeout=10))["interactionAdded"]
                    if event["summary"] != "probe":
                        break
                assert event == {"id": expected, "summary": "the one"}
    finally:  # both stopped, whichever fails to stop cleanly
        stopped = [asyncio.to_thread(stop, process, signal.SIGINT) for process in processes]
        for result in await asyncio.gather(*stopped, return_exceptions=True):
            if isinstance(result, BaseException):
                raise result
