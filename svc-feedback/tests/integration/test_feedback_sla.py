"""Deadlines and escalation with a controllable clock, across Tết: overdue stages move to the supervising agency
once, publish ``feedback.escalated`` once, and answered reports close when the reopen window has passed."""

from __future__ import annotations

import datetime as dt

from feedback_harness import PROVINCE, TIEN_DU, FeedbackService, at
from sqlalchemy import select

from egov_feedback.calendar_corrections import CalendarCorrection
from egov_shared import tables
from egov_shared.contracts.dossier import DossierCalendarCorrected
from egov_shared.testing.waiting import eventually


async def test_an_unaccepted_report_escalates_after_two_working_days_across_tet(
    feedback: FeedbackService,
) -> None:
    feedback.clock.set(at(2026, 2, 12))  # Thursday before Tết (16-20 February off)
    report = await feedback.submitted(feedback.citizen())
    assert report["stage_due_at"] == "2026-02-23T17:00:00Z"  # end of Monday 23 February in Vietnam
    assert report["agency_code"] == TIEN_DU

    feedback.clock.set(at(2026, 2, 20, 23))  # Tết: no working day has passed since Friday 13
    assert (await feedback.run_sla()).escalated == []
    feedback.clock.set(at(2026, 2, 23, 23))  # the last hour of the deadline
    assert (await feedback.run_sla()).escalated == []
    feedback.clock.set(at(2026, 2, 24, 0) + dt.timedelta(minutes=30))
    run = await feedback.run_sla()
    assert run.escalated == [report["code"]]
    assert (await feedback.run_sla()).escalated == []  # once per overdue stage, however often the job runs

    seen = (
        await feedback.client.get(f"/api/v1/feedback/reports/{report['id']}", headers=feedback.handler())
    ).json()
    assert (seen["agency_code"], seen["status"], seen["escalation_level"]) == (PROVINCE, "submitted", 1)
    assert seen["stage_due_at"] == "2026-02-26T17:00:00Z"  # the province gets 2 working days: 25, 26
    events = await feedback.outbox("feedback.escalated")
    assert len(events) == 1
    assert events[0] | {"escalated_at": None} == {
        "report_id": report["id"],
        "code": report["code"],
        "category_code": "GT01",
        "from_agency_code": TIEN_DU,
        "to_agency_code": PROVINCE,
        "status": "submitted",
        "level": 1,
        "due_at": report["due_at"],
        "overdue_since": "2026-02-23T17:00:00Z",
        "escalated_at": None,
        "file_ids": [],
    }
    # The province has no supervisor: its overdue stage is recorded once, and nothing more is published.
    feedback.clock.set(at(2026, 2, 27))
    assert (await feedback.run_sla()).stuck == [report["code"]]
    assert (await feedback.run_sla()).stuck == []
    assert len(await feedback.outbox("feedback.escalated")) == 1
    history = (
        await feedback.client.get(
            f"/api/v1/feedback/reports/{report['id']}/history", headers=feedback.handler()
        )
    ).json()
    assert [h["action"] for h in history] == ["submit", "escalate", "overdue"]
    public = await feedback.client.get(
        f"/api/v1/feedback/reports/{report['id']}/history", headers=feedback.citizen()
    )
    assert [h["action"] for h in public.json()] == ["submit"]


