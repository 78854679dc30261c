"""Demo data (``EGOV_DEMO_DATA=1``): the demo Open311 partner's key, and a few answered reports for the feed.

Categories and areas are static reference data. Seeded idempotently: the partner once per key, the sample
reports only into an empty database. The samples are hotline reports (no citizen account behind them).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from egov_feedback.config import Settings
from egov_feedback.partners.service import register_partner
from egov_feedback.reference.areas import AreaIndex
from egov_feedback.reports import service
from egov_feedback.reports.models import Report, ReportHistory
from egov_feedback.reports.rules import Status
from egov_shared.contracts.feedback import FeedbackResolved
from egov_shared.runtime import ServiceRuntime

DEMO_PARTNER = "Đối tác Open311 thử nghiệm"

# (category, title, description, lat, lon, address, answer)
SAMPLES: tuple[tuple[str, str, str, float, float, str, str], ...] = (
    (
        "GT01",
        "Ổ gà lớn trước cổng chợ Lim",
        "Mặt đường trước cổng chợ có ổ gà sâu khoảng 20 cm, xe máy đi qua dễ ngã, nhất là khi trời mưa.",
        21.045,
        105.97625,
        "Đường Lý Thường Kiệt, xã Tiên Du",
        "Ủy ban nhân dân xã đã cho vá ổ gà bằng bê tông nhựa ngày hôm qua. Cảm ơn người dân đã phản ánh.",
    ),
    (
        "MT01",
        "Rác tồn đọng ba ngày ở ngõ 12",
        "Rác sinh hoạt ở đầu ngõ 12 không được thu gom ba ngày liền, bốc mùi và thu hút ruồi muỗi.",
        21.03111,
        106.105,
        "Ngõ 12 đường Nguyễn Văn Cừ, phường Quế Võ",
        "Đơn vị thu gom đã dọn sạch điểm rác và bổ sung chuyến thu gom buổi tối từ tuần này.",
    ),
    (
        "GT05",
        "Đèn đường không sáng đoạn gần trường tiểu học",
        "Khoảng năm cột đèn liền nhau không sáng, đoạn đường rất tối, học sinh học thêm buổi tối đi lại nguy hiểm.",
        21.105,
        105.97125,
        "Đường Minh Khai, phường Từ Sơn",
        "Công ty chiếu sáng đã thay bóng và sửa tủ điện; toàn bộ đèn đã sáng trở lại.",
    ),
    (
        "DT01",
        "Quán nước lấn chiếm vỉa hè",
        "Quán nước bày bàn ghế kín vỉa hè, người đi bộ phải xuống lòng đường, nhất là giờ tan tầm.",
        21.12,
        106.105,
        "Đường Ngô Gia Tự, phường Kinh Bắc",
        "Tổ trật tự đô thị phường đã nhắc nhở, lập biên bản và yêu cầu chủ quán thu dọn; sẽ kiểm tra định kỳ.",
    ),
)


async def seed(runtime: ServiceRuntime, settings: Settings, areas: AreaIndex, now: dt.datetime) -> None:
    async with runtime.new_uow() as uow:
        await register_partner(uow, DEMO_PARTNER, api_key=settings.demo_open311_key, commit=False)
        await uow.commit()
        if await uow.session.scalar(select(func.count()).select_from(Report)):
            return
    for index, (category, title, description, lat, lon, address, answer) in enumerate(SAMPLES):
        received = now - dt.timedelta(days=20 - index * 3)
        async with runtime.new_uow() as uow:
            report, _ = await service.submit(
                uow,
                service.Submission(
                    title=title,
                    description=description,
                    category_code=category,
                    channel="hotline",
                    reporter_kind="staff",
                    lat=lat,
                    lon=lon,
                    address=address,
                    anonymous=True,
                ),
                now=received,
                areas=areas,
            )
            resolved = received + dt.timedelta(days=2)
            report.status = Status.RESOLVED.value
            report.accepted_at = received + dt.timedelta(hours=2)
            report.answer, report.resolved_at, report.handled_at = answer, resolved, resolved
            report.stage_due_at, report.updated_at = None, resolved
            uow.session.add(
                ReportHistory(
                    report_id=report.id,
                    action="resolve",
                    from_status=Status.SUBMITTED.value,
                    to_status=Status.RESOLVED.value,
                    actor_kind="system",
                    actor_id=None,
                    agency_code=report.agency_code,
                    note=answer,
                    public=True,
                    details={"demo": True},
                    created_at=resolved,
                )
            )
            uow.publish(
                FeedbackResolved(
                    report_id=report.id,
                    code=report.code,
                    category_code=report.category_code,
                    agency_code=report.agency_code,
                    due_at=report.due_at,
                    resolved_at=resolved,
                    on_time=resolved <= report.due_at,
                ),
                subject=str(report.id),
            )
            await uow.commit()
