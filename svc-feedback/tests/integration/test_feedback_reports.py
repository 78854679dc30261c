"""Reports through HTTP on both backends: routing, bad input, duplicates, supports, privacy, the lifecycle with
If-Match, reopening, moderation, events, abuse limits, the public feed and statistics."""

from __future__ import annotations

import datetime as dt
import uuid

from feedback_harness import (
    CONSTRUCTION,
    IN_QUE_VO,
    IN_TIEN_DU,
    OUTSIDE,
    PROVINCE,
    QUE_VO,
    TIEN_DU,
    FeedbackService,
    at,
    feedback_service,
)
from sqlalchemy import select

from egov_feedback.geo import offset
from egov_feedback.reports.models import ReportSupport
from egov_shared import tables
from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.testing.backends import BusConfig
from egov_shared.testing.waiting import eventually

ADMIN_ROLES = ("admin",)


async def test_reports_are_routed_by_category_and_place(feedback: FeedbackService) -> None:
    citizen = feedback.citizen()
    commune = await feedback.submitted(citizen)  # GT01 is handled by the commune or ward
    assert (commune["agency_code"], commune["area_code"], commune["routing_reason"]) == (
        TIEN_DU,
        "10300",
        "commune",
    )
    assert commune["area_name"] == "Xã Tiên Du"
    ward = await feedback.submitted(citizen, at=IN_QUE_VO)
    assert (ward["agency_code"], ward["area_code"]) == (QUE_VO, "10301")
    department = await feedback.submitted(citizen, category_code="GT02", attributes={})
    assert (department["agency_code"], department["area_code"], department["routing_reason"]) == (
        CONSTRUCTION,
        "10300",
        "department",
    )
    unlocated = await feedback.submitted(citizen, lat=None, lon=None, address="Chợ Lim, Tiên Du")
    assert (unlocated["agency_code"], unlocated["routing_reason"]) == (PROVINCE, "unlocated")
    assert commune["due_at"] > commune["stage_due_at"]

    # An administrator's override wins for new reports of that category and area.
    admin = feedback.handler(roles=ADMIN_ROLES, subject="admin-1")
    put = await feedback.client.put(
        "/api/v1/feedback/routing-overrides/GT01/10300",
        json={"agency_code": CONSTRUCTION, "note": "Đường tỉnh lộ qua xã"},
        headers=admin,
    )
    assert put.status_code == 200, put.text
    overridden = await feedback.submitted(citizen)
    assert (overridden["agency_code"], overridden["routing_reason"]) == (CONSTRUCTION, "override")
    assert (await feedback.client.get("/api/v1/feedback/routing-overrides", headers=admin)).json()[0][
        "agency_code"
    ] == CONSTRUCTION
    bad = await feedback.client.put(
        "/api/v1/feedback/routing-overrides/XX99/99999", json={"agency_code": "000.99.99.H27"}, headers=admin
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"category_code", "area_code", "agency_code"}
    forbidden = await feedback.client.get("/api/v1/feedback/routing-overrides", headers=feedback.handler())
    assert forbidden.status_code == 403
    deleted = await feedback.client.delete("/api/v1/feedback/routing-overrides/GT01/10300", headers=admin)
    assert deleted.status_code == 204
    assert (await feedback.submitted(citizen))["agency_code"] == TIEN_DU


async def test_unknown_category_or_a_place_outside_the_province_is_422(feedback: FeedbackService) -> None:
    citizen = feedback.citizen()
    unknown = await feedback.submit(citizen, category_code="ZZ99")
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["code"] == "feedback.unknown_category"
    outside = await feedback.submit(citizen, at=OUTSIDE)
    assert outside.status_code == 422
    assert outside.json()["code"] == "feedback.outside_province"
    unlocated = await feedback.submit(citizen, lat=None, lon=None)
    assert unlocated.status_code == 422
    attributes = await feedback.submit(citizen, attributes={"KICH_THUOC": "khong-co"})
    assert attributes.status_code == 422
    assert attributes.json()["code"] == "feedback.invalid_attributes"
    hotline_by_citizen = await feedback.submit(citizen, channel="hotline")
    assert hotline_by_citizen.status_code == 403
    partner = await feedback.submit(feedback.auth(feedback.issuer.client()))
    assert partner.status_code == 403


