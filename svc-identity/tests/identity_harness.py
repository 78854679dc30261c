"""Running svc-identity in a test, and speaking OAuth 2 / OpenID Connect to it as a client app would.

The demo accounts and clients are those of DESIGN §9; each test gets its own database, so lockouts and used
TOTP steps never leak from one test into another.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from egov_identity.config import Settings
from egov_identity.main import create_app
from egov_shared import tables
from egov_shared.auth.jwks import StaticKeys
from egov_shared.auth.tokens import TokenVerifier
from egov_shared.bus.memory import InMemoryBroker
from egov_shared.runtime import ServiceRuntime
from egov_shared.testing.apps import running, runtime_of
from egov_shared.testing.backends import BusConfig, delete_broker_topology
from egov_shared.totp import totp_code

# DESIGN §9
PASSWORD = "Demo@12345"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"
CITIZEN_L2 = "001099012345"  # Nguyễn Văn An, born 1999-05-12, assurance level 2
CITIZEN_L1 = "079203001234"  # Trần Minh Khoa, assurance level 1
RECEIVER = "motcua.h27"
SPECIALIST = "chuyenvien.h27"  # processor, document_clerk, feedback_handler
SIGNER = "lanhdao.h27"  # approver + signer: TOTP
FINANCE = "ketoan.h27"  # TOTP
ADMIN = "quantri.h27"  # TOTP
PROVINCE = "000.00.00.H27"
WEB_CLIENT = "demo-web"
REDIRECT_URI = "http://localhost:3000/callback"
PARTNER = "demo-partner"
PARTNER_SECRET = "demo-partner-secret"

BASE_URL = "http://testserver"

FAST = {"relay_poll_seconds": 0.2, "jobs_tick_seconds": 3600, "log_json": False}


def otp(offset_seconds: float = 0) -> str:
    """The demo officials' TOTP code now, or ``offset_seconds`` from now (30: the next step, for a second
    login of the same official: a code is accepted once per step)."""
    return totp_code(TOTP_SECRET, at=time.time() + offset_seconds)


def new_pkce() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), computed here rather than by the code under test."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


@dataclass
class Page:
    """What a test needs of an HTML page: the form's inputs and the error shown, if any."""

    inputs: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    form_action: str | None = None


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.page = Page()
        self._in_error = False
        self._error_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.page.form_action = values.get("action")
        elif tag == "input" and "name" in values:
            self.page.inputs[values["name"]] = values.get("value", "")
        elif tag == "p" and "error" in values.get("class", "").split():
            self._in_error = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self._in_error:
            self._in_error = False
            self.page.error = "".join(self._error_parts).strip()

    def handle_data(self, data: str) -> None:
        if self._in_error:
            self._error_parts.append(data)


def parse_page(html: str) -> Page:
    parser = _PageParser()
    parser.feed(html)
    return parser.page


