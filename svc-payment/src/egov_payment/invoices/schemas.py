"""Request and response bodies of ``/api/v1/invoices``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from egov_shared.contracts.identity import AGENCY_CODE_PATTERN

# Integer VND, strictly: 1.5, "100" and true are refused (422), never rounded.
AmountVnd = Annotated[StrictInt, Field(gt=0, le=10**13)]


class InvoiceLine(BaseModel):
    kind: Literal["phi", "le_phi"] = Field(description="phi (fee) or le_phi (charge)")
    name: str = Field(min_length=1, max_length=300)
    amount_vnd: AmountVnd


class InvoiceCreate(BaseModel):
    """An obligation billed by a finance officer (not a dossier's fees: those come from svc-dossier)."""

    agency_code: str = Field(pattern=AGENCY_CODE_PATTERN)
    payer_id: str | None = Field(default=None, max_length=64, description="The payer's subject id, if known")
    payer_name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=500)
    lines: list[InvoiceLine] = Field(min_length=1, max_length=50)
    due_at: dt.datetime | None = None


class InvoiceCancel(BaseModel):
    reason: str = Field(min_length=3, max_length=500)


class InvoiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reference: str
    dossier_id: uuid.UUID | None
    dossier_code: str | None
    stage: str | None
    agency_code: str
    payer_id: str | None
    payer_name: str | None
    description: str
    lines: list[InvoiceLine]
    amount_vnd: int
    refunded_vnd: int = Field(description="Given back (by the provider, or handed to the treasury)")
    refund_pending_vnd: int = Field(description="Asked back of the provider (VNPay), not yet answered")
    refundable_vnd: int = Field(
        description="Still refundable: send it as the guard of POST /api/v1/invoices/{id}/refunds"
    )
    status: str
    due_at: dt.datetime
    paid_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    version: int
    created_at: dt.datetime
