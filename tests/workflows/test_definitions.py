"""Saving workflows: create, read, update (a new version; a run records its own), enable,
disable, delete, stats; every refused input reported at its exact path; hostile input."""

from tests.workflows.conftest import (
    ERRORS,
    UPDATE,
    create,
    create_errors,
    settled_runs,
)
from tests.workflows.writes import contact, mutate

NOTE = [{"addNote": {"body": "seen"}}]
READ = """query($id: ID!) { workflow(id: $id) { id name description version enabled
  stats { runs failures lastRunAt lastStatus } }
  workflows(first: 50) { nodes { id } } }"""


def _at(errors: list[dict]) -> dict[str, str]:
    return {".".join(e["field"]): e["message"] for e in errors}


async def test_create_read_update_version_enable_disable_delete(fapi, worker):
    wf = await create(
        fapi,
        name="Welcome",
        description="Greets new contacts",
        recordType="CONTACT",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=[{"addNote": {"body": "Welcome {{contact.firstName}}"}}],
    )
    assert wf["version"] == 1 and wf["enabled"] and wf["recordType"] == "CONTACT"
    assert wf["triggers"] == [{"recordEvent": {"event": "CREATED"}}]
    await contact(fapi, firstName="Ana")
    await settled_runs(fapi, wf["id"], 1)
    v2 = (
        await fapi.mutate(
            UPDATE,
            i={
                "id": wf["id"],
                "version": 1,
                "actions": [{"addNote": {"body": "Hi {{contact.firstName}}"}}],
            },
        )
    )["workflow"]
    assert v2["version"] == 2 and v2["actions"][0]["addNote"]["body"] == "Hi {{contact.firstName}}"
    stale = await fapi(UPDATE, i={"id": wf["id"], "version": 1, "name": "Late"})
    assert stale["updateWorkflow"]["userErrors"][0]["code"] == "CONFLICT"
    await contact(fapi, firstName="Budi")
    found = await settled_runs(fapi, wf["id"], 2)
    assert sorted(r["version"] for r in found) == [1, 2]  # each run keeps its version
    v1_run = next(r for r in found if r["version"] == 1)
    assert v1_run["steps"][0]["input"]["body"] == "Welcome Ana"
    data = await fapi(READ, id=wf["id"])
    assert data["workflow"]["stats"]["runs"] == 2 and data["workflow"]["stats"]["failures"] == 0
    assert data["workflow"]["stats"]["lastStatus"] == "SUCCEEDED"
    off = await mutate(fapi, "disableWorkflow", {"id": wf["id"]}, "workflow { enabled version }")
    assert off["workflow"] == {"enabled": False, "version": 2}
    on = await mutate(fapi, "enableWorkflow", {"id": wf["id"]}, "workflow { enabled }")
    assert on["workflow"]["enabled"]
    await mutate(fapi, "deleteWorkflow", {"id": wf["id"]}, "deletedId")
    gone = await fapi.raw("query($id: ID!) { workflow(id: $id) { id } }", id=wf["id"])
    assert gone["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert wf["id"] not in {
        n["id"] for n in (await fapi("{ workflows { nodes { id } } }"))["workflows"]["nodes"]
    }
    # its runs stay readable
    assert len(await settled_runs(fapi, wf["id"], 2)) == 2


async def test_triggers_refused_at_their_exact_paths(fapi):
    errors = await create_errors(
        fapi,
        recordType="CONTACT",
        triggers=[
            {"fieldChanged": {"field": "shoeSize"}},
            {"fieldChanged": {"field": "leadRating", "from": "HOT", "to": "HOT"}},
            {"fieldChanged": {"field": "leadRating", "to": ["WARM", "LUKEWARM"]}},
            {"fieldChanged": {"field": "owner", "to": "not-an-id"}},
            {"caseSla": {"event": "BREACHED"}},
            {"schedule": {"cron": "every monday", "timeZone": "Mars/Olympus"}},
            {"relativeTime": {"field": "firstName", "offsetMinutes": -60}},
            {"taskOverdue": True},
        ],
        actions=NOTE,
    )
    at = _at(errors)
    assert set(at) == {
        "input.triggers.0.fieldChanged.field",
        "input.triggers.1.fieldChanged.to",
        "input.triggers.2.fieldChanged.to.1",
        "input.triggers.3.fieldChanged.to",
        "input.triggers.4.caseSla",
        "input.triggers.5.schedule.cron",
        "input.triggers.5.schedule.timeZone",
        "input.triggers.6.relativeTime.field",
        "input.triggers.7.taskOverdue",
    }, at
    assert "shoeSize" in at["input.triggers.0.fieldChanged.field"]
    assert "LUKEWARM" in at["input.triggers.2.fieldChanged.to.1"]


