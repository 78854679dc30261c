"""The authorization endpoint's logic: check the request, log the person in, issue a code.

Plain functions over a unit of work; the router only renders pages and redirects.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from sqlalchemy import select

from egov_identity.clients.models import OAuthClient
from egov_identity.config import Settings
from egov_identity.oauth.errors import AuthorizeError
from egov_identity.oauth.issue import Subject, citizen_subject, official_subject
from egov_identity.oauth.models import AuthorizationCode, LoginSession, LoginThrottle, PendingSecondFactor
from egov_identity.people.models import Citizen, Official
from egov_identity.people.passwords import verify_password
from egov_identity.people.service import needs_second_factor
from egov_identity.vault import Vault
from egov_shared.crypto import random_token, token_digest
from egov_shared.db import utcnow
from egov_shared.totp import accept_totp
from egov_shared.uow import UnitOfWork

_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # base64url of a SHA-256 digest
_ID_NUMBER = re.compile(r"^\d{12}$")
SECOND_FACTOR_TICKET_SECONDS = 300


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    code_challenge: str
    nonce: str | None
    acr_values: str | None

    def hidden_fields(self) -> dict[str, str]:
        """What the login form carries back (each field is checked again on POST)."""
        fields = {**asdict(self), "response_type": "code", "code_challenge_method": "S256"}
        return {k: v for k, v in fields.items() if v is not None}

    @property
    def required_level(self) -> int:
        return 2 if self.acr_values and "vneid:2" in self.acr_values.split() else 1

    def redirect(self, **params: str) -> str:
        if self.state is not None:
            params["state"] = self.state
        separator = "&" if "?" in self.redirect_uri else "?"
        return f"{self.redirect_uri}{separator}{urlencode(params)}"


async def check_request(uow: UnitOfWork, params: Mapping[str, str]) -> AuthorizationRequest:
    client_id = params.get("client_id", "")
    client = await uow.session.get(OAuthClient, client_id) if client_id else None
    if client is None or not client.active or "authorization_code" not in client.grant_types:
        raise AuthorizeError("invalid_client", "Ứng dụng (client_id) không hợp lệ.", redirect=False)
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        raise AuthorizeError(
            "invalid_request", "Địa chỉ chuyển hướng (redirect_uri) chưa được đăng ký.", redirect=False
        )
    partial = AuthorizationRequest(
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=params.get("scope", "openid"),
        state=params.get("state"),
        code_challenge=params.get("code_challenge", ""),
        nonce=params.get("nonce"),
        acr_values=params.get("acr_values"),
    )
    if params.get("response_type") != "code":
        raise AuthorizeError(
            "unsupported_response_type", "Only response_type=code is supported.", redirect=True
        )
    if params.get("code_challenge_method") != "S256" or not _CHALLENGE.match(partial.code_challenge):
        raise AuthorizeError(
            "invalid_request", "PKCE with code_challenge_method=S256 is required.", redirect=True
        )
    requested = set(partial.scope.split())
    if not requested or not requested <= set(client.allowed_scopes):
        raise AuthorizeError(
            "invalid_scope", "The requested scope is not allowed for this client.", redirect=True
        )
    return partial


@dataclass(frozen=True)
class LoggedIn:
    redirect_to: str


@dataclass(frozen=True)
class SecondFactorNeeded:
    ticket: str


@dataclass(frozen=True)
class LoginRefused:
    message: str


LoginOutcome = LoggedIn | SecondFactorNeeded | LoginRefused

WRONG_CREDENTIALS = "Tên đăng nhập hoặc mật khẩu không đúng."
LOCKED = "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút."
WRONG_OTP = "Mã xác thực (OTP) không đúng hoặc đã được dùng."


async def log_in(
    uow: UnitOfWork,
    vault: Vault,
    settings: Settings,
    request: AuthorizationRequest,
    *,
    username: str,
    password: str,
    otp: str | None,
) -> LoginOutcome:
    """The first form: name and password (and, for officials who need it, the OTP on the same form)."""
    username = username.strip()
    account_key = vault.account_names.digest(username.lower())
    if await _locked(uow, account_key):
        await uow.commit()
        return LoginRefused(LOCKED)
    citizen, official = None, None
    if _ID_NUMBER.match(username):
        digest = vault.id_number_hash.digest(username)
        citizen = await uow.session.scalar(select(Citizen).where(Citizen.id_number_hash == digest))
        password_hash = citizen.password_hash if citizen else None
    else:
        official = await uow.session.scalar(select(Official).where(Official.username == username))
        password_hash = official.password_hash if official and official.active else None
    if not verify_password(password_hash, password):
        await _failed(uow, settings, account_key)
        return LoginRefused(WRONG_CREDENTIALS)
    if citizen is not None:
        subject = citizen_subject(citizen)
    else:
        assert official is not None
        if needs_second_factor(official.roles):
            if otp:
                if not _accept_otp(vault, official, otp):
                    await _failed(uow, settings, account_key)
                    return LoginRefused(WRONG_OTP)
            else:
                ticket = random_token()
                uow.session.add(
                    PendingSecondFactor(
                        ticket_hash=token_digest(ticket),
                        official_id=official.id,
                        request=request.hidden_fields(),
                        expires_at=utcnow() + dt.timedelta(seconds=SECOND_FACTOR_TICKET_SECONDS),
                    )
                )
                await uow.commit()
                return SecondFactorNeeded(ticket)
        subject = official_subject(
            official, acr="vneid:2" if needs_second_factor(official.roles) else "vneid:1"
        )
    return await _succeed(uow, settings, request, subject, account_key)


async def second_factor(
    uow: UnitOfWork,
    vault: Vault,
    settings: Settings,
    request: AuthorizationRequest,
    *,
    ticket: str,
    otp: str,
) -> LoginOutcome:
    """The second form: the ticket from the first and the OTP."""
    pending = await uow.session.get(PendingSecondFactor, token_digest(ticket))
    if pending is None or pending.expires_at < utcnow() or pending.request != request.hidden_fields():
        return LoginRefused("Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại.")
    official = await uow.session.get(Official, pending.official_id)
    if official is None or not official.active:
        return LoginRefused(WRONG_CREDENTIALS)
    account_key = vault.account_names.digest(official.username.lower())
    if await _locked(uow, account_key):
        await uow.commit()
        return LoginRefused(LOCKED)
    if not _accept_otp(vault, official, otp):
        await _failed(uow, settings, account_key)
        return LoginRefused(WRONG_OTP)
    await uow.session.delete(pending)
    return await _succeed(uow, settings, request, official_subject(official, acr="vneid:2"), account_key)


def _accept_otp(vault: Vault, official: Official, otp: str) -> bool:
    if official.totp_secret_encrypted is None:
        return False
    step = accept_totp(
        vault.totp.decrypt_text(official.totp_secret_encrypted), otp, last_step=official.totp_last_step
    )
    if step is None:
        return False
    official.totp_last_step = step
    return True


async def _succeed(
    uow: UnitOfWork, settings: Settings, request: AuthorizationRequest, subject: Subject, account_key: str
) -> LoginOutcome:
    throttle = await uow.session.get(LoginThrottle, account_key)
    if throttle is not None:
        await uow.session.delete(throttle)
    if request.required_level > 1 and subject.acr != "vneid:2":
        await uow.commit()
        return LoggedIn(
            request.redirect(
                error="unmet_authentication_requirements",
                error_description="This client requires a level-2 (vneid:2) identity.",
            )
        )
    session = LoginSession(
        subject_kind=subject.kind, subject_id=subject.id, client_id=request.client_id, acr=subject.acr
    )
    uow.session.add(session)
    await uow.session.flush()
    code = random_token()
    now = utcnow()
    uow.session.add(
        AuthorizationCode(
            code_hash=token_digest(code),
            client_id=request.client_id,
            session_id=session.id,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            code_challenge=request.code_challenge,
            nonce=request.nonce,
            auth_time=now,
            expires_at=now + dt.timedelta(seconds=settings.authorization_code_lifetime_seconds),
        )
    )
    await uow.commit()
    return LoggedIn(request.redirect(code=code))


async def _locked(uow: UnitOfWork, account_key: str) -> bool:
    throttle = await uow.session.get(LoginThrottle, account_key)
    return throttle is not None and throttle.locked_until is not None and throttle.locked_until > utcnow()


async def _failed(uow: UnitOfWork, settings: Settings, account_key: str) -> None:
    """Count a failure against the account name; the fifth within the window locks it for a while."""
    now = utcnow()
    window = dt.timedelta(seconds=settings.lockout_window_seconds)
    throttle = await uow.session.get(LoginThrottle, account_key)
    if throttle is None:
        throttle = LoginThrottle(account_key=account_key, failures=0, window_started_at=now)
        uow.session.add(throttle)
    elif throttle.window_started_at + window < now:
        throttle.failures, throttle.window_started_at, throttle.locked_until = 0, now, None
    throttle.failures += 1
    if throttle.failures >= settings.lockout_threshold:
        throttle.locked_until = now + dt.timedelta(seconds=settings.lockout_seconds)
    await uow.commit()
