"""PKCE S256 (RFC 7636): the token endpoint's check of code_verifier against code_challenge."""

from __future__ import annotations

import base64
import hashlib

import pytest

from egov_identity.oauth.grants import pkce_matches

# RFC 7636 Appendix B: the 32 octets there, base64url-encoded, and the S256 challenge of that string.
RFC_OCTETS = bytes(
    [116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186]
    + [22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121]
)
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def test_the_rfc_7636_appendix_b_example_matches() -> None:
    assert base64.urlsafe_b64encode(RFC_OCTETS).rstrip(b"=").decode() == RFC_VERIFIER
    assert pkce_matches(RFC_VERIFIER, RFC_CHALLENGE)


@pytest.mark.parametrize(
    "verifier",
    [
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",  # one letter's case changed
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX",  # 42 characters: too short, and another digest
        RFC_VERIFIER + "a",
    ],
)
def test_another_verifier_does_not_match(verifier: str) -> None:
    assert not pkce_matches(verifier, RFC_CHALLENGE)


def test_the_challenge_must_be_unpadded_base64url_exactly() -> None:
    assert not pkce_matches(RFC_VERIFIER, RFC_CHALLENGE + "=")
    assert not pkce_matches(RFC_VERIFIER, RFC_CHALLENGE.lower())
    # "plain" would send the verifier itself as the challenge: S256 only.
    assert not pkce_matches(RFC_VERIFIER, RFC_VERIFIER)


@pytest.mark.parametrize("length", [43, 128])
def test_verifiers_of_the_allowed_lengths_match(length: int) -> None:
    verifier = ("aZ09-._~" * 20)[:length]
    assert pkce_matches(verifier, s256(verifier))


@pytest.mark.parametrize(
    "verifier",
    [
        "a" * 42,  # shorter than 43
        "a" * 129,  # longer than 128
        "a" * 42 + "+",  # not an unreserved character
        "a" * 42 + "/",
        "a" * 42 + " ",
        "á" * 43,  # not ASCII
    ],
)
def test_malformed_verifiers_never_match_even_their_own_digest(verifier: str) -> None:
    assert not pkce_matches(verifier, s256(verifier))
