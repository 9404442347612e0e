"""The webhook tests' receiver, app and job worker, for task events' deliveries, and the
subscription tests' live app, for task events on live timelines."""

from tests.subscriptions.conftest import live
from tests.webhooks.conftest import (
    hooks_app,
    hooks_client,
    receiver,
    run_worker,
    settings,
    wapi,
)

__all__ = [
    "hooks_app",
    "hooks_client",
    "live",
    "receiver",
    "run_worker",
    "settings",
    "wapi",
]
