"""The edXML messages as immutable, validated values: a document (``MessageHeader``) and a status (``Status``).

Field names are Python's; :mod:`egov_document.exchange.edxml` maps them to the QCVN 102:2016 element names
(``sender`` is ``From``, ``recipients`` are ``To``, ``business`` is ``TraceHeaderList/Bussiness``...).
Every text is NFC (Vietnamese typed on different keyboards compares equal) and free of characters XML 1.0
cannot carry. Dates are calendar dates; times are aware and kept in Vietnam time (UTC+7, no daylight
saving), to the second, because edXML writes them as local ``yyyy/MM/dd HH:mm:ss`` without an offset.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import date, datetime, timedelta, timezone
from enum import IntEnum
from typing import Annotated, Self

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from egov_document.exchange.status import StatusCode, requires_reason

NAMESPACE = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
# A fixed offset, not zoneinfo: Vietnam has kept UTC+7 without daylight saving since 1975.
VN_TZ = timezone(timedelta(hours=7), "ICT")

# Characters XML 1.0 forbids (C0 controls other than tab, newline, carriage return; lone surrogates; FFFE/FFFF).
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_DOCUMENT_ID = re.compile(
    r"^(?P<organ>[^,]+),(?P<date>\d{4}/\d{2}/\d{2}),(?P<number>[^/]+)/(?P<notation>.+)$"
)


def _clean_text(value: str) -> str:
    value = unicodedata.normalize("NFC", value)
    if _XML_ILLEGAL.search(value):
        raise ValueError("contains control characters XML cannot carry")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _vn_second(value: datetime) -> datetime:
    return value.astimezone(VN_TZ).replace(microsecond=0)


def _document_id(value: str) -> str:
    parse_document_id(value)
    return value


Text = Annotated[str, AfterValidator(_clean_text)]
Required = Annotated[str, AfterValidator(_clean_text), AfterValidator(_not_blank)]
# Agency identifiers are 13 characters such as ``000.00.04.G14`` (Decree 30/2020 Appendix VI); we check the
# alphabet and length, not the level structure, so partners with older codes still get through.
OrganId = Annotated[str, Field(min_length=1, max_length=13, pattern=r"^[A-Za-z0-9.]+$")]
CodeNumber = Annotated[Text, Field(min_length=1, max_length=11, pattern=r"^[^/,\s]+$")]
CodeNotation = Annotated[Required, Field(max_length=30)]
Timestamp = Annotated[AwareDatetime, AfterValidator(_vn_second)]
DocumentIdText = Annotated[str, AfterValidator(_clean_text), AfterValidator(_document_id)]
ContentId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._@\-]+$")]
MediaType = Annotated[str, Field(max_length=255, pattern=r"^[A-Za-z0-9!#$&^_.+\-]+/[A-Za-z0-9!#$&^_.+\-]+$")]


class Priority(IntEnum):
    """Độ khẩn as edXML numbers it."""

    NORMAL = 0
    URGENT = 1  # Khẩn
    VERY_URGENT = 2  # Thượng khẩn
    FLASH = 3  # Hỏa tốc
    FLASH_SCHEDULED = 4  # Hỏa tốc hẹn giờ


class BusinessDocType(IntEnum):
    """``BussinessDocType`` (sic): what this message does to the document it carries."""

    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DocumentIdParts(_Model):
    organ_id: str
    promulgation_date: date
    code_number: str
    code_notation: str


def format_document_id(organ_id: str, promulgation_date: date, code_number: str, code_notation: str) -> str:
    """``{sender OrganId},{YYYY/MM/DD},{CodeNumber}/{CodeNotation}``: ``000.00.04.G14,2012/08/06,267/VPCP-TTĐT``."""
    return f"{organ_id},{format_date(promulgation_date)},{code_number}/{code_notation}"


def parse_document_id(value: str) -> DocumentIdParts:
    """Split a DocumentId; ``ValueError`` saying what is wrong when it does not have the four parts."""
    found = _DOCUMENT_ID.match(value)
    if found is None:
        raise ValueError(f"DocumentId {value!r} is not 'OrganId,YYYY/MM/DD,CodeNumber/CodeNotation'")
    return DocumentIdParts(
        organ_id=found["organ"],
        promulgation_date=parse_date(found["date"]),
        code_number=found["number"],
        code_notation=found["notation"],
    )


def format_date(value: date) -> str:
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def parse_date(value: str) -> date:
    """``YYYY/MM/DD`` exactly (zero padded), as edXML writes dates."""
    if not re.fullmatch(r"\d{4}/\d{2}/\d{2}", value):
        raise ValueError(f"date {value!r} is not YYYY/MM/DD")
    try:
        return datetime.strptime(value, "%Y/%m/%d").date()
    except ValueError:
        raise ValueError(f"date {value!r} does not exist") from None


def format_timestamp(value: datetime) -> str:
    return value.astimezone(VN_TZ).strftime("%Y/%m/%d %H:%M:%S")


def parse_timestamp(value: str) -> datetime:
    """``yyyy/MM/dd HH:mm:ss`` in Vietnam time."""
    if not re.fullmatch(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}", value):
        raise ValueError(f"timestamp {value!r} is not yyyy/MM/dd HH:mm:ss")
    try:
        return datetime.strptime(value, "%Y/%m/%d %H:%M:%S").replace(tzinfo=VN_TZ)
    except ValueError:
        raise ValueError(f"timestamp {value!r} does not exist") from None


def vn_now() -> datetime:
    return datetime.now(VN_TZ).replace(microsecond=0)


class Organization(_Model):
    """``From`` / ``To``: an agency. The optional parts are the ones public edXML samples carry."""

    organ_id: OrganId
    organ_name: Annotated[Required, Field(max_length=500)]
    organization_in_charge: Text | None = None
    organ_add: Text | None = None
    email: Text | None = None
    telephone: Text | None = None
    fax: Text | None = None
    website: Text | None = None


class Code(_Model):
    """Số và ký hiệu: ``267/VPCP-TTĐT`` is number ``267``, notation ``VPCP-TTĐT``."""

    code_number: CodeNumber
    code_notation: CodeNotation

    def __str__(self) -> str:
        return f"{self.code_number}/{self.code_notation}"


class PromulgationInfo(_Model):
    place: Annotated[Required, Field(max_length=200)]
    promulgation_date: date


class DocumentType(_Model):
    """``Type`` is the edXML type number (1 administrative document...), ``TypeName`` the Vietnamese name."""

    type: int = Field(ge=0)
    type_name: Annotated[Required, Field(max_length=100)]
    type_detail: int | None = Field(default=None, ge=0)


class SignerInfo(_Model):
    competence: Text | None = None  # thẩm quyền: "TM. Ủy ban nhân dân", "KT. Chủ tịch"...
    position: Annotated[Required, Field(max_length=200)]
    full_name: Annotated[Required, Field(max_length=200)]


class OtherInfo(_Model):
    priority: Priority = Priority.NORMAL
    page_amount: int | None = Field(default=None, ge=0)
    sphere_of_promulgation: Text | None = None
    typer_notation: Text | None = None
    promulgation_amount: int | None = Field(default=None, ge=0)
    appendixes: tuple[Required, ...] = ()


class ResponseFor(_Model):
    """The earlier document this one answers (or a status reports on): its issuer, code, date and id."""

    organ_id: OrganId
    code: Annotated[Required, Field(max_length=42)]
    promulgation_date: date
    document_id: DocumentIdText

    @classmethod
    def from_document_id(cls, document_id: str) -> ResponseFor:
        parts = parse_document_id(document_id)
        return cls(
            organ_id=parts.organ_id,
            code=f"{parts.code_number}/{parts.code_notation}",
            promulgation_date=parts.promulgation_date,
            document_id=document_id,
        )


class StaffInfo(_Model):
    department: Text | None = None
    staff: Text | None = None
    mobile: Text | None = None
    email: Text | None = None


class Business(_Model):
    """``TraceHeaderList/Bussiness``: new, revoke, update or replace, with the reason for the last three."""

    doc_type: BusinessDocType = BusinessDocType.NEW
    reason: Text | None = None
    paper: int | None = Field(default=None, ge=0, le=1)  # 1: a paper copy follows
    staff_info: StaffInfo | None = None

    @model_validator(mode="after")
    def _reason_unless_new(self) -> Self:
        if self.doc_type is not BusinessDocType.NEW and not (self.reason and self.reason.strip()):
            raise ValueError(f"BussinessDocReason is required for BussinessDocType {int(self.doc_type)}")
        return self


class TraceHeader(_Model):
    organ_id: OrganId
    timestamp: Timestamp


class Attachment(_Model):
    """A file carried base64 in ``AttachmentEncoded/Attachment``, referenced from ``edXMLManifest``."""

    name: Annotated[Required, Field(max_length=255)]
    content_type: MediaType
    content: bytes
    description: Text | None = None
    content_id: ContentId = Field(default_factory=lambda: uuid.uuid4().hex)


class EdxmlMessage(_Model):
    """A document sent from one agency to others: ``edXMLHeader/MessageHeader`` plus attachments."""

    sender: Organization
    recipients: tuple[Organization, ...] = Field(min_length=1)
    code: Code
    promulgation: PromulgationInfo
    document_type: DocumentType
    subject: Annotated[Required, Field(max_length=500)]
    content: Text | None = None
    signer: SignerInfo
    due_date: date | None = None
    to_places: tuple[Required, ...] = ()
    other_info: OtherInfo = OtherInfo()
    response_for: tuple[ResponseFor, ...] = ()
    steering_type: int | None = Field(default=None, ge=0)
    business: Business = Business()
    trace: tuple[TraceHeader, ...] = Field(min_length=1)
    attachments: tuple[Attachment, ...] = ()

    @property
    def document_id(self) -> str:
        return format_document_id(
            self.sender.organ_id,
            self.promulgation.promulgation_date,
            self.code.code_number,
            self.code.code_notation,
        )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [a.content_id for a in self.attachments]
        if len(set(ids)) != len(ids):
            raise ValueError("attachment content ids must be unique")
        organs = [r.organ_id for r in self.recipients]
        if len(set(organs)) != len(organs):
            raise ValueError("a recipient is listed twice")
        return self


class StatusMessage(_Model):
    """The receiver's status report on a document it got (``edXMLHeader/Status``)."""

    response_for: ResponseFor
    sender: Organization  # the agency reporting, i.e. the document's receiver
    status_code: StatusCode
    description: Text | None = None
    timestamp: Timestamp
    staff_info: StaffInfo | None = None

    @property
    def document_id(self) -> str:
        return self.response_for.document_id

    @model_validator(mode="after")
    def _reason_when_refused(self) -> Self:
        if requires_reason(self.status_code) and not (self.description and self.description.strip()):
            raise ValueError(f"status {self.status_code.value} needs a description giving the reason")
        return self
