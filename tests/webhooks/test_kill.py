"""`kill -9` of a `relasi worker` in the middle of a delivery loses nothing: once a worker runs
again, the interrupted delivery is sent again (same webhook-id) and so is what was written
while none ran."""

import signal

from tests.job_workers import received, worker_process
from tests.webhooks.conftest import endpoint
from tests.webhooks.waiting import deliveries, until
from tests.webhooks.writes import mutate


async def test_kill_9_mid_delivery_then_restart_delivers_everything(
    wapi, receiver, database, tmp_path
):
    ep = await endpoint(wapi, receiver, eventTypes=["contact.created"])
    receiver.route(ep["name"], stall=30)  # the first send hangs in the receiver
    first = worker_process(database, tmp_path, "first")
    try:
        cid = (await mutate(wapi, "createContact", {"firstName": "Mid"}, "contact { id }"))[
            "contact"
        ]["id"]
        await until(lambda: received(receiver, ep["name"]), timeout=90)
        first.send_signal(signal.SIGKILL)  # mid-delivery: no answer, nothing settled
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    (interrupted,) = receiver.of(ep["name"])
    receiver.route(ep["name"], stall=0)
    later = [
        (await mutate(wapi, "createContact", {"firstName": f"Later{i}"}, "contact { id }"))[
            "contact"
        ]["id"]
        for i in range(3)
    ]
    second = worker_process(database, tmp_path, "second")
    try:
        arrived = await receiver.wait_for(ep["name"], 4, timeout=90)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    ids = {a.payload["data"]["recordId"] for a in arrived}
    assert ids == {cid, *later}
    again = [a for a in arrived if a.payload["data"]["recordId"] == cid]
    assert again[0].headers["webhook-id"] == interrupted.headers["webhook-id"]
    listed = await deliveries(wapi, ep["id"])
    assert sorted(d["status"] for d in listed) == ["DELIVERED"] * 4
