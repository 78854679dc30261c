"""Short-lived signed URLs: whoever holds one may download that file until it expires."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid


def sign(secret: str, file_id: uuid.UUID, expires: int) -> str:
    message = f"{file_id}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_path(
    secret: str, file_id: uuid.UUID, *, ttl_seconds: int, now: float | None = None
) -> tuple[str, int]:
    expires = int((time.time() if now is None else now) + ttl_seconds)
    return (
        f"/api/v1/files/signed/{file_id}?expires={expires}&signature={sign(secret, file_id, expires)}",
        expires,
    )


def check(secret: str, file_id: uuid.UUID, expires: int, signature: str, *, now: float | None = None) -> bool:
    if expires < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(sign(secret, file_id, expires), signature)
