"""Access to a feedback report's files follows the report: the agency handling it reads the files added later
(a supplement, the answer's attachments) and, after a transfer or an escalation, the new agency reads them all."""

from __future__ import annotations

import datetime as dt
import uuid

from document_harness import (
    COMMUNE,
    JUSTICE,
    PNG,
    PROVINCE,
    WARD,
    DocumentService,
    now,
    pdf_bytes,
    seed_agencies,
)

from egov_shared.contracts.feedback import (
    FeedbackEscalated,
    FeedbackResolved,
    FeedbackSubmitted,
    FeedbackSupplemented,
    FeedbackTransferred,
)
from egov_shared.testing.waiting import eventually


async def _upload(documents: DocumentService, token: str, content: bytes, name: str, kind: str) -> uuid.UUID:
    response = await documents.upload(token, content, filename=name, content_type=kind)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def test_the_handling_agency_reads_files_added_later_and_a_new_agency_reads_them_all(
    documents: DocumentService,
) -> None:
    await seed_agencies(documents)
    reporter = documents.issuer.citizen("reporter-1")
    photo = await _upload(documents, reporter, PNG, "o-ga.png", "image/png")
    supplement = await _upload(
        documents, reporter, pdf_bytes("anh bo sung"), "bo-sung.pdf", "application/pdf"
    )
    commune = documents.issuer.official("o-commune", agency=COMMUNE, roles=["feedback_handler"])
    justice = documents.issuer.official("o-justice", agency=JUSTICE, roles=["feedback_handler"])
    ward = documents.issuer.official("o-ward", agency=WARD, roles=["feedback_handler"])

    async def reads(token: str, file_id: uuid.UUID) -> bool:
        response = await documents.client.get(
            f"/api/v1/files/{file_id}/content", headers=documents.auth(token)
        )
        assert response.status_code in (200, 404), response.text
        return response.status_code == 200

    report_id, code, at = uuid.uuid4(), "PA-2026-000001", now()
    await documents.deliver(
        FeedbackSubmitted(
            report_id=report_id, category_code="GT01", agency_code=COMMUNE, file_ids=[photo], submitted_at=at
        )
    )
    await eventually(lambda: reads(commune, photo), what="the grant from feedback.submitted")
    assert not await reads(commune, supplement)

    await documents.deliver(
        FeedbackSupplemented(
            report_id=report_id,
            code=code,
            category_code="GT01",
            agency_code=COMMUNE,
            supplemented_at=at,
            file_ids=[supplement],
        )
    )
    await eventually(lambda: reads(commune, supplement), what="the grant from feedback.supplemented")

    # Transferred to an agency in another branch of the tree: it reads every file of the report.
    assert not await reads(justice, photo)
    await documents.deliver(
        FeedbackTransferred(
            report_id=report_id,
            code=code,
            category_code="GT01",
            from_agency_code=COMMUNE,
            to_agency_code=JUSTICE,
            status="submitted",
            due_at=at + dt.timedelta(days=10),
            transferred_at=at,
            file_ids=[photo, supplement],
        )
    )
    await eventually(lambda: reads(justice, supplement), what="the grant from feedback.transferred")
    assert await reads(justice, photo)
    assert not await reads(ward, photo)  # a sibling gets nothing

    # The answer's attachment, uploaded by an official of the province for the department.
    province = documents.issuer.official("o-province", agency=PROVINCE, roles=["feedback_handler"])
    answer = await _upload(documents, province, pdf_bytes("tra loi"), "tra-loi.pdf", "application/pdf")
    assert not await reads(justice, answer)
    await documents.deliver(
        FeedbackResolved(
            report_id=report_id,
            code=code,
            category_code="GT01",
            agency_code=JUSTICE,
            reporter_id="citizen-reporter",
            reporter_kind="citizen",
            answer_file_ids=[answer],
            due_at=at + dt.timedelta(days=10),
            resolved_at=at,
            on_time=True,
        )
    )
    await eventually(lambda: reads(justice, answer), what="the grant from feedback.resolved")
    assert not await reads(commune, answer)
    # The citizen who reported it reads the answer's attachment; another citizen does not.
    assert await reads(documents.issuer.citizen("citizen-reporter"), answer)
    assert not await reads(documents.issuer.citizen("someone-else"), answer)


async def test_an_escalated_report_is_readable_by_the_supervising_agency(documents: DocumentService) -> None:
    await seed_agencies(documents)
    reporter = documents.issuer.citizen("reporter-2")
    # A file of the report that no grant covered yet (a supplement older than feedback.supplemented, say).
    photo = await _upload(documents, reporter, PNG, "ngap.png", "image/png")
    province = documents.issuer.official("o-province", agency=PROVINCE, roles=["feedback_handler"])
    url = f"/api/v1/files/{photo}/content"
    assert (await documents.client.get(url, headers=documents.auth(province))).status_code == 404

    at = now()
    await documents.deliver(
        FeedbackEscalated(
            report_id=uuid.uuid4(),
            code="PA-2026-000002",
            category_code="GT01",
            from_agency_code=WARD,
            to_agency_code=PROVINCE,
            status="submitted",
            level=1,
            due_at=at,
            overdue_since=at,
            escalated_at=at,
            file_ids=[photo, uuid.uuid4()],  # one the store does not have: ignored
        )
    )

    async def province_reads() -> bool:
        return (await documents.client.get(url, headers=documents.auth(province))).status_code == 200

    await eventually(province_reads, what="the grant from feedback.escalated")
    ward = documents.issuer.official("o-ward", agency=WARD, roles=["feedback_handler"])
    assert (await documents.client.get(url, headers=documents.auth(ward))).status_code == 404
