"""Members: the workspace's staff, who own records and to whom changes are attributed."""

from __future__ import annotations

from typing import Any

import asyncpg

from relasi.errors import Forbidden
from relasi.resolvers import rows
from relasi.resolvers.model import Entity, Field, Kind, register, std_fields
from relasi.resolvers.session import Session
from relasi.resolvers.validation import Checker

MEMBER = register(
    Entity(
        name="Member",
        table="members",
        fields=(
            *std_fields(),
            Field("name", Kind.STRING, sortable=True, sort_sql="lower({t}.name)", nullable=False),
            Field("email", Kind.STRING, sortable=True, lowercase=True, nullable=False),
        ),
        soft_delete=False,
        search=("{t}.name ILIKE {p}", "{t}.email ILIKE {p}"),
    )
)

UNIQUE = {"members_workspace_id_email_key": ("input.email", "A member with this email exists.")}


async def create_member(session: Session, data: dict[str, Any]) -> asyncpg.Record:
    if not session.principal.is_admin:
        raise Forbidden("Only admins can add members.")
    check = Checker("input")
    name = check.text("name", data.get("name"), required=True)
    email = check.email("email", data["email"])
    check.raise_if_any()
    return await rows.insert(session, MEMBER, {"name": name, "email": email}, UNIQUE)
