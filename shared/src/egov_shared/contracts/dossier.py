"""Events published by svc-dossier. Ids and small facts only: consumers ask svc-dossier for more."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from egov_shared.contracts import EventData


class FeeLine(BaseModel):
    """One fee or charge of a procedure: phí (fee) or lệ phí (charge), integer VND."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["phi", "le_phi"]
    name: str
    amount_vnd: int = Field(ge=0)


class DossierSubmitted(EventData):
    event_type: ClassVar[str] = "dossier.submitted"

    dossier_id: uuid.UUID
    code: str
    procedure_code: str
    agency_code: str
    applicant_id: str
    channel: Literal[1, 2, 3]
    file_ids: list[uuid.UUID] = Field(default_factory=list)
    # The fee lines due at submission (empty when the procedure's fees are due before the result or are zero).
    fees: list[FeeLine] = Field(default_factory=list)
    submitted_at: dt.datetime


class DossierStatusChanged(EventData):
    event_type: ClassVar[str] = "dossier.status_changed"

    dossier_id: uuid.UUID
    code: str
    agency_code: str
    applicant_id: str
    action: str
    from_status: int = Field(ge=1, le=10)
    to_status: int = Field(ge=1, le=10)
    # Files this step added (supplements, attachments): the handling agency may read them.
    file_ids: list[uuid.UUID] = Field(default_factory=list)
    # Set when the dossier enters status 6 (fees due before the result).
    fees: list[FeeLine] = Field(default_factory=list)
    # A fee already paid must be refunded (refused at reception, withdrawn before processing).
    refund_required: bool = False
    changed_at: dt.datetime


class DossierCompleted(EventData):
    event_type: ClassVar[str] = "dossier.completed"

    dossier_id: uuid.UUID
    code: str
    agency_code: str
    applicant_id: str
    result_file_ids: list[uuid.UUID] = Field(default_factory=list)
    completed_at: dt.datetime
    # How the result is filed in the agency's outgoing register (Decree 30 type code, symbol, excerpt).
    result_document_type: str = "QD"
    result_symbol: str | None = None
    result_excerpt: str | None = None


class DossierCalendarCorrected(EventData):
    """An administrator corrected the working calendar (an extra day off, a make-up working day) or removed a
    correction. Services that count working days keep their own copy of the corrections."""

    event_type: ClassVar[str] = "dossier.calendar_corrected"

    day: dt.date
    # True: a make-up working day; False: an extra day off; None: the correction was removed, the holiday
    # library decides again.
    working: bool | None
    note: str | None = None
    # When svc-dossier made the change: a consumer applies a correction only if it is newer than its copy
    # (events may arrive out of order).
    corrected_at: dt.datetime
