"""Statement budgets of webhook delivery: a fan-out batch and a delivery round run a fixed
number of statements however many changes or deliveries they carry (one round of bookkeeping
serves many deliveries; README: Webhooks, How it runs)."""

import pytest

from relasi.resolvers import global_ids
from relasi.resolvers.webhooks import background, delivery, fanout
from relasi.resolvers.webhooks.sender import Outcome
from tests.webhooks.conftest import endpoint
from tests.webhooks.waiting import deliveries
from tests.webhooks.writes import mutate

# a fan-out batch (a transaction on a system connection): the system role, BEGIN, the workspace's fan-out lock, targets and head, the events, the objects (the
# workspace set on their connection and one compiled statement for the batch's contacts), the
# deliveries inserted with the cursor moved, the delivery job queued, COMMIT
FAN_OUT_BATCH = 10
LOOK = 3  # a look for more (linger): the last connection's reset, the system role, the look
# a delivery round, each statement committing on its own: the system role (with commits that
# do not wait for the disk), the settle of the sends that finished (attempts, statuses and the
# endpoint's health in one), the claim of the free slots, the pool's reset
ROUND = 4


@pytest.mark.parametrize("changes", [1, 12])
async def test_a_fan_out_batch_and_a_delivery_round_cost_the_same_for_1_or_12(
    wapi, receiver, database, settings, changes
):
    ep = await endpoint(wapi, receiver, eventTypes=["contact.created"])
    for i in range(changes):
        await mutate(wapi, "createContact", {"firstName": f"Count{i}"}, "contact { id }")
    with database.capture_statements() as captured:
        assert await fanout.fan_out(database, wapi.workspace_id) == changes
    fanned = _without_handover_resets(captured)
    # one batch carries them all (up to its COMMIT)
    batch = fanned[: fanned.index("COMMIT;") + 1]
    assert len(batch) == FAN_OUT_BATCH, batch
    # each later look of its linger finds nothing more to do
    looks = sum("SELECT EXISTS (SELECT FROM webhook_endpoints" in s for s in fanned)
    assert len(fanned) == FAN_OUT_BATCH + looks * LOOK + 1  # + the last connection's reset

    config = background.config_of(settings)
    endpoint_id = global_ids.decode(ep["id"], "WebhookEndpoint")
    with database.capture_statements() as captured:
        claimed = await delivery.step(database, config, wapi.workspace_id, endpoint_id, [], 32)
    claiming = _without_handover_resets(captured)
    assert len(claimed) == changes
    assert len(claiming) == ROUND - 1, claiming  # nothing to settle yet
    finished = [(row, Outcome(200, 5, "ok", None)) for row in claimed]
    with database.capture_statements() as captured:
        again = await delivery.step(database, config, wapi.workspace_id, endpoint_id, finished, 32)
    settling = _without_handover_resets(captured)
    assert again == [] and len(settling) == ROUND, settling
    found = await deliveries(wapi, ep["id"])
    assert [d["status"] for d in found] == ["DELIVERED"] * changes
    assert all(len(d["attempts"]) == 1 for d in found)


def _without_handover_resets(statements: list[str]) -> list[str]:
    """The statements without the resets of connections a request used last: the pool resets
    one when system work takes it, and which connection the pool hands out varies (requests
    pass theirs on to each other, `db.ReadyConnections`). Such a reset comes first, or right
    after the reset of the connection released before."""
    kept: list[str] = []
    for statement in statements:
        if statement.startswith("RESET ROLE;") and (not kept or kept[-1].startswith("RESET ROLE;")):
            continue
        kept.append(statement)
    return kept
