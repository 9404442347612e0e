"""`relasi worker` with the tests' probe jobs registered besides Relasi's own, run as
`python -m tests.jobs.probe worker ...`. Each probe writes what it does to `job_probe` (made
by tests/jobs/conftest.py), keyed by the token its payload carries."""

import asyncio
import os

from relasi.cli import app
from relasi.jobs import JobContext, entrypoint, periodic


async def record(ctx: JobContext, token: str, event: str) -> int:
    """Record `event`; how many times `token` has recorded it (this one included)."""
    async with ctx.db.pool.acquire() as conn:
        return await conn.fetchval(
            """WITH added AS (INSERT INTO job_probe (token, event, pid, attempts)
                              VALUES ($1, $2, $3, $4))
               SELECT count(*) + 1 FROM job_probe WHERE token = $1 AND event = $2""",
            token,
            event,
            os.getpid(),
            ctx.attempts,
        )


@entrypoint("probe.record")
async def run_once(ctx: JobContext, payload: dict) -> None:
    await record(ctx, payload["token"], "ran")


@entrypoint("probe.flaky", retry_after=0.2)
async def fail_at_first(ctx: JobContext, payload: dict) -> None:
    """Fails its first `failures` runs."""
    await record(ctx, payload["token"], "attempt")
    if ctx.attempts < payload["failures"]:
        raise RuntimeError("the probe fails on purpose")
    await record(ctx, payload["token"], "done")


@entrypoint("probe.slow")
async def take_time(ctx: JobContext, payload: dict) -> None:
    """Its first run takes `seconds`; a run after that (the job was picked again) finishes
    at once."""
    if await record(ctx, payload["token"], "started") == 1:
        await asyncio.sleep(payload["seconds"])
    await record(ctx, payload["token"], "finished")


@periodic("probe.tick", every=1)
async def tick(ctx: JobContext) -> None:
    """Takes longer than its period, so two workers running one tick at once would show."""
    token = os.environ.get("PROBE_TICK_TOKEN")
    if token:
        await record(ctx, token, "tick-start")
        await asyncio.sleep(1.5)
        await record(ctx, token, "tick-end")


if __name__ == "__main__":
    app()
