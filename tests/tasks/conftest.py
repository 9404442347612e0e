"""The webhook tests' receiver, app and job worker, for task events' deliveries."""

from tests.webhooks.conftest import (
    hooks_app,
    hooks_client,
    receiver,
    run_worker,
    settings,
    wapi,
)

__all__ = ["hooks_app", "hooks_client", "receiver", "run_worker", "settings", "wapi"]
