"""Segments: static and dynamic groups of contacts, with materialised, live membership.

- `mapping`: the storage mapping (segments, members, overrides, change log, Contact.segments).
- `behaviour`: the behaviour and `inSegment` predicates added to the contacts filter language.
- `rules`: rules as stored JSON, checked against the mapping, with what they read.
- `membership`: building, re-evaluation, refresh; `hooks`: what a write affects.
- `mutations` / `queries`: the API's behaviour; `scheduler`: the in-server refresh loop.

Write paths call `changed(session, entity_name, row, old)` once, after they wrote.
"""

from relasi.resolvers.segments import behaviour, mapping  # noqa: F401 (registers them)
from relasi.resolvers.segments.hooks import changed, changed_rows

__all__ = ["changed", "changed_rows"]
