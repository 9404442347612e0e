"""Membership stays current as data changes, without refreshSegment, and every entry and exit
is logged."""

from tests.segments import helpers as h
from tests.segments.conftest import days_ago

CHANGES = """query($id: ID!) { segment(id: $id) { membershipChanges(first: 50) {
  totalCount nodes { change reason contact { firstName } } } } }"""


async def _changes(api, segment_id) -> list[tuple[str, str, str | None]]:
    data = await api(CHANGES, id=segment_id)
    nodes = data["segment"]["membershipChanges"]["nodes"]
    return [
        (n["change"], n["reason"], n["contact"]["firstName"] if n["contact"] else None)
        for n in reversed(nodes)
    ]


async def test_touchpoints_enter_and_leave_live(api):
    ayu = await h.contact(api, "Ayu", city="Jakarta")
    chatty = await h.create_segment(
        api,
        "Chatty",
        {
            "touchpoints": {
                "matching": {"channel": {"eq": "WHATSAPP"}},
                "atLeast": 2,
                "withinDays": 14,
            }
        },
    )
    quiet = await h.create_segment(api, "Quiet", {"touchpoints": {"atMost": 1}})
    assert await h.members(api, chatty["id"]) == set()
    assert await h.members(api, quiet["id"]) == {ayu}
    await h.track(api, ayu, channel="WHATSAPP", kind="MESSAGE")
    await h.track(api, ayu, channel="WHATSAPP", kind="MESSAGE", occurredAt=days_ago(20))
    assert await h.members(api, chatty["id"]) == set()  # the old one is out of the window
    assert await h.members(api, quiet["id"]) == set()
    await h.track(api, ayu, channel="WHATSAPP", kind="MESSAGE")
    assert await h.members(api, chatty["id"]) == {ayu}
    assert await _changes(api, chatty["id"]) == [("ENTERED", "INTERACTION", "Ayu")]
    assert await _changes(api, quiet["id"]) == [
        ("ENTERED", "BUILD", "Ayu"),
        ("EXITED", "INTERACTION", "Ayu"),
    ]


async def test_a_touch_that_moves_the_journey_or_creates_the_contact(api):
    deciding = await h.create_segment(api, "Deciding", {"journeyStage": {"eq": "DECISION"}})
    everyone = await h.create_segment(api, "Everyone", {"deals": {"none": {}}})
    ayu = await h.contact(api, "Ayu")
    await h.track(api, ayu, journeyStage="DECISION")
    assert await h.members(api, deciding["id"]) == {ayu}
    # ingest by identity creates the contact: every segment decides about it
    payload = await api.mutate(
        "mutation($input: TrackInteractionInput!) { trackInteraction(input: $input) "
        f"{{ interaction {{ contact {{ id }} }} {h.ERRORS} }} }}",
        input={"contact": {"email": "new@x.co"}, "channel": "EMAIL", "kind": "EMAIL_OPEN"},
    )
    new = payload["interaction"]["contact"]["id"]
    assert await h.members(api, everyone["id"]) == {ayu, new}


async def test_contact_account_deal_and_case_changes(api):
    stages = await h.stages(api)
    retail = await h.account(api, "Retail", industry="Retail")
    ayu = await h.contact(api, "Ayu", accountId=retail, leadRating="HOT")
    budi = await h.contact(api, "Budi")
    hot_retail = await h.create_segment(
        api, "Hot retail", {"leadRating": {"eq": "HOT"}, "account": {"industry": {"eq": "Retail"}}}
    )
    proposals = await h.create_segment(
        api,
        "In proposal",
        {"deals": {"some": {"stage": {"name": {"eq": "Proposal"}}, "amount": {"gte": "1000"}}}},
    )
    urgent = await h.create_segment(
        api,
        "Urgent",
        {"cases": {"some": {"priority": {"eq": "URGENT"}, "status": {"ne": "CLOSED"}}}},
    )
    unhappy = await h.create_segment(api, "Unhappy", {"averageSatisfaction": {"lte": 2}})
    assert await h.members(api, hot_retail["id"]) == {ayu}

    await h.update_account(api, retail, industry="Banking")  # an account change
    assert await h.members(api, hot_retail["id"]) == set()
    await h.update_account(api, retail, industry="Retail")
    await h.update_contact(api, ayu, leadRating="WARM")  # a contact change
    assert await h.members(api, hot_retail["id"]) == set()
    await h.update_contact(api, budi, leadRating="HOT", accountId=retail)
    assert await h.members(api, hot_retail["id"]) == {budi}

    deal = await h.deal(
        api,
        "Big",
        [ayu],
        stageId=stages["Prospecting"],
        amount={"amount": "5000", "currency": "USD"},
    )
    assert await h.members(api, proposals["id"]) == set()
    await api.mutate(  # a stage move
        "mutation($input: MoveDealStageInput!) { moveDealStage(input: $input) "
        f"{{ deal {{ id }} {h.ERRORS} }} }}",
        input={"id": deal["id"], "stageId": stages["Proposal"]},
    )
    assert await h.members(api, proposals["id"]) == {ayu}
    await api.mutate(  # another contact joins the deal
        "mutation($input: DealContactLinkInput!) { addDealContact(input: $input) "
        f"{{ deal {{ id }} {h.ERRORS} }} }}",
        input={"dealId": deal["id"], "contactId": budi},
    )
    assert await h.members(api, proposals["id"]) == {ayu, budi}
    await api.mutate(
        "mutation($input: RemoveDealContactInput!) { removeDealContact(input: $input) "
        f"{{ deal {{ id }} {h.ERRORS} }} }}",
        input={"dealId": deal["id"], "contactId": ayu},
    )
    assert await h.members(api, proposals["id"]) == {budi}
    version = (await api("query($id: ID!) { deal(id: $id) { version } }", id=deal["id"]))["deal"]
    await api.mutate(  # a deal update
        "mutation($input: UpdateDealInput!) { updateDeal(input: $input) "
        f"{{ deal {{ id }} {h.ERRORS} }} }}",
        input={
            "id": deal["id"],
            "version": version["version"],
            "amount": {"amount": "10", "currency": "USD"},
        },
    )
    assert await h.members(api, proposals["id"]) == set()

    case = await h.case(api, ayu, priority="URGENT")
    assert await h.members(api, urgent["id"]) == {ayu}
    await h.update_case(api, case["id"], contactId=budi)  # moves to another contact
    assert await h.members(api, urgent["id"]) == {budi}
    await h.update_case(api, case["id"], status="CLOSED", satisfactionScore=1)
    assert await h.members(api, urgent["id"]) == set()
    assert await h.members(api, unhappy["id"]) == {budi}

    await api.mutate(  # deleting the case
        f"mutation($id: ID!) {{ deleteCase(input: {{id: $id}}) {{ deletedId {h.ERRORS} }} }}",
        id=case["id"],
    )
    assert await h.members(api, unhappy["id"]) == set()