async def test_duplicates_are_suggested_within_50_metres(feedback: FeedbackService) -> None:
    first = await feedback.submitted(feedback.citizen("a"))
    near = offset(*IN_TIEN_DU, north_m=49)
    response = await feedback.submit(feedback.citizen("b"), at=near)
    assert [d["code"] for d in response.json()["possible_duplicates"]] == [first["code"]]
    assert "contact" not in response.json()["possible_duplicates"][0]
    far = offset(*IN_TIEN_DU, north_m=-51)
    response = await feedback.submit(feedback.citizen("c"), at=far)
    assert response.json()["possible_duplicates"] == []
    other_category = await feedback.submit(
        feedback.citizen("d"), at=IN_TIEN_DU, category_code="MT01", attributes={}
    )
    assert other_category.json()["possible_duplicates"] == []
    # A private report is never suggested to someone else.
    hidden = await feedback.submitted(
        feedback.citizen("e"), category_code="MT01", attributes={}, private=True
    )
    again = await feedback.submit(feedback.citizen("f"), category_code="MT01", attributes={})
    assert hidden["code"] not in [d["code"] for d in again.json()["possible_duplicates"]]


async def test_me_too_counts_once_per_citizen(feedback: FeedbackService) -> None:
    report = await feedback.submitted(feedback.citizen("owner"))
    url = f"/api/v1/feedback/reports/{report['id']}/support"
    first = await feedback.client.post(url, headers=feedback.citizen("neighbour"))
    assert first.json() == {"report_id": report["id"], "support_count": 1, "added": True}
    second = await feedback.client.post(url, headers=feedback.citizen("neighbour"))
    assert second.json()["support_count"] == 1
    assert second.json()["added"] is False
    third = await feedback.client.post(url, headers=feedback.citizen("another"))
    assert third.json()["support_count"] == 2
    own = await feedback.client.post(url, headers=feedback.citizen("owner"))
    assert own.status_code == 422
    async with feedback.runtime.sessionmaker() as session:
        assert len((await session.scalars(select(ReportSupport))).all()) == 2


async def test_a_private_report_is_404_to_another_citizen(feedback: FeedbackService) -> None:
    owner = feedback.citizen("owner")
    private = await feedback.submitted(owner, private=True)
    url = f"/api/v1/feedback/reports/{private['id']}"
    assert (await feedback.client.get(url, headers=owner)).status_code == 200
    stranger = await feedback.client.get(url, headers=feedback.citizen("stranger"))
    assert stranger.status_code == 404
    assert stranger.json()["code"] == "feedback.report_not_found"
    assert (
        await feedback.client.get(f"{url}/history", headers=feedback.citizen("stranger"))
    ).status_code == 404
    assert (await feedback.client.get(url, headers=feedback.handler(agency=CONSTRUCTION))).status_code == 404
    assert (await feedback.client.get(url, headers=feedback.handler(agency=TIEN_DU))).status_code == 200
    assert (await feedback.client.get(url)).status_code == 401

    # A public, anonymous report: others see it without the name or any personal detail.
    anonymous = await feedback.submitted(owner, anonymous=True)
    seen = await feedback.client.get(
        f"/api/v1/feedback/reports/{anonymous['id']}", headers=feedback.citizen("x")
    )
    assert seen.status_code == 200
    body = seen.json()
    assert body["reporter_name"] is None
    assert "reporter_kind" not in body
    assert "file_ids" not in body
    named = await feedback.submitted(owner)
    seen_named = await feedback.client.get(
        f"/api/v1/feedback/reports/{named['id']}", headers=feedback.citizen("x")
    )
    assert seen_named.json()["reporter_name"] == "Nguyễn Văn An"
    staff = await feedback.client.get(
        f"/api/v1/feedback/reports/{anonymous['id']}", headers=feedback.handler()
    )
    assert staff.json()["reporter_name"] == "Nguyễn Văn An"  # kept for the agency


