"""Contacts: people, with their emails, phones, account, deals, cases and touchpoints."""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from relasi.auth.pii import PII_READ, mask_email, mask_phone
from relasi.resolvers import contacts
from relasi.resolvers.contacts import CONTACT
from relasi.schema.enums import JourneyStage, LeadRating, LifecycleStage
from relasi.schema.errors import UserError
from relasi.schema.filters import (
    CaseFilter,
    CaseOrder,
    ContactFilter,
    ContactOrder,
    DealFilter,
    DealOrder,
    InteractionFilter,
    InteractionOrder,
    SegmentFilter,
    SegmentOrder,
)
from relasi.schema.journey import ContactJourney, contact_journey
from relasi.schema.members import Member
from relasi.schema.payloads import (
    DeletePayload,
    delete_mutation,
    provided,
    restore_mutation,
    run_mutation,
    update_mutation,
)
from relasi.schema.refs import AccountRef
from relasi.schema.relay import (
    Connection,
    Node,
    connection_of,
    from_row,
    link_field,
    list_field,
    lookup_field,
    node_type,
    relation_field,
)
from relasi.schema.task_lists import tasks_field
from relasi.schema.timeline import timeline_field

if TYPE_CHECKING:  # names used in lazy annotations (imported at schema build time)
    from relasi.schema.cases import CaseConnection
    from relasi.schema.deals import ContactDealConnection
    from relasi.schema.interactions import InteractionConnection
    from relasi.schema.segments import SegmentConnection


@strawberry.type(description="An email address of a contact (stored lower-cased).")
class ContactEmail:
    address: str
    primary: bool


@strawberry.type(description="A phone number of a contact, in E.164 form.")
class ContactPhone:
    number: str
    primary: bool


@node_type
@strawberry.type(description="A person: a lead, a customer, a user of a customer.")
class Contact(Node):
    first_name: str | None
    last_name: str | None
    title: str | None
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2.")
    city: str | None
    lifecycle_stage: LifecycleStage
    lead_rating: LeadRating | None
    journey_stage: JourneyStage
    custom_attributes: JSON
    created_at: datetime
    updated_at: datetime
    version: int = strawberry.field(description="Send back with updates (optimistic concurrency).")

    @strawberry.field
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @strawberry.field(
        description="All email addresses, the primary one first (masked without pii:read)."
    )
    async def emails(self, info: strawberry.Info) -> list[ContactEmail]:
        found = await contacts.identities(info.context.session, self.pk)
        mask = None if info.context.principal.has(PII_READ) else mask_email
        return [
            ContactEmail(address=mask(r["value"]) if mask else r["value"], primary=r["is_primary"])
            for r in found
            if r["kind"] == "EMAIL"
        ]

    @strawberry.field(description="The primary email address.")
    async def email(self, info: strawberry.Info) -> str | None:
        return next((e.address for e in await self.emails(info) if e.primary), None)

    @strawberry.field(
        description="All phone numbers, the primary one first (masked without pii:read)."
    )
    async def phones(self, info: strawberry.Info) -> list[ContactPhone]:
        found = await contacts.identities(info.context.session, self.pk)
        mask = None if info.context.principal.has(PII_READ) else mask_phone
        return [
            ContactPhone(number=mask(r["value"]) if mask else r["value"], primary=r["is_primary"])
            for r in found
            if r["kind"] == "PHONE"
        ]

    @strawberry.field(description="The primary phone number.")
    async def phone(self, info: strawberry.Info) -> str | None:
        return next((p.number for p in await self.phones(info) if p.primary), None)

    account = link_field("Account", "account_id", AccountRef | None)
    owner = link_field("Member", "owner_id", Member | None)

    deals = relation_field(
        "Contact",
        "deals",
        DealFilter,
        DealOrder,
        Annotated["ContactDealConnection", strawberry.lazy("relasi.schema.deals")],
        "Deals this contact takes part in, each edge with the contact's role.",
        options=lambda: _deals().role_edges(contact_side=True),
    )
    cases = relation_field(
        "Contact",
        "cases",
        CaseFilter,
        CaseOrder,
        Annotated["CaseConnection", strawberry.lazy("relasi.schema.cases")],
    )
    interactions = relation_field(
        "Contact",
        "interactions",
        InteractionFilter,
        InteractionOrder,
        Annotated["InteractionConnection", strawberry.lazy("relasi.schema.interactions")],
        "This contact's touchpoints, newest first.",
    )
    segments = relation_field(
        "Contact",
        "segments",
        SegmentFilter,
        SegmentOrder,
        Annotated["SegmentConnection", strawberry.lazy("relasi.schema.segments")],
        "The segments this contact is a member of now.",
    )
    tasks = tasks_field("Contact")
    timeline = timeline_field(
        "contact",
        "Everything that happened with this contact, newest first: touchpoints on every "
        "channel, journey moves, cases, its deals' stage moves, notes.",
    )

    @strawberry.field(description="Where this contact is in its journey, and how it got there.")
    def journey(self, as_of: datetime | None = None) -> ContactJourney:
        return contact_journey(self.pk, self.row["journey_stage"], as_of)


