"""The agency tree as the consuming services know it, replicated from ``identity.agency_upserted``.

svc-dossier, svc-payment, svc-feedback and svc-document each keep this table in their own database (created by
:func:`egov_shared.migrations.create_agency_directory_table`) and answer "may this official act on that agency?"
from it: an official acts for their agency and every agency below it.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Boolean, Column, Integer, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.db import UTCDateTime, dialect_insert, new_metadata, utcnow
from egov_shared.events import CloudEvent
from egov_shared.uow import UnitOfWork

metadata = new_metadata()

agency_directory = Table(
    "agency_directory",
    metadata,
    Column("code", String(13), primary_key=True),
    Column("name", String(300), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("parent_code", String(13), nullable=True, index=True),
    Column("active", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


async def on_agency_upserted(uow: UnitOfWork, data: AgencyUpserted, event: CloudEvent) -> None:
    """Apply a newer version of an agency; an older one (events can arrive out of order) changes nothing."""
    values = {
        "code": data.code,
        "name": data.name,
        "kind": data.kind,
        "parent_code": data.parent_code,
        "active": data.active,
        "version": data.version,
        "updated_at": utcnow(),
    }
    insert = dialect_insert(uow.session)
    await uow.session.execute(
        insert(agency_directory).values(values).on_conflict_do_nothing(index_elements=["code"])
    )
    await uow.session.execute(
        update(agency_directory)
        .where(agency_directory.c.code == data.code, agency_directory.c.version < data.version)
        .values(values)
    )


async def agency_exists(session: AsyncSession, code: str) -> bool:
    found = await session.scalar(
        select(agency_directory.c.code).where(agency_directory.c.code == code, agency_directory.c.active)
    )
    return found is not None


async def agency_name(session: AsyncSession, code: str) -> str | None:
    name: str | None = await session.scalar(
        select(agency_directory.c.name).where(agency_directory.c.code == code)
    )
    return name


async def ancestors(session: AsyncSession, code: str) -> list[str]:
    """``code`` and the agencies above it, nearest first (the tree is shallow: province, then two tiers)."""
    rows = dict(
        (await session.execute(select(agency_directory.c.code, agency_directory.c.parent_code))).all()
    )
    chain: list[str] = []
    current: str | None = code
    while current is not None and current not in chain:
        chain.append(current)
        current = rows.get(current)
    return chain


async def acts_for(session: AsyncSession, official_agency: str | None, target_agency: str) -> bool:
    """May an official of ``official_agency`` act on ``target_agency`` (the same or one below it)?"""
    if not official_agency:
        return False
    return official_agency in await ancestors(session, target_agency)


def descendants(edges: Iterable[tuple[str, str | None]], root: str) -> set[str]:
    """``root`` and every code below it, given (code, parent code) pairs; cycles in bad data cannot loop."""
    children: dict[str | None, list[str]] = {}
    for child, parent in edges:
        children.setdefault(parent, []).append(child)
    found: set[str] = set()
    stack = [root]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found


async def subtree(session: AsyncSession, code: str) -> set[str]:
    rows = (await session.execute(select(agency_directory.c.code, agency_directory.c.parent_code))).all()
    return descendants(((row.code, row.parent_code) for row in rows), code)
