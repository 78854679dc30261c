"""Events published by svc-payment."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar, Literal

from pydantic import Field

from egov_shared.contracts import EventData

FeeStage = Literal["submission", "result"]


class PaymentFeePaid(EventData):
    """An invoice is paid in full and its receipt issued. For a dossier's fees, svc-dossier moves the dossier on."""

    event_type: ClassVar[str] = "payment.fee_paid"

    invoice_id: uuid.UUID
    # Set when the invoice is a dossier's fees; ``stage`` says which (at submission, or before the result).
    dossier_id: uuid.UUID | None = None
    stage: FeeStage | None = None
    agency_code: str
    amount_vnd: int = Field(gt=0)
    provider: str
    receipt_number: str
    receipt_id: uuid.UUID | None = None
    paid_at: dt.datetime


class PaymentRefunded(EventData):
    """Money went back to the payer (a refused or withdrawn dossier, an overpayment)."""

    event_type: ClassVar[str] = "payment.refunded"

    invoice_id: uuid.UUID
    dossier_id: uuid.UUID | None = None
    stage: FeeStage | None = None
    agency_code: str
    amount_vnd: int = Field(gt=0)
    provider: str
    reason: str
    refunded_at: dt.datetime
