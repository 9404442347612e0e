"""Relasi beside PostGraphile 5 on the same database, with the one-statement ceiling.

Drives the side-by-side kit (`../shared/peer-bench`, see its README) from zero: starts
`relasi serve --demo` on a scratch data dir (embedded PostgreSQL, the demo workspace), installs
and starts PostGraphile 5 on that database, checks that both answer queries A and B alike,
runs the interleaved wrk rounds and the pgbench ceilings, prints the median table, and stops
everything it started.

    python bench/peer_compare.py [--kit ../shared/peer-bench] [--read-path compiled|resolvers]
        [--peer-dir DIR] [--port 8000] [--pg5-port 5402] [--interactions 1000000]

`--interactions N` first grows the demo workspace to N interactions (about 475 more per
contact, spread over two years, written straight into the table without the audit and
change-log triggers), to show that the numbers hold with a big history: both queries read
each contact's newest interactions through an index, whatever their number.

Environment variables of the kit's bench.sh (ROUNDS, DURATION, CONNS, ...) pass through.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kit", type=Path, default=_default_kit())
    parser.add_argument("--read-path", choices=("compiled", "resolvers"), default="compiled")
    parser.add_argument(
        "--peer-dir",
        type=Path,
        default=Path(os.environ.get("PEER_DIR", Path.home() / ".cache" / "relasi-peer")),
        help="where the kit installs PostGraphile and writes results (PEER_DIR)",
    )
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--pg5-port", type=int, default=5402)
    parser.add_argument(
        "--interactions", type=int, default=0, help="grow the workspace to this many first"
    )
    args = parser.parse_args()
    kit = args.kit.resolve()
    if not (kit / "bench.sh").exists():
        sys.exit(f"no peer-bench kit at {kit} (--kit)")
    peer = args.peer_dir.resolve()
    peer.mkdir(parents=True, exist_ok=True)
    data = peer / "relasi-data"
    env = {
        **os.environ,
        "PEER_DIR": str(peer),
        "RELASI_DATA_DIR": str(data),
        "RELASI_RATE_LIMIT": "0",
        "RELASI_LOG_LEVEL": "warning",
        "RELASI_READ_PATH": args.read_path,
    }
    env.pop("DATABASE_URL", None)  # the embedded PostgreSQL in the scratch data dir
    relasi = shutil.which("relasi") or str(Path(sys.executable).parent / "relasi")
    log = open(peer / "relasi.log", "w")  # noqa: SIM115 (kept open while the server runs)
    server = subprocess.Popen(
        [relasi, "serve", "--demo", "--port", str(args.port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for(lambda: "API key" in (peer / "relasi.log").read_text(), server, 300)
        # the key is announced before the workers listen
        _wait_for(lambda: _listening(args.port), server, 60)
        demo = json.loads((data / "demo-workspace.json").read_text())
        key = demo["api_key"]
        socket_dir = (data / "postgres" / "postmaster.pid").read_text().splitlines()[4]
        db = f"postgresql://postgres@/relasi?host={socket_dir}"
        url, pg5 = (
            f"http://127.0.0.1:{args.port}/graphql",
            f"http://127.0.0.1:{args.pg5_port}/graphql",
        )
        if args.interactions:
            asyncio.run(_grow(db, demo["workspace_id"], args.interactions))
        asyncio.run(_settle(db))
        subprocess.run([kit / "setup.sh"], env=env, check=True)
        subprocess.run(
            [kit / "start-postgraphile5.sh", db, str(args.pg5_port)], env=env, check=True
        )
        try:
            bench_env = {**env, "RELASI_NAME": f"Relasi ({args.read_path})"}
            subprocess.run([kit / "bench.sh", url, key, pg5, db], env=bench_env, check=True)
        finally:
            subprocess.run([kit / "stop-postgraphile5.sh"], env=env, check=False)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()
        _stop_postgres(data / "postgres")


# realistic touches: the kinds of the demo's own interactions, spread over each contact
_GROW = """
WITH kinds AS (
    SELECT channel, kind, summary, (row_number() OVER (ORDER BY channel, kind, summary)) - 1 AS i
    FROM (SELECT DISTINCT channel, kind, summary FROM interactions WHERE workspace_id = $1::uuid) d
)
INSERT INTO interactions (workspace_id, contact_id, account_id, channel, kind, occurred_at,
                          summary, source)
SELECT c.workspace_id, c.id, c.account_id, k.channel, k.kind,
       now() - random() * interval '730 days', k.summary, 'bench'
FROM contacts c
CROSS JOIN generate_series(1, $2) AS g
JOIN kinds k ON k.i = abs(hashtext(c.id::text || g::text)::bigint) % (SELECT count(*) FROM kinds)
WHERE c.workspace_id = $1::uuid
"""


async def _grow(dsn: str, workspace_id: str, interactions: int) -> None:
    """The demo workspace grown to `interactions` interactions (as the superuser, without the
    audit and change-log triggers: a bulk load, not API traffic); `_settle` vacuums it."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    workspace = uuid.UUID(workspace_id)
    try:
        have = await conn.fetchval(
            "SELECT count(*) FROM interactions WHERE workspace_id = $1::uuid", workspace
        )
        contacts = await conn.fetchval(
            "SELECT count(*) FROM contacts WHERE workspace_id = $1::uuid", workspace
        )
        per_contact = -(-(interactions - have) // max(contacts, 1))
        if per_contact <= 0:
            return
        print(f"growing the workspace from {have:,} interactions by {per_contact} per contact")
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(_GROW, workspace, per_contact)
    finally:
        await conn.close()


async def _settle(dsn: str) -> None:
    """The database as a running deployment's is once autovacuum has been by: a freshly
    seeded one has no visibility map and no hint bits yet, so the first rounds (whichever
    server they measure) also pay for setting them, and the ceiling, measured last, does not.
    """
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("VACUUM (ANALYZE)")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


def _default_kit() -> Path:
    """`shared/peer-bench` next to the checkout (or next to its parent, for a worktree)."""
    for parent in ROOT.parents:
        if (parent / "shared" / "peer-bench" / "bench.sh").exists():
            return parent / "shared" / "peer-bench"
    return ROOT.parent / "shared" / "peer-bench"


def _wait_for(ready, server: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if server.poll() is not None or time.monotonic() > deadline:
            sys.exit("relasi serve did not start: see relasi.log in the peer dir")
        time.sleep(1)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _stop_postgres(pgdata: Path) -> None:
    """The embedded server may outlive `relasi serve` after a SIGTERM (see the kit's README)."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    postmaster = pid_file.read_text().splitlines()[0]
    binary = subprocess.run(
        ["ps", "-o", "args=", "-p", postmaster], capture_output=True, text=True
    ).stdout.split()
    if not binary:
        return
    command = [str(Path(binary[0]).parent / "pg_ctl"), "-D", str(pgdata), "-w", "stop"]
    if os.geteuid() == 0:  # the embedded server's files belong to the pgserver user
        command = ["runuser", "-u", "pgserver", "--", *command]
    subprocess.run(command, check=False, capture_output=True)


if __name__ == "__main__":
    main()