async def test_a_deal_stage_that_does_not_exist_is_refused(fapi):
    errors = await create_errors(
        fapi,
        recordType="DEAL",
        triggers=[{"fieldChanged": {"field": "stage", "to": "Haggling"}}],
        actions=[{"moveDealStage": {"stage": "Nowhere"}}],
    )
    assert set(_at(errors)) == {
        "input.triggers.0.fieldChanged.to",
        "input.actions.0.moveDealStage.stage",
    }


async def test_templates_that_name_nothing_are_refused_where_they_are(fapi):
    errors = await create_errors(
        fapi,
        recordType="DEAL",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=[
            {"createTask": {"title": "Call {{deal.owner.shoe}}"}},
            {
                "branch": {
                    "condition": {"deal": {"amount": {"gt": "10"}}},
                    "then": [{"addNote": {"body": "{{contact.firstName}} {{steps.0.task.id}}"}}],
                    "else": [
                        {"addNote": {"body": "{{steps.1.then.0.note.id}} {{deal.contacts.name}}"}}
                    ],
                }
            },
            {"addNote": {"body": "{{steps.2.note.id}} {{deal.owner}} {{steps.0.task.nope}}"}},
        ],
    )
    at = _at(errors)
    assert set(at) == {
        "input.actions.0.createTask.title",
        "input.actions.1.branch.then.0.addNote.body",
        "input.actions.1.branch.else.0.addNote.body",
        "input.actions.2.addNote.body",
    }, at
    assert "shoe" in at["input.actions.0.createTask.title"]


async def test_actions_and_conditions_refused_at_their_exact_paths(fapi):
    errors = await create_errors(
        fapi,
        recordType="CONTACT",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        condition={"deal": {"name": {"eq": "x"}}},
        actions=[
            {"updateRecord": {"fields": {"leadRating": "SCALDING", "shoeSize": 44}}},
            {"updateRecord": {"target": "deals", "fields": {"name": "x"}}},
            {
                "assignOwner": {
                    "member": "TWVtYmVyOjAwMDAwMDAwLTAwMDAtMDAwMC0wMDAwLTAwMDAwMDAwMDAwMA"
                }
            },
            {"moveDealStage": {"stage": "Won"}},
            {"addToSegment": {"segmentId": "nope"}},
            {"wait": {"minutes": 5, "until": "2030-01-01T00:00:00Z"}},
            {"wait": {"condition": {"contact": {"city": {"eq": "Medan"}}}}},
            {"createTask": {"title": "   ", "dueInMinutes": -5}},
        ],
    )
    at = _at(errors)
    assert set(at) == {
        "input.condition",
        "input.actions.0.updateRecord.fields.leadRating",
        "input.actions.0.updateRecord.fields.shoeSize",
        "input.actions.1.updateRecord.target",
        "input.actions.2.assignOwner.member",
        "input.actions.3.moveDealStage",
        "input.actions.4.addToSegment.segmentId",
        "input.actions.5.wait",
        "input.actions.6.wait.timeoutMinutes",
        "input.actions.7.createTask.title",
        "input.actions.7.createTask.dueInMinutes",
    }, at


async def test_a_condition_is_checked_like_a_list_filter(fapi):
    nested: dict = {"city": {"eq": "Medan"}}
    for _ in range(10):
        nested = {"not": nested}
    errors = await create_errors(
        fapi,
        recordType="CONTACT",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        condition={"contact": nested},
        actions=[{"addNote": {"body": "x"}}],
    )
    (error,) = errors
    assert error["field"][:4] == ["input", "condition", "contact", "not"]
    assert "nest" in error["message"]


