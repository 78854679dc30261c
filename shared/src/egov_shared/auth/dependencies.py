"""FastAPI dependencies for authorization: who is calling, and may they do this.

A missing or bad token is 401 with ``WWW-Authenticate: Bearer``; a valid token without the right kind, role,
level or scope is 403. Resources of another person or agency are the service's business: it answers 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from egov_shared.auth.tokens import InvalidToken, Principal
from egov_shared.problems import Forbidden, Unauthorized
from egov_shared.runtime import ServiceRuntime


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Tiêu đề Authorization phải có dạng 'Bearer <token>'.",
            code="auth.invalid_token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
        )
    return token.strip()


async def optional_principal(request: Request) -> Principal | None:
    token = bearer_token(request)
    if token is None:
        return None
    runtime: ServiceRuntime = request.app.state.runtime
    try:
        principal = await runtime.verifier.verify(token)
    except InvalidToken as exc:
        raise Unauthorized(
            "Mã truy cập không hợp lệ hoặc đã hết hạn.",
            code="auth.invalid_token",
            headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{exc}"'},
        ) from exc
    request.state.principal_id = principal.subject
    return principal


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized(
            "Cần đăng nhập để thực hiện thao tác này.",
            code="auth.unauthenticated",
            headers={"WWW-Authenticate": 'Bearer realm="egov"'},
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def citizen(min_level: int = 1) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller is a citizen with at least this VNeID assurance level."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.kind != "citizen":
            raise Forbidden("Chức năng này dành cho công dân.", code="auth.citizen_required")
        if principal.assurance_level < min_level:
            raise Forbidden(
                f"Cần tài khoản định danh điện tử mức {min_level}.", code="auth.assurance_level_too_low"
            )
        return principal

    return dependency


def official(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller is an official holding at least one of ``roles`` (any official if none)."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.kind != "official":
            raise Forbidden("Chức năng này dành cho cán bộ.", code="auth.official_required")
        if roles and not principal.roles.intersection(roles):
            raise Forbidden("Cần vai trò: " + ", ".join(roles) + ".", code="auth.role_required")
        return principal

    return dependency


def scope(required: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the token carries this OAuth scope (partners' client-credentials tokens)."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_scope(required):
            raise Forbidden(f"Mã truy cập thiếu phạm vi '{required}'.", code="auth.scope_required")
        return principal

    return dependency


CurrentCitizen = Annotated[Principal, Depends(citizen())]
CurrentOfficial = Annotated[Principal, Depends(official())]
