"""The token endpoint's other grants, and what happens to tokens afterwards: refresh rotation with reuse
detection, introspection (RFC 7662), revocation (RFC 7009) and logout."""

from __future__ import annotations

from typing import Any

import httpx
from identity_harness import CITIZEN_L1, CITIZEN_L2, PARTNER, PARTNER_SECRET, WEB_CLIENT, IdentityService


def _oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == error, body
    assert isinstance(body.get("error_description"), str)


async def test_partner_gets_a_token_with_client_credentials(identity: IdentityService) -> None:
    basic = await identity.partner_token()
    assert basic.status_code == 200, basic.text
    body = basic.json()
    assert body["token_type"] == "Bearer"
    assert "refresh_token" not in body  # a client acting for itself has nothing to refresh
    assert set(body["scope"].split()) == {"open311", "documents.exchange"}
    principal = await (await identity.verifier()).verify(body["access_token"])
    assert (principal.kind, principal.subject, principal.client_id) == ("client", PARTNER, PARTNER)
    assert principal.scopes == {"open311", "documents.exchange"}
    assert principal.session_id is None

    # client_secret_post, asking for less than allowed
    posted = await identity.token_request(
        {
            "grant_type": "client_credentials",
            "client_id": PARTNER,
            "client_secret": PARTNER_SECRET,
            "scope": "open311",
        }
    )
    assert posted.status_code == 200, posted.text
    assert posted.json()["scope"] == "open311"
    assert (await (await identity.verifier()).verify(posted.json()["access_token"])).scopes == {"open311"}

    beyond = await identity.partner_token(scope="open311 payments.notify")
    _oauth_error(beyond, 400, "invalid_scope")

    public = await identity.token_request({"grant_type": "client_credentials", "client_id": WEB_CLIENT})
    _oauth_error(public, 400, "unauthorized_client")

    wrong = await identity.token_request({"grant_type": "client_credentials"}, auth=(PARTNER, "wrong-secret"))
    _oauth_error(wrong, 401, "invalid_client")
    assert wrong.headers["www-authenticate"].startswith("Basic")

    wrong_post = await identity.token_request(
        {"grant_type": "client_credentials", "client_id": PARTNER, "client_secret": "wrong-secret"}
    )
    _oauth_error(wrong_post, 401, "invalid_client")
    missing = await identity.token_request({"grant_type": "client_credentials", "client_id": PARTNER})
    _oauth_error(missing, 401, "invalid_client")