async def test_deleted_contacts_leave_every_segment_and_come_back(api):
    ayu = await h.contact(api, "Ayu", city="Jakarta")
    dynamic = await h.create_segment(api, "Jakarta", {"city": {"eq": "Jakarta"}})
    static = await h.create_segment(api, "Picked", include=[ayu])
    assert static["kind"] == "STATIC" and static["size"] == 1
    await api.mutate(
        f"mutation($id: ID!) {{ deleteContact(input: {{id: $id}}) {{ deletedId {h.ERRORS} }} }}",
        id=ayu,
    )
    for segment in (dynamic, static):
        assert await h.members(api, segment["id"]) == set()
    data = await api(
        "query($id: ID!) { segment(id: $id) { included { totalCount } } }", id=static["id"]
    )
    assert data["segment"]["included"]["totalCount"] == 0  # a deleted contact is nowhere
    await api.mutate(
        f"mutation($id: ID!) {{ restoreContact(input: {{id: $id}}) {{ contact {{ id }} {h.ERRORS} }} }}",
        id=ayu,
    )
    for segment in (dynamic, static):
        assert await h.members(api, segment["id"]) == {ayu}
    assert await _changes(api, static["id"]) == [
        ("ENTERED", "BUILD", "Ayu"),
        ("EXITED", "CONTACT", "Ayu"),
        ("ENTERED", "CONTACT", "Ayu"),
    ]


async def test_static_members_and_dynamic_overrides(api):
    ayu = await h.contact(api, "Ayu", city="Jakarta")
    budi = await h.contact(api, "Budi", city="Bandung")
    citra = await h.contact(api, "Citra", city="Jakarta")
    static = await h.create_segment(api, "Picked", kind="STATIC")
    payload = await h.add(api, static["id"], [ayu, budi, ayu])
    assert payload["segment"]["size"] == 2
    payload = await h.add(api, static["id"], [ayu], "removeFromSegment")
    assert await h.members(api, static["id"]) == {budi}

    dynamic = await h.create_segment(api, "Jakarta", {"city": {"eq": "Jakarta"}}, exclude=[citra])
    assert await h.members(api, dynamic["id"]) == {ayu}
    await h.add(api, dynamic["id"], [budi])  # always in
    await h.add(api, dynamic["id"], [ayu], "removeFromSegment")  # always out
    assert await h.members(api, dynamic["id"]) == {budi}
    await h.update_contact(api, ayu, city="Jakarta", firstName="Ayu J")  # the rule still matches
    assert await h.members(api, dynamic["id"]) == {budi}
    await h.add(api, dynamic["id"], [ayu, budi, citra], "clearSegmentOverrides")
    assert await h.members(api, dynamic["id"]) == {ayu, citra}
    data = await api(
        "query($id: ID!) { segment(id: $id) { included { totalCount } excluded { totalCount } } }",
        id=dynamic["id"],
    )
    assert data["segment"] == {"included": {"totalCount": 0}, "excluded": {"totalCount": 0}}
    changes = await _changes(api, dynamic["id"])
    assert changes[:3] == [
        ("ENTERED", "BUILD", "Ayu J"),
        ("ENTERED", "OVERRIDE", "Budi"),
        ("EXITED", "OVERRIDE", "Ayu J"),
    ]
    # one call, one moment: the order among them is the id tiebreak
    assert sorted(changes[3:]) == [
        ("ENTERED", "OVERRIDE", "Ayu J"),
        ("ENTERED", "OVERRIDE", "Citra"),
        ("EXITED", "OVERRIDE", "Budi"),
    ]
    too_many = [ayu] * 10_001
    data = await api(
        "mutation($input: SegmentContactsInput!) { addToSegment(input: $input) "
        f"{{ segment {{ id }} {h.ERRORS} }} }}",
        input={"segmentId": dynamic["id"], "contactIds": too_many},
    )
    assert data["addToSegment"]["userErrors"][0]["field"] == ["input", "contactIds"]


