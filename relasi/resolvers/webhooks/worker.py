"""The webhook worker each server process runs: fan out, claim, send, repeat.

It wakes on the `relasi_webhooks` notification a committing write sends (0010_webhooks.sql)
and at least every second, to sweep for endpoints behind the log and for retries that fell
due. Notifications are only a hint: everything it needs to know is in the tables, so any
number of processes may run it (fan-out takes turns per workspace, claims never overlap) and
one that is killed loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from uuid import UUID

import asyncpg
import httpx

from relasi.db import Database
from relasi.resolvers.webhooks import delivery, fanout
from relasi.resolvers.webhooks.secrets import SecretBox
from relasi.settings import Settings

log = logging.getLogger("relasi.webhooks")

CHANNEL = "relasi_webhooks"
SWEEP_SECONDS = 1.0
SENDS_PER_PROCESS = 64


def config_of(settings: Settings) -> delivery.Config:
    return delivery.Config(
        box=SecretBox.from_settings(settings),
        allowed_hosts=settings.webhook_allowed_host_list,
        timeout=settings.webhook_timeout,
        retry_scale=settings.webhook_retry_scale,
        endpoint_concurrency=settings.webhook_endpoint_concurrency,
        secret_overlap=settings.webhook_secret_overlap,
    )


class Worker:
    def __init__(self, db: Database, config: delivery.Config) -> None:
        self.db = db
        self.config = config
        self._wake = asyncio.Event()
        self._dirty: set[UUID] = set()
        self._sending: set[asyncio.Task] = set()

    def _notified(self, conn: object, pid: int, channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self._dirty.add(UUID(payload))
        self._wake.set()

    async def _listen(self) -> asyncpg.Connection | None:
        if not self.db.dsn:
            return None
        try:
            conn = await asyncpg.connect(self.db.dsn)
            await conn.add_listener(CHANNEL, self._notified)
            return conn
        except (OSError, asyncpg.PostgresError) as e:
            log.warning("webhooks: cannot listen for commits (sweeping only): %s", e)
            return None

    async def run(self) -> None:
        listener = await self._listen()
        # no redirects: a 3xx is an answer (a failed delivery), never a second request
        client = httpx.AsyncClient(follow_redirects=False, timeout=self.config.timeout)
        try:
            sweep = True
            while True:
                if listener is None or listener.is_closed():
                    listener = await self._listen()
                    sweep = True
                try:
                    await self._round(sweep, client)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("webhooks: a round failed; retrying")
                try:
                    await asyncio.wait_for(self._wake.wait(), SWEEP_SECONDS)
                    sweep = False
                except TimeoutError:
                    sweep = True
                self._wake.clear()
        finally:
            for task in self._sending:
                task.cancel()
            await asyncio.gather(*self._sending, return_exceptions=True)
            await client.aclose()
            if listener is not None and not listener.is_closed():
                await listener.close()

    async def _round(self, sweep: bool, client: httpx.AsyncClient) -> None:
        workspaces, self._dirty = self._dirty, set()
        if sweep:
            workspaces.update(await fanout.behind(self.db))
        for workspace_id in workspaces:
            await fanout.fan_out(self.db, workspace_id)
        free = SENDS_PER_PROCESS - len(self._sending)
        for claimed in await delivery.claim(self.db, self.config, free):
            task = asyncio.create_task(self._send(client, claimed))
            self._sending.add(task)
            task.add_done_callback(self._sent)

    async def _send(self, client: httpx.AsyncClient, claimed: asyncpg.Record) -> None:
        try:
            await delivery.send(self.db, client, self.config, claimed)
        except asyncio.CancelledError:
            raise
        except Exception:  # its lease runs out and it is sent again
            log.exception("webhooks: delivery %s failed unexpectedly", claimed["id"])

    def _sent(self, task: asyncio.Task) -> None:
        self._sending.discard(task)
        self._wake.set()  # a finished delivery may free the next one of its record


async def run(db: Database, settings: Settings) -> None:
    """Run the worker until cancelled."""
    await Worker(db, config_of(settings)).run()
