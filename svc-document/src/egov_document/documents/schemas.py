"""Bodies of the official-documents API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from egov_document.documents.types import DOCUMENT_TYPES
from egov_shared.contracts.identity import AGENCY_CODE_PATTERN


class Recipient(BaseModel):
    code: str | None = Field(default=None, pattern=AGENCY_CODE_PATTERN)
    name: str = Field(min_length=1, max_length=300)


class DocumentCreate(BaseModel):
    """An outgoing draft (number assigned when issued), or an incoming document being registered."""

    direction: Literal["outgoing", "incoming"]
    agency_code: str = Field(pattern=AGENCY_CODE_PATTERN, description="The register's agency")
    doc_type: str = Field(description="Decree 30 type code, e.g. QD (Quyết định), CV (Công văn)")
    symbol: str = Field(min_length=1, max_length=30, description="The part after the number, e.g. QĐ-UBND")
    excerpt: str = Field(min_length=1, max_length=500, description="Trích yếu")
    urgency: int = Field(default=0, ge=0, le=4)
    secrecy: Literal["mat", "toi_mat", "tuyet_mat"] | None = None
    recipients: list[Recipient] = Field(default_factory=list, max_length=200)
    due_date: dt.date | None = None
    page_count: int | None = Field(default=None, ge=1, le=10_000)
    signer_name: str | None = Field(default=None, max_length=200)
    signer_position: str | None = Field(default=None, max_length=200)
    file_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)
    # Incoming only: the sender's number, issuer and date as printed on the document.
    number: int | None = Field(default=None, ge=1, le=99_999_999_999)
    issuer_code: str | None = Field(default=None, pattern=AGENCY_CODE_PATTERN)
    issuer_name: str | None = Field(default=None, max_length=300)
    issued_date: dt.date | None = None

    @field_validator("doc_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in DOCUMENT_TYPES:
            raise ValueError("unknown document type; see Decree 30/2020/NĐ-CP")
        return value


class DocumentAction(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
    assignee_id: str | None = Field(default=None, max_length=64)


class DocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    agency_code: str
    direction: str
    status: str
    doc_type: str
    type_name: str
    number: int | None
    symbol: str | None
    number_and_symbol: str | None
    issuer_code: str
    issuer_name: str
    issued_date: dt.date | None
    excerpt: str
    signer_name: str | None
    signer_position: str | None
    urgency: int
    secrecy: str | None
    recipients: list[Recipient]
    due_date: dt.date | None
    page_count: int | None
    arrival_number: int | None
    arrival_date: dt.datetime | None
    file_ids: list[uuid.UUID]
    signed_file_id: uuid.UUID | None
    assignee_id: str | None
    allowed_actions: list[str] = Field(default_factory=list)
    version: int


class DocumentCreated(DocumentRead):
    warnings: list[str] = Field(default_factory=list, description="e.g. a duplicate (number, symbol, issuer)")


class TraceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    from_status: str | None
    to_status: str
    actor_id: str
    actor_name: str | None
    note: str | None
    at: dt.datetime


class DocumentAmendment(BaseModel):
    """A correction of an issued document sent to its recipients: an update (edXML business type 2) changes
    some metadata or attachments; a replacement (type 3) stands in for the whole document."""

    kind: Literal["update", "replace"]
    reason: str = Field(min_length=3, max_length=1000)
    excerpt: str | None = Field(default=None, min_length=1, max_length=500)
    due_date: dt.date | None = None
    file_ids: list[uuid.UUID] | None = Field(default=None, max_length=50)
