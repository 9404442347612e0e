"""Staff sign-in fixtures: generated RSA and EC keys, an identity provider's JWKS endpoint on
loopback (counting its fetches), an app configured for it, and token minting."""

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from relasi.server import create_app
from relasi.settings import Settings

ISSUER = "https://idp.relasi.test/"
AUDIENCE = "relasi"
ERRORS = "userErrors { field message code }"
ME = "{ me { workspaceId scopes member { id email role status joinedAt } apiKey { name prefix scopes } } }"


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="session")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private_key: Any, kid: str) -> dict[str, Any]:
    if isinstance(private_key, rsa.RSAPrivateKey):
        jwk = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        alg = "RS256"
    else:
        jwk = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        alg = "ES256"
    return {**jwk, "kid": kid, "use": "sig", "alg": alg}


class JwksServer:
    """An identity provider's JWKS endpoint on 127.0.0.1 (a thread), counting fetches."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0
        self.failing = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                if server.failing or self.path != "/.well-known/jwks.json":
                    self.send_error(500 if server.failing else 404)
                    return
                body = json.dumps({"keys": server.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/.well-known/jwks.json"

    def publish(self, private_key: Any, kid: str) -> None:
        self.keys.append(public_jwk(private_key, kid))

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def claims(workspace_id: UUID | str | None, email: str | None, **overrides: Any) -> dict[str, Any]:
    """Valid claims for a staff user; an override of None leaves that claim out."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": f"idp|{email}",
        "email": email,
        "relasi_workspace": str(workspace_id) if workspace_id is not None else None,
        "iat": now,
        "exp": now + 300,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_signed_with(secret: bytes, payload: dict[str, Any], kid: str | None = None) -> str:
    """HS256 by hand, for secrets PyJWT rightly refuses to use (public keys)."""
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def sign(payload: dict[str, Any], key: Any, alg: str, kid: str | None = None) -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid} if kid else None)


@dataclass
class Caller:
    """Posts GraphQL with any bearer token."""

    client: httpx.AsyncClient
    statuses: list[int] = field(default_factory=list)

    async def post(self, token: str, query: str, **variables: Any) -> httpx.Response:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        self.statuses.append(response.status_code)
        return response

    async def data(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.post(token, query, **variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def refused(self, token: str) -> None:
        """The token gets exactly what a bad API key gets."""
        response = await self.post(token, ME)
        assert response.status_code == 401, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert response.headers["www-authenticate"].startswith("Bearer")


@dataclass
class IdentityProvider:
    jwks: JwksServer
    caller: Caller


@pytest.fixture
async def idp(database, rsa_key, ec_key):
    """An app that accepts RS256/ES256 tokens from a JWKS on loopback (kids rsa-1, ec-1)."""
    jwks = JwksServer()
    jwks.publish(rsa_key, "rsa-1")
    jwks.publish(ec_key, "ec-1")
    app = create_app(
        Settings(jwt_jwks_url=jwks.url, jwt_issuer=ISSUER, jwt_jwks_refresh_cooldown=60),
        database=database,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relasi.test") as client:
        yield IdentityProvider(jwks, Caller(client))
    jwks.stop()


@pytest.fixture
def caller(client) -> Caller:
    """The default app (no JWKS: HS256 workspace tokens and API keys only)."""
    return Caller(client)


async def invite(api, email: str, role: str = "VIEWER") -> dict[str, Any]:
    payload = await api.mutate(
        f"mutation($i: InviteMemberInput!) {{ inviteMember(input: $i) {{ member {{ id email role status }} {ERRORS} }} }}",
        i={"email": email, "role": role},
    )
    return payload["member"]


async def jwt_secret(api) -> str:
    payload = await api.mutate(f"mutation {{ rotateJwtSecret {{ secret {ERRORS} }} }}")
    return payload["secret"]


async def scoped_key(database, workspace_id: UUID, *scopes: str) -> str:
    from relasi.auth.api_keys import create_api_key

    async with database.pool.acquire() as conn:
        _, key = await create_api_key(conn, workspace_id, "narrow", list(scopes))
    return key


def code_of(body: dict[str, Any]) -> str:
    return body["errors"][0]["extensions"]["code"]
