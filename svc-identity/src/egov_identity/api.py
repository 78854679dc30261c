"""``/api/v1/identity``: registration, in-person verification, and administration of agencies, officials,
clients and keys. An administrator manages their own agency and the agencies below it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select

from egov_identity.agencies import service as agencies
from egov_identity.agencies.models import Agency
from egov_identity.clients.models import OAuthClient
from egov_identity.clients.service import create_client
from egov_identity.deps import IdentityDep
from egov_identity.keys.service import rotate
from egov_identity.people import service as people
from egov_identity.people.models import Citizen, Official
from egov_identity.people.service import ROLES, needs_second_factor
from egov_identity.schemas import (
    AgencyCreate,
    AgencyRead,
    AgencyUpdate,
    CitizenCreate,
    CitizenRead,
    CitizenSearch,
    ClientCreate,
    ClientCreated,
    ClientRead,
    KeyRotation,
    OfficialCreate,
    OfficialCreated,
    OfficialRead,
    OfficialUpdate,
)
from egov_identity.vault import Vault
from egov_shared.auth.dependencies import CurrentPrincipal, official
from egov_shared.auth.tokens import Principal
from egov_shared.http.app import UoWDep
from egov_shared.http.etag import IfMatchVersion, check_version, etag, set_etag
from egov_shared.http.idempotency import Idempotency
from egov_shared.http.problems import problem_responses
from egov_shared.logging import mask_id_number
from egov_shared.problems import NotFound, Unprocessable
from egov_shared.uow import UnitOfWork

router = APIRouter(prefix="/api/v1/identity", tags=["identity"])

Admin = Annotated[Principal, Depends(official("admin"))]
CounterStaff = Annotated[Principal, Depends(official("receiver", "admin"))]


def citizen_read(citizen: Citizen, vault: Vault) -> CitizenRead:
    number = vault.id_numbers.decrypt_text(citizen.id_number_encrypted)
    return CitizenRead.model_validate(
        {
            **{c: getattr(citizen, c) for c in CitizenRead.model_fields if hasattr(citizen, c)},
            "id_number_masked": mask_id_number(number),
        }
    )


def official_read(
    official_: Official, model: type[OfficialRead] = OfficialRead, **extra: object
) -> OfficialRead:
    return model.model_validate(
        {
            **{c: getattr(official_, c) for c in OfficialRead.model_fields if hasattr(official_, c)},
            "second_factor": official_.totp_secret_encrypted is not None,
            **extra,
        }
    )


async def _admin_scope(uow: UnitOfWork, admin: Principal, agency_code: str) -> None:
    """An administrator acts on their agency and those below it; elsewhere the agency does not exist for them."""
    if admin.agency is None or agency_code not in await agencies.subtree_codes(uow.session, admin.agency):
        raise NotFound(f"Không có cơ quan mã {agency_code}.", code="agency.not_found")


# --- citizens ---------------------------------------------------------------------------------------------


@router.post(
    "/citizens",
    status_code=201,
    response_model=CitizenRead,
    summary="Self-registration of a citizen (assurance level 1)",
    responses=problem_responses(409, 422),
)
async def register(
    body: CitizenCreate, uow: UoWDep, identity: IdentityDep, idempotency: Idempotency
) -> Response:
    async def action() -> CitizenRead:
        citizen = await people.register_citizen(
            uow,
            identity.vault,
            id_number=body.id_number,
            full_name=body.full_name,
            date_of_birth=body.date_of_birth,
            sex=body.sex,
            password=body.password,
            phone=body.phone,
            email=str(body.email) if body.email else None,
        )
        return citizen_read(citizen, identity.vault)

    return await idempotency.run(
        uow,
        body.model_dump(exclude={"password"}),
        action,
        response_model=CitizenRead,
        headers=lambda c: {"ETag": etag(c.version), "Location": f"/api/v1/identity/citizens/{c.id}"},
    )


@router.get("/me", summary="The logged-in person's own account", responses=problem_responses(401))
async def me(principal: CurrentPrincipal, uow: UoWDep, identity: IdentityDep) -> CitizenRead | OfficialRead:
    if principal.kind == "citizen":
        return citizen_read(
            await people.get_citizen(uow.session, uuid.UUID(principal.subject)), identity.vault
        )
    if principal.kind == "official":
        return official_read(await people.get_official(uow.session, uuid.UUID(principal.subject)))
    raise NotFound("Mã truy cập của ứng dụng không gắn với người dùng.", code="account.not_found")


@router.post(
    "/citizens/search",
    response_model=CitizenRead,
    summary="Find a citizen by ID number (counter staff); the read is recorded",
    responses=problem_responses(401, 403, 404, 422),
)
async def search_citizen(
    body: CitizenSearch, staff: CounterStaff, uow: UoWDep, identity: IdentityDep, response: Response
) -> CitizenRead:
    citizen = await people.find_citizen_by_id_number(uow.session, identity.vault, body.id_number)
    if citizen is None:
        raise NotFound("Không có tài khoản với số định danh này.", code="citizen.not_found")
    people.record_access(
        uow.session, citizen.id, accessor=f"official:{staff.subject}", purpose="tra cứu tại quầy"
    )
    await uow.commit()
    set_etag(response, citizen.version)
    return citizen_read(citizen, identity.vault)


@router.post(
    "/citizens/{citizen_id}/verification",
    response_model=CitizenRead,
    summary="Raise a citizen to assurance level 2 after in-person verification",
    responses=problem_responses(401, 403, 404, 412, 428),
)
async def verify(
    citizen_id: uuid.UUID,
    staff: CounterStaff,
    version: IfMatchVersion,
    uow: UoWDep,
    identity: IdentityDep,
    response: Response,
) -> CitizenRead:
    citizen = await people.verify_citizen(
        uow,
        citizen_id,
        expected_version=version,
        official_id=uuid.UUID(staff.subject),
        agency=staff.agency or "",
    )
    set_etag(response, citizen.version)
    return citizen_read(citizen, identity.vault)


# --- agencies ---------------------------------------------------------------------------------------------


@router.get("/agencies", response_model=list[AgencyRead], summary="The agency tree (public)")
async def list_agencies(uow: UoWDep) -> list[Agency]:
    return list((await uow.session.scalars(select(Agency).order_by(Agency.code))).all())


@router.get("/agencies/{code}", response_model=AgencyRead, responses=problem_responses(404))
async def get_agency(code: str, uow: UoWDep, response: Response) -> Agency:
    agency = await agencies.get_agency(uow.session, code)
    set_etag(response, agency.version)
    return agency


@router.post(
    "/agencies",
    status_code=201,
    response_model=AgencyRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_agency(body: AgencyCreate, admin: Admin, uow: UoWDep, response: Response) -> Agency:
    if body.parent_code is None:
        raise Unprocessable("Cơ quan mới phải có cơ quan cấp trên.", code="agency.parent_required")
    await _admin_scope(uow, admin, body.parent_code)
    agency = await agencies.create_agency(
        uow, code=body.code, name=body.name, kind=body.kind, parent_code=body.parent_code
    )
    set_etag(response, agency.version)
    return agency


@router.patch(
    "/agencies/{code}", response_model=AgencyRead, responses=problem_responses(401, 403, 404, 412, 422, 428)
)
async def update_agency(
    code: str, body: AgencyUpdate, admin: Admin, version: IfMatchVersion, uow: UoWDep, response: Response
) -> Agency:
    await _admin_scope(uow, admin, code)
    if body.parent_code is not None:
        await _admin_scope(uow, admin, body.parent_code)
    agency = await agencies.update_agency(
        uow, code, expected_version=version, name=body.name, parent_code=body.parent_code, active=body.active
    )
    set_etag(response, agency.version)
    return agency


# --- officials --------------------------------------------------------------------------------------------


@router.get("/officials", response_model=list[OfficialRead], responses=problem_responses(401, 403))
async def list_officials(admin: Admin, uow: UoWDep) -> list[OfficialRead]:
    codes = await agencies.subtree_codes(uow.session, admin.agency or "")
    rows = await uow.session.scalars(
        select(Official).where(Official.agency_code.in_(codes)).order_by(Official.username)
    )
    return [official_read(o) for o in rows]


@router.post(
    "/officials",
    status_code=201,
    response_model=OfficialCreated,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_official(
    body: OfficialCreate, admin: Admin, uow: UoWDep, identity: IdentityDep
) -> OfficialRead:
    await _admin_scope(uow, admin, body.agency_code)
    created, uri = await people.enrol_official(
        uow, identity.vault, body, totp_issuer=identity.settings.totp_issuer
    )
    return official_read(created, OfficialCreated, totp_provisioning_uri=uri)


@router.patch(
    "/officials/{official_id}",
    response_model=OfficialRead,
    responses=problem_responses(401, 403, 404, 412, 422, 428),
)
async def update_official(
    official_id: uuid.UUID,
    body: OfficialUpdate,
    admin: Admin,
    version: IfMatchVersion,
    uow: UoWDep,
    response: Response,
) -> OfficialRead:
    target = await people.get_official(uow.session, official_id)
    await _admin_scope(uow, admin, target.agency_code)
    check_version(version, target.version)
    if body.agency_code is not None:
        await _admin_scope(uow, admin, body.agency_code)
        target.agency_code = body.agency_code
    if body.roles is not None:
        unknown = set(body.roles) - ROLES
        if unknown:
            raise Unprocessable(
                "Vai trò không tồn tại: " + ", ".join(sorted(unknown)), code="official.unknown_role"
            )
        if needs_second_factor(body.roles) and target.totp_secret_encrypted is None:
            raise Unprocessable(
                "Vai trò này cần xác thực hai lớp: tạo tài khoản mới có OTP.",
                code="official.second_factor_required",
            )
        target.roles = sorted(set(body.roles))
    if body.full_name is not None:
        target.full_name = body.full_name
    if body.active is not None:
        target.active = body.active
    await uow.commit()
    set_etag(response, target.version)
    return official_read(target)


# --- clients and keys -------------------------------------------------------------------------------------


@router.get("/clients", response_model=list[ClientRead], responses=problem_responses(401, 403))
async def list_clients(admin: Admin, uow: UoWDep) -> list[OAuthClient]:
    return list((await uow.session.scalars(select(OAuthClient).order_by(OAuthClient.client_id))).all())


@router.post(
    "/clients", status_code=201, response_model=ClientCreated, responses=problem_responses(401, 403, 409, 422)
)
async def register_client(body: ClientCreate, admin: Admin, uow: UoWDep) -> ClientCreated:
    client, secret = await create_client(
        uow,
        client_id=body.client_id,
        name=body.name,
        confidential=body.confidential,
        redirect_uris=body.redirect_uris,
        allowed_scopes=body.allowed_scopes,
    )
    return ClientCreated.model_validate(
        {**ClientRead.model_validate(client).model_dump(), "client_secret": secret}
    )


@router.post(
    "/keys/rotate",
    response_model=KeyRotation,
    summary="Rotate the token-signing key (the next key was published before; the old one stays published)",
    responses=problem_responses(401, 403),
)
async def rotate_keys(admin: Admin, uow: UoWDep, identity: IdentityDep) -> KeyRotation:
    kid = await rotate(uow.session, identity.vault.signing_keys)
    await uow.commit()
    identity.keys.forget()
    return KeyRotation(active_kid=kid)
