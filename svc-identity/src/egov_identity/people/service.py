"""Citizens and officials: registration, in-person verification, accounts of officials, password checks."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from egov_identity.agencies.models import Agency
from egov_identity.people.models import Citizen, DataAccess, Official
from egov_identity.people.passwords import hash_password
from egov_identity.schemas import OfficialCreate
from egov_identity.vault import Vault
from egov_shared.contracts.identity import CitizenRegistered, CitizenVerified
from egov_shared.db import utcnow
from egov_shared.http.etag import check_version
from egov_shared.identifiers import InvalidIdentifier, Sex, check_id_number
from egov_shared.problems import Conflict, NotFound, Unprocessable
from egov_shared.totp import new_totp_secret, totp_provisioning_uri
from egov_shared.uow import UnitOfWork

ROLES = frozenset(
    {"receiver", "processor", "approver", "signer", "finance", "admin", "document_clerk", "feedback_handler"}
)
# Officials holding these log in with a second factor (TOTP).
SECOND_FACTOR_ROLES = frozenset({"signer", "finance", "admin"})


def needs_second_factor(roles: Iterable[str]) -> bool:
    return bool(SECOND_FACTOR_ROLES.intersection(roles))


async def register_citizen(
    uow: UnitOfWork,
    vault: Vault,
    *,
    id_number: str,
    full_name: str,
    date_of_birth: dt.date,
    sex: Sex,
    password: str,
    phone: str | None = None,
    email: str | None = None,
    assurance_level: int = 1,
    commit: bool = True,
) -> Citizen:
    try:
        check_id_number(id_number, date_of_birth=date_of_birth, sex=sex)
    except InvalidIdentifier as exc:
        raise Unprocessable(
            str(exc), code="citizen.invalid_id_number", errors=[{"field": "id_number", "message": str(exc)}]
        ) from exc
    id_hash = vault.id_number_hash.digest(id_number)
    if await uow.session.scalar(select(Citizen.id).where(Citizen.id_number_hash == id_hash)) is not None:
        raise Conflict("Số định danh này đã có tài khoản.", code="citizen.exists")
    citizen = Citizen(
        id_number_hash=id_hash,
        id_number_encrypted=vault.id_numbers.encrypt_text(id_number),
        full_name=full_name,
        date_of_birth=date_of_birth,
        sex=sex,
        phone=phone,
        email=email,
        assurance_level=assurance_level,
        password_hash=hash_password(password),
    )
    uow.session.add(citizen)
    try:
        await uow.session.flush()
    except IntegrityError as exc:  # a concurrent registration of the same number
        raise Conflict("Số định danh này đã có tài khoản.", code="citizen.exists") from exc
    uow.publish(
        CitizenRegistered(citizen_id=str(citizen.id), assurance_level=assurance_level),
        subject=str(citizen.id),
    )
    if commit:
        await uow.commit()
    return citizen


async def get_citizen(session: AsyncSession, citizen_id: uuid.UUID) -> Citizen:
    citizen = await session.get(Citizen, citizen_id)
    if citizen is None:
        raise NotFound("Không có công dân này.", code="citizen.not_found")
    return citizen


async def find_citizen_by_id_number(session: AsyncSession, vault: Vault, id_number: str) -> Citizen | None:
    digest = vault.id_number_hash.digest(id_number)
    citizen: Citizen | None = await session.scalar(select(Citizen).where(Citizen.id_number_hash == digest))
    return citizen


async def verify_citizen(
    uow: UnitOfWork, citizen_id: uuid.UUID, *, expected_version: int, official_id: uuid.UUID, agency: str
) -> Citizen:
    """In-person verification at a counter: the account becomes assurance level 2."""
    citizen = await get_citizen(uow.session, citizen_id)
    check_version(expected_version, citizen.version)
    if citizen.assurance_level < 2:
        citizen.assurance_level = 2
        citizen.verified_at = utcnow()
        citizen.verified_by = official_id
        await uow.session.flush()
        uow.publish(
            CitizenVerified(citizen_id=str(citizen.id), assurance_level=2, verified_by_agency=agency),
            subject=str(citizen.id),
        )
    record_access(uow.session, citizen.id, accessor=f"official:{official_id}", purpose="xác thực trực tiếp")
    await uow.commit()
    return citizen


def record_access(session: AsyncSession, citizen_id: uuid.UUID, *, accessor: str, purpose: str) -> None:
    session.add(DataAccess(citizen_id=citizen_id, accessor=accessor, purpose=purpose))


async def create_official(
    uow: UnitOfWork,
    vault: Vault,
    *,
    username: str,
    full_name: str,
    agency_code: str,
    roles: Iterable[str],
    password: str,
    totp_secret: str | None = None,
    commit: bool = True,
) -> Official:
    roles = sorted(set(roles))
    unknown = set(roles) - ROLES
    if unknown:
        raise Unprocessable(
            "Vai trò không tồn tại: " + ", ".join(sorted(unknown)), code="official.unknown_role"
        )
    if await uow.session.get(Agency, agency_code) is None:
        raise Unprocessable(f"Không có cơ quan mã {agency_code}.", code="official.unknown_agency")
    if await uow.session.scalar(select(Official.id).where(Official.username == username)) is not None:
        raise Conflict("Tên đăng nhập đã được dùng.", code="official.exists")
    if needs_second_factor(roles) and totp_secret is None:
        totp_secret = new_totp_secret()
    official = Official(
        username=username,
        full_name=full_name,
        agency_code=agency_code,
        roles=roles,
        password_hash=hash_password(password),
        totp_secret_encrypted=vault.totp.encrypt_text(totp_secret) if totp_secret else None,
        active=True,
    )
    uow.session.add(official)
    await uow.session.flush()
    if commit:
        await uow.commit()
    return official


async def enrol_official(
    uow: UnitOfWork, vault: Vault, body: OfficialCreate, *, totp_issuer: str
) -> tuple[Official, str | None]:
    """Create an official (the admin API and the operator CLI). Roles that need a second factor get a new TOTP
    secret; its provisioning URI, for the official's authenticator app, is returned this once."""
    secret = new_totp_secret() if needs_second_factor(body.roles) else None
    official = await create_official(
        uow,
        vault,
        username=body.username,
        full_name=body.full_name,
        agency_code=body.agency_code,
        roles=body.roles,
        password=body.password,
        totp_secret=secret,
    )
    uri = totp_provisioning_uri(secret, account=official.username, issuer=totp_issuer) if secret else None
    return official, uri


async def get_official(session: AsyncSession, official_id: uuid.UUID) -> Official:
    official = await session.get(Official, official_id)
    if official is None:
        raise NotFound("Không có cán bộ này.", code="official.not_found")
    return official


async def find_official(session: AsyncSession, username: str) -> Official | None:
    official: Official | None = await session.scalar(select(Official).where(Official.username == username))
    return official
