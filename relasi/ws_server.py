"""The WebSocket protocol `relasi serve` runs: uvicorn's (websockets, sans-I/O), which also
offers the app a direct write (the ASGI scope's extension `WRITE_NOW`).

A subscription event goes to hundreds of sockets at once. Sent the ASGI way, each one wakes
the subscription's task, which awaits starlette's send, then uvicorn's, then the write: most
of an event's server time. The notifier can instead write a compiled event straight into each
socket from its fan-out (`relasi/notifier.py`, `ws_protocols._LiveSend.push`), but only when
the socket takes it at once: when it is open and not paused for a slow reader. Otherwise it
takes the ASGI way, whose send waits for the reader and whose queue ends a subscription that
falls too far behind.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

# scope["extensions"][WRITE_NOW]: (text) -> bool, True when the text message was written
WRITE_NOW = "relasi.websocket.write_now"


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # none for a refused handshake
        if scope is not None:  # the app's task is created, not started: it sees this
            scope["extensions"][WRITE_NOW] = self.write_now

    def write_now(self, text: str) -> bool:
        """Write a text message if the socket takes it without waiting (open, accepted, not
        paused by a slow reader); False: send it the ASGI way instead."""
        if (
            self.disconnected
            or self.close_sent
            or not self.handshake_complete
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.conn.state is not State.OPEN
            or self.transport.is_closing()
        ):
            return False
        self.conn.send_text(text.encode())  # framed by websockets, as uvicorn's send does
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True
