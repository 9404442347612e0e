"""Members: the staff records are owned by."""

ERRORS = "userErrors { field message code }"
CREATE = f"mutation($input: CreateMemberInput!) {{ createMember(input: $input) {{ member {{ id name email }} {ERRORS} }} }}"


async def test_create_and_list_members(api, other_api):
    await api.mutate(CREATE, input={"name": "Rina", "email": "RINA@relasi.co.id"})
    await api.mutate(CREATE, input={"name": "Dodi", "email": "dodi@relasi.co.id"})
    data = await api(
        '{ members(orderBy: [{field: NAME}]) { totalCount nodes { name email } } search: members(filter: {search: "rin"}) { nodes { name } } }'
    )
    assert data["members"]["nodes"] == [
        {"name": "Dodi", "email": "dodi@relasi.co.id"},
        {"name": "Rina", "email": "rina@relasi.co.id"},
    ]
    assert data["search"]["nodes"] == [{"name": "Rina"}]
    # the same email is free in another workspace
    await other_api.mutate(CREATE, input={"name": "Rina", "email": "rina@relasi.co.id"})


async def test_member_email_is_unique_and_valid(api):
    await api.mutate(CREATE, input={"name": "Rina", "email": "rina@relasi.co.id"})
    for fields, field, code in (
        ({"name": "Rina 2", "email": "Rina@Relasi.co.id"}, ["input", "email"], "CONFLICT"),
        ({"name": "X", "email": "nope"}, ["input", "email"], "BAD_USER_INPUT"),
        ({"name": " ", "email": "x@relasi.co.id"}, ["input", "name"], "BAD_USER_INPUT"),
    ):
        body = await api.raw(CREATE, input=fields)
        assert [(e["field"], e["code"]) for e in body["data"]["createMember"]["userErrors"]] == [
            (field, code)
        ]
    assert (await api("{ members { totalCount } }"))["members"]["totalCount"] == 1


async def test_owner_links_resolve_to_members(api):
    member = (await api.mutate(CREATE, input={"name": "Rina", "email": "rina@relasi.co.id"}))[
        "member"
    ]
    await api.mutate(
        f'mutation($o: ID!) {{ createContact(input: {{firstName: "Ayu", ownerId: $o}}) {{ {ERRORS} }} }}',
        o=member["id"],
    )
    data = await api(
        'query($o: ID!) { contacts(filter: {ownerId: {eq: $o}}) { nodes { owner { name } } } byName: contacts(filter: {owner: {name: {eq: "Rina"}}}) { totalCount } }',
        o=member["id"],
    )
    assert (
        data["contacts"]["nodes"] == [{"owner": {"name": "Rina"}}]
        and data["byName"]["totalCount"] == 1
    )
