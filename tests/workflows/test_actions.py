"""Every action's effect, through the API: a workflow saved, a record written, a real job
worker running the workflow, the effect read back."""

import uuid
from collections import Counter

from tests.workflows.conftest import create, runs, settled_runs, until, webhook_endpoint
from tests.workflows.writes import (
    account,
    case,
    contact,
    deal,
    member,
    move,
    mutate,
    update_contact,
)

CREATED = [{"recordEvent": {"event": "CREATED"}}]
CHANGE_TYPES = """query { changes(first: 100) { nodes { type recordId } } }"""


async def _types(api) -> list[str]:
    return [c["type"] for c in (await api(CHANGE_TYPES))["changes"]["nodes"]]


async def _one_run(api, wf) -> dict:
    (run,) = await settled_runs(api, wf["id"], 1)
    assert run["status"] == "SUCCEEDED", (run["error"], run["steps"])
    return run


async def test_deal_reaching_negotiation_creates_a_task_for_its_owner(fapi, worker):
    owner = await member(fapi, "Dewi")
    wf = await create(
        fapi,
        recordType="DEAL",
        triggers=[{"fieldChanged": {"field": "stage", "to": "Negotiation"}}],
        actions=[
            {
                "createTask": {
                    "title": "Send the contract for {{deal.name}} to {{deal.owner.name}}",
                    "dueInMinutes": 1440,
                    "priority": "HIGH",
                }
            }
        ],
    )
    d = await deal(fapi, name="Kopi Kenangan", ownerId=owner)
    await move(fapi, d, "Negotiation")
    run = await _one_run(fapi, wf)
    (step,) = run["steps"]
    assert step["input"]["title"] == "Send the contract for Kopi Kenangan to Dewi"
    assert step["output"]["task.title"] == "Send the contract for Kopi Kenangan to Dewi"
    assert (await _types(fapi)).count("task.created") == 1
    got = await fapi(
        """query($d: ID!) { deal(id: $d) { tasks(first: 10) { nodes {
             id title priority status dueAt assignee { name } } } } }""",
        d=d["id"],
    )
    (task,) = got["deal"]["tasks"]["nodes"]
    assert task["id"] == step["output"]["task.id"]
    assert task["title"] == "Send the contract for Kopi Kenangan to Dewi"
    assert (task["priority"], task["status"], task["assignee"]) == (
        "HIGH",
        "OPEN",
        {"name": "Dewi"},
    )
    assert task["dueAt"]


async def test_update_the_record_and_a_related_one_with_templates(fapi, worker):
    a = await account(fapi, name="Toko Maju")
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=CREATED,
        actions=[
            {
                "updateRecord": {
                    "fields": {"leadRating": "HOT", "title": "Buyer at {{contact.account.name}}"}
                }
            },
            {
                "updateRecord": {
                    "target": "account",
                    "fields": {"industry": "Retail of {{contact.firstName}}"},
                }
            },
        ],
    )
    c = await contact(fapi, firstName="Sari", accountId=a["id"])
    run = await _one_run(fapi, wf)
    assert [s["output"]["record.id"] for s in run["steps"]] == [c["id"], a["id"]]
    got = await fapi(
        "query($c: ID!) { contact(id: $c) { leadRating title account { industry } } }", c=c["id"]
    )
    assert got["contact"] == {
        "leadRating": "HOT",
        "title": "Buyer at Toko Maju",
        "account": {"industry": "Retail of Sari"},
    }


async def test_assign_round_robin_takes_turns_and_least_loaded_picks_the_idle(fapi, worker):
    await member(fapi, "Adi")
    await member(fapi, "Budi")
    await member(fapi, "Citra", role="SUPPORT")  # another role: never picked
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=CREATED,
        actions=[{"assignOwner": {"roundRobin": "SALES"}}],
    )
    for name in ("A", "B", "C"):
        await contact(fapi, firstName=name)
    found = await settled_runs(fapi, wf["id"], 3)
    owners = Counter(r["steps"][0]["output"]["owner.name"] for r in found)
    assert set(owners) == {"Adi", "Budi"} and sorted(owners.values()) == [1, 2]  # in turn
    await mutate(fapi, "disableWorkflow", {"id": wf["id"]}, "workflow { enabled }")
    # least loaded: Adi and Budi own 3 contacts between them; a new SALES member owns none
    idle = await member(fapi, "Dian")
    wf2 = await create(
        fapi,
        recordType="CONTACT",
        triggers=CREATED,
        actions=[{"assignOwner": {"leastLoaded": "SALES"}}],
    )
    c = await contact(fapi, firstName="D")
    run = await _one_run(fapi, wf2)
    assert run["steps"][0]["output"]["owner.id"] == idle
    got = await fapi("query($c: ID!) { contact(id: $c) { owner { name } } }", c=c["id"])
    assert got["contact"]["owner"]["name"] == "Dian"


