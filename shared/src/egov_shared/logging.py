"""JSON logs on stdout, each line carrying the service and the request id.

Never log secrets, tokens or full personal ID numbers: :func:`mask_id_number` is the one way to show an ID.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from egov_shared.context import current_request_id, current_service


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "service"):
            record.service = current_service() or self.service
        record.request_id = current_request_id()
        return True


def configure_logging(service: str, *, level: str = "INFO", json: bool = True) -> None:
    """Configure the root logger of this process; the first call wins (the embedded mode makes one for all)."""
    root = logging.getLogger()
    if any(getattr(h, "_egov", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    if json:
        handler.setFormatter(
            JsonFormatter(
                "%(levelname)s %(name)s %(message)s %(service)s %(request_id)s",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp="time",  # RFC 3339, UTC
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s [%(service)s %(request_id)s] %(name)s: %(message)s")
        )
    handler.addFilter(_ContextFilter(service))
    handler._egov = True  # type: ignore[attr-defined]
    root.handlers = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log repeats what our middleware logs; its error log goes through the root handler.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("httpx").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True


def mask_id_number(value: str | None) -> str:
    """``001099012345`` -> ``001******345``: enough to tell people apart in a log, never the full number."""
    if not value:
        return ""
    if len(value) <= 6:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 6) + value[-3:]
