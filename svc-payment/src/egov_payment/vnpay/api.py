"""VNPay's merchant JSON API (``POST /merchant_webapi/api/transaction``): ``querydr`` and ``refund``.

Unlike the query-string protocol, these bodies are signed over their values joined with ``|`` in a fixed
order (payment.md), unencoded; a field that is absent counts as the empty string. Responses are signed the
same way over their own field list (the order VNPay documents; also used by the public ``vnpay`` npm library).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from egov_payment.vnpay.protocol import (
    AMOUNT_FACTOR,
    SECURE_HASH,
    VERSION,
    TransactionStatus,
    format_date,
    hmac_sha512,
    order_info_text,
    parse_date,
    signatures_match,
)

API_PATH = "/merchant_webapi/api/transaction"
SANDBOX_API_URL = "https://sandbox.vnpayment.vn" + API_PATH

QUERYDR = "querydr"
REFUND = "refund"

QUERYDR_FIELDS: tuple[str, ...] = (
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_TransactionDate",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
)
REFUND_FIELDS: tuple[str, ...] = (
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TransactionType",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_TransactionNo",
    "vnp_TransactionDate",
    "vnp_CreateBy",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
)
REFUND_RESPONSE_FIELDS: tuple[str, ...] = (
    "vnp_ResponseId",
    "vnp_Command",
    "vnp_ResponseCode",
    "vnp_Message",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_BankCode",
    "vnp_PayDate",
    "vnp_TransactionNo",
    "vnp_TransactionType",
    "vnp_TransactionStatus",
    "vnp_OrderInfo",
)
QUERYDR_RESPONSE_FIELDS: tuple[str, ...] = (
    *REFUND_RESPONSE_FIELDS,
    "vnp_PromotionCode",
    "vnp_PromotionAmount",
)

REQUEST_FIELDS: dict[str, tuple[str, ...]] = {QUERYDR: QUERYDR_FIELDS, REFUND: REFUND_FIELDS}
RESPONSE_FIELDS: dict[str, tuple[str, ...]] = {
    QUERYDR: QUERYDR_RESPONSE_FIELDS,
    REFUND: REFUND_RESPONSE_FIELDS,
}

_REQUEST_ID = re.compile(r"[A-Za-z0-9]{1,32}")


class TransactionType(StrEnum):
    """``vnp_TransactionType``: what a transaction at VNPay is (refund requests use 02 or 03)."""

    PAYMENT = "01"
    FULL_REFUND = "02"
    PARTIAL_REFUND = "03"


class ApiResponseCode(StrEnum):
    """``vnp_ResponseCode`` of the querydr and refund API (not of a payment)."""

    SUCCESS = "00"
    INVALID_MERCHANT = "02"
    INVALID_FORMAT = "03"
    NOT_FOUND = "91"
    DUPLICATE_REQUEST = "94"
    REFUSED = "95"
    INVALID_CHECKSUM = "97"
    OTHER = "99"

    @property
    def description(self) -> str:
        return _API_DESCRIPTIONS[self]


_API_DESCRIPTIONS: dict[ApiResponseCode, str] = {
    ApiResponseCode.SUCCESS: "Yêu cầu thành công",
    ApiResponseCode.INVALID_MERCHANT: "Mã định danh kết nối không hợp lệ (kiểm tra lại vnp_TmnCode)",
    ApiResponseCode.INVALID_FORMAT: "Dữ liệu gửi sang không đúng định dạng",
    ApiResponseCode.NOT_FOUND: "Không tìm thấy giao dịch yêu cầu",
    ApiResponseCode.DUPLICATE_REQUEST: "Yêu cầu bị trùng lặp trong thời gian giới hạn của API",
    ApiResponseCode.REFUSED: "Giao dịch này không thành công bên VNPAY. VNPAY từ chối xử lý yêu cầu",
    ApiResponseCode.INVALID_CHECKSUM: "Checksum không hợp lệ",
    ApiResponseCode.OTHER: "Các lỗi khác",
}


# --- the pipe signature ----------------------------------------------------------------------------------


def field_text(value: object) -> str:
    """A JSON value as it enters the hashed text (VNPay sends numbers as strings, but be lenient)."""
    return "" if value is None else str(value)


def pipe_data(body: Mapping[str, object], fields: Sequence[str]) -> str:
    return "|".join(field_text(body.get(name)) for name in fields)


def sign_fields(body: Mapping[str, object], fields: Sequence[str], secret: str) -> str:
    return hmac_sha512(secret, pipe_data(body, fields))


def verify_fields(body: Mapping[str, object], fields: Sequence[str], secret: str) -> bool:
    received = field_text(body.get(SECURE_HASH))
    return bool(received) and signatures_match(sign_fields(body, fields, secret), received)


def verify_request(body: Mapping[str, object], secret: str) -> bool:
    """Whether a querydr or refund request carries a valid signature for its ``vnp_Command``."""
    fields = REQUEST_FIELDS.get(field_text(body.get("vnp_Command")))
    return fields is not None and verify_fields(body, fields, secret)


def sign_response(body: Mapping[str, object], secret: str) -> str:
    """``vnp_SecureHash`` of a querydr or refund response (chosen by its ``vnp_Command``)."""
    return sign_fields(body, RESPONSE_FIELDS[field_text(body.get("vnp_Command"))], secret)


# --- requests --------------------------------------------------------------------------------------------


def _check_request_id(request_id: str) -> None:
    if not _REQUEST_ID.fullmatch(request_id):
        raise ValueError("request_id must be 1 to 32 letters or digits, unique within the day")


def querydr_request(
    *,
    tmn_code: str,
    secret: str,
    request_id: str,
    txn_ref: str,
    transaction_date: datetime,
    create_date: datetime,
    ip_addr: str,
    order_info: str,
    transaction_no: str = "",
) -> dict[str, str]:
    """The signed JSON body asking VNPay for the state of payment ``txn_ref``.

    ``transaction_date`` is the ``vnp_CreateDate`` of the payment request; ``create_date`` is now.
    """
    _check_request_id(request_id)
    body = {
        "vnp_RequestId": request_id,
        "vnp_Version": VERSION,
        "vnp_Command": QUERYDR,
        "vnp_TmnCode": tmn_code,
        "vnp_TxnRef": txn_ref,
        "vnp_OrderInfo": order_info_text(order_info),
        "vnp_TransactionDate": format_date(transaction_date),
        "vnp_CreateDate": format_date(create_date),
        "vnp_IpAddr": ip_addr,
    }
    if transaction_no:
        body["vnp_TransactionNo"] = transaction_no
    body[SECURE_HASH] = sign_fields(body, QUERYDR_FIELDS, secret)
    return body


def refund_request(
    *,
    tmn_code: str,
    secret: str,
    request_id: str,
    txn_ref: str,
    amount_vnd: int,
    transaction_type: TransactionType,
    transaction_date: datetime,
    create_by: str,
    create_date: datetime,
    ip_addr: str,
    order_info: str,
    transaction_no: str = "",
) -> dict[str, str]:
    """The signed JSON body asking VNPay to refund ``amount_vnd`` of payment ``txn_ref``.

    ``transaction_type`` is ``FULL_REFUND`` (02) or ``PARTIAL_REFUND`` (03); ``create_by`` names the official
    who asked; ``transaction_no`` is VNPay's number of the payment (from its IPN), when known.
    """
    _check_request_id(request_id)
    if transaction_type not in (TransactionType.FULL_REFUND, TransactionType.PARTIAL_REFUND):
        raise ValueError("a refund is of type 02 (full) or 03 (partial)")
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int) or amount_vnd <= 0:
        raise ValueError("amount_vnd must be a positive whole number of VND")
    if not create_by:
        raise ValueError("create_by is required")
    body = {
        "vnp_RequestId": request_id,
        "vnp_Version": VERSION,
        "vnp_Command": REFUND,
        "vnp_TmnCode": tmn_code,
        "vnp_TransactionType": transaction_type.value,
        "vnp_TxnRef": txn_ref,
        "vnp_Amount": str(amount_vnd * AMOUNT_FACTOR),
        "vnp_OrderInfo": order_info_text(order_info),
        "vnp_TransactionDate": format_date(transaction_date),
        "vnp_CreateBy": create_by,
        "vnp_CreateDate": format_date(create_date),
        "vnp_IpAddr": ip_addr,
    }
    if transaction_no:
        body["vnp_TransactionNo"] = transaction_no
    body[SECURE_HASH] = sign_fields(body, REFUND_FIELDS, secret)
    return body


# --- responses -------------------------------------------------------------------------------------------


def _amount(value: object) -> int | None:
    text = field_text(value)
    if not text.isascii() or not text.isdigit():
        return None
    hundreds, rest = divmod(int(text), AMOUNT_FACTOR)
    return None if rest else hundreds


def _date(value: object) -> datetime | None:
    try:
        return parse_date(field_text(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class ApiResult:
    """A querydr or refund response. Believe nothing in it unless ``signature_valid``."""

    signature_valid: bool
    command: str
    response_code: str
    message: str
    tmn_code: str
    txn_ref: str
    amount_vnd: int | None
    transaction_no: str
    transaction_type: str
    transaction_status: str
    bank_code: str
    pay_date: datetime | None
    order_info: str

    @property
    def ok(self) -> bool:
        """The request was carried out (a refund accepted, a query answered)."""
        return self.signature_valid and self.response_code == ApiResponseCode.SUCCESS

    @property
    def paid(self) -> bool:
        """For querydr: the payment itself succeeded at VNPay."""
        return (
            self.ok
            and self.transaction_type in ("", TransactionType.PAYMENT)
            and self.transaction_status == TransactionStatus.SUCCESS
        )


def parse_response(body: Mapping[str, object], secret: str, *, command: str) -> ApiResult:
    """Parse and verify a querydr or refund response; ``command`` is what was asked (a response claiming
    another command does not verify)."""
    fields = RESPONSE_FIELDS[command]
    valid = field_text(body.get("vnp_Command")) == command and verify_fields(body, fields, secret)
    return ApiResult(
        signature_valid=valid,
        command=field_text(body.get("vnp_Command")),
        response_code=field_text(body.get("vnp_ResponseCode")),
        message=field_text(body.get("vnp_Message")),
        tmn_code=field_text(body.get("vnp_TmnCode")),
        txn_ref=field_text(body.get("vnp_TxnRef")),
        amount_vnd=_amount(body.get("vnp_Amount")),
        transaction_no=field_text(body.get("vnp_TransactionNo")),
        transaction_type=field_text(body.get("vnp_TransactionType")),
        transaction_status=field_text(body.get("vnp_TransactionStatus")),
        bank_code=field_text(body.get("vnp_BankCode")),
        pay_date=_date(body.get("vnp_PayDate")),
        order_info=field_text(body.get("vnp_OrderInfo")),
    )


def parse_querydr_response(body: Mapping[str, object], secret: str) -> ApiResult:
    return parse_response(body, secret, command=QUERYDR)


def parse_refund_response(body: Mapping[str, object], secret: str) -> ApiResult:
    return parse_response(body, secret, command=REFUND)
