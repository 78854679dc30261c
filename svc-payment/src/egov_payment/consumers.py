"""Events svc-payment consumes: a dossier's fees become invoices; a refused, withdrawn or stopped dossier
cancels what is unpaid and refunds what was paid when svc-dossier says so; the agency tree is replicated.

Handlers never commit: the consumer commits their writes with the inbox row (a duplicate event is skipped).
The unique (dossier, stage) of invoices makes a republished event (a new event id) harmless too.
"""

from __future__ import annotations

import logging

from egov_payment.context import PaymentContext
from egov_payment.invoices import repository as invoices
from egov_payment.invoices import service as invoice_service
from egov_payment.invoices.models import InvoiceStatus
from egov_payment.invoices.rules import (
    ENDING_STATUSES,
    FEES_DUE_STATUS,
    REFUNDABLE_STATUSES,
    STAGE_RESULT,
    STAGE_SUBMISSION,
)
from egov_payment.payments import refunds
from egov_payment.payments.service import lock_payment
from egov_shared.agencies import on_agency_upserted
from egov_shared.contracts.dossier import DossierStatusChanged, DossierSubmitted
from egov_shared.events import CloudEvent
from egov_shared.inbox import EventHandler
from egov_shared.uow import UnitOfWork

log = logging.getLogger(__name__)


def consumers(context: PaymentContext) -> dict[str, EventHandler]:
    settings = context.settings

    async def on_submitted(uow: UnitOfWork, data: DossierSubmitted, event: CloudEvent) -> None:
        await invoice_service.create_for_dossier(
            uow,
            settings,
            dossier_id=data.dossier_id,
            dossier_code=data.code,
            agency_code=data.agency_code,
            applicant_id=data.applicant_id,
            fees=data.fees,
            stage=STAGE_SUBMISSION,
        )

    async def on_status_changed(uow: UnitOfWork, data: DossierStatusChanged, event: CloudEvent) -> None:
        if data.to_status == FEES_DUE_STATUS and data.fees:
            submission = await invoices.for_dossier_stage(uow.session, data.dossier_id, STAGE_SUBMISSION)
            if submission is not None and submission.status == InvoiceStatus.UNPAID:
                # The dossier waits in status 6 for the fees billed at submission: nothing new is due.
                log.info(
                    "status 6 for fees still unpaid from submission",
                    extra={"dossier_id": str(data.dossier_id)},
                )
                return
            await invoice_service.create_for_dossier(
                uow,
                settings,
                dossier_id=data.dossier_id,
                dossier_code=data.code,
                agency_code=data.agency_code,
                applicant_id=data.applicant_id,
                fees=data.fees,
                stage=STAGE_RESULT,
            )
        elif data.to_status in ENDING_STATUSES:
            await end_for_dossier(uow, data)

    return {
        DossierSubmitted.event_type: on_submitted,
        DossierStatusChanged.event_type: on_status_changed,
        "identity.agency_upserted": on_agency_upserted,
    }


async def end_for_dossier(uow: UnitOfWork, data: DossierStatusChanged) -> None:
    """Refused (3), withdrawn (7) or stopped (8): what is unpaid is no longer due; what was paid is refunded
    when svc-dossier says a refund is owed (``refund_required``)."""
    reason = refunds.DOSSIER_REASONS[data.to_status]
    for invoice in await invoices.lock_for_dossier(uow.session, data.dossier_id):
        if invoice.status == InvoiceStatus.UNPAID:
            invoice_service.cancel(uow.session, invoice, reason, by=f"dossier:{data.action}"[:64])
        elif invoice.status in REFUNDABLE_STATUSES and data.refund_required and invoice.paid_payment_id:
            # Paid, perhaps partly refunded by finance already: what is left goes back.
            payment = await lock_payment(uow.session, invoice.paid_payment_id)
            if payment is not None:
                await refunds.request(uow, invoice=invoice, payment=payment, reason=reason)
