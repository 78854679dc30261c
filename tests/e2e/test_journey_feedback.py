"""Journey 2: a citizen reports a pothole with a photo; it is routed to the commune, resolved and rated, and a
partner reads it through Open311 (JSON and XML)."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import httpx
import pytest
from frontend import CITIZEN, SPECIALIST, Frontend
from PIL import Image

pytestmark = pytest.mark.postgres_only
IN_TIEN_DU = (21.045, 105.97625)


def photo() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 90, 90)).save(buffer, "JPEG")
    return buffer.getvalue()


async def test_a_pothole_is_routed_resolved_rated_and_read_by_a_partner(gateway: httpx.AsyncClient) -> None:
    app = Frontend(gateway)
    picture = await app.upload(CITIZEN, photo(), "o-ga.jpg", "image/jpeg")
    created = await app.call(
        "POST",
        "/api/v1/feedback/reports",
        CITIZEN,
        expect=201,
        json={
            "title": "Ổ gà trước cổng trường",
            "description": "Ổ gà sâu giữa đường trước cổng trường tiểu học, trời mưa rất nguy hiểm.",
            "category_code": "GT01",
            "lat": IN_TIEN_DU[0],
            "lon": IN_TIEN_DU[1],
            "file_ids": [picture],
            "attributes": {"KICH_THUOC": "lon"},
        },
    )
    report = created["report"]
    assert report["agency_code"] == "000.10.00.H27"  # routed by category and place

    async def act(who: str, action: str, **body: object) -> dict[str, object]:
        current = await app.call("GET", f"/api/v1/feedback/reports/{report['id']}", who)
        result: dict[str, object] = await app.call(
            "POST",
            f"/api/v1/feedback/reports/{report['id']}/{action}",
            who,
            json=body,
            headers={"If-Match": f'"{current["version"]}"'},
        )
        return result

    await act(SPECIALIST, "accept")
    await act(SPECIALIST, "assign", handler_id="chuyenvien", handler_name="Chuyên viên")
    await act(SPECIALIST, "start")
    resolved = await act(SPECIALIST, "resolve", note="Đã vá ổ gà bằng bê tông nhựa ngày hôm nay.")
    assert resolved["status"] == "resolved"
    rated = await act(CITIZEN, "rate", rating=5, comment="Xử lý nhanh, cảm ơn.")
    assert rated["status"] == "closed"

    # The partner reads it back through Open311.
    code = report["code"]
    as_json = await gateway.get(f"/open311/v2/requests/{code}.json")
    assert as_json.status_code == 200, as_json.text
    [request] = as_json.json()
    assert request["service_request_id"] == code
    assert request["status"] == "closed"
    assert request["service_code"] == "GT01"
    assert "Nguyễn" not in as_json.text  # no personal data
    as_xml = await gateway.get(f"/open311/v2/requests/{code}.xml")
    root = ET.fromstring(as_xml.content)
    assert root.tag == "service_requests"
    assert root.findtext("request/status") == "closed"
