"""Support cases through the API: SLA from priority, response and resolution times, CSAT."""

from datetime import datetime, timedelta

import pytest

ERRORS = "userErrors { field message code }"
CASE = """id version subject status priority channel createdAt slaDueAt firstResponseAt resolvedAt
          firstResponseSeconds resolutionSeconds satisfactionScore slaBreached
          contact { id } account { id name }"""
CREATE = f"mutation($input: CreateCaseInput!) {{ createCase(input: $input) {{ case {{ {CASE} }} {ERRORS} }} }}"
UPDATE = f"mutation($input: UpdateCaseInput!) {{ updateCase(input: $input) {{ case {{ {CASE} }} {ERRORS} }} }}"


def _hours(case) -> float:
    due = datetime.fromisoformat(case["slaDueAt"])
    return (due - datetime.fromisoformat(case["createdAt"])) / timedelta(hours=1)


@pytest.mark.parametrize(
    "priority, hours", [("LOW", 72), ("NORMAL", 24), ("HIGH", 8), ("URGENT", 4)]
)
async def test_sla_follows_priority(api, priority, hours):
    case = (await api.mutate(CREATE, input={"subject": "Help", "priority": priority}))["case"]
    assert _hours(case) == hours
    assert case["status"] == "NEW" and case["slaBreached"] is False


async def test_priority_change_recomputes_sla_from_creation(api):
    case = (await api.mutate(CREATE, input={"subject": "Help"}))["case"]
    assert case["priority"] == "NORMAL" and _hours(case) == 24
    urgent = (
        await api.mutate(
            UPDATE, input={"id": case["id"], "version": case["version"], "priority": "URGENT"}
        )
    )["case"]
    assert _hours(urgent) == 4 and urgent["createdAt"] == case["createdAt"]


async def test_case_of_a_contact_belongs_to_its_account(api):
    account = await api.mutate(
        f'mutation {{ createAccount(input: {{name: "Warung"}}) {{ account {{ id }} {ERRORS} }} }}'
    )
    contact = await api.mutate(
        'mutation($a: ID!) { createContact(input: {firstName: "Ika", accountId: $a}) { contact { id } '
        f"{ERRORS} }} }}",
        a=account["account"]["id"],
    )
    case = (
        await api.mutate(
            CREATE,
            input={"subject": "Late", "contactId": contact["contact"]["id"], "channel": "WHATSAPP"},
        )
    )["case"]
    assert case["account"]["name"] == "Warung" and case["channel"] == "WHATSAPP"
    data = await api(
        "query($c: ID!, $a: ID!) { contact(id: $c) { cases { totalCount } } account(id: $a) { cases { nodes { subject } } } }",
        c=contact["contact"]["id"],
        a=account["account"]["id"],
    )
    assert data["contact"]["cases"]["totalCount"] == 1
    assert data["account"]["cases"]["nodes"] == [{"subject": "Late"}]


async def test_status_lifecycle_sets_response_and_resolution_times(api):
    case = (await api.mutate(CREATE, input={"subject": "Broken"}))["case"]
    assert case["firstResponseAt"] is None and case["resolvedAt"] is None

    async def update(**fields):
        nonlocal case
        case = (
            await api.mutate(UPDATE, input={"id": case["id"], "version": case["version"], **fields})
        )["case"]
        return case

    opened = await update(status="OPEN")
    assert opened["firstResponseAt"] and opened["firstResponseSeconds"] >= 0
    first_response = opened["firstResponseAt"]
    await update(status="PENDING")
    resolved = await update(status="RESOLVED")
    assert resolved["resolvedAt"] and resolved["resolutionSeconds"] >= 0
    assert resolved["firstResponseAt"] == first_response  # set once
    reopened = await update(status="OPEN")
    assert reopened["resolvedAt"] is None
    closed = await update(status="CLOSED", satisfactionScore=5)
    assert closed["resolvedAt"] and closed["satisfactionScore"] == 5


async def test_csat_only_once_resolved_and_in_range(api):
    case = (await api.mutate(CREATE, input={"subject": "Q"}))["case"]
    early = await api.raw(
        UPDATE, input={"id": case["id"], "version": case["version"], "satisfactionScore": 4}
    )
    assert [(e["field"], e["code"]) for e in early["data"]["updateCase"]["userErrors"]] == [
        (["input", "satisfactionScore"], "BAD_USER_INPUT")
    ]
    out_of_range = await api.raw(
        UPDATE,
        input={
            "id": case["id"],
            "version": case["version"],
            "status": "RESOLVED",
            "satisfactionScore": 6,
        },
    )
    assert out_of_range["data"]["updateCase"]["userErrors"][0]["field"] == [
        "input",
        "satisfactionScore",
    ]
    data = await api(
        "query($id: ID!) { case(id: $id) { status version satisfactionScore } }", id=case["id"]
    )
    assert data["case"] == {"status": "NEW", "version": case["version"], "satisfactionScore": None}


async def test_bad_case_input(api):
    for fields, field in (
        ({"subject": "   "}, ["input", "subject"]),
        ({"subject": "x" * 301}, ["input", "subject"]),
        (
            {
                "subject": "ok",
                "contactId": "Q29udGFjdDowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA",
            },
            ["input", "contactId"],
        ),
        ({"subject": "ok", "accountId": "not-an-id"}, ["input", "accountId"]),
    ):
        body = await api.raw(CREATE, input=fields)
        errors = body["data"]["createCase"]["userErrors"]
        assert errors and errors[0]["field"] == field, (fields, errors)
    body = await api.raw(CREATE, input={"subject": "ok", "priority": "CRITICAL"})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert (await api("{ cases { totalCount } }"))["cases"]["totalCount"] == 0


async def test_stale_version_delete_restore_filters(api):
    case = (await api.mutate(CREATE, input={"subject": "Printer", "priority": "URGENT"}))["case"]
    await api.mutate(CREATE, input={"subject": "Billing", "priority": "LOW"})
    await api.mutate(UPDATE, input={"id": case["id"], "version": case["version"], "status": "OPEN"})
    stale = await api.raw(
        UPDATE, input={"id": case["id"], "version": case["version"], "status": "CLOSED"}
    )
    assert stale["data"]["updateCase"]["userErrors"][0]["code"] == "CONFLICT"

    data = await api(
        """{ urgent: cases(filter: {priority: {eq: URGENT}, status: {in: [NEW, OPEN, PENDING]}}) { nodes { subject } }
             bySla: cases(orderBy: [{field: SLA_DUE_AT}]) { nodes { subject } }
             search: cases(filter: {search: "bill"}) { nodes { subject } } }"""
    )
    assert data["urgent"]["nodes"] == [{"subject": "Printer"}]
    assert [c["subject"] for c in data["bySla"]["nodes"]] == ["Printer", "Billing"]
    assert data["search"]["nodes"] == [{"subject": "Billing"}]

    await api.mutate(
        f"mutation($input: CaseIdInput!) {{ deleteCase(input: $input) {{ {ERRORS} }} }}",
        input={"id": case["id"]},
    )
    assert (await api("{ cases { totalCount } }"))["cases"]["totalCount"] == 1
    await api.mutate(
        f"mutation($input: CaseIdInput!) {{ restoreCase(input: $input) {{ {ERRORS} }} }}",
        input={"id": case["id"]},
    )
    assert (await api("{ cases { totalCount } }"))["cases"]["totalCount"] == 2
