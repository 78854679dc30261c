"""Secrets at rest: encryption under the key-encryption key, and keyed hashes for look-ups (DESIGN §3, §6).

Private keys, personal ID numbers and provider secrets are stored encrypted (AES-256-GCM, a fresh nonce each
time) under a key derived from ``EGOV_KEY_ENCRYPTION_KEY``, so every replica reads what any replica wrote. A
keyed hash (HMAC-SHA-256 under another derived key) lets a service find a row by ID number without storing it
in clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12
_VERSION = b"\x01"


def derive_key(secret: bytes, info: bytes, *, salt: bytes | None = None) -> bytes:
    """A 32-byte key for one purpose (``info``), derived from ``secret`` with HKDF-SHA-256."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret)


def _derive(master: str, purpose: str) -> bytes:
    return derive_key(master.encode(), purpose.encode(), salt=b"egov-kek-v1")


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> str:
    """AES-256-GCM under ``key`` with a fresh nonce, as URL-safe base64 text of version, nonce and ciphertext."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, associated_data)
    return base64.urlsafe_b64encode(_VERSION + nonce + sealed).decode()


def unseal(key: bytes, token: str, associated_data: bytes) -> bytes:
    """The plaintext of :func:`seal`: ``ValueError`` if malformed, ``InvalidTag`` if tampered with."""
    raw = base64.urlsafe_b64decode(token.encode())
    if raw[:1] != _VERSION:
        raise ValueError("unknown secret box version")
    nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
    return AESGCM(key).decrypt(nonce, sealed, associated_data)


class SecretBox:
    """Encrypts small secrets under a key derived from the key-encryption key for one ``purpose``."""

    def __init__(self, key_encryption_key: str, purpose: str) -> None:
        self._key = _derive(key_encryption_key, f"encrypt:{purpose}")
        self._purpose = purpose.encode()

    def encrypt(self, plaintext: bytes) -> str:
        return seal(self._key, plaintext, self._purpose)

    def decrypt(self, token: str) -> bytes:
        return unseal(self._key, token, self._purpose)

    def encrypt_text(self, plaintext: str) -> str:
        return self.encrypt(plaintext.encode())

    def decrypt_text(self, token: str) -> str:
        return self.decrypt(token).decode()


class KeyedHash:
    """A deterministic, keyed digest for finding rows by a secret value (an ID number) without storing it."""

    def __init__(self, key_encryption_key: str, purpose: str) -> None:
        self._key = _derive(key_encryption_key, f"hash:{purpose}")

    def digest(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()


def random_token(nbytes: int = 32) -> str:
    """An unguessable URL-safe token (authorization codes, refresh tokens, lookup secrets)."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """How a bearer secret is stored: its SHA-256, so a database leak gives no usable token."""
    return hashlib.sha256(token.encode()).hexdigest()
