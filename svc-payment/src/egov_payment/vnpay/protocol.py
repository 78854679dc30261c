"""VNPay 2.1.0 query-string protocol: signing, the payment URL, the return URL and IPN, and the IPN reply.

The signature rule (payment.md): every non-empty ``vnp_*`` field except ``vnp_SecureHash`` and
``vnp_SecureHashType``, keys sorted ascending, ``key=quote_plus(value)`` joined with ``&``, HMAC-SHA512 with
the hash secret, lowercase hex. Demos that hash the unencoded values agree with VNPay only while no value
contains a space or a reserved character, which is why the encoding is part of the hashed text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from urllib.parse import parse_qsl, quote_plus

VERSION = "2.1.0"
PAY_COMMAND = "pay"
CURRENCY = "VND"
PAYMENT_PATH = "/paymentv2/vpcpay.html"
SANDBOX_PAYMENT_URL = "https://sandbox.vnpayment.vn" + PAYMENT_PATH

SECURE_HASH = "vnp_SecureHash"
SECURE_HASH_TYPE = "vnp_SecureHashType"

# VNPay's clock: every date field is wall time in Vietnam, yyyyMMddHHmmss, without an offset.
GMT7 = timezone(timedelta(hours=7), "GMT+7")
DATE_FORMAT = "%Y%m%d%H%M%S"

# vnp_Amount is VND x 100 (VNPay's way of removing a decimal part VND does not have).
AMOUNT_FACTOR = 100


class ResponseCode(StrEnum):
    """``vnp_ResponseCode`` of a payment (return URL and IPN)."""

    SUCCESS = "00"
    SUSPICIOUS = "07"
    NOT_REGISTERED_INTERNET_BANKING = "09"
    AUTHENTICATION_FAILED = "10"
    EXPIRED = "11"
    ACCOUNT_LOCKED = "12"
    WRONG_OTP = "13"
    CANCELLED = "24"
    INSUFFICIENT_BALANCE = "51"
    DAILY_LIMIT = "65"
    BANK_MAINTENANCE = "75"
    WRONG_PASSWORD_TOO_OFTEN = "79"
    OTHER = "99"

    @property
    def description(self) -> str:
        return _RESPONSE_DESCRIPTIONS[self]


_RESPONSE_DESCRIPTIONS: dict[ResponseCode, str] = {
    ResponseCode.SUCCESS: "Giao dịch thành công",
    ResponseCode.SUSPICIOUS: "Trừ tiền thành công. Giao dịch bị nghi ngờ (liên quan tới lừa đảo, giao dịch bất thường)",
    ResponseCode.NOT_REGISTERED_INTERNET_BANKING: (
        "Giao dịch không thành công do: Thẻ/Tài khoản của khách hàng chưa đăng ký dịch vụ InternetBanking tại ngân hàng"
    ),
    ResponseCode.AUTHENTICATION_FAILED: (
        "Giao dịch không thành công do: Khách hàng xác thực thông tin thẻ/tài khoản không đúng quá 3 lần"
    ),
    ResponseCode.EXPIRED: "Giao dịch không thành công do: Đã hết hạn chờ thanh toán",
    ResponseCode.ACCOUNT_LOCKED: "Giao dịch không thành công do: Thẻ/Tài khoản của khách hàng bị khóa",
    ResponseCode.WRONG_OTP: "Giao dịch không thành công do: Quý khách nhập sai mật khẩu xác thực giao dịch (OTP)",
    ResponseCode.CANCELLED: "Giao dịch không thành công do: Khách hàng hủy giao dịch",
    ResponseCode.INSUFFICIENT_BALANCE: (
        "Giao dịch không thành công do: Tài khoản của quý khách không đủ số dư để thực hiện giao dịch"
    ),
    ResponseCode.DAILY_LIMIT: (
        "Giao dịch không thành công do: Tài khoản của Quý khách đã vượt quá hạn mức giao dịch trong ngày"
    ),
    ResponseCode.BANK_MAINTENANCE: "Ngân hàng thanh toán đang bảo trì",
    ResponseCode.WRONG_PASSWORD_TOO_OFTEN: (
        "Giao dịch không thành công do: Quý khách nhập sai mật khẩu thanh toán quá số lần quy định"
    ),
    ResponseCode.OTHER: "Các lỗi khác",
}


class TransactionStatus(StrEnum):
    """``vnp_TransactionStatus``: the state of the transaction at VNPay."""

    SUCCESS = "00"
    NOT_COMPLETED = "01"
    ERROR = "02"
    REVERSED = "04"
    REFUND_PROCESSING = "05"
    REFUND_SENT = "06"
    SUSPECTED_FRAUD = "07"
    REFUND_REJECTED = "09"

    @property
    def description(self) -> str:
        return _STATUS_DESCRIPTIONS[self]


_STATUS_DESCRIPTIONS: dict[TransactionStatus, str] = {
    TransactionStatus.SUCCESS: "Giao dịch thành công",
    TransactionStatus.NOT_COMPLETED: "Giao dịch chưa hoàn tất",
    TransactionStatus.ERROR: "Giao dịch bị lỗi",
    TransactionStatus.REVERSED: (
        "Giao dịch đảo (khách hàng đã bị trừ tiền tại ngân hàng nhưng giao dịch chưa thành công ở VNPAY)"
    ),
    TransactionStatus.REFUND_PROCESSING: "VNPAY đang xử lý giao dịch hoàn tiền",
    TransactionStatus.REFUND_SENT: "VNPAY đã gửi yêu cầu hoàn tiền sang ngân hàng",
    TransactionStatus.SUSPECTED_FRAUD: "Giao dịch bị nghi ngờ gian lận",
    TransactionStatus.REFUND_REJECTED: "Giao dịch hoàn trả bị từ chối",
}


def describe_response(code: str) -> str:
    """The Vietnamese description of any ``vnp_ResponseCode``, known or not."""
    try:
        return ResponseCode(code).description
    except ValueError:
        return f"Mã phản hồi {code} không xác định"


def describe_status(code: str) -> str:
    try:
        return TransactionStatus(code).description
    except ValueError:
        return f"Trạng thái giao dịch {code} không xác định"


# --- signature -------------------------------------------------------------------------------------------


def hash_data(params: Mapping[str, str]) -> str:
    """The exact text VNPay signs: sorted non-empty ``vnp_*`` fields as ``key=quote_plus(value)`` with ``&``."""
    fields = sorted(
        (key, value)
        for key, value in params.items()
        if key.startswith("vnp_") and key not in (SECURE_HASH, SECURE_HASH_TYPE) and value != ""
    )
    return "&".join(f"{key}={quote_plus(value)}" for key, value in fields)


def hmac_sha512(secret: str, data: str) -> str:
    return hmac.new(secret.encode("utf-8"), data.encode("utf-8"), hashlib.sha512).hexdigest()


def sign(params: Mapping[str, str], secret: str) -> str:
    """``vnp_SecureHash`` of ``params`` (lowercase hex)."""
    return hmac_sha512(secret, hash_data(params))


def signatures_match(expected: str, received: str) -> bool:
    """Constant-time comparison of two hex signatures, ignoring the case of the received one."""
    return hmac.compare_digest(expected.encode("ascii"), received.strip().lower().encode("utf-8"))


def verify(params: Mapping[str, str], secret: str) -> bool:
    """Whether ``params[vnp_SecureHash]`` is the signature of the other ``vnp_*`` fields."""
    received = params.get(SECURE_HASH, "")
    if not received:
        return False
    return signatures_match(sign(params, secret), received)


def signed_query(params: Mapping[str, str], secret: str) -> str:
    """The query string VNPay sends and expects: the hashed text followed by ``&vnp_SecureHash=...``."""
    return f"{hash_data(params)}&{SECURE_HASH}={sign(params, secret)}"


def query_params(query: str) -> dict[str, str]:
    """A raw query string as a dict; a repeated ``vnp_*`` key is refused (it could hide a second value)."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        if key in params and key.startswith("vnp_"):
            raise CallbackError(f"{key} repeated")
        params[key] = value
    return params


