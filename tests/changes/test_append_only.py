"""The change log and the audit log are append-only for requests: what a request's own code
could do wrong (an UPDATE or DELETE it should not run) cannot rewrite history, while the
triggers that fold one transaction's events together still work (the rest of tests/changes)."""

import asyncpg
import pytest

from relasi.auth.principal import Principal
from relasi.resolvers.session import Session

CREATE = """mutation { createContact(input: {firstName: "Logged"}) {
    contact { id } userErrors { code } } }"""
REWRITES = [
    "UPDATE change_events SET changes = '{}'::jsonb",
    "DELETE FROM change_events",
    "UPDATE audit_log SET mutation = 'forged'",
    "DELETE FROM audit_log",
]


@pytest.mark.parametrize("statement", REWRITES)
async def test_a_request_cannot_change_or_remove_log_entries(api, database, statement):
    contact = (await api.mutate(CREATE))["contact"]["id"]
    session = Session(database, Principal(workspace_id=api.workspace_id))
    session.read_only = False
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await session.execute(statement)
    finally:
        await session.close(commit=False)
    # both entries of the write are still there, as written
    changes = await api("{ changes(first: 10) { edges { node { type record { id } } } } }")
    nodes = [edge["node"] for edge in changes["changes"]["edges"]]
    assert {"type": "contact.created", "record": {"id": contact}} in nodes, nodes
    audit = await api("{ auditLog(first: 10) { nodes { mutation entityId } } }")
    assert {"mutation": "createContact", "entityId": contact} in audit["auditLog"]["nodes"]
