"""Every action's effect, through the API: a workflow saved, a record written, a real job
worker running the workflow, the effect read back."""

from tests.workflows.conftest import create, settled_runs
from tests.workflows.writes import deal, member, move

CHANGES = """query($ids: [ID!]) { changes(filter: {recordIds: $ids}, first: 100) {
  nodes { type recordId changes actor { apiKeyName member { name } } } } }"""


async def changes_of(api, record_id: str) -> list[dict]:
    return (await api(CHANGES, ids=[record_id]))["changes"]["nodes"]


async def test_deal_reaching_negotiation_creates_a_task_for_its_owner(fapi, worker):
    owner = await member(fapi, "Dewi")
    wf = await create(
        fapi,
        recordType="DEAL",
        triggers=[{"fieldChanged": {"field": "stage", "to": "Negotiation"}}],
        actions=[
            {"createTask": {"title": "Send the contract for {{deal.name}}", "dueInMinutes": 1440}}
        ],
    )
    d = await deal(fapi, name="Kopi Kenangan", ownerId=owner)
    await move(fapi, d, "Negotiation")
    (run,) = await settled_runs(fapi, wf["id"], 1)
    assert run["status"] == "SUCCEEDED", run
    assert run["steps"][0]["input"]["title"] == "Send the contract for Kopi Kenangan"
    assert (
        run["steps"][0]["output"]["task.id"].startswith("Task:")
        or run["steps"][0]["output"]["task.id"]
    )
