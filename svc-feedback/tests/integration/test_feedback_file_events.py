"""The events that let svc-document follow a report's files: ``feedback.supplemented`` (the files the reporter
added) and ``feedback.transferred`` (every file, for the new agency), each published once with its change."""

from __future__ import annotations

import io
import json
from typing import Any

from feedback_harness import CONSTRUCTION, PROVINCE, TIEN_DU, FeedbackService, at, pothole
from PIL import Image
from sqlalchemy import select

from egov_gateway.province import province
from egov_shared import tables
from egov_shared.agencies import acts_for, agency_exists
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.waiting import eventually


async def test_supplement_and_transfer_publish_their_event_once(feedback: FeedbackService) -> None:
    feedback.clock.set(at(2026, 3, 2))
    citizen, handler = feedback.citizen(), feedback.handler()
    report = await feedback.acted(handler, await feedback.submitted(citizen), "accept")
    report = await feedback.acted(handler, report, "request_supplement", note="Xin gửi thêm ảnh.")
    supplemented = await feedback.acted(citizen, report, "supplement", note="Đã bổ sung.")
    stale = await feedback.act(citizen, report, "supplement", note="Đã bổ sung.")  # a retry
    assert stale.status_code == 412
    transferred = await feedback.acted(
        handler, supplemented, "transfer", agency_code=CONSTRUCTION, note="Thuộc thẩm quyền Sở Xây dựng."
    )
    again = await feedback.act(
        handler, supplemented, "transfer", agency_code=CONSTRUCTION, note="Thuộc thẩm quyền Sở Xây dựng."
    )
    assert again.status_code == 412

    (supplement,) = await feedback.outbox("feedback.supplemented")
    assert supplement["report_id"] == report["id"]
    assert supplement["agency_code"] == TIEN_DU
    assert supplement["file_ids"] == []
    (transfer,) = await feedback.outbox("feedback.transferred")
    assert transfer["report_id"] == report["id"]
    assert (transfer["from_agency_code"], transfer["to_agency_code"]) == (TIEN_DU, CONSTRUCTION)
    assert transfer["status"] == transferred["status"] == "submitted"
    assert transfer["code"] == report["code"]
    # Nothing else of the kind: accept and request_supplement publish no event.
    assert await feedback.outbox("feedback.resolved") == []


def photo(colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), colour).save(buffer, format="JPEG")
    return buffer.getvalue()


async def test_the_agency_reads_the_supplement_and_the_new_agency_every_file(
    backend: str, bus_config: BusConfig
) -> None:
    async with province(backend, bus_config, ("identity", "document", "feedback")) as p:
        citizen = p.auth(await p.citizen_token("001099012345"))

        async def tree_replicated() -> bool:
            async with p.runtime("feedback").read_sessionmaker() as session:
                return await acts_for(session, PROVINCE, TIEN_DU) and await agency_exists(
                    session, CONSTRUCTION
                )

        # The province's handler acts on the commune's report once svc-feedback has the tree from identity.
        await eventually(tree_replicated, what="the agency tree in svc-feedback")

        async def upload(content: bytes) -> str:
            response = await p.client.post(
                "/api/v1/files", files={"file": ("anh.jpg", content, "image/jpeg")}, headers=citizen
            )
            assert response.status_code == 201, response.text
            file_id: str = response.json()["id"]
            return file_id

        async def act(
            headers: dict[str, str], report: dict[str, Any], action: str, **body: Any
        ) -> dict[str, Any]:
            response = await p.client.post(
                f"/api/v1/feedback/reports/{report['id']}/{action}",
                json=body,
                headers={**headers, "If-Match": f'"{report["version"]}"'},
            )
            assert response.status_code == 200, response.text
            result: dict[str, Any] = response.json()
            return result

        first = await upload(photo((120, 90, 60)))
        body = pothole(attributes={"KICH_THUOC": "lon"}, file_ids=[first])
        created = await p.client.post("/api/v1/feedback/reports", json=body, headers=citizen)
        assert created.status_code == 201, created.text
        report = created.json()["report"]
        assert report["agency_code"] == TIEN_DU

        specialist = p.auth(await p.official_token("chuyenvien.h27"))  # the province's handler
        report = await act(specialist, report, "accept")
        report = await act(specialist, report, "request_supplement", note="Xin ảnh chụp gần hơn.")
        second = await upload(photo((30, 160, 200)))
        report = await act(citizen, report, "supplement", note="Ảnh chụp gần.", file_ids=[second])

        def official(agency: str) -> dict[str, str]:
            return p.auth(p.issuer.official(f"o-{agency}", agency=agency, roles=["feedback_handler"]))

        async def reads(headers: dict[str, str], file_id: str) -> bool:
            response = await p.client.get(f"/api/v1/files/{file_id}", headers=headers)
            assert response.status_code in (200, 404), response.text
            return response.status_code == 200

        commune, construction = official(TIEN_DU), official(CONSTRUCTION)
        await eventually(lambda: reads(commune, second), what="the commune reading the supplement")
        assert not await reads(construction, first)

        await act(
            specialist, report, "transfer", agency_code=CONSTRUCTION, note="Thuộc thẩm quyền Sở Xây dựng."
        )
        await eventually(lambda: reads(construction, second), what="the department reading the supplement")
        assert await reads(construction, first)

        async with p.runtime("feedback").sessionmaker() as session:
            rows = await session.execute(
                select(tables.outbox.c.event_type, tables.outbox.c.envelope).where(
                    tables.outbox.c.event_type.in_(["feedback.supplemented", "feedback.transferred"])
                )
            )
            published: dict[str, list[dict[str, Any]]] = {}
            for event_type, envelope in rows:
                data = json.loads(envelope)["data"]
                if data["report_id"] == report["id"]:
                    published.setdefault(event_type, []).append(data)
        # Once each (the demo data's reports aside).
        (supplemented,) = published["feedback.supplemented"]
        (transferred,) = published["feedback.transferred"]
        assert supplemented["file_ids"] == [second]
        assert transferred["file_ids"] == [first, second]
