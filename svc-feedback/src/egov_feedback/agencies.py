"""Agency names and parents for reports, from the replicated directory (``identity.agency_upserted``).

Who may act on what is :func:`egov_shared.agencies.acts_for` on that directory. Names fall back to the
province's reference data (its people's committee, departments and the committees of its communes and wards)
so a report reads well before the directory has arrived on a fresh deployment.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_feedback.reference.areas import demo_area_index
from egov_feedback.reference.categories import DEPARTMENTS
from egov_shared.agencies import agency_directory


@functools.cache
def reference_names() -> Mapping[str, str]:
    index = demo_area_index()
    names = {index.province.agency_code: "Ủy ban nhân dân " + index.province.name.replace("Tỉnh", "tỉnh")}
    names.update(DEPARTMENTS)
    for area in index.areas:
        names.setdefault(area.agency_code, "Ủy ban nhân dân " + area.name[:1].lower() + area.name[1:])
    return names


async def agency_names(session: AsyncSession) -> dict[str, str]:
    """code -> name of every agency (a small table: a province has a few hundred)."""
    rows = (await session.execute(select(agency_directory.c.code, agency_directory.c.name))).all()
    names = dict(reference_names())
    names.update({row.code: row.name for row in rows})
    return names


async def parent_of(session: AsyncSession, code: str) -> str | None:
    """The supervising agency in the directory; None for the root or an agency not replicated yet."""
    parent: str | None = await session.scalar(
        select(agency_directory.c.parent_code).where(agency_directory.c.code == code)
    )
    return parent
