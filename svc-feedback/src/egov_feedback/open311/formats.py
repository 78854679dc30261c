"""Open311 GeoReport v2 documents, field by field, in XML (the spec's required format) and JSON; the request forms.

Every document is built once as a neutral tree (:class:`Document`) and rendered either way, so the two formats
cannot drift apart: JSON follows the spec's programmatic mapping of the XML (arrays for the repeated elements,
``null`` for empty ones). Lists are arrays even for one item; datetimes are W3C/ISO 8601 in UTC (``...Z``); all
text is UTF-8. Names and order of the fields are those of http://wiki.open311.org/GeoReport_v2 and, for
``servicerequestupdates``, of FixMyStreet's extension.

Errors are the spec's ``[{code, description}]``: 403 for a missing or wrong ``api_key``, 404 for an unknown
resource, 400 for everything else. Descriptions name the offending field first (``lat: ...``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeAlias, Union
from urllib.parse import urlsplit

from egov_feedback.reference.categories import Attribute, Category

Format = Literal["json", "xml"]
FORMATS: Final = ("json", "xml")
MEDIA_TYPES: Final[Mapping[Format, str]] = {
    "json": "application/json; charset=utf-8",
    "xml": "text/xml; charset=utf-8",
}
SPECIFICATION: Final = "http://wiki.open311.org/GeoReport_v2"

Status = Literal["open", "closed"]
STATUSES: Final = ("open", "closed")
_STATUS_NAMES: Final[Mapping[str, Status]] = {"open": "open", "closed": "closed"}
# FixMyStreet's states for updates, beyond open/closed (its "Open311 FMS - Additional states" extension).
UPDATE_STATUSES: Final = frozenset(
    {
        "open",
        "closed",
        "fixed",
        "investigating",
        "in_progress",
        "action_scheduled",
        "duplicate",
        "not_councils_responsibility",
        "no_further_action",
        "internal_referral",
    }
)

MAX_DESCRIPTION: Final = 4000  # the spec's limit for a request's description
DEFAULT_WINDOW: Final = dt.timedelta(days=90)
MAX_PAGE_SIZE: Final = 1000


# --- the neutral tree -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Many:
    """An array: in JSON a list; in XML the field's element holding one ``tag`` element per item."""

    tag: str
    items: Sequence[Value]


Scalar: TypeAlias = str | int | float | bool | None
Value: TypeAlias = Union[Scalar, Many, "Fields"]
Fields: TypeAlias = dict[str, Value]


@dataclass(frozen=True)
class Document:
    """A response: the XML root element and its content (an array of items, or one object)."""

    root: str
    body: Many | Fields

    def render(self, fmt: Format) -> bytes:
        return self.to_json() if fmt == "json" else self.to_xml()

    def to_json(self) -> bytes:
        # allow_nan=False: a NaN coordinate must fail here, not reach a client as invalid JSON.
        return json.dumps(_plain(self.body), ensure_ascii=False, allow_nan=False).encode("utf-8")

    def to_xml(self) -> bytes:
        root = ET.Element(self.root)
        _fill(root, self.body)
        return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode(
            "utf-8"
        )


def media_type(fmt: Format) -> str:
    return MEDIA_TYPES[fmt]


def _plain(value: Value) -> object:
    if isinstance(value, Many):
        return [_plain(item) for item in value.items]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