async def test_actions_need_if_match_a_role_and_the_agency(feedback: FeedbackService) -> None:
    report = await feedback.submitted(feedback.citizen())
    url = f"/api/v1/feedback/reports/{report['id']}/accept"
    handler = feedback.handler(agency=TIEN_DU)
    missing = await feedback.client.post(url, json={}, headers=handler)
    assert missing.status_code == 428
    stale = await feedback.client.post(url, json={}, headers={**handler, "If-Match": '"7"'})
    assert stale.status_code == 412
    citizen = await feedback.act(feedback.citizen(), report, "accept")
    assert citizen.status_code == 403
    no_role = await feedback.act(feedback.handler(agency=TIEN_DU, roles=("receiver",)), report, "accept")
    assert no_role.status_code == 403
    other_agency = await feedback.act(feedback.handler(agency=QUE_VO), report, "accept")
    assert other_agency.status_code == 403
    accepted = await feedback.act(handler, report, "accept")
    assert accepted.status_code == 200
    assert accepted.headers["etag"] == f'"{accepted.json()["version"]}"'
    illegal = await feedback.act(handler, accepted.json(), "accept")
    assert illegal.status_code == 409
    problem = illegal.json()
    assert problem["code"] == "feedback.invalid_transition"
    assert problem["report_status"] == "accepted"
    assert problem["allowed_actions"] == [
        "refuse",
        "assign",
        "transfer",
        "request_supplement",
        "resolve",
        "merge",
    ]
    # The province's handler acts on the commune's report (an agency above it).
    assigned = await feedback.acted(
        feedback.handler(), accepted.json(), "assign", handler_id="h-2", handler_name="B"
    )
    assert assigned["status"] == "assigned"
    assert assigned["handler_id"] == "h-2"


async def test_the_whole_lifecycle_with_supplementation_transfer_and_merge(feedback: FeedbackService) -> None:
    feedback.clock.set(at(2026, 3, 2))
    citizen = feedback.citizen()
    handler = feedback.handler()
    report = await feedback.submitted(citizen)
    report = await feedback.acted(handler, report, "accept")
    assert report["accepted_at"] is not None
    report = await feedback.acted(handler, report, "request_supplement", note="Xin gửi thêm ảnh chụp gần.")
    assert report["status"] == "supplement_requested"
    assert report["status_note"] == "Xin gửi thêm ảnh chụp gần."
    assert report["allowed_actions"] == ["merge"]
    due_before = report["due_at"]
    feedback.clock.set(at(2026, 3, 5))  # 3 working days later
    mine = await feedback.client.get(f"/api/v1/feedback/reports/{report['id']}", headers=citizen)
    assert mine.json()["allowed_actions"] == ["supplement"]
    report = await feedback.acted(citizen, mine.json(), "supplement", note="Ảnh đã gửi kèm.")
    assert report["status"] == "accepted"
    assert report["due_at"] > due_before
    report = await feedback.acted(
        handler, report, "transfer", agency_code=CONSTRUCTION, note="Thuộc thẩm quyền Sở Xây dựng."
    )
    assert (report["status"], report["agency_code"]) == ("submitted", CONSTRUCTION)
    unknown_agency = await feedback.act(handler, report, "transfer", agency_code="000.99.99.H27", note="x")
    assert unknown_agency.status_code == 422

    original = await feedback.submitted(feedback.citizen("first"))
    copy = await feedback.submitted(feedback.citizen("second"))
    merged = await feedback.acted(handler, copy, "merge", duplicate_of=original["id"])
    assert (merged["status"], merged["duplicate_of"]) == ("duplicate", original["id"])
    again = await feedback.client.get(f"/api/v1/feedback/reports/{original['id']}", headers=handler)
    assert again.json()["support_count"] == 1  # the duplicate's reporter supports the original

    refused = await feedback.acted(
        handler,
        await feedback.submitted(citizen),
        "refuse",
        note="Nội dung xúc phạm.",
        refusal_kind="abusive",
    )
    assert (refused["status"], refused["refusal_kind"]) == ("refused", "abusive")

    history = await feedback.client.get(f"/api/v1/feedback/reports/{report['id']}/history", headers=citizen)
    assert [h["action"] for h in history.json()] == [
        "submit",
        "accept",
        "request_supplement",
        "supplement",
        "transfer",
    ]
    queue = await feedback.client.get(
        "/api/v1/feedback/reports", params={"status": "submitted"}, headers=handler
    )
    assert report["id"] in [r["id"] for r in queue.json()["items"]]
    commune_queue = await feedback.client.get(
        "/api/v1/feedback/reports", headers=feedback.handler(agency=TIEN_DU)
    )
    assert report["id"] not in [r["id"] for r in commune_queue.json()["items"]]  # transferred away
    own = await feedback.client.get("/api/v1/feedback/reports", params={"limit": 1}, headers=citizen)
    assert len(own.json()["items"]) == 1
    rest = await feedback.client.get(
        "/api/v1/feedback/reports", params={"cursor": own.json()["next_cursor"]}, headers=citizen
    )
    assert len(rest.json()["items"]) == 1  # the citizen's two reports, one per page
    assert rest.json()["next_cursor"] is None
    assert rest.json()["items"][0]["id"] != own.json()["items"][0]["id"]


