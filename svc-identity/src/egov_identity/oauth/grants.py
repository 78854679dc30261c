"""The token endpoint's grants, and revocation, introspection and logout (RFC 6749, 7636, 7009, 7662)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import uuid
from typing import Any

from sqlalchemy import select, update

from egov_identity.clients.models import OAuthClient
from egov_identity.config import Settings
from egov_identity.keys.service import KeyRing
from egov_identity.oauth.errors import OAuthError, invalid_grant, invalid_request
from egov_identity.oauth.issue import access_token_for, id_token_for, load_subject, new_refresh_token
from egov_identity.oauth.models import AuthorizationCode, LoginSession, RefreshToken, RevokedAccessToken
from egov_shared.auth.issuing import sign_access_token
from egov_shared.auth.tokens import InvalidToken, Principal, TokenVerifier
from egov_shared.crypto import token_digest
from egov_shared.db import utcnow
from egov_shared.uow import UnitOfWork

_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def pkce_matches(verifier: str, challenge: str) -> bool:
    if not _VERIFIER.match(verifier):
        return False
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(computed, challenge)


def _token_response(access_token: str, settings: Settings, scope: str, **extra: str) -> dict[str, Any]:
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_lifetime_seconds,
        "scope": scope,
        **extra,
    }


async def _revoke_family(
    uow: UnitOfWork, *, family_id: uuid.UUID | None = None, code_hash: str | None = None
) -> None:
    condition = RefreshToken.family_id == family_id if family_id else RefreshToken.code_hash == code_hash
    await uow.session.execute(
        update(RefreshToken).where(condition, RefreshToken.revoked_at.is_(None)).values(revoked_at=utcnow())
    )


async def authorization_code_grant(
    uow: UnitOfWork,
    keys: KeyRing,
    settings: Settings,
    client: OAuthClient,
    *,
    code: str | None,
    redirect_uri: str | None,
    code_verifier: str | None,
) -> dict[str, Any]:
    if not code or not redirect_uri or not code_verifier:
        raise invalid_request("code, redirect_uri and code_verifier are required.")
    code_hash = token_digest(code)
    grant = await uow.session.get(AuthorizationCode, code_hash, with_for_update=True)
    if grant is None or grant.client_id != client.client_id:
        raise invalid_grant("The authorization code is invalid.")
    if grant.used_at is not None:
        # A second use means the code leaked: revoke what the first use obtained (RFC 6749 §4.1.2).
        await _revoke_family(uow, code_hash=code_hash)
        await _end_session(uow, grant.session_id)
        await uow.commit()
        raise invalid_grant("The authorization code was already used.")
    if grant.expires_at < utcnow():
        raise invalid_grant("The authorization code has expired.")
    if grant.redirect_uri != redirect_uri:
        raise invalid_grant("redirect_uri does not match the authorization request.")
    if not pkce_matches(code_verifier, grant.code_challenge):
        raise invalid_grant("The PKCE code_verifier does not match.")
    grant.used_at = utcnow()
    login = await uow.session.get(LoginSession, grant.session_id)
    subject = (
        await load_subject(uow.session, login.subject_kind, login.subject_id, login.acr) if login else None
    )
    if login is None or subject is None or login.ended_at is not None:
        raise invalid_grant("The login session has ended.")
    scopes = grant.scope.split()
    response = _token_response(
        await access_token_for(
            keys, settings, subject, client_id=client.client_id, scopes=scopes, session_id=login.id
        ),
        settings,
        grant.scope,
        refresh_token=new_refresh_token(
            uow.session,
            settings,
            client_id=client.client_id,
            scope=grant.scope,
            login_session_id=login.id,
            code_hash=code_hash,
        ),
    )
    if "openid" in scopes:
        response["id_token"] = await id_token_for(
            keys, settings, subject, client_id=client.client_id, session=login, nonce=grant.nonce
        )
    await uow.commit()
    return response


async def refresh_token_grant(
    uow: UnitOfWork, keys: KeyRing, settings: Settings, client: OAuthClient, *, refresh_token: str | None
) -> dict[str, Any]:
    if not refresh_token:
        raise invalid_request("refresh_token is required.")
    row = await uow.session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == token_digest(refresh_token)).with_for_update()
    )
    if row is None or row.client_id != client.client_id:
        raise invalid_grant("The refresh token is invalid.")
    if row.used_at is not None and row.revoked_at is None:
        # A rotated token came back: someone holds a copy. Revoke the whole family (reuse detection).
        await _revoke_family(uow, family_id=row.family_id)
        await uow.commit()
        raise invalid_grant("The refresh token was already used; its family is revoked.")
    if row.revoked_at is not None or row.expires_at < utcnow():
        raise invalid_grant("The refresh token is revoked or expired.")
    login = await uow.session.get(LoginSession, row.session_id) if row.session_id else None
    subject = (
        await load_subject(uow.session, login.subject_kind, login.subject_id, login.acr) if login else None
    )
    if login is None or subject is None or login.ended_at is not None:
        raise invalid_grant("The login session has ended.")
    row.used_at = utcnow()
    scopes = row.scope.split()
    response = _token_response(
        await access_token_for(
            keys, settings, subject, client_id=client.client_id, scopes=scopes, session_id=login.id
        ),
        settings,
        row.scope,
        refresh_token=new_refresh_token(
            uow.session,
            settings,
            client_id=client.client_id,
            scope=row.scope,
            login_session_id=login.id,
            family_id=row.family_id,
            code_hash=row.code_hash,
        ),
    )
    if "openid" in scopes:
        response["id_token"] = await id_token_for(
            keys, settings, subject, client_id=client.client_id, session=login, nonce=None
        )
    await uow.commit()
    return response


async def client_credentials_grant(
    keys: KeyRing, settings: Settings, client: OAuthClient, *, scope: str | None
) -> dict[str, Any]:
    if not client.confidential or "client_credentials" not in client.grant_types:
        raise OAuthError("unauthorized_client", "This client may not use client_credentials.")
    requested = set(scope.split()) if scope else set(client.allowed_scopes)
    if not requested <= set(client.allowed_scopes):
        raise OAuthError("invalid_scope", "The requested scope exceeds what this client is allowed.")
    token = sign_access_token(
        await keys.signing_key(),
        issuer=settings.issuer,
        subject=client.client_id,
        kind="client",
        client_id=client.client_id,
        scopes=requested,
        name=client.name,
        lifetime_seconds=settings.access_token_lifetime_seconds,
    )
    return _token_response(token, settings, " ".join(sorted(requested)))


async def _end_session(uow: UnitOfWork, session_id: uuid.UUID) -> None:
    await uow.session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    await uow.session.execute(
        update(RefreshToken)
        .where(RefreshToken.session_id == session_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def logout(uow: UnitOfWork, session_id: uuid.UUID) -> None:
    """End the login session and revoke its refresh tokens."""
    await _end_session(uow, session_id)
    await uow.commit()


async def access_token_principal(uow: UnitOfWork, verifier: TokenVerifier, token: str) -> Principal | None:
    """The principal of a valid, unrevoked access token, or None."""
    try:
        principal = await verifier.verify(token)
    except InvalidToken:
        return None
    if await uow.session.get(RevokedAccessToken, principal.token_id) is not None:
        return None
    return principal


async def revoke(uow: UnitOfWork, verifier: TokenVerifier, client: OAuthClient, token: str) -> None:
    """RFC 7009: always succeeds from the client's view; only the client's own tokens are touched."""
    row = await uow.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_digest(token)))
    if row is not None:
        if row.client_id == client.client_id:
            await _revoke_family(uow, family_id=row.family_id)
            await uow.commit()
        return
    principal = await access_token_principal(uow, verifier, token)
    if principal is not None and principal.client_id == client.client_id:
        forget_access_token(uow, principal)
        await uow.commit()


def forget_access_token(uow: UnitOfWork, principal: Principal) -> None:
    """Revoke an access token before it expires (introspection and userinfo then refuse it)."""
    uow.session.add(
        RevokedAccessToken(jti=principal.token_id, expires_at=_from_timestamp(principal.expires_at))
    )


async def introspect(uow: UnitOfWork, verifier: TokenVerifier, token: str) -> dict[str, Any]:
    """RFC 7662: ``{"active": false}`` for anything not currently valid, nothing more."""
    principal = await access_token_principal(uow, verifier, token)
    if principal is not None:
        claims: dict[str, Any] = {
            "active": True,
            "token_type": "access_token",
            "sub": principal.subject,
            "client_id": principal.client_id,
            "scope": " ".join(sorted(principal.scopes)),
            "exp": principal.expires_at,
            "iss": verifier.issuer,
            "aud": verifier.audience,
            "jti": principal.token_id,
            "sub_type": principal.kind,
        }
        if principal.acr:
            claims["acr"] = principal.acr
        if principal.kind == "official":
            claims["agency"] = principal.agency
            claims["roles"] = sorted(principal.roles)
        return claims
    row = await uow.session.scalar(select(RefreshToken).where(RefreshToken.token_hash == token_digest(token)))
    if row is not None and row.used_at is None and row.revoked_at is None and row.expires_at > utcnow():
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": row.client_id,
            "scope": row.scope,
            "exp": int(row.expires_at.timestamp()),
        }
    return {"active": False}


def _from_timestamp(value: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, dt.UTC)
