"""Real servers for the tests: `relasi serve` processes on the embedded PostgreSQL of a
temporary data dir, and an app under uvicorn in the test's own event loop (`in_loop`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def in_loop(app: Any, **config: Any) -> AsyncIterator[str]:
    """`app` behind a real uvicorn on a free loopback port, in this event loop (`config`:
    uvicorn's options, e.g. `ws`, `lifespan`); yields its base URL."""
    port = free_port()
    config = {"log_level": "warning", "lifespan": "off", **config}
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert not task.done(), task.exception()
            assert time.monotonic() < deadline, "uvicorn did not start"
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The embedded default (no DATABASE_URL), one worker unless a test asks for more."""
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**base, "RELASI_DATA_DIR": str(data_dir), "RELASI_WORKERS": "1", **settings}


def serve(data_dir: Path, port: int, *extra: str, **settings: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "relasi", "serve", "--port", str(port), *extra],
        env=env(data_dir, **settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_ready(process: subprocess.Popen, port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server on {port} not ready in {timeout}s")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    """Stop a server with `sig`; it must exit cleanly. Its output."""
    process.send_signal(sig)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out
    return out


def create_workspace(data_dir: Path, name: str = "Serve Co") -> str:
    """A new workspace's admin key, made by the CLI (another user of the embedded server)."""
    created = subprocess.run(
        [sys.executable, "-m", "relasi", "workspace", "create", name, "--json"],
        env=env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(created.stdout)["api_key"]


def query(port: int, key: str, query: str) -> dict:
    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def postmaster_pid(data_dir: Path) -> int | None:
    """The pid of the embedded PostgreSQL if it runs."""
    pid_file = data_dir / "postgres" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, 0)
    except (FileNotFoundError, IndexError, ValueError, ProcessLookupError):
        return None
    return pid


def postgres_stops(data_dir: Path, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while postmaster_pid(data_dir) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def embedded_dsn(data_dir: Path) -> str:
    """Relasi's database on the running embedded server (its socket, from postmaster.pid)."""
    lines = (data_dir / "postgres" / "postmaster.pid").read_text().splitlines()
    port, socket_dir = lines[3].strip(), lines[4].strip()
    return f"postgresql://postgres@/relasi?host={socket_dir}&port={port}"


def refuses_connections(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def clean_up(data_dir: Path, *processes: subprocess.Popen | None) -> None:
    """After a failed test: kill what still runs; a CLI command run last stops PostgreSQL."""
    for process in processes:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
    if postmaster_pid(data_dir) is not None:
        subprocess.run([sys.executable, "-m", "relasi", "migrate"], env=env(data_dir), timeout=120)