# Characters XML 1.0 cannot carry at all, not even escaped; a citizen's pasted text can contain them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Scalar) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Value) -> None:
    if isinstance(value, Many):
        for item in value.items:
            _fill(ET.SubElement(element, value.tag), item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    else:
        element.text = _text(value)


def w3_datetime(value: dt.datetime) -> str:
    """``2026-03-01T02:30:00Z``: UTC, whole seconds. A naive datetime is a bug, not a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("Open311 datetimes need a time zone")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _maybe_datetime(value: dt.datetime | None) -> str | None:
    return None if value is None else w3_datetime(value)


# --- errors -----------------------------------------------------------------------------------------------------

ErrorCode: TypeAlias = int | str


def errors(pairs: Iterable[tuple[ErrorCode, str]]) -> Document:
    return Document(
        "errors", Many("error", [{"code": code, "description": description} for code, description in pairs])
    )


class Open311Error(Exception):
    """An Open311 failure: the HTTP status and the ``[(code, description)]`` the body lists."""

    def __init__(self, status: int, errors: Sequence[tuple[ErrorCode, str]]) -> None:
        if status not in (400, 403, 404):
            raise ValueError("Open311 errors are 400, 403 or 404")
        if not errors:
            raise ValueError("an Open311 error lists at least one error")
        super().__init__("; ".join(description for _, description in errors))
        self.status = status
        self.errors: tuple[tuple[ErrorCode, str], ...] = tuple(errors)

    @classmethod
    def single(cls, status: int, description: str) -> Open311Error:
        return cls(status, [(status, description)])

    def document(self) -> Document:
        return errors(self.errors)


# --- discovery and services -------------------------------------------------------------------------------------


def discovery(
    *,
    url: str,
    changeset: dt.datetime,
    contact: str,
    key_service: str,
    endpoint_type: Literal["production", "test"] = "production",
) -> Document:
    """The service discovery document (one object, not an array) for our one GeoReport v2 endpoint."""
    stamp = w3_datetime(changeset)
    endpoint: Fields = {
        "specification": SPECIFICATION,
        "url": url,
        "changeset": stamp,
        "type": endpoint_type,
        "formats": Many("format", ["text/xml", "application/json"]),
    }
    return Document(
        "discovery",
        {
            "changeset": stamp,
            "contact": contact,
            "key_service": key_service,
            "endpoints": Many("endpoint", [endpoint]),
        },
    )


def service_list(categories: Iterable[Category]) -> Document:
    return Document(
        "services",
        Many(
            "service",
            [
                {
                    "service_code": c.code,
                    "service_name": c.name,
                    "description": c.description,
                    "metadata": c.metadata,
                    "type": "realtime",
                    "keywords": ", ".join(c.keywords),
                    "group": c.group,
                }
                for c in categories
            ],
        ),
    )


def _attribute(a: Attribute) -> Fields:
    return {
        "variable": a.variable,
        "code": a.code,
        "datatype": a.datatype,
        "required": a.required,
        "datatype_description": a.datatype_description,
        "order": a.order,
        "description": a.description,
        "values": Many("value", [{"key": v.key, "name": v.name} for v in a.values]),
    }


def service_definition(category: Category) -> Document:
    """One object, as in the spec: ``{service_code, attributes: [...]}``."""
    ordered = sorted(category.attributes, key=lambda a: a.order)
    return Document(
        "service_definition",
        {"service_code": category.code, "attributes": Many("attribute", [_attribute(a) for a in ordered])},
    )


# --- requests ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceRequest:
    """A report as Open311 shows it. ``agency_responsible`` is the agency's name, for people to read."""

    service_request_id: str
    status: Status
    service_code: str
    service_name: str
    requested_datetime: dt.datetime
    updated_datetime: dt.datetime
    status_notes: str | None = None
    description: str | None = None
    agency_responsible: str | None = None
    service_notice: str | None = None
    expected_datetime: dt.datetime | None = None
    address: str | None = None
    address_id: str | None = None
    zipcode: str | None = None
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None


def _request(r: ServiceRequest) -> Fields:
    if r.status not in STATUSES:
        raise ValueError(f"Open311 status is open or closed, not {r.status!r}")
    return {
        "service_request_id": r.service_request_id,
        "status": r.status,
        "status_notes": r.status_notes,
        "service_name": r.service_name,
        "service_code": r.service_code,
        "description": r.description,
        "agency_responsible": r.agency_responsible,
        "service_notice": r.service_notice,
        "requested_datetime": w3_datetime(r.requested_datetime),
        "updated_datetime": w3_datetime(r.updated_datetime),
        "expected_datetime": _maybe_datetime(r.expected_datetime),
        "address": r.address,
        "address_id": r.address_id,
        "zipcode": r.zipcode,
        "lat": r.lat,
        "long": r.long,
        "media_url": r.media_url,
    }


def service_requests(requests: Iterable[ServiceRequest]) -> Document:
    """GET /requests and GET /requests/{id} (the latter is an array of one)."""
    return Document("service_requests", Many("request", [_request(r) for r in requests]))


@dataclass(frozen=True)
class CreatedRequest:
    """The answer to POST /requests: a request id (realtime services) or a token (batch services)."""

    service_request_id: str | None = None
    token: str | None = None
    service_notice: str | None = None
    account_id: str | None = None


def request_created(created: CreatedRequest) -> Document:
    if (created.service_request_id is None) == (created.token is None):
        raise ValueError("exactly one of service_request_id and token")
    item: Fields = (
        {"service_request_id": created.service_request_id}
        if created.service_request_id is not None
        else {"token": created.token}
    )
    item["service_notice"] = created.service_notice
    item["account_id"] = created.account_id
    return Document("service_requests", Many("request", [item]))


def token_lookup(token: str, service_request_id: str | None) -> Document:
    """GET /tokens/{token}: ``service_request_id`` is null while the request is not created yet."""
    return Document(
        "service_requests", Many("request", [{"service_request_id": service_request_id, "token": token}])
    )


@dataclass(frozen=True)
class RequestUpdate:
    update_id: str
    service_request_id: str
    status: str
    updated_datetime: dt.datetime
    description: str | None = None
    media_url: str | None = None


def service_request_updates(updates: Iterable[RequestUpdate]) -> Document:
    """FixMyStreet's GET /servicerequestupdates: ``<service_request_updates><request_update>...``."""
    items: list[Value] = []
    for u in updates:
        if u.status not in UPDATE_STATUSES:
            raise ValueError(f"unknown update status {u.status!r}")
        items.append(
            {
                "update_id": u.update_id,
                "service_request_id": u.service_request_id,
                "status": u.status,
                "updated_datetime": w3_datetime(u.updated_datetime),
                "description": u.description,
                "media_url": u.media_url,
            }
        )
    return Document("service_request_updates", Many("request_update", items))


# --- parsing what clients send ----------------------------------------------------------------------------------

FormItems: TypeAlias = Iterable[tuple[str, object]]

# Field -> longest value accepted. Anything else a client sends (jurisdiction-specific extras) is ignored.
_FORM_FIELDS: Final[Mapping[str, int]] = {
    "api_key": 200,
    "jurisdiction_id": 200,
    "service_code": 50,
    "lat": 40,
    "long": 40,
    "address_string": 500,
    "address_id": 100,
    "email": 254,
    "device_id": 200,
    "account_id": 200,
    "first_name": 100,
    "last_name": 100,
    "phone": 30,
    "description": MAX_DESCRIPTION,
    "media_url": 2048,
}
_ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9 .()-]+$")


