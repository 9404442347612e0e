"""A TCP relay in front of the test PostgreSQL, so a test can make the database unreachable the
way a crash or a network cut does (connections dropped, new ones refused), go silent like a
host that vanished (connections accepted, never answered), or drop a connection at the moment
it sends COMMIT. The app talks real PostgreSQL protocol through it."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

from tests.cli.serving import free_port


class PgProxy:
    def __init__(self, dsn: str) -> None:
        parsed = urlparse(dsn)
        query = parse_qs(parsed.query)
        self._socket = (query.get("host") or [None])[0]  # the embedded server's unix socket
        self._target = (parsed.hostname or "127.0.0.1", parsed.port or 5432)
        self._port = int((query.get("port") or [parsed.port or 5432])[0])
        self.port = free_port()
        rest = {k: v for k, v in query.items() if k not in ("host", "port")}
        netloc = f"{parsed.username or ''}{':' + parsed.password if parsed.password else ''}"
        self.dsn = urlunparse(
            parsed._replace(
                netloc=f"{netloc}@127.0.0.1:{self.port}", query=urlencode(rest, doseq=True)
            )
        )
        self.drop_on_commit = False
        self.silent = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def down(self) -> None:
        """Refuse new connections and cut every open one."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._socket:
            return await asyncio.open_unix_connection(f"{self._socket}/.s.PGSQL.{self._port}")
        return await asyncio.open_connection(*self._target)

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.silent:  # read what the client sends, answer nothing
            self._writers.add(client_w)
            with contextlib.suppress(ConnectionError, OSError):
                while await client_r.read(65536):
                    pass
            self._writers.discard(client_w)
            client_w.transport.abort()
            return
        server_r, server_w = await self._open()
        self._writers |= {client_w, server_w}

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, up: bool):
            with contextlib.suppress(ConnectionError, OSError):
                while data := await reader.read(65536):
                    if up and self.drop_on_commit and b"COMMIT;" in data:
                        break  # the connection dies as the commit is sent
                    writer.write(data)
                    await writer.drain()
            client_w.transport.abort()
            server_w.transport.abort()

        await asyncio.gather(pipe(client_r, server_w, True), pipe(server_r, client_w, False))
        self._writers -= {client_w, server_w}
