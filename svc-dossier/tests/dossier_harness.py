"""Running svc-dossier on the backend under test: alone with a test token issuer, or with svc-identity and
svc-document behind a gateway (what submission and signing need)."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx

from egov_dossier.config import Settings
from egov_dossier.main import create_app
from egov_gateway.province import Province
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.files import minimal_pdf
from egov_shared.testing.services import ServiceUnderTest, service_under_test

PROVINCE = "000.00.00.H27"
JUSTICE = "000.00.10.H27"
CONSTRUCTION = "000.00.11.H27"
COMMUNE = "000.10.00.H27"
CITIZEN_L2 = "001099012345"
CITIZEN_L1 = "079203001234"
# Free, commune level, 1 working day: birth registration.
BIRTH = "1.001193.000.00.00.H27"
BIRTH_PARTS = ("to_khai", "giay_chung_sinh")
# Fee due at submission (8,000 VND), commune level: a copy of a civil-status extract.
EXTRACT = "2.000635.000.00.00.H27"
# Fee due before the result (150,000 VND), province level (construction department), 20 working days.
BUILDING = "1.009974.000.00.00.H27"
BUILDING_PARTS = ("don_de_nghi", "giay_to_dat", "ban_ve")
# Level 2 required: judicial record certificate.
JUDICIAL = "1.001023.000.00.00.H27"


class DossierService(ServiceUnderTest):
    pass


def dossier_service(
    database_url: str, bus_config: BusConfig, **overrides: Any
) -> AbstractAsyncContextManager[DossierService]:
    return service_under_test(
        create_app,
        Settings,
        database_url,
        bus_config,
        harness=DossierService,
        **{"demo_data": True, **overrides},
    )


class Desk:
    """The one-stop shop as the tests drive it: a province with identity, document and dossier, and its people."""

    def __init__(self, province: Province) -> None:
        self.p = province
        self.client: httpx.AsyncClient = province.client
        self.tokens: dict[str, str] = {}

    async def token(self, who: str) -> str:
        if who not in self.tokens:
            if who.isdigit():
                self.tokens[who] = await self.p.citizen_token(who)
            else:
                self.tokens[who] = await self.p.official_token(who)
        return self.tokens[who]

    async def auth(self, who: str) -> dict[str, str]:
        return self.p.auth(await self.token(who))

    def set_clock(self, at: dt.datetime | None) -> None:
        app = self.p.apps["dossier"]
        if at is None:
            app.state.clock = dt.datetime.now
            del app.state.clock
        else:
            app.state.clock = lambda: at

    async def upload(self, who: str, content: bytes | None = None, name: str = "giay-to.pdf") -> str:
        response = await self.client.post(
            "/api/v1/files",
            files={"file": (name, content or minimal_pdf(), "application/pdf")},
            headers=await self.auth(who),
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def submit(
        self,
        who: str = CITIZEN_L2,
        procedure: str = BIRTH,
        parts: tuple[str, ...] = BIRTH_PARTS,
        *,
        expect: int = 201,
        headers: dict[str, str] | None = None,
        **body: Any,
    ) -> dict[str, Any]:
        components = [{"code": code, "file_ids": [await self.upload(who)]} for code in parts]
        if procedure in (BIRTH, EXTRACT) and "agency_code" not in body:
            body["agency_code"] = COMMUNE
        response = await self.client.post(
            "/api/v1/dossiers",
            json={"procedure_code": procedure, "components": components, **body},
            headers={**await self.auth(who), **(headers or {})},
        )
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result

    async def get(self, who: str, dossier: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/dossiers/{dossier['id']}", headers=await self.auth(who))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def act(
        self, who: str, dossier: dict[str, Any], action: str, *, expect: int = 200, **body: Any
    ) -> dict[str, Any]:
        current = await self.get(who, dossier) if expect != 404 else dossier
        response = await self.client.post(
            f"/api/v1/dossiers/{dossier['id']}/{action}",
            json=body,
            headers={**await self.auth(who), "If-Match": f'"{current["version"]}"'},
        )
        assert response.status_code == expect, response.text
        result: dict[str, Any] = response.json()
        return result
