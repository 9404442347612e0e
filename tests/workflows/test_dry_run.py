"""testWorkflow: which triggers and the condition match, every action it would take, and
nothing written (change log, audit log, records, runs, the round-robin turn: all unchanged)."""

import uuid

from tests.workflows.conftest import create, runs, webhook_endpoint
from tests.workflows.writes import account, deal, member, move

TEST = """mutation($i: TestWorkflowInput!) { testWorkflow(input: $i) {
  result { conditionPassed
           triggers { index kind matched eventType occurredAt }
           steps { path kind input output error } }
  userErrors { field message code } } }"""
STATE = """query($d: ID!) {
  changes(first: 100) { nodes { sequence type } }
  auditLog(first: 100) { nodes { id } }
  deal(id: $d) { version name owner { name } stage { name } } }"""


async def test_a_dry_run_shows_everything_and_writes_nothing(fapi, receiver):
    await member(fapi, "Adi")
    name = uuid.uuid4().hex[:12]
    endpoint = await webhook_endpoint(fapi, receiver, name)
    a = await account(fapi, name="Retail Co", industry="Retail")
    wf = await create(
        fapi,
        recordType="DEAL",
        triggers=[
            {"fieldChanged": {"field": "stage", "to": "Negotiation"}},
            {"recordEvent": {"event": "DELETED"}},
            {"schedule": {"cron": "0 8 * * MON"}},
        ],
        condition={"deal": {"account": {"industry": {"eq": "Retail"}}}},
        actions=[
            {"assignOwner": {"roundRobin": "SALES"}},
            {"createTask": {"title": "Contract for {{deal.name}} by {{steps.0.owner.name}}"}},
            {
                "branch": {
                    "condition": {"deal": {"name": {"eq": "nope"}}},
                    "then": [{"addNote": {"body": "then"}}],
                    "else": [{"moveDealStage": {"stage": "Proposal"}}],
                }
            },
            {"sendWebhook": {"endpointId": endpoint, "payload": {"deal": "{{deal.name}}"}}},
            {"wait": {"minutes": 30}},
            {"addNote": {"body": "after the wait"}},
        ],
        enabled=False,  # tested before it goes live
    )
    d = await deal(fapi, name="Kopi", accountId=a["id"])
    await move(fapi, d, "Negotiation")
    before = await fapi(STATE, d=d["id"])
    payload = (await fapi(TEST, i={"id": wf["id"], "recordId": d["id"]}))["testWorkflow"]
    assert payload["userErrors"] == []
    result = payload["result"]
    assert result["conditionPassed"] is True
    assert [(t["kind"], t["matched"]) for t in result["triggers"]] == [
        ("fieldChanged", True),
        ("recordEvent", False),
        ("schedule", None),
    ]
    assert result["triggers"][0]["eventType"] == "deal.updated"
    steps = {s["path"]: s for s in result["steps"]}
    assert list(steps) == ["0", "1", "2", "2.else.0", "3", "4", "5"]
    assert all(s["error"] is None for s in result["steps"]), result["steps"]
    assert steps["0"]["output"]["owner.name"] == "Adi"
    assert steps["1"]["input"]["title"] == "Contract for Kopi by Adi"
    assert steps["2.else.0"]["output"]["stage.name"] == "Proposal"
    assert steps["3"]["output"]["wouldSend"]["data"]["payload"] == {"deal": "Kopi"}
    assert steps["4"]["output"]["wait.until"]
    # nothing written: the log, the audit log, the deal, no run, no webhook sent
    assert await fapi(STATE, d=d["id"]) == before
    assert before["deal"]["owner"] is None and before["deal"]["stage"]["name"] == "Negotiation"
    assert await runs(fapi, wf["id"]) == []
    assert receiver.of(name) == []
    # the round-robin turn did not move either: a second dry run picks the same member
    again = (await fapi(TEST, i={"id": wf["id"], "recordId": d["id"]}))["testWorkflow"]
    assert again["result"]["steps"][0]["output"]["owner.name"] == "Adi"


async def test_a_dry_run_reports_the_step_that_would_fail(fapi):
    wf = await create(
        fapi,
        recordType="DEAL",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        condition={"deal": {"name": {"eq": "Other"}}},
        actions=[{"assignOwner": {"leastLoaded": "SUPPORT"}}, {"addNote": {"body": "x"}}],
    )
    d = await deal(fapi, name="Kopi")
    result = (await fapi(TEST, i={"id": wf["id"], "recordId": d["id"]}))["testWorkflow"]["result"]
    assert result["conditionPassed"] is False
    (step,) = result["steps"]
    assert "No active member has the role SUPPORT" in step["error"]


async def test_a_dry_run_of_another_workspaces_record_is_not_found(fapi, other_fapi):
    wf = await create(
        fapi,
        recordType="DEAL",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        actions=[{"addNote": {"body": "x"}}],
    )
    theirs = await deal(other_fapi)
    payload = (await fapi(TEST, i={"id": wf["id"], "recordId": theirs["id"]}))["testWorkflow"]
    assert payload["result"] is None
    assert payload["userErrors"][0]["code"] == "NOT_FOUND"
    assert payload["userErrors"][0]["field"] == ["input", "recordId"]
