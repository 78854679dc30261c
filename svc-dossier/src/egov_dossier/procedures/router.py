"""``/api/v1/procedures``: the public catalogue, and its administration."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from egov_dossier.procedures import service
from egov_dossier.procedures.models import Procedure
from egov_dossier.procedures.schemas import ProcedureCreate, ProcedureRead, ProcedureUpdate
from egov_shared.auth.dependencies import official
from egov_shared.auth.tokens import Principal
from egov_shared.http.app import UoWDep
from egov_shared.http.etag import IfMatchVersion, set_etag
from egov_shared.http.pagination import Page, PageParamsDep, encode_cursor
from egov_shared.http.problems import problem_responses

router = APIRouter(prefix="/api/v1/procedures", tags=["procedures"])
Admin = Annotated[Principal, Depends(official("admin"))]


def read(procedure: Procedure) -> ProcedureRead:
    return ProcedureRead.model_validate(
        {
            **{
                name: getattr(procedure, name)
                for name in ProcedureRead.model_fields
                if hasattr(procedure, name)
            },
            "total_fee_vnd": service.total_fee(procedure),
        }
    )


@router.get(
    "",
    response_model=Page[ProcedureRead],
    summary="Search the catalogue (accent-insensitive: 'khai sinh' finds 'Đăng ký khai sinh')",
    responses=problem_responses(422),
)
async def search(
    uow: UoWDep,
    page: PageParamsDep,
    q: Annotated[
        str | None, Query(max_length=200, description="Words to find, with or without diacritics")
    ] = None,
    field: Annotated[str | None, Query(max_length=200)] = None,
    agency_code: Annotated[str | None, Query(pattern=r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")] = None,
    online_class: Literal["full", "partial"] | None = None,
) -> Page[ProcedureRead]:
    query = service.search_query(q=q, field=field, agency_code=agency_code, online_class=online_class)
    if page.after:
        query = query.where(Procedure.code > str(page.after[0]))
    rows = list(await uow.session.scalars(query.order_by(Procedure.code).limit(page.limit + 1)))
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        next_cursor = encode_cursor([rows[-1].code])
    return Page[ProcedureRead](items=[read(p) for p in rows], next_cursor=next_cursor)


@router.get("/{code}", response_model=ProcedureRead, responses=problem_responses(404))
async def get(code: str, uow: UoWDep, response: Response) -> ProcedureRead:
    procedure = await service.get_procedure(uow.session, code)
    set_etag(response, procedure.version)
    return read(procedure)


@router.post(
    "", status_code=201, response_model=ProcedureRead, responses=problem_responses(401, 403, 409, 422)
)
async def create(body: ProcedureCreate, admin: Admin, uow: UoWDep, response: Response) -> ProcedureRead:
    procedure = await service.create_procedure(uow, body)
    set_etag(response, procedure.version)
    response.headers["Location"] = f"/api/v1/procedures/{procedure.code}"
    return read(procedure)


@router.put(
    "/{code}", response_model=ProcedureRead, responses=problem_responses(401, 403, 404, 412, 422, 428)
)
async def update(
    code: str, body: ProcedureUpdate, admin: Admin, version: IfMatchVersion, uow: UoWDep, response: Response
) -> ProcedureRead:
    procedure = await service.update_procedure(uow, code, body, expected_version=version)
    set_etag(response, procedure.version)
    return read(procedure)
