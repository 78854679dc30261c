"""The login form: officials' second factor (TOTP) on the same form or a second one, assurance levels, and
throttling of failed logins without revealing which accounts exist."""

from __future__ import annotations

import asyncio
import time

import httpx
from identity_harness import (
    ADMIN,
    CITIZEN_L1,
    CITIZEN_L2,
    FINANCE,
    PASSWORD,
    PROVINCE,
    RECEIVER,
    REDIRECT_URI,
    SIGNER,
    TOTP_SECRET,
    IdentityService,
    new_pkce,
    otp,
    parse_page,
    query_of,
)

from egov_shared.totp import totp_code


def _wrong_otp() -> str:
    """A well-formed code that is valid at no step the server would accept now."""
    now = time.time()
    valid = {totp_code(TOTP_SECRET, at=now + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "123456", "999999", "424242", "731905") if code not in valid)


def _refused(response: httpx.Response) -> str:
    """The page of a refused login: 401, in Vietnamese, with the form to try again; returns the message."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "location" not in response.headers
    page = parse_page(response.text)
    assert page.error, response.text
    assert "password" in page.inputs
    return page.error


async def test_an_official_gives_the_second_factor_on_the_same_form(identity: IdentityService) -> None:
    code = otp()
    tokens = await identity.log_in(SIGNER, otp=code)
    principal = await (await identity.verifier()).verify(tokens["access_token"])
    assert principal.kind == "official"
    assert principal.agency == PROVINCE
    assert principal.roles == {"approver", "signer"}
    assert principal.acr == "vneid:2"  # password and a second factor

    userinfo = await identity.client.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.status_code == 200
    assert userinfo.json()["preferred_username"] == SIGNER
    assert userinfo.json()["agency"] == PROVINCE
    me = await identity.client.get(
        "/api/v1/identity/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["second_factor"] is True

    # The same code again, even with the right password: a TOTP code is good once.
    replay = _refused(await identity.submit_login(SIGNER, otp=code))
    assert "OTP" in replay
    # The next step's code is accepted.
    assert (await identity.authorization_code(SIGNER, otp=otp(30)))[0]


async def test_a_code_is_good_once_even_for_concurrent_logins(identity: IdentityService) -> None:
    code = otp()
    responses = await asyncio.gather(*(identity.submit_login(SIGNER, otp=code) for _ in range(4)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(302) == 1, statuses
    # The others see the login page refusing the code, whether they lost on the code or on the row version.
    assert statuses == [302, 401, 401, 401], statuses


async def test_wrong_codes_and_wrong_passwords_are_refused(identity: IdentityService) -> None:
    wrong_otp = _refused(await identity.submit_login(FINANCE, otp=_wrong_otp()))
    assert "OTP" in wrong_otp
    wrong_password = _refused(await identity.submit_login(FINANCE, "Demo@54321", otp=otp()))
    assert wrong_password != wrong_otp
    assert "mật khẩu" in wrong_password
    # Neither refusal spent the code: it still logs in.
    tokens = await identity.log_in(FINANCE, otp=otp())
    assert (await (await identity.verifier()).verify(tokens["access_token"])).roles == {"finance"}


async def test_an_official_gives_the_second_factor_on_a_second_form(identity: IdentityService) -> None:
    verifier, challenge = new_pkce()
    first = await identity.submit_login(ADMIN, code_challenge=challenge)
    assert first.status_code == 200, first.text
    second_form = parse_page(first.text)
    assert {"ticket", "otp"} <= second_form.inputs.keys()
    assert "password" not in second_form.inputs  # the password is not asked twice, nor carried along
    assert PASSWORD not in first.text
    assert second_form.inputs["code_challenge"] == challenge

    wrong = await identity.client.post("/oauth2/authorize", data=second_form.inputs | {"otp": _wrong_otp()})
    assert "OTP" in _refused(wrong)
    forged = await identity.client.post(
        "/oauth2/authorize", data=second_form.inputs | {"ticket": "forged", "otp": otp()}
    )
    _refused(forged)
    # The ticket belongs to this authorization request: it cannot finish another one.
    other_request = second_form.inputs | {"code_challenge": new_pkce()[1], "otp": otp()}
    _refused(await identity.client.post("/oauth2/authorize", data=other_request))

    done = await identity.client.post("/oauth2/authorize", data=second_form.inputs | {"otp": otp()})
    assert done.status_code == 302, done.text
    query = query_of(done.headers["location"])
    assert query["state"] == second_form.inputs["state"]
    exchanged = await identity.exchange(query["code"], verifier)
    assert exchanged.status_code == 200, exchanged.text
    principal = await (await identity.verifier()).verify(exchanged.json()["access_token"])
    assert principal.roles == {"admin"}
    assert principal.acr == "vneid:2"

    # A ticket is good once.
    _refused(await identity.client.post("/oauth2/authorize", data=second_form.inputs | {"otp": otp(30)}))


async def test_assurance_levels(identity: IdentityService) -> None:
    # An official without a sensitive role logs in with a password only: level 1.
    tokens = await identity.log_in(RECEIVER)
    principal = await (await identity.verifier()).verify(tokens["access_token"])
    assert principal.roles == {"receiver"}
    assert principal.agency == PROVINCE
    assert principal.acr == "vneid:1"

    # An app demanding level 2 does not get a level-1 citizen.
    page = await identity.client.get(
        "/oauth2/authorize", params=identity.authorize_params(new_pkce()[1], acr_values="vneid:2")
    )
    assert page.status_code == 200
    assert "mức 2" in page.text

    refused = await identity.submit_login(CITIZEN_L1, acr_values="vneid:2", state="lvl")
    assert refused.status_code == 302
    location = refused.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = query_of(location)
    assert query["error"] == "unmet_authentication_requirements"
    assert query["state"] == "lvl"
    assert "code" not in query

    level_2 = await identity.log_in(CITIZEN_L2, acr_values="vneid:2")
    assert (await (await identity.verifier()).verify(level_2["access_token"])).acr == "vneid:2"


async def test_five_failures_lock_an_account_and_unknown_accounts_look_the_same(
    identity: IdentityService,
) -> None:
    async def five_failures_then_the_right_password(username: str) -> tuple[list[str], str]:
        failures = [_refused(await identity.submit_login(username, f"Sai@{i}2345")) for i in range(5)]
        return failures, _refused(await identity.submit_login(username, PASSWORD))

    known, known_locked = await five_failures_then_the_right_password(CITIZEN_L1)
    assert len(set(known)) == 1
    assert "không đúng" in known[0]  # Vietnamese: "... không đúng."
    assert known_locked != known[0]  # locked now, even with the right password
    assert "thử lại" in known_locked

    # An account that does not exist fails the same way: nothing tells an attacker which numbers are real.
    unknown, unknown_locked = await five_failures_then_the_right_password("038185000001")
    assert unknown == known
    assert unknown_locked == known_locked
    official, official_locked = await five_failures_then_the_right_password("khongco.h27")
    assert official == known
    assert official_locked == known_locked

    # The lock is on that account only.
    assert (await identity.authorization_code(CITIZEN_L2))[0]