async def test_the_reporter_reopens_within_ten_days_of_the_answer(feedback: FeedbackService) -> None:
    feedback.clock.set(at(2026, 4, 1))
    citizen, handler = feedback.citizen(), feedback.handler()
    report = await feedback.acted(handler, await feedback.submitted(citizen), "accept")
    report = await feedback.acted(handler, report, "resolve", note="Đã vá đường.")
    assert report["reopen_until"] is not None
    feedback.clock.advance(dt.timedelta(days=10) - dt.timedelta(minutes=1))
    reopened = await feedback.acted(citizen, report, "reopen", note="Ổ gà lại xuất hiện.")
    assert (reopened["status"], reopened["reopen_count"]) == ("accepted", 1)
    resolved = await feedback.acted(handler, reopened, "resolve", note="Đã làm lại mặt đường.")
    feedback.clock.advance(dt.timedelta(days=10, minutes=1))
    late = await feedback.act(citizen, resolved, "reopen", note="Vẫn hỏng.")
    assert late.status_code == 409
    assert late.json()["code"] == "feedback.reopen_window_closed"
    assert late.json()["allowed_actions"] == ["rate"]
    rated = await feedback.acted(citizen, resolved, "rate", rating=2, comment="Chậm.")
    assert (rated["status"], rated["rating"]) == ("closed", 2)


async def test_moderation_keeps_the_original_and_logs_every_edit(feedback: FeedbackService) -> None:
    citizen = feedback.citizen()
    report = await feedback.submitted(citizen, title="Ổ gà, bọn cán bộ lười biếng!!!")
    url = f"/api/v1/feedback/reports/{report['id']}"
    edit = {"title": "Ổ gà trước nhà văn hoá thôn", "reason": "Bỏ từ ngữ xúc phạm."}
    assert (await feedback.client.patch(url, json=edit, headers=feedback.handler())).status_code == 428
    by_citizen = await feedback.client.patch(url, json=edit, headers={**citizen, "If-Match": '"1"'})
    assert by_citizen.status_code == 403
    moderated = await feedback.client.patch(url, json=edit, headers={**feedback.handler(), "If-Match": '"1"'})
    assert moderated.status_code == 200, moderated.text
    body = moderated.json()
    assert body["title"] == "Ổ gà trước nhà văn hoá thôn"
    assert body["original_title"] == "Ổ gà, bọn cán bộ lười biếng!!!"
    staff_history = (await feedback.client.get(f"{url}/history", headers=feedback.handler())).json()
    edits = [h for h in staff_history if h["action"] == "moderate"]
    assert len(edits) == 1
    assert edits[0]["details"] == {"field": "title", "before": report["title"], "after": body["title"]}
    assert edits[0]["note"] == "Bỏ từ ngữ xúc phạm."
    citizen_history = (await feedback.client.get(f"{url}/history", headers=citizen)).json()
    assert "moderate" not in [h["action"] for h in citizen_history]


