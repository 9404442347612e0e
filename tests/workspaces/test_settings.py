"""The workspace's settings through the API: its time zone (IANA, default UTC), admins only."""

from tests.auth.conftest import code_of, scoped_key
from tests.conftest import Api

READ = "{ workspace { id name timeZone } }"
UPDATE = """mutation($i: UpdateWorkspaceInput!) {
  updateWorkspace(input: $i) { workspace { name timeZone } userErrors { field message code } }
}"""


async def test_a_new_workspace_runs_on_utc(api: Api):
    data = await api(READ)
    assert data["workspace"] == {"id": str(api.workspace_id), "name": "Acme", "timeZone": "UTC"}


async def test_an_admin_sets_the_time_zone_and_every_caller_reads_it(api: Api, database):
    payload = await api.mutate(UPDATE, i={"timeZone": "Asia/Jakarta"})
    assert payload["workspace"] == {"name": "Acme", "timeZone": "Asia/Jakarta"}
    reader = Api(api.client, api.workspace_id, await scoped_key(database, api.workspace_id))
    assert (await reader(READ))["workspace"]["timeZone"] == "Asia/Jakarta"
    # a field left out stays as it is
    payload = await api.mutate(UPDATE, i={"name": "Acme Indonesia"})
    assert payload["workspace"] == {"name": "Acme Indonesia", "timeZone": "Asia/Jakarta"}


async def test_other_workspaces_keep_their_own(api: Api, other_api: Api):
    await api.mutate(UPDATE, i={"timeZone": "Europe/Berlin"})
    assert (await other_api(READ))["workspace"]["timeZone"] == "UTC"


async def test_bad_time_zones_are_refused_at_the_field(api: Api):
    for bad in ("WIB", "GMT+7", "+07:00", "Mars/Olympus", "../../etc/passwd", "", "x" * 500, None):
        data = await api(UPDATE, i={"timeZone": bad})
        payload = data["updateWorkspace"]
        assert payload["workspace"] is None, bad
        assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [
            (["input", "timeZone"], "BAD_USER_INPUT")
        ], bad
    assert (await api(READ))["workspace"]["timeZone"] == "UTC"
    data = await api(UPDATE, i={"name": " ", "timeZone": "Nowhere/Town"})
    fields = sorted(e["field"] for e in data["updateWorkspace"]["userErrors"])
    assert fields == [["input", "name"], ["input", "timeZone"]]


async def test_only_admins_change_settings(api: Api, database):
    writer = Api(
        api.client, api.workspace_id, await scoped_key(database, api.workspace_id, "deals:write")
    )
    body = await writer.raw(UPDATE, i={"timeZone": "Asia/Jakarta"})
    assert code_of(body) == "FORBIDDEN"
    assert (await api(READ))["workspace"]["timeZone"] == "UTC"
