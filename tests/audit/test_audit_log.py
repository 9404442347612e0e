"""The audit log through the API: every mutation leaves who, what, when and before/after."""

from relasi.auth.api_keys import create_api_key
from tests.conftest import Api

ERRORS = "userErrors { field message code }"
LOG = """query($f: AuditEntryFilter, $first: Int) { auditLog(filter: $f, first: $first) {
  totalCount nodes { id occurredAt entityType entityId operation mutation requestId changes
                     actor { apiKeyName member { name } } } } }"""
CREATE = f"""mutation($i: CreateContactInput!) {{ createContact(input: $i) {{
    contact {{ id version }} {ERRORS} }} }}"""
UPDATE = f"""mutation($i: UpdateContactInput!) {{ updateContact(input: $i) {{
    contact {{ id version }} {ERRORS} }} }}"""


async def _log(api, **flt) -> list[dict]:
    return (await api(LOG, f=flt or None, first=100))["auditLog"]["nodes"]


async def test_create_update_delete_restore_are_logged_with_changes(api):
    created = await api.mutate(
        CREATE, i={"firstName": "Ratna", "emails": [{"address": "ratna@example.com"}]}
    )
    contact = created["contact"]
    updated = await api.mutate(
        UPDATE, i={"id": contact["id"], "version": contact["version"], "lastName": "Sari"}
    )
    await api.mutate(
        UPDATE,
        i={
            "id": contact["id"],
            "version": updated["contact"]["version"],
            "emails": [{"address": "ratna.sari@example.com"}],
        },
    )
    await api.mutate(
        f"mutation($id: ID!) {{ deleteContact(input: {{id: $id}}) {{ deletedId {ERRORS} }} }}",
        id=contact["id"],
    )
    await api.mutate(
        f"mutation($id: ID!) {{ restoreContact(input: {{id: $id}}) {{ contact {{ id }} {ERRORS} }} }}",
        id=contact["id"],
    )
    entries = await _log(api, entityId={"eq": contact["id"]})
    assert all(e["entityType"] == "Contact" and e["entityId"] == contact["id"] for e in entries)
    entries.reverse()  # oldest first
    ops = [(e["mutation"], e["operation"]) for e in entries]
    assert ops[0] == ("createContact", "CREATE")
    assert ("updateContact", "UPDATE") in ops
    assert ops[-2:] == [("deleteContact", "DELETE"), ("restoreContact", "RESTORE")]
    created_entry = entries[0]
    assert created_entry["changes"]["first_name"] == {"before": None, "after": "Ratna"}
    renamed = next(e for e in entries if e["operation"] == "UPDATE" and "last_name" in e["changes"])
    assert renamed["changes"] == {"last_name": {"before": None, "after": "Sari"}}
    emails = [
        e for e in entries if "identities" in e["changes"] and e["mutation"] == "updateContact"
    ]
    befores = [e["changes"]["identities"]["before"] for e in emails]
    afters = [e["changes"]["identities"]["after"] for e in emails]
    assert {"kind": "EMAIL", "value": "ratna@example.com"}.items() <= next(
        b for b in befores if b
    ).items()
    assert any(a and a["value"] == "ratna.sari@example.com" for a in afters)
    assert all(e["actor"]["apiKeyName"] == "admin" and e["requestId"] for e in entries)
    times = [e["occurredAt"] for e in entries]
    assert times == sorted(times)


async def test_refused_mutations_leave_nothing_and_reads_are_not_logged(api):
    before = len(await _log(api))
    body = await api.raw(CREATE, i={"emails": [{"address": "not-an-email"}]})
    assert body["data"]["createContact"]["userErrors"]
    await api("{ contacts { totalCount } }")
    assert len(await _log(api)) == before


async def test_touchpoints_and_notes_are_logged(api):
    contact = (await api.mutate(CREATE, i={"firstName": "Budi"}))["contact"]
    await api.mutate(
        f"mutation($c: ID!) {{ trackInteraction(input: {{contactId: $c, channel: WEB, kind: PAGE_VIEW}}) {{ {ERRORS} }} }}",
        c=contact["id"],
    )
    await api.mutate(
        f'mutation($c: ID!) {{ addNote(input: {{contactId: $c, body: "VIP"}}) {{ {ERRORS} }} }}',
        c=contact["id"],
    )
    kinds = {(e["entityType"], e["mutation"]) for e in await _log(api, operation={"eq": "CREATE"})}
    assert {
        ("Interaction", "trackInteraction"),
        ("Note", "addNote"),
        ("Contact", "createContact"),
    } <= kinds
    note = (await _log(api, entityType={"eq": "Note"}))[0]
    assert note["changes"]["body"]["after"] == "VIP"


async def test_only_admins_read_it_and_only_their_workspace(api, other_api, database):
    await api.mutate(CREATE, i={"firstName": "Sinta"})
    assert await _log(other_api) == []
    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, api.workspace_id, "sales", ["contacts:read"])
    body = await Api(api.client, api.workspace_id, key).raw(LOG)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["data"] is None


async def test_segments_keys_and_secrets_are_logged_without_secret_values(api):
    contact = (await api.mutate(CREATE, i={"firstName": "Dina"}))["contact"]
    segment = await api.mutate(
        "mutation($i: CreateSegmentInput!) { createSegment(input: $i) {"
        f" segment {{ id }} {ERRORS} }} }}",
        i={"name": "VIP", "include": [contact["id"]]},
    )
    key = await api.mutate(
        'mutation { createApiKey(input: {name: "feed", scopes: ["interactions:read"]}) {'
        f" secret {ERRORS} }} }}"
    )
    secret = await api.mutate(f"mutation {{ rotateJwtSecret {{ secret {ERRORS} }} }}")
    entries = await _log(api)
    by_type: dict[str, list[dict]] = {}
    for entry in entries:
        by_type.setdefault(entry["entityType"], []).append(entry)
    seg = [e for e in by_type["Segment"] if e["entityId"] == segment["segment"]["id"]]
    assert {e["mutation"] for e in seg} == {"createSegment"}
    assert any("included" in e["changes"] for e in seg)
    api_key = next(e for e in by_type["ApiKey"] if e["mutation"] == "createApiKey")
    assert api_key["changes"]["secret_hash"] == {"before": "[secret]", "after": "[secret]"}
    workspace = next(e for e in by_type["Workspace"] if e["mutation"] == "rotateJwtSecret")
    assert workspace["changes"] == {"jwt_secret": {"before": "[secret]", "after": "[secret]"}}
    text = str(entries)
    assert key["secret"].split("_")[-1] not in text and secret["secret"] not in text
