"""Events published by svc-feedback. Ids and small facts: no reporter names, contacts or texts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from pydantic import Field

from egov_shared.contracts import EventData


class FeedbackSubmitted(EventData):
    """A report was received and routed: ``agency_code`` may read its ``file_ids`` (svc-document grants them)."""

    event_type: ClassVar[str] = "feedback.submitted"

    report_id: uuid.UUID
    category_code: str
    agency_code: str | None = None
    reporter_id: str | None = None
    file_ids: list[uuid.UUID] = Field(default_factory=list)
    submitted_at: dt.datetime
    # Added later (optional, so older consumers and producers still fit).
    code: str | None = None
    channel: str | None = None
    area_code: str | None = None
    due_at: dt.datetime | None = None


class FeedbackResolved(EventData):
    """The agency answered a report publicly; ``answer_file_ids`` are the answer's attachments."""

    event_type: ClassVar[str] = "feedback.resolved"

    report_id: uuid.UUID
    code: str
    category_code: str
    agency_code: str
    reporter_id: str | None = None
    # citizen | partner | staff: a citizen reporter (``reporter_id`` is their subject) may read the answer's files.
    reporter_kind: str | None = None
    answer_file_ids: list[uuid.UUID] = Field(default_factory=list)
    due_at: dt.datetime
    resolved_at: dt.datetime
    on_time: bool


class FeedbackEscalated(EventData):
    """A report passed its deadline and moved to the supervising agency (``to_agency_code``).

    ``file_ids`` are the report's attachments, supplements included: the supervising agency sits above the first
    one, so it reads what was granted to that one already; svc-document grants them to it as well, which covers
    any file no earlier grant did.
    """

    event_type: ClassVar[str] = "feedback.escalated"

    report_id: uuid.UUID
    code: str
    category_code: str
    from_agency_code: str
    to_agency_code: str
    status: str
    level: int = Field(ge=1)
    due_at: dt.datetime
    overdue_since: dt.datetime
    escalated_at: dt.datetime
    file_ids: list[uuid.UUID] = Field(default_factory=list)


class FeedbackTransferred(EventData):
    """A handler passed a report to another agency (``to_agency_code``, not necessarily above the first one),
    which handles it from now on and may read ``file_ids``: the report's attachments, supplements included."""

    event_type: ClassVar[str] = "feedback.transferred"

    report_id: uuid.UUID
    code: str
    category_code: str
    from_agency_code: str
    to_agency_code: str
    status: str
    due_at: dt.datetime
    transferred_at: dt.datetime
    file_ids: list[uuid.UUID] = Field(default_factory=list)


class FeedbackSupplemented(EventData):
    """The reporter supplemented a report the agency asked more of: ``file_ids`` are the attachments added now,
    which ``agency_code`` (handling the report) may read."""

    event_type: ClassVar[str] = "feedback.supplemented"

    report_id: uuid.UUID
    code: str
    category_code: str
    agency_code: str
    supplemented_at: dt.datetime
    file_ids: list[uuid.UUID] = Field(default_factory=list)
