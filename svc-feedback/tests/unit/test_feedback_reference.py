"""Reference data of svc-feedback: areas located with real geometry, the category catalogue, routing rules."""

from __future__ import annotations

import json
import math
import unicodedata
from itertools import combinations
from typing import Any

import pytest
from shapely.geometry import shape

from egov_feedback.reference.areas import DEMO_GEOJSON, AreaIndex, demo_area_index
from egov_feedback.reference.categories import (
    CATEGORIES,
    COMMUNE,
    DEFAULT_SLA_DAYS,
    DEPARTMENTS,
    LIST_DATATYPES,
    Category,
    get_category,
)
from egov_feedback.reference.routing import OutsideProvince, UnknownCategory, route

GEOJSON: dict[str, Any] = json.loads(DEMO_GEOJSON.read_text(encoding="utf-8"))
PROVINCE_FEATURE = next(f for f in GEOJSON["features"] if f["properties"]["kind"] == "province")
AREA_FEATURES = [f for f in GEOJSON["features"] if f["properties"]["kind"] != "province"]
HANOI = (21.0285, 105.8542)


def inside(feature: dict[str, Any]) -> tuple[float, float]:
    """A point surely inside the feature's polygon, as (lat, lon)."""
    point = shape(feature["geometry"]).representative_point()
    return point.y, point.x


def area_feature(code: str) -> dict[str, Any]:
    return next(f for f in AREA_FEATURES if f["properties"]["code"] == code)


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def feature(kind: str, code: str, name: str, agency: str, geometry: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"kind": kind, "code": code, "name": name, "agency_code": agency},
        "geometry": geometry,
    }


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


# --- areas ------------------------------------------------------------------------------------------------------


def test_the_demo_province_has_nine_communes_and_wards() -> None:
    index = demo_area_index()
    assert index.province.agency_code == "000.00.00.H27"
    assert len(index.areas) == 9 == len(AREA_FEATURES)
    assert {a.code for a in index.areas} == {f["properties"]["code"] for f in AREA_FEATURES}


@pytest.mark.parametrize("commune", AREA_FEATURES, ids=lambda f: f["properties"]["code"])
def test_a_point_inside_each_commune_maps_to_its_agency(commune: dict[str, Any]) -> None:
    lat, lon = inside(commune)
    area = demo_area_index().locate(lat, lon)
    assert area is not None
    assert area.code == commune["properties"]["code"]
    assert area.agency_code == commune["properties"]["agency_code"]
    assert area.name == commune["properties"]["name"]
    assert area.kind == ("ward" if area.name.startswith("Phường") else "commune")
    assert demo_area_index().contains_province(lat, lon)


def test_outside_the_province_there_is_no_area() -> None:
    index = demo_area_index()
    assert index.locate(*HANOI) is None
    assert not index.contains_province(*HANOI)
    # Inside the province's bounding box but outside its outline: the south-west corner.
    lat, lon = 20.975, 105.91
    minx, miny, _, _ = shape(PROVINCE_FEATURE["geometry"]).bounds
    assert lon > minx
    assert lat > miny
    assert not shape(PROVINCE_FEATURE["geometry"]).covers(shape({"type": "Point", "coordinates": [lon, lat]}))
    assert index.locate(lat, lon) is None
    assert not index.contains_province(lat, lon)


def test_coordinates_are_latitude_then_longitude() -> None:
    lat, lon = inside(area_feature("10311"))
    index = demo_area_index()
    assert index.locate(lat, lon) is not None
    assert index.locate(lon, lat) is None


@pytest.mark.parametrize(("lat", "lon"), [(math.nan, 106.0), (21.1, math.inf), (91.0, 106.0), (21.1, -181.0)])
def test_impossible_coordinates_are_outside(lat: float, lon: float) -> None:
    assert demo_area_index().locate(lat, lon) is None
    assert not demo_area_index().contains_province(lat, lon)


def shared_borders() -> list[tuple[str, str, tuple[float, float]]]:
    """(code, code, midpoint of their shared border as (lat, lon)) for every pair of neighbours."""
    found = []
    for a, b in combinations(AREA_FEATURES, 2):
        border = shape(a["geometry"]).intersection(shape(b["geometry"]))
        if border.length > 0:
            middle = border.interpolate(0.5, normalized=True)
            found.append((a["properties"]["code"], b["properties"]["code"], (middle.y, middle.x)))
    return found


@pytest.mark.parametrize(("first", "second", "point"), shared_borders())
def test_a_point_on_a_shared_border_goes_to_the_smallest_code_every_time(
    first: str, second: str, point: tuple[float, float]
) -> None:
    covering = {
        f["properties"]["code"]
        for f in AREA_FEATURES
        if shape(f["geometry"]).covers(shape({"type": "Point", "coordinates": [point[1], point[0]]}))
    }
    assert covering == {first, second}
    results = {demo_area_index().locate(*point) for _ in range(3)}
    assert len(results) == 1
    (area,) = results
    assert area is not None
    assert area.code == min(first, second)


