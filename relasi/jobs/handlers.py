"""Every module that declares background work, imported so a worker (and `enqueue`) knows all
entrypoints and periodic work. Add a module here when it declares some."""

from relasi.jobs import maintenance  # jobs.retention
from relasi.jobs.registry import ENTRYPOINTS, PERIODIC
from relasi.resolvers import change_retention  # changes.retention
from relasi.resolvers.segments import scheduler  # segments.refresh
from relasi.resolvers.webhooks import background  # webhooks.fanout, .deliver, .sweep, ...

__all__ = ["ENTRYPOINTS", "PERIODIC", "background", "change_retention", "maintenance", "scheduler"]
