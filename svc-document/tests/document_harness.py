"""Running svc-document on the backend under test, with a test token issuer and a fake clamd."""

from __future__ import annotations

import asyncio
import datetime as dt
import struct
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from egov_document.config import Settings
from egov_document.main import create_app
from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.files import minimal_pdf
from egov_shared.testing.services import ServiceUnderTest, service_under_test

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

PROVINCE = "000.00.00.H27"
JUSTICE = "000.00.10.H27"
COMMUNE = "000.10.00.H27"
WARD = "000.11.00.H27"
AGENCIES = [
    (PROVINCE, "UBND tỉnh", "province", None),
    (JUSTICE, "Sở Tư pháp", "department", PROVINCE),
    (COMMUNE, "UBND xã Tiên Du", "commune", PROVINCE),
    (WARD, "UBND phường Quế Võ", "ward", PROVINCE),
]


def pdf_bytes(text: str = "Giay khai sinh") -> bytes:
    """A small valid PDF (enough for the content sniffer; signing tests make real ones)."""
    return minimal_pdf(text)


# A valid 1x1 red PNG (uploads of images are decoded: their metadata is stripped before storage).
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


class DocumentService(ServiceUnderTest):
    async def upload(
        self, token: str, content: bytes, filename: str = "giay-to.pdf", content_type: str = "application/pdf"
    ) -> httpx.Response:
        return await self.client.post(
            "/api/v1/files", files={"file": (filename, content, content_type)}, headers=self.auth(token)
        )


async def seed_agencies(service: ServiceUnderTest) -> None:
    for code, name, kind, parent in AGENCIES:
        await service.deliver(AgencyUpserted(code=code, name=name, kind=kind, parent_code=parent))


def document_service(
    database_url: str, bus_config: BusConfig, **overrides: Any
) -> AbstractAsyncContextManager[DocumentService]:
    return service_under_test(
        create_app, Settings, database_url, bus_config, harness=DocumentService, **overrides
    )


class FakeClamd:
    """A clamd that speaks INSTREAM byte for byte and finds the EICAR test string."""

    def __init__(self) -> None:
        self.scanned = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        command = await reader.readuntil(b"\0")
        if command != b"zINSTREAM\0":
            writer.write(b"UNKNOWN COMMAND\0")
        else:
            data = bytearray()
            while True:
                (length,) = struct.unpack(">I", await reader.readexactly(4))
                if length == 0:
                    break
                data.extend(await reader.readexactly(length))
            self.scanned += 1
            verdict = b"stream: Eicar-Test-Signature FOUND\0" if EICAR in data else b"stream: OK\0"
            writer.write(verdict)
        await writer.drain()
        writer.close()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
