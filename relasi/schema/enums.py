"""The CRM vocabularies as GraphQL enums (the same Python enums the resolvers use)."""

from collections.abc import Iterable
from enum import Enum

import strawberry

from relasi.auth import scopes
from relasi.errors import ErrorCode
from relasi.resolvers import enums as e
from relasi.resolvers.segments import mapping as segments


def of_names(name: str, values: Iterable[str], description: str) -> type[Enum]:
    """A GraphQL enum of a vocabulary the resolvers keep as a tuple of names (each value its
    own name), so the names are declared once, where they are checked."""
    return strawberry.enum(Enum(name, {v: v for v in values}), description=description)


LifecycleStage = strawberry.enum(
    e.LifecycleStage, description="Where a contact is in the sales funnel."
)
LeadRating = strawberry.enum(e.LeadRating, description="How promising a lead is.")
JourneyStage = strawberry.enum(
    e.JourneyStage,
    description="Customer journey stage, in order: awareness, consideration, decision, retention, advocacy.",
)
Channel = strawberry.enum(e.Channel, description="The channel a touchpoint happened on.")
InteractionKind = strawberry.enum(e.InteractionKind, description="What happened in a touchpoint.")
DealStatus = strawberry.enum(e.DealStatus, description="Derived from the deal's stage.")
DealContactRole = strawberry.enum(e.DealContactRole, description="A contact's part in a deal.")
CaseStatus = strawberry.enum(e.CaseStatus, description="Support case status.")
CasePriority = strawberry.enum(e.CasePriority, description="Support case priority; sets the SLA.")
TaskStatus = strawberry.enum(
    e.TaskStatus, description="OPEN until done (DONE) or dropped (CANCELLED); may be reopened."
)
TaskPriority = strawberry.enum(e.TaskPriority, description="How urgent a task is.")
Role = strawberry.enum(
    scopes.Role,
    description="A member's role in a workspace; it decides the member's scopes (see `me`).",
)
MemberStatus = strawberry.enum(
    e.MemberStatus,
    description="INVITED until the first sign-in, then ACTIVE; REMOVED members cannot sign in.",
)
AuditOperation = strawberry.enum(e.AuditOperation, description="What a change did to an object.")
SegmentKind = strawberry.enum(
    segments.SegmentKind,
    description="STATIC: explicit members. DYNAMIC: a rule decides, with static overrides.",
)
SegmentChange = strawberry.enum(
    segments.SegmentChange, description="Entry into or exit from a segment."
)
SegmentChangeReason = strawberry.enum(
    segments.SegmentChangeReason, description="What made a contact enter or leave a segment."
)
ErrorCodeEnum = strawberry.enum(
    ErrorCode, name="ErrorCode", description="Machine-readable error codes."
)


@strawberry.enum(description="Sort direction.")
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum(description="Where rows without a value sort.")
class NullsOrder(Enum):
    FIRST = "FIRST"
    LAST = "LAST"
