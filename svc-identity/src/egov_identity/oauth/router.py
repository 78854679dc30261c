"""OAuth 2.1 / OpenID Connect endpoints. Paths are a contract with partners: keep them exactly."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from joserfc import jwt
from joserfc.errors import JoseError
from pydantic import BaseModel
from sqlalchemy.orm.exc import StaleDataError

from egov_identity.clients.models import OAuthClient
from egov_identity.clients.service import SUPPORTED_SCOPES, ClientCredentials, authenticate_client
from egov_identity.deps import IdentityDep
from egov_identity.keys.service import published_jwks
from egov_identity.oauth import authorize as flow
from egov_identity.oauth import grants
from egov_identity.oauth.errors import AuthorizeError, OAuthError, invalid_client, invalid_request
from egov_identity.oauth.models import LoginSession
from egov_identity.people.models import Citizen, Official
from egov_identity.people.service import record_access
from egov_shared.auth.tokens import InvalidToken, read_header
from egov_shared.http.app import RuntimeDep, UoWDep
from egov_shared.http.text_guard import form_has_nul, target_has_nul
from egov_shared.uow import UnitOfWork

router = APIRouter(tags=["oauth2"])

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthErrorBody(BaseModel):
    """An OAuth 2 error (RFC 6749 §5.2; RFC 6750 §3 on the bearer-token endpoints): no problem details here."""

    error: str
    error_description: str | None = None


# What these endpoints really answer, in the protocol's forms, for clients and fuzzers reading the OpenAPI.
_OAUTH_ERRORS: dict[int, str] = {
    400: "invalid_request, invalid_grant, unsupported_grant_type, ...",
    401: "invalid_client / invalid_token",
    403: "insufficient_scope",
}
_HTML: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
_FORM_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        },
    }
}


def oauth_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": OAuthErrorBody, "description": _OAUTH_ERRORS[status]} for status in statuses}


def page_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The login page's answers: the page itself (200, or 401 after a refused login), an error page (400),
    or the redirect back to the client (302)."""
    descriptions = {302: "Redirect to the client", 400: "Error page", 401: "Login refused: the page again"}
    return {
        status: {"description": descriptions[status]} | ({} if status == 302 else {"content": _HTML})
        for status in statuses
    }


def oauth_error(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.basic_challenge:
        headers["WWW-Authenticate"] = 'Basic realm="egov"'
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description}, status_code=exc.status, headers=headers
    )


async def _form(request: Request) -> dict[str, str]:
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        raise invalid_request("The body must be application/x-www-form-urlencoded.")
    try:
        form = await request.form()
    except Exception as exc:
        raise invalid_request("The form could not be read.") from exc
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    if form_has_nul(fields.items()):
        raise invalid_request("The form holds a NUL character.")
    return fields


# Endpoints that answer errors in RFC 6749's form, NUL characters included (the shared text guard skips them):
# JSON for the token endpoints, the error page or a redirect for the authorization endpoint.
OAUTH_FORM_PATHS = ("/oauth2/token", "/oauth2/introspect", "/oauth2/revoke", "/oauth2/authorize")


@router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery")
async def discovery(identity: IdentityDep) -> dict[str, Any]:
    issuer = identity.settings.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "userinfo_endpoint": f"{issuer}/oauth2/userinfo",
        "jwks_uri": f"{issuer}/oauth2/jwks",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "end_session_endpoint": f"{issuer}/oauth2/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["public"],
        "scopes_supported": list(SUPPORTED_SCOPES),
        "acr_values_supported": ["vneid:1", "vneid:2"],
        "claims_supported": [
            "sub",
            "name",
            "birthdate",
            "gender",
            "phone_number",
            "email",
            "id_number",
            "acr",
            "agency",
            "roles",
        ],
        "ui_locales_supported": ["vi"],
    }


@router.get("/oauth2/jwks", summary="The public keys that sign tokens (JWKS)")
async def jwks(uow: UoWDep, identity: IdentityDep) -> JSONResponse:
    document = await published_jwks(uow.session, grace=_grace(identity))
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})


