"""Python's cyclic garbage collector in a server process: full collections without long pauses.

A worker holding many live subscriptions keeps hundreds of thousands of long-lived objects
(each socket's tasks, coroutines and protocol state: about 500 per subscription). CPython's
full collection walks all of them, and every delivery of the worker waits it out: 100-300 ms
with 500 subscriptions on a 2-core machine, enough for one write in fifty to miss 100 ms.

So the survivors of each full collection are frozen (`gc.freeze`): the next full collections
walk only what arrived since: tens of milliseconds at most. Frozen objects that later become cyclic
garbage (a closed socket's tasks and frames) are not reclaimed while frozen, so once the
frozen set has grown to twice its size after the last complete collection, it is thawed and
the next full collection walks everything again: the old pause, once per turnover of the
process's long-lived objects instead of at every quarter of growth, and memory stays bounded.
"""

from __future__ import annotations

import gc
from typing import Any

GROWTH = 2  # thaw once the frozen set is this many times its size after a complete collection
FLOOR = 200_000  # objects: below this a complete collection is short anyway
OLDEST = 2  # CPython's generations: 0, 1, 2


def _limit(frozen: int) -> int:
    """How large the frozen set may grow after a complete collection left `frozen` objects."""
    return max(FLOOR, frozen * GROWTH)


class _Policy:
    def __init__(self, frozen: int) -> None:
        self.limit = _limit(frozen)
        self.thawed = False

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info["generation"] != OLDEST:
            return
        gc.freeze()  # the survivors: not walked again until the next thaw
        frozen = gc.get_freeze_count()
        if self.thawed:  # this collection walked everything
            self.thawed = False
            self.limit = _limit(frozen)
        elif frozen > self.limit:
            gc.unfreeze()  # the next full collection walks, and reclaims, everything
            self.thawed = True


_policy: _Policy | None = None


def install() -> None:
    """Freeze what the process holds after start-up (modules, the schema: never garbage) and
    freeze each full collection's survivors from now on. Once per process; idempotent."""
    global _policy
    if _policy is not None:
        return
    gc.collect()
    gc.freeze()
    _policy = _Policy(gc.get_freeze_count())
    gc.callbacks.append(_policy)
