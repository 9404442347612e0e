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


async def unless_disconnected(request: Request, work: Awaitable[Any]) -> Any:
    """`work`'s result; or, when the client disconnects first, None: `work` is cancelled (a
    statement it is running is cancelled in PostgreSQL, its transaction rolled back). It runs
    in this task: only the watch for the disconnect is a task of its own (one per request,
    not two and a wait)."""
    this = asyncio.current_task()
    assert this is not None
    running, gone = True, False

    def on_disconnect(watch: asyncio.Future[None]) -> None:
        nonlocal gone
        if watch.cancelled():
            return
        watch.exception()  # retrieved: a receive that failed also ends the request
        if running:  # else `work` ended first, and its response goes out
            gone = True
            this.cancel()

    watch = asyncio.ensure_future(_disconnected(request.receive))
    watch.add_done_callback(on_disconnect)
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
        watch.cancel()


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
