"""The authenticated caller of a request, as every resolver sees it."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Principal:
    workspace_id: UUID
    api_key_id: UUID | None = None
    api_key_name: str | None = None
    role: str = "ADMIN"
    member_id: UUID | None = None  # set once staff users sign in (roles issue)

    @property
    def is_admin(self) -> bool:
        return self.role == "ADMIN"
