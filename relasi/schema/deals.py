"""Deals: opportunities in pipelines, their contacts (with roles) and stage history."""

import asyncio
from datetime import date, datetime
from typing import Annotated

import strawberry

from relasi.resolvers import deals
from relasi.resolvers.deals import DEAL
from relasi.schema.contacts import Contact
from relasi.schema.enums import DealContactRole, DealStatus
from relasi.schema.errors import UserError
from relasi.schema.filters import ContactFilter, ContactOrder, DealFilter, DealOrder
from relasi.schema.members import Member
from relasi.schema.money import Money, MoneyInput, money
from relasi.schema.payloads import (
    DeletePayload,
    delete_mutation,
    provided,
    restore_mutation,
    run_mutation,
    update_mutation,
)
from relasi.schema.pipelines import Pipeline, PipelineStage
from relasi.schema.refs import AccountRef
from relasi.schema.relay import (
    Connection,
    Edge,
    Node,
    connection_of,
    from_row,
    link_field,
    list_field,
    load_node,
    lookup_field,
    node_type,
    relation_field,
)
from relasi.schema.task_lists import tasks_field


@strawberry.type(description="Who made a change: the API key used, and the member if known.")
class Actor:
    api_key_name: str | None
    member: Member | None


@strawberry.type(description="One move of a deal from one stage to another.")
class StageChange:
    from_stage: PipelineStage | None = strawberry.field(description="Null for the first stage.")
    to_stage: PipelineStage
    changed_at: datetime
    changed_by: Actor


def role_of(row) -> dict:
    role = row["link_role"]
    return {"role": DealContactRole(role) if role is not None else None}


@node_type
@strawberry.type(description="A sales opportunity moving through a pipeline.")
class Deal(Node):
    name: str
    status: DealStatus = strawberry.field(description="OPEN, WON or LOST: the stage's status.")
    expected_close_date: date | None
    closed_at: datetime | None
    lost_reason: str | None
    created_at: datetime
    updated_at: datetime
    version: int = strawberry.field(description="Send back with updates (optimistic concurrency).")

    @strawberry.field(description="Exact amount with its ISO 4217 currency.")
    def amount(self) -> Money | None:
        return money(self.row["amount"], self.row["currency"])

    account = link_field("Account", "account_id", AccountRef | None)
    pipeline = link_field("Pipeline", "pipeline_id", Pipeline)
    stage = link_field("PipelineStage", "stage_id", PipelineStage)
    owner = link_field("Member", "owner_id", Member | None)

    contacts = relation_field(
        "Deal",
        "contacts",
        ContactFilter,
        ContactOrder,
        Annotated["DealContactConnection", strawberry.lazy("relasi.schema.deals")],
        "Contacts on this deal, each edge with the contact's role.",
        options=lambda: role_edges(contact_side=False),
    )
    tasks = tasks_field("Deal")

    @strawberry.field(description="Every stage change, oldest first.")
    async def stage_history(self, info: strawberry.Info) -> list[StageChange]:
        changes = await deals.stage_history(info.context.session, self.pk)
        # gathered, so all stages and members of all histories load in one batch each
        stages = await asyncio.gather(
            *(
                load_node(info, "PipelineStage", c[k])
                for c in changes
                for k in ("from_stage_id", "to_stage_id")
            )
        )
        members = await asyncio.gather(
            *(load_node(info, "Member", c["actor_member_id"]) for c in changes)
        )
        return [
            StageChange(
                from_stage=stages[2 * i],
                to_stage=stages[2 * i + 1],
                changed_at=c["changed_at"],
                changed_by=Actor(api_key_name=c["api_key_name"], member=members[i]),
            )
            for i, c in enumerate(changes)
        ]


@strawberry.type
class DealConnection(Connection[Deal]):
    pass


connection_of("Deal", DealConnection, Deal)


@strawberry.type(description="A contact on a deal, with its role.")
class DealContactEdge(Edge[Contact]):
    role: DealContactRole | None


@strawberry.type
class DealContactConnection(Connection[Contact]):
    edges: list[DealContactEdge]


@strawberry.type(description="A deal a contact is on, with the contact's role.")
class ContactDealEdge(Edge[Deal]):
    role: DealContactRole | None


@strawberry.type
class ContactDealConnection(Connection[Deal]):
    edges: list[ContactDealEdge]


