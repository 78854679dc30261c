"""Refuse text carrying a NUL character (U+0000) before any service code runs.

PostgreSQL cannot store NUL in text while SQLite silently does; refusing it at the door gives both backends the
same 422 ``request.invalid_data``. Looked at: the path, the query string, and JSON or form-urlencoded bodies.
Multipart bodies are left alone, since uploaded files legitimately hold NUL bytes; so are other content types.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from egov_shared.http.problems import invalid_data_response

# A JSON ``\u0000`` escape is one only after an even run of backslashes: ``\\u0000`` is the text "\u0000".
_JSON_NUL = re.compile(rb"\x00|(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_FORM_NUL = re.compile(rb"\x00|%00")


class _Scanner:
    """Finds a NUL across a body's chunks, keeping only the tail a match split over a boundary could start in."""

    def __init__(self, pattern: re.Pattern[bytes], *, json: bool) -> None:
        self.pattern = pattern
        self.json = json
        self.tail = b""

    def found_in(self, chunk: bytes) -> bool:
        data = self.tail + chunk
        if self.pattern.search(data):
            return True
        self.tail = _json_tail(data) if self.json else data[-2:]
        return False


def _json_tail(data: bytes) -> bytes:
    """The last bytes that may begin an escape: up to ``\\u000`` plus the whole backslash run before it, that
    run shortened to its parity (all that decides whether the escape is one)."""
    start = max(len(data) - 5, 0)
    while start > 0 and data[start - 1] == 0x5C:
        start -= 1
    tail = data[start:]
    run = len(tail) - len(tail.lstrip(b"\\"))
    return b"\\" * (run % 2) + tail[run:]


def _scanner_for(scope: Scope) -> _Scanner | None:
    content_type = None
    for name, value in scope["headers"]:
        if name == b"content-type":
            content_type = value.decode("latin-1").split(";", 1)[0].strip().lower()
            break
    # FastAPI reads a body without a content type as JSON, so it is scanned as JSON too.
    if content_type is None or content_type == "application/json" or content_type.endswith("+json"):
        return _Scanner(_JSON_NUL, json=True)
    if content_type == "application/x-www-form-urlencoded":
        return _Scanner(_FORM_NUL, json=False)
    return None


def form_has_nul(items: Iterable[tuple[str, object]]) -> bool:
    """Whether a parsed form holds a NUL character in a name or a text value (files are not text)."""
    return any("\x00" in name or (isinstance(value, str) and "\x00" in value) for name, value in items)


def target_has_nul(scope: Scope) -> bool:
    """Whether the request's path or query string holds a NUL character, escaped or not."""
    query: bytes = scope.get("query_string", b"")
    raw_path: bytes = scope.get("raw_path") or b""
    return "\x00" in scope["path"] or b"%00" in raw_path or _FORM_NUL.search(query) is not None


class TextGuardMiddleware:
    """``protocol_paths``: path prefixes whose protocol has its own error form (OAuth 2, Open311, a payment
    provider's callbacks); the guard leaves them alone and their endpoints refuse NUL in that form."""

    def __init__(self, app: ASGIApp, *, protocol_paths: Sequence[str] = ()) -> None:
        self.app = app
        self.protocol_paths = tuple(protocol_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.protocol_paths):
            await self.app(scope, receive, send)
            return
        if target_has_nul(scope):
            await self._refuse(scope, receive, send)
            return
        scanner = _scanner_for(scope)
        if scanner is None:
            await self.app(scope, receive, send)
            return
        messages: deque[Message] = deque()
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            if scanner.found_in(message.get("body", b"")):
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.popleft() if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        response = invalid_data_response(scope["path"].replace("\x00", "%00"))
        await response(scope, receive, send)
