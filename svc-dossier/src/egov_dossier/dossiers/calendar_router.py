"""``/api/v1/dossiers/working-calendar``: read the working calendar; administrators correct it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from egov_dossier.dossiers.models import CalendarDay
from egov_dossier.dossiers.working_calendar import clear_day, load_calendar, set_day
from egov_shared.auth.dependencies import official
from egov_shared.auth.tokens import Principal
from egov_shared.http.app import UoWDep
from egov_shared.http.problems import problem_responses
from egov_shared.problems import NotFound, Unprocessable

router = APIRouter(prefix="/api/v1/dossiers/working-calendar", tags=["working calendar"])
Admin = Annotated[Principal, Depends(official("admin"))]
MAX_SPAN_DAYS = 400


class CalendarDayWrite(BaseModel):
    working: bool = Field(description="true: a make-up working day; false: an extra day off")
    note: str = Field(min_length=3, max_length=300, description="The notice that decided it")


class CalendarDayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: dt.date
    working: bool
    note: str


class DayStatus(BaseModel):
    day: dt.date
    working: bool
    corrected: bool


@router.get(
    "",
    response_model=list[DayStatus],
    summary="Which days are working days (the holiday library and the administrators' corrections)",
    responses=problem_responses(422),
)
async def days(
    uow: UoWDep,
    start: Annotated[dt.date, Query(alias="from")],
    end: Annotated[dt.date, Query(alias="to")],
) -> list[DayStatus]:
    if end < start or (end - start).days > MAX_SPAN_DAYS:
        raise Unprocessable(
            f"Khoảng ngày phải hợp lệ và không quá {MAX_SPAN_DAYS} ngày.", code="calendar.bad_range"
        )
    calendar = await load_calendar(uow.session)
    corrected = set(
        (await uow.session.scalars(select(CalendarDay.day).where(CalendarDay.day.between(start, end)))).all()
    )
    span = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return [DayStatus(day=d, working=calendar.is_working_day(d), corrected=d in corrected) for d in span]


@router.put("/{day}", response_model=CalendarDayRead, responses=problem_responses(401, 403, 422))
async def correct(day: dt.date, body: CalendarDayWrite, admin: Admin, uow: UoWDep) -> CalendarDay:
    return await set_day(uow, day, working=body.working, note=body.note, by=admin.subject)


@router.delete("/{day}", status_code=204, responses=problem_responses(401, 403, 404))
async def remove(day: dt.date, admin: Admin, uow: UoWDep) -> Response:
    if not await clear_day(uow, day):
        raise NotFound("Ngày này chưa được điều chỉnh.", code="calendar.not_corrected")
    return Response(status_code=204)
