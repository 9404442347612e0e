"""Deals: opportunities moving through a pipeline's stages, with the contacts involved."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

import asyncpg

from relasi.errors import NotFound, UserInputError
from relasi.resolvers import global_ids, pipelines, rows, timeline
from relasi.resolvers.enums import DealStatus, TimelineEventKind
from relasi.resolvers.loaders import load_one
from relasi.resolvers.model import Entity, Field, Kind, Link, Output, Relation, register, std_fields
from relasi.resolvers.session import Session
from relasi.resolvers.validation import MEDIUM_TEXT, Checker

DEAL = register(
    Entity(
        name="Deal",
        table="deals",
        fields=(
            *std_fields(),
            Field("name", Kind.STRING, sortable=True, sort_sql="lower({t}.name)", nullable=False),
            Field("amount", Kind.DECIMAL, sortable=True, description="Amount, any currency."),
            Field("currency", Kind.STRING, sortable=True),
            Field("status", Kind.ENUM, enum=DealStatus, nullable=False),
            Field("expected_close_date", Kind.DATE, sortable=True),
            Field("closed_at", Kind.DATETIME, sortable=True),
            Field("lost_reason", Kind.STRING),
            Field("account_id", Kind.ID, target="Account"),
            Field("pipeline_id", Kind.ID, target="Pipeline", nullable=False),
            Field("stage_id", Kind.ID, target="PipelineStage", nullable=False),
            Field("owner_id", Kind.ID, target="Member"),
        ),
        relations=(
            Relation("account", "Account", "one", local="account_id"),
            Relation("pipeline", "Pipeline", "one", local="pipeline_id"),
            Relation("stage", "PipelineStage", "one", local="stage_id"),
            Relation("owner", "Member", "one", local="owner_id"),
            Relation(
                "contacts",
                "Contact",
                "many",
                through=Link("deal_contacts", near="deal_id", far="contact_id", columns=("role",)),
            ),
            Relation("tasks", "Task", "many", remote="deal_id"),
        ),
        search=("{t}.name ILIKE {p}",),
        outputs=(Output("amount", money=("amount", "currency")),),
    )
)


# a deal's stage changes in history order, over {t} (deal_stage_changes); also the compiler's
STAGE_HISTORY_ORDER = "{t}.changed_at, {t}.id"


async def stage_history(session: Session, deal_pk: UUID) -> list[asyncpg.Record]:
    """Every stage change of a deal, oldest first, with the API key that made it."""

    async def batch(deal_ids: list[UUID]) -> list[list[asyncpg.Record]]:
        found = await session.fetch(
            """SELECT c.*, k.name AS api_key_name FROM deal_stage_changes c
               LEFT JOIN api_keys k ON k.id = c.actor_api_key_id AND k.workspace_id = c.workspace_id
               WHERE c.workspace_id = $1 AND c.deal_id = ANY($2::uuid[])
               ORDER BY """
            + STAGE_HISTORY_ORDER.format(t="c"),
            session.workspace_id,
            deal_ids,
        )
        grouped: dict[UUID, list] = defaultdict(list)
        for row in found:
            grouped[row["deal_id"]].append(row)
        return [grouped.get(d, []) for d in deal_ids]

    return await session.loader(("stage_history",), batch).load(deal_pk)


def _values(check: Checker, data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = check.text("name", data["name"], required=True)
    if "amount" in data:
        values["amount"], values["currency"] = check.money("amount", data["amount"])
    if "expected_close_date" in data:
        values["expected_close_date"] = data["expected_close_date"]
    if "lost_reason" in data:
        values["lost_reason"] = check.text("lostReason", data["lost_reason"], MEDIUM_TEXT)
    return values


async def _stage(
    session: Session, pipeline_gid: str | None, stage_gid: str | None
) -> tuple[UUID, UUID]:
    """(pipeline, stage) for a new or moved deal; the stage must belong to the pipeline."""
    if pipeline_gid is not None:
        pipeline = await rows.require(session, "Pipeline", pipeline_gid, "input.pipelineId")
    elif stage_gid is None:
        pipeline = await pipelines.default_pipeline(session)
    else:
        pipeline = None
    stage = await rows.require(session, "PipelineStage", stage_gid, "input.stageId")
    if stage is None:
        first = (await pipelines.stages(session, pipeline["id"]))[0]
        return pipeline["id"], first["id"]
    if pipeline is not None and stage["pipeline_id"] != pipeline["id"]:
        raise UserInputError.single(
            "input.stageId", f"Stage {stage['name']!r} belongs to another pipeline."
        )
    return stage["pipeline_id"], stage["id"]


async def _record_change(session: Session, deal: asyncpg.Record, from_stage: UUID | None) -> None:
    """Keep the move in the deal's stageHistory and on the timelines (its account's, and its
    contacts' through the deal)."""
    await session.execute(
        """INSERT INTO deal_stage_changes
               (workspace_id, deal_id, from_stage_id, to_stage_id, actor_api_key_id, actor_member_id)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        session.workspace_id,
        deal["id"],
        from_stage,
        deal["stage_id"],
        session.principal.api_key_id,
        session.principal.member_id,
    )
    await timeline.record(
        session,
        TimelineEventKind.DEAL_STAGE_CHANGED,
        account_id=deal["account_id"],
        deal_id=deal["id"],
        from_value=str(from_stage) if from_stage else None,
        to_value=str(deal["stage_id"]),
    )


async def _contact_links(
    session: Session, items: list[dict[str, Any]]
) -> list[tuple[UUID, str | None]]:
    links: list[tuple[UUID, str | None]] = []
    for i, item in enumerate(items):
        contact = await rows.require(
            session, "Contact", item["contact_id"], f"input.contacts.{i}.contactId"
        )
        role = item.get("role")
        links.append((contact["id"], role.value if role is not None else None))
    if len({c for c, _ in links}) != len(links):
        raise UserInputError.single("input.contacts", "A contact is listed twice.")
    return links


async def set_contact(session: Session, deal_pk: UUID, contact_pk: UUID, role: str | None) -> None:
    await session.execute(
        """INSERT INTO deal_contacts (workspace_id, deal_id, contact_id, role) VALUES ($1, $2, $3, $4)
           ON CONFLICT (workspace_id, deal_id, contact_id) DO UPDATE SET role = EXCLUDED.role""",
        session.workspace_id,
        deal_pk,
        contact_pk,
        role,
    )


async def create_deal(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    check = Checker("input")
    values = _values(check, data)
    check.raise_if_any()
    await rows.resolve_links(session, data, values, account_id="Account", owner_id="Member")
    values["pipeline_id"], values["stage_id"] = await _stage(
        session, data.get("pipeline_id"), data.get("stage_id")
    )
    links = await _contact_links(session, data.get("contacts") or [])
    row = await rows.insert(session, DEAL, values)
    await _record_change(session, row, None)
    for contact_pk, role in links:
        await set_contact(session, row["id"], contact_pk, role)
    return row


async def update_deal(session: Session, pk: UUID, data: dict[str, Any]) -> asyncpg.Record:
    check = Checker("input")
    values = _values(check, data)
    check.raise_if_any()
    await rows.resolve_links(session, data, values, account_id="Account", owner_id="Member")
    row = await rows.update(session, DEAL, pk, data.get("version"), values)
    return row


async def move_deal_stage(session: Session, pk: UUID, data: dict[str, Any]) -> asyncpg.Record:
    """Move a deal to a stage (of its pipeline, or of another one) and record who moved it."""
    current = await load_one(session, "Deal", pk)
    if current is None:
        raise rows.not_found(DEAL, pk)
    pipeline_id, stage_id = await _stage(session, data.get("pipeline_id"), data["stage_id"])
    values: dict[str, Any] = {"pipeline_id": pipeline_id, "stage_id": stage_id}
    if "lost_reason" in data:
        check = Checker("input")
        values["lost_reason"] = check.text("lostReason", data["lost_reason"], MEDIUM_TEXT)
        check.raise_if_any()
    row = await rows.update(session, DEAL, pk, data.get("version"), values)
    if stage_id != current["stage_id"]:
        await _record_change(session, row, current["stage_id"])
    return row


async def add_contact(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    deal = await rows.require(session, "Deal", data["deal_id"], "input.dealId")
    contact = await rows.require(session, "Contact", data["contact_id"], "input.contactId")
    role = data.get("role")
    await set_contact(session, deal["id"], contact["id"], role.value if role is not None else None)
    return deal


async def remove_contact(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    deal = await rows.require(session, "Deal", data["deal_id"], "input.dealId")
    contact_pk = global_ids.decode(data["contact_id"], "Contact", field="input.contactId")
    status = await session.execute(
        "DELETE FROM deal_contacts WHERE workspace_id = $1 AND deal_id = $2 AND contact_id = $3",
        session.workspace_id,
        deal["id"],
        contact_pk,
    )
    if status == "DELETE 0":
        raise NotFound("That contact is not on this deal.", field="input.contactId")
    return deal
