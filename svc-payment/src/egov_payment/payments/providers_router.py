"""Public provider endpoints (no token; the gateway lets ``/api/v1/payments/providers`` through): VNPay's IPN
and return page, the bank's credit notifications, and the VietQR images.

The IPN speaks VNPay's protocol, not problem details: always HTTP 200 with ``{"RspCode", "Message"}``.
"""

from __future__ import annotations

import html
import json
import logging
import uuid

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import ValidationError

from egov_payment.config import PROVIDERS_PATH
from egov_payment.context import PaymentDep
from egov_payment.payments import bank, service
from egov_payment.payments.models import Payment, PaymentStatus
from egov_payment.payments.schemas import BankCreditIn, BankCreditResult
from egov_payment.receipts.signing import sign_receipt
from egov_payment.vietqr import qr_png, qr_svg
from egov_payment.vnpay.protocol import CallbackError, IpnResult, ipn_reply, parse_callback, query_params
from egov_shared.http.app import RuntimeDep, UoWDep
from egov_shared.http.problems import problem_responses
from egov_shared.problems import NotFound, Unauthorized, Unprocessable

log = logging.getLogger(__name__)

router = APIRouter(prefix=PROVIDERS_PATH, tags=["payment providers"])


@router.get(
    "/vnpay/ipn",
    summary="VNPay IPN (server to server, signed): answers RspCode 00/01/02/04/97/99 with HTTP 200",
    responses={
        200: {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["RspCode", "Message"],
                        "properties": {"RspCode": {"type": "string"}, "Message": {"type": "string"}},
                    },
                    "example": {"RspCode": "00", "Message": "Confirm Success"},
                }
            }
        }
    },
)
async def vnpay_ipn(request: Request, uow: UoWDep, runtime: RuntimeDep, context: PaymentDep) -> JSONResponse:
    try:
        params = query_params(request.url.query)
    except CallbackError:
        return JSONResponse(ipn_reply(IpnResult.INVALID_SIGNATURE))
    try:
        outcome = await service.handle_ipn(uow, context, params)
    except Exception:
        log.exception("IPN failed; VNPay will retry")
        return JSONResponse(ipn_reply(IpnResult.UNKNOWN_ERROR))
    if outcome.result is not IpnResult.CONFIRM_SUCCESS:
        log.info(
            "IPN refused", extra={"rsp_code": outcome.result.value, "txn_ref": params.get("vnp_TxnRef", "")}
        )
    if outcome.receipt is not None and context.settings.receipt_signing:
        receipt_id = outcome.receipt.id
        context.in_background(sign_receipt(runtime, context, receipt_id), f"sign-receipt:{receipt_id}")
    return JSONResponse(ipn_reply(outcome.result))


_STATUS_TEXT = {
    PaymentStatus.SUCCEEDED.value: ("Thanh toán thành công", "Biên lai điện tử đã được phát hành."),
    PaymentStatus.FAILED.value: ("Thanh toán không thành công", "Bạn có thể thử thanh toán lại."),
    PaymentStatus.PENDING.value: (
        "Đang chờ xác nhận",
        "Hệ thống đang chờ VNPAY xác nhận giao dịch; vui lòng tải lại trang sau ít phút.",
    ),
}


@router.get(
    "/vnpay/return",
    response_class=HTMLResponse,
    summary="Where VNPay sends the browser back: shows the payment's status as we know it, changes nothing",
    responses={400: {"description": "Unknown or unsigned return link", "content": {"text/html": {}}}},
)
async def vnpay_return(request: Request, runtime: RuntimeDep, context: PaymentDep) -> HTMLResponse:
    reference = ""
    payment = None
    try:
        callback = parse_callback(query_params(request.url.query), context.secret)
    except CallbackError:
        callback = None
    if callback is not None and callback.signature_valid:
        reference = callback.txn_ref
        async with runtime.read_sessionmaker() as session:
            payment = await service.by_reference(session, reference)
    if payment is None:
        title, text = "Không xác định được giao dịch", "Đường dẫn trả về không hợp lệ."
        status_code = 400
    else:
        title, text = _STATUS_TEXT.get(payment.status, _STATUS_TEXT[PaymentStatus.PENDING.value])
        status_code = 200
    rows = "" if payment is None else _rows(payment)
    page = (
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'><title>Kết quả thanh toán</title></head>"
        f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{rows}</body></html>"
    )
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})


def _rows(payment: Payment) -> str:
    amount = f"{payment.amount_vnd:,}".replace(",", ".") + " đồng"
    cells = (("Mã giao dịch", payment.reference), ("Số tiền", amount), ("Trạng thái", payment.status))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in cells)
    return f"<table>{body}</table>"


@router.post(
    "/bank/credits",
    response_model=BankCreditResult,
    summary="A bank's credit notification (X-Signature: sha256=HMAC-SHA256 of the body); replays are idempotent",
    responses=problem_responses(401, 422),
)
async def bank_credit(
    request: Request, uow: UoWDep, runtime: RuntimeDep, context: PaymentDep
) -> BankCreditResult:
    raw = await request.body()
    secret = context.settings.bank_webhook_secret.get_secret_value()
    if not bank.signature_valid(secret, raw, request.headers.get("x-signature")):
        raise Unauthorized("Chữ ký của thông báo không hợp lệ.", code="bank.invalid_signature")
    try:
        credit = BankCreditIn.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        errors = (
            [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
            if isinstance(exc, ValidationError)
            else [{"field": "body", "message": "Không phải JSON."}]
        )
        raise Unprocessable(
            "Thông báo giao dịch không hợp lệ.", code="bank.invalid_credit", errors=errors
        ) from exc
    result, receipt = await bank.receive_credit(uow, context, credit, source="webhook")
    await uow.commit()
    if receipt is not None and context.settings.receipt_signing:
        context.in_background(sign_receipt(runtime, context, receipt.id), f"sign-receipt:{receipt.id}")
    return result


async def _qr_payload(runtime: RuntimeDep, payment_id: uuid.UUID) -> str:
    async with runtime.read_sessionmaker() as session:
        payment = await session.get(Payment, payment_id)
    if payment is None or not payment.qr_payload:
        raise NotFound("Không có mã QR này.", code="payment.qr_not_found")
    return payment.qr_payload


@router.get(
    "/vietqr/{payment_id}/qr.png",
    response_class=Response,
    summary="The VietQR of a payment as PNG (the payment id is the capability)",
    responses={200: {"content": {"image/png": {}}}, **problem_responses(404, 422)},
)
async def vietqr_png(payment_id: uuid.UUID, runtime: RuntimeDep) -> Response:
    return Response(qr_png(await _qr_payload(runtime, payment_id)), media_type="image/png")


@router.get(
    "/vietqr/{payment_id}/qr.svg",
    response_class=Response,
    summary="The VietQR of a payment as SVG",
    responses={200: {"content": {"image/svg+xml": {}}}, **problem_responses(404, 422)},
)
async def vietqr_svg(payment_id: uuid.UUID, runtime: RuntimeDep) -> Response:
    return Response(qr_svg(await _qr_payload(runtime, payment_id)), media_type="image/svg+xml")