@dataclass(frozen=True)
class RequestForm:
    """A validated POST /requests form. Text is NFC and stripped; an empty field counts as absent."""

    api_key: str
    service_code: str
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    description: str | None = None
    media_url: str | None = None
    jurisdiction_id: str | None = None


def _clean(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def _coordinate(name: str, raw: str, limit: float, problems: list[tuple[ErrorCode, str]]) -> float | None:
    try:
        number = float(raw)
    except ValueError:
        problems.append((400, f"{name}: không phải là số ({raw!r})."))
        return None
    if not math.isfinite(number) or abs(number) > limit:
        problems.append((400, f"{name}: phải nằm trong khoảng -{limit:g} đến {limit:g} (WGS84)."))
        return None
    return number


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_request_form(items: FormItems) -> RequestForm:
    """Validate a POST /requests form (its multi-items, e.g. Starlette's ``FormData.multi_items()``).

    Raises :class:`Open311Error`: 403 when ``api_key`` is missing (before anything else: an anonymous caller
    learns nothing about the form), else 400 listing every problem at once. Whether the key is valid, the
    service code exists and the attributes fit its definition are the caller's checks
    (:func:`validate_attributes`).
    """
    scalars: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    problems: list[tuple[ErrorCode, str]] = []
    for key, raw in items:
        attribute = _ATTRIBUTE_KEY.match(key)
        if key not in _FORM_FIELDS and attribute is None:
            continue
        if not isinstance(raw, str):
            problems.append((400, f"{key}: phải là văn bản."))
            continue
        value = _clean(raw)
        if attribute is not None:
            if value:
                attributes.setdefault(attribute.group(1), []).append(value)
            continue
        if key in scalars:
            problems.append((400, f"{key}: chỉ được gửi một lần."))
        elif len(value) > _FORM_FIELDS[key]:
            problems.append((400, f"{key}: dài quá {_FORM_FIELDS[key]} ký tự."))
        elif value:
            scalars[key] = value

    if "api_key" not in scalars:
        raise Open311Error.single(403, "api_key: thiếu khoá API.")
    if "service_code" not in scalars:
        problems.append((400, "service_code: bắt buộc."))

    lat = long = None
    if "lat" in scalars:
        lat = _coordinate("lat", scalars["lat"], 90, problems)
    if "long" in scalars:
        long = _coordinate("long", scalars["long"], 180, problems)
    if ("lat" in scalars) != ("long" in scalars):
        problems.append((400, "lat, long: phải gửi cả hai."))
    if not ({"lat", "long"} <= scalars.keys() or {"address_string", "address_id"} & scalars.keys()):
        problems.append((400, "lat, long: cần vị trí: lat và long, hoặc address_string, hoặc address_id."))

    email = scalars.get("email")
    if email is not None and not _EMAIL.match(email):
        problems.append((400, "email: không đúng định dạng."))
    phone = scalars.get("phone")
    if phone is not None and not (_PHONE.match(phone) and sum(ch.isdigit() for ch in phone) >= 6):
        problems.append((400, "phone: không đúng định dạng."))
    media_url = scalars.get("media_url")
    if media_url is not None and not _is_web_url(media_url):
        problems.append((400, "media_url: phải là địa chỉ http hoặc https."))

    if problems:
        raise Open311Error(400, problems)
    return RequestForm(
        api_key=scalars["api_key"],
        service_code=scalars["service_code"],
        lat=lat,
        long=long,
        address_string=scalars.get("address_string"),
        address_id=scalars.get("address_id"),
        attributes={code: tuple(values) for code, values in attributes.items()},
        email=email,
        device_id=scalars.get("device_id"),
        account_id=scalars.get("account_id"),
        first_name=scalars.get("first_name"),
        last_name=scalars.get("last_name"),
        phone=phone,
        description=scalars.get("description"),
        media_url=media_url,
        jurisdiction_id=scalars.get("jurisdiction_id"),
    )


def validate_attributes(
    category: Category, submitted: Mapping[str, Sequence[str]]
) -> dict[str, str | list[str]]:
    """Check ``attribute[code]`` answers against the category's definition; 400 listing every problem.

    Returns the answers to the category's input attributes: a list for a multivaluelist, else one string
    (a datetime normalised to UTC). Codes the definition does not know are dropped: clients such as
    FixMyStreet send their own extras (``attribute[title]``, ...).
    """
    answers: dict[str, str | list[str]] = {}
    problems: list[tuple[ErrorCode, str]] = []
    for a in category.attributes:
        if not a.variable:
            continue
        values = list(submitted.get(a.code, ()))
        name = f"attribute[{a.code}]"
        if not values:
            if a.required:
                problems.append((400, f"{name}: bắt buộc ({a.description})."))
            continue
        if a.datatype != "multivaluelist" and len(values) > 1:
            problems.append((400, f"{name}: chỉ nhận một giá trị."))
            continue
        keys = {v.key for v in a.values}
        if a.datatype == "multivaluelist":
            unknown = [v for v in values if v not in keys]
            if unknown:
                problems.append((400, f"{name}: giá trị không hợp lệ {unknown}; chọn trong {sorted(keys)}."))
            else:
                answers[a.code] = list(dict.fromkeys(values))
            continue
        value = values[0]
        if a.datatype == "singlevaluelist" and value not in keys:
            problems.append((400, f"{name}: giá trị không hợp lệ {value!r}; chọn trong {sorted(keys)}."))
        elif a.datatype == "number" and not _is_number(value):
            problems.append((400, f"{name}: phải là số."))
        elif a.datatype == "datetime":
            try:
                answers[a.code] = w3_datetime(parse_datetime(value))
            except ValueError:
                problems.append((400, f"{name}: phải là ngày giờ ISO 8601 có múi giờ."))
        elif len(value) > MAX_DESCRIPTION:
            problems.append((400, f"{name}: dài quá {MAX_DESCRIPTION} ký tự."))
        else:
            answers[a.code] = value
    if problems:
        raise Open311Error(400, problems)
    return answers


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def parse_datetime(value: str) -> dt.datetime:
    """A W3C/ISO 8601 datetime with its time zone (``2026-03-01T00:00:00Z``, ``...+07:00``); ValueError else."""
    parsed = dt.datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("a time zone is required")
    return parsed


@dataclass(frozen=True)
class RequestsQuery:
    """GET /requests filters. With ``service_request_ids`` the others do not apply (the spec says so)."""

    service_request_ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[Status, ...] = ()
    start_date: dt.datetime | None = None
    end_date: dt.datetime | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE


def _listed(pairs: Sequence[tuple[str, str]], name: str) -> list[str]:
    """A parameter "declared multiple times, comma delimited"."""
    return [part.strip() for key, value in pairs if key == name for part in value.split(",") if part.strip()]


def _positive(
    pairs: Sequence[tuple[str, str]], name: str, default: int, problems: list[tuple[ErrorCode, str]]
) -> int:
    given = [value.strip() for key, value in pairs if key == name and value.strip()]
    if not given:
        return default
    if len(given) > 1 or not given[0].isdigit() or int(given[0]) < 1:
        problems.append((400, f"{name}: phải là một số nguyên dương."))
        return default
    return int(given[0])


def _date(
    pairs: Sequence[tuple[str, str]], name: str, problems: list[tuple[ErrorCode, str]]
) -> dt.datetime | None:
    given = [value for key, value in pairs if key == name and value.strip()]
    if not given:
        return None
    try:
        return parse_datetime(given[0])
    except ValueError:
        problems.append((400, f"{name}: phải là ngày giờ W3C có múi giờ, ví dụ 2026-01-01T00:00:00Z."))
        return None


def parse_requests_query(params: Iterable[tuple[str, str]], *, now: dt.datetime) -> RequestsQuery:
    """Validate GET /requests parameters (the query's multi-items); 400 listing every problem.

    The window defaults to the 90 days before ``now``; a start or end alone extends 90 days from it; a window
    longer than 90 days is refused. ``page``/``page_size`` (the common extension) default to 1 and 1000.
    """
    pairs = list(params)
    problems: list[tuple[ErrorCode, str]] = []
    page = _positive(pairs, "page", 1, problems)
    page_size = _positive(pairs, "page_size", MAX_PAGE_SIZE, problems)
    if page_size > MAX_PAGE_SIZE:
        problems.append((400, f"page_size: tối đa {MAX_PAGE_SIZE}."))
    ids = tuple(_listed(pairs, "service_request_id"))
    if ids:
        if problems:
            raise Open311Error(400, problems)
        return RequestsQuery(service_request_ids=ids, page=page, page_size=page_size)

    statuses: list[Status] = []
    for status in _listed(pairs, "status"):
        known = _STATUS_NAMES.get(status)
        if known is not None:
            statuses.append(known)
        else:
            problems.append((400, f"status: chỉ nhận open hoặc closed, không nhận {status!r}."))
    start = _date(pairs, "start_date", problems)
    end = _date(pairs, "end_date", problems)
    if start is None and end is None:
        start, end = now - DEFAULT_WINDOW, now
    elif start is None and end is not None:
        start = end - DEFAULT_WINDOW
    elif end is None and start is not None:
        end = start + DEFAULT_WINDOW
    if start is not None and end is not None:
        if end < start:
            problems.append((400, "end_date: trước start_date."))
        elif end - start > DEFAULT_WINDOW:
            problems.append((400, "start_date, end_date: khoảng thời gian không được quá 90 ngày."))
    if problems:
        raise Open311Error(400, problems)
    return RequestsQuery(
        service_codes=tuple(dict.fromkeys(_listed(pairs, "service_code"))),
        statuses=tuple(dict.fromkeys(statuses)),
        start_date=start,
        end_date=end,
        page=page,
        page_size=page_size,
    )


@dataclass(frozen=True)
class UpdatesQuery:
    start_date: dt.datetime | None = None
    end_date: dt.datetime | None = None


def parse_updates_query(params: Iterable[tuple[str, str]]) -> UpdatesQuery:
    """GET /servicerequestupdates: optional ``start_date`` and ``end_date``; 400 when malformed or reversed."""
    pairs = list(params)
    problems: list[tuple[ErrorCode, str]] = []
    start = _date(pairs, "start_date", problems)
    end = _date(pairs, "end_date", problems)
    if start is not None and end is not None and end < start:
        problems.append((400, "end_date: trước start_date."))
    if problems:
        raise Open311Error(400, problems)
    return UpdatesQuery(start, end)
