"""Administration: officials (with their second factor), agencies (an event for every change), and the demo
data seeded idempotently."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from identity_harness import ADMIN, PROVINCE, RECEIVER, IdentityService, identity_service, otp
from sqlalchemy import func, select

from egov_identity.agencies.models import Agency
from egov_identity.agencies.service import republish_tree
from egov_identity.clients.models import OAuthClient
from egov_identity.keys.models import SigningKey
from egov_identity.people.models import Citizen, Official
from egov_shared import tables
from egov_shared.testing.backends import BusConfig
from egov_shared.totp import totp_code

OFFICIALS = "/api/v1/identity/officials"
AGENCIES = "/api/v1/identity/agencies"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _official(username: str, roles: list[str]) -> dict[str, Any]:
    return {
        "username": username,
        "full_name": "Trần Văn Ký",
        "agency_code": PROVINCE,
        "roles": roles,
        "password": "CanBo@2026x",
    }


def _status(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text


async def test_an_administrator_creates_officials(identity: IdentityService) -> None:
    admin = _bearer((await identity.log_in(ADMIN, otp=otp()))["access_token"])

    signer = await identity.client.post(OFFICIALS, json=_official("kyso.h27", ["signer"]), headers=admin)
    _status(signer, 201)
    created = signer.json()
    assert created["roles"] == ["signer"]
    assert created["second_factor"] is True
    uri = created["totp_provisioning_uri"]
    assert uri.startswith("otpauth://totp/")
    secret = dict(parse_qsl(urlsplit(uri).query))["secret"]

    # The new official enrols the secret in an authenticator app and logs in with it.
    tokens = await identity.log_in("kyso.h27", "CanBo@2026x", otp=totp_code(secret))
    principal = await (await identity.verifier()).verify(tokens["access_token"])
    assert principal.subject == created["id"]
    assert principal.roles == {"signer"}
    assert principal.acr == "vneid:2"

    clerk = await identity.client.post(
        OFFICIALS, json=_official("tiepnhan2.h27", ["receiver"]), headers=admin
    )
    _status(clerk, 201)
    assert clerk.json()["totp_provisioning_uri"] is None
    assert clerk.json()["second_factor"] is False

    _status(
        await identity.client.post(OFFICIALS, json=_official("kyso.h27", ["receiver"]), headers=admin), 409
    )
    _status(
        await identity.client.post(OFFICIALS, json=_official("vaitro.h27", ["emperor"]), headers=admin), 422
    )
    foreign = _official("ngoaitinh.h27", ["receiver"]) | {"agency_code": "000.00.00.H29"}
    _status(
        await identity.client.post(OFFICIALS, json=foreign, headers=admin), 404
    )  # outside the admin's tree

    listed = await identity.client.get(OFFICIALS, headers=admin)
    _status(listed, 200)
    assert {"kyso.h27", "tiepnhan2.h27", ADMIN} <= {o["username"] for o in listed.json()}


async def test_agencies_and_who_administers(identity: IdentityService) -> None:
    # Only administrators administer.
    receiver = _bearer((await identity.log_in(RECEIVER))["access_token"])
    agency = {"code": "000.00.15.H27", "name": "Sở Y tế", "kind": "department", "parent_code": PROVINCE}
    for method, path, body in [
        ("POST", OFFICIALS, _official("kyso.h27", ["signer"])),
        ("GET", OFFICIALS, None),
        ("POST", AGENCIES, agency),
        ("GET", "/api/v1/identity/clients", None),
    ]:
        _status(await identity.client.request(method, path, json=body, headers=receiver), 403)
        _status(await identity.client.request(method, path, json=body), 401)
    async with identity.runtime.sessionmaker() as session:
        assert await session.scalar(select(Official.id).where(Official.username == "kyso.h27")) is None
        assert await session.get(Agency, "000.00.15.H27") is None

    # Every change of an agency is published for the services that keep a copy of the tree.
    admin = _bearer((await identity.log_in(ADMIN, otp=otp()))["access_token"])
    body = {"code": "000.00.14.H27", "name": "Sở Y tế", "kind": "department", "parent_code": PROVINCE}
    created = await identity.client.post(AGENCIES, json=body, headers=admin)
    _status(created, 201)
    assert created.json()["version"] == 1

    event = await identity.wait_published("identity.agency_upserted", lambda d: d["code"] == "000.00.14.H27")
    assert event["data"]["name"] == "Sở Y tế"
    assert event["data"]["parent_code"] == PROVINCE
    assert event["subject"] == "000.00.14.H27"
    assert event["source"] == "svc-identity"

    renamed = await identity.client.patch(
        f"{AGENCIES}/000.00.14.H27",
        json={"name": "Sở Y tế tỉnh"},
        headers=admin | {"If-Match": created.headers["etag"]},
    )
    _status(renamed, 200)
    await identity.wait_published(
        "identity.agency_upserted", lambda d: d["code"] == "000.00.14.H27" and d["name"] == "Sở Y tế tỉnh"
    )
    _status(await identity.client.post(AGENCIES, json=body, headers=admin), 409)
    listed = await identity.client.get(AGENCIES)  # the tree is public
    assert "000.00.14.H27" in {a["code"] for a in listed.json()}


async def _counts(service: IdentityService) -> dict[str, int]:
    async with service.runtime.sessionmaker() as session:

        async def count(model: Any, *where: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

        return {
            "agencies": await count(Agency),
            "citizens": await count(Citizen),
            "officials": await count(Official),
            "clients": await count(OAuthClient),
            "signing_keys": await count(SigningKey),
            "events": await count(tables.outbox),
        }


async def test_demo_data_is_seeded_once(database_url: str, bus_config: BusConfig) -> None:
    async with identity_service(database_url, bus_config) as first:
        seeded = await _counts(first)
        # Clients: the web app, the partner agency and svc-payment (it signs receipts).
        assert (seeded["citizens"], seeded["officials"], seeded["clients"], seeded["signing_keys"]) == (
            2,
            5,
            3,
            2,
        )
        assert seeded["agencies"] >= 1 + 5 + 9  # the province, its departments, its communes and wards
        # Each seeded agency was announced, as were the citizens.
        assert seeded["events"] == seeded["agencies"] + seeded["citizens"]
    async with identity_service(database_url, bus_config) as second:
        assert await _counts(second) == seeded
        assert (await second.client.get(f"{AGENCIES}/{PROVINCE}")).status_code == 200


async def test_the_agency_tree_is_published_again_for_services_that_missed_it(
    database_url: str, bus_config: BusConfig
) -> None:
    async with identity_service(database_url, bus_config) as service:
        before = await _counts(service)
        async with service.runtime.new_uow() as uow:
            published = await republish_tree(uow)
        after = await _counts(service)
        assert published == before["agencies"]
        assert after["events"] == before["events"] + before["agencies"]
