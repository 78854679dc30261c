"""Open311 GeoReport v2 through HTTP, field by field against the spec (feedback.md), in JSON and in XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest
from feedback_harness import (
    IN_QUE_VO,
    IN_TIEN_DU,
    OUTSIDE,
    PARTNER_KEY,
    TIEN_DU,
    FeedbackService,
    at,
    feedback_service,
)
from open311_spec import REQUEST_FIELDS, SERVICE_FIELDS, UPDATE_FIELDS

from egov_shared.testing.backends import BusConfig

V2 = "/open311/v2"


def xml_items(response: httpx.Response, root: str, item: str) -> list[dict[str, str | None]]:
    """The repeated elements of an XML answer as ordered dicts of their children's text."""
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    document = ET.fromstring(response.content)
    assert document.tag == root
    assert all(child.tag == item for child in document)
    return [{child.tag: child.text for child in element} for element in document]


def form(**fields: Any) -> dict[str, str]:
    lat, long = fields.pop("at", IN_TIEN_DU)
    base = {
        "api_key": PARTNER_KEY,
        "service_code": "MT01",
        "lat": str(lat),
        "long": str(long),
        "description": "Rác tồn đọng ở đầu ngõ 5 đã ba ngày.",
        "device_id": "device-1",
        "first_name": "Lan",
        "last_name": "Trần",
        "email": "lan@example.vn",
        "account_id": "fms-42",
    }
    base.update({k: str(v) for k, v in fields.items()})
    return {k: v for k, v in base.items() if v != ""}


async def post(feedback: FeedbackService, fmt: str = "json", **fields: Any) -> httpx.Response:
    return await feedback.client.post(f"{V2}/requests.{fmt}", data=form(**fields))


