"""Dossiers through the gateway with svc-identity and svc-document for real: submission, the actions, the fee
waits, the deadline clock, the public lookup and the guards. Both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
from typing import Any

from dossier_harness import (
    BIRTH,
    BIRTH_PARTS,
    BUILDING,
    BUILDING_PARTS,
    CITIZEN_L1,
    CITIZEN_L2,
    COMMUNE,
    CONSTRUCTION,
    EXTRACT,
    JUDICIAL,
    JUSTICE,
    Desk,
)
from sqlalchemy import select

from egov_document.files.models import StoredFile
from egov_document.signing.samples import sample_decision_pdf
from egov_dossier.dossiers.models import Dossier
from egov_shared import tables
from egov_shared.contracts.payment import PaymentFeePaid, PaymentRefunded
from egov_shared.events import new_event
from egov_shared.identifiers import is_tax_code
from egov_shared.testing.waiting import eventually

CLERK, SPECIALIST, LEADER = "motcua.h27", "chuyenvien.h27", "lanhdao.h27"


async def published(desk: Desk, event_type: str, dossier_id: str) -> list[dict[str, Any]]:
    async with desk.p.runtime("dossier").new_uow() as uow:
        rows = await uow.session.execute(
            select(tables.outbox.c.envelope)
            .where(tables.outbox.c.event_type == event_type)
            .order_by(tables.outbox.c.id)
        )
        events = [json.loads(row.envelope) for row in rows]
    return [e for e in events if e["data"]["dossier_id"] == dossier_id]


async def history(desk: Desk, who: str, dossier: dict[str, Any]) -> list[dict[str, Any]]:
    response = await desk.client.get(
        f"/api/v1/dossiers/{dossier['id']}/history", headers=await desk.auth(who)
    )
    assert response.status_code == 200, response.text
    steps: list[dict[str, Any]] = response.json()
    return steps


async def deliver(desk: Desk, data: Any) -> Any:
    event = new_event(data, source="svc-payment", subject=None)
    await desk.p.runtime("dossier").bus.publish(event)
    return event


def fee_paid(dossier: dict[str, Any], stage: str, agency: str, amount: int, provider: str) -> PaymentFeePaid:
    """What svc-payment publishes when the dossier's invoice is paid."""
    return PaymentFeePaid(
        invoice_id=uuid.uuid4(),
        dossier_id=uuid.UUID(dossier["id"]),
        stage=stage,
        agency_code=agency,
        amount_vnd=amount,
        provider=provider,
        receipt_number=f"BL-2026-{uuid.uuid4().int % 10_000_000:07d}",
        paid_at=dt.datetime.now(dt.UTC),
    )


async def test_a_citizen_submits_with_details_from_identity_and_a_code_from_the_pattern(desk: Desk) -> None:
    dossier = await desk.submit(summary="Đăng ký khai sinh cho con")
    assert re.fullmatch(r"000\.10\.00\.H27-\d{6}-\d{4}", dossier["code"])
    assert dossier["status"] == 1
    assert dossier["status_label"] == "Mới đăng ký"
    assert dossier["channel"] == 2
    assert dossier["applicant"]["name"] == "Nguyễn Văn An"
    assert dossier["applicant"]["id_number"] == CITIZEN_L2
    assert [c["code"] for c in dossier["components"] if c["file_ids"]] == ["to_khai", "giay_chung_sinh"]
    assert dossier["allowed_actions"] == ["withdraw"]
    assert dossier["due_at"] is None
    [event] = await published(desk, "dossier.submitted", dossier["id"])
    assert event["data"]["fees"] == []
    assert len(event["data"]["file_ids"]) == 2

    # The public lookup: code plus the secret from the receipt slip, no personal data.
    secret = dossier["lookup_secret"]
    found = await desk.client.get(
        "/api/v1/dossiers/lookup", params={"code": dossier["code"], "secret": secret}
    )
    assert found.status_code == 200, found.text
    assert found.json()["status"] == 1
    assert "applicant" not in found.json()
    lower = await desk.client.get(
        "/api/v1/dossiers/lookup", params={"code": dossier["code"], "secret": secret.lower()}
    )
    assert lower.status_code == 200
    wrong = await desk.client.get(
        "/api/v1/dossiers/lookup", params={"code": dossier["code"], "secret": "AAAAAAAAAA"}
    )
    assert wrong.status_code == 404
    assert wrong.headers["content-type"] == "application/problem+json"


