"""Rotating the token-signing key without a single failed request (DESIGN §6): the next key is published
before it signs, and the retired one stays published while tokens it signed are alive."""

from __future__ import annotations

from identity_harness import ADMIN, CITIZEN_L2, RECEIVER, IdentityService, otp

from egov_shared.auth.tokens import read_header


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_key_rotation_fails_no_request(identity: IdentityService) -> None:
    token_a = (await identity.log_in(CITIZEN_L2))["access_token"]
    # Only an administrator rotates keys.
    before = await identity.jwks()
    assert (await identity.client.post("/api/v1/identity/keys/rotate")).status_code == 401
    clerk = (await identity.log_in(RECEIVER))["access_token"]
    for token in (token_a, clerk):
        response = await identity.client.post("/api/v1/identity/keys/rotate", headers=_bearer(token))
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")
    assert await identity.jwks() == before

    admin = (await identity.log_in(ADMIN, otp=otp()))["access_token"]
    kid_a = read_header(token_a)["kid"]
    assert read_header(admin)["kid"] == kid_a

    # A gateway that fetched the JWKS before the rotation and has not refreshed it since.
    captured = await identity.jwks()
    cached_verifier = await identity.verifier(captured)
    captured_kids = {key["kid"] for key in captured["keys"]}
    assert kid_a in captured_kids
    assert len(captured_kids) == 2

    rotated = await identity.client.post("/api/v1/identity/keys/rotate", headers=_bearer(admin))
    assert rotated.status_code == 200, rotated.text
    new_kid = rotated.json()["active_kid"]
    assert new_kid != kid_a
    assert new_kid in captured_kids  # it was published before it signed anything

    token_b = (await identity.log_in(CITIZEN_L2))["access_token"]
    assert read_header(token_b)["kid"] == new_kid
    assert (await cached_verifier.verify(token_a)).subject == (await cached_verifier.verify(token_b)).subject

    after = {key["kid"] for key in (await identity.jwks())["keys"]}
    assert {kid_a, new_kid} <= after  # the retired key stays until its tokens have expired
    assert len(after) == 3  # and a new next key is already published

    # The service itself still accepts both.
    for token in (token_a, token_b):
        assert (await identity.client.get("/api/v1/identity/me", headers=_bearer(token))).status_code == 200
