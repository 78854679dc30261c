"""Distances on the ground, for duplicate suggestions ("open reports of the same category within 50 m")."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
DUPLICATE_RADIUS_M = 50.0


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres; at 50 m its error is far below a phone's GPS error."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class Box:
    """A latitude/longitude box that contains every point within ``radius_m`` of its centre (for an index scan)."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


def box_around(lat: float, lon: float, radius_m: float) -> Box:
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    # Widen a little: the exact filter is the haversine distance, the box only narrows the scan.
    dlon = math.degrees(radius_m / (EARTH_RADIUS_M * max(math.cos(math.radians(lat)), 1e-6)))
    margin = 1.01
    return Box(lat - dlat * margin, lat + dlat * margin, lon - dlon * margin, lon + dlon * margin)


def offset(lat: float, lon: float, *, north_m: float = 0.0, east_m: float = 0.0) -> tuple[float, float]:
    """The point ``north_m`` north and ``east_m`` east of (lat, lon) (tests place points at known distances)."""
    new_lat = lat + math.degrees(north_m / EARTH_RADIUS_M)
    new_lon = lon + math.degrees(east_m / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return new_lat, new_lon
