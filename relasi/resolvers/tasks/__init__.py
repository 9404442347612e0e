"""Tasks: the work people (and workflows) give each other, with a due time, a priority, an
assignee and links to any of a contact, an account, a deal and a case.

For other domains (workflows): `tasks.create(db, workspace_id, fields, idempotency_key=...)`
creates a task inside the caller's transaction, at most once per key (see `writes.create`).
"""

from relasi.resolvers.tasks.mapping import TASK
from relasi.resolvers.tasks.writes import create

__all__ = ["TASK", "create"]
