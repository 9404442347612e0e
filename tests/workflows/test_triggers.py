"""Each trigger fires once for a matching change and not for one that does not match; value
transitions; several triggers; a foreign workspace's records never trigger a workflow."""

import pytest

from tests.workflows.conftest import create, quiet, runs, settled_runs
from tests.workflows.writes import case, contact, deal, member, move, mutate, update_contact

NOTE = [{"addNote": {"body": "seen"}}]


async def _on(api, trigger: dict, record_type: str = "CONTACT") -> dict:
    """A workflow of `record_type` with one trigger that adds a note."""
    return await create(api, recordType=record_type, triggers=[trigger], actions=NOTE)


async def _records(api, wf, count: int, status: str = "SUCCEEDED") -> list[str]:
    """The record ids of the workflow's runs once `count` finished, and no more came."""
    found = await settled_runs(api, wf["id"], count)
    found = await quiet(api, wf["id"], 1.0)
    assert all(r["status"] == status for r in found), [(r["status"], r["error"]) for r in found]
    return sorted(r["recordId"] for r in found)


async def test_record_events_created_updated_deleted_restored(fapi, worker):
    flows = {
        event: await create(
            fapi,
            recordType="ACCOUNT",
            triggers=[{"recordEvent": {"event": event}}],
            actions=[{"updateRecord": {"fields": {"country": "ID"}}}]
            if event == "CREATED"
            else NOTE,
        )
        for event in ("CREATED", "UPDATED", "DELETED", "RESTORED")
    }
    a = (await mutate(fapi, "createAccount", {"name": "Toko"}, "account { id }"))["account"]
    # the CREATED workflow's own update is an UPDATED change (made by a workflow: it counts)
    assert await _records(fapi, flows["CREATED"], 1) == [a["id"]]
    assert await _records(fapi, flows["UPDATED"], 1) == [a["id"]]
    await mutate(fapi, "deleteAccount", {"id": a["id"]}, "deletedId")
    # fired; its note cannot go on a deleted account: the run fails and says so
    assert await _records(fapi, flows["DELETED"], 1, "FAILED") == [a["id"]]
    assert await quiet(fapi, flows["RESTORED"]["id"], 0.5) == []
    await mutate(fapi, "restoreAccount", {"id": a["id"]}, "account { id }")
    assert await _records(fapi, flows["RESTORED"], 1) == [a["id"]]
    assert (
        len(await _records(fapi, flows["UPDATED"], 1)) == 1
    )  # deletes and restores are not updates


async def test_field_changed_from_warm_to_hot_only(fapi, worker):
    wf = await _on(fapi, {"fieldChanged": {"field": "leadRating", "from": "WARM", "to": "HOT"}})
    warm = await contact(fapi, firstName="Warm", leadRating="WARM")
    cold = await contact(fapi, firstName="Cold", leadRating="COLD")
    await update_contact(fapi, cold["id"], leadRating="HOT")  # COLD -> HOT: no
    await update_contact(fapi, warm["id"], title="CEO")  # another field: no
    await update_contact(fapi, warm["id"], leadRating="HOT")  # WARM -> HOT: yes
    assert await _records(fapi, wf, 1) == [warm["id"]]


async def test_case_status_to_resolved_and_owner_assigned(fapi, worker):
    resolved = await create(
        fapi,
        recordType="CASE",
        triggers=[{"fieldChanged": {"field": "status", "to": ["RESOLVED", "CLOSED"]}}],
        actions=NOTE,
    )
    assigned = await create(
        fapi,
        recordType="CASE",
        triggers=[{"fieldChanged": {"field": "owner"}}],
        actions=NOTE,
    )
    dewi = await member(fapi, "Dewi")
    k = await case(fapi)
    other = await case(fapi, subject="Other")
    await mutate(fapi, "updateCase", {"id": k["id"], "version": 1, "status": "OPEN"})
    await mutate(fapi, "updateCase", {"id": other["id"], "version": 1, "ownerId": dewi})
    await mutate(fapi, "updateCase", {"id": k["id"], "version": 2, "status": "RESOLVED"})
    assert await _records(fapi, resolved, 1) == [k["id"]]
    assert await _records(fapi, assigned, 1) == [other["id"]]


