"""Jobs through real `relasi worker` processes: transactional enqueue, retries, recovery after
kill -9, graceful stop, periodic work with two workers."""

import asyncio
import signal
import time

import asyncpg
import pytest

from relasi.auth.principal import Principal
from relasi.jobs import enqueue
from relasi.resolvers.session import Session
from tests.jobs.conftest import events, stopped, wait_for


async def queued(database, token: str) -> list[str]:
    """The statuses of the queue's jobs for `token`."""
    async with database.pool.acquire() as conn:
        return [
            r["status"]
            for r in await conn.fetch(
                "SELECT status::text FROM pgqueuer"
                " WHERE convert_from(payload, 'UTF8')::jsonb ->> 'token' = $1",
                token,
            )
        ]


async def done_with(database, token: str, timeout: float = 30) -> None:
    """Wait until the job for `token` has left the queue (a worker reports a finished job a
    moment after it returns)."""
    deadline = time.monotonic() + timeout
    while (left := await queued(database, token)) != []:
        assert time.monotonic() < deadline, f"the job is still {left}"
        await asyncio.sleep(0.2)


async def test_a_job_runs_once_if_its_transaction_commits_and_never_if_not(
    database, workers, token
):
    rolled_back, committed, last = f"{token}-rb", f"{token}-c", f"{token}-last"
    async with database.pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await enqueue(conn, "probe.record", {"token": rolled_back})
        await transaction.rollback()
        async with conn.transaction():
            await enqueue(conn, "probe.record", {"token": committed})
    workers()
    await wait_for(database, committed, "ran")
    async with database.pool.acquire() as conn:
        await enqueue(conn, "probe.record", {"token": last})
    await wait_for(database, last, "ran")  # the worker went past the first one
    assert [e[0] for e in await events(database, committed)] == ["ran"]
    assert await events(database, rolled_back) == []
    assert await queued(database, rolled_back) == []


async def test_a_failing_job_is_retried_until_it_succeeds(database, workers, token):
    workers()
    async with database.pool.acquire() as conn:
        await enqueue(conn, "probe.flaky", {"token": token, "failures": 2})
    found = await wait_for(database, token, "done")
    assert [(e[0], e[2]) for e in found] == [
        ("attempt", 0),
        ("attempt", 1),
        ("attempt", 2),
        ("done", 2),
    ]


async def test_a_job_whose_worker_was_killed_runs_to_completion_on_another(
    database, workers, token
):
    first = workers()
    async with database.pool.acquire() as conn:
        await enqueue(conn, "probe.slow", {"token": token, "seconds": 600})
    await wait_for(database, token, "started")
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = workers()
    found = await wait_for(database, token, "finished")
    assert [e[0] for e in found] == ["started", "started", "finished"]
    assert {e[1] for e in found[1:]} == {second.pid}
    await done_with(database, token)


async def test_sigterm_lets_the_running_job_finish(database, workers, token):
    worker = workers()
    async with database.pool.acquire() as conn:
        await enqueue(conn, "probe.slow", {"token": token, "seconds": 3})
    await wait_for(database, token, "started")
    worker.send_signal(signal.SIGTERM)
    stopped(worker)
    found = await events(database, token)
    assert [e[0] for e in found] == ["started", "finished"]
    assert {e[1] for e in found} == {worker.pid}
    assert await queued(database, token) == []


async def test_a_job_past_the_grace_period_is_queued_again_and_run_by_the_next_worker(
    database, workers, token
):
    worker = workers(RELASI_SHUTDOWN_TIMEOUT="1")
    async with database.pool.acquire() as conn:
        await enqueue(conn, "probe.slow", {"token": token, "seconds": 600})
    await wait_for(database, token, "started")
    worker.send_signal(signal.SIGTERM)
    stopped(worker)
    assert await queued(database, token) == ["queued"]
    workers()
    found = await wait_for(database, token, "finished")
    assert [e[0] for e in found] == ["started", "started", "finished"]


async def test_periodic_work_runs_once_per_tick_with_two_workers(database, workers, token):
    running = [workers(PROBE_TICK_TOKEN=token) for _ in range(2)]
    found = await wait_for(database, token, "tick-end", count=4)
    for worker in running:
        worker.send_signal(signal.SIGTERM)
    for worker in running:
        stopped(worker)
    # each tick ran start to end before the next began, though each takes longer than its
    # period: the workers never ran one at the same time
    found = [e[0] for e in await events(database, token)]
    assert found == ["tick-start", "tick-end"] * (len(found) // 2)


async def test_a_request_enqueues_as_the_app_role_which_may_read_no_jobs(
    database, workers, api, token
):
    session = Session(database, Principal(api.workspace_id))
    session.read_only = False  # a mutation's
    assert await session.fetchval("SELECT current_user") == "relasi_app"
    await enqueue(session, "probe.record", {"token": token})
    await session.close()  # commits
    async with database.pool.acquire() as conn:
        for statement in (
            "SELECT payload FROM pgqueuer",
            "UPDATE pgqueuer SET priority = 1",
            "DELETE FROM pgqueuer",
            "SELECT * FROM pgqueuer_schedules",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with conn.transaction():
                    await database.begin_request(conn, api.workspace_id)
                    await conn.execute(statement)
    workers()
    await wait_for(database, token, "ran")
