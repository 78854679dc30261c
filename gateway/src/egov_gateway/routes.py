"""The route table: which service owns a public path.

Services own full public paths and the gateway forwards them unchanged. A prefix matches itself and anything
below it (``/api/v1/dossiers`` matches ``/api/v1/dossiers/42`` but not ``/api/v1/dossiersx``).
"""

from __future__ import annotations

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

# Routes reachable without an access token (DESIGN §6). The token check (a later issue) skips these; the
# services still authenticate the caller their own way (client secret, partner api_key, provider signature,
# signed URL). Paths below the service prefixes are the agreed names; keep them in step with the services.
PUBLIC_PREFIXES: tuple[str, ...] = (
    "/.well-known/openid-configuration",
    "/oauth2/jwks",
    "/oauth2/authorize",  # the login page and the form it posts
    "/oauth2/token",
    "/oauth2/introspect",
    "/oauth2/revoke",
    "/api/v1/procedures",  # the procedure catalogue
    "/api/v1/dossiers/lookup",  # public status by dossier code plus its secret
    "/api/v1/feedback/public",
    "/open311",
    "/api/v1/payments/providers",  # provider callbacks (IPN), return page, bank credit notifications
    "/api/v1/receipts/verify",
    "/api/v1/documents/verify",
    "/api/v1/files/signed",  # short-lived signed file URLs
)

_TABLE: dict[str, str] = dict(ROUTES)
_TABLE_DEPTH = max(prefix.count("/") for prefix, _ in ROUTES)
_PUBLIC = frozenset(PUBLIC_PREFIXES)
_PUBLIC_DEPTH = max(prefix.count("/") for prefix in PUBLIC_PREFIXES)


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


def is_public(path: str) -> bool:
    """True when ``path`` is at or below one of :data:`PUBLIC_PREFIXES`."""
    return any(prefix in _PUBLIC for prefix in _path_prefixes(path, _PUBLIC_DEPTH))
