"""RFC 9457 problem details: the one error shape of every HTTP API here.

Domain code raises a :class:`ProblemError` subclass carrying its HTTP meaning and a stable machine ``code``
(``dossier.invalid_transition``); one handler renders it. Titles are Vietnamese, for the people who read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"

TITLES: dict[int, str] = {
    400: "Yêu cầu không hợp lệ",
    401: "Chưa xác thực",
    403: "Không có quyền",
    404: "Không tìm thấy",
    405: "Phương thức không được hỗ trợ",
    406: "Không hỗ trợ định dạng yêu cầu",
    409: "Xung đột trạng thái",
    412: "Phiên bản đã thay đổi",
    413: "Nội dung quá lớn",
    415: "Kiểu nội dung không được hỗ trợ",
    422: "Dữ liệu không hợp lệ",
    428: "Thiếu điều kiện If-Match",
    429: "Quá nhiều yêu cầu",
    500: "Lỗi hệ thống",
    502: "Dịch vụ phía sau trả lời sai",
    503: "Dịch vụ tạm thời không sẵn sàng",
    504: "Dịch vụ phía sau không trả lời kịp",
}

GENERIC_CODES: dict[int, str] = {
    400: "request.bad",
    401: "auth.unauthenticated",
    403: "auth.forbidden",
    404: "resource.not_found",
    405: "request.method_not_allowed",
    406: "request.not_acceptable",
    409: "resource.conflict",
    412: "request.precondition_failed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    422: "request.invalid",
    428: "request.precondition_required",
    429: "request.rate_limited",
    500: "server.error",
    502: "upstream.bad_response",
    503: "upstream.unavailable",
    504: "upstream.timeout",
}


RESERVED_MEMBERS = frozenset({"type", "title", "status", "code", "detail", "instance", "errors"})


def problem_type(code: str) -> str:
    return f"urn:egov:problem:{code}"


def problem_body(
    status: int,
    *,
    code: str | None = None,
    title: str | None = None,
    detail: str | None = None,
    instance: str | None = None,
    errors: Sequence[Mapping[str, str]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    code = code or GENERIC_CODES.get(status, f"http.{status}")
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title or TITLES.get(status, "Lỗi"),
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = [dict(e) for e in errors]
    if extra:
        clashing = RESERVED_MEMBERS.intersection(extra)
        if clashing:
            # An extension member must never change what the problem says about itself (RFC 9457 §3.2).
            raise ValueError(f"problem extension members may not override {sorted(clashing)}")
        body.update(extra)
    return body


class ProblemError(Exception):
    """A domain or request error with its HTTP meaning. Subclass per status; pass a specific ``code``."""

    status: int = 400
    default_code: str = "request.bad"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        title: str | None = None,
        errors: Sequence[Mapping[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or code or self.default_code)
        self.detail = detail
        self.code = code or self.default_code
        self.title = title
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return problem_body(
            self.status,
            code=self.code,
            title=self.title,
            detail=self.detail,
            instance=instance,
            errors=self.errors,
            extra=self.extra,
        )


class BadRequest(ProblemError):
    status, default_code = 400, "request.bad"


class Unauthorized(ProblemError):
    status, default_code = 401, "auth.unauthenticated"


class Forbidden(ProblemError):
    status, default_code = 403, "auth.forbidden"


class NotFound(ProblemError):
    status, default_code = 404, "resource.not_found"


class Conflict(ProblemError):
    status, default_code = 409, "resource.conflict"


class PreconditionFailed(ProblemError):
    status, default_code = 412, "request.precondition_failed"


class PayloadTooLarge(ProblemError):
    status, default_code = 413, "request.too_large"


class UnsupportedMediaType(ProblemError):
    status, default_code = 415, "request.unsupported_media_type"


class Unprocessable(ProblemError):
    status, default_code = 422, "request.invalid"


class PreconditionRequired(ProblemError):
    status, default_code = 428, "request.precondition_required"


class TooManyRequests(ProblemError):
    status, default_code = 429, "request.rate_limited"


class ServiceUnavailable(ProblemError):
    status, default_code = 503, "service.unavailable"
