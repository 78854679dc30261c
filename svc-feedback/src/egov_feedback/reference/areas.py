"""Communes and wards of the province with their boundaries, and which one contains a point.

Boundaries come from a GeoJSON FeatureCollection (``demo-province.geojson`` for the demo; real boundaries load the
same way): one feature of ``kind`` ``province`` and one per commune, ward or special zone, each with ``code``,
``name`` and ``agency_code`` properties. GeoJSON positions are (longitude, latitude); the API here takes
``(lat, lon)`` like Open311 does, and swaps them in one place.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

DEMO_GEOJSON = Path(__file__).parent / "demo-province.geojson"

AreaKind = Literal["commune", "ward", "special_zone"]

# Since 1 July 2025 the tier below the province holds communes (xã), wards (phường) and special zones (đặc khu).
# Boundary files often say "commune" for the whole tier; the name tells which it is.
_KIND_BY_PREFIX: tuple[tuple[str, AreaKind], ...] = (("Phường", "ward"), ("Đặc khu", "special_zone"))


@dataclass(frozen=True)
class Area:
    """A commune, ward or special zone and the agency (its people's committee) that answers for it."""

    code: str
    name: str
    kind: AreaKind
    agency_code: str


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    agency_code: str


def _area_kind(declared: str, name: str) -> AreaKind:
    if declared == "ward":
        return "ward"
    if declared == "special_zone":
        return "special_zone"
    if declared != "commune":
        raise ValueError(f"unknown area kind {declared!r} for {name!r}")
    for prefix, kind in _KIND_BY_PREFIX:
        if name.startswith(prefix):
            return kind
    return "commune"


def _properties(feature: Mapping[str, Any]) -> dict[str, str]:
    props = feature.get("properties") or {}
    missing = [key for key in ("kind", "code", "name", "agency_code") if not props.get(key)]
    if missing:
        raise ValueError(f"feature {props.get('code')!r} lacks properties {missing}")
    return {key: str(props[key]) for key in ("kind", "code", "name", "agency_code")}


def _geometry(feature: Mapping[str, Any], code: str) -> BaseGeometry:
    geometry = shape(feature["geometry"])
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        raise ValueError(f"area {code!r} needs a (multi)polygon, got {geometry.geom_type}")
    if not geometry.is_valid:
        # Surveyed boundaries are often slightly self-intersecting; repair rather than answer wrongly.
        geometry = shapely.make_valid(geometry)
    shapely.prepare(geometry)
    return geometry


class AreaIndex:
    """The province outline and its areas, indexed for point-in-polygon look-ups."""

    def __init__(
        self,
        province: Province,
        province_shape: BaseGeometry | None,
        areas: Sequence[tuple[Area, BaseGeometry]],
    ) -> None:
        if not areas:
            raise ValueError("an area index needs at least one commune or ward")
        counts = Counter(area.code for area, _ in areas)
        duplicates = sorted(code for code, count in counts.items() if count > 1)
        if duplicates:
            raise ValueError(f"duplicate area codes {duplicates}")
        ordered = sorted(areas, key=lambda pair: pair[0].code)
        self.province = province
        self.areas: tuple[Area, ...] = tuple(area for area, _ in ordered)
        self._shapes: tuple[BaseGeometry, ...] = tuple(geometry for _, geometry in ordered)
        self._by_code = {area.code: i for i, area in enumerate(self.areas)}
        # Without a province outline, the province is exactly the union of its areas.
        self._province_shape = (
            province_shape if province_shape is not None else shapely.union_all(list(self._shapes))
        )
        shapely.prepare(self._province_shape)
        self._tree = shapely.STRtree(list(self._shapes))

    @classmethod
    def from_geojson(cls, data: Mapping[str, Any]) -> AreaIndex:
        if data.get("type") != "FeatureCollection":
            raise ValueError("expected a GeoJSON FeatureCollection")
        province: Province | None = None
        province_shape: BaseGeometry | None = None
        areas: list[tuple[Area, BaseGeometry]] = []
        for feature in data.get("features") or []:
            props = _properties(feature)
            geometry = _geometry(feature, props["code"])
            if props["kind"] == "province":
                if province is not None:
                    raise ValueError("more than one province feature")
                province = Province(props["code"], props["name"], props["agency_code"])
                province_shape = geometry
            else:
                kind = _area_kind(props["kind"], props["name"])
                areas.append((Area(props["code"], props["name"], kind, props["agency_code"]), geometry))
        if province is None:
            raise ValueError("no feature of kind 'province'")
        return cls(province, province_shape, areas)

    def get(self, code: str) -> Area | None:
        index = self._by_code.get(code)
        return None if index is None else self.areas[index]

    def geometry(self, code: str) -> BaseGeometry:
        """The boundary of an area (for maps and for checks); ``KeyError`` for an unknown code."""
        return self._shapes[self._by_code[code]]

    def by_agency(self, agency_code: str) -> list[Area]:
        return [area for area in self.areas if area.agency_code == agency_code]

    def contains_province(self, lat: float, lon: float) -> bool:
        """Is the point inside the province, its boundary included?"""
        point = _point(lat, lon)
        return point is not None and bool(self._province_shape.covers(point))

    def locate(self, lat: float, lon: float) -> Area | None:
        """The area containing the point; ``None`` outside the province.

        A point on a border shared by two areas goes to the one with the smallest code, so the same report is
        always routed the same way. A point inside the province that no area covers (a gap in imperfect boundary
        data) goes to the nearest area: every report inside the province has someone to answer it.
        """
        point = _point(lat, lon)
        if point is None or not self._province_shape.covers(point):
            return None
        candidates = sorted(int(i) for i in self._tree.query(point))
        covering = [i for i in candidates if self._shapes[i].covers(point)]
        inside = [i for i in covering if self._shapes[i].contains_properly(point)]
        if inside or covering:
            return self.areas[(inside or covering)[0]]
        nearest = self._tree.nearest(point)
        return None if nearest is None else self.areas[int(nearest)]


def _point(lat: float, lon: float) -> Point | None:
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return None
    return Point(lon, lat)  # GeoJSON order: x is the longitude


@functools.cache
def demo_area_index() -> AreaIndex:
    """The areas of the demo province (``EGOV_DEMO_DATA=1``), loaded once."""
    return AreaIndex.from_geojson(json.loads(DEMO_GEOJSON.read_text(encoding="utf-8")))
