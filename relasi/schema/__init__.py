"""The GraphQL schema: one Query and one Mutation root merged from the domain modules."""

import strawberry
from strawberry.extensions import ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from relasi.schema.accounts import AccountMutations, AccountQueries
from relasi.schema.cases import CaseMutations, CaseQueries
from relasi.schema.contacts import ContactMutations, ContactQueries
from relasi.schema.deals import DealMutations, DealQueries
from relasi.schema.errors import ErrorPolicy
from relasi.schema.interactions import (
    InteractionBatchMutations,
    InteractionMutations,
    InteractionQueries,
)
from relasi.schema.members import MemberMutations, MemberQueries
from relasi.schema.node import NodeQueries
from relasi.schema.operations import SafeParserCache, TransactionMode
from relasi.schema.pipelines import PipelineMutations, PipelineQueries
from relasi.schema.relay import NODE_TYPES
from relasi.schema.timeline import TIMELINE_TYPES, TimelineMutations

Query = merge_types(
    "Query",
    (
        NodeQueries,
        ContactQueries,
        AccountQueries,
        DealQueries,
        PipelineQueries,
        CaseQueries,
        InteractionQueries,
        MemberQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        ContactMutations,
        AccountMutations,
        DealMutations,
        CaseMutations,
        InteractionMutations,
        InteractionBatchMutations,
        MemberMutations,
        PipelineMutations,
        TimelineMutations,
    ),
)


def build_schema(*, production: bool = False) -> strawberry.Schema:
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[*NODE_TYPES.values(), *TIMELINE_TYPES],
        extensions=[
            TransactionMode,
            ErrorPolicy,
            lambda: SafeParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
        ],
        config=StrawberryConfig(disable_field_suggestions=production),
    )


schema = build_schema()
