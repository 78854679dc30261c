"""Agencies and the tree: every change publishes ``identity.agency_upserted``."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_identity.agencies.models import Agency
from egov_shared.agencies import descendants
from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.http.etag import check_version
from egov_shared.problems import Conflict, NotFound, Unprocessable
from egov_shared.uow import UnitOfWork

KINDS = ("province", "department", "commune", "ward", "other")


async def get_agency(session: AsyncSession, code: str) -> Agency:
    agency = await session.get(Agency, code)
    if agency is None:
        raise NotFound(f"Không có cơ quan mã {code}.", code="agency.not_found")
    return agency


async def subtree_codes(session: AsyncSession, root: str) -> set[str]:
    """The codes of ``root`` and every agency below it (the tree is small: a province has a few hundred)."""
    rows = (await session.execute(select(Agency.code, Agency.parent_code))).all()
    return descendants(((row.code, row.parent_code) for row in rows), root)


def _publish(uow: UnitOfWork, agency: Agency) -> None:
    uow.publish(
        AgencyUpserted(
            code=agency.code,
            name=agency.name,
            kind=agency.kind,
            parent_code=agency.parent_code,
            active=agency.active,
            version=agency.version,
        ),
        subject=agency.code,
    )


async def republish_tree(uow: UnitOfWork) -> int:
    """Publish every agency again. Consumers upsert, so this only heals a copy that missed an event (a service
    whose queue did not exist yet when the tree was first published)."""
    agencies = list(await uow.session.scalars(select(Agency).order_by(Agency.code)))
    for agency in agencies:
        _publish(uow, agency)
    await uow.commit()
    return len(agencies)


async def create_agency(
    uow: UnitOfWork, *, code: str, name: str, kind: str, parent_code: str | None, commit: bool = True
) -> Agency:
    if await uow.session.get(Agency, code) is not None:
        raise Conflict(f"Cơ quan mã {code} đã có.", code="agency.exists")
    if parent_code is not None:
        await get_agency(uow.session, parent_code)
    elif kind != "province":
        raise Unprocessable("Chỉ cấp tỉnh mới không có cơ quan cấp trên.", code="agency.parent_required")
    agency = Agency(code=code, name=name, kind=kind, parent_code=parent_code, active=True)
    uow.session.add(agency)
    await uow.session.flush()
    _publish(uow, agency)
    if commit:
        await uow.commit()
    return agency


async def update_agency(
    uow: UnitOfWork,
    code: str,
    *,
    expected_version: int,
    name: str | None = None,
    parent_code: str | None = None,
    active: bool | None = None,
) -> Agency:
    agency = await get_agency(uow.session, code)
    check_version(expected_version, agency.version)
    if parent_code is not None and parent_code != agency.parent_code:
        if parent_code in await subtree_codes(uow.session, code):
            raise Unprocessable(
                "Cơ quan không thể trực thuộc chính nó hay cấp dưới của nó.", code="agency.cycle"
            )
        await get_agency(uow.session, parent_code)
        agency.parent_code = parent_code
    if name is not None:
        agency.name = name
    if active is not None:
        agency.active = active
    await uow.session.flush()
    _publish(uow, agency)
    await uow.commit()
    return agency