async def test_hostile_input_is_refused_cleanly(fapi):
    deep: dict = {"addNote": {"body": "x"}}
    for _ in range(8):
        deep = {"branch": {"condition": {"contact": {}}, "then": [deep]}}
    very_deep = deep
    for _ in range(200):
        very_deep = {"branch": {"condition": {"contact": {}}, "then": [very_deep]}}
    cases = [
        {"name": "x" * 10_000},
        {"name": "nul\x00"},
        {"triggers": []},
        {"triggers": [{"recordEvent": {"event": "CREATED"}}] * 50},
        {"actions": []},
        {"actions": [{"addNote": {"body": "x"}}] * 60},
        {"actions": [deep]},
        {"actions": [{"addNote": {"body": "{{" * 500}}]},
        {"actions": [{"addNote": {"body": "{{contact.firstName}}" * 200}}]},
        {"actions": [{"updateRecord": {"fields": {"firstName": ["a"] * 10}}}]},
        {"actions": [{"updateRecord": {"fields": "'; DROP TABLE contacts; --"}}]},
        {"triggers": [{"fieldChanged": {"field": "firstName", "to": {"$gt": ""}}}]},
        {"actions": [{"addNote": {"body": "x"}}] * 5_000},  # thousands: one error, not 4,950
        {"actions": [very_deep]},
        {"actions": [{"updateRecord": {"fields": {"city": "x" * 1_000_000}}}]},
        {"actions": [{"updateRecord": {"fields": {"x" * 100_000: "a"}}}]},
        {"actions": [{"updateRecord": {"fields": {"customAttributes": {"k": "v" * 200_000}}}}]},
    ]
    for overrides in cases:
        fields = {
            "name": "Hostile",
            "recordType": "CONTACT",
            "triggers": [{"recordEvent": {"event": "CREATED"}}],
            "actions": NOTE,
            **overrides,
        }
        body = await fapi.raw(
            "mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { workflow { id } "
            + ERRORS
            + " } }",
            i=fields,
        )
        short = str(overrides)[:200]
        if body.get("errors"):  # refused before the resolver: variables nested too deeply
            assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"], short
            continue
        payload = (body.get("data") or {}).get("createWorkflow")
        assert payload is not None and payload["workflow"] is None, (short, str(body)[:500])
        assert 1 <= len(payload["userErrors"]) <= 5, short
        assert len(str(payload["userErrors"])) < 5_000, short  # no echo of the huge input
    assert (await fapi("{ workflows { nodes { id } } }"))["workflows"]["nodes"] == []


async def test_a_workflow_is_admin_work(fapi, database):
    from relasi.auth.api_keys import create_api_key

    async with database.pool.acquire() as conn:
        _, key = await create_api_key(
            conn, fapi.workspace_id, "sales", scopes=["contacts:read", "contacts:write"]
        )
    response = await fapi.client.post(
        "/graphql",
        json={"query": "{ workflows { nodes { id } } }"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_money_and_custom_attribute_values_refused_at_their_paths(fapi):
    errors = await create_errors(
        fapi,
        recordType="DEAL",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=[
            {"updateRecord": {"fields": {"amount": {"amount": "12.345", "currency": "USD"}}}},
            {"updateRecord": {"fields": {"amount": {"amount": "lots", "currency": "XYZ"}}}},
            {"updateRecord": {"fields": {"amount": "50000"}}},
            {
                "updateRecord": {
                    "fields": {"amount": {"amount": "{{deal.nope}}", "currency": "USD"}}
                }
            },
            {"updateRecord": {"fields": {"customAttributes": {"tier": "gold"}}}},
            {
                "updateRecord": {
                    "target": "account",
                    "fields": {
                        "annualRevenue": {"amount": "-1", "currency": "IDR"},
                        "customAttributes": ["not", "an", "object"],
                    },
                }
            },
        ],
    )
    at = _at(errors)
    assert set(at) == {
        "input.actions.0.updateRecord.fields.amount.amount",  # USD has 2 decimals
        "input.actions.1.updateRecord.fields.amount.amount",
        "input.actions.1.updateRecord.fields.amount.currency",
        "input.actions.2.updateRecord.fields.amount",
        "input.actions.3.updateRecord.fields.amount",  # a template naming nothing
        "input.actions.4.updateRecord.fields.customAttributes",  # deals have none
        "input.actions.5.updateRecord.fields.annualRevenue.amount",
        "input.actions.5.updateRecord.fields.customAttributes",
    }, at
    assert "XYZ" in at["input.actions.1.updateRecord.fields.amount.currency"]
    assert {e["code"] for e in errors} == {"BAD_USER_INPUT"}