def _deals():
    from relasi.schema import deals  # deals imports this module: resolve at call time

    return deals


@strawberry.type
class ContactConnection(Connection[Contact]):
    pass


connection_of("Contact", ContactConnection, Contact)


@strawberry.input
class ContactEmailInput:
    address: str
    primary: bool = False


@strawberry.input(description="A phone; without +country code it is read in the contact's country.")
class ContactPhoneInput:
    number: str
    primary: bool = False


@strawberry.input(description="A contact needs a name, an email or a phone.")
class CreateContactInput:
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    emails: list[ContactEmailInput] | None = strawberry.field(
        default=strawberry.UNSET, description="The first is primary unless one says primary."
    )
    phones: list[ContactPhoneInput] | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    account_id: strawberry.ID | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    lifecycle_stage: LifecycleStage | None = strawberry.UNSET
    lead_rating: LeadRating | None = strawberry.UNSET
    journey_stage: JourneyStage | None = strawberry.UNSET
    custom_attributes: JSON | None = strawberry.UNSET


@strawberry.input(description="Fields left out stay as they are; null clears; lists are replaced.")
class UpdateContactInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you last read.")
    first_name: str | None = strawberry.UNSET
    last_name: str | None = strawberry.UNSET
    emails: list[ContactEmailInput] | None = strawberry.UNSET
    phones: list[ContactPhoneInput] | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    city: str | None = strawberry.UNSET
    account_id: strawberry.ID | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    lifecycle_stage: LifecycleStage | None = strawberry.UNSET
    lead_rating: LeadRating | None = strawberry.UNSET
    journey_stage: JourneyStage | None = strawberry.UNSET
    custom_attributes: JSON | None = strawberry.UNSET


@strawberry.input
class ContactIdInput:
    id: strawberry.ID


@strawberry.type
class ContactPayload:
    contact: Contact | None = None
    user_errors: list[UserError]


def _result(row) -> dict:
    return {"contact": from_row(Contact, row)}


@strawberry.type
class ContactQueries:
    contact = lookup_field(Contact)

    contacts = list_field(
        "Contact",
        ContactFilter,
        ContactOrder,
        ContactConnection,
        "Contacts; filters follow relations (account, deals, cases, ...).",
    )


@strawberry.type
class ContactMutations:
    @strawberry.mutation
    async def create_contact(
        self, info: strawberry.Info, input: CreateContactInput
    ) -> ContactPayload:
        return await run_mutation(
            info, ContactPayload, lambda s: contacts.create_contact(s, provided(input)), _result
        )

    @strawberry.mutation
    async def update_contact(
        self, info: strawberry.Info, input: UpdateContactInput
    ) -> ContactPayload:
        return await update_mutation(
            info, ContactPayload, "Contact", input, contacts.update_contact, _result
        )

    @strawberry.mutation(description="Soft delete: the contact leaves lists and lookups.")
    async def delete_contact(self, info: strawberry.Info, input: ContactIdInput) -> DeletePayload:
        return await delete_mutation(info, CONTACT, input.id)

    @strawberry.mutation(description="Bring a deleted contact back.")
    async def restore_contact(self, info: strawberry.Info, input: ContactIdInput) -> ContactPayload:
        return await restore_mutation(info, ContactPayload, CONTACT, input.id, _result)
