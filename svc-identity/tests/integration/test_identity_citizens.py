"""Citizens: self-registration, in-person verification to level 2 at a counter, and their personal data kept
out of tokens, logs and the database in clear (DESIGN §6, Decree 13/2023/NĐ-CP)."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from typing import Any

import httpx
import pytest
from identity_harness import CITIZEN_L1, CITIZEN_L2, PROVINCE, RECEIVER, SPECIALIST, IdentityService
from sqlalchemy import select, text

from egov_identity.people.models import DataAccess

NEW_CITIZEN: dict[str, Any] = {
    "id_number": "001301004567",  # Hà Nội, 3 = female born in the 2000s, 01 = 2001
    "full_name": "Lê Thị Mai",
    "date_of_birth": "2001-03-04",
    "sex": "female",
    "password": "MatKhau@2026",
    "phone": "0901234567",
    "email": "mai.le@example.vn",
}
CITIZENS = "/api/v1/identity/citizens"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"]
    return body


async def test_a_citizen_registers_once(identity: IdentityService) -> None:
    created = await identity.client.post(CITIZENS, json=NEW_CITIZEN, headers={"Idempotency-Key": "reg-1"})
    assert created.status_code == 201, created.text
    citizen = created.json()
    assert citizen["id_number_masked"] == "001******567"
    assert citizen["assurance_level"] == 1
    assert citizen["full_name"] == "Lê Thị Mai"
    assert created.headers["location"] == f"{CITIZENS}/{citizen['id']}"
    assert created.headers["etag"] == f'"{citizen["version"]}"'
    assert NEW_CITIZEN["id_number"] not in created.text
    assert "password" not in citizen

    # A retry of the same request (a lost response) replays it rather than failing or registering twice.
    replay = await identity.client.post(CITIZENS, json=NEW_CITIZEN, headers={"Idempotency-Key": "reg-1"})
    assert replay.status_code == 201
    assert replay.json()["id"] == citizen["id"]
    assert replay.headers["idempotent-replayed"] == "true"
    other_body = NEW_CITIZEN | {"full_name": "Lê Thị Hoa"}
    _problem(await identity.client.post(CITIZENS, json=other_body, headers={"Idempotency-Key": "reg-1"}), 422)

    duplicate = _problem(await identity.client.post(CITIZENS, json=NEW_CITIZEN), 409)
    assert duplicate["code"] == "citizen.exists"

    event = await identity.wait_published(
        "identity.citizen_registered", lambda d: d["citizen_id"] == citizen["id"]
    )
    assert event["data"]["assurance_level"] == 1
    assert NEW_CITIZEN["id_number"] not in str(event)

    tokens = await identity.log_in(NEW_CITIZEN["id_number"], NEW_CITIZEN["password"])
    principal = await (await identity.verifier()).verify(tokens["access_token"])
    assert (principal.subject, principal.acr) == (citizen["id"], "vneid:1")


async def test_malformed_id_numbers_are_refused_on_the_field(identity: IdentityService) -> None:
    cases = {
        "11 digits": {"id_number": "00130100456"},
        "letters": {"id_number": "00130100456X"},
        "unknown province": {"id_number": "999301004567"},
        "sex digit says male": {"id_number": "001201004567"},
        "century says 1900s": {"id_number": "001101004567"},
        "year differs": {"id_number": "001301004567", "date_of_birth": "2002-03-04"},
    }
    for case, change in cases.items():
        response = await identity.client.post(CITIZENS, json=NEW_CITIZEN | change)
        body = _problem(response, 422)
        fields = [error["field"] for error in body.get("errors", [])]
        assert fields == ["id_number"], (case, body)
    bad_sex = await identity.client.post(CITIZENS, json=NEW_CITIZEN | {"sex": "other"})
    assert [e["field"] for e in _problem(bad_sex, 422)["errors"]] == ["sex"]


async def test_counter_staff_verify_a_citizen_in_person(identity: IdentityService) -> None:
    clerk_tokens = await identity.log_in(RECEIVER)
    clerk = _bearer(clerk_tokens["access_token"])
    clerk_id = (await (await identity.verifier()).verify(clerk_tokens["access_token"])).subject
    citizen_token = (await identity.log_in(CITIZEN_L1))["access_token"]

    found = await identity.client.post(f"{CITIZENS}/search", json={"id_number": CITIZEN_L1}, headers=clerk)
    assert found.status_code == 200, found.text
    citizen = found.json()
    assert citizen["assurance_level"] == 1
    assert citizen["id_number_masked"] == "079******234"
    etag = found.headers["etag"]
    assert etag == f'"{citizen["version"]}"'
    verification = f"{CITIZENS}/{citizen['id']}/verification"

    _problem(
        await identity.client.post(f"{CITIZENS}/search", json={"id_number": "038185000001"}, headers=clerk),
        404,
    )
    _problem(
        await identity.client.post(f"{CITIZENS}/search", json={"id_number": "12345"}, headers=clerk), 422
    )
    _problem(await identity.client.post(f"{CITIZENS}/search", json={"id_number": CITIZEN_L1}), 401)
    # A citizen can neither look others up nor raise their own level.
    as_citizen = _bearer(citizen_token)
    _problem(
        await identity.client.post(f"{CITIZENS}/search", json={"id_number": CITIZEN_L2}, headers=as_citizen),
        403,
    )
    _problem(await identity.client.post(verification, headers=as_citizen | {"If-Match": etag}), 403)

    # Nor can an official whose job is not the counter.
    specialist = _bearer((await identity.log_in(SPECIALIST))["access_token"])
    _problem(
        await identity.client.post(f"{CITIZENS}/search", json={"id_number": CITIZEN_L1}, headers=specialist),
        403,
    )
    _problem(await identity.client.post(verification, headers=specialist | {"If-Match": etag}), 403)

    _problem(await identity.client.post(verification, headers=clerk), 428)
    _problem(await identity.client.post(verification, headers=clerk | {"If-Match": '"99"'}), 412)
    verified = await identity.client.post(verification, headers=clerk | {"If-Match": etag})
    assert verified.status_code == 200, verified.text
    assert verified.json()["assurance_level"] == 2
    assert verified.json()["verified_at"] is not None
    assert verified.headers["etag"] != etag
    _problem(await identity.client.post(verification, headers=clerk | {"If-Match": etag}), 412)  # stale now

    event = await identity.wait_published(
        "identity.citizen_verified", lambda d: d["citizen_id"] == citizen["id"]
    )
    assert event["data"]["assurance_level"] == 2
    assert event["data"]["verified_by_agency"] == PROVINCE
    assert event["subject"] == citizen["id"]

    # From now on the citizen logs in at level 2.
    tokens = await identity.log_in(CITIZEN_L1, acr_values="vneid:2")
    assert (await (await identity.verifier()).verify(tokens["access_token"])).acr == "vneid:2"

    # Who read the citizen's data is kept.
    async with identity.runtime.sessionmaker() as session:
        readers = set(
            (
                await session.scalars(
                    select(DataAccess.accessor).where(DataAccess.citizen_id == uuid.UUID(citizen["id"]))
                )
            ).all()
        )
    assert f"official:{clerk_id}" in readers


async def test_id_numbers_are_neither_stored_in_clear_nor_logged(
    identity: IdentityService, caplog: pytest.LogCaptureFixture
) -> None:
    root = logging.getLogger()
    if caplog.handler not in root.handlers:  # the service configured logging after pytest attached it
        root.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    try:
        tokens = await identity.log_in(CITIZEN_L2)
        userinfo = await identity.client.get("/oauth2/userinfo", headers=_bearer(tokens["access_token"]))
        assert userinfo.json()["id_number"] == CITIZEN_L2
        assert (await identity.submit_login(CITIZEN_L1, "Sai@12345")).status_code == 401
        assert (await identity.client.post(CITIZENS, json=NEW_CITIZEN)).status_code == 201
        clerk = _bearer((await identity.log_in(RECEIVER))["access_token"])
        found = await identity.client.post(
            f"{CITIZENS}/search", json={"id_number": CITIZEN_L2}, headers=clerk
        )
        assert found.status_code == 200
    finally:
        root.removeHandler(caplog.handler)

    assert len(caplog.records) >= 6  # the access log saw every request: the capture works
    numbers = [CITIZEN_L2, CITIZEN_L1, NEW_CITIZEN["id_number"]]
    for record in caplog.records:
        logged = f"{record.getMessage()} {vars(record)}"
        for number in numbers:
            assert number not in logged, record

    async with identity.runtime.sessionmaker() as session:
        rows = (await session.execute(text("SELECT * FROM citizens"))).mappings().all()
    assert len(rows) == 3
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", row["id_number_hash"])
        stored = " ".join(str(value) for value in row.values())
        for number in numbers:
            assert number not in stored
            # A keyed hash, not a plain one anybody could compute for all 10^12 numbers.
            assert row["id_number_hash"] != hashlib.sha256(number.encode()).hexdigest()