async def test_missing_mandatory_components_are_listed(desk: Desk) -> None:
    problem = await desk.submit(parts=("to_khai",), expect=422)
    assert problem["code"] == "dossier.missing_components"
    assert problem["missing_components"] == ["giay_chung_sinh"]
    assert [e["field"] for e in problem["errors"]] == ["components.giay_chung_sinh"]


async def test_files_must_exist_and_belong_to_the_applicant(desk: Desk) -> None:
    someone_elses = await desk.upload(CITIZEN_L1)
    response = await desk.client.post(
        "/api/v1/dossiers",
        json={
            "procedure_code": BIRTH,
            "agency_code": COMMUNE,
            "components": [
                {"code": "to_khai", "file_ids": [someone_elses]},
                {"code": "giay_chung_sinh", "file_ids": [str(uuid.uuid4())]},
            ],
        },
        headers=await desk.auth(CITIZEN_L2),
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "dossier.unknown_files"
    assert len(response.json()["errors"]) == 2


async def test_a_procedure_demanding_level_2_refuses_a_level_1_citizen(desk: Desk) -> None:
    problem = await desk.submit(CITIZEN_L1, JUDICIAL, ("to_khai",), expect=403)
    assert problem["code"] == "dossier.assurance_level_required"
    dossier = await desk.submit(CITIZEN_L2, JUDICIAL, ("to_khai",))
    assert dossier["agency_code"] == JUSTICE


async def test_for_a_business_the_tax_code_check_digit_is_validated(desk: Desk) -> None:
    problem = await desk.submit(
        applicant_type="business", business={"tax_code": "0100109107", "name": "Công ty A"}, expect=422
    )
    assert problem["errors"][0]["field"] == "business.tax_code"
    valid = next(f"010010910{d}" for d in range(10) if is_tax_code(f"010010910{d}"))
    dossier = await desk.submit(applicant_type="business", business={"tax_code": valid, "name": "Công ty A"})
    assert dossier["applicant"]["business"]["tax_code"] == valid
    representative = await desk.submit(
        applicant_type="representative",
        represented={"full_name": "Trần Thị Bình", "id_number": CITIZEN_L1, "relationship": "mẹ"},
    )
    assert representative["applicant"]["represented"]["full_name"] == "Trần Thị Bình"


async def test_submission_honours_idempotency_keys(desk: Desk) -> None:
    file_ids = [await desk.upload(CITIZEN_L2), await desk.upload(CITIZEN_L2)]
    body = {
        "procedure_code": BIRTH,
        "agency_code": COMMUNE,
        "components": [
            {"code": "to_khai", "file_ids": [file_ids[0]]},
            {"code": "giay_chung_sinh", "file_ids": [file_ids[1]]},
        ],
    }
    headers = {**await desk.auth(CITIZEN_L2), "Idempotency-Key": uuid.uuid4().hex}
    first = await desk.client.post("/api/v1/dossiers", json=body, headers=headers)
    again = await desk.client.post("/api/v1/dossiers", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = await desk.client.post("/api/v1/dossiers", json={**body, "summary": "khác"}, headers=headers)
    assert other.status_code == 422
    async with desk.p.runtime("dossier").new_uow() as uow:
        codes = (
            await uow.session.scalars(select(Dossier.code).where(Dossier.id == uuid.UUID(first.json()["id"])))
        ).all()
    assert len(codes) == 1


async def test_fifty_concurrent_submissions_get_distinct_gap_free_codes(desk: Desk) -> None:
    token = await desk.token(CITIZEN_L2)
    uploads = [await desk.upload(CITIZEN_L2) for _ in range(2)]
    body = {
        "procedure_code": BIRTH,
        "agency_code": COMMUNE,
        "components": [
            {"code": "to_khai", "file_ids": [uploads[0]]},
            {"code": "giay_chung_sinh", "file_ids": [uploads[1]]},
        ],
    }

    async def one() -> str:
        response = await desk.client.post("/api/v1/dossiers", json=body, headers=desk.p.auth(token))
        assert response.status_code == 201, response.text
        return str(response.json()["code"])

    codes = await asyncio.gather(*(one() for _ in range(50)))
    assert len(set(codes)) == 50
    prefix = codes[0].rsplit("-", 1)[0]
    async with desk.p.runtime("dossier").new_uow() as uow:
        all_today = (
            await uow.session.scalars(select(Dossier.code).where(Dossier.code.startswith(prefix)))
        ).all()
    numbers = sorted(int(code.rsplit("-", 1)[1]) for code in all_today)
    assert numbers == list(range(1, len(numbers) + 1))


async def test_a_free_dossier_from_reception_to_the_signed_result(desk: Desk) -> None:
    dossier = await desk.submit()
    received = await desk.act(CLERK, dossier, "receive")
    assert received["status"] == 2
    assert received["due_at"] is not None
    assert received["received_at"]
    assigned = await desk.act(
        CLERK, dossier, "assign", assignee_id="chuyenvien-id", assignee_name="Chuyên viên", note="Xử lý"
    )
    assert assigned["status"] == 4
    assert assigned["assignee_name"] == "Chuyên viên"
    assert "approve_and_complete" not in assigned["allowed_actions"]  # the clerk's buttons

    # The leader uploads the result and approves: it is signed as the agency and attached.
    result_pdf = sample_decision_pdf(number="12/TLKS", subject="Trích lục khai sinh")
    result_file = await desk.upload(LEADER, result_pdf, name="giay-khai-sinh.pdf")
    done = await desk.act(
        LEADER, dossier, "approve_and_complete", result_file_id=result_file, result_symbol="12/TLKS"
    )
    assert done["status"] == 9
    assert done["finished_at"] is not None
    assert done["timeliness"] in ("early", "on_time")
    [signed] = done["result_file_ids"]
    assert signed != result_file
    [completed] = await published(desk, "dossier.completed", dossier["id"])
    assert completed["data"]["result_file_ids"] == [signed]
    assert completed["data"]["result_symbol"] == "12/TLKS"

    returned = await desk.act(CLERK, dossier, "return_result")
    assert returned["status"] == 10
    assert returned["returned_at"] is not None
    steps = await history(desk, CITIZEN_L2, dossier)
    assert [(s["action"], s["from_status"], s["to_status"], s["actor_role"]) for s in steps] == [
        ("submit", None, 1, "applicant"),
        ("receive", 1, 2, "receiver"),
        ("assign", 2, 4, "receiver"),
        ("approve_and_complete", 4, 9, "approver"),
        ("return_result", 9, 10, "receiver"),
    ]
    assert steps[3]["file_ids"] == [signed]
    changes = await published(desk, "dossier.status_changed", dossier["id"])
    assert [(e["data"]["from_status"], e["data"]["to_status"]) for e in changes] == [
        (1, 2),
        (2, 4),
        (4, 9),
        (9, 10),
    ]
    # The citizen downloads the signed result (svc-document granted it from dossier.completed).
    token = await desk.token(CITIZEN_L2)

    async def readable() -> bool:
        response = await desk.client.get(f"/api/v1/files/{signed}", headers=desk.p.auth(token))
        return response.status_code == 200

    await eventually(readable, what="the signed result readable by the applicant")


async def test_an_approval_that_loses_a_race_after_signing_leaves_no_signed_copy(desk: Desk) -> None:
    dossier = await desk.submit()
    await desk.act(CLERK, dossier, "receive")
    assigned = await desk.act(CLERK, dossier, "assign", assignee_id="chuyenvien-id", assignee_name="CV")
    result_file = await desk.upload(LEADER, sample_decision_pdf(number="13/TLKS"), name="kq.pdf")
    headers = {**await desk.auth(LEADER), "If-Match": f'"{assigned["version"]}"'}

    # Two approvals with the same version: both sign, one commits, the other finds the dossier changed.
    async def approve() -> Any:
        return await desk.client.post(
            f"/api/v1/dossiers/{dossier['id']}/approve_and_complete",
            json={"result_file_id": result_file},
            headers=headers,
        )

    responses = await asyncio.gather(approve(), approve())
    assert sorted(r.status_code for r in responses) in ([200, 409], [200, 412]), [r.text for r in responses]
    [winner] = [r.json() for r in responses if r.status_code == 200]
    [kept] = winner["result_file_ids"]

    async with desk.p.runtime("document").new_uow() as uow:
        envelopes = [
            json.loads(e)
            for e in await uow.session.scalars(
                select(tables.outbox.c.envelope).where(tables.outbox.c.event_type == "document.signed")
            )
        ]
        signed = [
            uuid.UUID(e["data"]["signed_file_id"])
            for e in envelopes
            if e["data"]["reference"] == f"dossier:{dossier['code']}"
        ]
        left = set(await uow.session.scalars(select(StoredFile.id).where(StoredFile.id.in_(signed))))
    assert len(signed) == 2, "both approvals should have signed before one lost"
    # The loser's sealed copy was withdrawn: only the approved dossier's result remains.
    assert left == {uuid.UUID(kept)}


async def test_guards_on_actions(desk: Desk) -> None:
    dossier = await desk.submit()
    citizen = await desk.act(CITIZEN_L2, dossier, "receive", expect=403)
    assert citizen["code"] == "dossier.action_not_allowed"
    # Another agency's official does not even see it.
    outsider = desk.p.issuer.official("outsider", agency=JUSTICE, roles=["receiver"])
    response = await desk.client.post(
        f"/api/v1/dossiers/{dossier['id']}/receive",
        json={},
        headers={**desk.p.auth(outsider), "If-Match": '"1"'},
    )
    assert response.status_code == 404
    # Another citizen neither.
    other = await desk.client.get(f"/api/v1/dossiers/{dossier['id']}", headers=await desk.auth(CITIZEN_L1))
    assert other.status_code == 404
    # No If-Match: 428; a stale one: 412.
    missing = await desk.client.post(
        f"/api/v1/dossiers/{dossier['id']}/receive", json={}, headers=await desk.auth(CLERK)
    )
    assert missing.status_code == 428
    stale = await desk.client.post(
        f"/api/v1/dossiers/{dossier['id']}/receive",
        json={},
        headers={**await desk.auth(CLERK), "If-Match": f'"{dossier["version"] + 5}"'},
    )
    assert stale.status_code == 412
    # An illegal transition: 409 naming the status and what is allowed.
    conflict = await desk.act(CLERK, dossier, "return_result", expect=409)
    assert conflict["code"] == "dossier.invalid_transition"
    assert conflict["dossier_status"] == 1
    assert conflict["allowed_actions"] == ["receive", "refuse"]
    # A refusal needs a reason.
    reason = await desk.act(CLERK, dossier, "refuse", expect=422)
    assert reason["code"] == "dossier.reason_required"
    refused = await desk.act(CLERK, dossier, "refuse", note="Không thuộc thẩm quyền")
    assert refused["status"] == 3
    assert refused["allowed_actions"] == []


async def test_supplementation_pauses_the_clock_and_two_requests_make_it_late(desk: Desk) -> None:
    start = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)  # Monday 09:00 in Hà Nội (24 Nov is a holiday)
    desk.set_clock(start)
    try:
        dossier = await desk.submit(CITIZEN_L2, BUILDING, BUILDING_PARTS)
        assert dossier["agency_code"] == CONSTRUCTION
        received = await desk.act(CLERK, dossier, "receive")
        due = dt.datetime.fromisoformat(received["due_at"])
        await desk.act(CLERK, dossier, "assign", assignee_id="cv")
        desk.set_clock(start + dt.timedelta(days=1))
        asked = await desk.act(SPECIALIST, dossier, "request_supplement", note="Thiếu bản vẽ mặt bằng")
        assert asked["status"] == 5
        assert asked["paused_since"] is not None
        assert asked["allowed_actions"] == ["stop"] or "supplement" not in asked["allowed_actions"]
        desk.set_clock(start + dt.timedelta(days=2))  # Wednesday 09:00: one working day paused
        extra = await desk.upload(CITIZEN_L2)
        supplied = await desk.act(
            CITIZEN_L2, dossier, "supplement", components=[{"code": "ban_ve", "file_ids": [extra]}]
        )
        assert supplied["status"] == 4
        assert supplied["paused_since"] is None
        assert dt.datetime.fromisoformat(supplied["due_at"]) == due + dt.timedelta(days=1)
        assert extra in next(c for c in supplied["components"] if c["code"] == "ban_ve")["file_ids"]
        [change] = [
            e
            for e in await published(desk, "dossier.status_changed", dossier["id"])
            if e["data"]["action"] == "supplement"
        ]
        assert change["data"]["file_ids"] == [extra]

        await desk.act(SPECIALIST, dossier, "request_supplement", note="Thiếu giấy tờ đất")
        await desk.act(
            CITIZEN_L2,
            dossier,
            "supplement",
            components=[{"code": "giay_to_dat", "file_ids": [await desk.upload(CITIZEN_L2)]}],
        )
        stopped = await desk.act(LEADER, dossier, "stop", note="Không đủ điều kiện")
        assert stopped["status"] == 8
        assert stopped["supplementation_requests"] == 2
        assert stopped["timeliness"] == "late"
    finally:
        desk.set_clock(None)


async def test_a_fee_due_at_submission_holds_the_dossier_until_paid_even_if_the_event_comes_twice(
    desk: Desk,
) -> None:
    dossier = await desk.submit(CITIZEN_L2, EXTRACT, ("to_khai",))
    [submitted] = await published(desk, "dossier.submitted", dossier["id"])
    assert submitted["data"]["fees"] == [
        {"kind": "le_phi", "name": "Lệ phí cấp bản sao trích lục", "amount_vnd": 8000}
    ] or (sum(f["amount_vnd"] for f in submitted["data"]["fees"]) == 8000)
    waiting = await desk.act(CLERK, dossier, "receive")
    assert waiting["status"] == 6
    assert waiting["due_at"] is None
    paid = fee_paid(dossier, "submission", COMMUNE, 8000, "vnpay")
    event = await deliver(desk, paid)
    await desk.p.runtime("dossier").bus.publish(event)  # the same event again
    await deliver(desk, paid)  # and a second event for the same fee

    async def moved_on() -> bool:
        return bool((await desk.get(CITIZEN_L2, dossier))["status"] == 2)

    await eventually(moved_on, what="the dossier to leave the fee wait")
    await asyncio.sleep(0.5)
    current = await desk.get(CITIZEN_L2, dossier)
    assert current["status"] == 2
    assert current["due_at"] is not None
    assert current["fee_paid_at"] is not None
    steps = await history(desk, CLERK, dossier)
    assert [s["action"] for s in steps] == ["submit", "receive", "fee_paid"]
    changes = await published(desk, "dossier.status_changed", dossier["id"])
    assert [(e["data"]["from_status"], e["data"]["to_status"]) for e in changes] == [(1, 6), (6, 2)]


async def test_a_fee_due_before_the_result_is_asked_for_by_the_specialist(desk: Desk) -> None:
    dossier = await desk.submit(CITIZEN_L2, BUILDING, BUILDING_PARTS)
    await desk.act(CLERK, dossier, "receive")
    await desk.act(CLERK, dossier, "assign", assignee_id="cv")
    asked = await desk.act(SPECIALIST, dossier, "request_fee")
    assert asked["status"] == 6
    assert asked["paused_since"] is not None
    [change] = [
        e
        for e in await published(desk, "dossier.status_changed", dossier["id"])
        if e["data"]["to_status"] == 6
    ]
    assert sum(f["amount_vnd"] for f in change["data"]["fees"]) == 150000
    await deliver(
        desk,
        fee_paid(dossier, "result", CONSTRUCTION, 150000, "vietqr"),
    )

    async def back_with_the_specialist() -> bool:
        return bool((await desk.get(SPECIALIST, dossier))["status"] == 4)

    await eventually(back_with_the_specialist, what="the fee wait to end")
    again = await desk.act(SPECIALIST, dossier, "request_fee", expect=409)
    assert "request_fee" not in again["allowed_actions"]


async def test_a_paid_dossier_refused_at_reception_is_marked_for_refund_and_the_refund_is_logged(
    desk: Desk,
) -> None:
    dossier = await desk.submit(CITIZEN_L2, EXTRACT, ("to_khai",))
    await deliver(
        desk,
        fee_paid(dossier, "submission", COMMUNE, 8000, "vnpay"),
    )

    async def paid() -> bool:
        return (await desk.get(CITIZEN_L2, dossier))["fee_paid_at"] is not None

    await eventually(paid, what="the payment to be recorded")
    refused = await desk.act(CLERK, dossier, "refuse", note="Sai cơ quan")
    assert refused["status"] == 3
    assert refused["refund_required"] is True
    [change] = await published(desk, "dossier.status_changed", dossier["id"])
    assert change["data"]["refund_required"] is True
    await deliver(
        desk,
        PaymentRefunded(
            invoice_id=uuid.uuid4(),
            dossier_id=uuid.UUID(dossier["id"]),
            stage="submission",
            agency_code=COMMUNE,
            amount_vnd=8000,
            provider="vnpay",
            reason="dossier_refused",
            refunded_at=dt.datetime.now(dt.UTC),
        ),
    )

    async def logged() -> bool:
        return "refunded" in [s["action"] for s in await history(desk, CITIZEN_L2, dossier)]

    await eventually(logged, what="the refund in the history")
    after = await desk.get(CITIZEN_L2, dossier)
    assert after["status"] == 3
    assert after["refunded_at"] is not None
    [step] = [s for s in await history(desk, CITIZEN_L2, dossier) if s["action"] == "refunded"]
    assert step["note"] == "Đã hoàn trả 8.000 đồng: hồ sơ không được tiếp nhận."


async def test_a_citizen_withdraws_and_the_queues_filter(desk: Desk) -> None:
    dossier = await desk.submit(CITIZEN_L1)
    withdrawn = await desk.act(CITIZEN_L1, dossier, "withdraw", note="Nộp nhầm")
    assert withdrawn["status"] == 7
    mine = await desk.client.get("/api/v1/dossiers", headers=await desk.auth(CITIZEN_L1))
    assert dossier["id"] in [d["id"] for d in mine.json()["items"]]
    theirs = await desk.client.get("/api/v1/dossiers", headers=await desk.auth(CITIZEN_L2))
    assert dossier["id"] not in [d["id"] for d in theirs.json()["items"]]

    queue = await desk.client.get(
        "/api/v1/dossiers",
        params={"status": [7], "agency_code": COMMUNE, "limit": 200},
        headers=await desk.auth(CLERK),
    )
    assert queue.status_code == 200
    assert dossier["id"] in [d["id"] for d in queue.json()["items"]]
    assert {d["status"] for d in queue.json()["items"]} == {7}
    outsider = desk.p.issuer.official("outsider", agency=JUSTICE, roles=["receiver"])
    hidden = await desk.client.get(
        "/api/v1/dossiers", params={"agency_code": COMMUNE}, headers=desk.p.auth(outsider)
    )
    assert hidden.status_code == 404

    # Overdue and due soon, with the clock moved.
    fresh = await desk.submit()
    received = await desk.act(CLERK, fresh, "receive")
    due = dt.datetime.fromisoformat(received["due_at"])
    desk.set_clock(due + dt.timedelta(hours=1))
    try:
        overdue = await desk.client.get(
            "/api/v1/dossiers", params={"overdue": "true", "limit": 200}, headers=await desk.auth(CLERK)
        )
        assert fresh["id"] in [d["id"] for d in overdue.json()["items"]]
        desk.set_clock(due - dt.timedelta(hours=30))
        soon = await desk.client.get(
            "/api/v1/dossiers", params={"due_within_days": 2, "limit": 200}, headers=await desk.auth(CLERK)
        )
        assert fresh["id"] in [d["id"] for d in soon.json()["items"]]
        none = await desk.client.get(
            "/api/v1/dossiers", params={"overdue": "true", "limit": 200}, headers=await desk.auth(CLERK)
        )
        assert fresh["id"] not in [d["id"] for d in none.json()["items"]]
    finally:
        desk.set_clock(None)


async def test_a_clerk_files_a_dossier_at_the_counter_and_it_is_received_at_once(desk: Desk) -> None:
    clerk_file = await desk.upload(CLERK)
    second = await desk.upload(CLERK)
    response = await desk.client.post(
        "/api/v1/dossiers",
        json={
            "procedure_code": BIRTH,
            "agency_code": COMMUNE,
            "channel": 1,
            "applicant": {"full_name": "Lê Văn Cường", "id_number": CITIZEN_L1, "phone": "0987654321"},
            "components": [
                {"code": "to_khai", "file_ids": [clerk_file]},
                {"code": "giay_chung_sinh", "file_ids": [second]},
            ],
        },
        headers=await desk.auth(CLERK),
    )
    assert response.status_code == 201, response.text
    dossier = response.json()
    assert dossier["channel"] == 1
    assert dossier["status"] == 2
    assert dossier["due_at"] is not None
    assert dossier["applicant"]["full_name"] == "Lê Văn Cường"
    # The applicant's account is only self-registered (level 1): it does not prove the ID number is theirs, so the
    # dossier is not attached to it.
    unverified = await desk.client.get(
        f"/api/v1/dossiers/{dossier['id']}", headers=await desk.auth(CITIZEN_L1)
    )
    assert unverified.status_code == 404


async def test_a_counter_dossier_shows_in_the_applicants_verified_account(desk: Desk) -> None:
    body = await _counter_body(desk, {"id_number": CITIZEN_L2})
    filed = await desk.client.post("/api/v1/dossiers", json=body, headers=await desk.auth(CLERK))
    assert filed.status_code == 201, filed.text
    # svc-identity verified this citizen in person (level 2): the dossier shows in their account.
    assert (await desk.get(CITIZEN_L2, filed.json()))["code"] == filed.json()["code"]


async def _counter_body(desk: Desk, applicant: dict[str, Any]) -> dict[str, Any]:
    return {
        "procedure_code": BIRTH,
        "agency_code": COMMUNE,
        "channel": 1,
        "applicant": {"full_name": "Lê Văn Cường", **applicant},
        "components": [{"code": part, "file_ids": [await desk.upload(CLERK)]} for part in BIRTH_PARTS],
    }


async def test_a_clerk_cannot_attach_a_counter_dossier_to_another_persons_account(desk: Desk) -> None:
    someone_else = await desk.client.get("/api/v1/identity/me", headers=await desk.auth(CITIZEN_L2))
    own_unverified = await desk.client.get("/api/v1/identity/me", headers=await desk.auth(CITIZEN_L1))
    for account in (someone_else.json()["id"], own_unverified.json()["id"]):
        body = await _counter_body(desk, {"id_number": CITIZEN_L1, "citizen_id": account})
        refused = await desk.client.post("/api/v1/dossiers", json=body, headers=await desk.auth(CLERK))
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "applicant.citizen_id"
    mine = await desk.client.get("/api/v1/dossiers", headers=await desk.auth(CITIZEN_L2))
    assert all(d["applicant"].get("id_number") != CITIZEN_L1 for d in mine.json()["items"])

    # Someone with no account: the dossier is filed all the same, followed by its code and secret.
    no_account = await _counter_body(desk, {"id_number": "001099054321"})
    filed = await desk.client.post("/api/v1/dossiers", json=no_account, headers=await desk.auth(CLERK))
    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == 2
