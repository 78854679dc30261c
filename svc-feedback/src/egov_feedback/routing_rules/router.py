"""``/api/v1/feedback/routing-overrides``: administrators route one area's reports of a category elsewhere."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from egov_feedback.context import FeedbackDep
from egov_feedback.reference.categories import CATEGORIES_BY_CODE
from egov_feedback.reports import repository
from egov_feedback.routing_rules.models import RoutingOverride
from egov_shared.agencies import agency_exists
from egov_shared.auth.dependencies import official
from egov_shared.auth.tokens import Principal
from egov_shared.contracts.identity import AGENCY_CODE_PATTERN
from egov_shared.http.app import UoWDep
from egov_shared.http.problems import problem_responses
from egov_shared.problems import NotFound, Unprocessable

router = APIRouter(prefix="/api/v1/feedback/routing-overrides", tags=["feedback administration"])
Admin = Annotated[Principal, Depends(official("admin"))]


class OverrideBody(BaseModel):
    agency_code: str = Field(pattern=AGENCY_CODE_PATTERN)
    note: str | None = Field(default=None, max_length=1000)


class OverrideRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    category_code: str
    area_code: str
    agency_code: str
    note: str | None
    updated_by: str
    updated_at: dt.datetime


@router.get("", response_model=list[OverrideRead], responses=problem_responses(401, 403))
async def overrides(admin: Admin, uow: UoWDep) -> list[OverrideRead]:
    return [OverrideRead.model_validate(row) for row in await repository.list_overrides(uow.session)]


@router.put(
    "/{category_code}/{area_code}",
    response_model=OverrideRead,
    summary="New reports of this category in this area go to this agency",
    responses=problem_responses(401, 403, 422),
)
async def put(
    category_code: str, area_code: str, body: OverrideBody, admin: Admin, uow: UoWDep, feedback: FeedbackDep
) -> OverrideRead:
    problems = []
    if category_code not in CATEGORIES_BY_CODE:
        problems.append({"field": "category_code", "message": "Mã lĩnh vực không tồn tại."})
    if feedback.areas.get(area_code) is None:
        problems.append({"field": "area_code", "message": "Mã xã, phường không tồn tại."})
    if not await agency_exists(uow.session, body.agency_code):
        problems.append({"field": "agency_code", "message": "Mã cơ quan không tồn tại."})
    if problems:
        raise Unprocessable("Quy tắc điều phối chưa đúng.", code="feedback.invalid_override", errors=problems)
    row = await uow.session.get(RoutingOverride, (category_code, area_code))
    if row is None:
        row = RoutingOverride(category_code=category_code, area_code=area_code)
        uow.session.add(row)
    row.agency_code, row.note, row.updated_by = body.agency_code, body.note, admin.subject
    row.updated_at = feedback.now()
    await uow.session.flush()
    await uow.commit()
    return OverrideRead.model_validate(row)


@router.delete(
    "/{category_code}/{area_code}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(401, 403, 404),
)
async def delete(category_code: str, area_code: str, admin: Admin, uow: UoWDep) -> Response:
    if not await repository.delete_override(uow.session, category_code, area_code):
        raise NotFound("Không có quy tắc này.", code="feedback.override_not_found")
    await uow.commit()
    return Response(status_code=204)
