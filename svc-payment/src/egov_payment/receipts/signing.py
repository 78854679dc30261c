"""Signing receipts as the agency (PAdES) through svc-document, after the payment has committed.

The receipt row exists from the payment's transaction on, with ``signing_status = pending``. Right after the
commit one attempt is made in the background; the ``sign-receipts`` job retries whatever is still pending.
Each attempt renders the PDF, uploads it (``POST /api/v1/files``) and asks for the agency's signature
(``POST /api/v1/signatures``) with svc-payment's own client-credentials token; no transaction is held across
those calls. A claim on the row (``signing_claimed_until``) keeps two replicas from signing one receipt.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import or_, select, update

from egov_payment import ledger
from egov_payment.config import Settings
from egov_payment.context import PaymentContext
from egov_payment.receipts.models import Receipt, SigningStatus
from egov_payment.receipts.pdf import ReceiptContent, render
from egov_shared.db import utcnow
from egov_shared.problems import ProblemError
from egov_shared.runtime import ServiceRuntime

log = logging.getLogger(__name__)

CLAIM = dt.timedelta(minutes=2)
SIGN_REASON = "Biên lai thu phí, lệ phí"


class SigningFailed(Exception):
    pass


def verify_url(settings: Settings, receipt: Receipt) -> str:
    return f"{settings.browser_url}/api/v1/receipts/verify/{receipt.id}?code={receipt.verification_code}"


def content_of(settings: Settings, receipt: Receipt, *, replaces_number: str | None = None) -> ReceiptContent:
    return ReceiptContent(
        receipt_number=receipt.receipt_number,
        form_number=receipt.form_number,
        symbol=receipt.symbol,
        number=receipt.number,
        agency_name=receipt.agency_name,
        agency_code=receipt.agency_code,
        tax_code=receipt.tax_code,
        payer_name=receipt.payer_name,
        dossier_code=receipt.dossier_code,
        lines=list(receipt.lines),
        amount_vnd=receipt.amount_vnd,
        amount_in_words=receipt.amount_in_words,
        method=receipt.method,
        issued_at=receipt.issued_at,
        verify_url=verify_url(settings, receipt),
        replaces_number=replaces_number,
    )


async def render_pdf(runtime: ServiceRuntime, settings: Settings, receipt: Receipt) -> bytes:
    replaces_number = None
    if receipt.replaces_id is not None:
        async with runtime.read_sessionmaker() as session:
            replaces_number = await session.scalar(
                select(Receipt.receipt_number).where(Receipt.id == receipt.replaces_id)
            )
    return await asyncio.to_thread(render, content_of(settings, receipt, replaces_number=replaces_number))


async def _claim(runtime: ServiceRuntime, receipt_id: uuid.UUID) -> Receipt | None:
    now = utcnow()
    async with runtime.new_uow() as uow:
        claimed = await uow.session.execute(
            update(Receipt)
            .where(
                Receipt.id == receipt_id,
                Receipt.signing_status == SigningStatus.PENDING.value,
                or_(Receipt.signing_claimed_until.is_(None), Receipt.signing_claimed_until < now),
            )
            .values(signing_claimed_until=now + CLAIM)
        )
        receipt = await uow.session.get(Receipt, receipt_id) if getattr(claimed, "rowcount", 0) == 1 else None
        await uow.commit()
    return receipt


async def sign_receipt(runtime: ServiceRuntime, context: PaymentContext, receipt_id: uuid.UUID) -> bool:
    """One attempt; True when the receipt is now signed by this call."""
    receipt = await _claim(runtime, receipt_id)
    if receipt is None:
        return False
    try:
        pdf = await render_pdf(runtime, context.settings, receipt)
        signed = await _upload_and_sign(runtime, context, receipt, pdf)
    except (ProblemError, SigningFailed) as exc:
        log.warning(
            "receipt signing failed, will retry", extra={"receipt_id": str(receipt_id), "error": str(exc)}
        )
        async with runtime.new_uow() as uow:
            await uow.session.execute(
                update(Receipt)
                .where(Receipt.id == receipt_id)
                .values(
                    signing_attempts=Receipt.signing_attempts + 1,
                    signing_error=str(exc)[:300],
                    signing_claimed_until=None,
                )
            )
            await uow.commit()
        return False
    async with runtime.new_uow() as uow:
        done = await uow.session.execute(
            update(Receipt)
            .where(Receipt.id == receipt_id, Receipt.signing_status == SigningStatus.PENDING.value)
            .values(
                signing_status=SigningStatus.SIGNED.value,
                signed_file_id=uuid.UUID(str(signed["signed_file_id"])),
                signed_sha256=str(signed.get("sha256", ""))[:64] or None,
                signed_at=utcnow(),
                signing_attempts=Receipt.signing_attempts + 1,
                signing_error=None,
                signing_claimed_until=None,
            )
        )
        if getattr(done, "rowcount", 0) != 1:
            return False
        ledger.record(
            uow.session,
            ledger.Entry.RECEIPT_SIGNED,
            invoice_id=receipt.invoice_id,
            payment_id=receipt.payment_id,
            receipt_id=receipt.id,
            agency_code=receipt.agency_code,
            signed_file_id=str(signed["signed_file_id"]),
        )
        await uow.commit()
    return True


async def _upload_and_sign(
    runtime: ServiceRuntime, context: PaymentContext, receipt: Receipt, pdf: bytes
) -> dict[str, Any]:
    credentials = context.credentials(runtime)
    token = await credentials.token()
    upload = await runtime.peers.request(
        "POST",
        "/api/v1/files",
        token=token,
        files={"file": (f"bien-lai-{receipt.receipt_number}.pdf", pdf, "application/pdf")},
    )
    if upload.status_code == 401:
        credentials.forget()
    if upload.status_code != 201:
        raise SigningFailed(f"upload answered {upload.status_code}: {upload.text[:200]}")
    file_id = upload.json()["id"]
    signing = await runtime.peers.request(
        "POST",
        "/api/v1/signatures",
        token=token,
        json={
            "file_id": file_id,
            "agency_code": receipt.agency_code,
            "reason": SIGN_REASON,
            "reference": f"receipt:{receipt.id}",
        },
    )
    if signing.status_code != 201:
        raise SigningFailed(f"signing answered {signing.status_code}: {signing.text[:200]}")
    result: dict[str, Any] = signing.json()
    return result


async def sign_pending(runtime: ServiceRuntime, context: PaymentContext, *, limit: int = 20) -> int:
    """The ``sign-receipts`` job: retry every receipt still waiting for its signature, oldest first."""
    async with runtime.read_sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(Receipt.id)
                .where(Receipt.signing_status == SigningStatus.PENDING.value)
                .order_by(Receipt.issued_at)
                .limit(limit)
            )
        )
    signed = 0
    for receipt_id in ids:
        try:
            signed += await sign_receipt(runtime, context, receipt_id)
        except Exception:
            log.exception("receipt signing crashed", extra={"receipt_id": str(receipt_id)})
    return signed


async def signed_pdf(runtime: ServiceRuntime, context: PaymentContext, file_id: uuid.UUID) -> bytes:
    """The signed copy, downloaded from svc-document with our own token (svc-payment uploaded it)."""
    credentials = context.credentials(runtime)
    response = await runtime.peers.request(
        "GET", f"/api/v1/files/{file_id}/content", token=await credentials.token()
    )
    if response.status_code != 200:
        if response.status_code == 401:
            credentials.forget()
        raise SigningFailed(f"download answered {response.status_code}")
    return response.content


async def check_signature(
    runtime: ServiceRuntime, context: PaymentContext, receipt: Receipt
) -> dict[str, Any]:
    """svc-document's verdict on the signed PDF (its public verification API)."""
    if receipt.signed_file_id is None:
        return {"valid": False, "reasons": ["chưa ký số (đang chờ ký)"]}
    try:
        pdf = await signed_pdf(runtime, context, receipt.signed_file_id)
        response = await runtime.peers.request(
            "POST",
            "/api/v1/documents/verify",
            files={"file": (f"{receipt.receipt_number}.pdf", pdf, "application/pdf")},
        )
    except (ProblemError, SigningFailed) as exc:
        return {"valid": None, "reasons": [f"chưa kiểm tra được chữ ký: {exc}"]}
    if response.status_code != 200:
        return {"valid": None, "reasons": [f"dịch vụ kiểm tra chữ ký trả lời {response.status_code}"]}
    report: dict[str, Any] = response.json()
    return report
