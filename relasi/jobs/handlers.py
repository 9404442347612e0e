"""Every module that declares background work, imported so a worker (and `enqueue`) knows all
entrypoints and periodic work. Add a module here when it declares some."""

# the storage mappings every domain registers as its module is imported (resolvers/model.py),
# which handlers read: a worker without the API loads the same ones as the server
import relasi.schema  # noqa: F401
from relasi.jobs import maintenance  # jobs.retention
from relasi.jobs.registry import ENTRYPOINTS, PERIODIC
from relasi.resolvers import change_retention  # changes.retention
from relasi.resolvers.segments import scheduler  # segments.refresh
from relasi.resolvers.tasks import overdue  # tasks.overdue
from relasi.resolvers.webhooks import background  # webhooks.fanout, .deliver, .sweep, ...
from relasi.resolvers.workflows import background as workflows  # workflows.match, .run, .sweep
from relasi.resolvers.workflows import clock  # workflows.clock

__all__ = [
    "ENTRYPOINTS",
    "PERIODIC",
    "background",
    "change_retention",
    "clock",
    "maintenance",
    "overdue",
    "scheduler",
    "workflows",
]