# --- dates and text --------------------------------------------------------------------------------------


def format_date(moment: datetime) -> str:
    """``yyyyMMddHHmmss`` in GMT+7; naive datetimes are refused (their zone is a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return moment.astimezone(GMT7).strftime(DATE_FORMAT)


def parse_date(text: str) -> datetime:
    """A VNPay ``yyyyMMddHHmmss`` field as an aware datetime in GMT+7."""
    if len(text) != 14 or not text.isdigit():
        raise ValueError(f"not a yyyyMMddHHmmss date: {text!r}")
    return datetime.strptime(text, DATE_FORMAT).replace(tzinfo=GMT7)


_SPACES = re.compile(r"\s+")
# VNPay asks for vnp_OrderInfo "Tiếng Việt không dấu và không bao gồm các ký tự đặc biệt"; these survive every
# URL encoder the same way (``~`` and ``*`` do not: PHP, Java and Python disagree on them).
_ORDER_INFO_UNSAFE = re.compile(r"[^A-Za-z0-9 ,.:\-_/#()]")


def without_diacritics(text: str) -> str:
    """Vietnamese without diacritics, case kept: ``"Thanh toán lệ phí hồ sơ"`` -> ``"Thanh toan le phi ho so"``."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare.replace("đ", "d").replace("Đ", "D"))


