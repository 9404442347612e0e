"""The demo data set, created with the CLI and explored through the API like a new user would."""

import json
import os
import subprocess
import sys
from uuid import UUID

import pytest

from tests.conftest import Api


@pytest.fixture(scope="module")
def demo_keys(database):
    """Two demo workspaces made by `relasi seed --demo`."""
    env = {**os.environ, "DATABASE_URL": database.dsn}
    keys = []
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "relasi", "seed", "--demo", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        keys.append(json.loads(result.stdout))
    return keys


@pytest.fixture
def demo(demo_keys, client):
    return Api(client, demo_keys[0]["workspace_id"], demo_keys[0]["api_key"])


async def test_demo_has_the_promised_volume(demo):
    data = await demo(
        """{ accounts { totalCount } contacts { totalCount } deals { totalCount } cases { totalCount }
             interactions { totalCount } members { totalCount }
             subsidiaries: accounts(filter: {parentId: {isNull: false}}) { totalCount }
             won: deals(filter: {status: {eq: WON}}) { totalCount }
             lost: deals(filter: {status: {eq: LOST}}) { totalCount } }"""
    )
    counts = {k: v["totalCount"] for k, v in data.items()}
    assert counts["accounts"] >= 200 and counts["contacts"] >= 2000
    assert counts["deals"] >= 600 and counts["cases"] >= 400 and counts["interactions"] >= 50_000
    assert counts["members"] > 0 and counts["subsidiaries"] > 0
    assert counts["won"] > 0 and counts["lost"] > 0


async def test_demo_covers_every_stage_channel_and_status(demo):
    data = await demo("""{ pipelines { nodes { stages { name deals { totalCount } } } } }""")
    stages = data["pipelines"]["nodes"][0]["stages"]
    assert all(s["deals"]["totalCount"] > 0 for s in stages), stages
    for enum, field, root in (
        ("Channel", "channel", "interactions"),
        ("JourneyStage", "journeyStage", "contacts"),
        ("LifecycleStage", "lifecycleStage", "contacts"),
        ("CaseStatus", "status", "cases"),
    ):
        values = (await demo(f'{{ __type(name: "{enum}") {{ enumValues {{ name }} }} }}'))[
            "__type"
        ]["enumValues"]
        for value in (v["name"] for v in values):
            count = await demo(
                f"{{ {root}(filter: {{{field}: {{eq: {value}}}}}) {{ totalCount }} }}"
            )
            assert count[root]["totalCount"] > 0, (enum, value)


async def test_demo_journeys_are_plausible(demo):
    """A contact's touchpoints, oldest first, never go back a journey stage, and the last
    one is the contact's current stage."""
    order = ["AWARENESS", "CONSIDERATION", "DECISION", "RETENTION", "ADVOCACY"]
    data = await demo(
        """{ contacts(first: 30, filter: {journeyStage: {in: [RETENTION, ADVOCACY]}}) { nodes {
             journeyStage lifecycleStage email
             interactions(first: 100, orderBy: [{field: OCCURRED_AT, direction: ASC}]) {
               nodes { journeyStage } } } } }"""
    )
    for contact in data["contacts"]["nodes"]:
        stages = [order.index(i["journeyStage"]) for i in contact["interactions"]["nodes"]]
        assert stages == sorted(stages)
        assert order[stages[-1]] == contact["journeyStage"]
        assert contact["lifecycleStage"] in ("CUSTOMER", "CHURNED", "EVANGELIST")
        assert contact["email"] == contact["email"].lower()


async def test_demo_deals_have_histories(demo):
    data = await demo(
        """{ deals(first: 20, filter: {status: {eq: WON}}) { nodes { closedAt stage { name }
             stageHistory { fromStage { name } toStage { name } changedAt changedBy { member { name } } } } } }"""
    )
    for deal in data["deals"]["nodes"]:
        history = deal["stageHistory"]
        assert history[0]["fromStage"] is None and history[0]["toStage"]["name"] == "Prospecting"
        assert history[-1]["toStage"]["name"] == "Closed Won" == deal["stage"]["name"]
        assert [h["changedAt"] for h in history] == sorted(h["changedAt"] for h in history)
        assert history[-1]["changedBy"]["member"]["name"]