async def test_deal_stage_by_name_or_id(fapi, worker):
    d = await deal(fapi)
    proposal = next(s["id"] for s in d["pipeline"]["stages"] if s["name"] == "Proposal")
    by_name = await create(
        fapi,
        recordType="DEAL",
        triggers=[{"fieldChanged": {"field": "stage", "to": "negotiation"}}],
        actions=NOTE,
    )
    by_id = await create(
        fapi,
        recordType="DEAL",
        triggers=[{"fieldChanged": {"field": "stage", "to": proposal}}],
        actions=NOTE,
    )
    await move(fapi, d, "Proposal")
    await move(fapi, d, "Negotiation")
    assert await _records(fapi, by_id, 1) == [d["id"]]
    assert await _records(fapi, by_name, 1) == [d["id"]]


async def test_touchpoint_journey_and_segment_triggers(fapi, worker):
    c = await contact(fapi, firstName="Tia")
    seg = (await mutate(fapi, "createSegment", {"name": "VIP"}, "segment { id }"))["segment"]
    whatsapp = await _on(fapi, {"touchpointTracked": {"channels": ["WHATSAPP"]}})
    journey = await _on(fapi, {"journeyStageChanged": {"to": "DECISION"}})
    entered = await _on(fapi, {"segmentMembership": {"segmentId": seg["id"], "change": "ENTERED"}})
    track = "trackInteraction"
    await mutate(
        fapi,
        track,
        {"contactId": c["id"], "channel": "EMAIL", "kind": "EMAIL_OPEN"},
        "interaction { id }",
    )
    await mutate(
        fapi,
        track,
        {"contactId": c["id"], "channel": "WHATSAPP", "kind": "MESSAGE"},
        "interaction { id }",
    )
    await update_contact(fapi, c["id"], journeyStage="CONSIDERATION")
    await update_contact(fapi, c["id"], journeyStage="DECISION")
    await mutate(
        fapi, "addToSegment", {"segmentId": seg["id"], "contactIds": [c["id"]]}, "segment { id }"
    )
    assert await _records(fapi, whatsapp, 1) == [c["id"]]
    assert await _records(fapi, journey, 1) == [c["id"]]
    assert await _records(fapi, entered, 1) == [c["id"]]


async def test_several_triggers_one_run_per_change(fapi, worker):
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=[
            {"recordEvent": {"event": "CREATED"}},
            {"fieldChanged": {"field": "leadRating", "to": "HOT"}},
            {"fieldChanged": {"field": "title"}},
        ],
        actions=NOTE,
    )
    a = await contact(fapi, firstName="A")  # trigger 0
    b = await contact(fapi, firstName="B")  # trigger 0
    await update_contact(fapi, b["id"], leadRating="HOT", title="Boss")  # 1 and 2: one run
    found = await settled_runs(fapi, wf["id"], 3)
    found = await quiet(fapi, wf["id"], 1.0)
    by_index = sorted((r["recordId"] == b["id"], r["trigger"]["index"]) for r in found)
    assert by_index == [(False, 0), (True, 0), (True, 1)]
    assert a["id"] in {r["recordId"] for r in found}


async def test_a_foreign_workspace_never_triggers(fapi, other_fapi, worker):
    wf = await create(
        fapi, recordType="CONTACT", triggers=[{"recordEvent": {"event": "CREATED"}}], actions=NOTE
    )
    theirs = await create(
        other_fapi,
        recordType="CONTACT",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=NOTE,
    )
    await contact(other_fapi, firstName="Foreign")
    mine = await contact(fapi, firstName="Mine")
    assert await _records(fapi, wf, 1) == [mine["id"]]
    (run,) = await settled_runs(other_fapi, theirs["id"], 1)
    assert run["recordId"] != mine["id"]
    # and neither sees the other's runs
    assert await quiet(other_fapi, wf["id"], 0) == []


async def test_changes_before_a_workflow_existed_or_while_disabled_do_not_count(fapi, worker):
    early = await contact(fapi, firstName="Early")
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=[{"fieldChanged": {"field": "city"}}],
        actions=NOTE,
        enabled=False,
    )
    await update_contact(fapi, early["id"], city="Medan")
    assert await quiet(fapi, wf["id"], 1.0) == []
    await mutate(fapi, "enableWorkflow", {"id": wf["id"]}, "workflow { enabled }")
    await update_contact(fapi, early["id"], city="Solo")
    assert await _records(fapi, wf, 1) == [early["id"]]


