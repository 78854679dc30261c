"""The Decision 766 figures against a fixture counted by hand (the comments say where each row is counted)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dossier_harness import COMMUNE, JUSTICE, PROVINCE, DossierService

from egov_dossier.dossiers.models import Dossier
from egov_shared.agencies import agency_exists
from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.testing.waiting import eventually

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PERIOD = {"from": "2026-11-01T00:00:00+07:00", "to": "2026-12-01T00:00:00+07:00"}


def nov(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=VN).astimezone(dt.UTC)


def at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 9, tzinfo=VN).astimezone(dt.UTC)


def row(agency: str, channel: int, received: dt.datetime | None, **kw: Any) -> Dossier:
    return Dossier(
        id=uuid.uuid4(),
        code=f"{agency}-{uuid.uuid4().hex[:10]}",
        lookup_secret_digest="x" * 64,
        procedure_code="1.001193.000.00.00.H27",
        procedure_name="Đăng ký khai sinh",
        agency_code=agency,
        processing_time=5,
        time_unit="working_days",
        channel=channel,
        applicant_id="citizen",
        submitted_by="citizen",
        applicant_type="self",
        applicant={},
        components=[],
        status=kw.pop("status", 4),
        fees=[],
        fee_total_vnd=kw.pop("fee", 0),
        fee_paid_online=kw.pop("paid_online", False),
        refund_required=False,
        supplementation_requests=kw.pop("supplementation_requests", 0),
        paused_hours=0.0,
        submitted_at=received or nov(1),
        received_at=received,
        clock_started_at=received,
        result_file_ids=[],
        **kw,
    )


def fixture_rows() -> list[Dossier]:
    return [
        # 1: received online in November, done early.
        row(COMMUNE, 2, nov(3), finished_at=nov(4), timeliness="early", processing_hours=4, status=10),
        # 2: online, paid online, done on time.
        row(
            COMMUNE,
            2,
            nov(5),
            finished_at=nov(10),
            timeliness="on_time",
            processing_hours=16,
            fee=8000,
            paid_online=True,
        ),
        # 3: at the counter, paid in cash, done late.
        row(COMMUNE, 1, nov(6), finished_at=nov(20), timeliness="late", processing_hours=44, fee=8000),
        # 4: by post, open, past its due date at the end of the period: in progress overdue.
        row(COMMUNE, 3, nov(7), due_at=nov(25)),
        # 5: online, open, due after the period: in progress within time.
        row(COMMUNE, 2, nov(28), due_at=at(12, 5)),
        # 6: online, paused (supplementation) before its due date: paused within time.
        row(COMMUNE, 2, nov(20), due_at=nov(30), paused_since=nov(22), status=5),
        # 7: received in October, done on time in November: done, not received.
        row(COMMUNE, 2, at(10, 20), finished_at=nov(2), timeliness="on_time", processing_hours=8),
        # 8: online, done in December, so open at the end of November and past due then: in progress overdue.
        row(
            COMMUNE, 2, nov(10), due_at=nov(15), finished_at=at(12, 3), timeliness="late", processing_hours=60
        ),
        # 9: all in October: nowhere.
        row(COMMUNE, 2, at(10, 1), finished_at=at(10, 10), timeliness="on_time", processing_hours=8),
        # 10: the justice department (below the province, not below the commune): done early.
        row(JUSTICE, 2, nov(10), finished_at=nov(11), timeliness="early", processing_hours=2),
        # 11: refused at reception: never received, never classified.
        row(COMMUNE, 2, None, finished_at=nov(12), status=3),
    ]


@pytest.fixture
async def counted(dossiers: DossierService) -> DossierService:
    for code, name, kind, parent in [
        (PROVINCE, "UBND tỉnh", "province", None),
        (JUSTICE, "Sở Tư pháp", "department", PROVINCE),
        (COMMUNE, "UBND xã", "commune", PROVINCE),
    ]:
        await dossiers.deliver(AgencyUpserted(code=code, name=name, kind=kind, parent_code=parent))

    async def replicated() -> bool:
        async with dossiers.runtime.new_uow() as uow:
            return await agency_exists(uow.session, COMMUNE)

    await eventually(replicated, what="the agencies")
    async with dossiers.runtime.new_uow() as uow:
        uow.session.add_all(fixture_rows())
        await uow.commit()
    dossiers.app.state.clock = lambda: at(12, 10)
    return dossiers


async def statistics(service: DossierService, agency: str, token: str) -> dict[str, Any]:
    response = await service.client.get(
        "/api/v1/dossiers/statistics", params={"agency_code": agency, **PERIOD}, headers=service.auth(token)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_commune_counted_by_hand(counted: DossierService) -> None:
    token = counted.issuer.official(agency=PROVINCE, roles=["receiver"])
    figures = await statistics(counted, COMMUNE, token)
    assert figures["received"] == {"total": 7, "in_person": 1, "online": 5, "by_post": 1}
    assert figures["done"] == {"total": 4, "early": 1, "on_time": 2, "late": 1}
    assert figures["in_progress"] == {
        "total": 4,
        "within_time": 1,
        "overdue": 2,
        "paused_within_time": 1,
        "paused_overdue": 0,
    }
    assert figures["on_time_rate"] == 75.0
    assert figures["online_rate"] == 71.43
    assert figures["paid_online_rate"] == 50.0
    assert figures["average_processing_days"] == 2.25  # (4 + 16 + 44 + 8) h / 8 h / 4


async def test_the_province_adds_the_agencies_below_it(counted: DossierService) -> None:
    token = counted.issuer.official(agency=PROVINCE, roles=["receiver"])
    figures = await statistics(counted, PROVINCE, token)
    assert figures["received"]["total"] == 8
    assert figures["done"] == {"total": 5, "early": 2, "on_time": 2, "late": 1}
    assert figures["average_processing_days"] == 1.85  # 74 h / 8 h / 5


async def test_an_empty_period_reports_no_rates_and_others_see_nothing(counted: DossierService) -> None:
    token = counted.issuer.official(agency=PROVINCE, roles=["receiver"])
    response = await counted.client.get(
        "/api/v1/dossiers/statistics",
        params={"agency_code": JUSTICE, "from": "2025-01-01T00:00:00Z", "to": "2025-02-01T00:00:00Z"},
        headers=counted.auth(token),
    )
    assert response.json()["on_time_rate"] is None
    assert response.json()["online_rate"] is None
    commune_clerk = counted.issuer.official(agency=COMMUNE, roles=["receiver"])
    hidden = await counted.client.get(
        "/api/v1/dossiers/statistics",
        params={"agency_code": JUSTICE, **PERIOD},
        headers=counted.auth(commune_clerk),
    )
    assert hidden.status_code == 404
    naive = await counted.client.get(
        "/api/v1/dossiers/statistics",
        params={"agency_code": JUSTICE, "from": "2026-11-01T00:00:00", "to": "2026-12-01T00:00:00"},
        headers=counted.auth(token),
    )
    assert naive.status_code == 422