def role_edges(*, contact_side: bool) -> dict:
    """Connection options for the deal-contact link, whose edges carry the contact's role."""
    if contact_side:
        return {
            "connection_cls": ContactDealConnection,
            "edge_cls": ContactDealEdge,
            "edge_extra": role_of,
        }
    return {
        "connection_cls": DealContactConnection,
        "edge_cls": DealContactEdge,
        "edge_extra": role_of,
    }


@strawberry.input
class DealContactInput:
    contact_id: strawberry.ID
    role: DealContactRole | None = None


@strawberry.input(
    description="Without pipeline and stage, the deal starts in the default pipeline's first stage."
)
class CreateDealInput:
    name: str
    amount: MoneyInput | None = strawberry.UNSET
    pipeline_id: strawberry.ID | None = strawberry.UNSET
    stage_id: strawberry.ID | None = strawberry.UNSET
    account_id: strawberry.ID | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    expected_close_date: date | None = strawberry.UNSET
    lost_reason: str | None = strawberry.UNSET
    contacts: list[DealContactInput] | None = strawberry.UNSET


@strawberry.input(
    description="Fields left out stay as they are; null clears. Stages move with moveDealStage."
)
class UpdateDealInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you last read.")
    name: str | None = strawberry.UNSET
    amount: MoneyInput | None = strawberry.UNSET
    account_id: strawberry.ID | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    expected_close_date: date | None = strawberry.UNSET
    lost_reason: str | None = strawberry.UNSET


@strawberry.input(description="A stage of another pipeline moves the deal to that pipeline.")
class MoveDealStageInput:
    id: strawberry.ID
    stage_id: strawberry.ID
    version: int | None = strawberry.field(default=strawberry.UNSET, description="Optional check.")
    lost_reason: str | None = strawberry.UNSET


@strawberry.input
class DealContactLinkInput:
    deal_id: strawberry.ID
    contact_id: strawberry.ID
    role: DealContactRole | None = None


@strawberry.input
class RemoveDealContactInput:
    deal_id: strawberry.ID
    contact_id: strawberry.ID


@strawberry.input
class DealIdInput:
    id: strawberry.ID


@strawberry.type
class DealPayload:
    deal: Deal | None = None
    user_errors: list[UserError]


def _result(row) -> dict:
    return {"deal": from_row(Deal, row)}


@strawberry.type
class DealQueries:
    deal = lookup_field(Deal)

    deals = list_field("Deal", DealFilter, DealOrder, DealConnection)


@strawberry.type
class DealMutations:
    @strawberry.mutation
    async def create_deal(self, info: strawberry.Info, input: CreateDealInput) -> DealPayload:
        return await run_mutation(
            info, DealPayload, lambda s: deals.create_deal(s, provided(input)), _result
        )

    @strawberry.mutation
    async def update_deal(self, info: strawberry.Info, input: UpdateDealInput) -> DealPayload:
        return await update_mutation(info, DealPayload, "Deal", input, deals.update_deal, _result)

    @strawberry.mutation(description="Move a deal to a stage; recorded in its stageHistory.")
    async def move_deal_stage(
        self, info: strawberry.Info, input: MoveDealStageInput
    ) -> DealPayload:
        return await update_mutation(
            info, DealPayload, "Deal", input, deals.move_deal_stage, _result
        )

    @strawberry.mutation(description="Put a contact on a deal (or change its role).")
    async def add_deal_contact(
        self, info: strawberry.Info, input: DealContactLinkInput
    ) -> DealPayload:
        return await run_mutation(
            info, DealPayload, lambda s: deals.add_contact(s, provided(input)), _result
        )

    @strawberry.mutation
    async def remove_deal_contact(
        self, info: strawberry.Info, input: RemoveDealContactInput
    ) -> DealPayload:
        return await run_mutation(
            info, DealPayload, lambda s: deals.remove_contact(s, provided(input)), _result
        )

    @strawberry.mutation(description="Soft delete: the deal leaves lists and lookups.")
    async def delete_deal(self, info: strawberry.Info, input: DealIdInput) -> DeletePayload:
        return await delete_mutation(info, DEAL, input.id)

    @strawberry.mutation(description="Bring a deleted deal back.")
    async def restore_deal(self, info: strawberry.Info, input: DealIdInput) -> DealPayload:
        return await restore_mutation(info, DealPayload, DEAL, input.id, _result)