async def test_discovery_and_services_in_both_formats(feedback: FeedbackService) -> None:
    discovery = (await feedback.client.get(f"{V2}/discovery.json")).json()
    assert list(discovery) == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = discovery["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert ET.fromstring((await feedback.client.get(f"{V2}/discovery.xml")).content).tag == "discovery"

    services = await feedback.client.get(f"{V2}/services.json")
    assert services.headers["content-type"] == "application/json; charset=utf-8"
    listed = services.json()
    assert len(listed) >= 30
    assert all(list(s) == SERVICE_FIELDS for s in listed)
    pothole = next(s for s in listed if s["service_code"] == "GT01")
    assert (pothole["metadata"], pothole["type"], pothole["group"]) == (True, "realtime", "Giao thông")
    in_xml = xml_items(await feedback.client.get(f"{V2}/services.xml"), "services", "service")
    assert [list(s) for s in in_xml] == [SERVICE_FIELDS] * len(listed)
    assert next(s for s in in_xml if s["service_code"] == "GT01")["metadata"] == "true"

    definition = (await feedback.client.get(f"{V2}/services/GT01.json")).json()
    assert definition["service_code"] == "GT01"
    size = definition["attributes"][0]
    assert list(size) == [
        "variable", "code", "datatype", "required", "datatype_description", "order", "description", "values",
    ]  # fmt: skip
    assert (size["code"], size["datatype"], size["required"]) == ("KICH_THUOC", "singlevaluelist", True)
    assert {"key": "vua", "name": "Vừa (30 cm đến 1 m)"} in size["values"]
    xml_definition = ET.fromstring((await feedback.client.get(f"{V2}/services/GT01.xml")).content)
    assert xml_definition.findtext("attributes/attribute/code") == "KICH_THUOC"
    assert len(xml_definition.findall("attributes/attribute[1]/values/value")) == 3


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_errors_are_open311_errors_in_the_requested_format(feedback: FeedbackService, fmt: str) -> None:
    def errors(response: httpx.Response) -> list[dict[str, Any]]:
        if fmt == "json":
            assert response.headers["content-type"] == "application/json; charset=utf-8"
            body: list[dict[str, Any]] = response.json()
            return body
        return [
            {"code": int(str(e["code"])), "description": e["description"]}
            for e in xml_items(response, "errors", "error")
        ]

    unknown_service = await feedback.client.get(f"{V2}/services/ZZ99.{fmt}")
    assert unknown_service.status_code == 404
    assert errors(unknown_service)[0]["code"] == 404
    no_key = await feedback.client.post(
        f"{V2}/requests.{fmt}", data={"service_code": "MT01", "lat": "21", "long": "106"}
    )
    assert no_key.status_code == 403
    assert errors(no_key) == [{"code": 403, "description": "api_key: thiếu khoá API."}]
    wrong_key = await post(feedback, fmt, api_key="not-a-key")
    assert wrong_key.status_code == 403
    unknown_category = await post(feedback, fmt, service_code="ZZ99")
    assert unknown_category.status_code == 400
    assert errors(unknown_category)[0]["description"].startswith("service_code:")
    outside = await post(feedback, fmt, at=OUTSIDE)
    assert outside.status_code == 400
    assert errors(outside)[0]["description"].startswith("lat, long:")
    several = await post(feedback, fmt, lat="north", email="not-an-email")
    assert several.status_code == 400
    assert len(errors(several)) == 2
    missing_request = await feedback.client.get(f"{V2}/requests/PA-1999-000001.{fmt}")
    assert missing_request.status_code == 404
    bad_window = await feedback.client.get(f"{V2}/requests.{fmt}", params={"start_date": "yesterday"})
    assert bad_window.status_code == 400
    assert (await feedback.client.get(f"{V2}/services.csv")).status_code == 404
    # NUL characters, in the form or the query, are Open311 errors too (the shared text guard skips Open311).
    nul_form = await post(feedback, fmt, description="Rác\x00 ở ngõ 5")
    assert nul_form.status_code == 400
    assert errors(nul_form)[0]["code"] == 400
    nul_query = await feedback.client.get(f"{V2}/requests.{fmt}", params={"status": "open\x00"})
    assert nul_query.status_code == 400
    assert errors(nul_query)[0]["code"] == 400


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_a_partner_posts_a_request_and_reads_it_back(feedback: FeedbackService, fmt: str) -> None:
    feedback.clock.set(at(2026, 3, 9))
    created = await post(feedback, fmt)
    assert created.status_code == 200, created.text
    if fmt == "json":
        answer = created.json()
        assert len(answer) == 1
        assert list(answer[0]) == ["service_request_id", "service_notice", "account_id"]
        item: dict[str, Any] = answer[0]
    else:
        [item] = xml_items(created, "service_requests", "request")
        assert list(item) == ["service_request_id", "service_notice", "account_id"]
    code = item["service_request_id"]
    assert code.startswith("PA-2026-")
    assert item["account_id"] == "fms-42"
    assert "Ủy ban nhân dân" in item["service_notice"]

    one = await feedback.client.get(f"{V2}/requests/{code}.{fmt}")
    if fmt == "json":
        [request] = one.json()
    else:
        [request] = xml_items(one, "service_requests", "request")
    assert list(request) == REQUEST_FIELDS
    assert request["service_request_id"] == code
    assert request["status"] == "open"
    assert request["service_code"] == "MT01"
    assert request["service_name"] == "Rác thải sinh hoạt không được thu gom"
    assert request["description"] == "Rác tồn đọng ở đầu ngõ 5 đã ba ngày."
    assert request["agency_responsible"] == "Ủy ban nhân dân xã Tiên Du"
    assert request["requested_datetime"] == "2026-03-09T02:00:00Z"
    assert request["expected_datetime"] == "2026-03-16T17:00:00Z"  # MT01: 5 working days after Monday 9
    assert request["status_notes"] == "Đã tiếp nhận, chờ cơ quan xác nhận"
    assert str(request["lat"]) == str(IN_TIEN_DU[0])
    assert str(request["long"]) == str(IN_TIEN_DU[1])

    # What the agency sees: the partner's reporter, kept but not shown publicly.
    queue = await feedback.client.get("/api/v1/feedback/reports", headers=feedback.handler(agency=TIEN_DU))
    [report] = [r for r in queue.json()["items"] if r["code"] == code]
    assert (report["channel"], report["reporter_kind"], report["anonymous"]) == ("partner", "partner", True)
    assert report["reporter_name"] == "Lan Trần"

    token = await feedback.client.get(f"{V2}/tokens/{report['id']}.{fmt}")
    assert token.status_code == 200
    token_item = token.json()[0] if fmt == "json" else xml_items(token, "service_requests", "request")[0]
    assert token_item == {"service_request_id": code, "token": report["id"]}


async def test_requests_filters_pages_statuses_and_updates(feedback: FeedbackService) -> None:
    feedback.clock.set(at(2026, 3, 9))
    codes = [(await post(feedback, device_id=f"d{i}")).json()[0]["service_request_id"] for i in range(3)]
    pothole = (
        await post(feedback, service_code="GT01", at=IN_QUE_VO, **{"attribute[KICH_THUOC]": "lon"})
    ).json()
    private = await feedback.submitted(feedback.citizen(), private=True)
    handler = feedback.handler()
    queue = (await feedback.client.get("/api/v1/feedback/reports", headers=handler)).json()["items"]
    first = next(r for r in queue if r["code"] == codes[0])
    resolved = await feedback.acted(
        handler, await feedback.acted(handler, first, "accept"), "resolve", note="Đã thu gom."
    )
    refused = next(r for r in queue if r["code"] == codes[1])
    await feedback.acted(handler, refused, "refuse", note="Trùng.", refusal_kind="duplicate")

    everything = (await feedback.client.get(f"{V2}/requests.json")).json()
    listed = [r["service_request_id"] for r in everything]
    assert set(listed) == {*codes, pothole[0]["service_request_id"]}
    assert private["code"] not in listed
    closed = (await feedback.client.get(f"{V2}/requests.json", params={"status": "closed"})).json()
    assert {r["service_request_id"] for r in closed} == {codes[0], codes[1]}
    answered = next(r for r in closed if r["service_request_id"] == codes[0])
    assert answered["status_notes"] == "Đã có kết quả trả lời: Đã thu gom."
    assert answered["expected_datetime"] is None
    by_service = (await feedback.client.get(f"{V2}/requests.json", params={"service_code": "GT01"})).json()
    assert [r["service_request_id"] for r in by_service] == [pothole[0]["service_request_id"]]
    by_id = (
        await feedback.client.get(
            f"{V2}/requests.json", params={"service_request_id": f"{codes[2]},{private['code']}"}
        )
    ).json()
    assert [r["service_request_id"] for r in by_id] == [codes[2]]
    page_1 = (await feedback.client.get(f"{V2}/requests.json", params={"page_size": 3})).json()
    page_2 = (await feedback.client.get(f"{V2}/requests.json", params={"page_size": 3, "page": 2})).json()
    assert len(page_1) == 3
    assert len(page_2) == 1
    old_window = await feedback.client.get(
        f"{V2}/requests.xml",
        params={"start_date": "2025-01-01T00:00:00Z", "end_date": "2025-02-01T00:00:00Z"},
    )
    assert xml_items(old_window, "service_requests", "request") == []

    updates = (await feedback.client.get(f"{V2}/servicerequestupdates.json")).json()
    assert all(list(u) == UPDATE_FIELDS for u in updates)
    mine = [(u["service_request_id"], u["status"]) for u in updates if u["service_request_id"] in codes[:2]]
    assert (codes[0], "fixed") in mine
    assert (codes[0], "investigating") in mine
    assert (codes[1], "duplicate") in mine
    assert private["code"] not in {u["service_request_id"] for u in updates}
    fixed = next(u for u in updates if u["status"] == "fixed")
    assert fixed["description"] == "Đã thu gom."
    in_xml = xml_items(
        await feedback.client.get(f"{V2}/servicerequestupdates.xml"),
        "service_request_updates",
        "request_update",
    )
    assert [list(u) for u in in_xml] == [UPDATE_FIELDS] * len(updates)
    assert resolved["status"] == "resolved"


async def test_partner_submissions_are_rate_limited_per_key_and_device(
    database_url: str, bus_config: BusConfig
) -> None:
    async with feedback_service(database_url, bus_config, open311_reports_per_window=2) as feedback:
        await feedback.add_partner()
        feedback.clock.set(at(2026, 3, 9, 10))
        assert (await post(feedback, device_id="phone-1")).status_code == 200
        assert (await post(feedback, device_id="phone-1")).status_code == 200
        limited = await post(feedback, "xml", device_id="phone-1")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        [error] = xml_items(limited, "errors", "error")
        assert error["code"] == "429"
        assert (await post(feedback, device_id="phone-2")).status_code == 200
        await feedback.add_partner("another-partner-key")
        assert (await post(feedback, api_key="another-partner-key", device_id="phone-1")).status_code == 200
