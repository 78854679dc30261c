"""The secrets svc-identity keeps at rest, each under its own key derived from the key-encryption key."""

from __future__ import annotations

from egov_shared.crypto import KeyedHash, SecretBox


class Vault:
    def __init__(self, key_encryption_key: str) -> None:
        self.id_numbers = SecretBox(key_encryption_key, "identity:citizen-id-number")
        self.id_number_hash = KeyedHash(key_encryption_key, "identity:citizen-id-number")
        self.signing_keys = SecretBox(key_encryption_key, "identity:signing-keys")
        self.totp = SecretBox(key_encryption_key, "identity:totp")
        self.account_names = KeyedHash(key_encryption_key, "identity:login-throttle")
