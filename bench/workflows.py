"""Workflows: the time from a triggering write's commit to its run's action commits, and what
enabled workflows that do not match cost each write.

    python bench/workflows.py [--changes 1000] [--rate 100] [--writers 4] [--idle 50]

A scratch database (embedded, or on DATABASE_URL). Part 1: a workspace with one workflow
(contact created -> set its city, add a note: two actions); writers insert `--changes`
contacts, one per transaction, paced at `--rate`; a job worker like `relasi serve`'s runs
matching and the runs in this process. Latency is read from the change log's own commit
times: the contact's `contact.created` commit to the commit of the run's first action (its
`contact.updated`, made by the workflow) and of its last (`note.added`). Part 2: the mean
time of a `createContact` request (through the app, as a client sends it) in a workspace
without workflows and in one with `--idle` enabled workflows that watch deals, with the
worker running in both.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time

import httpx
from scratch import bench_settings, new_workspace, percentiles, scratch_database

from relasi.db import system_connection, use_workspace
from relasi.jobs.worker import Worker
from relasi.server import create_app

CREATE = """mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) {
  workflow { id } userErrors { field message } } }"""
MATCHING = {
    "name": "Welcome",
    "recordType": "CONTACT",
    "triggers": [{"recordEvent": {"event": "CREATED"}}],
    "actions": [
        {"updateRecord": {"fields": {"city": "Jakarta"}}},
        {"addNote": {"body": "Welcome {{contact.firstName}}"}},
    ],
}
IDLE = {
    "recordType": "DEAL",
    "triggers": [{"fieldChanged": {"field": "stage", "to": "Won"}}],
    "actions": [{"addNote": {"body": "Won {{deal.name}}"}}],
}
CONTACT = """mutation($n: String!) { createContact(input: {firstName: $n}) {
  contact { id } userErrors { message } } }"""
# per run: the triggering commit, and the commits of the first and the last of its writes
LATENCY = """
SELECT extract(epoch FROM (min(c.committed_at) - t.committed_at)) * 1000 AS first_ms,
       extract(epoch FROM (max(c.committed_at) - t.committed_at)) * 1000 AS last_ms
  FROM workflow_runs r
  JOIN change_commits t
    ON t.workspace_id = r.workspace_id AND t.sequence = (r.trigger->>'sequence')::bigint
  JOIN change_events e ON e.workspace_id = r.workspace_id AND e.actor_workflow_run_id = r.id
  JOIN change_commits c ON c.workspace_id = e.workspace_id AND c.xid = e.xid
 WHERE r.workspace_id = $1 AND r.status = 'SUCCEEDED'
 GROUP BY r.id, t.committed_at"""


async def _post(client: httpx.AsyncClient, key: str, query: str, **variables) -> dict:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def _insert(db, workspace_id, count: int, rate: float, writers: int) -> None:
    start = time.monotonic()

    async def writer(index: int) -> None:
        async with db.pool.acquire() as conn:
            await use_workspace(conn, workspace_id, local=False)
            for n in range(index, count, writers):
                delay = start + n / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await conn.execute(
                    "INSERT INTO contacts (workspace_id, first_name) VALUES ($1, $2)",
                    workspace_id,
                    f"Bench {n}",
                )

    await asyncio.gather(*(writer(i) for i in range(writers)))


async def _settled(db, workspace_id, count: int, timeout: float = 600) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with system_connection(db) as conn:
            done = await conn.fetchval(
                "SELECT count(*) FROM workflow_runs WHERE workspace_id = $1"
                " AND status NOT IN ('QUEUED', 'RUNNING')",
                workspace_id,
            )
        if done >= count:
            return done
        await asyncio.sleep(0.5)
    return done


async def _write_times(client, key: str, count: int) -> list[float]:
    times = []
    for n in range(count):
        started = time.perf_counter()
        await _post(client, key, CONTACT, n=f"Write {n}")
        times.append((time.perf_counter() - started) * 1000)
    return times


async def main(changes: int, rate: float, writers: int, idle: int, writes: int) -> None:
    settings = bench_settings()
    async with scratch_database(max_size=writers + 12) as (_dsn, db):
        app = create_app(settings, database=db)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench"
        ) as client:
            made = {}
            for name in ("Workflows bench", "No workflows", "Idle workflows"):
                async with db.pool.acquire() as conn:  # each: system work until released
                    made[name] = await new_workspace(conn, name)
            busy, busy_key = made["Workflows bench"]
            plain_key, quiet_key = made["No workflows"][1], made["Idle workflows"][1]
            await _post(client, busy_key, CREATE, i=MATCHING)
            for i in range(idle):
                await _post(client, quiet_key, CREATE, i={**IDLE, "name": f"Idle {i}"})
            worker = Worker(db, settings)
            await worker.start()
            try:
                started = time.monotonic()
                await _insert(db, busy, changes, rate, writers)
                written = time.monotonic() - started
                done = await _settled(db, busy, changes)
                drained = time.monotonic() - started
                async with system_connection(db) as conn:
                    rows = await conn.fetch(LATENCY, busy)
                # part 2: the same writes with and without idle workflows, alternating
                without, with_idle = [], []
                for _ in range(3):
                    without += await _write_times(client, plain_key, writes // 3)
                    with_idle += await _write_times(client, quiet_key, writes // 3)
            finally:
                await worker.stop()
    first = percentiles([r["first_ms"] for r in rows])
    last = percentiles([r["last_ms"] for r in rows])
    print(f"written: {changes} matching changes in {written:.1f} s ({changes / written:.0f}/s)")
    print(
        f"runs finished: {done} ({done / drained:.0f}/s from the first write to the last run's"
        f" end), succeeded with both actions: {len(rows)}"
    )
    print(f"trigger commit -> first action's commit: p50 {first[0]:.0f} ms, p99 {first[1]:.0f} ms")
    print(f"trigger commit -> last action's commit:  p50 {last[0]:.0f} ms, p99 {last[1]:.0f} ms")
    m0, m1 = statistics.mean(without), statistics.mean(with_idle)
    print(
        f"createContact: {m0:.2f} ms without workflows, {m1:.2f} ms with {idle} idle "
        f"workflows enabled ({m1 - m0:+.2f} ms, {(m1 - m0) / m0 * 100:+.1f} %; "
        f"medians {statistics.median(without):.2f} / {statistics.median(with_idle):.2f} ms)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--idle", type=int, default=50)
    parser.add_argument("--writes", type=int, default=600)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(args.changes, args.rate, args.writers, args.idle, args.writes))
