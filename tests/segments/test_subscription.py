"""segmentMembershipChanged: entries and exits pushed over a WebSocket as they commit."""

from tests.segments import helpers as h
from tests.subscriptions.conftest import Live

SUBSCRIPTION = """subscription($s: ID!) {
  segmentMembershipChanged(segmentId: $s) { change reason contact { firstName } segment { name } }
}"""


async def test_entries_and_exits_are_pushed(live: Live):
    api = live.api
    ayu = await h.contact(api, "Ayu")
    budi = await h.contact(api, "Budi")
    chatty = await h.create_segment(api, "Chatty", {"touchpoints": {"atLeast": 2}})
    other = await h.create_segment(api, "Other", {"touchpoints": {}})
    async with live.subscribed() as sock:
        op = await sock.subscribe(SUBSCRIPTION, s=chatty["id"])
        await live.listening()
        await h.track(api, ayu)  # enters "Other" only
        await h.track(api, ayu)
        assert await sock.data(op) == {
            "segmentMembershipChanged": {
                "change": "ENTERED",
                "reason": "INTERACTION",
                "contact": {"firstName": "Ayu"},
                "segment": {"name": "Chatty"},
            }
        }
        await h.add(api, chatty["id"], [ayu], "removeFromSegment")
        await h.track(api, budi)
        message = (await sock.data(op))["segmentMembershipChanged"]
        assert (message["change"], message["reason"]) == ("EXITED", "OVERRIDE")
        await sock.nothing()
    assert other["size"] == 0


async def test_another_workspaces_segment_is_not_found(live: Live, other_api):
    theirs = await h.create_segment(other_api, "Theirs", {})
    async with live.subscribed() as sock:
        op = await sock.subscribe(SUBSCRIPTION, s=theirs["id"])
        errors = await sock.errors(op)
    assert errors[0]["extensions"]["code"] == "NOT_FOUND"
