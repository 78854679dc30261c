"""The procedure catalogue through HTTP on both backends."""

from __future__ import annotations

from typing import Any

import pytest
from dossier_harness import DossierService

from egov_dossier.demo import PROCEDURES


async def names(dossiers: DossierService, **params: Any) -> list[str]:
    response = await dossiers.client.get("/api/v1/procedures", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    return [p["name"] for p in response.json()["items"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("khai sinh", ["Đăng ký khai sinh"]),
        ("Khai Sinh", ["Đăng ký khai sinh"]),
        ("KHAI SINH", ["Đăng ký khai sinh"]),
        ("đăng ký khai sinh", ["Đăng ký khai sinh"]),
        ("ly lich tu phap", ["Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam"]),
        ("1.001193", ["Đăng ký khai sinh"]),
    ],
)
async def test_search_is_accent_insensitive(
    dossiers: DossierService, query: str, expected: list[str]
) -> None:
    assert await names(dossiers, q=query) == expected


async def test_the_demo_catalogue_is_seeded_and_filters_work(dossiers: DossierService) -> None:
    everything = await names(dossiers)
    assert len(everything) == len(PROCEDURES) == 20
    assert sorted(await names(dossiers, q="ho kinh doanh")) == [
        "Đăng ký thay đổi nội dung đăng ký hộ kinh doanh",
        "Đăng ký thành lập hộ kinh doanh",
    ]
    full = await names(dossiers, online_class="full")
    partial = await names(dossiers, online_class="partial")
    assert len(full) + len(partial) == 20
    assert "Đăng ký kết hôn" in partial
    assert await names(dossiers, field="Lý lịch tư pháp") == [
        "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam"
    ]
    assert len(await names(dossiers, agency_code="000.00.11.H27")) == 2
    assert await names(dossiers, q="khong co thu tuc nao nhu vay") == []


async def test_pages_follow_the_cursor(dossiers: DossierService) -> None:
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 6}
        if cursor:
            params["cursor"] = cursor
        page = (await dossiers.client.get("/api/v1/procedures", params=params)).json()
        seen += [p["code"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 20
    assert seen == sorted(seen)
    bad = await dossiers.client.get("/api/v1/procedures", params={"cursor": "!!"})
    assert bad.status_code == 422


async def test_a_procedure_shows_fees_components_and_etag(dossiers: DossierService) -> None:
    response = await dossiers.client.get("/api/v1/procedures/1.012616.000.00.00.H27")
    body = response.json()
    assert body["total_fee_vnd"] == 528_000
    assert body["fee_stage"] == "result"
    assert [c["mandatory"] for c in body["components"]][:2] == [True, True]
    assert response.headers["etag"] == '"1"'
    assert (await dossiers.client.get("/api/v1/procedures/9.999999.000.00.00.H27")).status_code == 404


async def test_only_administrators_change_the_catalogue(dossiers: DossierService) -> None:
    new = {
        "code": "1.000001.000.00.00.H27",
        "name": "Thủ tục thử nghiệm",
        "field": "Thử nghiệm",
        "level": "province",
        "agency_code": "000.00.00.H27",
        "online_class": "full",
        "processing_time": 5,
        "fees": [{"kind": "le_phi", "name": "Lệ phí", "amount_vnd": 10_000}],
        "fee_stage": "submission",
        "components": [{"code": "don", "name": "Đơn", "mandatory": True}],
        "result_type": "Văn bản",
    }
    assert (await dossiers.client.post("/api/v1/procedures", json=new)).status_code == 401
    clerk = dossiers.issuer.official(roles=["receiver"])
    assert (
        await dossiers.client.post("/api/v1/procedures", json=new, headers=dossiers.auth(clerk))
    ).status_code == 403
    admin = dossiers.issuer.official(roles=["admin"])
    created = await dossiers.client.post("/api/v1/procedures", json=new, headers=dossiers.auth(admin))
    assert created.status_code == 201, created.text
    assert await names(dossiers, q="thu nghiem") == ["Thủ tục thử nghiệm"]

    free_but_staged = {**new, "code": "1.000002.000.00.00.H27", "fees": []}
    refused = await dossiers.client.post(
        "/api/v1/procedures", json=free_but_staged, headers=dossiers.auth(admin)
    )
    assert refused.status_code == 422
    negative = {
        **new,
        "code": "1.000003.000.00.00.H27",
        "fees": [{"kind": "phi", "name": "x", "amount_vnd": -5}],
    }
    assert (
        await dossiers.client.post("/api/v1/procedures", json=negative, headers=dossiers.auth(admin))
    ).status_code == 422

    update = {k: v for k, v in new.items() if k != "code"} | {"name": "Thủ tục đã đổi tên", "active": True}
    url = "/api/v1/procedures/1.000001.000.00.00.H27"
    assert (await dossiers.client.put(url, json=update, headers=dossiers.auth(admin))).status_code == 428
    changed = await dossiers.client.put(url, json=update, headers={**dossiers.auth(admin), "If-Match": '"1"'})
    assert changed.status_code == 200
    assert changed.json()["version"] == 2
    assert await names(dossiers, q="doi ten") == ["Thủ tục đã đổi tên"]
