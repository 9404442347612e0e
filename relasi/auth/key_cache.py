"""API-key principals remembered for a few seconds, so a repeat caller's request skips the
key's look-up and, on a connection that already carries its settings, runs one statement.

A security reviewer's questions, answered:
- Keyed by SHA-256 of the whole key, never the key: a memory dump shows no secret, and only
  the key itself finds its entry.
- Only a successful look-up is remembered (a brute-forcer fills nothing), at most `size`
  entries, the least recently used go first.
- A revoked, rotated or (member-)removed caller is forgotten at once: in this process when
  the revoking request commits (`resolvers/events.announce_revoked`), in every process when
  the notifier hears the revocation's NOTIFY (`notifier.py`). A look-up that was under way
  while a revocation was heard stores nothing (`ticket`).
- A key's expiry is checked on every use; `last_used_at` keeps its precision: once its next write
  is due (`auth/api_keys.LAST_USED_PRECISION`), the key goes the whole way, which writes it.
- Entries are trusted only while the app's notifier listens (`listening`): without it no
  revocation would be heard. Every (re)connection of the LISTEN connection starts from an empty
  cache, and `seconds` bounds how stale an entry can be when a notification is lost on a
  connection that died silently (or a key is changed in SQL by hand).
"""

from __future__ import annotations

import hashlib
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from relasi.auth.principal import Principal

SIZE = 10_000

_caches: weakref.WeakSet[KeyCache] = weakref.WeakSet()


@dataclass(frozen=True, slots=True)
class _Entry:
    principal: Principal
    until: float  # monotonic time after which the key is looked up again
    due: float  # wall-clock time (epoch) of its expiry or its next "last used" write, if sooner


class KeyCache:
    def __init__(self, seconds: float, size: int = SIZE) -> None:
        self.seconds = seconds  # 0: nothing is remembered
        self.size = size
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self._listening = False
        self._generation = 0  # moves on with every forgetting: see `ticket`
        _caches.add(self)

    def principal(self, token: str) -> Principal | None:
        """The caller of `token` as looked up within the last `seconds`; None: look it up."""
        if not self._entries:
            return None
        digest = _digest(token)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if time.monotonic() > entry.until or time.time() >= entry.due:
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return entry.principal

    def ticket(self) -> int:
        """Taken before a look-up, handed to `remember` after it: a caller forgotten in
        between (the look-up may have read its row before the revocation committed) is not
        remembered."""
        return self._generation

    def remember(self, ticket: int, token: str, principal: Principal, write_due: datetime) -> None:
        if not self._listening or self.seconds <= 0 or ticket != self._generation:
            return
        due = write_due if principal.expires_at is None else min(write_due, principal.expires_at)
        digest = _digest(token)
        self._entries[digest] = _Entry(principal, time.monotonic() + self.seconds, due.timestamp())
        self._entries.move_to_end(digest)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, caller: UUID) -> None:
        self._generation += 1
        for digest in [d for d, e in self._entries.items() if e.principal.api_key_id == caller]:
            del self._entries[digest]

    def listening(self, on: bool) -> None:
        """The notifier's LISTEN connection is up (`on`) or lost: either way what was heard
        before may have missed a revocation, so everything goes."""
        self._listening = on
        self._generation += 1
        self._entries.clear()


def forget(caller: UUID) -> None:
    """`caller` (a key or a member) was revoked: forgotten by every cache of this process."""
    for cache in list(_caches):
        cache.forget(caller)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
