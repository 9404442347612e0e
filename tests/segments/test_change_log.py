"""Membership follows the change log: what a transaction's change events affect is
re-evaluated in it, just before it commits, whichever write path made them."""

from tests.segments import helpers as h

ERRORS = h.ERRORS
BATCH = f"""mutation($inputs: [TrackInteractionInput!]!) {{ trackInteractions(inputs: $inputs) {{
    results {{ created }} {ERRORS} }} }}"""


def _applies(statements) -> list[str]:
    """The membership re-evaluations (`membership._apply`) among captured statements."""
    return [s for s in statements if "INSERT INTO segment_members" in s and "exited AS" in s]


def _event_reads(statements) -> list[str]:
    return [s for s in statements if "FROM change_events e" in s and "jsonb_each" in s]


async def _deal_link(api, mutation: str, deal_id: str, contact_id: str) -> None:
    input_type = (
        "DealContactLinkInput" if mutation == "addDealContact" else "RemoveDealContactInput"
    )
    await api.mutate(
        f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ deal {{ id }} {ERRORS} }} }}",
        input={"dealId": deal_id, "contactId": contact_id},
    )


async def test_linking_and_unlinking_a_deal_contact_moves_membership(api):
    ayu, budi = await h.contact(api, "Ayu"), await h.contact(api, "Budi")
    deal = await h.deal(api, "Big", [ayu], amount={"amount": "90000", "currency": "USD"})
    big = await h.create_segment(api, "Big deals", {"deals": {"some": {"amount": {"gt": "50000"}}}})
    assert await h.members(api, big["id"]) == {ayu}
    await _deal_link(api, "addDealContact", deal["id"], budi)
    assert await h.members(api, big["id"]) == {ayu, budi}
    await _deal_link(api, "removeDealContact", deal["id"], ayu)
    assert await h.members(api, big["id"]) == {budi}


async def test_delete_and_restore_move_membership(api):
    ayu = await h.contact(api, "Ayu", city="Jakarta")
    deal = await h.deal(api, "Open", [ayu])
    jakarta = await h.create_segment(api, "Jakarta", {"city": {"eq": "Jakarta"}})
    with_deal = await h.create_segment(api, "With a deal", {"deals": {"some": {}}})
    assert await h.members(api, jakarta["id"]) == {ayu}
    assert await h.members(api, with_deal["id"]) == {ayu}
    for kind, record, members in (("Contact", ayu, jakarta), ("Deal", deal["id"], with_deal)):
        for action, expected in (("delete", set()), ("restore", {ayu})):
            data = await api(
                f'mutation {{ {action}{kind}(input: {{id: "{record}"}}) {{ {ERRORS} }} }}'
            )
            assert data[f"{action}{kind}"]["userErrors"] == []
            assert await h.members(api, members["id"]) == expected, (action, kind)


async def test_a_refused_write_moves_nothing(api):
    await h.contact(api, "Budi", emails=[{"address": "budi@example.com"}])
    ayu = await h.contact(api, "Ayu", city="Bandung")
    jakarta = await h.create_segment(api, "Jakarta", {"city": {"eq": "Jakarta"}})
    version = (await api(f'{{ contact(id: "{ayu}") {{ version }} }}'))["contact"]["version"]
    # the contact row is updated first, then its email conflicts: the mutation rolls back
    data = await api(
        "mutation($input: UpdateContactInput!) { updateContact(input: $input) "
        f"{{ contact {{ id }} {ERRORS} }} }}",
        input={
            "id": ayu,
            "version": version,
            "city": "Jakarta",
            "emails": [{"address": "budi@example.com"}],
        },
    )
    assert data["updateContact"]["userErrors"][0]["code"] == "CONFLICT"
    assert await h.members(api, jakarta["id"]) == set()
    changes = await api(
        f'{{ segment(id: "{jakarta["id"]}") {{ membershipChanges(first: 5) {{ totalCount }} }} }}'
    )
    assert changes["segment"]["membershipChanges"]["totalCount"] == 0


async def test_a_document_of_writes_is_re_evaluated_once_at_commit(api, database):
    ayu, budi = await h.contact(api, "Ayu"), await h.contact(api, "Budi")
    deal = await h.deal(api, "Deal", [ayu])
    jakarta_with_deal = await h.create_segment(
        api, "Jakarta with a deal", {"city": {"eq": "Jakarta"}, "deals": {"some": {}}}
    )
    versions = await api(
        f'{{ a: contact(id: "{ayu}") {{ version }} b: contact(id: "{budi}") {{ version }} }}'
    )
    document = (
        "mutation {"
        f' a: updateContact(input: {{id: "{ayu}", version: {versions["a"]["version"]},'
        f' city: "Jakarta"}}) {{ {ERRORS} }}'
        f' b: updateContact(input: {{id: "{budi}", version: {versions["b"]["version"]},'
        f' city: "Jakarta"}}) {{ {ERRORS} }}'
        f' c: addDealContact(input: {{dealId: "{deal["id"]}", contactId: "{budi}"}})'
        f" {{ {ERRORS} }}"
        "}"
    )
    with database.capture_statements() as statements:
        data = await api(document)
    assert all(payload["userErrors"] == [] for payload in data.values())
    assert await h.members(api, jakarta_with_deal["id"]) == {ayu, budi}
    assert len(_event_reads(statements)) == 1
    assert len(_applies(statements)) == 1


async def test_batch_ingest_of_1000_touches_re_evaluates_once(api, database):
    contacts = [await h.contact(api, f"C{i}") for i in range(4)]
    busy = await h.create_segment(api, "Busy", {"touchpoints": {"atLeast": 300}})
    quiet = await h.create_segment(api, "Quiet", {"touchpoints": {"atMost": 0}})
    inputs = [
        {"contactId": contacts[i % 3], "channel": "WEB", "kind": "PAGE_VIEW"} for i in range(1000)
    ]
    with database.capture_statements() as statements:
        payload = await api.mutate(BATCH, inputs=inputs)
    assert all(r["created"] for r in payload["results"])
    assert len(_event_reads(statements)) == 1
    assert len(_applies(statements)) == 1
    assert await h.members(api, busy["id"]) == set(contacts[:3])
    assert await h.members(api, quiet["id"]) == {contacts[3]}


async def test_a_workspace_without_segments_reads_no_events(api, database):
    ayu = await h.contact(api, "Ayu")
    with database.capture_statements() as statements:
        await h.track(api, ayu)
    (read,) = _event_reads(statements)  # one statement, which finds no segment
    assert not [s for s in statements if "FROM segments" in s and s is not read]
    assert not _applies(statements)
