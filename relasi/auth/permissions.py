"""Who may use which part of the schema, declared in one place (the README shows it as a table).

- Every root field (query, mutation, subscription) names the scope it needs in ROOT_RULES.
  A root field missing here is refused to everyone but admins, and a test walks the schema
  to fail the build when one is missing.
- Every field that leads to another domain's objects needs that domain's read scope
  (TYPE_SCOPES): `contact { deals }` needs deals:read as well as contacts:read. Mutation
  payloads are exempt for the object the mutation wrote, so a write-only key can read back
  the id of what it created.
- FIELD_RULES protect single fields (deal amounts). Personal data (emails, phones) is not
  refused but masked, and cannot be filtered on, without pii:read (see `relasi.auth.pii`).

The checks are Strawberry permission classes on the fields (no per-request extension hook);
scopes come from the request's Principal.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types.base import (
    StrawberryList,
    StrawberryOptional,
    get_object_definition,
)
from strawberry.types.lazy_type import LazyType
from strawberry.types.union import StrawberryUnion

from relasi.auth.scopes import ADMIN
from relasi.errors import Forbidden

PUBLIC = "public"  # any authenticated caller

ROOT_RULES: dict[str, str] = {
    # queries
    "Query.node": PUBLIC,  # the node's own type is checked (see `can_read_type`)
    "Query.nodes": PUBLIC,
    "Query.me": PUBLIC,
    "Query.workspace": PUBLIC,  # its name and time zone: what every client may show
    "Query.contact": "contacts:read",
    "Query.contacts": "contacts:read",
    "Query.account": "accounts:read",
    "Query.accounts": "accounts:read",
    "Query.deal": "deals:read",
    "Query.deals": "deals:read",
    "Query.pipeline": "deals:read",
    "Query.pipelines": "deals:read",
    "Query.case": "cases:read",
    "Query.cases": "cases:read",
    "Query.task": "tasks:read",
    "Query.tasks": "tasks:read",
    "Query.interaction": "interactions:read",
    "Query.interactions": "interactions:read",
    "Query.members": "members:read",
    "Query.segment": "segments:read",
    "Query.segments": "segments:read",
    "Query.previewSegment": "segments:read",
    "Query.apiKeys": ADMIN,
    "Query.auditLog": ADMIN,
    "Query.changes": "events:read",
    "Query.webhookEndpoints": "webhooks:read",
    "Query.webhookEndpoint": "webhooks:read",
    "Query.webhookDeliveries": "webhooks:read",
    "Query.workflows": "workflows:read",
    "Query.workflow": "workflows:read",
    "Query.workflowRuns": "workflows:read",
    # mutations
    "Mutation.createContact": "contacts:write",
    "Mutation.updateContact": "contacts:write",
    "Mutation.deleteContact": "contacts:write",
    "Mutation.restoreContact": "contacts:write",
    "Mutation.createAccount": "accounts:write",
    "Mutation.updateAccount": "accounts:write",
    "Mutation.deleteAccount": "accounts:write",
    "Mutation.restoreAccount": "accounts:write",
    "Mutation.createDeal": "deals:write",
    "Mutation.updateDeal": "deals:write",
    "Mutation.moveDealStage": "deals:write",
    "Mutation.addDealContact": "deals:write",
    "Mutation.removeDealContact": "deals:write",
    "Mutation.deleteDeal": "deals:write",
    "Mutation.restoreDeal": "deals:write",
    "Mutation.createPipeline": ADMIN,  # pipelines shape the whole sales process
    "Mutation.createCase": "cases:write",
    "Mutation.updateCase": "cases:write",
    "Mutation.deleteCase": "cases:write",
    "Mutation.restoreCase": "cases:write",
    "Mutation.createTask": "tasks:write",
    "Mutation.updateTask": "tasks:write",
    "Mutation.completeTask": "tasks:write",
    "Mutation.reopenTask": "tasks:write",
    "Mutation.cancelTask": "tasks:write",
    "Mutation.deleteTask": "tasks:write",
    "Mutation.restoreTask": "tasks:write",
    "Mutation.trackInteraction": "interactions:write",
    "Mutation.trackInteractions": "interactions:write",
    "Mutation.addNote": "notes:write",
    "Mutation.createSegment": "segments:write",
    "Mutation.updateSegment": "segments:write",
    "Mutation.deleteSegment": "segments:write",
    "Mutation.restoreSegment": "segments:write",
    "Mutation.addToSegment": "segments:write",
    "Mutation.removeFromSegment": "segments:write",
    "Mutation.refreshSegment": "segments:write",
    "Mutation.clearSegmentOverrides": "segments:write",
    "Mutation.createMember": ADMIN,
    "Mutation.inviteMember": ADMIN,
    "Mutation.updateMemberRole": ADMIN,
    "Mutation.removeMember": ADMIN,
    "Mutation.createApiKey": ADMIN,
    "Mutation.rotateApiKey": ADMIN,
    "Mutation.revokeApiKey": ADMIN,
    "Mutation.rotateJwtSecret": ADMIN,
    "Mutation.updateWorkspace": ADMIN,
    "Mutation.createWebhookEndpoint": "webhooks:write",
    "Mutation.updateWebhookEndpoint": "webhooks:write",
    "Mutation.deleteWebhookEndpoint": "webhooks:write",
    "Mutation.rotateWebhookSecret": "webhooks:write",
    "Mutation.replayWebhookDelivery": "webhooks:write",
    "Mutation.replayWebhookEndpoint": "webhooks:write",
    "Mutation.createWorkflow": "workflows:write",
    "Mutation.updateWorkflow": "workflows:write",
    "Mutation.enableWorkflow": "workflows:write",
    "Mutation.disableWorkflow": "workflows:write",
    "Mutation.deleteWorkflow": "workflows:write",
    "Mutation.testWorkflow": "workflows:write",
    # subscriptions
    "Subscription.interactionAdded": "interactions:read",
    "Subscription.timelineEventAdded": "timeline:read",
    "Subscription.dealStageChanged": "deals:read",
    "Subscription.caseUpdated": "cases:read",
    "Subscription.journeyStageChanged": "timeline:read",
    "Subscription.segmentMembershipChanged": "segments:read",
}

# the scope needed to reach objects of a type from anywhere in the graph
TYPE_SCOPES: dict[str, str] = {
    "Contact": "contacts:read",
    "Account": "accounts:read",
    "Deal": "deals:read",
    "Pipeline": "deals:read",
    "PipelineStage": "deals:read",
    "Case": "cases:read",
    "Task": "tasks:read",
    "Interaction": "interactions:read",
    "TimelineEvent": "timeline:read",
    "InteractionEvent": "timeline:read",
    "DealStageChangedEvent": "timeline:read",
    "CaseOpenedEvent": "timeline:read",
    "CaseStatusChangedEvent": "timeline:read",
    "JourneyStageChangedEvent": "timeline:read",
    "NoteEvent": "timeline:read",
    "TaskCreatedEvent": "timeline:read",
    "TaskCompletedEvent": "timeline:read",
    "ContactJourney": "timeline:read",
    "AccountJourney": "timeline:read",
    "Member": "members:read",
    "Segment": "segments:read",
    "ApiKey": ADMIN,
    "AuditEntry": ADMIN,
    "ChangeEvent": "events:read",
    "WebhookEndpoint": "webhooks:read",
    "WebhookDelivery": "webhooks:read",
    "Workflow": "workflows:read",
    "WorkflowRun": "workflows:read",
}

# single fields stricter than their type
FIELD_RULES: dict[str, str] = {
    "Deal.amount": "deals:amounts",
}

ROOTS = ("Query", "Mutation", "Subscription")


class RequireScope(BasePermission):
    def __init__(self, scope: str, what: str) -> None:
        self.scope = scope
        self.message = f"{what} needs the {scope} scope."

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return self.scope == PUBLIC or info.context.principal.has(self.scope)

    def on_unauthorized(self) -> None:
        raise Forbidden(self.message)


def can_read_type(principal: Any, type_name: str) -> bool:
    scope = TYPE_SCOPES.get(type_name)
    return scope is None or principal.has(scope)


def _named_type(annotation: Any) -> str | None:
    """The object type a field leads to: lists, optionals and connections unwrapped."""
    while isinstance(annotation, StrawberryOptional | StrawberryList):
        annotation = annotation.of_type
    if isinstance(annotation, LazyType):
        annotation = annotation.resolve_type()
    if isinstance(annotation, StrawberryUnion):
        return None
    definition = get_object_definition(annotation)
    if definition is None:
        return None
    name = definition.name
    if name.endswith(("Connection", "Edge")):  # a list of X -> X
        specialized = list((definition.specialized_type_var_map or {}).values())
        if specialized:  # Connection[X] and its subclasses
            return _named_type(specialized[0])
        inner = next(f for f in definition.fields if f.python_name in ("edges", "node"))
        return _named_type(inner.type)
    return name


def _unwrap(annotation: Any) -> Any:
    while isinstance(annotation, StrawberryOptional | StrawberryList):
        annotation = annotation.of_type
    if isinstance(annotation, LazyType):
        annotation = annotation.resolve_type()
    return annotation


def field_rule(type_name: str, field_name: str, field_type: Any) -> str | None:
    """The scope a field needs beyond its parent's, or None."""
    if type_name in ROOTS:
        return ROOT_RULES.get(f"{type_name}.{field_name}", ADMIN)
    rule = FIELD_RULES.get(f"{type_name}.{field_name}")
    if rule is not None:
        return rule
    if type_name.endswith(("Payload", "Result")):
        return None  # what a mutation wrote is readable by its writer
    target = _named_type(field_type)
    scope = TYPE_SCOPES.get(target) if target else None
    if scope is None or scope == TYPE_SCOPES.get(type_name):
        return None  # within one domain the parent's check covers it
    return scope


_applied: set[int] = set()


def protect(roots: list[type], types: list[type]) -> None:
    """Attach a permission check to every field that needs one, walking every type the
    roots reach. Safe to call more than once."""
    seen: set[str] = set()
    pending = [*roots, *types]
    while pending:
        cls = _unwrap(pending.pop())
        definition = get_object_definition(cls)
        if definition is None or definition.name in seen or definition.is_input:
            continue
        seen.add(definition.name)
        for field in definition.fields:
            pending.append(field.type)
            if id(field) in _applied:
                continue
            _applied.add(id(field))
            scope = field_rule(
                definition.name, field.graphql_name or _camel(field.python_name), field.type
            )
            if scope is None or scope == PUBLIC:
                continue
            what = f"{definition.name}.{field.graphql_name or _camel(field.python_name)}"
            field.extensions.append(
                PermissionExtension([RequireScope(scope, what)], use_directives=False)
            )
        for interface in getattr(definition, "interfaces", []) or []:
            pending.append(interface.origin)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def root_rules_table() -> list[tuple[str, str]]:
    return sorted(ROOT_RULES.items())
