"""Pipelines and their ordered stages (each with a win probability and a status)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from relasi.errors import ErrorCode, UserInputError
from relasi.resolvers.enums import DealStatus
from relasi.resolvers.loaders import children, load_one
from relasi.resolvers.model import Entity, Field, Kind, Relation, register, std_fields
from relasi.resolvers.session import Session
from relasi.resolvers.validation import Checker

PIPELINE = register(
    Entity(
        name="Pipeline",
        table="pipelines",
        fields=(
            *std_fields(),
            Field("name", Kind.STRING, sortable=True, sort_sql="lower({t}.name)", nullable=False),
            Field("is_default", Kind.BOOLEAN, nullable=False),
        ),
        relations=(
            Relation("stages", "PipelineStage", "many", remote="pipeline_id", order="{t}.position"),
            Relation("deals", "Deal", "many", remote="pipeline_id"),
        ),
        soft_delete=False,
        default_order=(("created_at", False),),
        search=("{t}.name ILIKE {p}",),
    )
)

PIPELINE_STAGE = register(
    Entity(
        name="PipelineStage",
        table="pipeline_stages",
        fields=(
            Field("id", Kind.ID, nullable=False),
            Field("name", Kind.STRING, sortable=True, nullable=False),
            Field("position", Kind.INT, sortable=True, nullable=False),
            Field("probability", Kind.DECIMAL, sortable=True, nullable=False),
            Field("status", Kind.ENUM, enum=DealStatus, nullable=False),
            Field("pipeline_id", Kind.ID, target="Pipeline", nullable=False),
        ),
        relations=(
            Relation("pipeline", "Pipeline", "one", local="pipeline_id"),
            Relation("deals", "Deal", "many", remote="stage_id"),
        ),
        soft_delete=False,
        default_order=(("position", False),),
        search=("{t}.name ILIKE {p}",),
    )
)


async def stages(session: Session, pipeline_pk: UUID) -> list[asyncpg.Record]:
    order = PIPELINE.relation("stages").order.format(t="t")
    return await children(session, "pipeline_stages", "pipeline_id", pipeline_pk, order)


async def default_pipeline(session: Session) -> asyncpg.Record | None:
    return await session.fetchrow(
        "SELECT * FROM pipelines WHERE workspace_id = $1 AND is_default", session.workspace_id
    )


MAX_STAGES = 30


async def create_pipeline(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    """A new pipeline with ordered stages: at least one open, one won and one lost stage."""
    check = Checker("input")
    name = check.text("name", data["name"], required=True)
    stages = data["stages"]
    if not 3 <= len(stages) <= MAX_STAGES:
        check.error("stages", f"A pipeline has 3 to {MAX_STAGES} stages.")
    names: set[str] = set()
    rows = []
    for i, stage in enumerate(stages):
        stage_name = check.text(f"stages.{i}.name", stage["name"], required=True)
        if stage_name and stage_name.lower() in names:
            check.error(f"stages.{i}.name", f"Stage {stage_name!r} is listed twice.")
        names.add((stage_name or "").lower())
        probability = stage["probability"]
        if not 0 <= probability <= 1:
            check.error(f"stages.{i}.probability", "Must be between 0 and 1.")
        rows.append((stage_name, probability, stage["status"].value))
    statuses = {status for _, _, status in rows}
    if len(stages) >= 3 and statuses != {"OPEN", "WON", "LOST"}:
        check.error("stages", "Include at least one OPEN, one WON and one LOST stage.")
    check.raise_if_any()
    try:
        pipeline_id = await session.fetchval(
            "INSERT INTO pipelines (workspace_id, name) VALUES ($1, $2) RETURNING id",
            session.workspace_id,
            name,
        )
    except asyncpg.UniqueViolationError:
        raise UserInputError.single(
            "input.name", "A pipeline with this name exists.", ErrorCode.CONFLICT
        ) from None
    await session.executemany(
        """INSERT INTO pipeline_stages (workspace_id, pipeline_id, name, position, probability, status)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        [(session.workspace_id, pipeline_id, *row[:1], i, *row[1:]) for i, row in enumerate(rows)],
    )
    return await load_one(session, "Pipeline", pipeline_id)
