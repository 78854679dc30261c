"""Pure rules of invoices: references, fee lines, who may see what, and which dossier changes matter."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

# Crockford-like alphabet without 0/O and 1/I/L: references are read aloud and typed into bank apps.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

# dossier.status_changed into these statuses ends the obligation: refused (3), withdrawn (7), stopped (8).
ENDING_STATUSES = frozenset({3, 7, 8})
# dossier.status_changed into 6: a financial obligation is due before the result.
FEES_DUE_STATUS = 6

STAGE_SUBMISSION = "submission"
STAGE_RESULT = "result"

LINE_KINDS = {"phi": "Phí", "le_phi": "Lệ phí"}


def new_reference(prefix: str, length: int = 10) -> str:
    """A random reference such as ``TT7KQ2M9XRB4``: ASCII letters and digits only, so it survives VNPay's
    ``vnp_TxnRef`` and a bank transfer memo (VietQR tag 62.08, at most 25 characters)."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def payable_lines(lines: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The fee lines worth billing: zero-amount lines say "free" and have no place on a receipt."""
    return [
        {"kind": str(line["kind"]), "name": str(line["name"]), "amount_vnd": int(line["amount_vnd"])}
        for line in lines
        if int(line["amount_vnd"]) > 0
    ]


def total(lines: Iterable[Mapping[str, Any]]) -> int:
    return sum(int(line["amount_vnd"]) for line in lines)


def describe_dossier_fees(dossier_code: str, stage: str) -> str:
    when = "khi nộp hồ sơ" if stage == STAGE_SUBMISSION else "trước khi trả kết quả"
    return f"Phí, lệ phí hồ sơ {dossier_code} ({when})"


# Invoice statuses (``InvoiceStatus`` values) in which paid money may still be given back.
REFUNDABLE_STATUSES = frozenset({"paid", "partially_refunded"})


def refundable(status: str, amount_vnd: int, refunded_vnd: int, pending_vnd: int) -> int:
    """Paid money neither given back nor asked back of a provider yet; nothing for an invoice never paid.

    Refunds still waiting for the provider's answer count as gone, so two refunds decided one after the
    other can never together exceed what was paid, whatever the provider answers later.
    """
    if status not in REFUNDABLE_STATUSES:
        return 0
    return max(0, amount_vnd - refunded_vnd - pending_vnd)
