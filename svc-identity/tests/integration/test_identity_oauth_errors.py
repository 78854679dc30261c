"""Bad requests get the errors of RFC 6749 (and of the OpenID Connect and PKCE specs), never a 500."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt

import httpx
from identity_harness import (
    CITIZEN_L2,
    PARTNER,
    PARTNER_SECRET,
    REDIRECT_URI,
    WEB_CLIENT,
    IdentityService,
    new_pkce,
    parse_page,
    query_of,
)
from sqlalchemy import update

from egov_identity.oauth.models import AuthorizationCode
from egov_shared.crypto import token_digest


def _oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error, response.json()


# Each app start costs about a second: related cases share one service rather than being parametrized.


async def test_bad_token_requests_get_the_errors_of_rfc_6749(identity: IdentityService) -> None:
    # Grants we do not offer: no password grant, no implicit flow (OAuth 2.1).
    for grant_type in ["password", "implicit", "urn:ietf:params:oauth:grant-type:device_code", "", None]:
        data = {"client_id": WEB_CLIENT, "username": CITIZEN_L2, "password": "Demo@12345"}
        if grant_type is not None:
            data["grant_type"] = grant_type
        _oauth_error(await identity.token_request(data), 400, "unsupported_grant_type")

    as_json = await identity.client.post(
        "/oauth2/token", json={"grant_type": "client_credentials", "client_id": PARTNER}
    )
    _oauth_error(as_json, 400, "invalid_request")
    no_body = await identity.client.post("/oauth2/token")
    _oauth_error(no_body, 400, "invalid_request")
    garbage = await identity.client.post(
        "/oauth2/token",
        content=b"\xff\xfe%%%=&&\x00",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert garbage.status_code in {400, 401}
    assert garbage.json()["error"] in {"invalid_request", "invalid_client"}
    # A NUL character gets the protocol's own error on both backends (PostgreSQL could not store or look it up).
    for body in (b"grant_type=client_credentials&client_id=a%00b", b"grant_type=client_credentials\x00"):
        nul = await identity.client.post(
            "/oauth2/token", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        _oauth_error(nul, 400, "invalid_request")

    unknown = await identity.token_request(
        {"grant_type": "authorization_code", "client_id": "no-such-app", "code": "x", "code_verifier": "y"}
    )
    _oauth_error(unknown, 401, "invalid_client")
    bad_basic = await identity.client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic !!!not-base64!!!"},
    )
    _oauth_error(bad_basic, 401, "invalid_client")
    assert bad_basic.headers["www-authenticate"].startswith("Basic")
    for credentials in (b"svc-payment%00:x", b"svc-payment:a\x00b"):
        nul_basic = await identity.client.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
        )
        _oauth_error(nul_basic, 401, "invalid_client")

    missing = await identity.token_request({"grant_type": "authorization_code", "client_id": WEB_CLIENT})
    _oauth_error(missing, 400, "invalid_request")
    unknown_code = await identity.exchange("never-issued", new_pkce()[0])
    _oauth_error(unknown_code, 400, "invalid_grant")
    missing_refresh = await identity.token_request({"grant_type": "refresh_token", "client_id": WEB_CLIENT})
    _oauth_error(missing_refresh, 400, "invalid_request")


async def test_the_code_is_bound_to_its_verifier_redirect_uri_and_client(identity: IdentityService) -> None:
    code, verifier = await identity.authorization_code(CITIZEN_L2)

    _oauth_error(await identity.exchange(code, new_pkce()[0]), 400, "invalid_grant")
    _oauth_error(await identity.exchange(code, verifier[:-1] + "!"), 400, "invalid_grant")
    elsewhere = await identity.exchange(code, verifier, redirect_uri=REDIRECT_URI + "/other")
    _oauth_error(elsewhere, 400, "invalid_grant")
    by_partner = await identity.token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(PARTNER, PARTNER_SECRET),
    )
    assert by_partner.status_code == 400
    assert by_partner.json()["error"] in {"invalid_grant", "unauthorized_client"}

    # Those failures were for the reasons given: the right verifier and redirect_uri still work once.
    first = await identity.exchange(code, verifier)
    assert first.status_code == 200, first.text
    unrelated = await identity.log_in(CITIZEN_L2)

    # A second use means the code leaked: refused, and what the first use obtained is revoked.
    _oauth_error(await identity.exchange(code, verifier), 400, "invalid_grant")
    _oauth_error(await identity.refresh(first.json()["refresh_token"]), 400, "invalid_grant")
    assert (await identity.refresh(unrelated["refresh_token"])).status_code == 200


async def test_a_reused_code_also_revokes_the_refresh_tokens_rotated_from_it(
    identity: IdentityService,
) -> None:
    code, verifier = await identity.authorization_code(CITIZEN_L2)
    first = await identity.exchange(code, verifier)
    assert first.status_code == 200, first.text
    rotated = await identity.refresh(first.json()["refresh_token"])
    assert rotated.status_code == 200, rotated.text

    _oauth_error(await identity.exchange(code, verifier), 400, "invalid_grant")
    _oauth_error(await identity.refresh(rotated.json()["refresh_token"]), 400, "invalid_grant")


async def test_an_expired_code_is_refused(identity: IdentityService) -> None:
    code, verifier = await identity.authorization_code(CITIZEN_L2)

    async def set_expiry(moment: dt.datetime) -> None:
        async with identity.runtime.sessionmaker() as session:
            await session.execute(
                update(AuthorizationCode)
                .where(AuthorizationCode.code_hash == token_digest(code))
                .values(expires_at=moment)
            )
            await session.commit()

    now = dt.datetime.now(dt.UTC)
    await set_expiry(now - dt.timedelta(seconds=1))
    _oauth_error(await identity.exchange(code, verifier), 400, "invalid_grant")
    await set_expiry(now + dt.timedelta(seconds=60))
    assert (await identity.exchange(code, verifier)).status_code == 200


def _assert_error_page(response: httpx.Response) -> None:
    """Shown to the person, never sent to an unverified redirect_uri (RFC 6749 §4.1.2.1)."""
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "Không thể tiếp tục đăng nhập" in response.text


BAD_REQUESTS: list[tuple[dict[str, str | None], str]] = [
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),  # no PKCE
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),
    ({"code_challenge": "too-short"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),  # no implicit flow
    ({"scope": "openid open311"}, "invalid_scope"),  # beyond what demo-web may ask
]


async def test_bad_authorization_requests(identity: IdentityService) -> None:
    challenge = new_pkce()[1]
    good = await identity.client.get("/oauth2/authorize", params=identity.authorize_params(challenge))
    assert good.status_code == 200
    page = parse_page(good.text)
    assert page.error is None
    assert {"username", "password", "otp"} <= page.inputs.keys()

    # An unknown client or an unregistered redirect_uri: an error page, never a redirect to an unverified place.
    unknown_client = identity.authorize_params(challenge, client_id="no-such-app")
    _assert_error_page(await identity.client.get("/oauth2/authorize", params=unknown_client))
    unregistered = identity.authorize_params(challenge, redirect_uri="https://evil.example/callback")
    _assert_error_page(await identity.client.get("/oauth2/authorize", params=unregistered))
    prefix = identity.authorize_params(challenge, redirect_uri=REDIRECT_URI + ".evil.example")
    _assert_error_page(await identity.client.get("/oauth2/authorize", params=prefix))
    _assert_error_page(await identity.client.get("/oauth2/authorize"))
    posted = await identity.client.post(
        "/oauth2/authorize", data=unregistered | {"username": CITIZEN_L2, "password": "Demo@12345"}
    )
    _assert_error_page(posted)
    _assert_error_page(await identity.client.post("/oauth2/authorize", json={"username": CITIZEN_L2}))
    # A confidential partner has no redirect URI: it cannot use the login page at all.
    partner = identity.authorize_params(challenge, client_id=PARTNER)
    _assert_error_page(await identity.client.get("/oauth2/authorize", params=partner))
    # A NUL character, in the query or in the login form: the error page, as for any unreadable request.
    with_nul = identity.authorize_params(challenge, state="a\x00b")
    _assert_error_page(await identity.client.get("/oauth2/authorize", params=with_nul))
    form_nul = identity.authorize_params(challenge) | {"username": "a\x00b", "password": "x"}
    _assert_error_page(await identity.client.post("/oauth2/authorize", data=form_nul))

    # Anything else wrong goes back to the app, with its state, as RFC 6749 §4.1.2.1 says.
    for change, error in BAD_REQUESTS:
        params: dict[str, str] = identity.authorize_params(new_pkce()[1], state="xyz-789")
        for name, value in change.items():
            if value is None:
                params.pop(name)
            else:
                params[name] = value
        response = await identity.client.get("/oauth2/authorize", params=params)
        assert response.status_code == 302, (change, response.text)
        location = response.headers["location"]
        assert location.startswith(REDIRECT_URI + "?")
        query = query_of(location)
        assert query["error"] == error, change
        assert query["state"] == "xyz-789"
        assert "code" not in query


async def test_racing_uses_of_one_code_or_refresh_token_win_once(identity: IdentityService) -> None:
    """Two copies of a code or refresh token presented at once (a leak being exploited): one wins, the rest
    get invalid_grant, and the reuse revokes what the winner obtained."""
    code, verifier = await identity.authorization_code(CITIZEN_L2)
    exchanges = await asyncio.gather(*(identity.exchange(code, verifier) for _ in range(3)))
    assert sorted(r.status_code for r in exchanges) == [200, 400, 400]
    assert all(r.json()["error"] == "invalid_grant" for r in exchanges if r.status_code == 400)
    [winner] = [r.json() for r in exchanges if r.status_code == 200]
    _oauth_error(await identity.refresh(winner["refresh_token"]), 400, "invalid_grant")

    tokens = await identity.log_in(CITIZEN_L2)
    refreshes = await asyncio.gather(*(identity.refresh(tokens["refresh_token"]) for _ in range(3)))
    assert sorted(r.status_code for r in refreshes) == [200, 400, 400]
    [rotated] = [r.json() for r in refreshes if r.status_code == 200]
    _oauth_error(await identity.refresh(rotated["refresh_token"]), 400, "invalid_grant")