def _grace(identity: IdentityDep) -> dt.timedelta:
    return dt.timedelta(seconds=identity.settings.retired_key_grace_seconds)


def _login_page(
    request_: flow.AuthorizationRequest,
    client: OAuthClient,
    *,
    error: str | None = None,
    ticket: str | None = None,
    username: str = "",
    status: int = 200,
) -> HTMLResponse:
    html = _templates.get_template("login.html").render(
        title="Cổng dịch vụ công — Đăng nhập một lần",
        client_name=client.name,
        action="/oauth2/authorize",
        hidden=request_.hidden_fields(),
        error=error,
        ticket=ticket,
        username=username,
        requires_level_2=request_.required_level > 1,
    )
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _error_page(exc: AuthorizeError) -> HTMLResponse:
    html = _templates.get_template("error.html").render(error=exc.error, description=exc.description)
    return HTMLResponse(html, status_code=400, headers=PAGE_HEADERS)


async def _checked(uow: UnitOfWork, params: dict[str, str]) -> tuple[flow.AuthorizationRequest, OAuthClient]:
    request_ = await flow.check_request(uow, params)
    client = await uow.session.get(OAuthClient, request_.client_id)
    assert client is not None
    return request_, client


@router.get(
    "/oauth2/authorize",
    summary="Authorization endpoint: the login page",
    response_class=HTMLResponse,
    responses=page_responses(302, 400),
)
async def authorize_page(request: Request, uow: UoWDep) -> Response:
    if target_has_nul(request.scope):
        return _error_page(
            AuthorizeError("invalid_request", "The request holds a NUL character.", redirect=False)
        )
    params = dict(request.query_params)
    try:
        request_, client = await _checked(uow, params)
    except AuthorizeError as exc:
        return _authorize_failure(exc, params)
    return _login_page(request_, client)


@router.post(
    "/oauth2/authorize",
    summary="Authorization endpoint: the login form posts here",
    response_class=HTMLResponse,
    responses=page_responses(302, 400, 401),
    openapi_extra=_FORM_BODY,
)
async def authorize_submit(request: Request, uow: UoWDep, identity: IdentityDep) -> Response:
    try:
        params = await _form(request)
    except OAuthError as exc:
        return _error_page(AuthorizeError(exc.error, exc.description, redirect=False))
    try:
        request_, client = await _checked(uow, params)
    except AuthorizeError as exc:
        return _authorize_failure(exc, params)
    try:
        outcome = await _log_in(uow, identity, request_, params)
    except StaleDataError:
        # The same one-time code used at the same moment elsewhere: only one login may win.
        await uow.rollback()
        outcome = flow.LoginRefused(flow.WRONG_OTP)
        client = (
            await uow.session.get(OAuthClient, request_.client_id) or client
        )  # reloaded after the rollback
    if isinstance(outcome, flow.LoggedIn):
        return RedirectResponse(outcome.redirect_to, status_code=302, headers={"Cache-Control": "no-store"})
    if isinstance(outcome, flow.SecondFactorNeeded):
        return _login_page(request_, client, ticket=outcome.ticket)
    return _login_page(
        request_, client, error=outcome.message, username=params.get("username", ""), status=401
    )


async def _log_in(
    uow: UnitOfWork, identity: IdentityDep, request_: flow.AuthorizationRequest, params: dict[str, str]
) -> flow.LoginOutcome:
    if params.get("ticket"):
        return await flow.second_factor(
            uow,
            identity.vault,
            identity.settings,
            request_,
            ticket=params["ticket"],
            otp=params.get("otp", ""),
        )
    return await flow.log_in(
        uow,
        identity.vault,
        identity.settings,
        request_,
        username=params.get("username", ""),
        password=params.get("password", ""),
        otp=params.get("otp") or None,
    )


