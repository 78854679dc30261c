"""OAuth clients: registration by an administrator and authentication at the token endpoint."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Iterable
from urllib.parse import unquote

from sqlalchemy.ext.asyncio import AsyncSession

from egov_identity.clients.models import OAuthClient
from egov_identity.people.passwords import hash_password, verify_password
from egov_shared.problems import Conflict, Unprocessable
from egov_shared.uow import UnitOfWork

# In the order discovery lists them (``scopes_supported``).
SUPPORTED_SCOPES = (
    "openid",
    "profile",
    "email",
    "phone",
    "open311",
    "documents.exchange",
    "documents.sign",
    "payments.notify",
)
SCOPES = frozenset(SUPPORTED_SCOPES)
GRANTS = frozenset({"authorization_code", "refresh_token", "client_credentials"})


async def create_client(
    uow: UnitOfWork,
    *,
    client_id: str,
    name: str,
    confidential: bool,
    redirect_uris: Iterable[str] = (),
    allowed_scopes: Iterable[str] = (),
    secret: str | None = None,
    commit: bool = True,
) -> tuple[OAuthClient, str | None]:
    """Returns the client and, for a confidential one, its secret (shown once, stored hashed)."""
    scopes = sorted(set(allowed_scopes))
    if set(scopes) - SCOPES:
        raise Unprocessable(
            "Phạm vi không tồn tại: " + ", ".join(sorted(set(scopes) - SCOPES)), code="client.scope"
        )
    redirects = list(redirect_uris)
    if not confidential and not redirects:
        raise Unprocessable("Ứng dụng công khai phải đăng ký redirect_uri.", code="client.redirect_required")
    if await uow.session.get(OAuthClient, client_id) is not None:
        raise Conflict("client_id đã được dùng.", code="client.exists")
    if confidential and secret is None:
        secret = secrets.token_urlsafe(32)
    grants = (
        ["client_credentials"] if confidential and not redirects else ["authorization_code", "refresh_token"]
    )
    if confidential and redirects:
        grants.append("client_credentials")
    client = OAuthClient(
        client_id=client_id,
        name=name,
        confidential=confidential,
        secret_hash=hash_password(secret) if confidential and secret else None,
        redirect_uris=redirects,
        allowed_scopes=scopes,
        grant_types=grants,
        active=True,
    )
    uow.session.add(client)
    await uow.session.flush()
    if commit:
        await uow.commit()
    return client, secret if confidential else None


class ClientCredentials:
    """The client's claimed id and secret, from HTTP Basic or the form (RFC 6749 §2.3.1)."""

    def __init__(self, client_id: str | None, secret: str | None, *, via_basic: bool) -> None:
        self.client_id = client_id
        self.secret = secret
        self.via_basic = via_basic

    @classmethod
    def parse(
        cls, authorization: str | None, form_id: str | None, form_secret: str | None
    ) -> ClientCredentials:
        if authorization and authorization.lower().startswith("basic "):
            try:
                raw = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return cls(None, None, via_basic=True)
            client_id, _, secret = (unquote(part) for part in raw.partition(":"))
            if "\x00" in client_id or "\x00" in secret:
                # No client has such an id (PostgreSQL could not even look it up): invalid_client, in OAuth's form.
                return cls(None, None, via_basic=True)
            return cls(client_id, secret, via_basic=True)
        return cls(form_id, form_secret, via_basic=False)


async def authenticate_client(session: AsyncSession, credentials: ClientCredentials) -> OAuthClient | None:
    """The client if the credentials are right: a confidential client needs its secret, a public one none."""
    if not credentials.client_id:
        return None
    client = await session.get(OAuthClient, credentials.client_id)
    if client is None or not client.active:
        verify_password(None, credentials.secret or "")  # same time as a real check
        return None
    if client.confidential:
        if not credentials.secret or not verify_password(client.secret_hash, credentials.secret):
            return None
    elif credentials.secret:
        return None
    return client
