"""The one way a bearer token becomes a principal: `rls_…` tokens are API keys, anything else
is a staff JWT."""

from __future__ import annotations

import asyncpg

from relasi.auth import api_keys
from relasi.auth.jwt import JwtVerifier
from relasi.auth.key_cache import KeyCache
from relasi.auth.principal import Principal
from relasi.auth.sign_in import member_principal
from relasi.db import RequestSettings


async def authenticate(
    conn: asyncpg.Connection,
    token: str,
    verifier: JwtVerifier | None = None,
    settings: RequestSettings | None = None,
    keys: KeyCache | None = None,
) -> Principal | None:
    """The caller a token names, or None (bad, expired or revoked token; no membership).
    With `settings`, a connection that got a principal is set up for its requests (an API
    key's in the same round trip as its look-up); with `keys`, a good API key is remembered
    there (`auth/key_cache.py`)."""
    if token.startswith(f"{api_keys.KEY_PREFIX}_"):
        return await api_keys.authenticate(conn, token, settings, keys)
    if verifier is None:
        return None
    verified = await verifier.verify(conn, token)
    if verified is None:
        return None
    principal = await member_principal(
        conn,
        verified.claims,
        user_claim=verifier.user_claim,
        workspace_claim=verifier.workspace_claim,
        secret_hash=verified.secret_hash,
    )
    if principal is not None and settings is not None:
        await settings.apply(conn, principal.workspace_id)
    return principal
