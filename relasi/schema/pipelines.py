"""Pipelines and their ordered stages."""

from datetime import datetime
from decimal import Decimal

import strawberry

from relasi.resolvers import pipelines
from relasi.schema.enums import DealStatus
from relasi.schema.errors import UserError
from relasi.schema.filters import DealFilter, DealOrder, PipelineFilter, PipelineOrder
from relasi.schema.payloads import provided, run_mutation
from relasi.schema.refs import DealConnectionRef, PipelineRef
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


@node_type
@strawberry.type(description="A step of a pipeline. Its status decides the deal's status.")
class PipelineStage(Node):
    name: str
    position: int = strawberry.field(description="0-based order within the pipeline.")
    probability: Decimal = strawberry.field(description="Win probability, 0 to 1.")
    status: DealStatus

    pipeline = link_field("Pipeline", "pipeline_id", PipelineRef)

    deals = relation_field(
        "PipelineStage",
        "deals",
        DealFilter,
        DealOrder,
        DealConnectionRef,
        "Deals in this stage: one column of a pipeline board.",
    )


@node_type
@strawberry.type(description="An ordered series of deal stages.")
class Pipeline(Node):
    name: str
    is_default: bool
    created_at: datetime
    updated_at: datetime

    @strawberry.field(description="Stages in order.")
    async def stages(self, info: strawberry.Info) -> list[PipelineStage]:
        found = await pipelines.stages(info.context.session, self.pk)
        return [from_row(PipelineStage, row) for row in found]

    deals = relation_field("Pipeline", "deals", DealFilter, DealOrder, DealConnectionRef)


@strawberry.type
class PipelineConnection(Connection[Pipeline]):
    pass


connection_of("Pipeline", PipelineConnection, Pipeline)


@strawberry.type
class PipelineQueries:
    pipeline = lookup_field(Pipeline)

    pipelines = list_field(
        "Pipeline",
        PipelineFilter,
        PipelineOrder,
        PipelineConnection,
        "Pipelines, oldest first (the default sales pipeline first).",
    )


@strawberry.input
class PipelineStageInput:
    name: str
    probability: Decimal = strawberry.field(description="Win probability, 0 to 1.")
    status: DealStatus = strawberry.field(description="OPEN while the deal is in play.")


@strawberry.input(description="Stages in order; at least one OPEN, one WON and one LOST.")
class CreatePipelineInput:
    name: str
    stages: list[PipelineStageInput]


@strawberry.type
class PipelinePayload:
    pipeline: Pipeline | None = None
    user_errors: list[UserError]


@strawberry.type
class PipelineMutations:
    @strawberry.mutation(description="Create a pipeline with its stages (admins only).")
    async def create_pipeline(
        self, info: strawberry.Info, input: CreatePipelineInput
    ) -> PipelinePayload:
        return await run_mutation(
            info,
            PipelinePayload,
            lambda s: pipelines.create_pipeline(s, provided(input)),
            lambda row: {"pipeline": from_row(Pipeline, row)},
        )
