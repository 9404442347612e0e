"""A `relasi worker` stopped under constant load returns promptly: its delivery and fan-out
jobs, which would run for as long as changes keep coming, finish the sends in flight, settle
them and end, long before the grace period is up; nothing is lost and nothing is sent twice
(sends cut off at the grace period would be sent again once their leases ran out)."""

import asyncio
import signal
import time
from collections import Counter

from relasi.resolvers import global_ids
from tests.job_workers import worker_process
from tests.webhooks.conftest import endpoint
from tests.webhooks.waiting import until
from tests.webhooks.writes import mutate

GRACE = 60  # seconds: the shutdown_timeout a stop must come in well under


async def test_a_worker_stopped_under_load_finishes_its_sends_and_exits_promptly(
    wapi, receiver, database, tmp_path
):
    ep = await endpoint(wapi, receiver, eventTypes=["contact.created"])
    written: list[str] = []
    writing = True

    async def write() -> None:  # a contact after another, as long as the test wants
        while writing:
            made = await mutate(wapi, "createContact", {"firstName": "Busy"}, "contact { id }")
            written.append(made["contact"]["id"])

    first = worker_process(database, tmp_path, "first", RELASI_SHUTDOWN_TIMEOUT=str(GRACE))
    writer = asyncio.create_task(write())
    try:
        await until(lambda: _accepted_at_least(receiver, ep["name"], 20), timeout=90)
        first.send_signal(signal.SIGTERM)  # deliveries keep coming: the drain never idles
        asked = time.monotonic()
        await until(lambda: _exited(first), timeout=GRACE + 30)
        took = time.monotonic() - asked
    finally:
        writing = False
        await writer
        if first.poll() is None:
            first.kill()
    log = (tmp_path / "first.log").read_text()
    assert first.returncode == 0, log
    assert took < GRACE / 3, f"stopping took {took:.1f} s"
    assert "did not finish" not in log

    second = worker_process(database, tmp_path, "second")
    try:
        await until(lambda: _all_arrived(receiver, ep["name"], written), timeout=90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    arrivals = Counter(_accepted(receiver, ep["name"]))
    assert set(arrivals) == set(written)
    assert max(arrivals.values()) == 1, "a delivery was sent twice"
    async with database.pool.acquire() as conn:
        statuses = await conn.fetch(
            "SELECT status, count(*) FROM webhook_deliveries WHERE endpoint_id = $1 GROUP BY 1",
            global_ids.decode(ep["id"], "WebhookEndpoint"),
        )
    assert dict(statuses) == {"DELIVERED": len(written)}


def _accepted(receiver, name: str) -> list[str]:
    return [a.payload["data"]["recordId"] for a in receiver.accepted(name)]


async def _all_arrived(receiver, name: str, written: list[str]) -> bool:
    return set(_accepted(receiver, name)) >= set(written)


async def _accepted_at_least(receiver, name: str, count: int) -> bool:
    return len(receiver.accepted(name)) >= count


async def _exited(process) -> bool:
    return process.poll() is not None
