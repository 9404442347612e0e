"""A task's storage mapping (resolvers/model.py): its table, filterable fields, relations, the
`overdue` filter and the computed fields the query compiler produces in SQL."""

from __future__ import annotations

from typing import Any

from relasi.resolvers.enums import TaskPriority, TaskStatus
from relasi.resolvers.model import (
    Entity,
    Field,
    Kind,
    Output,
    Param,
    Predicate,
    Relation,
    extend,
    register,
    std_fields,
)
from relasi.resolvers.predicates import Params

# An open task past its due time. The resolver compares with the clock when it runs, so the
# compiled field does too (clock_timestamp, not the transaction's start).
OVERDUE_SQL = "({t}.status = 'OPEN' AND {t}.due_at IS NOT NULL AND {t}.due_at < clock_timestamp())"

TASK = register(
    Entity(
        name="Task",
        table="tasks",
        fields=(
            *std_fields(),
            Field("title", Kind.STRING, sortable=True, sort_sql="lower({t}.title)", nullable=False),
            Field("status", Kind.ENUM, enum=TaskStatus, nullable=False),
            Field("priority", Kind.ENUM, enum=TaskPriority, nullable=False),
            Field("due_at", Kind.DATETIME, sortable=True),
            Field("completed_at", Kind.DATETIME, sortable=True),
            Field("assignee_id", Kind.ID, target="Member"),
            Field("contact_id", Kind.ID, target="Contact"),
            Field("account_id", Kind.ID, target="Account"),
            Field("deal_id", Kind.ID, target="Deal"),
            Field("case_id", Kind.ID, target="Case"),
        ),
        relations=(
            Relation("assignee", "Member", "one", local="assignee_id"),
            Relation("contact", "Contact", "one", local="contact_id"),
            Relation("account", "Account", "one", local="account_id"),
            Relation("deal", "Deal", "one", local="deal_id"),
            Relation("case", "Case", "one", local="case_id"),
        ),
        search=("{t}.title ILIKE {p}", "{t}.description ILIKE {p}"),
        outputs=(Output("overdue", sql=OVERDUE_SQL),),
    )
)


def _overdue(value: Any, alias: str, params: Params, depth: int) -> str:
    condition = OVERDUE_SQL.format(t=alias)
    return condition if value else f"NOT {condition}"


extend(
    "Task",
    predicates=(
        Predicate(
            name="overdue",
            description="true: open and past its due time; false: anything else.",
            value=Param("overdue", Kind.BOOLEAN),
            compile=_overdue,
            clock_params=("overdue",),  # segments reading it refresh on their schedule
        ),
    ),
)