def _authorize_failure(exc: AuthorizeError, params: dict[str, str]) -> Response:
    if not exc.redirect:
        return _error_page(exc)
    request_ = flow.AuthorizationRequest(
        client_id=params.get("client_id", ""),
        redirect_uri=params.get("redirect_uri", ""),
        scope="",
        state=params.get("state"),
        code_challenge="",
        nonce=None,
        acr_values=None,
    )
    target = request_.redirect(error=exc.error, error_description=exc.description)
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


async def _client(uow: UnitOfWork, request: Request, form: dict[str, str]) -> OAuthClient:
    credentials = ClientCredentials.parse(
        request.headers.get("authorization"), form.get("client_id"), form.get("client_secret")
    )
    client = await authenticate_client(uow.session, credentials)
    if client is None:
        raise invalid_client(basic=credentials.via_basic)
    return client


@router.post(
    "/oauth2/token",
    summary="Token endpoint (authorization_code + PKCE, refresh_token, client_credentials)",
    responses=oauth_responses(400, 401),
    openapi_extra=_FORM_BODY,
)
async def token(request: Request, uow: UoWDep, identity: IdentityDep) -> JSONResponse:
    try:
        form = await _form(request)
        client = await _client(uow, request, form)
        grant_type = form.get("grant_type")
        if grant_type not in client.grant_types:
            if grant_type in {"authorization_code", "refresh_token", "client_credentials"}:
                raise OAuthError("unauthorized_client", f"This client may not use {grant_type}.")
            raise OAuthError(
                "unsupported_grant_type", "Supported: authorization_code, refresh_token, client_credentials."
            )
        if grant_type == "authorization_code":
            body = await grants.authorization_code_grant(
                uow,
                identity.keys,
                identity.settings,
                client,
                code=form.get("code"),
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
            )
        elif grant_type == "refresh_token":
            body = await grants.refresh_token_grant(
                uow, identity.keys, identity.settings, client, refresh_token=form.get("refresh_token")
            )
        else:
            body = await grants.client_credentials_grant(
                identity.keys, identity.settings, client, scope=form.get("scope")
            )
    except OAuthError as exc:
        return oauth_error(exc)
    return JSONResponse(body, headers=NO_STORE)


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _bearer_error(error: str, status: int = 401) -> JSONResponse:
    return JSONResponse(
        {"error": error},
        status_code=status,
        headers={"WWW-Authenticate": f'Bearer error="{error}"', **NO_STORE},
    )


async def userinfo(request: Request, uow: UoWDep, runtime: RuntimeDep, identity: IdentityDep) -> JSONResponse:
    token = _bearer(request)
    principal = await grants.access_token_principal(uow, runtime.verifier, token) if token else None
    if principal is None:
        return _bearer_error("invalid_token")
    if "openid" not in principal.scopes:
        return _bearer_error("insufficient_scope", 403)
    claims: dict[str, Any] = {"sub": principal.subject, "acr": principal.acr}
    if principal.kind == "citizen":
        citizen = await uow.session.get(Citizen, uuid.UUID(principal.subject))
        if citizen is None:
            return _bearer_error("invalid_token")
        claims |= {
            "name": citizen.full_name,
            "birthdate": citizen.date_of_birth.isoformat(),
            "gender": citizen.sex,
            "id_number": identity.vault.id_numbers.decrypt_text(citizen.id_number_encrypted),
            "assurance_level": citizen.assurance_level,
        }
        if "phone" in principal.scopes or "profile" in principal.scopes:
            claims["phone_number"] = citizen.phone
        if "email" in principal.scopes or "profile" in principal.scopes:
            claims["email"] = citizen.email
        record_access(uow.session, citizen.id, accessor=f"client:{principal.client_id}", purpose="userinfo")
        await uow.commit()
    elif principal.kind == "official":
        official = await uow.session.get(Official, uuid.UUID(principal.subject))
        if official is None:
            return _bearer_error("invalid_token")
        claims |= {
            "name": official.full_name,
            "preferred_username": official.username,
            "agency": official.agency_code,
            "roles": official.roles,
        }
    else:
        claims |= {"client_id": principal.client_id}
    return JSONResponse(claims, headers=NO_STORE)


