"""TOTP second factors (RFC 6238: SHA-1, 6 digits, 30 s steps): svc-identity checks them at login, and tests
and benchmarks compute them to log in as the demo officials."""

from __future__ import annotations

import base64
import hmac
import os
import time

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

TOTP_PERIOD_SECONDS = 30
TOTP_DIGITS = 6


def new_totp_secret() -> str:
    """160 random bits, base32 (what authenticator apps expect)."""
    return base64.b32encode(os.urandom(20)).decode()


def _totp(secret: str) -> TOTP:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    # The demo secret of DESIGN §9 is 80 bits; new secrets are 160. Authenticator apps accept both.
    return TOTP(key, TOTP_DIGITS, SHA1(), TOTP_PERIOD_SECONDS, enforce_key_length=False)


def totp_code(secret: str, at: float | None = None) -> str:
    return _totp(secret).generate(int(time.time() if at is None else at)).decode()


def totp_provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    return _totp(secret).get_provisioning_uri(account, issuer)


def accept_totp(secret: str, code: str, *, last_step: int | None, now: float | None = None) -> int | None:
    """The time step the code belongs to if it is valid now (one step of clock drift either way) and newer
    than the last accepted one; otherwise None."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = _totp(secret)
    moment = time.time() if now is None else now
    current = int(moment // TOTP_PERIOD_SECONDS)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate(step * TOTP_PERIOD_SECONDS).decode(), code):
            if last_step is not None and step <= last_step:
                return None
            return step
    return None