async def test_demo_is_deterministic(demo_keys, client):
    query = """{ contacts(first: 25, orderBy: [{field: CREATED_AT}]) { nodes { fullName email createdAt
                   account { name } interactions(first: 3) { nodes { channel kind occurredAt } } } }
                 deals(first: 10, orderBy: [{field: CREATED_AT}]) { nodes { name amount { amount currency } } } }"""
    first, second = (Api(client, k["workspace_id"], k["api_key"]) for k in demo_keys)
    assert await first(query) == await second(query)


async def test_demo_timelines_and_journeys(demo):
    """The demo's timelines hold what the API would have recorded: journey moves matching the
    touchpoints, cases, and deal moves (through the deal's contacts)."""
    order = ["AWARENESS", "CONSIDERATION", "DECISION", "RETENTION", "ADVOCACY"]
    data = await demo(
        """{ contacts(first: 10, filter: {journeyStage: {eq: ADVOCACY}}) { nodes { journeyStage
             journey { stage transitions { fromStage toStage interaction { journeyStage } }
                       touchpointCount firstTouch { channel } }
             timeline(first: 100, filter: {kinds: [JOURNEY_STAGE_CHANGED]}) { totalCount } } }
             dealContacts: contacts(first: 5, filter: {deals: {some: {status: {eq: WON}}}}) { nodes {
               timeline(filter: {kinds: [DEAL_STAGE_CHANGED]}) { totalCount } } }
             caseContacts: contacts(first: 5, filter: {cases: {some: {status: {eq: RESOLVED}}}}) {
               nodes { timeline(filter: {kinds: [CASE_OPENED, CASE_STATUS_CHANGED]}) { totalCount } } } }"""
    )
    for contact in data["contacts"]["nodes"]:
        journey = contact["journey"]
        steps = journey["transitions"]
        assert journey["stage"] == "ADVOCACY" == steps[-1]["toStage"]
        assert steps[0] == {"fromStage": None, "toStage": "AWARENESS", "interaction": None}
        assert [order.index(s["toStage"]) for s in steps] == sorted(
            order.index(s["toStage"]) for s in steps
        )
        assert all(s["interaction"]["journeyStage"] == s["toStage"] for s in steps[1:])
        assert contact["timeline"]["totalCount"] == len(steps)
        assert journey["touchpointCount"] > 0 and journey["firstTouch"]["channel"]
    assert all(c["timeline"]["totalCount"] >= 2 for c in data["dealContacts"]["nodes"])
    assert all(c["timeline"]["totalCount"] >= 2 for c in data["caseContacts"]["nodes"])


async def test_the_planner_knows_a_demo_workspace_as_soon_as_it_is_seeded(demo_keys, database):
    """The seed analyzes what it loaded: no waiting for autovacuum before the planner knows the
    workspace's rows (the most common workspace ids of each table name both demos)."""
    async with database.pool.acquire() as conn:
        analyzed = await conn.fetch(
            """SELECT relname, analyze_count FROM pg_stat_user_tables
                WHERE relname IN ('contacts', 'deals', 'deal_contacts', 'interactions',
                                  'timeline_events')"""
        )
        known = await conn.fetch(
            """SELECT tablename, most_common_vals::text::uuid[] AS common FROM pg_stats
                WHERE attname = 'workspace_id'
                  AND tablename IN ('contacts', 'deals', 'deal_contacts', 'interactions')"""
        )
    assert len(analyzed) == 5 and all(r["analyze_count"] >= 2 for r in analyzed), analyzed
    demos = {UUID(k["workspace_id"]) for k in demo_keys}
    assert {r["tablename"] for r in known if demos <= set(r["common"])} == {
        "contacts",
        "deals",
        "deal_contacts",
        "interactions",
    }


async def test_the_seed_is_in_the_change_log_as_system_work(demo):
    """Bulk COPY fires the change log's triggers like any write: the CLI cannot bypass it."""
    data = await demo(
        """{ changes(first: 1, filter: {types: ["contact.created"]}) {
               nodes { recordId changes requestId actor { apiKeyName } record { id } } }
             touches: changes(first: 1, filter: {types: ["interaction.tracked"]}) {
               nodes { changes } } }"""
    )
    (created,) = data["changes"]["nodes"]
    assert created["record"] == {"id": created["recordId"]}
    assert created["requestId"] is None and created["actor"] == {"apiKeyName": None}
    assert created["changes"]["emails"]["after"]  # its identities, copied in another table
    (touch,) = data["touches"]["nodes"]
    assert touch["changes"]["channel"]["before"] is None and touch["changes"]["channel"]["after"]
