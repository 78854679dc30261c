"""Receiving an upload: the multipart body streamed to a temporary file, hashed and measured as it arrives.

Memory does not grow with the file: bytes go to disk in 1 MiB writes. The size limit is enforced while
streaming (413 as soon as it is passed), and the content type is judged from the bytes, never the file name.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import filetype
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from egov_document.files.metadata import STRIPPED_TYPES, measure, strip_metadata
from egov_shared.problems import BadRequest, PayloadTooLarge, Unprocessable, UnsupportedMediaType

FLUSH_BYTES = 1024 * 1024

# The OpenAPI request body of every endpoint that takes an upload (the body is parsed by hand, as a stream).
UPLOAD_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
SNIFF_BYTES = 8192

# What citizens and agencies send: PDF, images, and office documents.
ALLOWED_TYPES: dict[str, str] = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
}


@dataclass
class ReceivedFile:
    path: Path
    filename: str
    size: int
    sha256: str
    content_type: str


class _FilePartSink:
    """Multipart parser callbacks: keeps the part named ``file``, hashes, measures and buffers its bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.digest = hashlib.sha256()
        self.buffer = bytearray()
        self.head = bytearray()
        self.filename: str | None = None
        self.done = False
        self._in_file = False
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self.part_begin,
            "on_header_field": self.header_field,
            "on_header_value": self.header_value,
            "on_header_end": self.header_end,
            "on_headers_finished": self.headers_finished,
            "on_part_data": self.part_data,
            "on_end": self.end,
        }

    def part_begin(self) -> None:
        self._in_file = False
        self._headers = {}

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def headers_finished(self) -> None:
        _, disposition = parse_options_header(self._headers.get(b"content-disposition", b""))
        if disposition.get(b"name") == b"file" and self.filename is None:
            self._in_file = True
            self.filename = clean_filename(disposition.get(b"filename", b"").decode("utf-8", "replace"))

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._in_file:
            return
        chunk = data[start:end]
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(
                f"Tệp vượt quá giới hạn {self.max_bytes // (1024 * 1024)} MB.", code="file.too_large"
            )
        self.digest.update(chunk)
        self.buffer.extend(chunk)
        if len(self.head) < SNIFF_BYTES:
            self.head.extend(chunk[: SNIFF_BYTES - len(self.head)])

    def end(self) -> None:
        self.done = True

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def _write(handle: BinaryIO, data: bytes) -> None:
    handle.write(data)


def sniff(head: bytes) -> str | None:
    kind = filetype.guess(head)
    if kind is None:
        return None
    mime = str(kind.mime)
    return mime if mime in ALLOWED_TYPES else None


def clean_filename(raw: str) -> str:
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1].strip()
    name = "".join(ch for ch in name if ch.isprintable())
    return name[:255] or "file"


async def receive_upload(
    content_type_header: str, body: AsyncIterator[bytes], *, max_bytes: int, directory: Path
) -> ReceivedFile:
    """Parse a ``multipart/form-data`` body whose part named ``file`` is the upload."""
    mime, options = parse_options_header(content_type_header)
    boundary = options.get(b"boundary")
    if mime != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType(
            "Gửi tệp bằng multipart/form-data, phần tên 'file'.", code="file.multipart_required"
        )
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    descriptor, name = await asyncio.to_thread(tempfile.mkstemp, dir=directory, prefix="upload-")
    path = Path(name)
    handle = os.fdopen(descriptor, "wb")
    sink = _FilePartSink(max_bytes)
    parser = MultipartParser(boundary, sink.callbacks())  # type: ignore[arg-type]
    try:
        try:
            async for chunk in body:
                parser.write(chunk)
                if len(sink.buffer) >= FLUSH_BYTES:
                    await asyncio.to_thread(_write, handle, sink.take())
            parser.finalize()
        except MultipartParseError as exc:
            # A malformed body is the client's mistake (400), not the parser's failure (500).
            raise BadRequest(
                "Nội dung multipart không đúng định dạng.", code="file.invalid_multipart"
            ) from exc
        if sink.buffer:
            await asyncio.to_thread(_write, handle, sink.take())
        await asyncio.to_thread(handle.close)
        if sink.filename is None:
            raise BadRequest("Không có phần 'file' trong yêu cầu.", code="file.missing_part")
        if not sink.done:
            raise BadRequest("Nội dung multipart không hoàn chỉnh.", code="file.incomplete")
        content_type = sniff(bytes(sink.head))
        if content_type is None:
            raise UnsupportedMediaType(
                "Chỉ nhận PDF, JPEG, PNG, WebP và tài liệu văn phòng (Word, Excel, PowerPoint, OpenDocument).",
                code="file.type_not_allowed",
            )
        size, sha256 = sink.size, sink.digest.hexdigest()
        if content_type in STRIPPED_TYPES:
            # Photos lose their EXIF (GPS position, device) before anyone can read them.
            try:
                rewritten = await asyncio.to_thread(strip_metadata, path, content_type)
            except ValueError as exc:
                raise Unprocessable("Tệp ảnh bị hỏng, không đọc được.", code="file.invalid_image") from exc
            if rewritten:
                size, sha256 = await asyncio.to_thread(measure, path)
        return ReceivedFile(path, sink.filename, size, sha256, content_type)
    except BaseException:
        await asyncio.to_thread(handle.close)
        await asyncio.to_thread(path.unlink, missing_ok=True)
        raise
