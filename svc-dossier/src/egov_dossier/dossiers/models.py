"""Tables of the dossier domain."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from egov_dossier.db import Base
from egov_shared.db import UTCDateTime, utcnow


class CalendarDay(Base):
    """An administrator's correction of the working calendar: an extra day off, or a make-up working day
    (often a Saturday). Government notices come late, so this table wins over the holiday library."""

    __tablename__ = "calendar_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(300))
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Dossier(Base):
    """A dossier of an administrative procedure (hồ sơ TTHC), from submission to the returned result.

    ``status`` is the national portal's code (1–10). The procedure's name, fees and deciding agency are copied at
    submission: the catalogue may change while the dossier is processed, the dossier keeps what it was filed under.
    """

    __tablename__ = "dossiers"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    # Printed on the receipt slip with the code: the public status lookup needs both. Only its digest is kept.
    lookup_secret_digest: Mapped[str] = mapped_column(String(64))
    procedure_code: Mapped[str] = mapped_column(String(60))
    procedure_name: Mapped[str] = mapped_column(String(500))
    agency_code: Mapped[str] = mapped_column(String(13))
    processing_time: Mapped[int] = mapped_column(Integer)
    time_unit: Mapped[str] = mapped_column(String(15))
    channel: Mapped[int] = mapped_column(Integer)  # 1 in person, 2 online, 3 by post
    # Whose dossier it is (the citizen's subject id at svc-identity) and who filed it (a clerk at the counter).
    applicant_id: Mapped[str | None] = mapped_column(String(64))
    submitted_by: Mapped[str] = mapped_column(String(64))
    applicant_type: Mapped[str] = mapped_column(String(20))  # self | business | representative
    # Name, contact details and the represented person or business, as filed (personal data: API only).
    applicant: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[str | None] = mapped_column(String(1000))
    components: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    status: Mapped[int] = mapped_column(Integer)
    # While waiting in 5 or 6: the status the wait ends in.
    resume_status: Mapped[int | None] = mapped_column(Integer)
    fee_stage: Mapped[str | None] = mapped_column(String(12))
    fees: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    fee_total_vnd: Mapped[int] = mapped_column(Integer, default=0)
    fee_paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    fee_paid_online: Mapped[bool] = mapped_column(Boolean, default=False)
    refund_required: Mapped[bool] = mapped_column(Boolean, default=False)
    refunded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    assignee_id: Mapped[str | None] = mapped_column(String(64))
    assignee_name: Mapped[str | None] = mapped_column(String(200))
    supplementation_requests: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The appointment date (NgayHenTra): set when the clock starts, moved by every pause.
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    clock_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    paused_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Working hours the clock stood still (supplementation, fee waits), for the processing time.
    paused_hours: Mapped[float] = mapped_column(Float, default=0.0)
    # End of processing (NgayKetThucXuLy): the first of 9, 10, 8, 3, 7; then classified early/on time/late.
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    timeliness: Mapped[str | None] = mapped_column(String(10))
    # Working hours from the clock start to the end of processing, pauses excluded (average processing time).
    processing_hours: Mapped[float | None] = mapped_column(Float)
    returned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    result_file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # The agency queue, newest first, optionally by status or procedure; and the statistics by period.
        Index("ix_dossiers_queue", "agency_code", "created_at", "id"),
        # A queue over many agencies (a province's subtree): PostgreSQL cannot merge the per-agency index in
        # created_at order, so it walks this one newest first and filters (bench/dossier_bench.py: 1M rows,
        # p99 0.9 s -> under 50 ms).
        Index("ix_dossiers_created", "created_at", "id"),
        Index("ix_dossiers_queue_procedure", "agency_code", "procedure_code", "created_at"),
        Index("ix_dossiers_queue_status", "agency_code", "status", "created_at"),
        Index("ix_dossiers_agency_due", "agency_code", "due_at"),
        Index("ix_dossiers_agency_received", "agency_code", "received_at"),
        Index("ix_dossiers_agency_finished", "agency_code", "finished_at"),
        Index("ix_dossiers_applicant", "applicant_id", "created_at"),
    )


class DossierStep(Base):
    """One line of the dossier's log (quá trình xử lý): who did what, when, from which status to which."""

    __tablename__ = "dossier_history"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    dossier_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("dossiers.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[int | None] = mapped_column(Integer)
    to_status: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    # The role the actor acted in (receiver, processor, approver, applicant, system).
    actor_role: Mapped[str] = mapped_column(String(30))
    actor_agency: Mapped[str | None] = mapped_column(String(13))
    note: Mapped[str | None] = mapped_column(Text)
    file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
