"""Two `relasi serve` processes on one database: a write through one reaches a subscriber of
the other (PostgreSQL LISTEN/NOTIFY carries it; there is no other service)."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import httpx

from relasi.resolvers.workspaces import create_workspace
from tests.subscriptions.test_overflow import free_port
from tests.subscriptions.wsclient import connect

TRACK = """mutation($c: ID!, $s: String!) {
  trackInteraction(input: {contactId: $c, channel: CHAT, kind: MESSAGE, summary: $s}) {
    interaction { id } userErrors { message } } }"""
ADDED = "subscription($c: ID) { interactionAdded(contactId: $c) { id summary } }"


async def _ready(client: httpx.AsyncClient, process: subprocess.Popen, port: int, log) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, f"relasi serve exited: {log.read_text()[-2000:]}"
        try:
            if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"server on {port} not ready: {log.read_text()[-2000:]}")


async def test_a_write_through_one_process_reaches_a_subscriber_of_another(database, tmp_path):
    async with database.pool.acquire() as conn:
        _, key = await create_workspace(conn, "Two processes")
    env = {
        **os.environ,
        "DATABASE_URL": database.dsn,
        "RELASI_DATA_DIR": str(tmp_path),
        "RELASI_WORKERS": "1",
    }
    ports = [free_port(), free_port()]
    logs = [open(tmp_path / f"serve-{port}.log", "w") for port in ports]  # noqa: SIM115
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "relasi", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    headers = {"Authorization": f"Bearer {key}"}
    subscriber_url, writer_url = (f"http://127.0.0.1:{port}/graphql" for port in ports)
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            for process, port in zip(processes, ports, strict=True):
                await _ready(client, process, port, tmp_path / f"serve-{port}.log")

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
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()
