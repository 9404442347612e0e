"""Signing secrets: made, stored encrypted, and used to sign deliveries (Standard Webhooks).

A secret is `whsec_` + base64 of 24 random bytes, the Standard Webhooks form any verifier
library reads. It is shown once; the database keeps it encrypted with AES-GCM under a key that
lives outside the database (RELASI_WEBHOOK_SECRET_KEY, or a key file in the data directory), so
a reader of the database or of a backup cannot sign deliveries. The ciphertext is bound to its
endpoint (the endpoint id is the associated data): copied to another endpoint it does not open.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from datetime import datetime
from pathlib import Path
from uuid import UUID

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from standardwebhooks import Webhook

from relasi.settings import Settings

PREFIX = "whsec_"
KEY_FILE = "webhook-secret.key"
_NONCE = 12


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


class SecretBox:
    """Encrypts and decrypts endpoint secrets with the deployment's key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the webhook secret key must be 32 bytes (base64 of them)")
        self._aead = AESGCM(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.webhook_secret_key:
            try:
                return cls(base64.b64decode(settings.webhook_secret_key, validate=True))
            except binascii.Error as e:
                raise ValueError("RELASI_WEBHOOK_SECRET_KEY is not base64") from e
        return cls(_key_file(settings.data_dir / KEY_FILE))

    def seal(self, endpoint_id: UUID, secret: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, secret.encode(), endpoint_id.bytes)

    def open(self, endpoint_id: UUID, sealed: bytes) -> str:
        sealed = bytes(sealed)
        return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], endpoint_id.bytes).decode()


def _key_file(path: Path) -> bytes:
    """The key of this data directory, made on first use (readable by its owner only)."""
    try:
        return base64.b64decode(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return base64.b64decode(path.read_text().strip())
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return base64.b64decode(key)


def headers(msg_id: str, sent_at: datetime, body: str, keys: list[str]) -> dict[str, str]:
    """The Standard Webhooks headers; one signature per secret, space-separated (during a
    rotation both the new and the old secret sign)."""
    signatures = " ".join(Webhook(key).sign(msg_id, sent_at, body) for key in keys)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": "Relasi-Webhooks/1",
    }
