"""The identity provider's signing keys (a JWKS URL), cached for the life of the process.

- The key set is fetched on first use and again once it is older than `ttl`.
- A token whose `kid` is not in the set makes the cache refetch (the provider rotated its keys),
  but at most once per `cooldown`: a flood of tokens with random kids costs the provider one
  request per cooldown, not one per token. A failed fetch also waits a cooldown before the
  next try, and the keys already known keep working meanwhile.
- Fetches are async (httpx) and single-flight: concurrent requests wait for the one fetch in
  progress instead of starting their own, and no thread is blocked while the provider answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import httpx
from jwt import PyJWK, PyJWKSet

log = logging.getLogger("relasi.auth")

FETCH_TIMEOUT = 5.0  # seconds; a slow provider must not hold requests for long


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        ttl: float,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.ttl = ttl
        self.cooldown = cooldown
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._forced_at: float | None = None  # last refetch for an unknown kid
        self._retry_at = 0.0  # after a failed fetch, none before this
        self._generation = 0  # bumped when a fetch attempt ends, so waiters skip theirs
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> PyJWK | None:
        """The signing key with this id, or None if the provider does not (or cannot) name one."""
        started = self._clock()
        if self._expired(started):
            await self._refresh(self._generation, forced=False)
        key = self._keys.get(kid)
        if key is None and self._lock.locked():
            async with self._lock:  # a fetch is under way: it may bring this kid
                key = self._keys.get(kid)
        if key is None and self._may_force(started):
            await self._refresh(self._generation, forced=True)
            key = self._keys.get(kid)
        return key

    def _expired(self, now: float) -> bool:
        stale = self._fetched_at is None or now - self._fetched_at >= self.ttl
        return stale and now >= self._retry_at

    def _may_force(self, started: float) -> bool:
        now = self._clock()
        if self._fetched_at is not None and self._fetched_at >= started:
            return False  # the set was fetched while this request waited: it is current
        rested = self._forced_at is None or now - self._forced_at >= self.cooldown
        return rested and now >= self._retry_at

    async def _refresh(self, seen: int, *, forced: bool) -> None:
        async with self._lock:
            if self._generation != seen:
                return  # another request fetched while this one waited for the lock
            now = self._clock()
            if forced:
                self._forced_at = now
            try:
                self._keys = await self._fetch()
            except Exception as e:  # unreachable, not JSON, no usable key: all the same here
                # keep the keys we have: a provider outage must not sign everybody out
                self._retry_at = now + self.cooldown
                log.warning("could not fetch the JWKS at %s: %r", self.url, e)
            else:
                self._fetched_at = self._clock()
                self._retry_at = 0.0
            finally:
                self._generation += 1

    async def _fetch(self) -> dict[str, PyJWK]:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=False) as client:
            response = await client.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
        if not isinstance(data, dict):
            raise ValueError("the JWKS is not a JSON object")
        # unusable keys (unknown types, encryption keys) are skipped, not fatal
        return {
            key.key_id: key
            for key in PyJWKSet.from_dict(data).keys
            if key.key_id and key.public_key_use in ("sig", None)
        }
