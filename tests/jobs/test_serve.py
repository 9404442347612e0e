"""Background jobs beside real `relasi serve` processes on the embedded PostgreSQL. (Jobs
inside the server: tests/segments/test_concurrency.py runs the server's lifespan.)"""

import subprocess
import sys
import time

import asyncpg
import httpx

from relasi.db import use_system
from relasi.resolvers import global_ids
from tests.cli.serving import (
    clean_up,
    create_workspace,
    embedded_dsn,
    env,
    free_port,
    postgres_stops,
    serve,
    stop,
    wait_ready,
)
from tests.conftest import Api
from tests.segments import helpers as h

FAST_SEGMENTS = {
    "RELASI_SEGMENT_REFRESH_INTERVAL": "1",
    "RELASI_SEGMENT_RECONCILE_INTERVAL": "1",
}


async def test_a_worker_beside_a_server_without_jobs_refreshes_segments(data_dir):
    port = free_port()
    server = serve(data_dir, port, RELASI_JOBS_IN_SERVER="false", **FAST_SEGMENTS)
    worker = None
    try:
        wait_ready(server, port)
        key = create_workspace(data_dir)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            api = Api(client, None, key)
            ayu = await h.contact(api, "Ayu")
            segment = await h.create_segment(api, "Touched", {"touchpoints": {}})
            # a bulk import writes past the API: only the scheduled refresh sees it
            conn = await asyncpg.connect(embedded_dsn(data_dir))
            try:
                await use_system(conn)
                assert (
                    await conn.execute(
                        "INSERT INTO interactions (workspace_id, contact_id, channel, kind)"
                        " SELECT workspace_id, id, 'WEB', 'PAGE_VIEW' FROM contacts WHERE id = $1",
                        global_ids.decode(ayu, "Contact"),
                    )
                    == "INSERT 0 1"
                )
            finally:
                await conn.close()
            worker = subprocess.Popen(
                [sys.executable, "-m", "relasi", "worker"],
                env=env(data_dir, **FAST_SEGMENTS),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            deadline = time.monotonic() + 90
            while await h.members(api, segment["id"]) != {ayu}:
                assert worker.poll() is None, worker.stdout.read()
                if time.monotonic() > deadline:
                    worker.terminate()
                    raise AssertionError(f"no refresh; the worker said: {worker.communicate()[0]}")
                time.sleep(0.3)
        stop(worker)
        stop(server)
        assert postgres_stops(data_dir)  # the worker was a user of it like the server
    finally:
        clean_up(data_dir, server, worker)
