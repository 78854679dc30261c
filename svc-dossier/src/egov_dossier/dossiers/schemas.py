"""Bodies of the dossier API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from egov_shared.contracts.dossier import FeeLine
from egov_shared.contracts.identity import AGENCY_CODE_PATTERN

ID_NUMBER_PATTERN = r"^\d{12}$"


class ComponentFiles(BaseModel):
    """The files given for one required paper of the procedure (by its component code)."""

    code: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    file_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)


class Business(BaseModel):
    tax_code: str = Field(min_length=10, max_length=14, description="Mã số thuế (10 digits, or 10-3)")
    name: str = Field(min_length=2, max_length=300)
    address: str | None = Field(default=None, max_length=500)


class Represented(BaseModel):
    """The person an authorised representative files for."""

    full_name: str = Field(min_length=2, max_length=200)
    id_number: str = Field(pattern=ID_NUMBER_PATTERN)
    relationship: str | None = Field(default=None, max_length=100)


class CounterApplicant(BaseModel):
    """The applicant of a dossier filed at the counter or by post (a clerk types what the paper says)."""

    full_name: str = Field(min_length=2, max_length=200)
    id_number: str = Field(pattern=ID_NUMBER_PATTERN)
    phone: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=500)
    # The citizen's account at svc-identity, when they have one: they then follow the dossier online.
    citizen_id: str | None = Field(default=None, max_length=64)


class DossierCreate(BaseModel):
    procedure_code: str = Field(max_length=60)
    agency_code: str | None = Field(
        default=None,
        pattern=AGENCY_CODE_PATTERN,
        description="The deciding agency; required for commune-level procedures (the commune or ward chosen)",
    )
    applicant_type: Literal["self", "business", "representative"] = "self"
    business: Business | None = None
    represented: Represented | None = None
    summary: str | None = Field(default=None, max_length=1000, description="Trích yếu hồ sơ")
    components: list[ComponentFiles] = Field(default_factory=list, max_length=50)
    # Officials only: a dossier filed at the counter (1) or received by post (3).
    channel: Literal[1, 2, 3] | None = None
    applicant: CounterApplicant | None = None

    @model_validator(mode="after")
    def _parts_match_type(self) -> DossierCreate:
        if self.applicant_type == "business" and self.business is None:
            raise ValueError("a business dossier needs 'business' (tax code and name)")
        if self.applicant_type == "representative" and self.represented is None:
            raise ValueError("a representative's dossier needs 'represented' (the person represented)")
        codes = [c.code for c in self.components]
        if len(set(codes)) != len(codes):
            raise ValueError("each component code may appear once")
        return self


class ComponentRead(BaseModel):
    code: str
    name: str
    mandatory: bool
    file_ids: list[uuid.UUID]


class DossierRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    procedure_code: str
    procedure_name: str
    agency_code: str
    channel: int
    applicant_type: str
    applicant: dict[str, object]
    summary: str | None
    components: list[ComponentRead]
    status: int = Field(description="The national portal's status code (TrangThaiHoSo, 1–10)")
    status_label: str
    fee_stage: str | None
    fees: list[FeeLine]
    fee_total_vnd: int
    fee_paid_at: dt.datetime | None
    refund_required: bool
    refunded_at: dt.datetime | None
    assignee_id: str | None
    assignee_name: str | None
    supplementation_requests: int
    submitted_at: dt.datetime
    received_at: dt.datetime | None
    due_at: dt.datetime | None = Field(description="The appointment date (NgayHenTra)")
    paused_since: dt.datetime | None
    finished_at: dt.datetime | None
    timeliness: str | None = Field(description="early, on_time or late once processing has ended")
    returned_at: dt.datetime | None
    result_file_ids: list[uuid.UUID]
    allowed_actions: list[str] = Field(description="What the caller may do now")
    version: int


class DossierCreated(DossierRead):
    lookup_secret: str = Field(
        description="Printed on the receipt slip: with the code it shows the status to anyone who has both"
    )


class DossierAction(BaseModel):
    note: str | None = Field(default=None, max_length=4000, description="The reason, where one is required")
    file_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20, description="Attachments")
    # assign
    assignee_id: str | None = Field(default=None, max_length=64)
    assignee_name: str | None = Field(default=None, max_length=200)
    # supplement (the applicant)
    components: list[ComponentFiles] = Field(default_factory=list, max_length=50)
    # approve_and_complete: the result document (a PDF the leader uploaded), signed as the agency
    result_file_id: uuid.UUID | None = None
    result_symbol: str | None = Field(default=None, max_length=60, description="e.g. 123/QĐ-UBND")
    result_excerpt: str | None = Field(default=None, max_length=500)


class StepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: dt.datetime
    action: str
    from_status: int | None
    to_status: int
    actor_id: str
    actor_name: str | None
    actor_role: str
    actor_agency: str | None
    note: str | None
    file_ids: list[uuid.UUID]


class PublicStatus(BaseModel):
    """What the public lookup shows: no personal data."""

    code: str
    procedure_name: str
    agency_code: str
    status: int
    status_label: str
    submitted_at: dt.datetime
    received_at: dt.datetime | None
    due_at: dt.datetime | None
    finished_at: dt.datetime | None
    returned_at: dt.datetime | None