def test_the_demo_has_shared_borders_to_check() -> None:
    assert len(shared_borders()) >= 8  # nine areas in a 3x3 layout share at least 12 edges


def test_a_gap_inside_the_province_goes_to_the_nearest_area() -> None:
    index = AreaIndex.from_geojson(
        collection(
            feature("province", "99", "Tỉnh thử", "000.00.00.H99", square(0, 0, 2, 1)),
            feature("commune", "1", "Xã Một", "A1", square(0, 0, 1, 1)),
            feature("commune", "2", "Phường Hai", "A2", square(1.2, 0, 2, 1)),
        )
    )
    near_first, near_second = index.locate(0.5, 1.05), index.locate(0.5, 1.15)
    assert near_first is not None
    assert near_first.code == "1"
    assert near_second is not None
    assert near_second.code == "2"
    assert index.locate(0.5, 2.5) is None
    assert [a.kind for a in index.areas] == ["commune", "ward"]


def test_without_a_province_outline_nothing_loads_and_kinds_are_checked() -> None:
    with pytest.raises(ValueError, match="province"):
        AreaIndex.from_geojson(collection(feature("commune", "1", "Xã Một", "A1", square(0, 0, 1, 1))))
    with pytest.raises(ValueError, match="duplicate"):
        AreaIndex.from_geojson(
            collection(
                feature("province", "99", "Tỉnh", "P", square(0, 0, 2, 1)),
                feature("commune", "1", "Xã Một", "A1", square(0, 0, 1, 1)),
                feature("commune", "1", "Xã Hai", "A2", square(1, 0, 2, 1)),
            )
        )
    with pytest.raises(ValueError, match="agency_code"):
        AreaIndex.from_geojson(
            collection(
                feature("province", "99", "Tỉnh", "P", square(0, 0, 2, 1)),
                feature("commune", "1", "Xã Một", "", square(0, 0, 1, 1)),
            )
        )
    with pytest.raises(ValueError, match="district"):
        AreaIndex.from_geojson(
            collection(
                feature("province", "99", "Tỉnh", "P", square(0, 0, 2, 1)),
                feature("district", "1", "Huyện Một", "A1", square(0, 0, 1, 1)),
            )
        )


def test_special_zones_and_declared_wards_keep_their_kind() -> None:
    index = AreaIndex.from_geojson(
        collection(
            feature("province", "99", "Tỉnh", "P", square(0, 0, 3, 1)),
            feature("commune", "1", "Đặc khu Cồn Cỏ", "A1", square(0, 0, 1, 1)),
            feature("ward", "2", "Hai Bà Trưng", "A2", square(1, 0, 2, 1)),
            feature("commune", "3", "Xã Ba", "A3", square(2, 0, 3, 1)),
        )
    )
    assert [(a.code, a.kind) for a in index.areas] == [("1", "special_zone"), ("2", "ward"), ("3", "commune")]


# --- categories -------------------------------------------------------------------------------------------------


def test_about_thirty_categories_with_unique_codes() -> None:
    codes = [c.code for c in CATEGORIES]
    assert len(codes) == len(set(codes))
    assert 25 <= len(codes) <= 40
    assert all(get_category(code) is not None for code in codes)
    assert get_category("NOPE") is None


@pytest.mark.parametrize("category", CATEGORIES, ids=lambda c: c.code)
def test_every_category_is_complete(category: Category) -> None:
    assert 0 < category.sla_days <= DEFAULT_SLA_DAYS
    assert category.scope == COMMUNE or category.scope in DEPARTMENTS
    assert category.name
    assert category.description
    assert category.group
    assert category.keywords
    for text in (category.name, category.description, category.group, *category.keywords):
        assert unicodedata.is_normalized("NFC", text)
    orders = [a.order for a in category.attributes]
    assert len(orders) == len(set(orders))
    assert all(order > 0 for order in orders)
    assert len({a.code for a in category.attributes}) == len(category.attributes)
    assert category.metadata == bool(category.attributes)
    for attribute in category.attributes:
        keys = [v.key for v in attribute.values]
        if attribute.datatype in LIST_DATATYPES:
            assert keys
            assert len(keys) == len(set(keys))
        else:
            assert keys == []
        assert not (attribute.required and not attribute.variable)


def test_the_catalogue_covers_the_fields_and_every_department() -> None:
    groups = {c.group for c in CATEGORIES}
    for field in ("Giao thông", "Môi trường", "Trật tự đô thị", "Đất đai", "Xây dựng", "Y tế", "Giáo dục"):
        assert field in groups
    assert "Dịch vụ công" in groups
    assert {c.scope for c in CATEGORIES} == {COMMUNE, *DEPARTMENTS}
    datatypes = {a.datatype for c in CATEGORIES for a in c.attributes}
    assert {"singlevaluelist", "multivaluelist", "text", "string", "number", "datetime"} <= datatypes


