"""Tasks: work for someone, due at a time, linked to the records it is about."""

from datetime import datetime

import strawberry

from relasi.resolvers import global_ids, tasks
from relasi.resolvers.enums import TaskStatus as Status
from relasi.resolvers.tasks import writes
from relasi.resolvers.timeline import load_actor_name
from relasi.schema.enums import TaskPriority, TaskStatus
from relasi.schema.errors import UserError
from relasi.schema.filters import TaskFilter, TaskOrder
from relasi.schema.members import Member
from relasi.schema.payloads import (
    DeletePayload,
    delete_mutation,
    provided,
    restore_mutation,
    run_mutation,
    update_mutation,
)
from relasi.schema.refs import AccountRef, ActorRef, CaseRef, ContactRef, DealRef
from relasi.schema.relay import (
    Connection,
    Node,
    connection_of,
    from_row,
    link_field,
    list_field,
    load_node,
    lookup_field,
    node_type,
)


@node_type
@strawberry.type(
    description="Work for someone: due at a time, linked to any of a contact, an account, a "
    "deal and a case."
)
class Task(Node):
    title: str
    description: str | None
    due_at: datetime | None
    status: TaskStatus
    priority: TaskPriority
    completed_at: datetime | None = strawberry.field(
        description="When it was last marked DONE; null unless DONE."
    )
    created_at: datetime
    updated_at: datetime
    version: int = strawberry.field(description="Send back with updates (optimistic concurrency).")
    deleted_at: datetime | None = strawberry.field(
        description="When it was deleted: deleted tasks leave lists and lookups."
    )

    @strawberry.field(description="OPEN and past its due time.")
    def overdue(self) -> bool:
        if self.status is not Status.OPEN or self.due_at is None:
            return False
        return datetime.now(self.due_at.tzinfo) > self.due_at

    @strawberry.field(
        description="Who marked it DONE (the API key used, and the member if known); null "
        "unless DONE."
    )
    async def completed_by(self, info: strawberry.Info) -> ActorRef | None:
        from relasi.schema.deals import Actor

        if self.status is not Status.DONE:
            return None
        return Actor(
            api_key_name=await load_actor_name(
                info.context.session, self.row["completed_by_api_key_id"]
            ),
            member=await load_node(info, "Member", self.row["completed_by_member_id"]),
        )

    assignee = link_field("Member", "assignee_id", Member | None, "The member who should do it.")
    contact = link_field("Contact", "contact_id", ContactRef | None)
    account = link_field("Account", "account_id", AccountRef | None)
    deal = link_field("Deal", "deal_id", DealRef | None)
    case = link_field("Case", "case_id", CaseRef | None)


@strawberry.type
class TaskConnection(Connection[Task]):
    pass


connection_of("Task", TaskConnection, Task)


@strawberry.input(description="A new task is OPEN. Links are optional; each must exist.")
class CreateTaskInput:
    title: str = strawberry.field(description="Up to 300 characters.")
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="Up to 10,000 characters."
    )
    due_at: datetime | None = strawberry.UNSET
    priority: TaskPriority | None = strawberry.field(
        default=strawberry.UNSET, description="Default NORMAL."
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A member of the workspace (not removed)."
    )
    contact_id: strawberry.ID | None = strawberry.UNSET
    account_id: strawberry.ID | None = strawberry.UNSET
    deal_id: strawberry.ID | None = strawberry.UNSET
    case_id: strawberry.ID | None = strawberry.UNSET
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="Up to 200 characters. A retried request with the same key creates "
        "nothing and returns the task the first one created.",
    )


@strawberry.input(description="Fields left out stay as they are; null clears a field.")
class UpdateTaskInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you last read.")
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    due_at: datetime | None = strawberry.UNSET
    priority: TaskPriority | None = strawberry.UNSET
    status: TaskStatus | None = strawberry.field(
        default=strawberry.UNSET,
        description="DONE sets completedAt and completedBy; leaving DONE clears them.",
    )
    assignee_id: strawberry.ID | None = strawberry.UNSET
    contact_id: strawberry.ID | None = strawberry.UNSET
    account_id: strawberry.ID | None = strawberry.UNSET
    deal_id: strawberry.ID | None = strawberry.UNSET
    case_id: strawberry.ID | None = strawberry.UNSET


@strawberry.input
class TaskStatusInput:
    id: strawberry.ID
    version: int | None = strawberry.field(
        default=None, description="If given, only if nobody changed the task since."
    )


@strawberry.input
class TaskIdInput:
    id: strawberry.ID


@strawberry.type
class TaskPayload:
    task: Task | None = None
    user_errors: list[UserError]


def _result(row) -> dict:
    return {"task": from_row(Task, row)}


def _status_mutation(info: strawberry.Info, input: TaskStatusInput, status: Status):
    async def action(session):
        pk = global_ids.decode(input.id, "Task", field="input.id")
        return await writes.set_status(session, pk, status, input.version)

    return run_mutation(info, TaskPayload, action, _result)


@strawberry.type
class TaskQueries:
    task = lookup_field(Task)

    tasks = list_field(
        "Task",
        TaskFilter,
        TaskOrder,
        TaskConnection,
        "Tasks; filter by assignee, status, dueAt, overdue and the linked records.",
    )


@strawberry.type
class TaskMutations:
    @strawberry.mutation(description="A new OPEN task, on the timelines of what it links to.")
    async def create_task(self, info: strawberry.Info, input: CreateTaskInput) -> TaskPayload:
        def action(session):
            data = provided(input)
            key = data.pop("idempotency_key", None)
            fields = writes.decode_links(data)
            return tasks.create(session, session.workspace_id, fields, idempotency_key=key)

        return await run_mutation(info, TaskPayload, action, _result)

    @strawberry.mutation(description="Change fields, including the status.")
    async def update_task(self, info: strawberry.Info, input: UpdateTaskInput) -> TaskPayload:
        return await update_mutation(info, TaskPayload, "Task", input, writes.update, _result)

    @strawberry.mutation(description="Mark it DONE (a task already DONE stays as it is).")
    async def complete_task(self, info: strawberry.Info, input: TaskStatusInput) -> TaskPayload:
        return await _status_mutation(info, input, Status.DONE)

    @strawberry.mutation(description="Back to OPEN from DONE or CANCELLED.")
    async def reopen_task(self, info: strawberry.Info, input: TaskStatusInput) -> TaskPayload:
        return await _status_mutation(info, input, Status.OPEN)

    @strawberry.mutation(description="Mark it CANCELLED: it will not be done.")
    async def cancel_task(self, info: strawberry.Info, input: TaskStatusInput) -> TaskPayload:
        return await _status_mutation(info, input, Status.CANCELLED)

    @strawberry.mutation(description="Soft delete: the task leaves lists and lookups.")
    async def delete_task(self, info: strawberry.Info, input: TaskIdInput) -> DeletePayload:
        return await delete_mutation(info, tasks.TASK, input.id)

    @strawberry.mutation(description="Bring a deleted task back.")
    async def restore_task(self, info: strawberry.Info, input: TaskIdInput) -> TaskPayload:
        return await restore_mutation(info, TaskPayload, tasks.TASK, input.id, _result)
