"""Reading the change log through the API, as a poller does."""

from typing import Any

from tests.conftest import Api

ERRORS = "userErrors { field message code }"
CHANGES = """query($first: Int, $after: String, $filter: ChangeEventFilter) {
  changes(first: $first, after: $after, filter: $filter) {
    edges { cursor node { sequence type recordType recordId changes requestId occurredAt
                          actor { apiKeyName } } }
    pageInfo { hasNextPage endCursor } } }"""


async def page(api: Api, first: int = 100, after: str | None = None, **flt: Any) -> dict:
    return (await api(CHANGES, first=first, after=after, filter=flt or None))["changes"]


async def read_all(
    api: Api, after: str | None = None, first: int = 100, **flt: Any
) -> tuple[list[dict], str | None]:
    """Every readable event after `after`, oldest first, and the cursor to resume from."""
    events: list[dict] = []
    while True:
        found = await page(api, first, after, **flt)
        events += [edge["node"] for edge in found["edges"]]
        after = found["pageInfo"]["endCursor"]
        if not found["pageInfo"]["hasNextPage"]:
            return events, after


async def end_cursor(api: Api) -> str | None:
    """Where the log ends now: read from here to see only what comes next."""
    return (await read_all(api))[1]
