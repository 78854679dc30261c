"""The administrators' calendar corrections, and dossier codes under concurrency, on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

from dossier_harness import DossierService
from sqlalchemy import select

from egov_dossier.dossiers.codes import next_dossier_code
from egov_dossier.dossiers.working_calendar import republish_corrections
from egov_shared import tables

AGENCY = "000.10.00.H27"


async def calendar_events(dossiers: DossierService) -> list[dict[str, Any]]:
    """The ``data`` of every ``dossier.calendar_corrected`` written to the outbox, in order."""
    async with dossiers.runtime.sessionmaker() as session:
        rows = await session.scalars(
            select(tables.outbox.c.envelope)
            .where(tables.outbox.c.event_type == "dossier.calendar_corrected")
            .order_by(tables.outbox.c.id)
        )
        return [json.loads(envelope)["data"] for envelope in rows]


async def test_administrators_correct_the_working_calendar(dossiers: DossierService) -> None:
    url = "/api/v1/dossiers/working-calendar"
    week = (await dossiers.client.get(url, params={"from": "2027-01-04", "to": "2027-01-10"})).json()
    assert [d["working"] for d in week] == [True, True, True, True, True, False, False]

    admin = dossiers.issuer.official(roles=["admin"])
    make_up = await dossiers.client.put(
        f"{url}/2027-01-09",
        json={"working": True, "note": "Làm bù theo thông báo số 01/TB-UBND"},
        headers=dossiers.auth(admin),
    )
    assert make_up.status_code == 200, make_up.text
    day_off = await dossiers.client.put(
        f"{url}/2027-01-05",
        json={"working": False, "note": "Nghỉ bù theo thông báo số 02/TB-UBND"},
        headers=dossiers.auth(admin),
    )
    assert day_off.status_code == 200
    week = (await dossiers.client.get(url, params={"from": "2027-01-04", "to": "2027-01-10"})).json()
    assert [d["working"] for d in week] == [True, False, True, True, True, True, False]
    assert [d["corrected"] for d in week] == [False, True, False, False, False, True, False]
    # svc-feedback counts its deadlines on the same calendar: every change is published with it.
    events = await calendar_events(dossiers)
    assert [(e["day"], e["working"], e["note"]) for e in events] == [
        ("2027-01-09", True, "Làm bù theo thông báo số 01/TB-UBND"),
        ("2027-01-05", False, "Nghỉ bù theo thông báo số 02/TB-UBND"),
    ]
    assert events[0]["corrected_at"] <= events[1]["corrected_at"]

    tet = (await dossiers.client.get(url, params={"from": "2026-02-16", "to": "2026-02-20"})).json()
    assert not any(d["working"] for d in tet)  # Tết 2026 from the holiday library

    clerk = dossiers.issuer.official(roles=["receiver"])
    body = {"working": True, "note": "thử"}
    assert (
        await dossiers.client.put(f"{url}/2027-01-16", json=body, headers=dossiers.auth(clerk))
    ).status_code == 403
    assert (
        await dossiers.client.delete(f"{url}/2027-01-05", headers=dossiers.auth(admin))
    ).status_code == 204
    assert (
        await dossiers.client.delete(f"{url}/2027-01-05", headers=dossiers.auth(admin))
    ).status_code == 404
    events = await calendar_events(dossiers)
    assert len(events) == 3, "a refused change publishes nothing"
    assert (events[2]["day"], events[2]["working"], events[2]["note"]) == ("2027-01-05", None, None)
    too_long = await dossiers.client.get(url, params={"from": "2027-01-01", "to": "2029-01-01"})
    assert too_long.status_code == 422

    # The corrections still in force go out again, with the times they were made (a late subscriber catches up).
    async with dossiers.runtime.new_uow() as uow:
        assert await republish_corrections(uow) == 1
    again = (await calendar_events(dossiers))[3:]
    assert again == [{**events[0], "corrected_at": again[0]["corrected_at"]}]
    assert again[0]["corrected_at"] == events[0]["corrected_at"]


async def test_dossier_codes_have_no_gaps_or_duplicates_under_concurrency(dossiers: DossierService) -> None:
    # 23:30 UTC on 9 March is already 10 March in Việt Nam.
    at = dt.datetime(2027, 3, 9, 23, 30, tzinfo=dt.UTC)

    async def draw() -> str:
        async with dossiers.runtime.new_uow() as uow:
            code = await next_dossier_code(uow.session, AGENCY, at)
            await uow.commit()
            return code

    codes = await asyncio.gather(*(draw() for _ in range(50)))
    assert len(set(codes)) == 50
    assert sorted(codes) == [f"{AGENCY}-270310-{n:04d}" for n in range(1, 51)]
    async with dossiers.runtime.new_uow() as uow:
        other_agency = await next_dossier_code(uow.session, "000.11.00.H27", at)
        await uow.commit()
    assert other_agency.endswith("-270310-0001")
