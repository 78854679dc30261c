"""Virus scanning through ClamAV's daemon, clamd, with its INSTREAM protocol.

``zINSTREAM\\0``, then chunks (4-byte big-endian length + bytes), then a zero length; clamd answers
``stream: OK\\0`` or ``stream: <signature> FOUND\\0``.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass
from pathlib import Path

CHUNK = 64 * 1024


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    verdict: str  # "OK", or the signature found (e.g. "Eicar-Test-Signature")


class ScannerUnavailable(RuntimeError):
    pass


class ClamdScanner:
    def __init__(self, host: str, port: int, *, timeout: float = 30.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout

    async def scan_file(self, path: Path) -> ScanResult:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._scan(path)
        except (OSError, TimeoutError) as exc:
            raise ScannerUnavailable(f"clamd at {self.host}:{self.port}: {type(exc).__name__}") from exc

    async def _scan(self, path: Path) -> ScanResult:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(b"zINSTREAM\0")
            with path.open("rb") as handle:
                while chunk := await asyncio.to_thread(handle.read, CHUNK):
                    writer.write(struct.pack(">I", len(chunk)) + chunk)
                    await writer.drain()
            writer.write(struct.pack(">I", 0))
            await writer.drain()
            reply = (await reader.read(4096)).rstrip(b"\0").decode("utf-8", "replace").strip()
        finally:
            writer.close()
            await writer.wait_closed()
        return parse_reply(reply)


def parse_reply(reply: str) -> ScanResult:
    body = reply.split(":", 1)[1].strip() if ":" in reply else reply
    if body == "OK":
        return ScanResult(True, "OK")
    if body.endswith("FOUND"):
        return ScanResult(False, body.removesuffix("FOUND").strip())
    raise ScannerUnavailable(f"clamd answered: {reply[:200]}")
