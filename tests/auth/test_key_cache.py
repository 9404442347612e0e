"""A good API key is remembered for a few seconds (`auth/key_cache.py`), and nothing that ends a
key waits for that: revocation (by this process or another), rotation and expiry are honoured
on the next request. The app here remembers keys for a minute, so a refusal within seconds
comes from the revocation's NOTIFY or the local expiry check, not from the cache running out.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from relasi.auth.api_keys import revoke_api_key
from relasi.server import create_app
from relasi.settings import Settings
from tests.auth.conftest import ME, Caller
from tests.auth.test_api_keys_api import CREATE, REVOKE, ROTATE

WHOLE_MINUTE = 60


@pytest.fixture(scope="session")
async def remembering(database) -> AsyncIterator[Caller]:
    """A caller of an app whose lifespan ran (its notifier listens) and which remembers keys
    for a minute."""
    settings = Settings(
        rate_limit=0, auth_failure_limit=0, jobs_in_server=False, key_cache_seconds=WHOLE_MINUTE
    )
    app = create_app(settings, database=database)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as c:
            yield Caller(c)


async def _key(api, **extra) -> dict:
    return await api.mutate(CREATE, i={"name": "cached", "scopes": ["contacts:read"], **extra})


async def _looked_up(database, caller: Caller, secret: str) -> int:
    """How many times a request with `secret` looked its key up in the database."""
    with database.capture_statements() as statements:
        response = await caller.post(secret, ME)
    assert response.status_code == 200, response.text
    return len([s for s in statements if "FROM api_keys" in s and "secret_hash" in s])


async def _refused_within(caller: Caller, secret: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (await caller.post(secret, ME)).status_code != 401:
        assert time.monotonic() < deadline, "the key is still accepted"
        await asyncio.sleep(0.02)


async def test_a_repeat_caller_skips_the_look_up(api, remembering, database):
    made = await _key(api)
    assert await _looked_up(database, remembering, made["secret"]) == 1
    assert await _looked_up(database, remembering, made["secret"]) == 0
    assert (await remembering.data(made["secret"], ME))["me"]["apiKey"]["name"] == "cached"


async def test_a_wrong_key_is_looked_up_every_time(api, remembering, database):
    made = await _key(api)
    wrong = made["secret"][:-4] + ("AAAA" if not made["secret"].endswith("AAAA") else "BBBB")
    for _ in range(3):
        with database.capture_statements() as statements:
            assert (await remembering.post(wrong, ME)).status_code == 401
        assert len([s for s in statements if "FROM api_keys" in s]) == 1


async def test_a_key_revoked_here_is_refused_by_the_next_request(api, remembering):
    made = await _key(api)
    await remembering.data(made["secret"], ME)
    await api.mutate(REVOKE, i={"id": made["apiKey"]["id"]})
    assert (await remembering.post(made["secret"], ME)).status_code == 401


async def test_a_key_revoked_elsewhere_is_refused_once_its_notify_is_heard(
    api, remembering, database
):
    """Revoked on a connection of its own, as another process (the CLI, another worker) does:
    only the NOTIFY tells this process."""
    made = await _key(api)
    await remembering.data(made["secret"], ME)
    async with database.pool.acquire() as conn:
        assert await revoke_api_key(conn, made["apiKey"]["prefix"])
    await _refused_within(remembering, made["secret"], 5)


async def test_a_key_revoked_by_the_cli_is_refused(api, remembering, relasi):
    made = await _key(api)
    await remembering.data(made["secret"], ME)
    relasi("key", "revoke", made["apiKey"]["prefix"])
    await _refused_within(remembering, made["secret"], 5)


async def test_a_rotated_key_is_refused_and_its_successor_accepted(api, remembering):
    made = await _key(api)
    await remembering.data(made["secret"], ME)
    rotated = await api.mutate(ROTATE, i={"id": made["apiKey"]["id"]})
    assert (await remembering.post(made["secret"], ME)).status_code == 401
    assert (await remembering.data(rotated["secret"], ME))["me"]["apiKey"]["name"] == "cached"


async def test_a_remembered_key_expires_on_time(api, remembering):
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    made = await _key(api, expiresAt=soon)
    await remembering.data(made["secret"], ME)
    await _refused_within(remembering, made["secret"], 10)
    assert datetime.now(UTC) >= datetime.fromisoformat(soon)
