"""Pipelines and their ordered stages (each with a win probability and a status)."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from relasi.resolvers.enums import DealStatus
from relasi.resolvers.loaders import children
from relasi.resolvers.model import Entity, Field, Kind, Relation, register, std_fields
from relasi.resolvers.session import Session

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
            Relation("stages", "PipelineStage", "many", remote="pipeline_id"),
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
    return await children(session, "pipeline_stages", "pipeline_id", pipeline_pk, "t.position")


async def default_pipeline(session: Session) -> asyncpg.Record | None:
    return await session.fetchrow(
        "SELECT * FROM pipelines WHERE workspace_id = $1 AND is_default", session.workspace_id
    )
