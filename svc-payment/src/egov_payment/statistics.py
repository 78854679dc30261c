"""Cashless share and amounts by agency and period, from two grouped aggregate queries.

Invoices are counted by creation time (``ix_invoices_agency_created``); payments by the time they succeeded
(``ix_payments_agency_status_succeeded``). Overpayments are money to give back, not fees collected, so they
are left out. Cashless means any provider but cash at the desk (dossier.md: "share paid online").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from egov_payment.invoices.models import Invoice, InvoiceStatus
from egov_payment.payments.models import Payment, PaymentStatus
from egov_payment.payments.schemas import AgencyStatistics


def share(part: int, whole: int) -> float | None:
    """Percent with 2 decimals; None when there is nothing to divide by (reported as N/A)."""
    return None if whole == 0 else round(100 * part / whole, 2)


async def by_agency(
    session: AsyncSession, *, agencies: Collection[str], start: dt.datetime, end: dt.datetime
) -> list[AgencyStatistics]:
    invoiced = (
        await session.execute(
            select(Invoice.agency_code, func.count(), func.coalesce(func.sum(Invoice.amount_vnd), 0))
            .where(
                Invoice.agency_code.in_(agencies),
                Invoice.created_at >= start,
                Invoice.created_at < end,
                Invoice.status != InvoiceStatus.CANCELLED.value,
            )
            .group_by(Invoice.agency_code)
        )
    ).all()
    paid = (
        await session.execute(
            select(
                Payment.agency_code,
                Payment.provider,
                func.count(),
                func.coalesce(func.sum(Payment.amount_vnd), 0),
            )
            .where(
                Payment.agency_code.in_(agencies),
                Payment.status == PaymentStatus.SUCCEEDED.value,
                Payment.succeeded_at >= start,
                Payment.succeeded_at < end,
                Payment.overpayment.is_(False),
            )
            .group_by(Payment.agency_code, Payment.provider)
        )
    ).all()
    rows: dict[str, dict[str, int]] = {}

    def row(code: str) -> dict[str, int]:
        return rows.setdefault(
            code,
            {"invoices": 0, "invoiced_vnd": 0, "paid": 0, "paid_vnd": 0, "cashless": 0, "cashless_vnd": 0},
        )

    for code, count, amount in invoiced:
        row(code).update(invoices=int(count), invoiced_vnd=int(amount))
    for code, provider, count, amount in paid:
        target = row(code)
        target["paid"] += int(count)
        target["paid_vnd"] += int(amount)
        if provider != "cash":
            target["cashless"] += int(count)
            target["cashless_vnd"] += int(amount)
    return [statistics_row(code, values) for code, values in sorted(rows.items())]


def statistics_row(code: str, values: dict[str, int]) -> AgencyStatistics:
    return AgencyStatistics(
        agency_code=code,
        invoices=values["invoices"],
        invoiced_vnd=values["invoiced_vnd"],
        paid=values["paid"],
        paid_vnd=values["paid_vnd"],
        paid_cashless=values["cashless"],
        paid_cashless_vnd=values["cashless_vnd"],
        cashless_share=share(values["cashless"], values["paid"]),
        cashless_amount_share=share(values["cashless_vnd"], values["paid_vnd"]),
    )


def totals(code: str, agencies: list[AgencyStatistics]) -> AgencyStatistics:
    values = {
        "invoices": sum(a.invoices for a in agencies),
        "invoiced_vnd": sum(a.invoiced_vnd for a in agencies),
        "paid": sum(a.paid for a in agencies),
        "paid_vnd": sum(a.paid_vnd for a in agencies),
        "cashless": sum(a.paid_cashless for a in agencies),
        "cashless_vnd": sum(a.paid_cashless_vnd for a in agencies),
    }
    return statistics_row(code, values)
