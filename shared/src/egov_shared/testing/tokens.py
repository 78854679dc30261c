"""A test issuer: signs access tokens exactly as svc-identity does, with its own key, for other services' tests."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from joserfc.jwk import RSAKey

from egov_shared.auth.issuing import new_signing_key, public_jwk, sign_access_token
from egov_shared.auth.jwks import StaticKeys
from egov_shared.auth.tokens import KeySource

TEST_ISSUER = "http://localhost:8000"


class TestIssuer:
    __test__ = False  # not a pytest test class

    def __init__(self, issuer: str = TEST_ISSUER) -> None:
        self.issuer = issuer
        self.key = new_signing_key()

    def jwks(self) -> dict[str, Any]:
        return {"keys": [public_jwk(self.key)]}

    def keys(self) -> StaticKeys:
        return StaticKeys(self.jwks())

    def citizen(
        self, subject: str = "citizen-1", *, level: int = 2, name: str = "Nguyễn Văn An", **kw: Any
    ) -> str:
        return sign_access_token(
            self.key,
            issuer=self.issuer,
            subject=subject,
            kind="citizen",
            client_id=kw.pop("client_id", "demo-web"),
            scopes=kw.pop("scopes", ("openid", "profile")),
            acr=f"vneid:{level}",
            name=name,
            **kw,
        )

    def official(
        self,
        subject: str = "official-1",
        *,
        agency: str = "000.00.00.H27",
        roles: Iterable[str] = (),
        **kw: Any,
    ) -> str:
        return sign_access_token(
            self.key,
            issuer=self.issuer,
            subject=subject,
            kind="official",
            client_id=kw.pop("client_id", "demo-web"),
            scopes=kw.pop("scopes", ("openid", "profile")),
            acr=kw.pop("acr", "vneid:2"),
            name=kw.pop("name", "Cán bộ"),
            agency=agency,
            roles=roles,
            **kw,
        )

    def client(
        self, client_id: str = "demo-partner", *, scopes: Iterable[str] = ("open311",), **kw: Any
    ) -> str:
        return sign_access_token(
            self.key,
            issuer=self.issuer,
            subject=client_id,
            kind="client",
            client_id=client_id,
            scopes=scopes,
            **kw,
        )


class CombinedKeys:
    """Trust the keys of several issuers' key sets (a test issuer's beside svc-identity's own)."""

    def __init__(self, *sources: KeySource) -> None:
        self.sources = sources

    async def get(self, kid: str) -> RSAKey | None:
        for source in self.sources:
            key = await source.get(kid)
            if key is not None:
                return key
        return None