async def test_events_are_published_once(feedback: FeedbackService) -> None:
    citizen = feedback.citizen()
    key = {"Idempotency-Key": "bao-cao-1"}
    first = await feedback.submit({**citizen, **key})
    replay = await feedback.submit({**citizen, **key})
    assert first.status_code == replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["report"]["id"] == first.json()["report"]["id"]
    report = first.json()["report"]
    submitted = [e for e in await feedback.outbox("feedback.submitted") if e["report_id"] == report["id"]]
    assert len(submitted) == 1
    assert submitted[0]["agency_code"] == TIEN_DU
    assert submitted[0]["code"] == report["code"]
    handler = feedback.handler()
    accepted = await feedback.acted(handler, report, "accept")
    resolved = await feedback.acted(handler, accepted, "resolve", note="Xong.")
    again = await feedback.act(handler, accepted, "resolve", note="Xong.")  # a stale retry
    assert again.status_code == 412
    events = await feedback.outbox("feedback.resolved")
    assert [e["report_id"] for e in events] == [resolved["id"]]
    assert events[0]["on_time"] is True

    async def all_sent() -> bool:
        async with feedback.runtime.sessionmaker() as session:
            unsent = await session.scalars(
                select(tables.outbox.c.id).where(tables.outbox.c.sent_at.is_(None))
            )
            return not unsent.all()

    await eventually(all_sent, what="the relay publishing the outbox")


async def test_anonymous_reports_are_rate_limited_per_citizen(
    database_url: str, bus_config: BusConfig
) -> None:
    async with feedback_service(database_url, bus_config, anonymous_reports_per_window=2) as feedback:
        feedback.clock.set(at(2026, 5, 4, 10))
        citizen = feedback.citizen("spammer")
        for _ in range(2):
            assert (await feedback.submit(citizen, anonymous=True)).status_code == 201
        limited = await feedback.submit(citizen, anonymous=True)
        assert limited.status_code == 429
        assert limited.json()["code"] == "feedback.rate_limited"
        assert 0 < int(limited.headers["retry-after"]) <= 3600
        # Bad input does not count, named reports and other citizens are not limited by it.
        assert (await feedback.submit(citizen, anonymous=True, at=OUTSIDE)).status_code == 422
        assert (await feedback.submit(citizen)).status_code == 201
        assert (await feedback.submit(feedback.citizen("other"), anonymous=True)).status_code == 201
        feedback.clock.advance(dt.timedelta(hours=1))
        assert (await feedback.submit(citizen, anonymous=True)).status_code == 201


async def test_the_public_feed_shows_answered_reports_without_personal_data(
    feedback: FeedbackService,
) -> None:
    handler = feedback.handler()
    answered = await feedback.acted(
        handler,
        await feedback.acted(handler, await feedback.submitted(feedback.citizen()), "accept"),
        "resolve",
        note="Đã vá xong.",
    )
    private = await feedback.submitted(feedback.citizen(), private=True)
    private = await feedback.acted(
        handler, await feedback.acted(handler, private, "accept"), "resolve", note="Xong."
    )
    await feedback.submitted(feedback.citizen())  # still open
    feed = await feedback.client.get("/api/v1/feedback/public/reports")  # no token
    assert feed.status_code == 200
    items = feed.json()["items"]
    assert [i["code"] for i in items] == [answered["code"]]
    item = items[0]
    assert item["reporter_name"] is None
    assert item["answer"] == "Đã vá xong."
    assert (item["lat"], item["lon"]) == IN_TIEN_DU
    for personal in ("reporter_id", "reporter_kind", "contact", "file_ids", "handler_id", "device_id"):
        assert personal not in item
    one = await feedback.client.get(f"/api/v1/feedback/public/reports/{answered['code']}")
    assert one.json()["id"] == answered["id"]
    assert (
        await feedback.client.get(f"/api/v1/feedback/public/reports/{private['code']}")
    ).status_code == 404
    layer = (
        await feedback.client.get("/api/v1/feedback/public/map", params={"category_code": "GT01"})
    ).json()
    assert layer["features"][0]["geometry"] == {
        "type": "Point",
        "coordinates": [IN_TIEN_DU[1], IN_TIEN_DU[0]],
    }
    assert (
        await feedback.client.get("/api/v1/feedback/public/map", params={"bbox": "1,2"})
    ).status_code == 422
    categories = (await feedback.client.get("/api/v1/feedback/public/categories")).json()
    assert len(categories) >= 30
    areas = (await feedback.client.get("/api/v1/feedback/public/areas")).json()
    assert len(areas["features"]) == 9


