"""OAuth 2 errors in the protocol's own form (RFC 6749 §5.2), not problem details."""

from __future__ import annotations


class OAuthError(Exception):
    """``{"error": ..., "error_description": ...}`` with 400, or 401 for a client that failed to authenticate."""

    def __init__(
        self, error: str, description: str, *, status: int = 400, basic_challenge: bool = False
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.basic_challenge = basic_challenge


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


def invalid_client(*, basic: bool) -> OAuthError:
    return OAuthError("invalid_client", "Client authentication failed.", status=401, basic_challenge=basic)


class AuthorizeError(Exception):
    """An error of the authorization endpoint. ``redirect`` is False when the client or redirect URI cannot be
    trusted: then it is shown to the person instead of sent back (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str, *, redirect: bool) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect = redirect
