"""Segments: static and dynamic groups of contacts, with materialised, live membership.

- `mapping`: the storage mapping (segments, members, overrides, change log, Contact.segments).
- `behaviour`: the behaviour and `inSegment` predicates added to the contacts filter language.
- `rules`: rules in the plain filter form, with what they read.
- `membership`: building, re-evaluation, refresh; `affected`: what a transaction's change
  events affect, re-evaluated just before it commits (no write path calls it by hand).
- `mutations` / `queries`: the API's behaviour; `scheduler`: the in-server refresh loop.
"""

from relasi.resolvers import session
from relasi.resolvers.segments import affected, behaviour, mapping  # noqa: F401 (registers them)

session.BEFORE_COMMIT.append(affected.before_commit)
