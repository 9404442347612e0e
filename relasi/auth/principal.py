"""The authenticated caller of a request, as every resolver sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from relasi.auth.scopes import ADMIN


@dataclass(frozen=True, slots=True)
class Principal:
    """An API key (scopes of its own) or a staff member signed in with a JWT (its role's
    scopes). Everything a request may do is decided from `scopes`."""

    workspace_id: UUID
    scopes: frozenset[str] = frozenset({ADMIN})
    api_key_id: UUID | None = None
    api_key_name: str | None = None
    member_id: UUID | None = None
    role: str | None = None  # a member's role (JWT principals)
    expires_at: datetime | None = None  # a JWT's `exp` or an API key's expiry
    # an HS256 token's: the SHA-256 of the workspace secret it was verified with, so an open
    # socket can tell when that secret was replaced (`still_valid.py`); None for the others
    jwt_secret_hash: bytes | None = None

    def has(self, scope: str) -> bool:
        return ADMIN in self.scopes or scope in self.scopes

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.scopes
