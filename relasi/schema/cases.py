"""Cases: support tickets with priority-driven SLAs."""

from datetime import datetime

import strawberry

from relasi.resolvers import cases
from relasi.resolvers.cases import CASE
from relasi.schema.enums import CasePriority, CaseStatus, Channel
from relasi.schema.errors import UserError
from relasi.schema.filters import CaseFilter, CaseOrder
from relasi.schema.members import Member
from relasi.schema.payloads import (
    DeletePayload,
    delete_mutation,
    provided,
    restore_mutation,
    run_mutation,
    update_mutation,
)
from relasi.schema.refs import AccountRef, ContactRef
from relasi.schema.relay import (
    Connection,
    Node,
    connection_of,
    from_row,
    link_field,
    list_field,
    lookup_field,
    node_type,
)
from relasi.schema.task_lists import tasks_field


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    return None if start is None or end is None else int((end - start).total_seconds())


@node_type
@strawberry.type(description="A support ticket.")
class Case(Node):
    subject: str
    description: str | None
    status: CaseStatus
    priority: CasePriority
    channel: Channel | None
    sla_due_at: datetime = strawberry.field(
        description="Creation + 72h/24h/8h/4h for LOW/NORMAL/HIGH/URGENT."
    )
    first_response_at: datetime | None = strawberry.field(
        description="Set when the case first leaves NEW."
    )
    resolved_at: datetime | None = strawberry.field(
        description="Set on RESOLVED or CLOSED; cleared if reopened."
    )
    satisfaction_score: int | None = strawberry.field(description="CSAT, 1 to 5.")
    created_at: datetime
    updated_at: datetime
    version: int = strawberry.field(description="Send back with updates (optimistic concurrency).")
    deleted_at: datetime | None = strawberry.field(
        description="When it was deleted: only `caseUpdated` events show deleted cases."
    )

    @strawberry.field(description="Seconds from creation to first response.")
    def first_response_seconds(self) -> int | None:
        return _seconds(self.created_at, self.first_response_at)

    @strawberry.field(description="Seconds from creation to resolution.")
    def resolution_seconds(self) -> int | None:
        return _seconds(self.created_at, self.resolved_at)

    @strawberry.field(description="Resolved after its SLA, or still open past it.")
    def sla_breached(self, info: strawberry.Info) -> bool:
        end = self.resolved_at or datetime.now(self.sla_due_at.tzinfo)
        return end > self.sla_due_at

    contact = link_field("Contact", "contact_id", ContactRef | None)
    account = link_field("Account", "account_id", AccountRef | None)
    owner = link_field("Member", "owner_id", Member | None)

    tasks = tasks_field("Case")


@strawberry.type
class CaseConnection(Connection[Case]):
    pass


connection_of("Case", CaseConnection, Case)


@strawberry.input(description="Without accountId, a contact's case belongs to its account.")
class CreateCaseInput:
    subject: str
    description: str | None = strawberry.UNSET
    contact_id: strawberry.ID | None = strawberry.UNSET
    account_id: strawberry.ID | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    status: CaseStatus | None = strawberry.UNSET
    priority: CasePriority | None = strawberry.UNSET
    channel: Channel | None = strawberry.UNSET


@strawberry.input(description="Fields left out stay as they are; null clears a field.")
class UpdateCaseInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you last read.")
    subject: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    contact_id: strawberry.ID | None = strawberry.UNSET
    account_id: strawberry.ID | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    status: CaseStatus | None = strawberry.UNSET
    priority: CasePriority | None = strawberry.UNSET
    channel: Channel | None = strawberry.UNSET
    satisfaction_score: int | None = strawberry.field(
        default=strawberry.UNSET, description="CSAT 1-5, once resolved or closed."
    )


@strawberry.input
class CaseIdInput:
    id: strawberry.ID


@strawberry.type
class CasePayload:
    case: Case | None = None
    user_errors: list[UserError]


def _result(row) -> dict:
    return {"case": from_row(Case, row)}


@strawberry.type
class CaseQueries:
    case = lookup_field(Case)

    cases = list_field("Case", CaseFilter, CaseOrder, CaseConnection)


@strawberry.type
class CaseMutations:
    @strawberry.mutation
    async def create_case(self, info: strawberry.Info, input: CreateCaseInput) -> CasePayload:
        return await run_mutation(
            info, CasePayload, lambda s: cases.create_case(s, provided(input)), _result
        )

    @strawberry.mutation(description="Status changes set firstResponseAt and resolvedAt.")
    async def update_case(self, info: strawberry.Info, input: UpdateCaseInput) -> CasePayload:
        return await update_mutation(info, CasePayload, "Case", input, cases.update_case, _result)

    @strawberry.mutation(description="Soft delete: the case leaves lists and lookups.")
    async def delete_case(self, info: strawberry.Info, input: CaseIdInput) -> DeletePayload:
        return await delete_mutation(info, CASE, input.id)

    @strawberry.mutation(description="Bring a deleted case back.")
    async def restore_case(self, info: strawberry.Info, input: CaseIdInput) -> CasePayload:
        return await restore_mutation(info, CasePayload, CASE, input.id, _result)
