"""Use cases of the catalogue: search it, add and change procedures."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_dossier.procedures.models import Procedure
from egov_dossier.procedures.schemas import ProcedureBase, ProcedureCreate, ProcedureUpdate
from egov_shared.http.etag import check_version
from egov_shared.problems import Conflict, NotFound
from egov_shared.text import fold, nfc, search_terms
from egov_shared.uow import UnitOfWork


def _search_text(procedure: ProcedureBase, code: str) -> str:
    return fold(f"{procedure.name} {code} {procedure.field} {procedure.result_type}")


def _columns(body: ProcedureBase) -> dict[str, Any]:
    return {
        "name": nfc(body.name),
        "field": nfc(body.field),
        "level": body.level,
        "agency_code": body.agency_code,
        "online_class": body.online_class,
        "processing_time": body.processing_time,
        "time_unit": body.time_unit,
        "fees": [f.model_dump() for f in body.fees],
        "fee_stage": body.fee_stage,
        "components": [c.model_dump() for c in body.components],
        "result_type": nfc(body.result_type),
        "min_assurance_level": body.min_assurance_level,
    }


def search_query(
    *,
    q: str | None = None,
    field: str | None = None,
    agency_code: str | None = None,
    online_class: str | None = None,
    include_inactive: bool = False,
) -> Select[Procedure]:
    query = select(Procedure)
    for term in search_terms(q or ""):
        query = query.where(Procedure.search_text.contains(term, autoescape=True))
    if field:
        query = query.where(Procedure.field == nfc(field))
    if agency_code:
        query = query.where(Procedure.agency_code == agency_code)
    if online_class:
        query = query.where(Procedure.online_class == online_class)
    if not include_inactive:
        query = query.where(Procedure.active)
    return query


async def get_procedure(session: AsyncSession, code: str) -> Procedure:
    procedure = await session.get(Procedure, code)
    if procedure is None:
        raise NotFound(f"Không có thủ tục mã {code}.", code="procedure.not_found")
    return procedure


async def create_procedure(uow: UnitOfWork, body: ProcedureCreate, *, commit: bool = True) -> Procedure:
    if await uow.session.get(Procedure, body.code) is not None:
        raise Conflict(f"Thủ tục mã {body.code} đã có.", code="procedure.exists")
    procedure = Procedure(
        code=body.code, active=True, search_text=_search_text(body, body.code), **_columns(body)
    )
    uow.session.add(procedure)
    await uow.session.flush()
    if commit:
        await uow.commit()
    return procedure


async def update_procedure(
    uow: UnitOfWork, code: str, body: ProcedureUpdate, *, expected_version: int
) -> Procedure:
    procedure = await get_procedure(uow.session, code)
    check_version(expected_version, procedure.version)
    for name, value in _columns(body).items():
        setattr(procedure, name, value)
    procedure.active = body.active
    procedure.search_text = _search_text(body, code)
    await uow.commit()
    return procedure


def total_fee(procedure: Procedure) -> int:
    return sum(int(f["amount_vnd"]) for f in procedure.fees)