for _method in ("GET", "POST"):
    router.add_api_route(
        "/oauth2/userinfo",
        userinfo,
        methods=[_method],
        summary="Claims about the logged-in person",
        operation_id=f"oauth2_userinfo_{_method.lower()}",
        responses=oauth_responses(401, 403),
    )


@router.post(
    "/oauth2/introspect",
    summary="Token introspection (RFC 7662), for confidential clients",
    responses=oauth_responses(400, 401),
    openapi_extra=_FORM_BODY,
)
async def introspect(request: Request, uow: UoWDep, runtime: RuntimeDep) -> JSONResponse:
    try:
        form = await _form(request)
        client = await _client(uow, request, form)
        if not client.confidential:
            raise invalid_client(basic=False)
        if not form.get("token"):
            raise invalid_request("token is required.")
    except OAuthError as exc:
        return oauth_error(exc)
    return JSONResponse(await grants.introspect(uow, runtime.verifier, form["token"]), headers=NO_STORE)


@router.post(
    "/oauth2/revoke",
    summary="Token revocation (RFC 7009)",
    responses=oauth_responses(400, 401),
    openapi_extra=_FORM_BODY,
)
async def revoke(request: Request, uow: UoWDep, runtime: RuntimeDep) -> Response:
    try:
        form = await _form(request)
        client = await _client(uow, request, form)
        if not form.get("token"):
            raise invalid_request("token is required.")
    except OAuthError as exc:
        return oauth_error(exc)
    await grants.revoke(uow, runtime.verifier, client, form["token"])
    return Response(status_code=200, headers=NO_STORE)


async def logout(request: Request, uow: UoWDep, runtime: RuntimeDep) -> Response:
    """Ends the session named by the bearer access token (or ``id_token_hint``) and revokes its refresh tokens;
    then redirects to ``post_logout_redirect_uri`` if it is one of the client's registered URIs."""
    params = dict(request.query_params)
    if request.method == "POST" and "application/x-www-form-urlencoded" in request.headers.get(
        "content-type", ""
    ):
        params |= {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    session_id = await _session_of(uow, runtime, request, params)
    if session_id is None:
        return _bearer_error("invalid_token")
    login = await uow.session.get(LoginSession, session_id)
    token = _bearer(request)
    if token is not None:
        # The access token used to log out stops working at once (introspection, userinfo), not in 10 minutes.
        principal = await grants.access_token_principal(uow, runtime.verifier, token)
        if principal is not None:
            grants.forget_access_token(uow, principal)
    await grants.logout(uow, session_id)
    target = params.get("post_logout_redirect_uri")
    if target and login is not None:
        client = await uow.session.get(OAuthClient, login.client_id)
        if client is not None and target in client.redirect_uris:
            return RedirectResponse(target, status_code=302)
    return JSONResponse({"status": "logged_out"}, headers=NO_STORE)


for _method in ("GET", "POST"):
    router.add_api_route(
        "/oauth2/logout",
        logout,
        methods=[_method],
        summary="End the login session (RP-initiated logout)",
        operation_id=f"oauth2_logout_{_method.lower()}",
        responses={**oauth_responses(401), **page_responses(302)},
    )


async def _session_of(
    uow: UnitOfWork, runtime: RuntimeDep, request: Request, params: dict[str, str]
) -> uuid.UUID | None:
    """The login session named by the bearer access token, or by an ID token we signed (``id_token_hint``)."""
    token = _bearer(request)
    if token:
        principal = await grants.access_token_principal(uow, runtime.verifier, token)
        return uuid.UUID(principal.session_id) if principal and principal.session_id else None
    hint = params.get("id_token_hint")
    if not hint:
        return None
    try:
        key = await runtime.keys.get(str(read_header(hint).get("kid", "")))
        claims = jwt.decode(hint, key, algorithms=["RS256"]).claims if key else {}
    except (InvalidToken, JoseError, ValueError):
        return None
    if claims.get("iss") != runtime.settings.issuer or not claims.get("sid"):
        return None
    return uuid.UUID(str(claims["sid"]))
