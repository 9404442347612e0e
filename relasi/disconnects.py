"""A request whose client goes away is not finished for nobody: it is cancelled, and with it
the statement it is running (asyncpg cancels it in PostgreSQL; its transaction rolls back)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from starlette.requests import Request
from starlette.types import Receive

log = logging.getLogger("relasi")


# Most requests are answered sooner than this: they never start a watch (a task of its own
# for every request is a tenth of a short read's server time). A client that left earlier is
# noticed as soon as the watch starts: its first receive says so at once.
WATCH_AFTER = 0.05  # seconds


async def unless_disconnected(request: Request, work: Awaitable[Any]) -> Any:
    """`work`'s result; or, when the client disconnects first, None: `work` is cancelled (a
    statement it is running is cancelled in PostgreSQL, its transaction rolled back). It runs
    in this task; a request still running after `WATCH_AFTER` seconds gets a watch for the
    disconnect, a task of its own."""
    this = asyncio.current_task()
    assert this is not None
    running, gone = True, False
    watch: asyncio.Future[None] | None = None

    def on_disconnect(watched: asyncio.Future[None]) -> None:
        nonlocal gone
        if watched.cancelled():
            return
        watched.exception()  # retrieved: a receive that failed also ends the request
        if running:  # else `work` ended first, and its response goes out
            gone = True
            this.cancel()

    def start_watch() -> None:
        nonlocal watch
        watch = asyncio.ensure_future(_disconnected(request.receive))
        watch.add_done_callback(on_disconnect)

    later = asyncio.get_running_loop().call_later(WATCH_AFTER, start_watch)
    try:
        return await work
    except asyncio.CancelledError:
        if not gone:  # the server is stopping
            raise
        this.uncancel()
        log.debug("client disconnected; its request was cancelled")
        return None
    finally:
        running = False
        later.cancel()
        if watch is not None:
            watch.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
