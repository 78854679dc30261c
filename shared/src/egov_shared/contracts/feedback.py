"""Events published by svc-feedback."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from pydantic import Field

from egov_shared.contracts import EventData


class FeedbackSubmitted(EventData):
    event_type: ClassVar[str] = "feedback.submitted"

    report_id: uuid.UUID
    category_code: str
    agency_code: str | None = None
    reporter_id: str | None = None
    file_ids: list[uuid.UUID] = Field(default_factory=list)
    submitted_at: dt.datetime
