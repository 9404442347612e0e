"""An endpoint's filter: the lists' filter inputs, per record type, honoured at fan-out."""

from tests.webhooks.conftest import CREATE, endpoint
from tests.webhooks.waiting import settled
from tests.webhooks.writes import mutate


async def _deal(api, name, amount):
    payload = await mutate(
        api,
        "createDeal",
        {"name": name, "amount": {"amount": amount, "currency": "USD"}},
        "deal { id }",
    )
    return payload["deal"]["id"]


async def test_a_deal_filter_is_honoured(wapi, receiver, run_worker):
    ep = await endpoint(
        wapi,
        receiver,
        eventTypes=["deal.created", "deal.updated", "contact.created"],
        filter={"deal": {"amount": {"gt": "10000"}}},
    )
    assert ep["filter"] == {"deal": {"amount": {"gt": "10000"}}}
    small = await _deal(wapi, "Small", "9999.99")
    big = await _deal(wapi, "Big", "25000")
    cid = (await mutate(wapi, "createContact", {"firstName": "Any"}, "contact { id }"))["contact"]
    await receiver.wait_for(ep["name"], 2)  # no contact filter: contacts pass
    await settled(wapi, ep["id"], 2)  # the contact was written last: the deals are fanned out
    got = {
        (a.payload["type"], a.payload["data"]["recordId"]) for a in receiver.of(ep["name"], False)
    }
    assert got == {("deal.created", big), ("contact.created", cid["id"])}
    # grown past the line: its update is sent (a record is tested as it is at fan-out)
    await mutate(
        wapi,
        "updateDeal",
        {"id": small, "version": 1, "amount": {"amount": "12000", "currency": "USD"}},
    )
    arrived = await receiver.wait_for(ep["name"], 3)
    assert ("deal.updated", small) in {
        (a.payload["type"], a.payload["data"]["recordId"]) for a in arrived
    }


async def test_a_bad_filter_is_refused_at_its_path(wapi, receiver):
    data = await wapi(
        CREATE,
        i={"url": receiver.url("bad-filter"), "filter": {"deal": {"name": {"in": ["x"] * 2000}}}},
    )
    payload = data["createWebhookEndpoint"]
    assert payload["webhookEndpoint"] is None
    (error,) = payload["userErrors"]
    assert error["field"] == ["input", "filter", "deal", "name", "in"]
    assert error["code"] == "BAD_USER_INPUT"
    data = await wapi(
        CREATE,
        i={
            "url": receiver.url("bad-filter"),
            "filter": {"contact": {"or": [{"firstName": {"eq": "x" * 300}}]}},
        },
    )
    (error,) = data["createWebhookEndpoint"]["userErrors"]
    assert error["field"] == ["input", "filter", "contact", "or", "0", "firstName", "eq"]
