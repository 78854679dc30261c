"""The route table: which service owns a public path.

Services own full public paths and the gateway forwards them unchanged. A prefix matches itself and anything
below it (``/api/v1/dossiers`` matches ``/api/v1/dossiers/42`` but not ``/api/v1/dossiersx``).
"""

from __future__ import annotations

from typing import NamedTuple

SERVICES: tuple[str, ...] = ("identity", "dossier", "payment", "feedback", "document")

ROUTES: tuple[tuple[str, str], ...] = (
    ("/.well-known/openid-configuration", "identity"),
    ("/oauth2", "identity"),
    ("/api/v1/identity", "identity"),
    ("/api/v1/procedures", "dossier"),
    ("/api/v1/dossiers", "dossier"),
    ("/api/v1/invoices", "payment"),
    ("/api/v1/payments", "payment"),
    ("/api/v1/receipts", "payment"),
    ("/api/v1/feedback", "feedback"),
    ("/open311", "feedback"),
    ("/api/v1/files", "document"),
    ("/api/v1/documents", "document"),
    ("/api/v1/signatures", "document"),
    ("/api/v1/exchange", "document"),
)

# Routes reachable without an access token (DESIGN §6). The gateway asks no token there, but verifies one if
# it is sent (a forged token is refused everywhere); the services still authenticate the caller their own way
# (client secret, partner api_key, provider signature, signed URL). Keep these in step with the services.


class PublicRoute(NamedTuple):
    path: str
    # None: any method.
    methods: frozenset[str] | None = None
    # True: the path and everything below it; False: this exact path only.
    below: bool = True


_READ = frozenset({"GET", "HEAD"})

PUBLIC_ROUTES: tuple[PublicRoute, ...] = (
    PublicRoute("/.well-known/openid-configuration"),
    PublicRoute("/oauth2/jwks"),
    PublicRoute("/oauth2/authorize"),  # the login page and the form it posts
    PublicRoute("/oauth2/token"),
    PublicRoute("/oauth2/introspect"),
    PublicRoute("/oauth2/revoke"),
    PublicRoute("/oauth2/logout"),  # identity finds the session from the bearer token or an id_token_hint
    PublicRoute("/api/v1/identity/agencies", _READ),  # the agency tree; changing it is the administrators'
    # Self-registration only: /citizens/search and /citizens/{id}/verification below it are the counter's.
    PublicRoute("/api/v1/identity/citizens", frozenset({"POST"}), below=False),
    PublicRoute("/api/v1/procedures"),  # the procedure catalogue
    PublicRoute("/api/v1/dossiers/lookup"),  # public status by dossier code plus its secret
    PublicRoute("/api/v1/feedback/public"),
    PublicRoute("/open311"),
    PublicRoute(
        "/api/v1/payments/providers"
    ),  # provider callbacks (IPN), return page, bank credit notifications
    PublicRoute("/api/v1/receipts/verify"),
    PublicRoute("/api/v1/documents/verify"),
    PublicRoute("/api/v1/files/signed"),  # short-lived signed file URLs
)

_TABLE: dict[str, str] = dict(ROUTES)
_TABLE_DEPTH = max(prefix.count("/") for prefix, _ in ROUTES)
_PUBLIC: dict[str, PublicRoute] = {route.path: route for route in PUBLIC_ROUTES}
_PUBLIC_DEPTH = max(route.path.count("/") for route in PUBLIC_ROUTES)


def _path_prefixes(path: str, depth: int) -> list[str]:
    """``/a/b/c/d`` with depth 3 -> ``/a``, ``/a/b``, ``/a/b/c``."""
    out: list[str] = []
    current = ""
    for part in path.split("/", depth + 1)[1 : depth + 1]:
        current = f"{current}/{part}"
        out.append(current)
    return out


def resolve(path: str) -> str | None:
    """The service that owns ``path``, or None when no route matches (the longest prefix wins)."""
    for prefix in reversed(_path_prefixes(path, _TABLE_DEPTH)):
        service = _TABLE.get(prefix)
        if service is not None:
            return service
    return None


def is_public(method: str, path: str) -> bool:
    """True when ``method path`` needs no access token (see :data:`PUBLIC_ROUTES`)."""
    for prefix in _path_prefixes(path, _PUBLIC_DEPTH):
        route = _PUBLIC.get(prefix)
        if (
            route is not None
            and (route.below or prefix == path)
            and (route.methods is None or method in route.methods)
        ):
            return True
    return False
