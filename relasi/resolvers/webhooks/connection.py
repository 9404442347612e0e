"""One kept-alive HTTP/1.1 connection that posts deliveries: the little of HTTP a webhook needs.

A delivery is one POST with a small body, answered by a status and (usually) a short body, so
the request goes out in one write (one system call) and the answer is read from the stream the
event loop fills anyway. A general client costs several times the CPU per request here (httpx:
separate writes of head and body, a readability check and a dozen wrapper layers per request),
and system calls are the dear part on a shared machine.

What a receiver may answer is handled as HTTP/1.1 says: informational (1xx) answers are
skipped, the body is framed by `Content-Length`, chunked encoding or the connection's end; only
the first `EXCERPT_BYTES` are kept. A connection is reused only when its answer was read whole
(up to `DRAIN_BYTES`) and neither side asked to close it.
"""

from __future__ import annotations

import asyncio
import ssl

EXCERPT_BYTES = 4_096
DRAIN_BYTES = 65_536  # an answer longer than this is not read to its end: the connection closes
HEAD_BYTES = 65_536  # the most a status line and headers may take


class ProtocolError(Exception):
    """The receiver's answer is not HTTP/1.1 as we can read it."""


class Connection:
    """An open connection to one address; `post` one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.reusable = True
        self.used = False  # has answered a request (a failure before any answer may be stale)

    @classmethod
    async def open(
        cls, address: str, port: int, tls: ssl.SSLContext | None, server_name: str
    ) -> Connection:
        reader, writer = await asyncio.open_connection(
            address,
            port,
            ssl=tls,
            server_hostname=server_name if tls is not None else None,
            limit=HEAD_BYTES,
        )
        return cls(reader, writer)

    @property
    def alive(self) -> bool:
        """Not closed by either side as far as the event loop has seen (no system call)."""
        return self.reusable and not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.reusable = False
        self.writer.close()

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        """Send `head` (request line and headers, ending in a blank line) and `body` in one
        write; (status, the answer's first EXCERPT_BYTES)."""
        self.writer.write(head + body)
        while True:
            status, headers = self._parse_head(await self.reader.readuntil(b"\r\n\r\n"))
            if not 100 <= status < 200:
                break
        self.used = True
        if "close" in headers.get("connection", "").lower():
            self.reusable = False
        if status in (204, 304):
            return status, b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return status, await self._chunked()
        length = headers.get("content-length")
        if length is None:  # framed by the connection's end
            self.reusable = False
            excerpt = bytearray()
            while len(excerpt) < EXCERPT_BYTES and (more := await self.reader.read(EXCERPT_BYTES)):
                excerpt += more
            return status, bytes(excerpt[:EXCERPT_BYTES])
        if not length.isdigit():
            raise ProtocolError(f"Content-Length {length[:40]!r} is not a number.")
        size = int(length)
        if size > DRAIN_BYTES:
            self.reusable = False
            return status, await self.reader.readexactly(EXCERPT_BYTES)
        return status, (await self.reader.readexactly(size))[:EXCERPT_BYTES]

    async def _chunked(self) -> bytes:
        excerpt = bytearray()
        read = 0
        while True:
            line = await self.reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ProtocolError("A chunk's size is not a hexadecimal number.") from None
            if size == 0:
                while await self.reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                    pass
                return bytes(excerpt)
            read += size
            if read > DRAIN_BYTES:
                self.reusable = False
                return bytes(excerpt)
            chunk = await self.reader.readexactly(size + 2)
            if len(excerpt) < EXCERPT_BYTES:
                excerpt += chunk[: min(size, EXCERPT_BYTES - len(excerpt))]

    def _parse_head(self, raw: bytes) -> tuple[int, dict[str, str]]:
        lines = raw.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise ProtocolError(f"Not an HTTP/1.x status line: {lines[0][:80]!r}.")
        if version == "HTTP/1.0":
            self.reusable = False  # keep-alive of HTTP/1.0 is not worth guessing at
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        return int(code), headers
