"""Events published by svc-document."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import ClassVar

from egov_shared.contracts import EventData


class DocumentSigned(EventData):
    """A file was signed (PAdES) as an agency; ``signed_file_id`` is the signed copy."""

    event_type: ClassVar[str] = "document.signed"

    source_file_id: uuid.UUID
    signed_file_id: uuid.UUID
    agency_code: str
    signer: str
    # What the signature is for, as the requesting service named it (e.g. "dossier:<id>", "receipt:<id>").
    reference: str | None = None
    signed_at: dt.datetime


class DocumentIssued(EventData):
    event_type: ClassVar[str] = "document.issued"

    document_id: uuid.UUID
    agency_code: str
    number_and_symbol: str
    issued_at: dt.datetime


class DocumentReceived(EventData):
    event_type: ClassVar[str] = "document.received"

    document_id: uuid.UUID
    agency_code: str
    arrival_number: int
    sender_organ_id: str
    received_at: dt.datetime
