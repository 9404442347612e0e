"""Waiting for conditions, never for fixed times: the tests poll the API (or the receiver)
until what they expect holds, with deadlines generous enough for a loaded machine.

"Nothing more arrives" is shown without sleeping: fan-out takes the log in commit order, so
once a later write's delivery exists (or a control endpoint received it), every earlier
commit has been fanned out, and what an endpoint was sent is final once all of its deliveries
are settled."""

import asyncio

DEADLINE = 60  # seconds
SETTLED = ("DELIVERED", "FAILED")
DELIVERIES = """query($e: ID!, $f: WebhookDeliveryFilter) {
  webhookDeliveries(endpointId: $e, filter: $f, first: 100) {
    nodes { id webhookId eventType recordId status deliveredAt payload
            attempts { statusCode durationMs responseExcerpt error } } } }"""


async def until(check, timeout: float = DEADLINE):
    """The first truthy result of `await check()`, polled until `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert loop.time() < deadline, f"timed out after {timeout} s waiting for {check}"
        await asyncio.sleep(0.1)


async def deliveries(api, endpoint_id: str, **flt) -> list[dict]:
    """An endpoint's deliveries, newest change first."""
    found = await api(DELIVERIES, e=endpoint_id, f=flt or None)
    return found["webhookDeliveries"]["nodes"]


async def settled(api, endpoint_id: str, count: int, timeout: float = DEADLINE) -> list[dict]:
    """The endpoint's deliveries once there are `count`, every one delivered or failed."""

    async def done():
        found = await deliveries(api, endpoint_id)
        return found if len(found) >= count and all(d["status"] in SETTLED for d in found) else None

    found = await until(done, timeout)
    assert len(found) == count, [d["recordId"] for d in found]
    return found
