"""Statement counts of task reads and writes: reads do not grow with list lengths (resolvers:
one per relation level; compiled: one statement), and createTask / completeTask run a pinned
number of statements."""

from tests.tasks.helpers import create, member, record

NESTED = """query($n: Int!) {
  tasks(first: $n, orderBy: [{field: TITLE, direction: ASC}]) { totalCount nodes {
    title overdue completedBy { apiKeyName member { name } }
    assignee { name tasks(first: 2) { totalCount nodes { title } } }
    contact { fullName tasks { totalCount } } deal { name } case { subject } } }
  members { nodes { tasks(filter: {overdue: false}) { totalCount } } }
}"""


def _no_key_note(statements):
    # the key's "last used" note, written at most once a minute
    return [s for s in statements if not s.startswith("UPDATE api_keys SET last_used_at")]


async def _count(api, database, query, path="resolvers", **variables):
    with database.capture_statements() as statements:
        response = await api.post(query, variables, **{"X-Relasi-Read-Path": path})
    body = response.json()
    assert "errors" not in body, body
    assert response.headers["x-relasi-read-path"] == path
    return _no_key_note(statements), body["data"]


async def test_reads_do_not_grow_with_the_list(api, database):
    dewi = await member(api)
    contact = await record(api, "contact")
    deal = await record(api, "deal")
    case = await record(api, "case")
    parts = [
        f'm{i}: createTask(input: {{title: "T{i:02d}", assigneeId: "{dewi}",'
        f' contactId: "{contact}", dealId: "{deal}", caseId: "{case}"}})'
        " { userErrors { message } }"
        for i in range(30)
    ]
    await api.mutate_many(parts)
    few, few_data = await _count(api, database, NESTED, n=3)
    many, many_data = await _count(api, database, NESTED, n=30)
    assert len(few_data["tasks"]["nodes"]) == 3 and len(many_data["tasks"]["nodes"]) == 30
    assert many_data["tasks"]["nodes"][29]["case"] == {"subject": "Case one"}
    assert len(few) == len(many) <= 20, many
    compiled, data = await _count(api, database, NESTED, path="compiled", n=30)
    assert data == many_data
    assert len(compiled) == 2 and compiled[1].startswith("SELECT json_build_object"), compiled


def _mutation_work(statements):
    """The statements a mutation ran inside its savepoint."""
    start = next(i for i, s in enumerate(statements) if s.startswith("SAVEPOINT"))
    end = next(i for i, s in enumerate(statements) if s.startswith("RELEASE SAVEPOINT"))
    return [" ".join(s.split())[:40] for s in statements[start + 1 : end]]


async def test_write_statements_are_pinned(api, database):
    dewi = await member(api)
    contact = await record(api, "contact")
    with database.capture_statements() as statements:
        task = await create(api, title="Call", assigneeId=dewi, contactId=contact)
    assert _mutation_work(statements) == [
        "SELECT set_config('relasi.audit', 'on', ",  # who acts (audit and change log)
        "SELECT EXISTS (SELECT 1 FROM members x W",  # every link checked in one statement
        "INSERT INTO tasks (workspace_id, title, ",
        "WITH added AS ( INSERT INTO timeline_eve",  # on the contact's timeline, announced
    ]
    with database.capture_statements() as statements:
        await api.mutate(
            "mutation($i: TaskStatusInput!) { completeTask(input: $i) { task { id }"
            " userErrors { message } } }",
            i={"id": task["id"]},
        )
    assert _mutation_work(statements) == [
        "SELECT set_config('relasi.audit', 'on', ",
        "SELECT * FROM tasks WHERE workspace_id =",  # locked: two completions complete once
        "SELECT now()",
        "UPDATE tasks t SET status = $4, complete",
        "WITH added AS ( INSERT INTO timeline_eve",
    ]
