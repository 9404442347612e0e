"""The storage mapping of segments: the segment itself, its materialised members, its static
overrides and its membership change log, plus `Contact.segments` (loadable, not filterable:
rules reach other segments only through `inSegment`, whose dependencies are tracked)."""

from __future__ import annotations

from enum import Enum

from relasi.resolvers.model import (
    Entity,
    Field,
    Kind,
    Link,
    Output,
    Relation,
    extend,
    register,
    std_fields,
)


class SegmentKind(Enum):
    STATIC = "STATIC"
    DYNAMIC = "DYNAMIC"


class SegmentChange(Enum):
    ENTERED = "ENTERED"
    EXITED = "EXITED"


class SegmentChangeReason(Enum):
    """What made a contact enter or leave a segment."""

    BUILD = "BUILD"  # the segment was created or restored
    REFRESH = "REFRESH"  # refreshSegment or a rule edit
    SCHEDULE = "SCHEDULE"  # the scheduled refresh (time passed, or reconciliation)
    OVERRIDE = "OVERRIDE"  # addToSegment, removeFromSegment, clearSegmentOverrides
    CONTACT = "CONTACT"
    ACCOUNT = "ACCOUNT"
    DEAL = "DEAL"
    CASE = "CASE"
    INTERACTION = "INTERACTION"
    SEGMENT = "SEGMENT"  # its membership of a segment the rule reads changed


SEGMENT = register(
    Entity(
        name="Segment",
        table="segments",
        fields=(
            *std_fields(),
            Field("name", Kind.STRING, sortable=True, sort_sql="lower({t}.name)", nullable=False),
            Field("kind", Kind.ENUM, enum=SegmentKind, nullable=False),
        ),
        relations=(
            Relation(
                "members",
                "Contact",
                "many",
                through=Link("segment_members", near="segment_id", far="contact_id"),
                description="The contacts in the segment now.",
            ),
            Relation(
                "included",
                "Contact",
                "many",
                through=Link("segment_includes", near="segment_id", far="contact_id"),
            ),
            Relation(
                "excluded",
                "Contact",
                "many",
                through=Link("segment_excludes", near="segment_id", far="contact_id"),
            ),
            Relation("membership_changes", "SegmentMembershipChange", "many", remote="segment_id"),
        ),
        search=("{t}.name ILIKE {p}",),
        outputs=(
            Output(
                "size",  # a member is always a live contact: an index-only count
                sql="(SELECT count(*) FROM segment_members m"
                " WHERE m.workspace_id = {t}.workspace_id AND m.segment_id = {t}.id)",
            ),
        ),
    )
)

SEGMENT_CHANGE = register(
    Entity(
        name="SegmentMembershipChange",
        table="segment_changes",
        fields=(
            Field("id", Kind.ID, nullable=False),
            Field("occurred_at", Kind.DATETIME, sortable=True, nullable=False),
            Field("change", Kind.ENUM, enum=SegmentChange, nullable=False),
            Field("reason", Kind.ENUM, enum=SegmentChangeReason, nullable=False),
            Field("contact_id", Kind.ID, target="Contact", nullable=False),
            Field("segment_id", Kind.ID, target="Segment", nullable=False),
        ),
        relations=(
            Relation("contact", "Contact", "one", local="contact_id"),
            Relation("segment", "Segment", "one", local="segment_id"),
        ),
        soft_delete=False,
        default_order=(("occurred_at", True),),
    )
)

extend(
    "Contact",
    relations=(
        Relation(
            "segments",
            "Segment",
            "many",
            through=Link("segment_members", near="contact_id", far="segment_id"),
        ),
    ),
)
