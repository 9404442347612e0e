"""Each subscription delivers the events its filters select, with nested fields resolved."""

import pytest

from tests.subscriptions import writes
from tests.subscriptions.wsclient import PROTOCOLS

INTERACTIONS = """subscription($c: ID, $a: ID, $ch: [Channel!]) {
  interactionAdded(contactId: $c, accountId: $a, channels: $ch) {
    id channel kind summary contact { firstName account { name } } account { name }
  }
}"""


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_interaction_added_by_contact_and_channels(live, protocol):
    acme = await writes.account(live.api, "Acme Retail")
    sari = await writes.contact(live.api, "Sari", acme)
    budi = await writes.contact(live.api, "Budi", acme)
    async with live.subscribed(protocol) as sock:
        op = await sock.subscribe(INTERACTIONS, c=sari, ch=["CHAT", "WHATSAPP"])
        await live.listening()
        await writes.track(live.api, contactId=sari, channel="EMAIL")  # other channel
        await writes.track(
            live.api, contactId=budi, channel="CHAT", kind="MESSAGE"
        )  # other contact
        chat = await writes.track(
            live.api, contactId=sari, channel="CHAT", kind="MESSAGE", summary="Hi"
        )
        assert await sock.data(op) == {
            "interactionAdded": {
                "id": chat,
                "channel": "CHAT",
                "kind": "MESSAGE",
                "summary": "Hi",
                "contact": {"firstName": "Sari", "account": {"name": "Acme Retail"}},
                "account": {"name": "Acme Retail"},
            }
        }
        await sock.nothing()


async def test_interaction_added_by_account_and_unfiltered(live):
    acme = await writes.account(live.api, "Acme")
    other = await writes.account(live.api, "Other")
    sari = await writes.contact(live.api, "Sari", acme)
    async with live.subscribed() as sock:
        by_account = await sock.subscribe(INTERACTIONS, a=acme)
        everything = await sock.subscribe(INTERACTIONS)
        await live.listening(2)
        elsewhere = await writes.track(live.api, accountId=other, channel="WEB", kind="PAGE_VIEW")
        assert (await sock.data(everything))["interactionAdded"]["id"] == elsewhere
        mine = await writes.track(live.api, contactId=sari)
        got = {}
        for _ in range(2):
            message = await sock.receive()
            got.setdefault(message["id"], []).append(
                message["payload"]["data"]["interactionAdded"]["id"]
            )
        assert got == {by_account: [mine], everything: [mine]}
        await sock.nothing()


async def test_each_event_resolves_with_fresh_loaders(live):
    acme = await writes.account(live.api, "Acme")
    sari = await writes.contact(live.api, "Sari", acme)
    async with live.subscribed() as sock:
        op = await sock.subscribe(INTERACTIONS, c=sari)
        await live.listening()
        await writes.track(live.api, contactId=sari)
        assert (await sock.data(op))["interactionAdded"]["account"] == {"name": "Acme"}
        version = (await live.api("query($a: ID!) { account(id: $a) { version } }", a=acme))[
            "account"
        ]["version"]
        await live.api.mutate(
            "mutation($a: ID!, $v: Int!) { updateAccount(input: {id: $a, version: $v, "
            f'name: "Acme Global"}}) {{ account {{ id }} {writes.ERRORS} }} }}',
            a=acme,
            v=version,
        )
        await writes.track(live.api, contactId=sari)
        event = (await sock.data(op))["interactionAdded"]
        assert event["account"] == {"name": "Acme Global"}
        assert event["contact"]["account"] == {"name": "Acme Global"}


TIMELINE = """subscription($c: ID, $a: ID) {
  timelineEventAdded(contactId: $c, accountId: $a) {
    cursor
    node {
      __typename id kind contact { firstName } account { name }
      ... on InteractionEvent { channel summary }
      ... on NoteEvent { body }
      ... on DealStageChangedEvent { deal { name } toPipelineStage { name } }
      ... on JourneyStageChangedEvent { fromStage toStage }
      ... on CaseOpenedEvent { case { subject } }
    }
  }
}"""