async def test_update_delete_restore_and_refresh(api):
    ayu = await h.contact(api, "Ayu", city="Jakarta")
    budi = await h.contact(api, "Budi", city="Bandung")
    segment = await h.create_segment(api, "Town", {"city": {"eq": "Jakarta"}})
    update = (
        "mutation($input: UpdateSegmentInput!) { updateSegment(input: $input) "
        f"{{ segment {{ name version rule size }} {h.ERRORS} }} }}"
    )
    payload = await api.mutate(
        update, input={"id": segment["id"], "version": 1, "ruleJson": {"city": {"eq": "Bandung"}}}
    )
    assert payload["segment"] == {
        "name": "Town",
        "version": 2,
        "rule": {"city": {"eq": "Bandung"}},
        "size": 1,
    }
    assert await h.members(api, segment["id"]) == {budi}
    assert [c[:2] for c in await _changes(api, segment["id"])][-2:] in (
        [("EXITED", "REFRESH"), ("ENTERED", "REFRESH")],
        [("ENTERED", "REFRESH"), ("EXITED", "REFRESH")],
    )
    data = await api(update, input={"id": segment["id"], "version": 1, "name": "Stale"})
    assert [e["code"] for e in data["updateSegment"]["userErrors"]] == ["CONFLICT"]

    deleted = await api.mutate(
        f"mutation($id: ID!) {{ deleteSegment(input: {{id: $id}}) {{ deletedId {h.ERRORS} }} }}",
        id=segment["id"],
    )
    assert deleted["deletedId"] == segment["id"]
    body = await api.raw("query($id: ID!) { segment(id: $id) { id } }", id=segment["id"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    data = await api("query($id: ID!) { contact(id: $id) { segments { totalCount } } }", id=budi)
    assert data["contact"]["segments"]["totalCount"] == 0
    await h.update_contact(api, ayu, city="Bandung")  # while deleted: not maintained
    restored = await api.mutate(
        f"mutation($id: ID!) {{ restoreSegment(input: {{id: $id}}) {{ segment {{ size }} {h.ERRORS} }} }}",
        id=segment["id"],
    )
    assert restored["segment"]["size"] == 2
    refreshed = await api.mutate(
        "mutation($id: ID!) { refreshSegment(input: {id: $id}) "
        f"{{ entered exited segment {{ size }} {h.ERRORS} }} }}",
        id=segment["id"],
    )
    assert refreshed == {"entered": 0, "exited": 0, "segment": {"size": 2}, "userErrors": []}


async def test_size_history(api):
    ayu = await h.contact(api, "Ayu", city="Jakarta")
    await h.contact(api, "Budi", city="Jakarta")
    segment = await h.create_segment(api, "Jakarta", {"city": {"eq": "Jakarta"}})
    await h.update_contact(api, ayu, city="Bandung")
    data = await api(
        "query($id: ID!) { segment(id: $id) { size sizeHistory(days: 3) { date size } } }",
        id=segment["id"],
    )
    history = data["segment"]["sizeHistory"]
    assert [d["size"] for d in history] == [0, 0, 1]
    assert history[0]["date"] < history[1]["date"] < history[2]["date"]
    body = await api.raw(
        "query($id: ID!) { segment(id: $id) { sizeHistory(days: 0) { size } } }", id=segment["id"]
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_deal_moving_between_accounts_updates_both_accounts_contacts(api):
    """Two to-many hops away (contact -> account -> deals): the hook walks back from the
    deal's new account and from its old one."""
    first = await h.account(api, "First")
    second = await h.account(api, "Second")
    ani = await h.contact(api, "Ani", accountId=first)
    budi = await h.contact(api, "Budi", accountId=second)
    segment = await h.create_segment(
        api, "Big accounts", {"account": {"deals": {"some": {"amount": {"gt": "1000"}}}}}
    )
    deal = await h.deal(
        api, "Big", [], accountId=first, amount={"amount": "5000", "currency": "USD"}
    )
    assert await h.members(api, segment["id"]) == {ani}
    update = """mutation($i: UpdateDealInput!) { updateDeal(input: $i) {
        deal { version } userErrors { field message code } } }"""
    moved = await api.mutate(
        update, i={"id": deal["id"], "version": deal["version"], "accountId": second}
    )
    assert await h.members(api, segment["id"]) == {budi}  # without refreshSegment
    await api.mutate(
        update,
        i={"id": deal["id"], "version": moved["deal"]["version"], "accountId": first},
    )
    assert await h.members(api, segment["id"]) == {ani}
