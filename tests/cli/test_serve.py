"""`relasi serve` on the embedded default, as a new user runs it: real processes, real ports."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**env, "RELASI_DATA_DIR": str(data_dir)}


def _serve(data_dir: Path, port: int, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "relasi", "serve", "--port", str(port), *extra],
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_ready(process: subprocess.Popen, port: int, timeout: float = 120) -> None:
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


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=60)
    return out


def _postmaster_running(data_dir: Path) -> bool:
    pid_file = data_dir / "postgres" / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _query(port: int, key: str, query: str) -> dict:
    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_two_servers_share_one_embedded_postgres(tmp_path):
    first_port, second_port = _free_port(), _free_port()
    first = _serve(tmp_path, first_port)
    second = None
    try:
        _wait_ready(first, first_port)
        created = subprocess.run(
            [sys.executable, "-m", "relasi", "workspace", "create", "Serve Co", "--json"],
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        key = json.loads(created.stdout)["api_key"]
        mutation = 'mutation { createAccount(input: {name: "Shared"}) { account { id } } }'
        assert _query(first_port, key, mutation)["data"]["createAccount"]["account"]["id"]

        second = _serve(tmp_path, second_port)
        _wait_ready(second, second_port)
        # a write through one process is read through the other: one database
        data = _query(second_port, key, "{ accounts { nodes { name } } }")["data"]
        assert data == {"accounts": {"nodes": [{"name": "Shared"}]}}

        _stop(first)
        assert _postmaster_running(tmp_path)  # still used by the second process
        assert _query(second_port, key, "{ accounts { totalCount } }")["data"]
        _stop(second)
        second = None
        deadline = time.monotonic() + 30
        while _postmaster_running(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _postmaster_running(tmp_path)  # the last one out stopped it
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()


def test_serve_demo_seeds_once_and_prints_its_key(tmp_path):
    port = _free_port()
    server = _serve(tmp_path, port, "--demo")
    try:
        _wait_ready(server, port)
        key = json.loads((tmp_path / "demo-workspace.json").read_text())["api_key"]
        data = _query(port, key, "{ contacts { totalCount } interactions { totalCount } }")["data"]
        assert data["contacts"]["totalCount"] >= 2000
        assert data["interactions"]["totalCount"] >= 50_000
    finally:
        output = _stop(server)
    assert f"API key: {key}" in output

    # a restart finds the demo workspace instead of building another one
    server = _serve(tmp_path, port, "--demo")
    try:
        _wait_ready(server, port)
        data = _query(port, key, "{ contacts { totalCount } }")["data"]
        assert data["contacts"]["totalCount"] >= 2000
    finally:
        output = _stop(server)
    assert f"API key: {key}" in output
    assert (tmp_path / "demo-workspace.json").stat().st_mode & 0o077 == 0  # owner-only
