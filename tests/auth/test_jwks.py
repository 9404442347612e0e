"""Staff tokens from an identity provider (RS256/ES256 against its JWKS): what is accepted,
what is refused, and how the keys are cached."""

import asyncio
import base64
import json

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from relasi.auth.scopes import ROLE_SCOPES, Role
from relasi.server import create_app
from relasi.settings import Settings
from tests.auth.conftest import (
    ISSUER,
    ME,
    Caller,
    JwksServer,
    b64,
    claims,
    hs256_signed_with,
    invite,
    jwt_secret,
    sign,
)


async def test_rs256_and_es256_tokens_sign_in(api, idp, rsa_key, ec_key):
    await invite(api, "rina@relasi.co.id", "SALES")
    for key, alg, kid in ((rsa_key, "RS256", "rsa-1"), (ec_key, "ES256", "ec-1")):
        token = sign(claims(api.workspace_id, "Rina@Relasi.co.id"), key, alg, kid)
        me = (await idp.caller.data(token, ME))["me"]
        assert me["workspaceId"] == str(api.workspace_id)
        assert me["scopes"] == sorted(ROLE_SCOPES[Role.SALES])
        assert me["member"]["email"] == "rina@relasi.co.id"
        assert me["member"]["role"] == "SALES" and me["member"]["status"] == "ACTIVE"
        assert me["apiKey"] is None


async def test_keys_are_fetched_once_and_cached(api, idp, rsa_key):
    await invite(api, "rina@relasi.co.id")
    token = sign(claims(api.workspace_id, "rina@relasi.co.id"), rsa_key, "RS256", "rsa-1")
    await asyncio.gather(*(idp.caller.data(token, ME) for _ in range(5)))  # concurrent: one fetch
    for _ in range(3):
        await idp.caller.data(token, ME)
    assert idp.jwks.fetches == 1


async def test_unknown_kid_refetches_once_then_is_refused(api, idp, rsa_key):
    await invite(api, "rina@relasi.co.id")
    await idp.caller.data(
        sign(claims(api.workspace_id, "rina@relasi.co.id"), rsa_key, "RS256", "rsa-1"), ME
    )
    assert idp.jwks.fetches == 1
    for i in range(5):  # a flood of random kids
        await idp.caller.refused(
            sign(claims(api.workspace_id, "rina@relasi.co.id"), rsa_key, "RS256", f"random-{i}")
        )
    assert idp.jwks.fetches == 2  # one refetch, then the cooldown holds


async def test_a_rotated_in_key_is_fetched_on_its_first_token(api, idp, rsa_key, other_rsa_key):
    await invite(api, "rina@relasi.co.id")
    payload = claims(api.workspace_id, "rina@relasi.co.id")
    await idp.caller.data(sign(payload, rsa_key, "RS256", "rsa-1"), ME)
    idp.jwks.publish(other_rsa_key, "rsa-2")  # the provider rotates its keys
    await idp.caller.data(sign(payload, other_rsa_key, "RS256", "rsa-2"), ME)
    assert idp.jwks.fetches == 2


async def test_expired_cache_is_refetched_and_kept_through_an_outage(database, api, rsa_key):
    jwks = JwksServer()
    jwks.publish(rsa_key, "rsa-1")
    app = create_app(
        Settings(
            jwt_jwks_url=jwks.url,
            jwt_issuer=ISSUER,
            jwt_jwks_cache_ttl=0.2,
            jwt_jwks_refresh_cooldown=60,
        ),
        database=database,
    )
    import httpx

    await invite(api, "rina@relasi.co.id")
    token = sign(claims(api.workspace_id, "rina@relasi.co.id"), rsa_key, "RS256", "rsa-1")
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://relasi.test"
        ) as client:
            caller = Caller(client)
            await caller.data(token, ME)
            await asyncio.sleep(0.3)
            await caller.data(token, ME)
            assert jwks.fetches == 2  # the set expired and was fetched again
            jwks.failing = True
            await asyncio.sleep(0.3)
            await caller.data(token, ME)  # the provider is down: the known key still works
            await caller.data(token, ME)
            assert jwks.fetches == 3  # and a failed fetch is not retried on every request
    finally:
        jwks.stop()


def _unsigned(payload: dict) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(payload).encode())}."