async def test_task_overdue_fires_once(fapi, worker):
    wf = await create(
        fapi,
        recordType="TASK",
        triggers=[{"taskOverdue": True}],
        actions=[
            {"createCase": {"subject": "Overdue: {{task.title}}"}},
            {"updateRecord": {"fields": {"priority": "URGENT"}}},
        ],
    )
    c = await contact(fapi, firstName="Late")
    late = await mutate(
        fapi,
        "createTask",
        {"title": "Call back", "dueAt": "2026-01-01T00:00:00Z", "contactId": c["id"]},
        "task { id }",
    )
    await mutate(
        fapi,
        "createTask",
        {"title": "Not yet", "dueAt": "2099-01-01T00:00:00Z", "contactId": c["id"]},
        "task { id }",
    )
    assert await _records(fapi, wf, 1) == [late["task"]["id"]]
    (run,) = await quiet(fapi, wf["id"], 6.0)  # past another overdue tick: still once
    assert run["steps"][0]["input"]["subject"] == "Overdue: Call back"
    got = await fapi(
        "query($c: ID!) { contact(id: $c) { cases(first: 5) { nodes { subject } } } }", c=c["id"]
    )
    assert got["contact"]["cases"]["nodes"] == [{"subject": "Overdue: Call back"}]
    task = await fapi("query($t: ID!) { task(id: $t) { priority } }", t=late["task"]["id"])
    assert task["task"]["priority"] == "URGENT"


# (record type, create mutation and its input, an update's field): accounts are above
RECORDS = {
    "CONTACT": ({"firstName": "Sari"}, {"title": "CEO"}),
    "DEAL": ({"name": "Kopi"}, {"name": "Kopi 2"}),
    "CASE": ({"subject": "Printer"}, {"subject": "Printer on fire"}),
    "TASK": ({"title": "Call"}, {"title": "Call back"}),
}


@pytest.mark.parametrize("record_type", list(RECORDS))
async def test_each_record_event_fires_once_for_its_change_only(fapi, worker, record_type):
    name = record_type.capitalize()
    created, changed = RECORDS[record_type]
    noop = {  # an action that writes nothing, so no change of the workflows' own comes back
        "branch": {
            "condition": {record_type.lower(): {"id": {"isNull": False}}},
            "then": [],
        }
    }
    flows = {
        event: await create(
            fapi,
            recordType=record_type,
            triggers=[{"recordEvent": {"event": event}}],
            actions=[noop],
        )
        for event in ("CREATED", "UPDATED", "DELETED", "RESTORED")
    }

    async def fired(event: str) -> list[str]:
        return sorted(r["recordId"] for r in await settled_runs(fapi, flows[event]["id"], 1))

    select = f"{record_type.lower()} {{ id version }}"
    record = (await mutate(fapi, f"create{name}", created, select))[record_type.lower()]
    assert await fired("CREATED") == [record["id"]]
    await mutate(
        fapi, f"update{name}", {"id": record["id"], "version": record["version"], **changed}
    )
    assert await fired("UPDATED") == [record["id"]]
    await mutate(fapi, f"delete{name}", {"id": record["id"]}, "deletedId")
    assert await fired("DELETED") == [record["id"]]
    # matching reads the log in order: the delete was matched, so was everything before it
    assert await runs(fapi, flows["RESTORED"]["id"]) == []
    await mutate(fapi, f"restore{name}", {"id": record["id"]}, select)
    assert await fired("RESTORED") == [record["id"]]
    for event, wf in flows.items():  # the restore was matched too: one run each, no more
        found = await runs(fapi, wf["id"])
        assert [(r["recordId"], r["status"]) for r in found] == [(record["id"], "SUCCEEDED")], event


async def test_touchpoint_kind_and_segment_exit(fapi, worker):
    c = await contact(fapi, firstName="Tia")
    other = await contact(fapi, firstName="Uli")
    seg = (await mutate(fapi, "createSegment", {"name": "VIP"}, "segment { id }"))["segment"]
    calls = await _on(fapi, {"touchpointTracked": {"kinds": ["CALL"], "channels": ["PHONE"]}})
    exited = await _on(fapi, {"segmentMembership": {"segmentId": seg["id"], "change": "EXITED"}})
    members = {"segmentId": seg["id"], "contactIds": [c["id"], other["id"]]}
    await mutate(fapi, "addToSegment", members, "segment { id }")  # entered: no
    for kind, channel, who in (("MESSAGE", "PHONE", c), ("CALL", "PHONE", other)):
        await mutate(
            fapi,
            "trackInteraction",
            {"contactId": who["id"], "channel": channel, "kind": kind},
            "interaction { id }",
        )
    assert await _records(fapi, calls, 1) == [other["id"]]  # the call, not the message
    await mutate(
        fapi,
        "removeFromSegment",
        {"segmentId": seg["id"], "contactIds": [c["id"]]},
        "segment { id }",
    )
    assert await _records(fapi, exited, 1) == [c["id"]]
