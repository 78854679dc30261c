"""Per-request context carried by contextvars: the request id that ties logs, responses and events together."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "x-request-id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
# Which service is at work: log lines say so even when the embedded mode runs every service in one process.
service_var: ContextVar[str | None] = ContextVar("service", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(value: str | None) -> str:
    """Keep a caller's id when it is short and plain (it goes into logs), otherwise mint one."""
    if value and _SAFE_REQUEST_ID.match(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()


def current_service() -> str | None:
    return service_var.get()
