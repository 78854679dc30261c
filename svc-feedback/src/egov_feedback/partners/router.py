"""``/api/v1/feedback/open311-partners``: administrators issue Open311 API keys (shown once)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from sqlalchemy import select

from egov_feedback.partners.models import Open311Partner
from egov_feedback.partners.service import register_partner
from egov_shared.auth.dependencies import official
from egov_shared.auth.tokens import Principal
from egov_shared.http.app import UoWDep
from egov_shared.http.problems import problem_responses

router = APIRouter(prefix="/api/v1/feedback/open311-partners", tags=["feedback administration"])
Admin = Annotated[Principal, Depends(official("admin"))]


class PartnerCreate(BaseModel):
    name: str = Field(min_length=2, max_length=200)


class PartnerRead(BaseModel):
    id: uuid.UUID
    name: str
    active: bool
    created_at: dt.datetime


class PartnerCreated(PartnerRead):
    # Shown once: only its digest is stored.
    api_key: str


@router.get("", response_model=list[PartnerRead], responses=problem_responses(401, 403))
async def partners(admin: Admin, uow: UoWDep) -> list[PartnerRead]:
    rows = await uow.session.scalars(select(Open311Partner).order_by(Open311Partner.created_at))
    return [PartnerRead(id=p.id, name=p.name, active=p.active, created_at=p.created_at) for p in rows]


@router.post("", status_code=201, response_model=PartnerCreated, responses=problem_responses(401, 403, 422))
async def create(body: PartnerCreate, admin: Admin, uow: UoWDep) -> PartnerCreated:
    partner, key = await register_partner(uow, body.name)
    return PartnerCreated(
        id=partner.id, name=partner.name, active=partner.active, created_at=partner.created_at, api_key=key
    )
