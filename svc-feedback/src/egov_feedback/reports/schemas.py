"""Bodies of the reports API: what citizens and staff send, and the three views of a report.

``ReportRead`` is the full view (the reporter, and officials of the handling agency). ``ReportPublic`` is what
other people see: no contact, no ids of people, the reporter's name only when they did not ask to be anonymous
(and never in the public feed, which is ``ReportPublic`` with ``reporter_name`` cleared).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from egov_shared.contracts.identity import AGENCY_CODE_PATTERN

MAX_FILES = 10
Channel = Literal["app", "web", "hotline"]


class ReportCreate(BaseModel):
    title: str = Field(min_length=3, max_length=200)
    description: str = Field(min_length=10, max_length=4000)
    category_code: str = Field(min_length=2, max_length=10, examples=["GT01"])
    lat: float | None = Field(default=None, ge=-90, le=90, description="WGS84 latitude")
    lon: float | None = Field(default=None, ge=-180, le=180, description="WGS84 longitude")
    address: str | None = Field(default=None, min_length=3, max_length=500)
    file_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_FILES)
    attributes: dict[str, str | list[str]] = Field(default_factory=dict, max_length=30)
    anonymous: bool = Field(
        default=False, description="Hide the reporter's name publicly (kept for the agency)"
    )
    private: bool = Field(default=False, description="Keep the report out of the public feed")
    channel: Channel = "app"
    # Hotline staff only: who called (kept for the agency, never shown publicly).
    caller_name: str | None = Field(default=None, max_length=200)
    caller_phone: str | None = Field(default=None, max_length=30, pattern=r"^\+?[0-9 .()-]{6,30}$")

    @model_validator(mode="after")
    def _located(self) -> ReportCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        if self.lat is None and not self.address:
            raise ValueError("a location is required: lat and lon, or an address")
        if len(set(self.file_ids)) != len(self.file_ids):
            raise ValueError("file_ids must be unique")
        return self


class ReportPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    title: str
    description: str
    category_code: str
    category_name: str
    status: str
    status_label: str
    lat: float | None
    lon: float | None
    address: str | None
    area_code: str | None
    area_name: str | None
    agency_code: str
    agency_name: str | None
    reporter_name: str | None = None
    support_count: int
    duplicate_of: uuid.UUID | None
    answer: str | None
    answer_file_ids: list[uuid.UUID]
    media_url: str | None
    submitted_at: dt.datetime
    resolved_at: dt.datetime | None


class ReportRead(ReportPublic):
    channel: str
    original_title: str
    original_description: str
    routing_reason: str
    handler_id: str | None
    handler_name: str | None
    reporter_kind: str
    anonymous: bool
    private: bool
    file_ids: list[uuid.UUID]
    attributes: dict[str, Any]
    refusal_kind: str | None
    status_note: str | None
    rating: int | None
    rating_comment: str | None
    reopen_count: int
    supplement_count: int
    accepted_at: dt.datetime | None
    handled_at: dt.datetime | None
    closed_at: dt.datetime | None
    due_at: dt.datetime
    stage_due_at: dt.datetime | None
    reopen_until: dt.datetime | None
    overdue: bool
    escalation_level: int
    version: int
    # What the caller may do now (the buttons to show).
    allowed_actions: list[str]


class ReportCreated(BaseModel):
    report: ReportRead
    # Open reports of the same category within 50 m: the reporter may support one instead ("me too").
    possible_duplicates: list[ReportPublic]


class HistoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    action: str
    from_status: str | None
    to_status: str
    actor_kind: str
    agency_code: str
    note: str | None
    public: bool
    details: dict[str, Any]
    created_at: dt.datetime


class Note(BaseModel):
    note: str | None = Field(default=None, max_length=4000)


class RequiredNote(BaseModel):
    note: str = Field(min_length=3, max_length=4000)


class RefuseBody(RequiredNote):
    refusal_kind: Literal["out_of_scope", "abusive", "duplicate"]


class AssignBody(Note):
    handler_id: str = Field(min_length=1, max_length=64, description="The handling official's subject id")
    handler_name: str | None = Field(default=None, max_length=200)


class TransferBody(RequiredNote):
    agency_code: str = Field(pattern=AGENCY_CODE_PATTERN)


class WithFiles(RequiredNote):
    file_ids: list[uuid.UUID] = Field(default_factory=list, max_length=MAX_FILES)


class RateBody(BaseModel):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class MergeBody(Note):
    duplicate_of: uuid.UUID


class ModerateBody(BaseModel):
    """A staff edit of what the public sees; the original text stays, and the edit is logged with its reason."""

    title: str | None = Field(default=None, min_length=3, max_length=200)
    description: str | None = Field(default=None, min_length=10, max_length=4000)
    reason: str = Field(min_length=3, max_length=1000)

    @model_validator(mode="after")
    def _something(self) -> ModerateBody:
        if self.title is None and self.description is None:
            raise ValueError("give a new title or description")
        return self


class SupportResult(BaseModel):
    report_id: uuid.UUID
    support_count: int
    # False: this citizen had supported it already (once per citizen).
    added: bool
