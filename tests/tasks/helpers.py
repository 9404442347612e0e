"""Task mutations and reads as a client sends them."""

from typing import Any

from tests.conftest import Api

ERRORS = "userErrors { field message code }"
TASK = """id title description dueAt status priority overdue completedAt version createdAt
          updatedAt completedBy { apiKeyName member { id } }
          assignee { id name } contact { id } account { id } deal { id } case { id }"""
CREATE = (
    f"mutation($i: CreateTaskInput!) {{ createTask(input: $i) {{ task {{ {TASK} }} {ERRORS} }} }}"
)
UPDATE = (
    f"mutation($i: UpdateTaskInput!) {{ updateTask(input: $i) {{ task {{ {TASK} }} {ERRORS} }} }}"
)


async def create(api: Api, **fields: Any) -> dict:
    return (await api.mutate(CREATE, i=fields))["task"]


async def status(api: Api, action: str, task_id: str, version: int | None = None) -> dict:
    return await api(
        f"mutation($i: TaskStatusInput!) {{ {action}Task(input: $i) {{ task {{ {TASK} }}"
        f" {ERRORS} }} }}",
        i={"id": task_id, "version": version},
    )


async def record(api: Api, kind: str, **fields: Any) -> str:
    """A new contact, account, deal or case; its id."""
    name = {"contact": "firstName", "account": "name", "deal": "name", "case": "subject"}[kind]
    gql = kind.capitalize()
    data = await api.mutate(
        f"mutation($i: Create{gql}Input!) {{ create{gql}(input: $i) {{ {kind} {{ id }}"
        f" {ERRORS} }} }}",
        i={name: f"{gql} {fields.pop('label', 'one')}", **fields},
    )
    return data[kind]["id"]


async def member(api: Api, name: str = "Dewi", role: str = "SALES") -> str:
    email = f"{name.lower()}@example.com"
    data = await api.mutate(
        "mutation($i: CreateMemberInput!) { createMember(input: $i) { member { id }"
        f" {ERRORS} }} }}",
        i={"name": name, "email": email, "role": role},
    )
    return data["member"]["id"]
