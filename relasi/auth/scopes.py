"""What a caller may do: scopes, and the scopes each staff role grants.

API keys carry scopes directly (integrations and partners get exactly what they need); staff
signing in with a JWT get their membership role's scopes. `admin` implies every scope.
"""

from __future__ import annotations

from enum import Enum


class Role(Enum):
    ADMIN = "ADMIN"
    SALES = "SALES"
    SUPPORT = "SUPPORT"
    MARKETING = "MARKETING"
    VIEWER = "VIEWER"


# scope -> what it allows; the closed vocabulary keys may be given
SCOPES: dict[str, str] = {
    "contacts:read": "read contacts",
    "contacts:write": "create, change and delete contacts",
    "accounts:read": "read accounts",
    "accounts:write": "create, change and delete accounts",
    "deals:read": "read deals and pipelines (without amounts)",
    "deals:amounts": "see deal amounts",
    "deals:write": "create, change, move and delete deals and pipelines",
    "cases:read": "read support cases",
    "cases:write": "create, change and delete support cases",
    "tasks:read": "read tasks",
    "tasks:write": "create, change, complete and delete tasks",
    "interactions:read": "read touchpoints",
    "interactions:write": "record touchpoints",
    "timeline:read": "read timelines and journeys",
    "notes:write": "write notes",
    "segments:read": "read segments and their members",
    "segments:write": "create, change and refresh segments",
    "members:read": "read the workspace's staff",
    "pii:read": "see contact emails and phones unmasked, filter and sort by them",
    "events:read": "read the change log: every change to every record",
    "webhooks:read": "read webhook endpoints and their deliveries",
    "webhooks:write": "create, change, rotate and delete webhook endpoints; replay deliveries",
    "workflows:read": "read workflows and their runs",
    "workflows:write": "create, change, enable, disable, delete and test workflows",
    "admin": "everything, including members, API keys and the audit log",
}
ADMIN = "admin"

# the change log, webhooks and workflows see every record type's changes: admins grant them on
# purpose
_READ_ALL = {s for s in SCOPES if s.endswith(":read")} - {
    "events:read",
    "webhooks:read",
    "workflows:read",
} | {"deals:amounts"}

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({ADMIN}),
    Role.SALES: frozenset(
        _READ_ALL
        | {
            "contacts:write",
            "accounts:write",
            "deals:write",
            "interactions:write",
            "notes:write",
            "tasks:write",
        }
    ),
    # support works cases and timelines, and never sees what deals are worth
    Role.SUPPORT: frozenset(
        (_READ_ALL - {"deals:amounts", "segments:read"})
        | {"cases:write", "interactions:write", "notes:write", "tasks:write"}
    ),
    # marketing works segments and touchpoints; deals are read-only to it
    Role.MARKETING: frozenset(
        _READ_ALL
        | {"contacts:write", "interactions:write", "segments:write", "notes:write", "tasks:write"}
    ),
    # viewers read everything but personal data, and write nothing
    Role.VIEWER: frozenset(_READ_ALL - {"pii:read"}),
}


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s not in SCOPES]
