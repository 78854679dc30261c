"""Dossier codes (mã hồ sơ): ``{agency code}-{yyMMdd}-{NNNN}`` by default, the date in Vietnamese time.

The pattern is configurable (it is common practice, not law). The sequence is a gap-free counter per agency per
day, drawn in the submitting transaction, so codes have no duplicates and no gaps under concurrency.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from egov_shared.calendar import VN_TZ
from egov_shared.counters import next_in_series

DEFAULT_PATTERN = "{agency}-{date:%y%m%d}-{seq:04d}"


def format_code(pattern: str, *, agency_code: str, day: dt.date, seq: int) -> str:
    return pattern.format(agency=agency_code, date=day, seq=seq)


async def next_dossier_code(
    session: AsyncSession, agency_code: str, at: dt.datetime, *, pattern: str = DEFAULT_PATTERN
) -> str:
    if at.tzinfo is None:
        raise ValueError("a dossier code needs an aware datetime")
    day = at.astimezone(VN_TZ).date()
    seq = await next_in_series(session, f"dossier-code:{agency_code}:{day:%Y%m%d}")
    return format_code(pattern, agency_code=agency_code, day=day, seq=seq)