def _tampered(token: str, **changes) -> str:
    header, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(changes)
    return f"{header}.{b64(json.dumps(payload).encode())}.{signature}"


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not_yet_valid",
        "wrong_audience",
        "no_audience",
        "wrong_issuer",
        "no_expiry",
        "wrong_key",
        "alg_none",
        "hs256_with_public_key",
        "es256_header_on_rsa_key",
        "tampered_payload",
        "no_kid",
        "no_workspace_claim",
        "workspace_not_a_uuid",
        "not_a_member_there",
        "unknown_user",
        "unverified_email",
        "garbage",
    ],
)
async def test_refused_tokens(case, api, other_api, idp, rsa_key, ec_key, other_rsa_key):
    await invite(api, "rina@relasi.co.id")
    await invite(api, "boss@relasi.co.id", "ADMIN")
    await jwt_secret(api)  # so an HS256 token is refused for its signature, not for HS256 off
    ws, email = api.workspace_id, "rina@relasi.co.id"
    good = claims(ws, email)
    # the same claims, signed properly, are accepted: each case below changes one thing
    await idp.caller.data(sign(good, rsa_key, "RS256", "rsa-1"), ME)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = {
        "expired": lambda: sign(
            claims(ws, email, exp=good["iat"] - 120), rsa_key, "RS256", "rsa-1"
        ),
        "not_yet_valid": lambda: sign(
            claims(ws, email, nbf=good["iat"] + 120), rsa_key, "RS256", "rsa-1"
        ),
        "wrong_audience": lambda: sign(claims(ws, email, aud="other"), rsa_key, "RS256", "rsa-1"),
        "no_audience": lambda: sign(claims(ws, email, aud=None), rsa_key, "RS256", "rsa-1"),
        "wrong_issuer": lambda: sign(
            claims(ws, email, iss="https://evil.test/"), rsa_key, "RS256", "rsa-1"
        ),
        "no_expiry": lambda: sign(claims(ws, email, exp=None), rsa_key, "RS256", "rsa-1"),
        "wrong_key": lambda: sign(good, other_rsa_key, "RS256", "rsa-1"),
        "alg_none": lambda: _unsigned(good),
        "hs256_with_public_key": lambda: hs256_signed_with(public_pem, good, kid="rsa-1"),
        "es256_header_on_rsa_key": lambda: sign(good, ec_key, "ES256", "rsa-1"),
        "tampered_payload": lambda: _tampered(
            sign(good, rsa_key, "RS256", "rsa-1"), email="boss@relasi.co.id"
        ),
        "no_kid": lambda: sign(good, rsa_key, "RS256"),
        "no_workspace_claim": lambda: sign(claims(None, email), rsa_key, "RS256", "rsa-1"),
        "workspace_not_a_uuid": lambda: sign(
            {**good, "relasi_workspace": "acme"}, rsa_key, "RS256", "rsa-1"
        ),
        "not_a_member_there": lambda: sign(
            claims(other_api.workspace_id, email), rsa_key, "RS256", "rsa-1"
        ),
        "unknown_user": lambda: sign(claims(ws, "nobody@relasi.co.id"), rsa_key, "RS256", "rsa-1"),
        "unverified_email": lambda: sign(
            claims(ws, email, email_verified=False), rsa_key, "RS256", "rsa-1"
        ),
        "garbage": lambda: "not.a.jwt",
    }[case]()
    await idp.caller.refused(token)


async def test_hs256_needs_the_workspace_secret_even_with_a_jwks(api, idp, rsa_key):
    """A JWKS deployment still routes HS256 to the workspace secret, never to a JWKS key."""
    await invite(api, "rina@relasi.co.id")
    payload = claims(api.workspace_id, "rina@relasi.co.id")
    await idp.caller.refused(jwt.encode(payload, "guessed-" * 8, algorithm="HS256"))


@pytest.mark.parametrize(
    "settings",
    [
        {"jwt_algorithms": "RS256,HS256"},  # a token must never pick HMAC with a public key
        {"jwt_algorithms": "none"},
        {"jwt_jwks_url": "https://idp.example.com/jwks.json"},  # without an issuer
        {"jwt_jwks_url": "file:///etc/passwd", "jwt_issuer": ISSUER},
    ],
)
def test_unsafe_settings_are_refused_at_start(settings):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        Settings(**settings)
