"""Journey 3: an official document is drafted, approved, signed, issued and sent to a partner province over
edXML; the partner reports its handling back."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from frontend import LEADER, PARTNER_CODE, PROVINCE, SPECIALIST, Frontend, until

from egov_document.exchange.partner import FakePartner
from egov_document.signing.samples import sample_decision_pdf

pytestmark = pytest.mark.postgres_only


async def test_a_document_is_issued_signed_and_exchanged_with_a_partner(
    gateway: httpx.AsyncClient, partner: FakePartner
) -> None:
    app = Frontend(gateway)
    attachment = await app.upload(SPECIALIST, sample_decision_pdf(number="12/UBND-VP"), "cong-van.pdf")
    document: dict[str, Any] = await app.call(
        "POST",
        "/api/v1/documents",
        SPECIALIST,
        expect=201,
        json={
            "direction": "outgoing",
            "agency_code": PROVINCE,
            "doc_type": "CV",
            "symbol": "UBND-VP",
            "excerpt": "Về việc phối hợp liên thông văn bản điện tử",
            "recipients": [{"code": PARTNER_CODE, "name": "UBND tỉnh Thanh Hóa"}],
            "signer_name": "Hoàng Văn Dũng",
            "signer_position": "Phó Chủ tịch",
            "file_ids": [attachment],
        },
    )
    for who, action in (
        (SPECIALIST, "submit"),
        (LEADER, "approve"),
        (LEADER, "sign"),
        (SPECIALIST, "issue"),
        (SPECIALIST, "send"),
    ):
        document = await app.call(
            "POST",
            f"/api/v1/documents/{document['id']}/{action}",
            who,
            headers={"If-Match": f'"{document["version"]}"'},
        )
    assert document["status"] == "sent"
    assert document["number_and_symbol"].endswith("/UBND-VP")

    # svc-document's delivery job sends it; the partner verifies our XML signature and keeps it.
    await until(lambda: _received(partner), what="the partner to receive the edXML message")
    [message] = partner.documents
    assert message.code.code_notation == "UBND-VP"
    assert message.attachments[0].content.startswith(b"%PDF")

    # The partner reports its handling back through our binding, with its client-credentials token.
    for code in ("03", "05", "06"):
        status, _ = await partner.send_status(message.document_id, code)
        assert status == 202

    async def handled() -> bool:
        rows = await app.call(
            "GET", "/api/v1/exchange/dispatches", SPECIALIST, params={"document_id": document["id"]}
        )
        return bool(rows and rows[0]["status_code"] == "06")

    await until(handled, what="the partner's statuses in the dispatch")


async def _received(partner: FakePartner) -> bool:
    return bool(partner.documents)
