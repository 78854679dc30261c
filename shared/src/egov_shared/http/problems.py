"""Exception handlers that render every error as RFC 9457 problem details, never with a stack trace."""

from __future__ import annotations

import logging
import socket
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from egov_shared.db import is_database_unavailable
from egov_shared.problems import PROBLEM_CONTENT_TYPE, ProblemError, problem_body

log = logging.getLogger(__name__)


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error response here carries them."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


def problem_response(status: int, *, headers: dict[str, str] | None = None, **fields: Any) -> JSONResponse:
    return JSONResponse(
        problem_body(status, **fields), status_code=status, media_type=PROBLEM_CONTENT_TYPE, headers=headers
    )


def invalid_data_response(instance: str | None) -> JSONResponse:
    """Text the service cannot keep, a NUL character above all: refused by the text guard before the service
    runs, and by the database handler below as a safety net."""
    return problem_response(
        422,
        code="request.invalid_data",
        detail="Dữ liệu gửi lên có ký tự hoặc giá trị không lưu được (ví dụ ký tự NUL).",
        instance=instance,
    )


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"} and len(parts) > 1:
        parts = parts[1:] if parts[0] == "body" else parts
    return ".".join(parts)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ProblemError)
    return JSONResponse(
        exc.body(instance=request.url.path),
        status_code=exc.status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=exc.headers or None,
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": _field(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in exc.errors()]
    return problem_response(
        422,
        code="request.validation_failed",
        detail="Dữ liệu gửi lên chưa đúng; xem danh sách lỗi theo trường.",
        instance=request.url.path,
        errors=errors,
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail not in {"Not Found"} else None
    return problem_response(
        exc.status_code, detail=detail, instance=request.url.path, headers=dict(exc.headers or {}) or None
    )


async def _on_stale(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(
        412,
        detail="Bản ghi vừa được người khác thay đổi; hãy tải lại và thử lại.",
        instance=request.url.path,
    )


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database is down, restarting or (SQLite) busy past the timeout: a transient 503, retry later. Nothing was
    written: the unit of work rolls back."""
    log.warning("database unavailable", extra={"path": request.url.path, "error": type(exc).__name__})
    return problem_response(
        503,
        code="service.database_unavailable",
        detail="Hệ thống đang bận hoặc tạm thời không truy cập được dữ liệu; xin thử lại sau ít giây.",
        instance=request.url.path,
        headers={"Retry-After": "2"},
    )


async def _on_database(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL refuses some values that pass validation, a NUL character in text above all (SQLSTATE class
    22, data exception): that is bad input, so a 422, never a 500. Any other database failure is ours."""
    assert isinstance(exc, DBAPIError)
    if is_database_unavailable(exc):
        return await _on_database_unavailable(request, exc)
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if not (isinstance(sqlstate, str) and sqlstate.startswith("22")):
        return await _on_unexpected(request, exc)
    log.warning("value refused by the database", extra={"path": request.url.path, "sqlstate": sqlstate})
    return invalid_data_response(request.url.path)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path})
    return problem_response(
        500, detail="Đã có lỗi ngoài dự kiến; lỗi đã được ghi lại.", instance=request.url.path
    )


def install_problem_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(StaleDataError, _on_stale)
    app.add_exception_handler(DBAPIError, _on_database)
    app.add_exception_handler(DisconnectionError, _on_database_unavailable)
    # The pool had no connection to give in time; or the database refused the connection outright (asyncpg
    # raises the socket's error unwrapped when PostgreSQL is down).
    app.add_exception_handler(PoolTimeoutError, _on_database_unavailable)
    app.add_exception_handler(ConnectionError, _on_database_unavailable)
    app.add_exception_handler(socket.gaierror, _on_database_unavailable)  # its host name does not resolve
    app.add_exception_handler(TimeoutError, _on_database_unavailable)
    app.add_exception_handler(Exception, _on_unexpected)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for the problems an operation can give."""
    return {
        status: {
            "model": Problem,
            "description": problem_body(status)["title"],
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }
