"""Decision 766 index 2.1: was a dossier done early, on time or late, or is it in progress within or over time.

Pure: no I/O, no clock. The working-time maths it relies on (the appointment date, pauses) is
:class:`egov_shared.calendar.WorkingCalendar`.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from enum import StrEnum

from egov_shared.calendar import VN_TZ, require_aware


class Timeliness(StrEnum):
    """Decision 766 index 2.1 counters."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
    IN_PROGRESS_WITHIN_TIME = "in_progress_within_time"
    IN_PROGRESS_OVERDUE = "in_progress_overdue"
    PAUSED_WITHIN_TIME = "paused_within_time"
    PAUSED_OVERDUE = "paused_overdue"


def classify(
    *,
    due_at: datetime,
    finished_at: datetime | None,
    measured_at: datetime | None,
    supplementation_requests: int,
    paused_since: datetime | None = None,
    tz: tzinfo = VN_TZ,
) -> Timeliness:
    """Classify a dossier for the Decision 766 on-time index.

    - `due_at` is the appointment date already moved for every finished supplementation pause
      (`extend_for_pause`), which is how supplementation time is subtracted.
    - `finished_at` is the end of processing (first terminal status), None while open. An open dossier is
      measured at `measured_at`, the end of the reporting period.
    - `paused_since` is when the current, still open supplementation pause stopped the clock (None when not
      paused). Its clock stands still, so it is overdue only if it was already overdue when it stopped.
    - Finished: on time when finished_at <= due_at. Early when, in addition, it finished on a calendar day
      (local time) before the day of the appointment. More than one supplementation request makes it late.
    - Open: overdue when measured_at (or paused_since) is after due_at, or when there has been more than one
      supplementation request (it can only end late).
    """
    require_aware(due_at, "due_at")
    if supplementation_requests < 0:
        raise ValueError(f"supplementation_requests must not be negative, got {supplementation_requests}")
    too_many_requests = supplementation_requests > 1

    if finished_at is not None:
        require_aware(finished_at, "finished_at")
        if paused_since is not None:
            raise ValueError("a finished dossier cannot be paused")
        if measured_at is not None:
            require_aware(measured_at, "measured_at")
            if finished_at > measured_at:
                raise ValueError("finished after measured_at: pass finished_at=None, it was open then")
        if too_many_requests or finished_at > due_at:
            return Timeliness.LATE
        if finished_at.astimezone(tz).date() < due_at.astimezone(tz).date():
            return Timeliness.EARLY
        return Timeliness.ON_TIME

    if measured_at is None:
        raise ValueError("an open dossier needs measured_at (the end of the reporting period)")
    require_aware(measured_at, "measured_at")
    if paused_since is not None:
        require_aware(paused_since, "paused_since")
        if paused_since > measured_at:
            raise ValueError("paused after measured_at: it was not paused then")
        if too_many_requests or paused_since > due_at:
            return Timeliness.PAUSED_OVERDUE
        return Timeliness.PAUSED_WITHIN_TIME
    if too_many_requests or measured_at > due_at:
        return Timeliness.IN_PROGRESS_OVERDUE
    return Timeliness.IN_PROGRESS_WITHIN_TIME
