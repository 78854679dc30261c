"""One JSON line per request, cheaply.

Through the logging module a line costs about 40 µs (a LogRecord, the caller lookup, python-json-logger), a
quarter of what the whole proxy hop costs. This writer produces the same shape as ``egov_shared.logging`` (time,
level, logger, message, service, request_id, then the request's fields) by formatting the line itself, and hands
lines to the stream in batches: when 64 are waiting, or at the latest half a second after the first.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from typing import TextIO

_BATCH = 64
_FLUSH_AFTER_SECONDS = 0.5


class AccessLog:
    def __init__(self, stream: TextIO | None = None, *, service: str = "gateway") -> None:
        self.stream = stream or sys.stdout
        self._prefix = '{"time":"'
        self._middle = (
            f'","level":"INFO","logger":"egov_gateway.access","message":"request","service":"{service}"'
        )
        self._lines: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    def write(
        self, *, request_id: str, method: str, path: str, status: int, upstream: str, duration_ms: float
    ) -> None:
        # The request id and method are plain tokens already (checked on the way in); the path is escaped.
        self._lines.append(
            f"{self._prefix}{datetime.now(UTC).isoformat()}{self._middle},"
            f'"request_id":"{request_id}","method":"{method}","path":{json.dumps(path, ensure_ascii=False)},'
            f'"status":{status},"upstream":"{upstream}","duration_ms":{duration_ms:.2f}}}\n'
        )
        if len(self._lines) >= _BATCH:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(_FLUSH_AFTER_SECONDS, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lines:
            lines, self._lines = self._lines, []
            self.stream.write("".join(lines))
            self.stream.flush()
