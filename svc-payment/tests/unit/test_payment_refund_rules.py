"""What is still refundable of an invoice: paid money neither given back nor asked back of a provider."""

from __future__ import annotations

import pytest

from egov_payment.invoices.rules import refundable


@pytest.mark.parametrize(
    ("status", "refunded", "pending", "expected"),
    [
        ("paid", 0, 0, 150_000),
        ("paid", 0, 50_000, 100_000),  # asked of VNPay, not yet answered: already out
        ("partially_refunded", 50_000, 0, 100_000),
        ("partially_refunded", 50_000, 100_000, 0),
        ("refunded", 150_000, 0, 0),
        ("unpaid", 0, 0, 0),
        ("cancelled", 0, 0, 0),
    ],
)
def test_refundable(status: str, refunded: int, pending: int, expected: int) -> None:
    assert refundable(status, 150_000, refunded, pending) == expected


def test_never_negative() -> None:
    assert refundable("paid", 150_000, 100_000, 100_000) == 0
