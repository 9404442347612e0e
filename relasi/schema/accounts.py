"""Accounts: companies, their hierarchy, and everything linked to them."""

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from relasi.resolvers import accounts
from relasi.resolvers.accounts import ACCOUNT
from relasi.schema.errors import UserError
from relasi.schema.filters import (
    AccountFilter,
    AccountOrder,
    CaseFilter,
    CaseOrder,
    ContactFilter,
    ContactOrder,
    DealFilter,
    DealOrder,
    InteractionFilter,
    InteractionOrder,
)
from relasi.schema.journey import AccountJourney, account_journey
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
from relasi.schema.refs import (
    AccountConnectionRef,
    AccountRef,
    CaseConnectionRef,
    ContactConnectionRef,
    DealConnectionRef,
    InteractionConnectionRef,
)
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


@node_type
@strawberry.type(description="A company. Accounts form a hierarchy through `parent`/`children`.")
class Account(Node):
    name: str
    domain: str | None = strawberry.field(description="Unique among live accounts, lower-case.")
    industry: str | None
    employee_count: int | None
    country: str | None = strawberry.field(description="ISO 3166-1 alpha-2.")
    custom_attributes: JSON
    created_at: datetime
    updated_at: datetime
    version: int = strawberry.field(description="Send back with updates (optimistic concurrency).")

    @strawberry.field
    def annual_revenue(self) -> Money | None:
        return money(self.row["annual_revenue"], self.row["annual_revenue_currency"])

    owner = link_field("Member", "owner_id", Member | None)
    parent = link_field("Account", "parent_id", AccountRef | None, "The parent company, if any.")

    children = relation_field(
        "Account",
        "children",
        AccountFilter,
        AccountOrder,
        AccountConnectionRef,
        "Direct subsidiaries.",
    )
    contacts = relation_field(
        "Account", "contacts", ContactFilter, ContactOrder, ContactConnectionRef
    )
    deals = relation_field("Account", "deals", DealFilter, DealOrder, DealConnectionRef)
    cases = relation_field("Account", "cases", CaseFilter, CaseOrder, CaseConnectionRef)
    tasks = tasks_field("Account")
    interactions = relation_field(
        "Account",
        "interactions",
        InteractionFilter,
        InteractionOrder,
        InteractionConnectionRef,
        "Touchpoints recorded against this account, newest first.",
    )
    timeline = timeline_field(
        "account",
        "Everything that happened with this account and its contacts, newest first.",
    )

    @strawberry.field(description="Where this account's contacts are in their journeys.")
    async def journey(self, info: strawberry.Info) -> AccountJourney:
        return await account_journey(info, self.pk)


@strawberry.type
class AccountConnection(Connection[Account]):
    pass


connection_of("Account", AccountConnection, Account)


@strawberry.input
class CreateAccountInput:
    name: str
    domain: str | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    employee_count: int | None = strawberry.UNSET
    annual_revenue: MoneyInput | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    custom_attributes: JSON | None = strawberry.UNSET


@strawberry.input(description="Fields left out stay as they are; null clears a field.")
class UpdateAccountInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The version you last read.")
    name: str | None = strawberry.UNSET
    domain: str | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    employee_count: int | None = strawberry.UNSET
    annual_revenue: MoneyInput | None = strawberry.UNSET
    country: str | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    parent_id: strawberry.ID | None = strawberry.UNSET
    custom_attributes: JSON | None = strawberry.UNSET


@strawberry.input
class AccountIdInput:
    id: strawberry.ID


@strawberry.type
class AccountPayload:
    account: Account | None = None
    user_errors: list[UserError]


def _result(row) -> dict:
    return {"account": from_row(Account, row)}


@strawberry.type
class AccountQueries:
    account = lookup_field(Account)

    accounts = list_field("Account", AccountFilter, AccountOrder, AccountConnection)


@strawberry.type
class AccountMutations:
    @strawberry.mutation
    async def create_account(
        self, info: strawberry.Info, input: CreateAccountInput
    ) -> AccountPayload:
        return await run_mutation(
            info, AccountPayload, lambda s: accounts.create_account(s, provided(input)), _result
        )

    @strawberry.mutation
    async def update_account(
        self, info: strawberry.Info, input: UpdateAccountInput
    ) -> AccountPayload:
        return await update_mutation(
            info, AccountPayload, "Account", input, accounts.update_account, _result
        )

    @strawberry.mutation(description="Soft delete: the account leaves lists and lookups.")
    async def delete_account(self, info: strawberry.Info, input: AccountIdInput) -> DeletePayload:
        return await delete_mutation(info, ACCOUNT, input.id)

    @strawberry.mutation(description="Bring a deleted account back.")
    async def restore_account(self, info: strawberry.Info, input: AccountIdInput) -> AccountPayload:
        return await restore_mutation(
            info, AccountPayload, ACCOUNT, input.id, _result, accounts.UNIQUE
        )
