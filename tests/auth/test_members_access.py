"""Managing members through GraphQL: invitations, roles, removal, the last admin, and who may."""

import pytest

from tests.auth.conftest import ERRORS, code_of, invite, scoped_key

MEMBER = "member { id email name role status invitedAt joinedAt }"
INVITE = f"mutation($i: InviteMemberInput!) {{ inviteMember(input: $i) {{ {MEMBER} {ERRORS} }} }}"
CREATE = f"mutation($i: CreateMemberInput!) {{ createMember(input: $i) {{ {MEMBER} {ERRORS} }} }}"
ROLE = f"mutation($i: UpdateMemberRoleInput!) {{ updateMemberRole(input: $i) {{ {MEMBER} {ERRORS} }} }}"
REMOVE = f"mutation($i: RemoveMemberInput!) {{ removeMember(input: $i) {{ {MEMBER} {ERRORS} }} }}"


def _errors(data: dict) -> list[tuple[list[str], str]]:
    (payload,) = data.values()
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def test_invite_validates_and_refuses_duplicates(api):
    invited = (await api.mutate(INVITE, i={"email": " Rina@Relasi.co.id ", "role": "SALES"}))[
        "member"
    ]
    assert invited["email"] == "rina@relasi.co.id" and invited["name"] == "rina"
    assert invited["role"] == "SALES" and invited["status"] == "INVITED"
    assert invited["invitedAt"] and invited["joinedAt"] is None
    for data, expected in (
        ({"email": "RINA@relasi.co.id"}, [(["input", "email"], "CONFLICT")]),
        ({"email": "not-an-email"}, [(["input", "email"], "BAD_USER_INPUT")]),
        ({"email": "x@relasi.co.id", "name": "n" * 201}, [(["input", "name"], "BAD_USER_INPUT")]),
    ):
        assert _errors(await api(INVITE, i=data)) == expected
    body = await api.raw(INVITE, i={"email": "x@relasi.co.id", "role": "OWNER"})
    assert code_of(body) == "BAD_USER_INPUT"  # not a role
    assert (await api("{ members { totalCount } }"))["members"]["totalCount"] == 1


async def test_create_member_is_active_with_a_role(api):
    made = (await api.mutate(CREATE, i={"name": "Dodi", "email": "dodi@relasi.co.id"}))["member"]
    assert made["role"] == "VIEWER" and made["status"] == "ACTIVE" and made["invitedAt"] is None


async def test_members_filter_by_role_and_status(api):
    await invite(api, "a@relasi.co.id", "ADMIN")
    await invite(api, "s@relasi.co.id", "SALES")
    gone = await invite(api, "g@relasi.co.id", "SALES")
    await api.mutate(
        CREATE, i={"name": "Active Sales", "email": "as@relasi.co.id", "role": "SALES"}
    )
    await api.mutate(REMOVE, i={"id": gone["id"]})
    data = await api(
        """{ sales: members(filter: {role: {eq: SALES}, status: {ne: REMOVED}}, orderBy: [{field: EMAIL}]) { nodes { email status } }
             invited: members(filter: {status: {eq: INVITED}}) { totalCount }
             removed: members(filter: {status: {in: [REMOVED]}}) { nodes { email } } }"""
    )
    assert data["sales"]["nodes"] == [
        {"email": "as@relasi.co.id", "status": "ACTIVE"},
        {"email": "s@relasi.co.id", "status": "INVITED"},
    ]
    assert data["invited"]["totalCount"] == 2
    assert data["removed"]["nodes"] == [{"email": "g@relasi.co.id"}]


async def test_the_last_active_admin_stays(api):
    boss = (
        await api.mutate(CREATE, i={"name": "Boss", "email": "boss@relasi.co.id", "role": "ADMIN"})
    )["member"]
    assert _errors(await api(ROLE, i={"id": boss["id"], "role": "VIEWER"})) == [
        (["input", "role"], "CONFLICT")
    ]
    assert _errors(await api(REMOVE, i={"id": boss["id"]})) == [(["input", "id"], "CONFLICT")]
    # an invited admin does not count: it cannot sign in yet
    await invite(api, "next@relasi.co.id", "ADMIN")
    assert _errors(await api(REMOVE, i={"id": boss["id"]})) == [(["input", "id"], "CONFLICT")]
    second = (
        await api.mutate(
            CREATE, i={"name": "Second", "email": "second@relasi.co.id", "role": "ADMIN"}
        )
    )["member"]
    demoted = await api.mutate(ROLE, i={"id": boss["id"], "role": "VIEWER"})
    assert demoted["member"]["role"] == "VIEWER"
    assert _errors(await api(REMOVE, i={"id": second["id"]})) == [(["input", "id"], "CONFLICT")]
    # nothing was half-written by the refusals
    admins = await api(
        "{ members(filter: {role: {eq: ADMIN}, status: {eq: ACTIVE}}) { nodes { email } } }"
    )
    assert admins["members"]["nodes"] == [{"email": "second@relasi.co.id"}]


async def test_remove_twice_changes_nothing_and_removed_roles_are_frozen(api):
    member = await invite(api, "rina@relasi.co.id")
    first = (await api.mutate(REMOVE, i={"id": member["id"]}))["member"]
    again = (await api.mutate(REMOVE, i={"id": member["id"]}))["member"]
    assert first == again and first["status"] == "REMOVED"
    assert _errors(await api(ROLE, i={"id": member["id"], "role": "ADMIN"})) == [
        (["input", "id"], "CONFLICT")
    ]


async def test_another_workspaces_members_are_not_found(api, other_api):
    theirs = await invite(other_api, "rina@relasi.co.id")
    assert _errors(await api(ROLE, i={"id": theirs["id"], "role": "ADMIN"})) == [
        (["input", "id"], "NOT_FOUND")
    ]
    assert _errors(await api(REMOVE, i={"id": theirs["id"]})) == [(["input", "id"], "NOT_FOUND")]
    assert _errors(await api(REMOVE, i={"id": "bm9wZQ"})) == [(["input", "id"], "BAD_USER_INPUT")]
    listed = await other_api("{ members { nodes { status role } } }")
    assert listed["members"]["nodes"] == [{"status": "INVITED", "role": "VIEWER"}]


@pytest.mark.parametrize(
    "document",
    [
        INVITE.replace("$i: InviteMemberInput!", "").replace(
            "input: $i", 'input: {email: "x@y.co"}'
        ),
        ROLE.replace("$i: UpdateMemberRoleInput!", "").replace(
            "input: $i", 'input: {id: "ID", role: ADMIN}'
        ),
        REMOVE.replace("$i: RemoveMemberInput!", "").replace("input: $i", 'input: {id: "ID"}'),
        CREATE.replace("$i: CreateMemberInput!", "").replace(
            "input: $i", 'input: {name: "X", email: "x@y.co"}'
        ),
    ],
)
async def test_non_admins_are_forbidden(document, api, database, client):
    member = await invite(api, "rina@relasi.co.id")
    document = document.replace("mutation()", "mutation").replace('"ID"', f'"{member["id"]}"')
    key = await scoped_key(database, api.workspace_id, "members:read", "contacts:write")
    response = await client.post(
        "/graphql", json={"query": document}, headers={"Authorization": f"Bearer {key}"}
    )
    body = response.json()
    assert code_of(body) == "FORBIDDEN", body
    listed = await api("{ members { nodes { email role status } } }")
    assert listed["members"]["nodes"] == [
        {"email": "rina@relasi.co.id", "role": "VIEWER", "status": "INVITED"}
    ]
