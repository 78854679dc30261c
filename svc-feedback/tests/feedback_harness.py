"""Running svc-feedback on the backend under test: a test token issuer, a controllable clock, the agency tree."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from sqlalchemy import select

from egov_feedback.agencies import reference_names
from egov_feedback.config import Settings
from egov_feedback.context import Feedback, ServiceClock
from egov_feedback.main import create_app
from egov_feedback.partners.service import register_partner
from egov_feedback.sla import SlaRun, run_sla
from egov_shared import tables
from egov_shared.agencies import on_agency_upserted
from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.events import new_event
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.services import ServiceUnderTest, service_under_test

PROVINCE = "000.00.00.H27"
CONSTRUCTION = "000.00.11.H27"
ENVIRONMENT = "000.00.13.H27"
TIEN_DU = "000.10.00.H27"  # Xã Tiên Du, area 10300
QUE_VO = "000.11.00.H27"  # Phường Quế Võ, area 10301
# A point well inside Xã Tiên Du, one inside Phường Quế Võ, one outside the province.
IN_TIEN_DU = (21.045, 105.97625)
IN_QUE_VO = (21.03111, 106.105)
OUTSIDE = (10.77, 106.70)
PARTNER_KEY = "test-open311-key"
HANDLER_ROLES = ("feedback_handler",)


def pothole(**fields: Any) -> dict[str, Any]:
    """The body of a citizen's pothole report in Tiên Du (``at``: another place; any field overridden)."""
    lat, lon = fields.pop("at", IN_TIEN_DU)
    return {
        "title": "Ổ gà trước nhà văn hoá",
        "description": "Ổ gà sâu giữa đường, xe máy đi qua rất dễ ngã.",
        "category_code": "GT01",
        "lat": lat,
        "lon": lon,
        "attributes": {"KICH_THUOC": "vua"},
        **fields,
    }


class FeedbackService(ServiceUnderTest):
    @property
    def feedback(self) -> Feedback:
        feedback: Feedback = self.app.state.feedback
        return feedback

    @property
    def clock(self) -> ServiceClock:
        return self.feedback.clock

    def citizen(self, subject: str = "citizen-1", **kw: Any) -> dict[str, str]:
        return self.auth(self.issuer.citizen(subject, **kw))

    def handler(self, agency: str = PROVINCE, subject: str = "handler-1", **kw: Any) -> dict[str, str]:
        roles = kw.pop("roles", HANDLER_ROLES)
        return self.auth(self.issuer.official(subject, agency=agency, roles=roles, **kw))

    async def seed_agencies(self) -> None:
        """The province's agency tree, as svc-identity would publish it (applied directly: no waiting)."""
        for code, name in reference_names().items():
            data = AgencyUpserted(
                code=code,
                name=name,
                kind="province"
                if code == PROVINCE
                else "department"
                if code.startswith("000.00.")
                else "commune",
                parent_code=None if code == PROVINCE else PROVINCE,
            )
            async with self.runtime.new_uow() as uow:
                await on_agency_upserted(uow, data, new_event(data, source="svc-identity"))
                await uow.commit()

    async def add_partner(self, key: str = PARTNER_KEY) -> None:
        async with self.runtime.new_uow() as uow:
            await register_partner(uow, "Đối tác thử nghiệm", api_key=key)

    async def submit(self, headers: dict[str, str], **fields: Any) -> httpx.Response:
        return await self.client.post("/api/v1/feedback/reports", json=pothole(**fields), headers=headers)

    async def submitted(self, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        response = await self.submit(headers, **fields)
        assert response.status_code == 201, response.text
        report: dict[str, Any] = response.json()["report"]
        return report

    async def act(
        self, headers: dict[str, str], report: dict[str, Any], action: str, **body: Any
    ) -> httpx.Response:
        return await self.client.post(
            f"/api/v1/feedback/reports/{report['id']}/{action}",
            json=body,
            headers={**headers, "If-Match": f'"{report["version"]}"'},
        )

    async def acted(
        self, headers: dict[str, str], report: dict[str, Any], action: str, **body: Any
    ) -> dict[str, Any]:
        response = await self.act(headers, report, action, **body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def run_sla(self) -> SlaRun:
        return await run_sla(self.runtime, self.clock.now())

    async def outbox(self, event_type: str) -> list[dict[str, Any]]:
        """The ``data`` of every event of this type written to the outbox (sent or not)."""
        async with self.runtime.sessionmaker() as session:
            rows = await session.scalars(
                select(tables.outbox.c.envelope)
                .where(tables.outbox.c.event_type == event_type)
                .order_by(tables.outbox.c.id)
            )
            return [json.loads(envelope)["data"] for envelope in rows]


def feedback_service(
    database_url: str, bus_config: BusConfig, **overrides: Any
) -> AbstractAsyncContextManager[FeedbackService]:
    return service_under_test(
        create_app,
        Settings,
        database_url,
        bus_config,
        harness=FeedbackService,
        **{"demo_data": False, "run_background_tasks": True, **overrides},
    )


def at(year: int, month: int, day: int, hour: int = 9) -> dt.datetime:
    """A Vietnam wall-clock time, as UTC."""
    return dt.datetime(year, month, day, hour, tzinfo=dt.timezone(dt.timedelta(hours=7))).astimezone(dt.UTC)
