"""Webhooks: changes per second through the change log to a local receiver, and the time from
a write's commit to the receiver having its delivery.

    python bench/webhooks.py [--rate 500] [--seconds 10] [--writers 8] [--concurrency 32]

A scratch database (embedded, or on DATABASE_URL) gets a workspace with one endpoint pointing
at a receiver on loopback (a separate process: Starlette under uvicorn, verifying every
signature with `standardwebhooks`). Writers insert contacts, one per transaction (one
`contact.created` each), paced at `--rate` in all; a job worker like `relasi serve`'s runs
fan-out and delivery in this process. Printed: the rate written, deliveries received,
p50/p99 from commit to receipt, and the attempts made (how many failed). Results, with the
machine's load at the time, are in README.md (Benchmarks, Webhooks); on a shared machine
report the load average next to any number.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import subprocess
import sys
import time

import httpx
from scratch import new_workspace, percentiles, scratch_database

from relasi.db import use_system, use_workspace
from relasi.jobs.worker import Worker
from relasi.resolvers import global_ids
from relasi.server import create_app
from relasi.settings import Settings

CREATE = """mutation($url: String!) { createWebhookEndpoint(input: {url: $url,
  eventTypes: ["contact.created"]}) { secret userErrors { message } } }"""


def receive(port: int, secret: str) -> None:
    """The receiver process: verifies, notes (time, record id) of each delivery."""
    import uvicorn
    from standardwebhooks import Webhook
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    hook, arrivals = Webhook(secret), []

    async def deliver(request):
        body = await request.body()
        payload = hook.verify(body, dict(request.headers))  # raises (500) if forged
        arrivals.append((time.time(), payload["data"]["recordId"]))
        return PlainTextResponse("ok")

    async def seen(request):
        return JSONResponse(arrivals)

    app = Starlette(routes=[Route("/hook", deliver, methods=["POST"]), Route("/seen", seen)])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def main(rate: float, seconds: float, writers: int, concurrency: int) -> None:
    settings = Settings(
        rate_limit=0,
        webhook_allowed_hosts="127.0.0.1",
        webhook_secret_key=base64.b64encode(os.urandom(32)).decode(),
        webhook_endpoint_concurrency=concurrency,
    )
    async with scratch_database(max_size=writers + 8) as (_dsn, db):
        async with db.pool.acquire() as conn:
            workspace_id, key = await new_workspace(conn, "Webhooks bench")
        port = 20_000 + os.getpid() % 20_000
        app = create_app(settings, database=db)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            made = await client.post(
                "/graphql",
                json={"query": CREATE, "variables": {"url": f"http://127.0.0.1:{port}/hook"}},
                headers={"Authorization": f"Bearer {key}"},
            )
        secret = made.json()["data"]["createWebhookEndpoint"]["secret"]
        receiver = subprocess.Popen(
            [sys.executable, __file__, "--receive", str(port), "--secret", secret]
        )
        worker = Worker(db, settings)
        try:
            async with httpx.AsyncClient() as http:
                for _ in range(100):
                    try:
                        await http.get(f"http://127.0.0.1:{port}/seen")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                await worker.start()
                committed = await _write(db, workspace_id, rate, seconds, writers)
                written = time.time()
                deadline = written + 60
                while time.time() < deadline:
                    seen = (await http.get(f"http://127.0.0.1:{port}/seen")).json()
                    if len(seen) >= len(committed):
                        break
                    await asyncio.sleep(0.2)
            async with db.pool.acquire() as conn:
                await use_system(conn)
                tries = await conn.fetchrow(
                    """SELECT count(*) AS attempts,
                              count(*) FILTER (WHERE status_code IS DISTINCT FROM 200) AS failed,
                              min(coalesce(error, status_code::text)) AS example
                         FROM webhook_attempts"""
                )
        finally:
            await worker.stop()
            receiver.terminate()
            receiver.wait(10)
    latencies = [(at - committed[record]) * 1000 for at, record in seen if record in committed]
    p50, p99 = percentiles(latencies)
    span = max(at for at, _ in seen) - min(committed.values())
    print(
        f"written: {len(committed)} changes at {len(committed) / seconds:.0f}/s (target {rate:g})"
    )
    print(f"received: {len(seen)} deliveries ({len(seen) / span:.0f}/s end to end)")
    print(f"commit to receipt: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(f"attempts: {tries['attempts']}, failed {tries['failed']} (e.g. {tries['example']})")


async def _write(db, workspace_id, rate: float, seconds: float, writers: int) -> dict[str, float]:
    """Contacts inserted at `rate` per second; the commit time of each (by global id)."""
    committed: dict[str, float] = {}
    start = time.monotonic()
    total = int(rate * seconds)

    async def writer(index: int) -> None:
        async with db.pool.acquire() as conn:
            await use_workspace(conn, workspace_id, local=False)
            for n in range(index, total, writers):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                pk = await conn.fetchval(
                    "INSERT INTO contacts (workspace_id, first_name) VALUES ($1, $2) RETURNING id",
                    workspace_id,
                    f"Bench {n}",
                )
                committed[global_ids.encode("Contact", pk)] = time.time()

    await asyncio.gather(*(writer(i) for i in range(writers)))
    return committed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=Settings().webhook_endpoint_concurrency,
        help="RELASI_WEBHOOK_ENDPOINT_CONCURRENCY",
    )
    parser.add_argument("--receive", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:
        receive(args.receive, args.secret)
    else:
        logging.basicConfig(level=logging.WARNING)
        asyncio.run(main(args.rate, args.seconds, args.writers, args.concurrency))