async def test_timeline_event_added_for_a_contact(live):
    acme = await writes.account(live.api, "Acme")
    sari = await writes.contact(live.api, "Sari", acme)
    budi = await writes.contact(live.api, "Budi", acme)
    stages = await writes.stages(live.api)
    deal = await writes.deal(live.api, "Big one", accountId=acme, contacts=[{"contactId": sari}])
    async with live.subscribed() as sock:
        op = await sock.subscribe(TIMELINE, c=sari)
        await live.listening()
        await writes.note(live.api, "about Budi", contactId=budi)  # not on Sari's timeline
        await writes.track(live.api, contactId=sari, channel="WEB", kind="PAGE_VIEW", summary="/p")
        await writes.note(live.api, "Called back", contactId=sari)
        await writes.move_deal(live.api, deal, stages["Proposal"])  # through the deal
        await writes.track(live.api, contactId=sari, journeyStage="CONSIDERATION")
        await writes.create_case(live.api, contactId=sari, subject="Refund")
        nodes = [(await sock.data(op))["timelineEventAdded"]["node"] for _ in range(6)]
        await sock.nothing()

    kinds = [(n["__typename"], n["kind"]) for n in nodes]
    assert kinds[:3] == [
        ("InteractionEvent", "INTERACTION"),
        ("NoteEvent", "NOTE"),
        ("DealStageChangedEvent", "DEAL_STAGE_CHANGED"),
    ]
    # a touch that moves the journey: the touch and the move, in the order they were written
    assert sorted(kinds[3:5]) == [
        ("InteractionEvent", "INTERACTION"),
        ("JourneyStageChangedEvent", "JOURNEY_STAGE_CHANGED"),
    ]
    assert kinds[5] == ("CaseOpenedEvent", "CASE_OPENED")
    assert nodes[0]["channel"] == "WEB" and nodes[0]["summary"] == "/p"
    assert nodes[1]["body"] == "Called back" and nodes[1]["contact"] == {"firstName": "Sari"}
    assert nodes[2]["deal"] == {"name": "Big one"} and nodes[2]["toPipelineStage"] == {
        "name": "Proposal"
    }
    assert nodes[2]["contact"] is None and nodes[2]["account"] == {"name": "Acme"}
    journey = next(n for n in nodes if n["kind"] == "JOURNEY_STAGE_CHANGED")
    assert (journey["fromStage"], journey["toStage"]) == ("AWARENESS", "CONSIDERATION")
    assert nodes[5]["case"] == {"subject": "Refund"}


async def test_timeline_cursor_reads_on_with_timeline_after(live):
    sari = await writes.contact(live.api, "Sari")
    async with live.subscribed() as sock:
        op = await sock.subscribe(TIMELINE, c=sari)
        await live.listening()
        await writes.note(live.api, "first", contactId=sari)
        edge = (await sock.data(op))["timelineEventAdded"]
    later = await writes.note(live.api, "second", contactId=sari)
    data = await live.api(
        """query($c: ID!, $after: String!) { contact(id: $c) {
             timeline(after: $after, order: OLDEST_FIRST) { nodes { id } } } }""",
        c=sari,
        after=edge["cursor"],
    )
    assert data["contact"]["timeline"]["nodes"] == [{"id": later}]


async def test_timeline_event_added_for_an_account(live):
    acme = await writes.account(live.api, "Acme")
    other = await writes.account(live.api, "Other")
    sari = await writes.contact(live.api, "Sari", acme)
    async with live.subscribed() as sock:
        op = await sock.subscribe(TIMELINE, a=acme)
        await live.listening()
        await writes.note(live.api, "elsewhere", accountId=other)
        await writes.note(live.api, "on the account", accountId=acme)
        await writes.track(live.api, contactId=sari)  # a contact's touch is on its account's too
        first = (await sock.data(op))["timelineEventAdded"]["node"]
        second = (await sock.data(op))["timelineEventAdded"]["node"]
        await sock.nothing()
    assert first["body"] == "on the account" and first["account"] == {"name": "Acme"}
    assert second["kind"] == "INTERACTION" and second["contact"] == {"firstName": "Sari"}


@pytest.mark.parametrize("arguments", [{}, {"c": "both", "a": "both"}])
async def test_timeline_event_added_needs_exactly_one_owner(live, arguments):
    acme = await writes.account(live.api, "Acme")
    sari = await writes.contact(live.api, "Sari", acme)
    ids = {"c": sari, "a": acme}
    async with live.subscribed() as sock:
        op = await sock.subscribe(TIMELINE, **{k: ids[k] for k in arguments})
        (error,) = await sock.errors(op)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "subscription",
    [
        "interactionAdded(contactId: $id) { id }",
        "timelineEventAdded(contactId: $id) { cursor }",
        "caseUpdated(contactId: $id) { id }",
        "journeyStageChanged(contactId: $id) { toStage }",
    ],
)
async def test_ids_of_another_workspace_are_not_found(live, other_live, subscription):
    theirs = await writes.contact(other_live.api, "Theirs")
    async with live.subscribed() as sock:
        op = await sock.subscribe(f"subscription($id: ID) {{ {subscription} }}", id=theirs)
        (error,) = await sock.errors(op)
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert error["extensions"]["field"] == "contactId"
    assert live.app.state.notifier.subscriber_count() == 0