async def test_refresh_tokens_rotate_and_a_reused_one_revokes_its_family(identity: IdentityService) -> None:
    first = await identity.log_in(CITIZEN_L1)
    subject = (await (await identity.verifier()).verify(first["access_token"])).subject

    rotated = await identity.refresh(first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    second: dict[str, Any] = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    principal = await (await identity.verifier()).verify(second["access_token"])
    assert principal.subject == subject
    assert principal.acr == "vneid:1"
    assert principal.scopes == {"openid", "profile"}

    # The old token again: someone holds a copy. Refused, and its child dies with it.
    _oauth_error(await identity.refresh(first["refresh_token"]), 400, "invalid_grant")
    _oauth_error(await identity.refresh(second["refresh_token"]), 400, "invalid_grant")

    # Another client cannot use a refresh token it was not given.
    other = await identity.log_in(CITIZEN_L1)
    stolen = await identity.token_request(
        {"grant_type": "refresh_token", "refresh_token": other["refresh_token"]},
        auth=(PARTNER, PARTNER_SECRET),
    )
    assert stolen.status_code == 400
    assert stolen.json()["error"] in {"invalid_grant", "unauthorized_client"}
    assert (await identity.refresh(other["refresh_token"])).status_code == 200


async def _introspect(identity: IdentityService, token: str, auth: tuple[str, str]) -> httpx.Response:
    return await identity.client.post("/oauth2/introspect", data={"token": token}, auth=auth)


async def _introspect_as_partner(identity: IdentityService, token: str) -> dict[str, Any]:
    response = await _introspect(identity, token, (PARTNER, PARTNER_SECRET))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _revoke(identity: IdentityService, token: str, client_id: str = WEB_CLIENT) -> httpx.Response:
    data = {"token": token, "client_id": client_id}
    if client_id == PARTNER:
        data["client_secret"] = PARTNER_SECRET
    return await identity.client.post("/oauth2/revoke", data=data)


async def test_introspection_and_revocation(identity: IdentityService) -> None:
    tokens = await identity.log_in(CITIZEN_L2)
    access, refresh = tokens["access_token"], tokens["refresh_token"]

    # Only confidential clients may introspect.
    refused = await identity.client.post(
        "/oauth2/introspect", data={"token": access, "client_id": WEB_CLIENT}
    )
    _oauth_error(refused, 401, "invalid_client")

    active = await _introspect_as_partner(identity, access)
    assert active["active"] is True
    assert active["token_type"] == "access_token"
    assert active["client_id"] == WEB_CLIENT
    assert active["acr"] == "vneid:2"
    assert active["sub_type"] == "citizen"
    assert active["iss"] == identity.settings.issuer
    assert set(active["scope"].split()) == {"openid", "profile"}
    assert CITIZEN_L2 not in str(active)
    assert (await _introspect_as_partner(identity, refresh))["active"] is True
    assert await _introspect_as_partner(identity, "not-a-token") == {"active": False}

    # A client cannot revoke another's tokens (RFC 7009 still answers 200).
    for token in (access, refresh):
        assert (await _revoke(identity, token, PARTNER)).status_code == 200
        assert (await _introspect_as_partner(identity, token))["active"] is True

    revoked = await _revoke(identity, access)
    assert revoked.status_code == 200
    assert (await _introspect_as_partner(identity, access)) == {"active": False}
    userinfo = await identity.client.get("/oauth2/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert userinfo.status_code == 401

    assert (await _revoke(identity, refresh)).status_code == 200
    assert (await _introspect_as_partner(identity, refresh)) == {"active": False}
    _oauth_error(await identity.refresh(refresh), 400, "invalid_grant")

    # Unknown and already revoked tokens: still 200, nothing to tell an attacker.
    assert (await _revoke(identity, "never-issued")).status_code == 200
    assert (await _revoke(identity, refresh)).status_code == 200
    # But the client must still authenticate.
    _oauth_error(
        await identity.client.post("/oauth2/revoke", data={"token": refresh, "client_id": "nobody"}),
        401,
        "invalid_client",
    )


async def test_logout_ends_the_session_and_its_refresh_tokens(identity: IdentityService) -> None:
    tokens = await identity.log_in(CITIZEN_L2)
    other_session = await identity.log_in(CITIZEN_L2)

    anonymous = await identity.client.post("/oauth2/logout")
    assert anonymous.status_code == 401

    response = await identity.client.post(
        "/oauth2/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "logged_out"}
    assert await _introspect_as_partner(identity, tokens["refresh_token"]) == {"active": False}
    _oauth_error(await identity.refresh(tokens["refresh_token"]), 400, "invalid_grant")
    # The access token used to log out stops working at once.
    assert await _introspect_as_partner(identity, tokens["access_token"]) == {"active": False}
    userinfo = await identity.client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.status_code == 401
    # Another login of the same person (another device) is not affected.
    assert (await identity.refresh(other_session["refresh_token"])).status_code == 200


async def test_expired_oauth_state_is_forgotten(identity: IdentityService) -> None:
    import datetime as dt

    from sqlalchemy import func, select, update

    from egov_identity.config import Settings
    from egov_identity.oauth.cleanup import forget_expired
    from egov_identity.oauth.models import AuthorizationCode, LoginThrottle, RefreshToken

    tokens = await identity.log_in(CITIZEN_L2)
    await identity.client.post(
        "/oauth2/authorize",
        data={
            **identity.authorize_params("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
            "username": "099999999999",
            "password": "sai",
        },
    )
    sessionmaker = identity.app.state.runtime.sessionmaker
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=60)
    async with sessionmaker() as session, session.begin():
        await session.execute(update(AuthorizationCode).values(expires_at=long_ago))
        await session.execute(update(LoginThrottle).values(window_started_at=long_ago))
        await session.execute(update(RefreshToken).values(expires_at=long_ago))
    await forget_expired(sessionmaker, Settings())
    async with sessionmaker() as session:
        for table in (AuthorizationCode, LoginThrottle, RefreshToken):
            assert await session.scalar(select(func.count()).select_from(table)) == 0, table
    assert tokens["refresh_token"]
