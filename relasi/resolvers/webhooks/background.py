"""The webhooks' background work, on the job queue (relasi/jobs/):

- `webhooks.fanout` {workspace_id}: queued by the database in the writer's transaction
  (0010_webhooks.sql, once while one is queued), it fans the workspace's new commits out and
  queues a `webhooks.deliver` per endpoint that got deliveries;
- `webhooks.deliver` {workspace_id, endpoint_id}: sends that endpoint's deliveries;
- `webhooks.retention`, hourly: deletes settled deliveries (and their attempts) older than
  the change log's retention, RELASI_CHANGE_RETENTION_DAYS;
- `webhooks.sweep`, every second: disables endpoints whose owner is gone (owners.py), queues
  the fan-out of workspaces whose endpoints are behind the log and the delivery of endpoints
  with due retries, replays or deliveries whose worker died, so that no wake-up that was
  missed loses anything.

Everything a job needs is in the webhook tables, so a job run twice (at least once) does no
harm: fan-out takes turns per workspace and skips what it did, a claim is never shared.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from relasi.db import Database, system_connection
from relasi.jobs import JobContext, enqueue, entrypoint, periodic
from relasi.jobs.retention import BATCH, INTERVAL_SECONDS, delete_in_batches, older_than
from relasi.resolvers.webhooks import delivery, fanout, owners
from relasi.resolvers.webhooks.secrets import SecretBox
from relasi.settings import Settings

_configs: dict[tuple, delivery.Config] = {}


def config_of(settings: Settings) -> delivery.Config:
    """The webhook settings of a process, made once per distinct set of values (the secret
    key may be read from a file)."""
    key = (
        settings.webhook_secret_key,
        str(settings.data_dir),
        settings.webhook_allowed_host_list,
        settings.webhook_timeout,
        settings.webhook_retry_scale,
        settings.webhook_endpoint_concurrency,
        settings.webhook_secret_overlap,
    )
    config = _configs.get(key)
    if config is None:
        config = _configs[key] = delivery.Config(
            box=SecretBox.from_settings(settings),
            allowed_hosts=settings.webhook_allowed_host_list,
            timeout=settings.webhook_timeout,
            retry_scale=settings.webhook_retry_scale,
            endpoint_concurrency=settings.webhook_endpoint_concurrency,
            secret_overlap=settings.webhook_secret_overlap,
        )
    return config


@entrypoint("webhooks.fanout")
async def fan_out(ctx: JobContext, payload: dict[str, Any]) -> None:
    await fanout.fan_out(ctx.db, UUID(payload["workspace_id"]), stopping=ctx.stopping)


@entrypoint("webhooks.deliver")
async def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
    await delivery.drain(
        ctx.db,
        config_of(ctx.settings),
        UUID(payload["workspace_id"]),
        UUID(payload["endpoint_id"]),
        ctx.stopping,
    )


@periodic("webhooks.sweep", every=1)
async def sweep(ctx: JobContext) -> None:
    async with system_connection(ctx.db) as conn:
        await owners.disable_orphaned(conn)  # a key that expired, revoked or removed owners
    behind = await fanout.behind(ctx.db)
    due = await delivery.due_endpoints(ctx.db)
    if not behind and not due:
        return
    async with system_connection(ctx.db) as conn:
        for workspace_id in behind:
            await enqueue(
                conn,
                "webhooks.fanout",
                {"workspace_id": str(workspace_id)},
                dedupe_key=f"webhooks.fanout:{workspace_id}",
            )
        for row in due:
            await fanout.enqueue_delivery(conn, row["workspace_id"], row["endpoint_id"])


_SETTLED = older_than("webhook_deliveries", "occurred_at", "AND status IN ('DELIVERED', 'FAILED')")


async def prune(db: Database, days: int, batch: int = BATCH) -> int:
    """Delete delivered and failed deliveries (with their attempts) of changes older than
    `days`, in short batches; how many. Open ones stay, whatever their age."""
    async with system_connection(db) as conn:
        return await delete_in_batches(conn, _SETTLED, days, batch)


@periodic("webhooks.retention", every=INTERVAL_SECONDS)
async def prune_settled(ctx: JobContext) -> None:
    if ctx.settings.change_retention_days > 0:  # 0: kept for good, like the change log
        await prune(ctx.db, ctx.settings.change_retention_days)