async def test_malformed_ids_are_bad_user_input(live):
    async with live.subscribed() as sock:
        op = await sock.subscribe('subscription { dealStageChanged(pipelineId: "nope") { id } }')
        (error,) = await sock.errors(op)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


DEALS = """subscription($p: ID) {
  dealStageChanged(pipelineId: $p) { kind deal { name } fromPipelineStage { name } toPipelineStage { name } }
}"""


async def test_deal_stage_changed_by_pipeline(live):
    sales = await writes.stages(live.api)
    renewals = await writes.pipeline(live.api, "Renewals")
    big = await writes.deal(live.api, "Big")
    renewal = await writes.deal(live.api, "Renewal", pipelineId=renewals["pipeline"])
    async with live.subscribed() as sock:
        in_sales = await sock.subscribe(DEALS, p=sales["pipeline"])
        every = await sock.subscribe(DEALS)
        await live.listening(2)
        await writes.move_deal(live.api, renewal, renewals["Renewed"])
        assert (await sock.data(every))["dealStageChanged"]["toPipelineStage"] == {
            "name": "Renewed"
        }
        await writes.move_deal(live.api, big, sales["Qualification"])
        got = {}
        for _ in range(2):
            message = await sock.receive()
            got[message["id"]] = message["payload"]["data"]["dealStageChanged"]
        expected = {
            "kind": "DEAL_STAGE_CHANGED",
            "deal": {"name": "Big"},
            "fromPipelineStage": {"name": "Prospecting"},
            "toPipelineStage": {"name": "Qualification"},
        }
        assert got == {in_sales: expected, every: expected}
        await writes.note(live.api, "not a stage move", dealId=big)
        await sock.nothing()


CASES = """subscription($a: ID, $c: ID) {
  caseUpdated(accountId: $a, contactId: $c) {
    id subject status deletedAt account { name } contact { firstName }
  }
}"""


async def test_case_updated_by_account(live):
    acme = await writes.account(live.api, "Acme")
    other = await writes.account(live.api, "Other")
    sari = await writes.contact(live.api, "Sari", acme)
    async with live.subscribed() as sock:
        op = await sock.subscribe(CASES, a=acme)
        await live.listening()
        await writes.create_case(live.api, accountId=other)
        case = await writes.create_case(live.api, contactId=sari, subject="Broken")
        opened = (await sock.data(op))["caseUpdated"]
        assert opened == {
            "id": case["id"],
            "subject": "Broken",
            "status": "NEW",
            "deletedAt": None,
            "account": {"name": "Acme"},
            "contact": {"firstName": "Sari"},
        }
        await writes.update_case(live.api, case, status="OPEN")
        assert (await sock.data(op))["caseUpdated"]["status"] == "OPEN"
        # deletes and restores are changes too
        deleted = "mutation($id: ID!) { %s(input: {id: $id}) { userErrors { code } } }"
        await live.api.mutate(deleted % "deleteCase", id=case["id"])
        gone = await sock.next(op)
        assert gone["data"]["caseUpdated"]["id"] == case["id"]
        assert gone["data"]["caseUpdated"]["deletedAt"] is not None
        await live.api.mutate(deleted % "restoreCase", id=case["id"])
        back = await sock.next(op)
        assert back["data"]["caseUpdated"]["deletedAt"] is None
        await sock.nothing()


async def test_case_updated_by_contact(live):
    sari = await writes.contact(live.api, "Sari")
    budi = await writes.contact(live.api, "Budi")
    async with live.subscribed() as sock:
        op = await sock.subscribe(CASES, c=budi)
        await live.listening()
        await writes.create_case(live.api, contactId=sari)
        case = await writes.create_case(live.api, contactId=budi, subject="Budi's")
        assert (await sock.data(op))["caseUpdated"]["id"] == case["id"]
        await sock.nothing()


JOURNEY = """subscription($c: ID) {
  journeyStageChanged(contactId: $c) { fromStage toStage regression contact { firstName } interaction { id } }
}"""


async def test_journey_stage_changed(live):
    sari = await writes.contact(live.api, "Sari")
    budi = await writes.contact(live.api, "Budi")
    async with live.subscribed() as sock:
        op = await sock.subscribe(JOURNEY, c=sari)
        await live.listening()
        await writes.track(live.api, contactId=budi, journeyStage="DECISION")  # another contact
        await writes.track(live.api, contactId=sari, journeyStage="AWARENESS")  # no move
        touch = await writes.track(live.api, contactId=sari, journeyStage="DECISION")
        assert (await sock.data(op))["journeyStageChanged"] == {
            "fromStage": "AWARENESS",
            "toStage": "DECISION",
            "regression": False,
            "contact": {"firstName": "Sari"},
            "interaction": {"id": touch},
        }
        await sock.nothing()