def test_urgent_categories_have_shorter_deadlines() -> None:
    water, pothole, land = get_category("DN01"), get_category("GT01"), get_category("DD02")
    assert water is not None
    assert pothole is not None
    assert land is not None
    assert 2 <= water.sla_days <= 5
    assert water.sla_days < land.sla_days == DEFAULT_SLA_DAYS
    assert [a.code for a in pothole.attributes][:2] == ["KICH_THUOC", "NGUY_HIEM"]


# --- routing ----------------------------------------------------------------------------------------------------

ROUTES = [
    # (category, area where the report is, expected agency, reason)
    ("GT01", "10300", "000.10.00.H27", "commune"),
    ("GT01", "10322", "000.32.00.H27", "commune"),
    ("MT01", "10311", "000.21.00.H27", "commune"),
    ("MT04", "10301", "000.11.00.H27", "commune"),
    ("DD02", "10300", "000.00.13.H27", "department"),
    ("DD02", "10322", "000.00.13.H27", "department"),
    ("XD02", "10312", "000.00.11.H27", "department"),
    ("DV01", "10320", "000.00.01.H27", "department"),
    ("DV04", "10321", "000.00.10.H27", "department"),
    ("KT01", "10302", "000.00.12.H27", "department"),
]


@pytest.mark.parametrize(("category", "area", "agency", "reason"), ROUTES)
def test_category_and_place_decide_the_agency(category: str, area: str, agency: str, reason: str) -> None:
    routing = route(category, *inside(area_feature(area)), overrides={})
    assert (routing.agency_code, routing.area_code, routing.reason) == (agency, area, reason)


def test_every_commune_scoped_report_goes_to_the_commune_where_it_happens() -> None:
    for f in AREA_FEATURES:
        routing = route("MT05", *inside(f), overrides={})
        assert routing.agency_code == f["properties"]["agency_code"]


def test_a_routing_rule_for_category_and_area_wins() -> None:
    overrides = {("GT01", "10301"): "000.99.01.H27", ("DD02", "10300"): "000.10.00.H27"}
    in_que_vo, in_tien_du = inside(area_feature("10301")), inside(area_feature("10300"))
    assert route("GT01", *in_que_vo, overrides=overrides).agency_code == "000.99.01.H27"
    assert route("GT01", *in_que_vo, overrides=overrides).reason == "override"
    # The rule is for that category in that area only.
    assert route("GT01", *in_tien_du, overrides=overrides).agency_code == "000.10.00.H27"
    assert route("MT01", *in_que_vo, overrides=overrides).agency_code == "000.11.00.H27"
    # A department's category can be handed to a commune too.
    land = route("DD02", *in_tien_du, overrides=overrides)
    assert (land.agency_code, land.reason) == ("000.10.00.H27", "override")
    assert route("DD02", *in_que_vo, overrides=overrides).agency_code == "000.00.13.H27"


@pytest.mark.parametrize("category", ["GT01", "DD02"])
def test_outside_the_province_is_refused_whatever_the_category(category: str) -> None:
    with pytest.raises(OutsideProvince) as refused:
        route(category, *HANOI, overrides={})
    assert refused.value.status == 422
    assert refused.value.code == "feedback.outside_province"


def test_an_unknown_category_is_refused() -> None:
    with pytest.raises(UnknownCategory) as refused:
        route("ZZ99", *inside(area_feature("10300")), overrides={})
    assert refused.value.code == "feedback.unknown_category"


def test_a_report_without_coordinates_goes_to_the_department_or_the_province() -> None:
    local = route("GT01", None, None, overrides={})
    assert (local.agency_code, local.area_code, local.reason) == ("000.00.00.H27", None, "unlocated")
    land = route("DD02", None, None, overrides={})
    assert (land.agency_code, land.area_code, land.reason) == ("000.00.13.H27", None, "department")
    with pytest.raises(ValueError, match="together"):
        route("GT01", 21.1, None, overrides={})


def test_routing_uses_the_boundaries_it_is_given() -> None:
    index = AreaIndex.from_geojson(
        collection(
            feature("province", "99", "Tỉnh thử", "000.00.00.H99", square(0, 0, 2, 1)),
            feature("commune", "1", "Xã Một", "000.01.00.H99", square(0, 0, 1, 1)),
            feature("commune", "2", "Xã Hai", "000.02.00.H99", square(1, 0, 2, 1)),
        )
    )
    assert route("GT01", 0.5, 1.5, overrides={}, areas=index).agency_code == "000.02.00.H99"
    with pytest.raises(OutsideProvince):
        route("GT01", *inside(area_feature("10300")), overrides={}, areas=index)
