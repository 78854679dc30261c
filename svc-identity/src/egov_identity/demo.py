"""Demo data (``EGOV_DEMO_DATA=1``): the demo province, its agencies, accounts and clients of DESIGN §9.

Seeded on start, idempotently: what exists already is left as it is. Refused in production (settings).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

from sqlalchemy import select

from egov_identity.agencies.models import Agency
from egov_identity.agencies.service import create_agency
from egov_identity.clients.models import OAuthClient
from egov_identity.clients.service import create_client
from egov_identity.config import DEMO_TOTP_SECRET
from egov_identity.people.models import Official
from egov_identity.people.service import create_official, find_citizen_by_id_number, register_citizen
from egov_identity.vault import Vault
from egov_shared.identifiers import Sex
from egov_shared.uow import UnitOfWork

log = logging.getLogger(__name__)

GEOJSON = Path(__file__).parent / "seed" / "demo-province.geojson"
PROVINCE = "000.00.00.H27"
PASSWORD = "Demo@12345"

DEPARTMENTS = [
    ("000.00.01.H27", "Văn phòng Ủy ban nhân dân tỉnh"),
    ("000.00.10.H27", "Sở Tư pháp"),
    ("000.00.11.H27", "Sở Xây dựng"),
    ("000.00.12.H27", "Sở Kế hoạch và Đầu tư"),
    ("000.00.13.H27", "Sở Tài nguyên và Môi trường"),
]

CITIZENS: list[tuple[str, str, dt.date, Sex, int, str, str]] = [
    ("001099012345", "Nguyễn Văn An", dt.date(1999, 5, 12), "male", 2, "0912345678", "an.nguyen@example.vn"),
    ("079203001234", "Trần Minh Khoa", dt.date(2003, 8, 30), "male", 1, "0987654321", "khoa.tran@example.vn"),
]

OFFICIALS = [
    ("motcua.h27", "Lê Thị Hoa", ["receiver"]),
    ("chuyenvien.h27", "Phạm Quốc Bảo", ["processor", "document_clerk", "feedback_handler"]),
    ("lanhdao.h27", "Hoàng Văn Dũng", ["approver", "signer"]),
    ("ketoan.h27", "Vũ Thị Lan", ["finance"]),
    ("quantri.h27", "Đỗ Minh Tuấn", ["admin"]),
]


def province_agencies() -> list[tuple[str, str, str, str | None]]:
    """(code, name, kind, parent) for the province, its departments and the communes and wards of the map."""
    features = json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]
    province = next(f["properties"] for f in features if f["properties"]["kind"] == "province")
    name = "Ủy ban nhân dân " + province["name"].replace("Tỉnh", "tỉnh")
    rows: list[tuple[str, str, str, str | None]] = [(province["agency_code"], name, "province", None)]
    rows += [(code, dept, "department", PROVINCE) for code, dept in DEPARTMENTS]
    for feature in features:
        props = feature["properties"]
        if props["kind"] == "province":
            continue
        kind = "ward" if props["name"].startswith("Phường") else "commune"
        rows.append(
            (props["agency_code"], "Ủy ban nhân dân " + props["name"].lower().capitalize(), kind, PROVINCE)
        )
    return rows


async def seed(uow: UnitOfWork, vault: Vault) -> None:
    async with uow:
        existing = set((await uow.session.scalars(select(Agency.code))).all())
        for code, name, kind, parent in province_agencies():
            if code not in existing:
                await create_agency(uow, code=code, name=name, kind=kind, parent_code=parent, commit=False)
        for id_number, full_name, born, sex, level, phone, email in CITIZENS:
            if await find_citizen_by_id_number(uow.session, vault, id_number) is None:
                await register_citizen(
                    uow,
                    vault,
                    id_number=id_number,
                    full_name=full_name,
                    date_of_birth=born,
                    sex=sex,
                    password=PASSWORD,
                    phone=phone,
                    email=email,
                    assurance_level=level,
                    commit=False,
                )
        usernames = set((await uow.session.scalars(select(Official.username))).all())
        for username, full_name, roles in OFFICIALS:
            if username not in usernames:
                await create_official(
                    uow,
                    vault,
                    username=username,
                    full_name=full_name,
                    agency_code=PROVINCE,
                    roles=roles,
                    password=PASSWORD,
                    totp_secret=DEMO_TOTP_SECRET,
                    commit=False,
                )
        if await uow.session.get(OAuthClient, "demo-web") is None:
            await create_client(
                uow,
                client_id="demo-web",
                name="Cổng dịch vụ công (ứng dụng web/di động demo)",
                confidential=False,
                redirect_uris=["http://localhost:3000/callback"],
                allowed_scopes=["openid", "profile", "email", "phone"],
                commit=False,
            )
        if await uow.session.get(OAuthClient, "demo-partner") is None:
            await create_client(
                uow,
                client_id="demo-partner",
                name="Cơ quan đối tác (demo)",
                confidential=True,
                allowed_scopes=["open311", "documents.exchange"],
                secret="demo-partner-secret",
                commit=False,
            )
        if await uow.session.get(OAuthClient, "svc-payment") is None:
            # svc-payment's own client: it signs electronic receipts as the agency through svc-document.
            await create_client(
                uow,
                client_id="svc-payment",
                name="Dịch vụ thanh toán (svc-payment)",
                confidential=True,
                allowed_scopes=["documents.sign"],
                secret="demo-svc-payment-secret",
                commit=False,
            )
        await uow.commit()
    log.info("demo data ready")
