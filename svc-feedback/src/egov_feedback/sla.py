"""The SLA job: overdue reports escalate to the supervising agency; answered reports close after the window.

Runs inside the service as a :class:`~egov_shared.jobs.PeriodicJob` (once per period across replicas; DIGIT
needs an external cron for this). Each escalation is one step of the state machine (``escalate``, by the
system) with its history row and a ``feedback.escalated`` event in the same transaction; the stage deadline
moves forward (2 working days for the supervising agency), so a report escalates once per overdue stage. A
report whose agency has no supervisor in the directory (the province itself) stays where it is: its overdue
stage is logged once and no longer watched.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from egov_feedback import ratelimit
from egov_feedback.agencies import parent_of
from egov_feedback.calendar_corrections import load_calendar
from egov_feedback.reports.models import Report, ReportHistory
from egov_feedback.reports.rules import (
    REOPEN_WINDOW,
    WATCHED,
    Action,
    Actor,
    Context,
    Deadlines,
    Status,
    deadlines,
    decide,
)
from egov_feedback.reports.service import category_of
from egov_shared.contracts.feedback import FeedbackEscalated
from egov_shared.db import dialect_name
from egov_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

BATCH = 200


@dataclass
class SlaRun:
    escalated: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


async def run_sla(runtime: ServiceRuntime, now: dt.datetime) -> SlaRun:
    """Escalate overdue stages and close answered reports past the reopen window, as of ``now``."""
    outcome = SlaRun()
    async with runtime.new_uow() as uow:
        session = uow.session
        query = (
            select(Report)
            .where(Report.status.in_([s.value for s in WATCHED]), Report.stage_due_at < now)
            .order_by(Report.stage_due_at, Report.id)
            .limit(BATCH)
        )
        if dialect_name(session) == "postgresql":
            query = query.with_for_update(skip_locked=True)
        system = Actor.system()
        calendar = await load_calendar(session)
        for report in list(await session.scalars(query)):
            overdue_since = report.stage_due_at or now
            parent = await parent_of(session, report.agency_code)
            if parent is None:
                report.stage_due_at = None
                session.add(
                    _row(report, "overdue", report.status, now, {"overdue_since": overdue_since.isoformat()})
                )
                outcome.stuck.append(report.code)
                continue
            decision = decide(report.status, Action.ESCALATE, Context(system, now))
            times = deadlines(
                decision.clock,
                Deadlines(report.due_at, report.stage_due_at, report.paused_at),
                now=now,
                sla_days=category_of(report.category_code).sla_days,
                calendar=calendar,
            )
            from_agency = report.agency_code
            report.agency_code = parent
            report.status = decision.target.value
            report.handler_id = report.handler_name = None
            report.stage_due_at = times.stage_due_at
            report.escalation_level += 1
            report.escalated_at = report.updated_at = now
            session.add(
                _row(
                    report,
                    Action.ESCALATE.value,
                    decision.source.value,
                    now,
                    {
                        "from_agency": from_agency,
                        "to_agency": parent,
                        "overdue_since": overdue_since.isoformat(),
                    },
                )
            )
            uow.publish(
                FeedbackEscalated(
                    report_id=report.id,
                    code=report.code,
                    category_code=report.category_code,
                    from_agency_code=from_agency,
                    to_agency_code=parent,
                    status=report.status,
                    level=report.escalation_level,
                    due_at=report.due_at,
                    overdue_since=overdue_since,
                    escalated_at=now,
                    file_ids=[uuid.UUID(f) for f in report.file_ids],
                ),
                subject=str(report.id),
            )
            outcome.escalated.append(report.code)

        answered = (
            select(Report)
            .where(Report.status == Status.RESOLVED.value, Report.resolved_at < now - REOPEN_WINDOW)
            .limit(BATCH)
        )
        for report in list(await session.scalars(answered)):
            decision = decide(
                report.status, Action.CLOSE, Context(system, now, resolved_at=report.resolved_at)
            )
            report.status = decision.target.value
            report.closed_at = report.updated_at = now
            session.add(_row(report, Action.CLOSE.value, decision.source.value, now, {}))
            outcome.closed.append(report.code)

        await ratelimit.forget_old_windows(session, before=now - dt.timedelta(days=2))
        await uow.commit()
    if outcome.escalated or outcome.closed or outcome.stuck:
        log.info(
            "sla run",
            extra={
                "escalated": len(outcome.escalated),
                "closed": len(outcome.closed),
                "stuck": len(outcome.stuck),
            },
        )
    return outcome


def _row(
    report: Report, action: str, from_status: str, now: dt.datetime, details: dict[str, str]
) -> ReportHistory:
    return ReportHistory(
        report_id=report.id,
        action=action,
        from_status=from_status,
        to_status=report.status,
        actor_kind="system",
        actor_id=None,
        agency_code=report.agency_code,
        note=None,
        public=action == Action.CLOSE.value,
        details=details,
        created_at=now,
    )