async def test_statistics_per_agency_and_category(feedback: FeedbackService) -> None:
    feedback.clock.set(at(2026, 6, 1))
    handler = feedback.handler()
    on_time = await feedback.acted(
        handler, await feedback.acted(handler, await feedback.submitted(feedback.citizen("a")), "accept"), "resolve",
        note="Xong.",
    )  # fmt: skip
    await feedback.acted(feedback.citizen("a"), on_time, "rate", rating=1)
    await feedback.submitted(feedback.citizen("b"), at=IN_QUE_VO)
    late_open = await feedback.submitted(feedback.citizen("c"))
    feedback.clock.set(at(2026, 7, 1))  # 22 working days later: the open report is late
    stats = await feedback.client.get(
        "/api/v1/feedback/statistics",
        params={"date_from": "2026-06-01", "date_to": "2026-06-30"},
        headers=handler,
    )
    assert stats.status_code == 200, stats.text
    rows = {r["key"]: r for r in stats.json()["rows"]}
    tien_du = rows[TIEN_DU]
    assert (tien_du["received"], tien_du["handled"], tien_du["on_time"], tien_du["late"]) == (2, 1, 1, 1)
    assert tien_du["handled_rate"] == 0.5
    assert tien_du["on_time_rate"] == 1.0
    assert tien_du["dissatisfied"] == 1
    assert tien_du["satisfaction"] == 0.0  # one dissatisfied, one late
    assert rows[QUE_VO]["satisfaction"] is not None
    assert stats.json()["total"]["received"] == 3
    by_category = await feedback.client.get(
        "/api/v1/feedback/statistics",
        params={"group_by": "category", "date_from": "2026-06-01", "date_to": "2026-06-30"},
        headers=handler,
    )
    assert by_category.json()["rows"][0]["key"] == "GT01"
    assert by_category.json()["rows"][0]["name"] == "Ổ gà, hư hỏng mặt đường"
    commune = await feedback.client.get(
        "/api/v1/feedback/statistics",
        params={"date_from": "2026-06-01", "date_to": "2026-06-30"},
        headers=feedback.handler(agency=QUE_VO),
    )
    assert [r["key"] for r in commune.json()["rows"]] == [QUE_VO]
    assert (
        await feedback.client.get("/api/v1/feedback/statistics", headers=feedback.citizen())
    ).status_code == 403
    assert late_open["id"]


async def test_the_agency_tree_comes_from_identity_events(feedback: FeedbackService) -> None:
    new_ward = "000.40.00.H27"
    report = await feedback.submitted(feedback.citizen())
    handler = feedback.handler()
    report = await feedback.acted(handler, report, "accept")
    refused = await feedback.act(handler, report, "transfer", agency_code=new_ward, note="Phường mới.")
    assert refused.status_code == 422
    await feedback.deliver(
        AgencyUpserted(code=new_ward, name="Ủy ban nhân dân phường Mới", kind="ward", parent_code=PROVINCE)
    )

    async def replicated() -> bool:
        response = await feedback.act(handler, report, "transfer", agency_code=new_ward, note="Phường mới.")
        return response.status_code == 200

    await eventually(replicated, what="the agency replicated from identity.agency_upserted")
    moved = await feedback.client.get(f"/api/v1/feedback/reports/{report['id']}", headers=handler)
    assert moved.json()["agency_name"] == "Ủy ban nhân dân phường Mới"
    assert uuid.UUID(moved.json()["id"])
