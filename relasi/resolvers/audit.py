"""The audit log: read-only, written by database triggers (dbschema/0005_audit.sql)."""

from __future__ import annotations

from relasi.resolvers.enums import AuditOperation
from relasi.resolvers.model import Entity, Field, Kind, Relation, register

AUDIT_ENTRY = register(
    Entity(
        name="AuditEntry",
        table="audit_log",
        fields=(
            Field("id", Kind.ID, nullable=False),
            Field("occurred_at", Kind.DATETIME, sortable=True, nullable=False),
            Field(
                "entity_type",
                Kind.STRING,
                nullable=False,
                description="The changed object's type, e.g. Contact.",
            ),
            Field(
                "entity_id",
                Kind.ID,
                target="*",
                nullable=False,
                description="The changed object's id.",
            ),
            Field("operation", Kind.ENUM, enum=AuditOperation, nullable=False),
            Field("mutation", Kind.STRING, description="The mutation, e.g. updateContact."),
            Field("request_id", Kind.STRING),
            Field("actor_member_id", Kind.ID, target="Member"),
        ),
        relations=(Relation("actor_member", "Member", "one", local="actor_member_id"),),
        soft_delete=False,
        default_order=(("occurred_at", True),),
    )
)
