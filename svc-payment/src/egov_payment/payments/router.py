"""``/api/v1/payments``: start a payment, read it; finance imports bank statements and reads the daily
report and the statistics. The providers' own endpoints are in ``providers_router``."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from sqlalchemy import select

from egov_payment.context import PaymentDep
from egov_payment.invoices.service import is_finance, visible_agencies
from egov_payment.payments import bank, service
from egov_payment.payments.schemas import (
    PaymentCreate,
    PaymentRead,
    ProviderReport,
    StatementResult,
    StatisticsRead,
    payment_read,
)
from egov_payment.receipts.models import Receipt, ReceiptStatus
from egov_payment.receipts.signing import sign_receipt
from egov_payment.reconciliation import daily_report, day_bounds
from egov_payment.statistics import by_agency, totals
from egov_shared.auth.dependencies import CurrentPrincipal
from egov_shared.auth.tokens import Principal
from egov_shared.http.app import RuntimeDep, UoWDep
from egov_shared.http.idempotency import Idempotency
from egov_shared.http.problems import problem_responses
from egov_shared.problems import Forbidden, Unprocessable

router = APIRouter(prefix="/api/v1/payments", tags=["payments"])

MAX_STATEMENT_BYTES = 5 * 1024 * 1024
MAX_PERIOD_DAYS = 366
# Days outside these make the day-bounds arithmetic overflow (found by the API fuzzer): a 422, not a 500.
EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


def _client_ip(request: Request) -> str:
    forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
    return forwarded or (request.client.host if request.client else "") or "127.0.0.1"


def _require_finance(principal: Principal) -> None:
    if not is_finance(principal):
        raise Forbidden("Cần vai trò kế toán (finance).", code="auth.role_required")


@router.post(
    "",
    status_code=201,
    response_model=PaymentRead,
    summary="Pay an invoice: a VNPay payment URL, a VietQR transfer, or cash (finance); Idempotency-Key",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def create_payment(
    body: PaymentCreate,
    request: Request,
    principal: CurrentPrincipal,
    uow: UoWDep,
    runtime: RuntimeDep,
    context: PaymentDep,
    idem: Idempotency,
) -> Response:
    issued: list[uuid.UUID] = []

    async def action() -> PaymentRead:
        payment, receipt = await service.create(uow, context, principal, body, client_ip=_client_ip(request))
        if receipt is not None:
            issued.append(receipt.id)
        return payment_read(payment, context.settings, receipt_id=receipt.id if receipt else None)

    response = await idem.run(uow, body, action, response_model=PaymentRead)
    if context.settings.receipt_signing:
        # Cash settles at once: sign its receipt after the commit, as after an IPN.
        for receipt_id in issued:
            context.in_background(sign_receipt(runtime, context, receipt_id), f"sign-receipt:{receipt_id}")
    return response


@router.post(
    "/bank-statements",
    response_model=StatementResult,
    summary="Import a bank statement CSV (transaction_id,account,amount,memo,credited_at); finance",
    responses=problem_responses(401, 403, 413, 422),
)
async def import_statement(
    file: Annotated[UploadFile, File(description="CSV, UTF-8")],
    principal: CurrentPrincipal,
    uow: UoWDep,
    runtime: RuntimeDep,
    context: PaymentDep,
) -> StatementResult:
    _require_finance(principal)
    raw = await file.read(MAX_STATEMENT_BYTES + 1)
    if len(raw) > MAX_STATEMENT_BYTES:
        raise Unprocessable("Tệp sao kê quá lớn (tối đa 5 MB).", code="statement.too_large")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable("Tệp sao kê phải là CSV UTF-8.", code="statement.not_utf8") from exc
    credits = bank.parse_statement(text)
    result = StatementResult(rows=len(credits), matched=0, unmatched=0, duplicates=0)
    receipts = []
    for credit in credits:
        outcome, receipt = await bank.receive_credit(uow, context, credit, source="statement")
        if outcome.duplicate:
            result.duplicates += 1
        elif outcome.status == "matched":
            result.matched += 1
        else:
            result.unmatched += 1
        if receipt is not None:
            receipts.append(receipt.id)
    await uow.commit()
    if context.settings.receipt_signing:
        for receipt_id in receipts:
            context.in_background(sign_receipt(runtime, context, receipt_id), f"sign-receipt:{receipt_id}")
    return result


@router.get(
    "/reports/daily",
    response_model=ProviderReport,
    summary="Daily report of one provider (Vietnamese calendar day): count, sum, mismatches; finance",
    responses=problem_responses(401, 403, 422),
)
async def report_daily(
    principal: CurrentPrincipal,
    uow: UoWDep,
    runtime: RuntimeDep,
    date: Annotated[dt.date, Query(ge=EARLIEST, le=LATEST)],
    provider: Annotated[Literal["vnpay", "vietqr", "cash"], Query()],
) -> ProviderReport:
    _require_finance(principal)
    agencies = await visible_agencies(uow.session, principal, None)
    return await daily_report(runtime, day=date, provider=provider, agencies=agencies)


@router.get(
    "/statistics",
    response_model=StatisticsRead,
    summary="Cashless share and amounts by agency (its subtree) and period [from, to] (Vietnamese days)",
    responses=problem_responses(401, 403, 422),
)
async def statistics(
    principal: CurrentPrincipal,
    uow: UoWDep,
    agency_code: Annotated[str, Query(max_length=13)],
    from_: Annotated[dt.date, Query(alias="from", ge=EARLIEST, le=LATEST)],
    to: Annotated[dt.date, Query(ge=EARLIEST, le=LATEST)],
) -> StatisticsRead:
    if to < from_ or (to - from_).days > MAX_PERIOD_DAYS:
        raise Unprocessable(
            f"Khoảng thời gian phải từ 1 đến {MAX_PERIOD_DAYS} ngày, 'from' không sau 'to'.",
            code="statistics.bad_period",
            errors=[{"field": "to", "message": "Khoảng thời gian không hợp lệ."}],
        )
    agencies = await visible_agencies(uow.session, principal, agency_code)
    start, _ = day_bounds(from_)
    _, end = day_bounds(to)
    rows = await by_agency(uow.session, agencies=agencies, start=start, end=end)
    return StatisticsRead(
        agency_code=agency_code, from_date=from_, to_date=to, totals=totals(agency_code, rows), agencies=rows
    )


@router.get("/{payment_id}", response_model=PaymentRead, responses=problem_responses(401, 404, 422))
async def get_payment(
    payment_id: uuid.UUID, principal: CurrentPrincipal, uow: UoWDep, context: PaymentDep
) -> PaymentRead:
    payment = await service.visible(uow.session, principal, payment_id)
    receipt_id = await uow.session.scalar(
        select(Receipt.id)
        .where(Receipt.payment_id == payment.id, Receipt.status == ReceiptStatus.ISSUED.value)
        .order_by(Receipt.issued_at.desc())
        .limit(1)
    )
    return payment_read(payment, context.settings, receipt_id=receipt_id)
