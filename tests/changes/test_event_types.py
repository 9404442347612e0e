"""Every kind of write leaves its typed events, with values before and after, who and when."""

from relasi.resolvers.changes import EVENT_TYPES
from tests.changes.helpers import ERRORS, read_all

_INPUTS = {"addToSegment": "SegmentContactsInput", "removeFromSegment": "SegmentContactsInput"}


async def _mutate(
    api, field: str, input: dict, select: str = "", input_type: str | None = None
) -> dict:
    input_type = input_type or _INPUTS.get(field, f"{field[0].upper()}{field[1:]}Input")
    query = f"mutation($i: {input_type}!) {{ {field}(input: $i) {{ {select} {ERRORS} }} }}"
    return await api.mutate(query, i=input)


async def _id_input(api, field: str, gid: str) -> dict:
    # delete/restore inputs are named per record type; a plain document avoids naming them
    return await api.mutate(f'mutation {{ {field}(input: {{id: "{gid}"}}) {{ {ERRORS} }} }}')


async def test_each_event_type_once_with_before_after_actor_and_request(api):
    contact = (
        await _mutate(
            api,
            "createContact",
            {"firstName": "Sari", "emails": [{"address": "sari@example.com"}]},
            "contact { id version }",
        )
    )["contact"]
    cid = contact["id"]
    contact = (
        await _mutate(
            api,
            "updateContact",
            {"id": cid, "version": contact["version"], "lastName": "Wijaya"},
            "contact { id version }",
        )
    )["contact"]
    account = (await _mutate(api, "createAccount", {"name": "Toko"}, "account { id version }"))[
        "account"
    ]
    aid = account["id"]
    await _mutate(
        api, "updateAccount", {"id": aid, "version": account["version"], "industry": "Retail"}
    )
    deal = (
        await _mutate(
            api,
            "createDeal",
            {"name": "Big", "amount": {"amount": "1500.5", "currency": "USD"}},
            "deal { id version stage { id } pipeline { stages { id } } }",
        )
    )["deal"]
    did = deal["id"]
    await _mutate(api, "updateDeal", {"id": did, "version": deal["version"], "name": "Bigger"})
    second_stage = deal["pipeline"]["stages"][1]["id"]
    await _mutate(api, "moveDealStage", {"id": did, "stageId": second_stage})
    case = (await _mutate(api, "createCase", {"subject": "Broken"}, "case { id version }"))["case"]
    kid = case["id"]
    await _mutate(api, "updateCase", {"id": kid, "version": case["version"], "priority": "HIGH"})
    await _mutate(api, "updateCase", {"id": kid, "version": case["version"] + 1, "status": "OPEN"})
    segment = (await _mutate(api, "createSegment", {"name": "VIP"}, "segment { id version }"))[
        "segment"
    ]
    sid = segment["id"]
    await _mutate(api, "updateSegment", {"id": sid, "version": segment["version"], "name": "VIPs"})
    await _mutate(api, "addToSegment", {"segmentId": sid, "contactIds": [cid]})
    await _mutate(api, "removeFromSegment", {"segmentId": sid, "contactIds": [cid]})
    touch = (
        await _mutate(
            api,
            "trackInteraction",
            {
                "contactId": cid,
                "channel": "WHATSAPP",
                "kind": "MESSAGE",
                "journeyStage": "CONSIDERATION",
                "utm": {"campaign": "ramadan"},
            },
            "interaction { id }",
        )
    )["interaction"]
    note = (await _mutate(api, "addNote", {"contactId": cid, "body": "Called"}, "note { id }"))[
        "note"
    ]
    task = (await _mutate(api, "createTask", {"title": "Call"}, "task { id version }"))["task"]
    tid = task["id"]
    await _mutate(api, "updateTask", {"id": tid, "version": task["version"], "title": "Call!"})
    await _mutate(api, "completeTask", {"id": tid}, input_type="TaskStatusInput")
    for record, gid in (
        ("Contact", cid),
        ("Account", aid),
        ("Deal", did),
        ("Case", kid),
        ("Segment", sid),
        ("Task", tid),
    ):
        await _id_input(api, f"delete{record}", gid)
        await _id_input(api, f"restore{record}", gid)

    events, _ = await read_all(api)
    assert [(e["type"], e["recordId"]) for e in events] == [
        ("contact.created", cid),
        ("contact.updated", cid),
        ("account.created", aid),
        ("account.updated", aid),
        ("deal.created", did),
        ("deal.updated", did),
        ("deal.updated", did),
        ("deal.stage_changed", did),
        ("case.created", kid),
        ("case.updated", kid),
        ("case.updated", kid),
        ("case.status_changed", kid),
        ("segment.created", sid),
        ("segment.updated", sid),
        ("segment.member_entered", sid),
        ("segment.member_exited", sid),
        ("interaction.tracked", touch["id"]),
        ("contact.updated", cid),
        ("contact.journey_stage_changed", cid),
        ("note.added", note["id"]),
        ("task.created", tid),
        ("task.updated", tid),
        ("task.updated", tid),
        ("task.completed", tid),
        ("contact.deleted", cid),
        ("contact.restored", cid),
        ("account.deleted", aid),
        ("account.restored", aid),
        ("deal.deleted", did),
        ("deal.restored", did),
        ("case.deleted", kid),
        ("case.restored", kid),
        ("segment.deleted", sid),
        ("segment.restored", sid),
        ("task.deleted", tid),
        ("task.restored", tid),
    ]
    # task.overdue is raised by background work, not a mutation (tests/tasks/test_events.py)
    assert {e["type"] for e in events} == set(EVENT_TYPES) - {"task.overdue"}
    assert all(e["actor"]["apiKeyName"] == "admin" and e["requestId"] for e in events)
    assert len({e["requestId"] for e in events}) == 31  # one per mutation
    # one number per write, shared by its events, gapless in the order read
    numbers = [int(e["sequence"]) for e in events]
    assert numbers == sorted(numbers)
    assert len({(e["requestId"], e["sequence"]) for e in events}) == 31
    assert sorted(set(numbers)) == list(range(numbers[0], numbers[0] + 31))
    times = [e["occurredAt"] for e in events]
    assert times == sorted(times)

    by_type = {}
    for e in events:
        by_type.setdefault(e["type"], []).append(e["changes"])
    created = by_type["contact.created"][0]
    assert created["firstName"] == {"before": None, "after": "Sari"}
    assert created["emails"] == {"before": None, "after": ["sari@example.com"]}
    assert created["journeyStage"] == {"before": None, "after": "AWARENESS"}
    assert by_type["contact.updated"][0] == {"lastName": {"before": None, "after": "Wijaya"}}
    assert by_type["account.updated"][0] == {"industry": {"before": None, "after": "Retail"}}
    assert by_type["deal.created"][0]["amount"] == {
        "before": None,
        "after": {"amount": "1500.50", "currency": "USD"},
    }
    assert by_type["deal.updated"][0] == {"name": {"before": "Big", "after": "Bigger"}}
    stage = {"before": deal["stage"]["id"], "after": second_stage}
    assert by_type["deal.updated"][1] == {"stageId": stage}
    assert by_type["deal.stage_changed"] == [{"stageId": stage}]
    assert by_type["case.updated"][0]["priority"] == {"before": "NORMAL", "after": "HIGH"}
    assert by_type["case.status_changed"][0]["status"] == {"before": "NEW", "after": "OPEN"}
    assert by_type["case.status_changed"][0]["firstResponseAt"]["before"] is None
    assert by_type["segment.updated"] == [{"name": {"before": "VIP", "after": "VIPs"}}]
    assert by_type["segment.member_entered"] == [{"contactId": {"before": None, "after": cid}}]
    assert by_type["segment.member_exited"] == [{"contactId": {"before": cid, "after": None}}]
    tracked = by_type["interaction.tracked"][0]
    assert tracked["channel"] == {"before": None, "after": "WHATSAPP"}
    assert tracked["contactId"] == {"before": None, "after": cid}
    assert tracked["utm"] == {"before": None, "after": {"campaign": "ramadan"}}
    journey = {"journeyStage": {"before": "AWARENESS", "after": "CONSIDERATION"}}
    assert by_type["contact.journey_stage_changed"] == [journey]
    assert by_type["contact.updated"][1] == journey
    assert by_type["note.added"] == [
        {"body": {"before": None, "after": "Called"}, "contactId": {"before": None, "after": cid}}
    ]
    deleted = by_type["contact.deleted"][0]["deletedAt"]
    assert deleted["before"] is None and deleted["after"]
    restored = by_type["contact.restored"][0]["deletedAt"]
    assert restored == {"before": deleted["after"], "after": None}


