"""How many subscriptions a caller may hold open: per WebSocket, and per API key or member
across all its sockets in this process. Each open subscription holds a queue, a task and a
share of every event's work; without a cap one key could hold thousands.

Past a cap the subscribe is refused with a RATE_LIMITED error (the protocol's `error`
message), and the subscriptions already open keep running. A subscription counts from its
subscribe message until its task ends, however it ends (complete, error, stop, socket closed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any

from relasi.errors import ErrorCode
from relasi.guards import caller_key


class SubscriptionCaps:
    def __init__(self, per_socket: int, per_key: int) -> None:
        self.per_socket = per_socket
        self.per_key = per_key
        self._held: dict[Hashable, int] = {}

    def held(self, principal: Any) -> int:
        return self._held.get(caller_key(principal), 0)

    def refusal(self, principal: Any, on_socket: int) -> dict[str, Any] | None:
        """The error to answer a new subscribe with, or None to let it run. `on_socket`:
        the operations this socket has open."""
        if on_socket >= self.per_socket:
            message = (
                f"This socket already has {on_socket} subscriptions, the most one socket may "
                "hold; complete one first or open another socket."
            )
        elif self.held(principal) >= self.per_key:
            message = (
                f"This key already has {self.per_key} subscriptions open (on all its sockets), "
                "the most one key may hold; complete some first."
            )
        else:
            return None
        return {"message": message, "extensions": {"code": ErrorCode.RATE_LIMITED.value}}

    def hold(self, principal: Any, task: asyncio.Task) -> None:
        """Count `task`'s subscription against its key until the task is done."""
        key = caller_key(principal)
        self._held[key] = self._held.get(key, 0) + 1
        task.add_done_callback(lambda _: self._release(key))

    def _release(self, key: Hashable) -> None:
        left = self._held.get(key, 1) - 1
        if left > 0:
            self._held[key] = left
        else:
            self._held.pop(key, None)
