"""Which agency answers a report: category × place → agency.

1. A routing rule for (category, area) wins: a province can hand one commune's reports of a category to another
   body (an industrial zone's management board, a neighbouring ward during a merger, ...).
2. Otherwise a ``"commune"``-scoped category goes to the commune or ward containing the point.
3. Otherwise the category's department handles it, wherever in the province it happens.

A point outside the province is refused whatever the category: the province has no one to send it to. A report
without coordinates (Open311 allows an address alone) goes to its department, or, for a commune-scoped category,
to the province's people's committee, whose staff assign it by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from egov_feedback.reference.areas import AreaIndex, demo_area_index
from egov_feedback.reference.categories import CATEGORIES_BY_CODE, Category
from egov_shared.problems import Unprocessable

RoutingReason = Literal["override", "commune", "department", "unlocated"]

NO_OVERRIDES: Mapping[tuple[str, str], str] = MappingProxyType({})


class OutsideProvince(Unprocessable):
    default_code = "feedback.outside_province"


class UnknownCategory(Unprocessable):
    default_code = "feedback.unknown_category"


@dataclass(frozen=True)
class Routing:
    agency_code: str
    area_code: str | None
    reason: RoutingReason


def route(
    category_code: str,
    lat: float | None,
    lon: float | None,
    *,
    overrides: Mapping[tuple[str, str], str] = NO_OVERRIDES,
    areas: AreaIndex | None = None,
    categories: Mapping[str, Category] = CATEGORIES_BY_CODE,
) -> Routing:
    """Route a report of ``category_code`` at (``lat``, ``lon``).

    ``overrides`` maps (category code, area code) to an agency code. ``areas`` defaults to the demo province.
    ``lat`` and ``lon`` are both given or both ``None``. Raises :class:`UnknownCategory` or
    :class:`OutsideProvince`.
    """
    category = categories.get(category_code)
    if category is None:
        raise UnknownCategory(f"Không có lĩnh vực phản ánh mã {category_code!r}.")
    index = areas if areas is not None else demo_area_index()
    if lat is None or lon is None:
        if lat is not None or lon is not None:
            raise ValueError("lat and lon go together")
        if category.handled_by_commune:
            return Routing(index.province.agency_code, None, "unlocated")
        return Routing(category.scope, None, "department")
    area = index.locate(lat, lon)
    if area is None:
        raise OutsideProvince(
            f"Vị trí ({lat}, {lon}) nằm ngoài địa bàn {index.province.name}.",
            extra={"lat": lat, "long": lon},
        )
    override = overrides.get((category.code, area.code))
    if override is not None:
        return Routing(override, area.code, "override")
    if category.handled_by_commune:
        return Routing(area.agency_code, area.code, "commune")
    return Routing(category.scope, area.code, "department")
