"""Events svc-dossier reacts to: payments move fee waits on, refunds are logged, the agency tree is replicated."""

from __future__ import annotations

from egov_dossier.dossiers import service
from egov_shared.agencies import on_agency_upserted
from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.contracts.payment import PaymentFeePaid, PaymentRefunded
from egov_shared.db import utcnow
from egov_shared.events import CloudEvent
from egov_shared.inbox import EventHandler
from egov_shared.uow import UnitOfWork


async def on_fee_paid(uow: UnitOfWork, data: PaymentFeePaid, event: CloudEvent) -> None:
    if data.dossier_id is None:
        return  # an invoice for something else than a dossier
    await service.fee_paid(
        uow,
        data.dossier_id,
        stage=data.stage,
        amount_vnd=data.amount_vnd,
        receipt_number=data.receipt_number,
        provider=data.provider,
        paid_at=data.paid_at,
        now=utcnow(),
    )


async def on_refunded(uow: UnitOfWork, data: PaymentRefunded, event: CloudEvent) -> None:
    if data.dossier_id is None:
        return
    await service.refunded(
        uow, data.dossier_id, amount_vnd=data.amount_vnd, reason=data.reason, refunded_at=data.refunded_at
    )


CONSUMERS: dict[str, EventHandler] = {
    AgencyUpserted.event_type: on_agency_upserted,
    PaymentFeePaid.event_type: on_fee_paid,
    PaymentRefunded.event_type: on_refunded,
}
