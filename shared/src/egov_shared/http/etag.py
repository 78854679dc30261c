"""Optimistic concurrency over HTTP: aggregates carry a ``version``, responses an ``ETag``, and state changes on
an existing aggregate require ``If-Match`` (missing: 428, stale: 412)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Response

from egov_shared.problems import PreconditionFailed, PreconditionRequired

_ETAG = re.compile(r'^(?:W/)?"(\d{1,18})"$')


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def parse_if_match(value: str | None) -> int:
    if value is None or not value.strip():
        raise PreconditionRequired(
            "Thao tác này cần tiêu đề If-Match mang ETag của phiên bản bạn đã đọc.",
            code="request.if_match_required",
        )
    match = _ETAG.match(value.strip())
    if match is None:
        raise PreconditionRequired(
            'If-Match phải là ETag của tài nguyên, ví dụ "3".', code="request.if_match_invalid"
        )
    return int(match.group(1))


def check_version(expected: int, actual: int) -> None:
    if expected != actual:
        raise PreconditionFailed(
            f"Phiên bản {expected} đã cũ; phiên bản hiện tại là {actual}. Hãy tải lại rồi thử lại.",
            code="request.stale_version",
            extra={"current_version": actual},
        )


async def _if_match(if_match: Annotated[str | None, Header(alias="If-Match")] = None) -> int:
    return parse_if_match(if_match)


# The version the client last saw; compare it to the aggregate's with :func:`check_version`.
IfMatchVersion = Annotated[int, Depends(_if_match)]
