"""A TCP proxy that fault tests put between a service and its broker or database to cut the network.

    async with TcpProxy("127.0.0.1", 5672) as proxy:   # clients connect to 127.0.0.1:proxy.port
        await proxy.cut()       # every open connection is reset, new ones are reset right after accept
        await proxy.restore()   # new connections go through again

Cutting keeps the listening socket (so the port cannot be taken by someone else meanwhile) and answers every
connection with a TCP reset: clients see "connection reset", as when a peer or a firewall drops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from dataclasses import dataclass, field
from types import TracebackType

_CHUNK = 64 * 1024
_DRAIN_TIMEOUT = 10.0


class TcpProxy:
    """Forwards every connection on 127.0.0.1:<port> to target_host:target_port, until cut."""

    def __init__(self, target_host: str, target_port: int, *, listen_host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.listen_host = listen_host
        self.accepted = 0  # connections forwarded to the target
        self.rejected = 0  # connections reset because the proxy was cut
        self.failed = 0  # connections reset because the target could not be reached
        self._cut = False
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("TcpProxy is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def active(self) -> int:
        """Connections open through the proxy right now."""
        return len(self._connections)

    @property
    def is_cut(self) -> bool:
        return self._cut

    async def start(self) -> int:
        """Listen on a free port of listen_host; returns the port."""
        self._server = await asyncio.start_server(self._handle, self.listen_host, 0)
        return self.port

    async def cut(self) -> None:
        """Reset all open connections and every new one until restore(); returns once all are closed."""
        self._cut = True
        await self._drop_all()

    async def restore(self) -> None:
        """Let new connections through again (the ones cut stay closed: clients must reconnect)."""
        self._cut = False

    async def stop(self) -> None:
        """Stop listening and reset every open connection."""
        if self._server is not None:
            self._server.close()
            await self._drop_all()
            await self._server.wait_closed()

    async def __aenter__(self) -> TcpProxy:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()

    async def _drop_all(self) -> None:
        connections = list(self._connections)
        for connection in connections:
            connection.reset()
        tasks = [connection.task for connection in connections if connection.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=_DRAIN_TIMEOUT)

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.rejected += 1
            _reset(client_writer)
            return
        connection = _Connection(client_writer, task=asyncio.current_task())
        self._connections.add(connection)
        try:
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(
                    self.target_host, self.target_port
                )
            except OSError:
                self.failed += 1
                connection.reset()
                return
            connection.upstream = upstream_writer
            if self._cut or connection.was_reset:  # cut while we were connecting
                self.rejected += 1
                connection.reset()
                return
            self.accepted += 1
            await asyncio.gather(
                _pipe(client_reader, upstream_writer, connection),
                _pipe(upstream_reader, client_writer, connection),
            )
        finally:
            self._connections.discard(connection)
            connection.close()


@dataclass(eq=False)
class _Connection:
    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None
    task: asyncio.Task[None] | None = None
    was_reset: bool = field(default=False)

    def reset(self) -> None:
        self.was_reset = True
        for writer in (self.client, self.upstream):
            if writer is not None:
                _reset(writer)

    def close(self) -> None:
        for writer in (self.client, self.upstream):
            if writer is not None:
                writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: _Connection) -> None:
    """Copy one direction until end of stream, then pass the half-close on (protocols may rely on it)."""
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()
    except OSError:
        connection.reset()  # one side failed: the other must see the connection die too


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST instead of an orderly FIN: linger 0, then drop unsent data."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
