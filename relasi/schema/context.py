"""The per-request context every resolver reads as `info.context`."""

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.websockets import WebSocket

from relasi.auth.principal import Principal
from relasi.resolvers.session import Session


@dataclass
class Context:
    request: Request | WebSocket
    response: Any
    session: Session

    @property
    def principal(self) -> Principal:
        return self.session.principal

    @property
    def request_id(self) -> str:
        return self.session.request_id