async def test_create_case_add_note_and_move_stage(fapi, worker):
    a = await account(fapi, name="Warung")
    wf = await create(
        fapi,
        recordType="DEAL",
        triggers=CREATED,
        actions=[
            {"createCase": {"subject": "Onboard {{deal.name}}", "priority": "HIGH"}},
            {"addNote": {"body": "Case {{steps.0.case.id}} opened for {{deal.account.name}}"}},
            {"moveDealStage": {"stage": "Proposal"}},
        ],
    )
    d = await deal(fapi, name="Nasi", accountId=a["id"])
    run = await _one_run(fapi, wf)
    case_id = run["steps"][0]["output"]["case.id"]
    assert run["steps"][1]["input"]["body"] == f"Case {case_id} opened for Warung"
    assert run["steps"][2]["output"]["stage.name"] == "Proposal"
    got = await fapi(
        """query($c: ID!, $d: ID!) {
             case(id: $c) { subject priority account { name } }
             deal(id: $d) { stage { name } } }""",
        c=case_id,
        d=d["id"],
    )
    assert got["case"] == {
        "subject": "Onboard Nasi",
        "priority": "HIGH",
        "account": {"name": "Warung"},
    }
    assert got["deal"]["stage"]["name"] == "Proposal"
    notes = await fapi(
        """query($a: ID!) { account(id: $a) { timeline(first: 20) { nodes {
             __typename ... on NoteEvent { body } } } } }""",
        a=a["id"],
    )
    bodies = [n.get("body") for n in notes["account"]["timeline"]["nodes"]]
    assert f"Case {case_id} opened for Warung" in bodies


async def test_add_to_and_remove_from_a_static_segment(fapi, worker):
    seg = (await mutate(fapi, "createSegment", {"name": "Hot leads"}, "segment { id }"))["segment"]
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=[{"fieldChanged": {"field": "leadRating", "to": "HOT"}}],
        actions=[{"addToSegment": {"segmentId": seg["id"]}}],
    )
    wf_out = await create(
        fapi,
        recordType="CONTACT",
        triggers=[{"fieldChanged": {"field": "leadRating", "from": "HOT"}}],
        actions=[{"removeFromSegment": {"segmentId": seg["id"]}}],
    )
    c = await contact(fapi, firstName="Hot", leadRating="WARM")
    await update_contact(fapi, c["id"], leadRating="HOT")
    await _one_run(fapi, wf)
    members = "query($s: ID!) { segment(id: $s) { members(first: 10) { nodes { id } } } }"
    assert (await fapi(members, s=seg["id"]))["segment"]["members"]["nodes"] == [{"id": c["id"]}]
    await update_contact(fapi, c["id"], leadRating="COLD")
    await _one_run(fapi, wf_out)
    assert (await fapi(members, s=seg["id"]))["segment"]["members"]["nodes"] == []


async def test_send_webhook_is_signed_and_carries_rendered_templates(fapi, worker, receiver):
    name = uuid.uuid4().hex[:12]
    endpoint = await webhook_endpoint(fapi, receiver, name)
    wf = await create(
        fapi,
        recordType="CASE",
        triggers=CREATED,
        actions=[
            {
                "sendWebhook": {
                    "endpointId": endpoint,
                    "payload": {"text": "New case: {{case.subject}}", "n": 1},
                }
            }
        ],
    )
    k = await case(fapi, subject="Login broken")
    run = await _one_run(fapi, wf)
    assert run["steps"][0]["output"] == {"webhook.statusCode": 200}
    (arrival,) = receiver.of(name)  # verified with the endpoint's secret
    data = arrival.payload["data"]
    assert arrival.payload["type"] == "workflow.action"
    assert data["payload"] == {"text": "New case: Login broken", "n": 1}
    assert data["recordId"] == k["id"] and data["workflowId"] == wf["id"]


async def test_branch_takes_then_or_else_on_the_condition(fapi, worker):
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=CREATED,
        actions=[
            {
                "branch": {
                    "condition": {"contact": {"country": {"eq": "ID"}}},
                    "then": [{"updateRecord": {"fields": {"city": "Jakarta"}}}],
                    "else": [{"updateRecord": {"fields": {"city": "Elsewhere"}}}],
                }
            },
            {"addNote": {"body": "went {{steps.0.branch.taken}}"}},
        ],
    )
    local = await contact(fapi, firstName="Lokal", country="ID")
    away = await contact(fapi, firstName="Jauh", country="SG")
    found = await settled_runs(fapi, wf["id"], 2)
    paths = {r["recordId"]: [s["path"] for s in r["steps"]] for r in found}
    assert paths == {local["id"]: ["0", "0.then.0", "1"], away["id"]: ["0", "0.else.0", "1"]}
    cities = "query($a: ID!, $b: ID!) { a: contact(id: $a) { city } b: contact(id: $b) { city } }"
    got = await fapi(cities, a=local["id"], b=away["id"])
    assert got == {"a": {"city": "Jakarta"}, "b": {"city": "Elsewhere"}}


async def test_writes_are_the_workflows_in_the_change_log(fapi, worker):
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=CREATED,
        actions=[{"updateRecord": {"fields": {"city": "Bandung"}}}],
    )
    c = await contact(fapi)
    await _one_run(fapi, wf)
    got = await fapi(
        """query($c: [ID!]) { changes(filter: {recordIds: $c}) { nodes { type
             actor { apiKeyName } workflow { id name } } } }""",
        c=[c["id"]],
    )
    created, updated = got["changes"]["nodes"]
    assert created["workflow"] is None and created["actor"]["apiKeyName"]
    assert updated["type"] == "contact.updated"
    assert updated["actor"] == {"apiKeyName": None}
    assert updated["workflow"] == {"id": wf["id"], "name": "Test workflow"}


