"""`tasks` on the records tasks link to (Contact, Account, Deal, Case) and on Member (the
tasks assigned to it): a connection with the `tasks` list's filter and order. Apart from
`schema/tasks.py`, which those types' modules cannot import (it imports them)."""

from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from relasi.schema.filters import TaskFilter, TaskOrder
from relasi.schema.relay import relation_field

if TYPE_CHECKING:
    from relasi.schema.tasks import TaskConnection

TaskConnectionRef = Annotated["TaskConnection", strawberry.lazy("relasi.schema.tasks")]


def tasks_field(parent: str) -> Any:
    what = "assigned to this member" if parent == "Member" else f"linked to this {parent.lower()}"
    return relation_field(
        parent, "tasks", TaskFilter, TaskOrder, TaskConnectionRef, f"Tasks {what}."
    )
