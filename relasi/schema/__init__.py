"""The GraphQL schema: one Query and one Mutation root merged from the domain modules, and the
Subscription root (`relasi/schema/subscriptions.py`)."""

from datetime import datetime
from decimal import Decimal

import strawberry
from strawberry.extensions import DisableIntrospection, MaxTokensLimiter
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from relasi.auth.permissions import protect
from relasi.compiler import CompiledReads
from relasi.schema.access import AccessMutations, AccessQueries
from relasi.schema.accounts import AccountMutations, AccountQueries
from relasi.schema.api_keys import ApiKeyMutations, ApiKeyQueries
from relasi.schema.audit import AuditQueries
from relasi.schema.cases import CaseMutations, CaseQueries
from relasi.schema.changes import ChangeQueries
from relasi.schema.contacts import ContactMutations, ContactQueries
from relasi.schema.deals import DealMutations, DealQueries
from relasi.schema.errors import ErrorPolicy, Schema
from relasi.schema.executor import executor_class
from relasi.schema.interactions import InteractionMutations, InteractionQueries
from relasi.schema.limits import Limits, limited_validation
from relasi.schema.members import MemberMutations, MemberQueries
from relasi.schema.node import NodeQueries
from relasi.schema.operations import SafeParserCache, TransactionMode
from relasi.schema.pipelines import PipelineMutations, PipelineQueries
from relasi.schema.relay import NODE_TYPES
from relasi.schema.scalars import BOUNDED_DATETIME, BOUNDED_DECIMAL
from relasi.schema.segments import SegmentMutations, SegmentQueries
from relasi.schema.subscriptions import Subscription
from relasi.schema.tasks import TaskMutations, TaskQueries
from relasi.schema.timeline import TIMELINE_TYPES, TimelineMutations
from relasi.schema.webhooks import WebhookMutations, WebhookQueries
from relasi.schema.workflows import WorkflowMutations, WorkflowQueries
from relasi.schema.workspaces import WorkspaceMutations, WorkspaceQueries

Query = merge_types(
    "Query",
    (
        NodeQueries,
        ContactQueries,
        AccountQueries,
        DealQueries,
        PipelineQueries,
        CaseQueries,
        TaskQueries,
        InteractionQueries,
        MemberQueries,
        SegmentQueries,
        AuditQueries,
        ChangeQueries,
        AccessQueries,
        ApiKeyQueries,
        WebhookQueries,
        WorkflowQueries,
        WorkspaceQueries,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        ContactMutations,
        AccountMutations,
        DealMutations,
        CaseMutations,
        TaskMutations,
        InteractionMutations,
        MemberMutations,
        AccessMutations,
        ApiKeyMutations,
        PipelineMutations,
        TimelineMutations,
        SegmentMutations,
        WebhookMutations,
        WorkflowMutations,
        WorkspaceMutations,
    ),
)


def build_schema(
    *, production: bool = False, introspection: bool = True, limits: Limits = Limits()
) -> strawberry.Schema:
    """`production` hides every "Did you mean ...?" hint (field, argument, type, enum value,
    input field): they spell out the schema to a prober."""
    types = [*NODE_TYPES.values(), *TIMELINE_TYPES]
    protect([Query, Mutation, Subscription], types)
    validation = limited_validation(limits, hide_suggestions=production)
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=types,
        extensions=[
            TransactionMode,
            CompiledReads,  # after TransactionMode: runs on the request's read-only snapshot
            ErrorPolicy,
            lambda: MaxTokensLimiter(max_token_count=limits.tokens),
            lambda: SafeParserCache(maxsize=256),
            lambda: validation(maxsize=256),
            *([] if introspection else [DisableIntrospection]),
        ],
        config=StrawberryConfig(
            disable_field_suggestions=production,
            scalar_map={Decimal: BOUNDED_DECIMAL, datetime: BOUNDED_DATETIME},
        ),
        execution_context_class=executor_class(hide_suggestions=production),
    )


schema = build_schema()
