"""A `relasi worker` process raises `task.overdue` on its own schedule: once, for a task due
and not done; never for one done in time or due later."""

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from tests.changes.helpers import end_cursor, read_all
from tests.tasks.helpers import create, status


async def test_a_worker_process_raises_overdue_once(api, database, tmp_path):
    start = await end_cursor(api)
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    late = await create(api, title="Due in two seconds", dueAt=soon)
    done = await create(api, title="Done in time", dueAt=soon)
    await status(api, "complete", done["id"])
    await create(
        api, title="Next year", dueAt=(datetime.now(UTC) + timedelta(days=365)).isoformat()
    )
    env = {**os.environ, "DATABASE_URL": database.dsn, "RELASI_DATA_DIR": str(tmp_path)}
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 (the process writes it)
    worker = subprocess.Popen(
        [sys.executable, "-m", "relasi", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while not (events := (await read_all(api, after=start, types=["task.overdue"]))[0]):
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            await asyncio.sleep(0.5)
        await asyncio.sleep(7)  # another tick: nothing more is raised
        events, _ = await read_all(api, after=start, types=["task.overdue"])
    finally:
        worker.terminate()
        worker.wait(30)
    assert [e["recordId"] for e in events] == [late["id"]]
