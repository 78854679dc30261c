"""Tables of reports: the report, its history (every action and staff edit), and citizens' supports."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from egov_feedback.db import Base
from egov_shared.db import UTCDateTime, utcnow

# BIGINT does not auto-increment on SQLite; INTEGER PRIMARY KEY does.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Human reference, gap-free per year: PA-2026-000042.
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    # What the reporter wrote, kept whatever moderation does to title and description.
    original_title: Mapped[str] = mapped_column(String(200))
    original_description: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(24))
    # While waiting for supplementation: the status the reporter's answer returns to.
    resume_status: Mapped[str | None] = mapped_column(String(24))
    channel: Mapped[str] = mapped_column(String(10))  # app | web | hotline | partner
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(500))
    address_id: Mapped[str | None] = mapped_column(String(100))
    area_code: Mapped[str | None] = mapped_column(String(20), index=True)
    agency_code: Mapped[str] = mapped_column(String(13))
    routing_reason: Mapped[str] = mapped_column(String(12))
    handler_id: Mapped[str | None] = mapped_column(String(64), index=True)
    handler_name: Mapped[str | None] = mapped_column(String(200))
    # citizen (token) | partner (Open311) | staff (hotline, entered by an official)
    reporter_kind: Mapped[str] = mapped_column(String(10))
    reporter_id: Mapped[str | None] = mapped_column(String(64), index=True)
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    # What a partner or hotline staff recorded about the reporter (name, email, phone): for the agency only.
    contact: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    partner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    device_id: Mapped[str | None] = mapped_column(String(200))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    media_url: Mapped[str | None] = mapped_column(String(2048))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    duplicate_of: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    support_count: Mapped[int] = mapped_column(Integer, default=0)
    refusal_kind: Mapped[str | None] = mapped_column(String(20))
    # The latest note the reporter must read: refusal reason, supplementation request, transfer reason.
    status_note: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    answer_file_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    supplement_count: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the agency last gave its answer (resolved, refused or merged): on time if not after ``due_at``.
    handled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The answer deadline (Decision 766: N working days from receipt or transfer); on-time is measured on it.
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # When the current stage is overdue and escalates (None: nothing to watch, e.g. waiting for the reporter).
    stage_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # Duplicate suggestions: open reports of a category near a point.
        Index("ix_reports_category_status_lat", "category_code", "status", "lat"),
        # The escalation job: overdue stages of open reports.
        Index("ix_reports_status_stage_due_at", "status", "stage_due_at"),
        # Statistics per agency or category and period; agency queues.
        Index("ix_reports_agency_submitted", "agency_code", "submitted_at"),
        Index("ix_reports_category_submitted", "category_code", "submitted_at"),
        # The public feed (resolved, newest first) and Open311's date windows.
        Index("ix_reports_status_resolved", "status", "resolved_at"),
        Index("ix_reports_submitted_at", "submitted_at"),
        Index("ix_reports_updated_at", "updated_at"),
    )


class ReportHistory(Base):
    """One row per action, system step and staff edit; ``public`` rows are what the reporter and Open311 see."""

    __tablename__ = "report_history"

    # Increasing: the order of steps taken in the same instant (a test's fixed clock, a batch of the SLA job).
    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_kind: Mapped[str] = mapped_column(String(10))  # citizen | official | partner | system
    actor_id: Mapped[str | None] = mapped_column(String(64))
    agency_code: Mapped[str] = mapped_column(String(13))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    # Moderation: {"field", "before", "after"}; transfer/escalation: {"from_agency", "to_agency"}; ...
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class ReportSupport(Base):
    """A citizen's "me too": once per citizen and report."""

    __tablename__ = "report_supports"

    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    citizen_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