async def test_emails_and_deal_contacts_are_fields_of_their_record(api):
    contact = (
        await _mutate(
            api,
            "createContact",
            {"firstName": "Budi", "emails": [{"address": "budi@example.com"}]},
            "contact { id version }",
        )
    )["contact"]
    after = (await read_all(api))[1]
    await _mutate(
        api,
        "updateContact",
        {
            "id": contact["id"],
            "version": contact["version"],
            "firstName": "Budiman",
            "emails": [{"address": "b2@example.com"}, {"address": "budi@example.com"}],
            "phones": [{"number": "+6281234567890"}],
        },
    )
    deal = (
        await _mutate(
            api,
            "createDeal",
            {"name": "D", "contacts": [{"contactId": contact["id"], "role": "CHAMPION"}]},
            "deal { id }",
        )
    )["deal"]
    await _mutate(api, "removeDealContact", {"dealId": deal["id"], "contactId": contact["id"]})
    events, _ = await read_all(api, after)
    assert [e["type"] for e in events] == ["contact.updated", "deal.created", "deal.updated"]
    # one event for the whole update: the emails as they were before it and are after it
    assert events[0]["changes"] == {
        "firstName": {"before": "Budi", "after": "Budiman"},
        "emails": {"before": ["budi@example.com"], "after": ["b2@example.com", "budi@example.com"]},
        "phones": {"before": [], "after": ["+6281234567890"]},
    }
    link = {"contactId": contact["id"], "role": "CHAMPION"}
    assert events[1]["changes"]["contacts"] == {"before": None, "after": [link]}
    assert events[2]["changes"] == {"contacts": {"before": [link], "after": []}}