async def test_update_record_sets_money_and_custom_attributes(fapi, worker):
    wf = await create(
        fapi,
        recordType="DEAL",
        triggers=CREATED,
        actions=[
            {"updateRecord": {"fields": {"amount": {"amount": "1250000.50", "currency": "usd"}}}},
            {
                "updateRecord": {
                    "target": "account",
                    "fields": {
                        "annualRevenue": {"amount": "{{deal.amount}}", "currency": "EUR"},
                        "customAttributes": {
                            "tier": "gold",
                            "source": "{{deal.name}}",
                            "old": None,
                        },
                    },
                }
            },
        ],
    )
    a = await account(fapi, name="Toko Maju", customAttributes={"old": 1, "kept": True})
    d = await deal(fapi, name="Kopi", accountId=a["id"])
    await _one_run(fapi, wf)
    got = await fapi(
        """query($d: ID!) { deal(id: $d) { amount { amount currency }
             account { annualRevenue { amount currency } customAttributes } } }""",
        d=d["id"],
    )
    assert got["deal"]["amount"] == {"amount": "1250000.50", "currency": "USD"}
    assert got["deal"]["account"]["annualRevenue"] == {"amount": "1250000.50", "currency": "EUR"}
    # the keys given are set, a null removes its key, the others stay
    assert got["deal"]["account"]["customAttributes"] == {
        "tier": "gold",
        "source": "Kopi",
        "kept": True,
    }


async def test_a_rendered_amount_the_mutation_refuses_fails_the_step(fapi, worker):
    wf = await create(
        fapi,
        recordType="DEAL",
        triggers=CREATED,
        actions=[
            {"updateRecord": {"fields": {"amount": {"amount": "{{deal.name}}", "currency": "USD"}}}}
        ],
    )
    d = await deal(fapi, name="not a number")
    (run,) = await settled_runs(fapi, wf["id"], 1)
    assert run["status"] == "FAILED"
    assert "fields.amount.amount" in run["steps"][0]["error"]
    got = await fapi("query($d: ID!) { deal(id: $d) { amount { amount } } }", d=d["id"])
    assert got["deal"]["amount"] is None


async def test_templates_mask_personal_data_for_a_workflow_saved_without_pii_read(
    fapi, database, worker
):
    from relasi.auth.api_keys import create_api_key
    from relasi.auth.scopes import ROLE_SCOPES, Role
    from tests.conftest import Api

    scopes = (ROLE_SCOPES[Role.SALES] - {"pii:read"}) | {"workflows:read", "workflows:write"}
    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, fapi.workspace_id, "no pii", scopes=sorted(scopes))
    note = [{"addNote": {"body": "Mail {{contact.email}}"}}]
    masked = await create(
        Api(fapi.client, fapi.workspace_id, key),
        name="Saved without pii:read",
        recordType="CONTACT",
        triggers=CREATED,
        actions=note,
    )
    plain = await create(
        fapi, name="Saved by an admin", recordType="CONTACT", triggers=CREATED, actions=note
    )
    await contact(fapi, firstName="Sari", emails=[{"address": "sari@example.com"}])
    assert (await _one_run(fapi, masked))["steps"][0]["input"]["body"] == "Mail s***@example.com"
    assert (await _one_run(fapi, plain))["steps"][0]["input"]["body"] == "Mail sari@example.com"


async def test_deleting_a_workflow_stops_its_runs_under_way(fapi, worker):
    wf = await create(
        fapi,
        recordType="CONTACT",
        triggers=CREATED,
        actions=[{"wait": {"minutes": 60}}, {"addNote": {"body": "an hour later"}}],
    )
    await contact(fapi, firstName="Ana")

    async def waiting():
        found = await runs(fapi, wf["id"])
        return found if found and found[0]["status"] == "WAITING" else None

    await until(waiting)
    await mutate(fapi, "deleteWorkflow", {"id": wf["id"]}, "deletedId")
    (run,) = await runs(fapi, wf["id"])  # still readable
    assert (run["status"], run["error"]) == ("FAILED", "The workflow was deleted.")
    assert [s["status"] for s in run["steps"]] == ["WAITING"]  # the note never came


async def test_assign_a_fixed_member(fapi, worker):
    dewi = await member(fapi, "Dewi")
    wf = await create(
        fapi,
        recordType="DEAL",
        triggers=CREATED,
        actions=[{"assignOwner": {"member": dewi}}],
    )
    d = await deal(fapi, name="Kopi")
    run = await _one_run(fapi, wf)
    assert run["steps"][0]["output"]["owner.id"] == dewi
    got = await fapi("query($d: ID!) { deal(id: $d) { owner { id name } } }", d=d["id"])
    assert got["deal"]["owner"] == {"id": dewi, "name": "Dewi"}