def order_info_text(text: str, *, max_length: int = 255) -> str:
    """``vnp_OrderInfo`` as VNPay wants it: no diacritics, no special characters, spaces collapsed."""
    plain = _ORDER_INFO_UNSAFE.sub(" ", without_diacritics(text))
    return _SPACES.sub(" ", plain).strip()[:max_length].rstrip()


# --- the payment URL -------------------------------------------------------------------------------------


def payment_params(
    *,
    tmn_code: str,
    txn_ref: str,
    amount_vnd: int,
    order_info: str,
    return_url: str,
    ip_addr: str,
    create_date: datetime,
    expire_date: datetime,
    locale: str = "vn",
    order_type: str = "other",
    bank_code: str | None = None,
) -> dict[str, str]:
    """The unsigned fields of a ``pay`` request."""
    if isinstance(amount_vnd, bool) or not isinstance(amount_vnd, int) or amount_vnd <= 0:
        raise ValueError("amount_vnd must be a positive whole number of VND")
    if not txn_ref or len(txn_ref) > 100:
        raise ValueError("txn_ref must have 1 to 100 characters")
    if locale not in ("vn", "en"):
        raise ValueError("locale must be 'vn' or 'en'")
    if expire_date <= create_date:
        raise ValueError("expire_date must be after create_date")
    params = {
        "vnp_Version": VERSION,
        "vnp_Command": PAY_COMMAND,
        "vnp_TmnCode": tmn_code,
        "vnp_Amount": str(amount_vnd * AMOUNT_FACTOR),
        "vnp_CurrCode": CURRENCY,
        "vnp_TxnRef": txn_ref,
        "vnp_OrderInfo": order_info_text(order_info),
        "vnp_OrderType": order_type,
        "vnp_Locale": locale,
        "vnp_ReturnUrl": return_url,
        "vnp_IpAddr": ip_addr,
        "vnp_CreateDate": format_date(create_date),
        "vnp_ExpireDate": format_date(expire_date),
    }
    if bank_code:
        params["vnp_BankCode"] = bank_code
    return params


def payment_url(
    base_url: str,
    *,
    tmn_code: str,
    secret: str,
    txn_ref: str,
    amount_vnd: int,
    order_info: str,
    return_url: str,
    ip_addr: str,
    create_date: datetime,
    expire_date: datetime,
    locale: str = "vn",
    order_type: str = "other",
    bank_code: str | None = None,
) -> str:
    """The signed URL the customer's browser is sent to (``base_url`` ends in ``/paymentv2/vpcpay.html``)."""
    params = payment_params(
        tmn_code=tmn_code,
        txn_ref=txn_ref,
        amount_vnd=amount_vnd,
        order_info=order_info,
        return_url=return_url,
        ip_addr=ip_addr,
        create_date=create_date,
        expire_date=expire_date,
        locale=locale,
        order_type=order_type,
        bank_code=bank_code,
    )
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}{signed_query(params, secret)}"


# --- return URL and IPN ----------------------------------------------------------------------------------


class CallbackError(ValueError):
    """A return-URL or IPN query that misses a required field or carries a malformed one."""


def amount_from_vnp(text: str) -> int:
    """``vnp_Amount`` (VND x 100) as whole VND; anything else (fractions, signs, blanks) is an error."""
    if not text.isascii() or not text.isdigit():
        raise CallbackError(f"vnp_Amount is not a number: {text!r}")
    hundreds, rest = divmod(int(text), AMOUNT_FACTOR)
    if rest:
        raise CallbackError(f"vnp_Amount {text} is not a whole number of VND")
    return hundreds


@dataclass(frozen=True)
class Callback:
    """What a return URL or an IPN says. ``signature_valid`` must be checked before anything else is believed."""

    signature_valid: bool
    tmn_code: str
    txn_ref: str
    amount_vnd: int
    response_code: str
    transaction_status: str
    transaction_no: str
    bank_code: str
    bank_tran_no: str
    card_type: str
    order_info: str
    pay_date: datetime | None

    @property
    def paid(self) -> bool:
        return is_paid(self)


