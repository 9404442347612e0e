"""A run appears on the timeline of the record it acted on, the same on both read paths
(compiled SQL and resolvers)."""

from tests.compiler.conftest import both_paths
from tests.workflows.conftest import create, settled_runs
from tests.workflows.writes import case, contact, member

TIMELINE = """query($c: ID!) { contact(id: $c) { timeline(first: 20) { nodes {
  __typename kind
  ... on WorkflowRunEvent { summary workflowName status contact { firstName } }
  ... on CaseOpenedEvent { case { subject } } } } } }"""


async def test_a_run_is_on_its_records_timelines_on_both_read_paths(fapi, worker):
    await member(fapi, "Dewi", role="SUPPORT")
    wf = await create(
        fapi,
        name="Escalate urgent cases",
        recordType="CASE",
        triggers=[{"recordEvent": {"event": "CREATED"}}],
        condition={"case": {"priority": {"eq": "URGENT"}}},
        actions=[{"assignOwner": {"leastLoaded": "SUPPORT"}}],
    )
    c = await contact(fapi, firstName="Rina")
    await case(fapi, subject="Outage", priority="URGENT", contactId=c["id"])
    await case(fapi, subject="Question", priority="LOW", contactId=c["id"])  # skipped: not shown
    await settled_runs(fapi, wf["id"], 2)
    resolvers, compiled = await both_paths(fapi, TIMELINE, {"c": c["id"]})
    assert resolvers == compiled, (resolvers, compiled)
    nodes = resolvers["data"]["contact"]["timeline"]["nodes"]
    runs = [n for n in nodes if n["__typename"] == "WorkflowRunEvent"]
    assert runs == [
        {
            "__typename": "WorkflowRunEvent",
            "kind": "WORKFLOW_RUN",
            "summary": "Workflow 'Escalate urgent cases' assigned Dewi",
            "workflowName": "Escalate urgent cases",
            "status": "SUCCEEDED",
            "contact": {"firstName": "Rina"},
        }
    ]
    only = await fapi(
        """query($c: ID!) { contact(id: $c) { timeline(first: 5, filter: {kinds: [WORKFLOW_RUN]}) {
             nodes { kind } } } }""",
        c=c["id"],
    )
    assert only["contact"]["timeline"]["nodes"] == [{"kind": "WORKFLOW_RUN"}]
