"""Accounts: the companies contacts work for, with a parent/child hierarchy."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from relasi.errors import UserInputError
from relasi.resolvers import rows
from relasi.resolvers.model import Entity, Field, Kind, Output, Relation, register, std_fields
from relasi.resolvers.session import Session
from relasi.resolvers.validation import SHORT_TEXT, Checker

ACCOUNT = register(
    Entity(
        name="Account",
        table="accounts",
        fields=(
            *std_fields(),
            Field("name", Kind.STRING, sortable=True, sort_sql="lower({t}.name)", nullable=False),
            Field("domain", Kind.STRING, sortable=True, lowercase=True),
            Field("industry", Kind.STRING, sortable=True),
            Field("employee_count", Kind.INT, sortable=True),
            Field(
                "annual_revenue", Kind.DECIMAL, sortable=True, description="Amount, any currency."
            ),
            Field("country", Kind.STRING, sortable=True),
            Field("owner_id", Kind.ID, target="Member"),
            Field("parent_id", Kind.ID, target="Account"),
        ),
        relations=(
            Relation("owner", "Member", "one", local="owner_id"),
            Relation("parent", "Account", "one", local="parent_id"),
            Relation("children", "Account", "many", remote="parent_id"),
            Relation("contacts", "Contact", "many", remote="account_id"),
            Relation("deals", "Deal", "many", remote="account_id"),
            Relation("cases", "Case", "many", remote="account_id"),
            Relation("interactions", "Interaction", "many", remote="account_id"),
            Relation("tasks", "Task", "many", remote="account_id"),
        ),
        search=("{t}.name ILIKE {p}", "{t}.domain ILIKE {p}"),
        custom_attributes=True,
        outputs=(Output("annualRevenue", money=("annual_revenue", "annual_revenue_currency")),),
    )
)

UNIQUE = {"accounts_domain": ("input.domain", "Another account already has this domain.")}
MAX_HIERARCHY_DEPTH = 20


def _values(check: Checker, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = check.text("name", data["name"], required=True)
    if "domain" in data:
        values["domain"] = check.domain("domain", data["domain"])
    if "industry" in data:
        values["industry"] = check.text("industry", data["industry"], SHORT_TEXT)
    if "employee_count" in data:
        values["employee_count"] = check.int_range(
            "employeeCount", data["employee_count"], 0, 10_000_000
        )
    if "annual_revenue" in data:
        amount, currency = check.money("annualRevenue", data["annual_revenue"])
        values["annual_revenue"], values["annual_revenue_currency"] = amount, currency
    if "country" in data:
        values["country"] = check.country("country", data["country"])
    if "custom_attributes" in data:
        values["custom_attributes"] = (
            check.json_object("customAttributes", data["custom_attributes"]) or {}
        )
    return values


async def create_account(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    check = Checker("input")
    values = _values(check, {"name": None, **data})
    check.raise_if_any()
    await rows.resolve_links(session, data, values, owner_id="Member", parent_id="Account")
    return await rows.insert(session, ACCOUNT, values, UNIQUE)


async def update_account(session: Session, pk: UUID, data: dict[str, Any]) -> asyncpg.Record:
    check = Checker("input")
    values = _values(check, data)
    check.raise_if_any()
    await rows.resolve_links(session, data, values, owner_id="Member", parent_id="Account")
    if values.get("parent_id") is not None:
        await _refuse_cycle(session, pk, values["parent_id"])
    row = await rows.update(session, ACCOUNT, pk, data.get("version"), values, UNIQUE)
    return row


async def _refuse_cycle(session: Session, pk: UUID, parent_id: UUID) -> None:
    """An account may not become its own ancestor (directly or through its descendants)."""
    if parent_id == pk:
        raise_cycle("An account cannot be its own parent.")
    ancestors = await session.fetchval(
        """WITH RECURSIVE up(id, depth) AS (
               SELECT $2::uuid, 1
               UNION ALL
               SELECT a.parent_id, up.depth + 1 FROM accounts a JOIN up ON a.id = up.id
               WHERE a.workspace_id = $1 AND a.parent_id IS NOT NULL AND up.depth < $3)
           SELECT array_agg(id) FROM up""",
        session.workspace_id,
        parent_id,
        MAX_HIERARCHY_DEPTH + 1,
    )
    if pk in ancestors:
        raise_cycle("That parent is a descendant of this account: the hierarchy would loop.")
    if len(ancestors) > MAX_HIERARCHY_DEPTH:
        raise_cycle(f"Account hierarchies are at most {MAX_HIERARCHY_DEPTH} levels deep.")


def raise_cycle(message: str) -> None:
    raise UserInputError.single("input.parentId", message)
