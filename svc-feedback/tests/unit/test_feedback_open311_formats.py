"""Open311 GeoReport v2 documents checked field by field against the spec, in JSON and XML; the forms clients send."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from open311_spec import ATTRIBUTE_FIELDS, REQUEST_FIELDS, SERVICE_FIELDS, UPDATE_FIELDS

from egov_feedback.open311 import formats
from egov_feedback.open311.formats import (
    CreatedRequest,
    Document,
    Open311Error,
    RequestUpdate,
    ServiceRequest,
)
from egov_feedback.reference.categories import CATEGORIES, Category, get_category

ICT = dt.timezone(dt.timedelta(hours=7))
NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)


def category(code: str) -> Category:
    found = get_category(code)
    assert found is not None
    return found


def as_json(document: Document) -> Any:
    return json.loads(document.to_json().decode("utf-8"))


def as_xml(document: Document) -> ET.Element:
    body = document.to_xml()
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(body)


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def text(element: ET.Element, path: str) -> str | None:
    found = element.find(path)
    assert found is not None, path
    return found.text


def a_request(**changes: Any) -> ServiceRequest:
    values: dict[str, Any] = {
        "service_request_id": "PA-2026-000042",
        "status": "open",
        "status_notes": "Đang xử lý: đã giao Phường Quế Võ kiểm tra.",
        "service_code": "GT01",
        "service_name": "Ổ gà, hư hỏng mặt đường",
        "description": "Ổ gà lớn trước số 12 <đường> Lý Thái Tổ & ngõ 3",
        "agency_responsible": "Ủy ban nhân dân phường Quế Võ",
        "service_notice": "Trả lời trong 10 ngày làm việc.",
        "requested_datetime": dt.datetime(2026, 3, 2, 8, 15, 30, 123456, tzinfo=ICT),
        "updated_datetime": dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC),
        "expected_datetime": None,
        "address": "12 Lý Thái Tổ, Phường Quế Võ",
        "address_id": None,
        "zipcode": "16000",
        "lat": 21.0412345678,
        "long": 106.1023456789,
        "media_url": "https://egov.example.vn/api/v1/files/abc.jpg",
    }
    values.update(changes)
    return ServiceRequest(**values)


# --- services -----------------------------------------------------------------------------------------------------


def test_service_list_json_has_the_spec_fields_for_every_category() -> None:
    body = as_json(formats.service_list(CATEGORIES))
    assert isinstance(body, list)
    assert len(body) == len(CATEGORIES)
    for item, cat in zip(body, CATEGORIES, strict=True):
        assert list(item) == SERVICE_FIELDS
        assert item["service_code"] == cat.code
        assert item["service_name"] == cat.name
        assert item["description"] == cat.description
        assert item["metadata"] is bool(cat.attributes)
        assert item["type"] == "realtime"
        assert item["keywords"].split(", ") == list(cat.keywords)
        assert item["group"] == cat.group


def test_service_list_xml_has_the_spec_elements() -> None:
    root = as_xml(formats.service_list(CATEGORIES))
    assert root.tag == "services"
    assert children(root) == ["service"] * len(CATEGORIES)
    for element, cat in zip(root, CATEGORIES, strict=True):
        assert children(element) == SERVICE_FIELDS
        assert text(element, "service_code") == cat.code
        assert text(element, "service_name") == cat.name
        assert text(element, "metadata") == ("true" if cat.attributes else "false")
        assert text(element, "group") == cat.group


def test_one_service_is_still_an_array() -> None:
    only = category("KH01")
    assert as_json(formats.service_list([only])) == [
        {
            "service_code": "KH01",
            "service_name": only.name,
            "description": only.description,
            "metadata": False,
            "type": "realtime",
            "keywords": ", ".join(only.keywords),
            "group": only.group,
        }
    ]
    assert children(as_xml(formats.service_list([only]))) == ["service"]
    assert as_json(formats.service_list([])) == []


def test_service_definition_json() -> None:
    body = as_json(formats.service_definition(category("GT01")))
    assert list(body) == ["service_code", "attributes"]
    assert body["service_code"] == "GT01"
    size, danger, note = body["attributes"]
    assert list(size) == ATTRIBUTE_FIELDS
    assert size == {
        "variable": True,
        "code": "KICH_THUOC",
        "datatype": "singlevaluelist",
        "required": True,
        "datatype_description": None,
        "order": 1,
        "description": "Kích thước chỗ hư hỏng",
        "values": [
            {"key": "nho", "name": "Nhỏ (dưới 30 cm)"},
            {"key": "vua", "name": "Vừa (30 cm đến 1 m)"},
            {"key": "lon", "name": "Lớn (trên 1 m)"},
        ],
    }
    assert danger["values"] == [{"key": "co", "name": "Có"}, {"key": "khong", "name": "Không"}]
    assert (danger["required"], danger["order"]) == (False, 2)
    assert (note["datatype"], note["values"]) == ("text", [])


def test_service_definition_xml() -> None:
    root = as_xml(formats.service_definition(category("MT06")))
    assert root.tag == "service_definition"
    assert children(root) == ["service_code", "attributes"]
    attributes = root.find("attributes")
    assert attributes is not None
    assert children(attributes) == ["attribute", "attribute"]
    danger, notice = attributes
    assert children(danger) == ATTRIBUTE_FIELDS
    assert text(danger, "variable") == "true"
    assert text(danger, "required") == "false"
    assert text(danger, "order") == "1"
    assert text(danger, "datatype_description") is None
    assert [(text(v, "key"), text(v, "name")) for v in danger.iterfind("values/value")] == [
        ("co", "Có"),
        ("khong", "Không"),
    ]
    # An informational attribute asks for nothing.
    assert text(notice, "variable") == "false"
    assert "114" in (text(notice, "description") or "")
    values = notice.find("values")
    assert values is not None
    assert children(values) == []


def test_service_definition_lists_attributes_in_their_order() -> None:
    body = as_json(formats.service_definition(category("DN02")))
    assert [a["order"] for a in body["attributes"]] == sorted(a["order"] for a in body["attributes"])


# --- requests -----------------------------------------------------------------------------------------------------


def test_service_requests_json_field_by_field() -> None:
    body = as_json(formats.service_requests([a_request()]))
    assert isinstance(body, list)
    assert len(body) == 1
    (item,) = body
    assert list(item) == REQUEST_FIELDS
    assert item == {
        "service_request_id": "PA-2026-000042",
        "status": "open",
        "status_notes": "Đang xử lý: đã giao Phường Quế Võ kiểm tra.",
        "service_name": "Ổ gà, hư hỏng mặt đường",
        "service_code": "GT01",
        "description": "Ổ gà lớn trước số 12 <đường> Lý Thái Tổ & ngõ 3",
        "agency_responsible": "Ủy ban nhân dân phường Quế Võ",
        "service_notice": "Trả lời trong 10 ngày làm việc.",
        # 08:15:30.123456 at +07:00 is 01:15:30 UTC; whole seconds.
        "requested_datetime": "2026-03-02T01:15:30Z",
        "updated_datetime": "2026-03-03T09:00:00Z",
        "expected_datetime": None,
        "address": "12 Lý Thái Tổ, Phường Quế Võ",
        "address_id": None,
        "zipcode": "16000",
        "lat": 21.0412345678,
        "long": 106.1023456789,
        "media_url": "https://egov.example.vn/api/v1/files/abc.jpg",
    }


def test_service_requests_xml_field_by_field() -> None:
    request = a_request(status="closed", expected_datetime=dt.datetime(2026, 3, 16, 17, 0, tzinfo=ICT))
    root = as_xml(formats.service_requests([request]))
    assert root.tag == "service_requests"
    assert children(root) == ["request"]
    (element,) = root
    assert children(element) == REQUEST_FIELDS
    assert text(element, "status") == "closed"
    assert text(element, "description") == request.description
    assert text(element, "requested_datetime") == "2026-03-02T01:15:30Z"
    assert text(element, "expected_datetime") == "2026-03-16T10:00:00Z"
    assert text(element, "address_id") is None
    assert float(text(element, "lat") or "nan") == request.lat
    assert float(text(element, "long") or "nan") == request.long


def test_datetimes_carry_a_time_zone_and_parse_back_to_the_same_instant() -> None:
    request = a_request()
    (item,) = as_json(formats.service_requests([request]))
    for name in ("requested_datetime", "updated_datetime"):
        parsed = dt.datetime.fromisoformat(item[name])
        assert parsed.utcoffset() == dt.timedelta(0)
        assert parsed == getattr(request, name).replace(microsecond=0)


def test_naive_datetimes_and_statuses_beyond_open_closed_are_bugs() -> None:
    with pytest.raises(ValueError, match="time zone"):
        formats.service_requests([a_request(updated_datetime=dt.datetime(2026, 3, 3, 9, 0))])
    with pytest.raises(ValueError, match="open or closed"):
        formats.service_requests([a_request(status="processing")])


def test_many_requests_keep_their_order() -> None:
    ids = ["PA-1", "PA-2", "PA-3"]
    document = formats.service_requests([a_request(service_request_id=i) for i in ids])
    assert [item["service_request_id"] for item in as_json(document)] == ids
    assert [text(r, "service_request_id") for r in as_xml(document)] == ids


def test_vietnamese_text_is_utf8_and_escaped_in_xml() -> None:
    request = a_request(description='Phường <Võ Cường> & "ngõ" 5\x0b\x00 — xong')
    xml_body = formats.service_requests([request]).to_xml()
    json_body = formats.service_requests([request]).to_json()
    assert "Phường".encode() in xml_body
    assert "Phường".encode() in json_body
    assert b"&lt;V" in xml_body
    assert b"&amp;" in xml_body
    assert b"\\u" not in json_body.replace(b"\\u000b", b"").replace(b"\\u0000", b"")
    # Characters XML 1.0 cannot carry are dropped there, so the document stays well-formed.
    (element,) = ET.fromstring(xml_body)
    assert text(element, "description") == 'Phường <Võ Cường> & "ngõ" 5 — xong'
    assert json.loads(json_body)[0]["description"] == request.description


def test_request_created_with_an_id() -> None:
    document = formats.request_created(
        CreatedRequest(service_request_id="PA-2026-000042", service_notice="Trả lời trong 10 ngày làm việc.")
    )
    assert as_json(document) == [
        {
            "service_request_id": "PA-2026-000042",
            "service_notice": "Trả lời trong 10 ngày làm việc.",
            "account_id": None,
        }
    ]
    root = as_xml(document)
    assert (root.tag, children(root)) == ("service_requests", ["request"])
    assert children(root[0]) == ["service_request_id", "service_notice", "account_id"]
    assert text(root[0], "account_id") is None


def test_request_created_with_a_token_has_no_id() -> None:
    body = as_json(formats.request_created(CreatedRequest(token="tk-1", account_id="acc-9")))
    assert body == [{"token": "tk-1", "service_notice": None, "account_id": "acc-9"}]
    for wrong in (CreatedRequest(), CreatedRequest(service_request_id="1", token="t")):
        with pytest.raises(ValueError, match="exactly one"):
            formats.request_created(wrong)


def test_token_lookup() -> None:
    document = formats.token_lookup("tk-1", "PA-7")
    assert as_json(document) == [{"service_request_id": "PA-7", "token": "tk-1"}]
    root = as_xml(document)
    assert root.tag == "service_requests"
    assert children(root[0]) == ["service_request_id", "token"]
    assert as_json(formats.token_lookup("tk-2", None)) == [{"service_request_id": None, "token": "tk-2"}]


def test_service_request_updates_json_and_xml() -> None:
    update = RequestUpdate(
        update_id="UP-9",
        service_request_id="PA-7",
        status="in_progress",
        updated_datetime=dt.datetime(2026, 3, 4, 14, 0, tzinfo=ICT),
        description="Đã cử tổ công tác.",
    )
    assert as_json(formats.service_request_updates([update])) == [
        {
            "update_id": "UP-9",
            "service_request_id": "PA-7",
            "status": "in_progress",
            "updated_datetime": "2026-03-04T07:00:00Z",
            "description": "Đã cử tổ công tác.",
            "media_url": None,
        }
    ]
    root = as_xml(formats.service_request_updates([update]))
    assert (root.tag, children(root)) == ("service_request_updates", ["request_update"])
    assert children(root[0]) == UPDATE_FIELDS
    with pytest.raises(ValueError, match="status"):
        formats.service_request_updates([RequestUpdate("1", "2", "waiting_to_publish", NOW)])


def test_discovery_is_one_object() -> None:
    document = formats.discovery(
        url="http://localhost:8000/open311/v2",
        changeset=NOW,
        contact="Văn phòng UBND tỉnh, 0222 000 000",
        key_service="Liên hệ Văn phòng UBND tỉnh để được cấp api_key.",
    )
    body = as_json(document)
    assert list(body) == ["changeset", "contact", "key_service", "endpoints"]
    assert body["endpoints"] == [
        {
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": "http://localhost:8000/open311/v2",
            "changeset": "2026-03-10T09:00:00Z",
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }
    ]
    root = as_xml(document)
    assert root.tag == "discovery"
    assert [f.text for f in root.iterfind("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]


def test_media_types() -> None:
    assert formats.media_type("xml") == "text/xml; charset=utf-8"
    assert formats.media_type("json") == "application/json; charset=utf-8"
    document = formats.token_lookup("t", "1")
    assert document.render("json") == document.to_json()
    assert document.render("xml") == document.to_xml()


# --- errors -------------------------------------------------------------------------------------------------------


def test_errors_are_the_spec_array_in_json_and_xml() -> None:
    document = formats.errors([(403, "api_key: khoá API không hợp lệ."), (400, "lat: không phải là số.")])
    assert as_json(document) == [
        {"code": 403, "description": "api_key: khoá API không hợp lệ."},
        {"code": 400, "description": "lat: không phải là số."},
    ]
    root = as_xml(document)
    assert (root.tag, children(root)) == ("errors", ["error", "error"])
    assert children(root[0]) == ["code", "description"]
    assert (text(root[0], "code"), text(root[0], "description")) == ("403", "api_key: khoá API không hợp lệ.")


def test_an_open311_error_is_400_403_or_404_and_renders_its_list() -> None:
    error = Open311Error.single(404, "service_code: không tồn tại.")
    assert error.status == 404
    assert as_json(error.document()) == [{"code": 404, "description": "service_code: không tồn tại."}]
    with pytest.raises(ValueError, match="400, 403 or 404"):
        Open311Error(500, [(500, "x")])
    with pytest.raises(ValueError, match="at least one"):
        Open311Error(400, [])


# --- POST /requests form ------------------------------------------------------------------------------------------

VALID = [
    ("api_key", "demo-open311-key"),
    ("service_code", "GT01"),
    ("lat", "21.0412"),
    ("long", "106.1023"),
    ("attribute[KICH_THUOC]", "lon"),
    ("attribute[LOAI_O_NHIEM][]", "mui"),
    ("attribute[LOAI_O_NHIEM][]", "nuoc_thai"),
    ("email", "an.nguyen@example.vn"),
    ("first_name", "An"),
    ("last_name", "Nguyễn Văn"),
    ("phone", "+84 912 345 678"),
    ("description", unicodedata.normalize("NFD", "  Ổ gà sâu, nguy hiểm  ")),
    ("media_url", "https://example.vn/a.jpg"),
    ("jurisdiction_id", "bacninh.gov.vn"),
    ("unknown_extra", "ignored"),
]


def form(*, drop: tuple[str, ...] = (), **extra: str) -> list[tuple[str, object]]:
    kept: list[tuple[str, object]] = [(k, v) for k, v in VALID if k not in drop and k not in extra]
    return kept + list(extra.items())


def descriptions(error: Open311Error) -> list[str]:
    return [description for _, description in error.errors]


def test_a_valid_form_parses_into_a_typed_model() -> None:
    parsed = formats.parse_request_form(form())
    assert parsed.api_key == "demo-open311-key"
    assert parsed.service_code == "GT01"
    assert (parsed.lat, parsed.long) == (21.0412, 106.1023)
    assert parsed.attributes == {"KICH_THUOC": ("lon",), "LOAI_O_NHIEM": ("mui", "nuoc_thai")}
    assert parsed.description == "Ổ gà sâu, nguy hiểm"
    assert parsed.description is not None
    assert unicodedata.is_normalized("NFC", parsed.description)
    assert (parsed.first_name, parsed.last_name, parsed.phone) == ("An", "Nguyễn Văn", "+84 912 345 678")
    assert parsed.jurisdiction_id == "bacninh.gov.vn"
    assert parsed.address_string is None
    assert parsed.device_id is None


@pytest.mark.parametrize(
    "location",
    [
        [("address_string", "12 Lý Thái Tổ, Phường Quế Võ")],
        [("address_id", "ADDR-77")],
        [("lat", ""), ("long", ""), ("address_id", "ADDR-77")],
    ],
)
def test_an_address_can_stand_for_coordinates(location: list[tuple[str, object]]) -> None:
    parsed = formats.parse_request_form(form(drop=("lat", "long")) + location)
    assert parsed.lat is None
    assert parsed.long is None
    assert parsed.address_string or parsed.address_id


def test_a_missing_api_key_is_403_before_anything_else() -> None:
    with pytest.raises(Open311Error) as refused:
        formats.parse_request_form([("service_code", ""), ("lat", "abc")])
    assert refused.value.status == 403
    assert descriptions(refused.value) == ["api_key: thiếu khoá API."]
    assert refused.value.errors[0][0] == 403


@pytest.mark.parametrize(
    ("changed", "field"),
    [
        ({"drop": ("service_code",)}, "service_code"),
        ({"drop": ("lat", "long")}, "lat, long"),
        ({"drop": ("long",)}, "lat, long"),
        ({"lat": "abc"}, "lat"),
        ({"lat": "91"}, "lat"),
        ({"long": "-180.5"}, "long"),
        ({"long": "nan"}, "long"),
        ({"email": "an.nguyen.example.vn"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"phone": "123"}, "phone"),
        ({"media_url": "ftp://example.vn/a.jpg"}, "media_url"),
        ({"media_url": "javascript:alert(1)"}, "media_url"),
        ({"description": "x" * 4001}, "description"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(changed: dict[str, Any], field: str) -> None:
    drop = changed.pop("drop", ())
    with pytest.raises(Open311Error) as refused:
        formats.parse_request_form(form(drop=drop, **changed))
    assert refused.value.status == 400
    assert all(code == 400 for code, _ in refused.value.errors)
    assert any(d.startswith(f"{field}: ") for d in descriptions(refused.value)), descriptions(refused.value)


def test_a_field_sent_twice_or_as_a_file_is_refused() -> None:
    with pytest.raises(Open311Error) as refused:
        formats.parse_request_form(form() + [("service_code", "MT01"), ("email", object())])
    assert descriptions(refused.value) == ["service_code: chỉ được gửi một lần.", "email: phải là văn bản."]


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(Open311Error) as refused:
        formats.parse_request_form(
            [("api_key", "k"), ("lat", "x"), ("long", "200"), ("email", "nope"), ("media_url", "nope")]
        )
    assert [d.split(":")[0] for d in descriptions(refused.value)] == [
        "service_code",
        "lat",
        "long",
        "email",
        "media_url",
    ]
    assert len(as_json(refused.value.document())) == 5


# --- attributes against the service definition --------------------------------------------------------------------


def test_attributes_that_fit_the_definition_are_returned() -> None:
    answers = formats.validate_attributes(
        category("GT01"), {"KICH_THUOC": ["lon"], "NGUY_HIEM": ["co"], "title": ["from FixMyStreet"]}
    )
    assert answers == {"KICH_THUOC": "lon", "NGUY_HIEM": "co"}
    multi = formats.validate_attributes(category("MT03"), {"LOAI_O_NHIEM": ["mui", "nuoc_thai", "mui"]})
    assert multi == {"LOAI_O_NHIEM": ["mui", "nuoc_thai"]}
    when = formats.validate_attributes(category("MT04"), {"THOI_DIEM": ["2026-03-01T22:30:00+07:00"]})
    assert when == {"THOI_DIEM": "2026-03-01T15:30:00Z"}
    # Informational attributes take no input: what a client sends for them is ignored.
    assert formats.validate_attributes(category("AN01"), {"KHAN_CAP": ["x"]}) == {}
    assert formats.validate_attributes(category("DN01"), {"SO_HO": ["12"]}) == {"SO_HO": "12"}


@pytest.mark.parametrize(
    ("code", "submitted", "field"),
    [
        ("GT01", {}, "attribute[KICH_THUOC]"),
        ("GT01", {"KICH_THUOC": ["rat_lon"]}, "attribute[KICH_THUOC]"),
        ("GT01", {"KICH_THUOC": ["nho", "lon"]}, "attribute[KICH_THUOC]"),
        ("MT03", {"LOAI_O_NHIEM": ["mui", "phong_xa"]}, "attribute[LOAI_O_NHIEM]"),
        ("MT04", {"THOI_DIEM": ["2026-03-01T22:30:00"]}, "attribute[THOI_DIEM]"),
        ("MT04", {"THOI_DIEM": ["tối qua"]}, "attribute[THOI_DIEM]"),
        ("DN01", {"SO_HO": ["mười"]}, "attribute[SO_HO]"),
        ("DN01", {"SO_HO": ["inf"]}, "attribute[SO_HO]"),
    ],
)
def test_attributes_that_do_not_fit_are_400(code: str, submitted: dict[str, list[str]], field: str) -> None:
    with pytest.raises(Open311Error) as refused:
        formats.validate_attributes(category(code), submitted)
    assert refused.value.status == 400
    assert descriptions(refused.value)[0].startswith(f"{field}: ")


# --- GET /requests and /servicerequestupdates parameters ----------------------------------------------------------


def test_requests_query_defaults_to_the_last_90_days_and_1000_items() -> None:
    query = formats.parse_requests_query([], now=NOW)
    assert (query.start_date, query.end_date) == (NOW - dt.timedelta(days=90), NOW)
    assert (query.page, query.page_size) == (1, 1000)
    assert query.service_request_ids == query.service_codes == query.statuses == ()


def test_requests_query_lists_are_comma_delimited_or_repeated() -> None:
    query = formats.parse_requests_query(
        [
            ("service_code", "GT01,MT01"),
            ("service_code", "GT01"),
            ("status", "open, closed"),
            ("status", "open"),
        ],
        now=NOW,
    )
    assert query.service_codes == ("GT01", "MT01")
    assert query.statuses == ("open", "closed")


def test_service_request_ids_override_the_other_filters() -> None:
    query = formats.parse_requests_query(
        [("service_request_id", "PA-1,PA-2"), ("status", "bogus"), ("start_date", "x")], now=NOW
    )
    assert query.service_request_ids == ("PA-1", "PA-2")
    assert query.statuses == ()
    assert query.start_date is None
    assert query.end_date is None


def test_a_start_or_end_alone_opens_a_90_day_window() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    query = formats.parse_requests_query([("start_date", "2026-01-01T00:00:00Z")], now=NOW)
    assert (query.start_date, query.end_date) == (start, start + dt.timedelta(days=90))
    query = formats.parse_requests_query([("end_date", "2026-01-01T07:00:00+07:00")], now=NOW)
    assert (query.start_date, query.end_date) == (start - dt.timedelta(days=90), start)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ([("status", "processing")], "status"),
        ([("start_date", "2026-01-01")], "start_date"),
        ([("end_date", "yesterday")], "end_date"),
        ([("start_date", "2026-02-01T00:00:00Z"), ("end_date", "2026-01-01T00:00:00Z")], "end_date"),
        (
            [("start_date", "2025-01-01T00:00:00Z"), ("end_date", "2026-01-01T00:00:00Z")],
            "start_date, end_date",
        ),
        ([("page", "0")], "page"),
        ([("page", "two")], "page"),
        ([("page_size", "1001")], "page_size"),
    ],
)
def test_bad_requests_query_is_400(params: list[tuple[str, str]], field: str) -> None:
    with pytest.raises(Open311Error) as refused:
        formats.parse_requests_query(params, now=NOW)
    assert refused.value.status == 400
    assert descriptions(refused.value)[0].startswith(f"{field}: ")


def test_updates_query() -> None:
    query = formats.parse_updates_query([("start_date", "2026-03-01T00:00:00+07:00")])
    assert query.start_date == dt.datetime(2026, 2, 28, 17, 0, tzinfo=dt.UTC)
    assert query.end_date is None
    with pytest.raises(Open311Error):
        formats.parse_updates_query(
            [("start_date", "2026-03-02T00:00:00Z"), ("end_date", "2026-03-01T00:00:00Z")]
        )