async def test_a_late_answer_escalates_the_handled_report_back_to_the_queue(
    feedback: FeedbackService,
) -> None:
    feedback.clock.set(at(2026, 4, 20))
    handler = feedback.handler(agency=TIEN_DU)
    report = await feedback.submitted(
        feedback.citizen(), category_code="MT06", attributes={}
    )  # 2 working days
    report = await feedback.acted(handler, report, "accept")
    report = await feedback.acted(handler, report, "assign", handler_id="h-1")
    report = await feedback.acted(handler, report, "start")
    # 20 April + 2 working days: 21, 22. (26-27 April and 30 April-1 May are holidays, but later.)
    assert report["due_at"] == "2026-04-22T17:00:00Z"
    asked = await feedback.acted(handler, report, "request_supplement", note="Cây ở số nhà nào?")
    feedback.clock.set(at(2026, 5, 4))  # waiting for the reporter is not the agency's delay
    assert (await feedback.run_sla()).escalated == []
    mine = (
        await feedback.client.get(f"/api/v1/feedback/reports/{asked['id']}", headers=feedback.citizen())
    ).json()
    back = await feedback.acted(feedback.citizen(), mine, "supplement", note="Trước số 12.")
    # Asked on Monday 20 April, answered Monday 4 May: 21-24, 28, 29 April and 4 May = 7 working days waited,
    # so the deadline (end of 22 April) moves to the end of 6 May.
    assert back["due_at"] == "2026-05-06T17:00:00Z"
    feedback.clock.set(at(2026, 5, 6, 23))
    assert (await feedback.run_sla()).escalated == []
    feedback.clock.set(at(2026, 5, 7, 8))
    assert (await feedback.run_sla()).escalated == [report["code"]]
    escalated = (
        await feedback.client.get(f"/api/v1/feedback/reports/{report['id']}", headers=feedback.handler())
    ).json()
    assert (escalated["status"], escalated["handler_id"], escalated["overdue"]) == ("accepted", None, True)


async def test_answered_reports_close_when_the_reopen_window_has_passed(feedback: FeedbackService) -> None:
    feedback.clock.set(at(2026, 6, 1))
    handler = feedback.handler()
    report = await feedback.acted(handler, await feedback.submitted(feedback.citizen()), "accept")
    report = await feedback.acted(handler, report, "resolve", note="Xong.")
    feedback.clock.advance(dt.timedelta(days=10))
    assert (await feedback.run_sla()).closed == []
    feedback.clock.advance(dt.timedelta(minutes=1))
    assert (await feedback.run_sla()).closed == [report["code"]]
    closed = (await feedback.client.get(f"/api/v1/feedback/reports/{report['id']}", headers=handler)).json()
    assert (closed["status"], closed["rating"]) == ("closed", None)


async def test_deadlines_follow_the_calendar_corrections_published_by_svc_dossier(
    feedback: FeedbackService,
) -> None:
    tuesday = dt.date(2027, 1, 5)

    async def correction() -> bool | None:
        async with feedback.runtime.sessionmaker() as session:
            row = await session.get(CalendarCorrection, tuesday)
            return row.working if row is not None else None

    async def deadlines() -> tuple[str, str]:
        report = await feedback.submitted(feedback.citizen())  # GT01: 10 working days
        return report["stage_due_at"], report["due_at"]

    feedback.clock.set(at(2027, 1, 4))  # Monday
    before = await deadlines()
    # Accept or refuse within 5 and 6 January; answer by the end of Monday 18 January.
    assert before == ("2027-01-06T17:00:00Z", "2027-01-18T17:00:00Z")

    made_off = DossierCalendarCorrected(
        day=tuesday, working=False, note="Nghỉ bù theo thông báo", corrected_at=at(2027, 1, 3)
    )
    await feedback.deliver(made_off, source="svc-dossier")

    async def day_off() -> bool:
        return await correction() is False

    await eventually(day_off, what="the correction replicated from dossier.calendar_corrected")
    assert await deadlines() == ("2027-01-07T17:00:00Z", "2027-01-19T17:00:00Z")  # one working day later

    removed = DossierCalendarCorrected(day=tuesday, working=None, corrected_at=at(2027, 1, 3, 10))
    await feedback.deliver(removed, source="svc-dossier")

    async def day_restored() -> bool:
        return await correction() is None

    await eventually(day_restored, what="the removal replicated")
    assert await deadlines() == before

    # The older correction arriving late (a retry, another replica) does not bring the day off back.
    late = await feedback.deliver(made_off, source="svc-dossier")

    async def applied() -> bool:
        async with feedback.runtime.sessionmaker() as session:
            seen = await session.scalar(
                select(tables.inbox.c.event_id).where(tables.inbox.c.event_id == late.id)
            )
            return seen is not None

    await eventually(applied, what="the late event consumed")
    assert await correction() is None
    assert await deadlines() == before
