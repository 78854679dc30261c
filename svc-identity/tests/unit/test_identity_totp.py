"""TOTP second factor (RFC 6238): codes, the accepted window of one step either way, and replay refusal."""

from __future__ import annotations

import base64
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from egov_shared.totp import accept_totp, totp_code, totp_provisioning_uri

# RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890"; the 8-digit values there end
# with these 6 digits (a 6-digit code is the same HOTP value modulo 10^6).
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()
RFC_VECTORS = [
    (59, "287082"),  # 94287082
    (1111111109, "081804"),  # 07081804
    (1111111111, "050471"),  # 14050471
    (1234567890, "005924"),  # 89005924
    (2000000000, "279037"),  # 69279037
    (20000000000, "353130"),  # 65353130
]
DEMO_SECRET = "JBSWY3DPEHPK3PXP"  # 80 bits, DESIGN §9


@pytest.mark.parametrize(("at", "code"), RFC_VECTORS)
def test_codes_are_those_of_rfc_6238(at: int, code: str) -> None:
    assert totp_code(RFC_SECRET, at=at) == code
    assert accept_totp(RFC_SECRET, code, last_step=None, now=at) == at // 30


def test_a_code_is_accepted_one_step_early_or_late_and_no_further() -> None:
    at, code = 1111111109, "081804"  # step 37037036
    step = at // 30
    assert accept_totp(RFC_SECRET, code, last_step=None, now=at + 30) == step
    assert accept_totp(RFC_SECRET, code, last_step=None, now=at - 30) == step
    assert accept_totp(RFC_SECRET, code, last_step=None, now=at + 60) is None
    assert accept_totp(RFC_SECRET, code, last_step=None, now=at - 60) is None


def test_a_code_is_never_accepted_twice_nor_an_older_one_after_a_newer() -> None:
    at = 1234567890
    step = at // 30
    code = totp_code(DEMO_SECRET, at=at)
    assert accept_totp(DEMO_SECRET, code, last_step=None, now=at) == step
    assert accept_totp(DEMO_SECRET, code, last_step=step, now=at) is None  # replay
    assert accept_totp(DEMO_SECRET, code, last_step=step - 1, now=at) == step
    previous = totp_code(DEMO_SECRET, at=at - 30)
    assert accept_totp(DEMO_SECRET, previous, last_step=step, now=at) is None
    following = totp_code(DEMO_SECRET, at=at + 30)
    assert accept_totp(DEMO_SECRET, following, last_step=step, now=at) == step + 1


def test_a_wrong_code_or_one_of_another_secret_is_refused() -> None:
    at = 2000000000
    valid = {totp_code(DEMO_SECRET, at=at + d) for d in (-30, 0, 30)}
    wrong = next(c for c in ("000000", "111111", "123456") if c not in valid)
    assert accept_totp(DEMO_SECRET, wrong, last_step=None, now=at) is None
    other_secrets = totp_code(RFC_SECRET, at=at)
    assert other_secrets not in valid
    assert accept_totp(DEMO_SECRET, other_secrets, last_step=None, now=at) is None


@pytest.mark.parametrize("code", ["", "28708", "2870820", "28708a", "abcdef", "-28708"])
def test_malformed_codes_are_refused(code: str) -> None:
    assert accept_totp(RFC_SECRET, code, last_step=None, now=59) is None


def test_spaces_people_type_are_ignored() -> None:
    assert accept_totp(RFC_SECRET, " 287 082 ", last_step=None, now=59) == 1


def test_the_provisioning_uri_carries_the_secret_for_an_authenticator_app() -> None:
    uri = totp_provisioning_uri(DEMO_SECRET, account="lanhdao.h27", issuer="Cổng dịch vụ công tỉnh")
    parts = urlsplit(uri)
    query = dict(parse_qsl(parts.query))
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path).endswith(":lanhdao.h27")
    assert query["secret"] == DEMO_SECRET
    assert (query["digits"], query["algorithm"], query["period"]) == ("6", "SHA1", "30")
    assert query["issuer"] == "Cổng dịch vụ công tỉnh"
