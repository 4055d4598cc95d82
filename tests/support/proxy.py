"""Local stand-ins for the network between a client and Stytch, on 127.0.0.1 only:
a TLS front for the emulator (a certificate from a throwaway CA, made with trustme)
and a CONNECT proxy that records what it was asked and every byte it relayed."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trustme


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: bytearray | None
) -> None:
    try:
        while data := await reader.read(65536):
            if seen is not None:
                seen.extend(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _relay(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    seen: bytearray | None = None,
) -> None:
    await asyncio.gather(_pipe(client[0], upstream[1], seen), _pipe(upstream[0], client[1], None))
    for _, writer in (client, upstream):
        with contextlib.suppress(Exception):
            await writer.wait_closed()


class _Server(abc.ABC):
    """An asyncio server whose connection handlers are all finished on close."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @abc.abstractmethod
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answer one connection (each server's own protocol)."""

    def _handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self, context: ssl.SSLContext | None = None) -> None:
        self._server = await asyncio.start_server(self._handler, "127.0.0.1", 0, ssl=context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()


class TLSFront(_Server):
    """Terminates TLS (for `localhost`) and relays to a plain-http emulator."""

    def __init__(self, upstream_port: int, context: ssl.SSLContext) -> None:
        super().__init__()
        self._upstream = upstream_port
        self._context = context

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await asyncio.open_connection("127.0.0.1", self._upstream)
        await _relay((reader, writer), upstream)


class ConnectProxy(_Server):
    """An HTTP proxy that only tunnels: `CONNECT host:port` to 127.0.0.1:port.

    `connects` are the targets it was asked for, `heads` each request head it read
    (CONNECT lines and their headers, in clear), `tunnelled` every byte the client
    sent through a tunnel."""

    def __init__(self) -> None:
        super().__init__()
        self.connects: list[str] = []
        self.heads: list[bytes] = []
        self.tunnelled = bytearray()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        self.heads.append(head)
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        if method != "CONNECT":
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        self.connects.append(target)
        port = int(target.rpartition(":")[2])
        upstream = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await _relay((reader, writer), upstream, self.tunnelled)


class Network:
    """A TLS emulator front and a CONNECT proxy, and the client-side trust for both."""

    def __init__(self, front: TLSFront, proxy: ConnectProxy, client_context: ssl.SSLContext):
        self.front = front
        self.proxy = proxy
        self.client_context = client_context

    @property
    def base_url(self) -> str:
        """The emulator over https, as the client addresses it."""
        return f"https://localhost:{self.front.port}"

    @property
    def proxy_url(self) -> str:
        """The proxy's URL."""
        return f"http://127.0.0.1:{self.proxy.port}"


@asynccontextmanager
async def network(emulator_port: int) -> AsyncIterator[Network]:
    """Start a TLS front for the emulator and a CONNECT proxy; stop both after."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    front = TLSFront(emulator_port, server_context)
    proxy = ConnectProxy()
    await front.start(server_context)
    await proxy.start()
    try:
        yield Network(front, proxy, client_context)
    finally:
        await proxy.close()
        await front.close()