async def test_an_update_that_changes_nothing_records_nothing(api):
    contact = (
        await _mutate(api, "createContact", {"firstName": "Dewi"}, "contact { id version }")
    )["contact"]
    after = (await read_all(api))[1]
    await _mutate(
        api,
        "updateContact",
        {"id": contact["id"], "version": contact["version"], "firstName": "Dewi"},
    )
    assert (await read_all(api, after))[0] == []
    # the same emails again: rewritten in storage, but nothing a client would call a change
    emails = [{"address": "dewi@example.com"}]
    with_email = await _mutate(
        api,
        "updateContact",
        {"id": contact["id"], "version": contact["version"] + 1, "emails": emails},
        "contact { version }",
    )
    after = (await read_all(api))[1]
    numbers = [int(e["sequence"]) for e in (await read_all(api))[0]]
    await _mutate(
        api,
        "updateContact",
        {"id": contact["id"], "version": with_email["contact"]["version"], "emails": emails},
    )
    assert (await read_all(api, after))[0] == []
    # and that write took no number: the next write's follows on
    more = await _mutate(api, "createContact", {"firstName": "Next"}, "contact { id }")
    (created,) = (await read_all(api, after))[0]
    assert created["recordId"] == more["contact"]["id"]
    assert int(created["sequence"]) == numbers[-1] + 1
