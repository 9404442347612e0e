"""The app each `relasi serve --workers N` process runs: one that ends with its supervisor.

uvicorn's supervisor stops its workers when it is stopped. Killed (SIGKILL, the OOM killer)
it cannot, and the workers would go on serving the port, holding database connections, with
nothing left to stop them or restart them. So each worker watches its parent and, once it is
gone, stops itself as SIGTERM stops it: in-flight requests finish, sockets are closed.
"""

from __future__ import annotations

import os
import signal
import threading
import time

from starlette.applications import Starlette

SUPERVISOR_PID = "RELASI_SUPERVISOR_PID"  # set by `relasi serve` for its workers
CHECK_EVERY = 0.5  # seconds: how long an orphaned worker may go on serving


def create_app() -> Starlette:
    supervisor = int(os.environ.get(SUPERVISOR_PID, "0"))
    if supervisor and supervisor != os.getpid():  # a worker process, not `serve` itself
        threading.Thread(
            target=_stop_when_orphaned, args=(supervisor,), name="relasi-orphan-watch", daemon=True
        ).start()
    from relasi import gc_policy, server  # here: `relasi serve` imports this module first

    app = server.create_app()
    gc_policy.install()  # after start-up, whose objects it freezes
    return app


def _stop_when_orphaned(supervisor: int) -> None:
    # a dead parent's children are re-parented (to init or a subreaper): getppid changes
    while os.getppid() == supervisor:
        if not threading.main_thread().is_alive():
            return
        time.sleep(CHECK_EVERY)
    os.kill(os.getpid(), signal.SIGTERM)
