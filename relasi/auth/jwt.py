"""Verifying staff JWTs: signature, `exp`, `nbf`, `aud` (and `iss` for the identity provider).

Two modes, chosen per token and each with a fixed algorithm, so a token cannot pick how it is
checked (RFC 8725 §2.1):
- HS256 with the workspace's own secret (`workspaces.jwt_secret`), for a workspace whose backend
  mints tokens itself. The workspace claim is read unverified only to find the secret; the
  token is then verified in full with it.
- An asymmetric algorithm from RELASI_JWT_ALGORITHMS against the identity provider's JWKS
  (RELASI_JWT_JWKS_URL), key chosen by the token's `kid`. HS256 is never tried against a public
  key (algorithm confusion), and `none` is accepted nowhere.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import jwt
from jwt.exceptions import PyJWTError

from relasi.auth.jwks import JwksCache
from relasi.settings import Settings

log = logging.getLogger("relasi.auth")

HS256 = "HS256"


def new_jwt_secret() -> str:
    """384 random bits: comfortably above HS256's 256-bit minimum key length."""
    return secrets.token_urlsafe(48)


def secret_hash(secret: str) -> bytes:
    """What a principal keeps of the HS256 secret its token was verified with; the same as
    PostgreSQL's `sha256(convert_to(jwt_secret, 'UTF8'))`."""
    return hashlib.sha256(secret.encode()).digest()


class Verified(NamedTuple):
    claims: dict[str, Any]
    secret_hash: bytes | None = None  # HS256: `secret_hash` of the workspace's secret


def claim_uuid(payload: dict[str, Any], claim: str) -> UUID | None:
    value = payload.get(claim)
    if not isinstance(value, str):
        return None
    try:
        return UUID(value)
    except ValueError:
        return None


class JwtVerifier:
    """Lives as long as the app (it holds the JWKS cache)."""

    def __init__(self, settings: Settings) -> None:
        self.audience = settings.jwt_audience
        self.issuer = settings.jwt_issuer
        self.leeway = settings.jwt_leeway
        self.algorithms = settings.jwt_algorithm_list
        self.user_claim = settings.jwt_user_claim
        self.workspace_claim = settings.jwt_workspace_claim
        self.jwks = (
            JwksCache(
                settings.jwt_jwks_url,
                ttl=settings.jwt_jwks_cache_ttl,
                cooldown=settings.jwt_jwks_refresh_cooldown,
            )
            if settings.jwt_jwks_url
            else None
        )

    async def verify(self, conn: asyncpg.Connection, token: str) -> Verified | None:
        """A valid token's claims; None for anything else (the reason is logged at debug)."""
        try:
            header = jwt.get_unverified_header(token)
            alg = header.get("alg")
            if alg == HS256:
                return await self._workspace_signed(conn, token)
            if self.jwks is not None and alg in self.algorithms:
                return await self._provider_signed(token, alg, header.get("kid"))
            return _refused(f"algorithm {alg!r} is not accepted")
        except PyJWTError as e:
            return _refused(str(e))

    async def _workspace_signed(self, conn: asyncpg.Connection, token: str) -> Verified | None:
        unverified = jwt.decode(token, options={"verify_signature": False})
        workspace_id = claim_uuid(unverified, self.workspace_claim)
        if workspace_id is None:
            return _refused(f"no workspace id in the {self.workspace_claim!r} claim")
        secret = await conn.fetchval(
            "SELECT jwt_secret FROM workspaces WHERE id = $1", workspace_id
        )
        if not secret:
            return _refused("the workspace has no JWT secret (HS256 is off)")
        # the workspace's backend is the issuer, so `iss` is not checked; `aud` still must match
        claims = jwt.decode(
            token,
            secret,
            algorithms=[HS256],
            audience=self.audience,
            leeway=self.leeway,
            options={"require": ["exp", "aud"]},
        )
        return Verified(claims, secret_hash(secret))

    async def _provider_signed(self, token: str, alg: str, kid: Any) -> Verified | None:
        assert self.jwks is not None
        if not isinstance(kid, str) or not kid:
            return _refused("no kid")
        key = await self.jwks.key(kid)
        if key is None:
            return _refused(f"the JWKS has no key {kid!r}")
        if key.algorithm_name != alg:  # a key serves exactly one algorithm
            return _refused(f"key {kid!r} is for {key.algorithm_name}, not {alg}")
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.leeway,
            options={"require": ["exp", "aud", "iss"]},
        )
        return Verified(claims)


def _refused(reason: str) -> None:
    # not in the response (it would help an attacker), but there for whoever debugs a sign-in
    log.debug("JWT refused: %s", reason)
