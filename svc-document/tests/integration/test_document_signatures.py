"""Signing as an agency through the API, checked by pyHanko's own validator, and public verification."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import uuid

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.serialization import Encoding
from document_harness import PROVINCE, DocumentService, seed_agencies
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import select, update

from egov_document.files.models import StoredFile
from egov_document.signatures.pki_store import trust_roots
from egov_shared import tables
from egov_shared.agencies import agency_exists
from egov_shared.contracts.dossier import DossierCompleted
from egov_shared.testing.waiting import eventually


def decision_pdf() -> bytes:
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, pageCompression=0)
    page.drawString(72, 760, "UBND TINH - QUYET DINH so 01/QD-UBND")
    page.drawString(72, 740, "Ve viec cap giay phep xay dung")
    page.showPage()
    page.save()
    return buffer.getvalue()


async def agencies_ready(documents: DocumentService) -> None:
    await seed_agencies(documents)

    async def seeded() -> bool:
        async with documents.runtime.sessionmaker() as session:
            return await agency_exists(session, PROVINCE)

    await eventually(seeded, what="the agency tree")


async def test_a_leader_signs_a_result_as_the_agency(documents: DocumentService) -> None:
    await agencies_ready(documents)
    leader = documents.issuer.official("leader", agency=PROVINCE, roles=["approver", "signer"])
    source = (await documents.upload(leader, decision_pdf(), filename="quyet-dinh.pdf")).json()["id"]
    response = await documents.client.post(
        "/api/v1/signatures",
        json={"file_id": source, "agency_code": PROVINCE, "reason": "Phê duyệt", "reference": "dossier:42"},
        headers=documents.auth(leader),
    )
    assert response.status_code == 201, response.text
    signed_id = response.json()["signed_file_id"]
    signed = await documents.client.get(f"/api/v1/files/{signed_id}/content", headers=documents.auth(leader))
    assert signed.status_code == 200

    # Independent of our code: pyHanko's validator, trusting only the deployment's root.
    async with documents.runtime.sessionmaker() as session:
        roots = await trust_roots(session)
    embedded = PdfFileReader(io.BytesIO(signed.content)).embedded_signatures
    assert len(embedded) == 1
    asn1_roots = [asn1_x509.Certificate.load(root.public_bytes(Encoding.DER)) for root in roots]
    status = await asyncio.to_thread(
        validate_pdf_signature, embedded[0], ValidationContext(trust_roots=asn1_roots)
    )
    assert status.intact
    assert status.valid
    assert status.trusted
    assert "UBND" in status.signing_cert.subject.human_friendly

    async with documents.runtime.sessionmaker() as session:
        envelopes = list(await session.scalars(select(tables.outbox.c.envelope)))
    assert any('"document.signed"' in e and signed_id in e and "dossier:42" in e for e in envelopes)


async def test_only_signers_and_signing_services_may_sign(documents: DocumentService) -> None:
    await agencies_ready(documents)
    clerk = documents.issuer.official("clerk", agency=PROVINCE, roles=["document_clerk"])
    source = (await documents.upload(clerk, decision_pdf())).json()["id"]
    refused = await documents.client.post(
        "/api/v1/signatures", json={"file_id": source, "agency_code": PROVINCE}, headers=documents.auth(clerk)
    )
    assert refused.status_code == 403
    service = documents.issuer.client("svc-payment", scopes=["documents.sign"])
    own = (await documents.upload(service, decision_pdf(), filename="bien-lai.pdf")).json()["id"]
    signed = await documents.client.post(
        "/api/v1/signatures",
        json={"file_id": own, "agency_code": PROVINCE, "reference": "receipt:1"},
        headers=documents.auth(service),
    )
    assert signed.status_code == 201, signed.text
    others = await documents.client.post(
        "/api/v1/signatures",
        json={"file_id": source, "agency_code": PROVINCE},
        headers=documents.auth(service),
    )
    assert others.status_code == 404
    missing = await documents.client.post(
        "/api/v1/signatures",
        json={"file_id": str(uuid.uuid4()), "agency_code": PROVINCE},
        headers=documents.auth(service),
    )
    assert missing.status_code == 404


async def test_anyone_can_verify_a_signed_pdf_and_tampering_is_reported(documents: DocumentService) -> None:
    await agencies_ready(documents)
    leader = documents.issuer.official("leader", agency=PROVINCE, roles=["signer"])
    source = (await documents.upload(leader, decision_pdf())).json()["id"]
    signed_id = (
        await documents.client.post(
            "/api/v1/signatures",
            json={"file_id": source, "agency_code": PROVINCE},
            headers=documents.auth(leader),
        )
    ).json()["signed_file_id"]
    pdf = (
        await documents.client.get(f"/api/v1/files/{signed_id}/content", headers=documents.auth(leader))
    ).content

    report = await documents.client.post(
        "/api/v1/documents/verify", files={"file": ("x.pdf", pdf, "application/pdf")}
    )
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["valid"] is True
    assert body["signatures"][0]["agency_code"] == PROVINCE
    assert body["signatures"][0]["intact"] is True

    tampered = pdf.replace(b"cap giay phep", b"thu hoi phep ")
    assert tampered != pdf
    bad = await documents.client.post(
        "/api/v1/documents/verify", files={"file": ("x.pdf", tampered, "application/pdf")}
    )
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    assert bad.json()["reasons"]
    unsigned = await documents.client.post(
        "/api/v1/documents/verify", files={"file": ("y.pdf", decision_pdf(), "application/pdf")}
    )
    assert unsigned.json()["valid"] is False


async def test_a_leader_signs_with_their_signature_and_the_agency_adds_its_seal(
    documents: DocumentService,
) -> None:
    from egov_document.signing.samples import sample_seal_image, sample_signature_image

    await agencies_ready(documents)
    leader = documents.issuer.official(
        "leader-2", agency=PROVINCE, roles=["approver", "signer"], name="Hoàng Văn Dũng"
    )
    png = "image/png"
    mine = await documents.client.put(
        "/api/v1/signatures/images/me",
        files={"file": ("chu-ky.png", sample_signature_image(), png)},
        headers=documents.auth(leader),
    )
    assert mine.status_code == 204, mine.text
    seal = await documents.client.put(
        f"/api/v1/signatures/images/agencies/{PROVINCE}",
        files={"file": ("dau.png", sample_seal_image(), png)},
        headers=documents.auth(leader),
    )
    assert seal.status_code == 204, seal.text
    not_png = await documents.client.put(
        "/api/v1/signatures/images/me",
        files={"file": ("x.pdf", decision_pdf(), "application/pdf")},
        headers=documents.auth(leader),
    )
    assert not_png.status_code == 415

    source = (await documents.upload(leader, decision_pdf())).json()["id"]
    signed = await documents.client.post(
        "/api/v1/signatures",
        json={"file_id": source, "agency_code": PROVINCE, "with_official_signature": True},
        headers=documents.auth(leader),
    )
    assert signed.status_code == 201, signed.text
    pdf = (
        await documents.client.get(
            f"/api/v1/files/{signed.json()['signed_file_id']}/content", headers=documents.auth(leader)
        )
    ).content
    report = (
        await documents.client.post(
            "/api/v1/documents/verify", files={"file": ("q.pdf", pdf, "application/pdf")}
        )
    ).json()
    assert report["valid"] is True, report
    signers = [s["signer"] for s in report["signatures"]]
    assert signers == ["Hoàng Văn Dũng", "UBND tỉnh"]
    assert all(s["intact"] for s in report["signatures"])


async def sign(documents: DocumentService, token: str) -> str:
    source = (await documents.upload(token, decision_pdf())).json()["id"]
    response = await documents.client.post(
        "/api/v1/signatures",
        json={"file_id": source, "agency_code": PROVINCE, "reference": "dossier:7"},
        headers=documents.auth(token),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["signed_file_id"])


async def withdraw(documents: DocumentService, token: str, signed_id: str) -> int:
    response = await documents.client.delete(f"/api/v1/signatures/{signed_id}", headers=documents.auth(token))
    if response.status_code != 204:
        assert response.headers["content-type"] == "application/problem+json"
    if response.status_code == 409:
        assert response.json()["code"] == "signature.not_withdrawable"
    return response.status_code


async def test_the_signer_withdraws_a_signed_copy_nobody_has_received(documents: DocumentService) -> None:
    await agencies_ready(documents)
    leader = documents.issuer.official("leader-w", agency=PROVINCE, roles=["approver", "signer"])
    colleague = documents.issuer.official("leader-x", agency=PROVINCE, roles=["approver", "signer"])
    signed_id = await sign(documents, leader)

    # Another official of the same agency may read it, but only its signer may withdraw it.
    assert (
        await documents.client.get(f"/api/v1/files/{signed_id}", headers=documents.auth(colleague))
    ).status_code == 200
    assert await withdraw(documents, colleague, signed_id) == 404
    # A plain upload is no signed copy, even for its owner; an unknown id neither.
    upload = (await documents.upload(leader, decision_pdf())).json()["id"]
    assert await withdraw(documents, leader, upload) == 404
    assert await withdraw(documents, leader, str(uuid.uuid4())) == 404

    assert await withdraw(documents, leader, signed_id) == 204
    gone = await documents.client.get(f"/api/v1/files/{signed_id}", headers=documents.auth(leader))
    assert gone.status_code == 404
    assert await withdraw(documents, leader, signed_id) == 404

    # A signing service withdraws what it signed itself.
    service = documents.issuer.client("svc-payment", scopes=["documents.sign"])
    receipt = await sign(documents, service)
    assert await withdraw(documents, service, receipt) == 204


async def test_a_signed_copy_that_went_somewhere_cannot_be_withdrawn(documents: DocumentService) -> None:
    await agencies_ready(documents)
    leader = documents.issuer.official(
        "leader-y", agency=PROVINCE, roles=["document_clerk", "approver", "signer"]
    )

    # Given to the applicant with the completed dossier.
    result = await sign(documents, leader)
    applicant = documents.issuer.citizen("applicant-w")
    await documents.deliver(
        DossierCompleted(
            dossier_id=uuid.uuid4(),
            code=f"{PROVINCE}-261122-0007",
            agency_code=PROVINCE,
            applicant_id="applicant-w",
            result_file_ids=[uuid.UUID(result)],
            completed_at=dt.datetime.now(dt.UTC),
        )
    )

    async def applicant_reads() -> bool:
        response = await documents.client.get(f"/api/v1/files/{result}", headers=documents.auth(applicant))
        return response.status_code == 200

    await eventually(applicant_reads, what="the applicant's grant from dossier.completed")
    assert await withdraw(documents, leader, result) == 409
    assert (
        await documents.client.get(f"/api/v1/files/{result}", headers=documents.auth(applicant))
    ).status_code == 200

    # Attached to a draft in the agency's register.
    attached = await sign(documents, leader)
    draft = await documents.client.post(
        "/api/v1/documents",
        json={
            "direction": "outgoing",
            "agency_code": PROVINCE,
            "doc_type": "QD",
            "symbol": "QĐ-UBND",
            "excerpt": "Quyết định cấp phép",
            "file_ids": [attached],
        },
        headers=documents.auth(leader),
    )
    assert draft.status_code == 201, draft.text
    assert await withdraw(documents, leader, attached) == 409

    # Signed more than an hour ago.
    old = await sign(documents, leader)
    async with documents.runtime.sessionmaker() as session:
        await session.execute(
            update(StoredFile)
            .where(StoredFile.id == uuid.UUID(old))
            .values(created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1, minutes=1))
        )
        await session.commit()
    assert await withdraw(documents, leader, old) == 409
