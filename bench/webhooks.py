"""Webhooks: changes per second through the change log to a local receiver, and the time from
a write's commit to the receiver having its delivery.

    python bench/webhooks.py [--rate 500] [--seconds 10] [--writers 8] [--concurrency 32]
                             [--workers 1] [--in-process]

A scratch database (embedded, or on DATABASE_URL) gets a workspace with one endpoint pointing
at a receiver on loopback (a separate process: Starlette under uvicorn, verifying every
signature with `standardwebhooks`). Writers insert contacts, one per transaction (one
`contact.created` each), paced at `--rate` in all. Fan-out and delivery run as in production:
in `--workers` `relasi worker` processes of their own (with `--in-process`, a job worker in
this process instead, beside the writers, whose event loop it then shares). Printed: the rate
written, deliveries received, p50/p99 from commit to receipt, the attempts made (how many
failed) and the CPU the worker processes used per delivery. Results, with the machine's load
at the time, are in README.md (Benchmarks, Webhooks); on a shared machine report the load
average next to any number.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import time

import httpx
import psutil
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

    async def count(request):  # polled while waiting: the list is read once, at the end
        return PlainTextResponse(str(len(arrivals)))

    async def seen(request):
        return JSONResponse(arrivals)

    routes = [
        Route("/hook", deliver, methods=["POST"]),
        Route("/count", count),
        Route("/seen", seen),
    ]
    uvicorn.run(Starlette(routes=routes), host="127.0.0.1", port=port, log_level="warning")


async def main(args: argparse.Namespace) -> None:
    settings = Settings(
        rate_limit=0,
        webhook_allowed_hosts="127.0.0.1",
        webhook_secret_key=base64.b64encode(os.urandom(32)).decode(),
        webhook_endpoint_concurrency=args.concurrency,
    )
    async with scratch_database(max_size=args.writers + 8) as (dsn, db):
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
        with tempfile.TemporaryDirectory(prefix="relasi-bench-worker-") as data_dir:
            workers = _Workers(args, settings, dsn, data_dir, db)
            try:
                async with httpx.AsyncClient() as http:
                    await _until(lambda: _count(http, port), "the receiver to listen")
                    await workers.start()
                    committed = await _write(
                        db, workspace_id, args.rate, args.seconds, args.writers
                    )
                    cpu_written = workers.cpu()
                    with contextlib.suppress(TimeoutError):
                        await _until(lambda: _count(http, port, len(committed)), "deliveries", 60)
                    seen = (await http.get(f"http://127.0.0.1:{port}/seen")).json()
                cpu = workers.cpu()
                async with db.pool.acquire() as conn:
                    await use_system(conn)
                    tries = await conn.fetchrow(
                        """SELECT count(*) AS attempts,
                                  count(*) FILTER (WHERE status_code IS DISTINCT FROM 200)
                                      AS failed,
                                  min(coalesce(error, status_code::text)) AS example
                             FROM webhook_attempts"""
                    )
                    # the first leg: from the write to its delivery row (fan-out's lag)
                    fanned = await conn.fetchval(
                        """SELECT array_agg(extract(epoch FROM created_at - occurred_at) * 1000)
                             FROM webhook_deliveries"""
                    )
            finally:
                await workers.stop()
                receiver.terminate()
                receiver.wait(10)
    latencies = [(at - committed[record]) * 1000 for at, record in seen if record in committed]
    p50, p99 = percentiles(latencies)
    span = max(at for at, _ in seen) - min(committed.values())
    written = len(committed)
    print(f"written: {written} changes at {written / args.seconds:.0f}/s (target {args.rate:g})")
    print(f"received: {len(seen)} deliveries ({len(seen) / span:.0f}/s end to end)")
    print(f"commit to receipt: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    fan50, fan99 = percentiles(fanned)
    print(f"of which fan-out (write to delivery row): p50 {fan50:.0f} ms, p99 {fan99:.0f} ms")
    print(f"attempts: {tries['attempts']}, failed {tries['failed']} (e.g. {tries['example']})")
    if cpu is not None:
        print(
            f"worker CPU: {cpu:.1f} s in all ({cpu_written:.1f} s while writing), "
            f"{cpu / max(1, len(seen)) * 1e6:.0f} us per delivery"
        )


class _Workers:
    """The job workers: `relasi worker` processes, or one in this process (--in-process)."""

    def __init__(self, args, settings: Settings, dsn: str, data_dir: str, db) -> None:
        self.args, self.settings, self.db = args, settings, db
        self.env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "RELASI_DATA_DIR": data_dir,
            "RELASI_LOG_LEVEL": "info",
            "RELASI_WEBHOOK_ALLOWED_HOSTS": settings.webhook_allowed_hosts,
            "RELASI_WEBHOOK_SECRET_KEY": settings.webhook_secret_key,
            "RELASI_WEBHOOK_ENDPOINT_CONCURRENCY": str(settings.webhook_endpoint_concurrency),
        }
        self.logs = [os.path.join(data_dir, f"worker{i}.log") for i in range(args.workers)]
        self.processes: list[subprocess.Popen] = []
        self.in_process: Worker | None = None
        self.started = 0.0

    async def start(self) -> None:
        if self.args.in_process:
            self.in_process = Worker(self.db, self.settings)
            await self.in_process.start()
            return
        for path in self.logs:
            with open(path, "w") as log:
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, *self._profiled(path), "-m", "relasi", "worker"],
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        # ready once each says it runs jobs (writes before that would wait for its start)
        await _until(lambda: self._ready(), "the workers to start", 120)
        self.started = self.cpu() or 0.0  # their start (imports, migration check) left out

    def _profiled(self, log: str) -> list[str]:
        """cProfile's arguments when --profile asks for the workers' profiles (beside logs)."""
        return ["-m", "cProfile", "-o", log + ".prof"] if self.args.profile else []

    async def _ready(self) -> bool:
        if any(p.poll() is not None for p in self.processes):
            raise SystemExit(f"a worker exited: see {self.logs}")
        return all("running background jobs" in open(path).read() for path in self.logs)

    def cpu(self) -> float | None:
        """CPU seconds (user + system) the worker processes used since they started."""
        if self.in_process is not None:
            return None  # shared with the writers: not told apart
        total = 0.0
        for process in self.processes:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(process.pid).cpu_times()
                total += times.user + times.system
        return total - self.started

    async def stop(self) -> None:
        if self.in_process is not None:
            await self.in_process.stop()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        if self.args.profile and self.processes:
            import pstats

            pstats.Stats(self.logs[0] + ".prof").sort_stats("tottime").print_stats(40)


async def _count(http: httpx.AsyncClient, port: int, at_least: int = 0) -> bool:
    try:
        return int((await http.get(f"http://127.0.0.1:{port}/count")).text) >= at_least
    except httpx.TransportError:
        return False


async def _until(check, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:g} s for {what}")
        await asyncio.sleep(0.1)


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
    parser.add_argument("--workers", type=int, default=1, help="relasi worker processes")
    parser.add_argument(
        "--in-process", action="store_true", help="run the job worker in the bench's process"
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the workers (printed at the end)"
    )
    parser.add_argument("--receive", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--secret", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receive:
        receive(args.receive, args.secret)
    else:
        logging.basicConfig(level=logging.WARNING)
        asyncio.run(main(args))
