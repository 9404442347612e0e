"""A `relasi worker` stopped under constant load returns promptly: its delivery and fan-out
jobs, which would run for as long as changes keep coming, finish the sends in flight, settle
them and end, long before the grace period is up; nothing is lost and nothing is sent twice
(sends cut off at the grace period would be sent again once their leases ran out)."""

from collections import Counter

from relasi.resolvers import global_ids
from tests.job_workers import stop_under_load, worker_until
from tests.webhooks.conftest import endpoint
from tests.webhooks.writes import mutate

GRACE = 60  # seconds: the shutdown_timeout a stop must come in well under


async def test_a_worker_stopped_under_load_finishes_its_sends_and_exits_promptly(
    wapi, receiver, database, tmp_path
):
    ep = await endpoint(wapi, receiver, eventTypes=["contact.created"])
    written: list[str] = []

    async def write() -> None:  # a contact after another, as long as the test wants
        made = await mutate(wapi, "createContact", {"firstName": "Busy"}, "contact { id }")
        written.append(made["contact"]["id"])

    # stopped once 20 arrived: deliveries keep coming, the drain never idles
    took = await stop_under_load(
        database, tmp_path, write, lambda: _accepted_at_least(receiver, ep["name"], 20), GRACE
    )
    assert took < GRACE / 3, f"stopping took {took:.1f} s"

    await worker_until(
        database, tmp_path, "second", lambda: _all_arrived(receiver, ep["name"], written), 90
    )
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