_REQUIRED = ("vnp_TmnCode", "vnp_TxnRef", "vnp_Amount", "vnp_ResponseCode", "vnp_TransactionStatus")


def parse_callback(query: Mapping[str, str] | str, secret: str) -> Callback:
    """Parse (and verify) the query of a return URL or an IPN.

    ``query`` is the raw query string or a mapping such as Starlette's ``request.query_params``. Raises
    ``CallbackError`` when a required field is missing or malformed, whatever the signature says; the
    signature's verdict is ``signature_valid`` (an IPN handler answers 97 when it is false).
    """
    params = query_params(query) if isinstance(query, str) else dict(query)
    missing = [name for name in _REQUIRED if not params.get(name)]
    if missing:
        raise CallbackError(f"missing {', '.join(missing)}")
    pay_date_text = params.get("vnp_PayDate", "")
    try:
        pay_date = parse_date(pay_date_text) if pay_date_text else None
    except ValueError as exc:
        raise CallbackError(str(exc)) from exc
    return Callback(
        signature_valid=verify(params, secret),
        tmn_code=params["vnp_TmnCode"],
        txn_ref=params["vnp_TxnRef"],
        amount_vnd=amount_from_vnp(params["vnp_Amount"]),
        response_code=params["vnp_ResponseCode"],
        transaction_status=params["vnp_TransactionStatus"],
        transaction_no=params.get("vnp_TransactionNo", ""),
        bank_code=params.get("vnp_BankCode", ""),
        bank_tran_no=params.get("vnp_BankTranNo", ""),
        card_type=params.get("vnp_CardType", ""),
        order_info=params.get("vnp_OrderInfo", ""),
        pay_date=pay_date,
    )


def is_paid(callback: Callback) -> bool:
    """Paid only with a valid signature, response code 00 AND transaction status 00 (the amount is the
    caller's to compare with its order)."""
    return (
        callback.signature_valid
        and callback.response_code == ResponseCode.SUCCESS
        and callback.transaction_status == TransactionStatus.SUCCESS
    )


# --- the IPN reply ---------------------------------------------------------------------------------------


class IpnResult(StrEnum):
    """``RspCode`` of the merchant's answer to an IPN."""

    CONFIRM_SUCCESS = "00"
    ORDER_NOT_FOUND = "01"
    ALREADY_CONFIRMED = "02"
    INVALID_AMOUNT = "04"
    INVALID_SIGNATURE = "97"
    UNKNOWN_ERROR = "99"

    @property
    def message(self) -> str:
        return _IPN_MESSAGES[self]


_IPN_MESSAGES: dict[IpnResult, str] = {
    IpnResult.CONFIRM_SUCCESS: "Confirm Success",
    IpnResult.ORDER_NOT_FOUND: "Order not found",
    IpnResult.ALREADY_CONFIRMED: "Order already confirmed",
    IpnResult.INVALID_AMOUNT: "Invalid amount",
    IpnResult.INVALID_SIGNATURE: "Invalid signature",
    IpnResult.UNKNOWN_ERROR: "Unknown error",
}


def ipn_reply(code: IpnResult | str) -> dict[str, str]:
    """The JSON body answering an IPN, e.g. ``{"RspCode": "00", "Message": "Confirm Success"}`` (HTTP 200)."""
    result = IpnResult(code)
    return {"RspCode": result.value, "Message": result.message}


def ipn_reply_json(code: IpnResult | str) -> str:
    return json.dumps(ipn_reply(code))


def ipn_result(callback: Callback, *, order_amount_vnd: int | None, already_confirmed: bool) -> IpnResult:
    """The answer to an IPN, checked in VNPay's order: signature (97), order (01), amount (04), state (02).

    ``order_amount_vnd`` is the amount of the order ``callback.txn_ref`` names (None: no such order);
    ``already_confirmed``: the order already holds a final outcome from an earlier IPN. A failed payment
    that is recorded is still ``00`` ("confirmed"): the answer says the notice was taken, not that money came.
    """
    if not callback.signature_valid:
        return IpnResult.INVALID_SIGNATURE
    if order_amount_vnd is None:
        return IpnResult.ORDER_NOT_FOUND
    if callback.amount_vnd != order_amount_vnd:
        return IpnResult.INVALID_AMOUNT
    if already_confirmed:
        return IpnResult.ALREADY_CONFIRMED
    return IpnResult.CONFIRM_SUCCESS