@dataclass
class IdentityService:
    app: FastAPI
    client: httpx.AsyncClient
    broker: InMemoryBroker | None
    settings: Settings

    @property
    def runtime(self) -> ServiceRuntime:
        return runtime_of(self.app)

    # --- the authorization endpoint ---------------------------------------------------------------------

    def authorize_params(
        self,
        code_challenge: str,
        *,
        scope: str = "openid profile",
        state: str = "st-123",
        nonce: str | None = None,
        acr_values: str | None = None,
        client_id: str = WEB_CLIENT,
        redirect_uri: str = REDIRECT_URI,
    ) -> dict[str, str]:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if nonce is not None:
            params["nonce"] = nonce
        if acr_values is not None:
            params["acr_values"] = acr_values
        return params

    async def submit_login(
        self,
        username: str,
        password: str = PASSWORD,
        *,
        code_challenge: str | None = None,
        otp: str | None = None,
        **params: Any,
    ) -> httpx.Response:
        """POST the login form (what the page's form carries, plus the person's answers)."""
        form = self.authorize_params(code_challenge or new_pkce()[1], **params)
        form |= {"username": username, "password": password}
        if otp is not None:
            form["otp"] = otp
        return await self.client.post("/oauth2/authorize", data=form)

    async def authorization_code(
        self, username: str, password: str = PASSWORD, *, otp: str | None = None, **params: Any
    ) -> tuple[str, str]:
        """Log in through the form; returns (code, code_verifier)."""
        verifier, challenge = new_pkce()
        response = await self.submit_login(username, password, code_challenge=challenge, otp=otp, **params)
        assert response.status_code == 302, response.text
        location = response.headers["location"]
        assert location.startswith(REDIRECT_URI + "?"), location
        query = query_of(location)
        assert "code" in query, query
        return query["code"], verifier

    # --- the token endpoint -----------------------------------------------------------------------------

    async def token_request(
        self, data: dict[str, str], auth: tuple[str, str] | None = None
    ) -> httpx.Response:
        if auth is None:
            return await self.client.post("/oauth2/token", data=data)
        return await self.client.post("/oauth2/token", data=data, auth=auth)

    async def exchange(
        self, code: str, verifier: str, *, redirect_uri: str = REDIRECT_URI, client_id: str = WEB_CLIENT
    ) -> httpx.Response:
        return await self.token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
                "client_id": client_id,
            }
        )

    async def refresh(self, refresh_token: str) -> httpx.Response:
        return await self.token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": WEB_CLIENT}
        )

    async def log_in(
        self, username: str, password: str = PASSWORD, *, otp: str | None = None, **params: Any
    ) -> dict[str, Any]:
        """The whole code flow for the demo web app; returns the token response."""
        code, verifier = await self.authorization_code(username, password, otp=otp, **params)
        response = await self.exchange(code, verifier)
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def partner_token(self, scope: str | None = None) -> httpx.Response:
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        return await self.token_request(data, auth=(PARTNER, PARTNER_SECRET))

    # --- keys and tokens ---------------------------------------------------------------------------------

    async def jwks(self) -> dict[str, Any]:
        response = await self.client.get("/oauth2/jwks")
        assert response.status_code == 200
        document: dict[str, Any] = response.json()
        return document

    async def verifier(self, jwks: dict[str, Any] | None = None) -> TokenVerifier:
        """A verifier as a gateway builds one: from the JWKS as published (now, or as captured earlier)."""
        keys = StaticKeys(jwks if jwks is not None else await self.jwks())
        return TokenVerifier(keys, issuer=self.settings.issuer, cache_size=0)

    # --- events -----------------------------------------------------------------------------------------

    async def outbox_events(self, event_type: str) -> list[dict[str, Any]]:
        """The envelopes of this type written to the outbox, each with ``sent`` (the relay published it)."""
        query = select(tables.outbox.c.envelope, tables.outbox.c.sent_at).where(
            tables.outbox.c.event_type == event_type
        )
        async with self.runtime.sessionmaker() as session:
            rows = (await session.execute(query.order_by(tables.outbox.c.id))).all()
        return [{**json.loads(envelope), "sent": sent_at is not None} for envelope, sent_at in rows]

    async def wait_published(
        self, event_type: str, match: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        """The event of this type whose data matches, once the relay has published it to the bus."""

        async def published() -> dict[str, Any] | None:
            for event in await self.outbox_events(event_type):
                on_bus = self.broker is None or any(str(e.id) == event["id"] for e in self.broker.published)
                if match(event["data"]) and event["sent"] and on_bus:
                    return event
            return None

        found: dict[str, Any] = await eventually(published, what=f"{event_type} to be published")
        return found


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 20.0, what: str = "the condition"
) -> Any:
    """Poll ``check`` until it returns something truthy (events cross the bus asynchronously)."""
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
    return result


def make_settings(database_url: str, bus_config: BusConfig, **overrides: Any) -> Settings:
    return Settings.model_validate(
        {"database_url": database_url, **bus_config.settings(), "demo_data": True, **FAST, **overrides}
    )


@asynccontextmanager
async def identity_service(
    database_url: str, bus_config: BusConfig, **overrides: Any
) -> AsyncIterator[IdentityService]:
    settings = make_settings(database_url, bus_config, **overrides)
    broker = InMemoryBroker() if settings.amqp_url is None else None
    app = create_app(settings, broker=broker)
    try:
        async with running(app) as client:
            if settings.amqp_url is not None:
                await runtime_of(app).bus.wait_connected(30)  # type: ignore[attr-defined]
            yield IdentityService(app=app, client=client, broker=broker, settings=settings)
    finally:
        # svc-identity consumes nothing, so its queue may never have been declared: deleting it is harmless.
        await delete_broker_topology(bus_config, [runtime_of(app).queue])
