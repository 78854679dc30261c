"""A VNPay 2.1.0 simulator: an ASGI app standing in for ``sandbox.vnpayment.vn``.

- ``GET /paymentv2/vpcpay.html?<signed query>``: checks the merchant's request (an error redirects to
  ``Payment/Error.html?code=..``, e.g. 70 "Sai chữ ký"), then shows the order with two buttons,
  "Thanh toán" and "Hủy", posting back to the same path.
- ``POST /paymentv2/vpcpay.html``: settles the payment (00/00 or cancelled 24/02), calls the merchant's IPN
  URL server to server until it answers a final ``RspCode`` (bounded retries), then redirects the browser
  (302) to ``vnp_ReturnUrl`` with the same signed fields.
- ``POST /merchant_webapi/api/transaction``: ``querydr`` and ``refund`` against its own records.

The IPN is reached through the httpx transport given to the simulator (``httpx.ASGITransport`` of the
service in tests and in the embedded mode), so nothing leaves the process. Tests drive it without a
browser: ``accept(payment_url)``, ``simulate_payment(txn_ref, outcome)``, ``replay_ipn(txn_ref, times=n)``.

IPN replies 00, 01, 02, 04 and 97 end the retries (the merchant has decided); 99, a non-200 status, a body
that is not ``{"RspCode": ..}`` or a network error is tried again, up to ``ipn_attempts`` times.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from urllib.parse import urljoin

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from egov_payment.vnpay import api
from egov_payment.vnpay.protocol import (
    AMOUNT_FACTOR,
    CURRENCY,
    GMT7,
    PAY_COMMAND,
    PAYMENT_PATH,
    SECURE_HASH,
    SECURE_HASH_TYPE,
    VERSION,
    CallbackError,
    ResponseCode,
    TransactionStatus,
    format_date,
    hash_data,
    parse_date,
    query_params,
    sign,
    verify,
)

# The demo merchant of the embedded mode (DESIGN §9); refused in production by the service's settings.
DEMO_TMN_CODE = "EGOVDEMO"
DEMO_HASH_SECRET = "EGOVDEMOHASHSECRET2026VNPAYSANDBX"

ERROR_PATH = "/paymentv2/Payment/Error.html"
FINAL_IPN_CODES = frozenset({"00", "01", "02", "04", "97"})
BANK_CODE = "NCB"
CARD_TYPE = "ATM"

Outcome = Literal["success", "cancel", "wrong_amount", "bad_signature"]

# Codes of the simulator's error page (what the customer sees when the merchant's request is refused).
ERROR_MESSAGES: dict[str, str] = {
    "01": "Giao dịch đã tồn tại",
    "03": "Dữ liệu gửi sang không đúng định dạng",
    "11": "Giao dịch đã quá thời gian chờ thanh toán",
    "70": "Sai chữ ký",
    "72": "Không tìm thấy website (vnp_TmnCode không tồn tại)",
}


class SimulatorError(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code} {ERROR_MESSAGES.get(code, '')}: {detail}".strip())


@dataclass(frozen=True)
class Merchant:
    tmn_code: str
    secret: str
    ipn_url: str


@dataclass
class Transaction:
    """The simulator's record of one payment (amounts are ``vnp_Amount``, VND x 100)."""

    tmn_code: str
    txn_ref: str
    amount: int
    order_info: str
    create_date: str
    expire_date: str
    return_url: str
    ip_addr: str
    transaction_no: str = ""
    response_code: str = ""
    status: str = TransactionStatus.NOT_COMPLETED.value
    pay_date: str = ""
    refunded: int = 0
    ipn_fields: dict[str, str] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.response_code != ""


@dataclass(frozen=True)
class IpnAttempt:
    """One server-to-server call of the merchant's IPN URL and what came back."""

    txn_ref: str
    url: str
    status_code: int | None
    body: str
    rsp_code: str | None
    error: str = ""


@dataclass(frozen=True)
class IpnDelivery:
    txn_ref: str
    fields: dict[str, str]
    attempts: tuple[IpnAttempt, ...]
    return_url: str

    @property
    def rsp_code(self) -> str | None:
        """The merchant's last ``RspCode`` (None: it never gave a parseable one)."""
        return self.attempts[-1].rsp_code if self.attempts else None

    @property
    def delivered(self) -> bool:
        return self.rsp_code in FINAL_IPN_CODES


def _now() -> datetime:
    return datetime.now(GMT7)


def _with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def _encoded(fields: Mapping[str, str]) -> str:
    """Signed fields as VNPay puts them in a URL: sorted, quote_plus, the hash last."""
    return f"{hash_data(fields)}&{SECURE_HASH}={fields[SECURE_HASH]}"


def _vnd(amount: int) -> str:
    return f"{amount // AMOUNT_FACTOR:,}".replace(",", ".") + " VND"


class VnpaySimulator:
    """VNPay for tests and the embedded mode. ``app`` is the ASGI app (the instance is one too)."""

    def __init__(
        self,
        merchants: Iterable[Merchant],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = _now,
        ipn_attempts: int = 5,
        retry_delay: float = 0.0,
        ipn_timeout: float = 10.0,
        first_transaction_no: int = 14_000_001,
    ) -> None:
        if ipn_attempts < 1:
            raise ValueError("ipn_attempts must be at least 1")
        self.merchants = {merchant.tmn_code: merchant for merchant in merchants}
        self.transactions: dict[tuple[str, str], Transaction] = {}
        self.ipn_log: list[IpnAttempt] = []
        self._transport = transport
        self._clock = clock
        self._ipn_attempts = ipn_attempts
        self._retry_delay = retry_delay
        self._ipn_timeout = ipn_timeout
        self._next_transaction_no = first_transaction_no
        self._next_response_id = 1
        self._sessions: dict[str, tuple[str, str]] = {}
        self._request_ids: set[tuple[str, str]] = set()
        self.app = Starlette(
            routes=[
                Route(PAYMENT_PATH, self._payment_page, methods=["GET", "POST"]),
                Route(ERROR_PATH, self._error_page, methods=["GET"]),
                Route(api.API_PATH, self._transaction_api, methods=["POST"]),
            ]
        )

    @classmethod
    def demo(
        cls,
        ipn_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> VnpaySimulator:
        """The simulator with the demo merchant ``EGOVDEMO`` whose IPN URL is ``ipn_url``."""
        return cls([Merchant(DEMO_TMN_CODE, DEMO_HASH_SECRET, ipn_url)], transport=transport, clock=clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)

    # --- programmatic use ------------------------------------------------------------------------------

    def accept(self, payment_url: str) -> Transaction:
        """Check and record a payment request as the payment page does; raises ``SimulatorError``."""
        _, _, query = payment_url.partition("?")
        try:
            params = query_params(query)
        except CallbackError as exc:
            raise SimulatorError("03", str(exc)) from exc
        merchant = self.merchants.get(params.get("vnp_TmnCode", ""))
        if merchant is None:
            raise SimulatorError("72", params.get("vnp_TmnCode", ""))
        if not verify(params, merchant.secret):
            raise SimulatorError("70")
        transaction = self._check_request(params, merchant)
        key = (merchant.tmn_code, transaction.txn_ref)
        existing = self.transactions.get(key)
        if existing is not None and existing.completed:
            raise SimulatorError("01", transaction.txn_ref)
        self.transactions[key] = transaction
        return transaction

    def transaction(self, txn_ref: str, tmn_code: str | None = None) -> Transaction:
        found = [
            t
            for (code, ref), t in self.transactions.items()
            if ref == txn_ref and (tmn_code is None or code == tmn_code)
        ]
        if len(found) != 1:
            raise KeyError(f"{len(found)} transactions with vnp_TxnRef {txn_ref!r}")
        return found[0]

    async def simulate_payment(
        self,
        txn_ref: str | None = None,
        outcome: Outcome = "success",
        *,
        payment_url: str | None = None,
        tmn_code: str | None = None,
    ) -> IpnDelivery:
        """Settle a recorded payment (or ``payment_url``, recorded first) and send its IPN.

        ``success`` and ``cancel`` are what the two buttons do. ``wrong_amount`` and ``bad_signature`` settle
        the payment as paid but send a notification whose amount differs from the order's, or whose
        signature is wrong, so the merchant's checks can be seen at work (a later querydr shows it paid).
        """
        if payment_url is not None:
            transaction = self.accept(payment_url)
        elif txn_ref is not None:
            transaction = self.transaction(txn_ref, tmn_code)
        else:
            raise ValueError("give txn_ref or payment_url")
        if transaction.completed:
            raise SimulatorError("01", transaction.txn_ref)
        merchant = self.merchants[transaction.tmn_code]
        transaction.ipn_fields = self._settle(transaction, merchant, outcome)
        return await self._deliver(merchant, transaction)

    async def replay_ipn(
        self, txn_ref: str, times: int = 1, *, tmn_code: str | None = None
    ) -> list[IpnDelivery]:
        """Send the same IPN of a settled payment ``times`` times concurrently (VNPay's retries do overlap)."""
        transaction = self.transaction(txn_ref, tmn_code)
        if not transaction.ipn_fields:
            raise SimulatorError("03", f"{txn_ref} has not been settled")
        merchant = self.merchants[transaction.tmn_code]
        return list(await asyncio.gather(*(self._deliver(merchant, transaction) for _ in range(times))))

    # --- the payment ---------------------------------------------------------------------------------

    def _check_request(self, params: Mapping[str, str], merchant: Merchant) -> Transaction:
        def require(name: str) -> str:
            value = params.get(name, "")
            if not value:
                raise SimulatorError("03", f"{name} missing")
            return value

        if SECURE_HASH_TYPE in params:
            raise SimulatorError("03", "vnp_SecureHashType is not sent in 2.1.0")
        for name, expected in (
            ("vnp_Version", VERSION),
            ("vnp_Command", PAY_COMMAND),
            ("vnp_CurrCode", CURRENCY),
        ):
            if require(name) != expected:
                raise SimulatorError("03", f"{name} must be {expected}")
        amount = require("vnp_Amount")
        if not (amount.isascii() and amount.isdigit()) or int(amount) <= 0 or int(amount) % AMOUNT_FACTOR:
            raise SimulatorError("03", "vnp_Amount must be a positive VND amount x 100")
        if require("vnp_Locale") not in ("vn", "en"):
            raise SimulatorError("03", "vnp_Locale must be vn or en")
        require("vnp_OrderType")
        return_url = require("vnp_ReturnUrl")
        if not return_url.startswith(("http://", "https://")):
            raise SimulatorError("03", "vnp_ReturnUrl must be an absolute URL")
        try:
            parse_date(require("vnp_CreateDate"))
            expires = parse_date(require("vnp_ExpireDate"))
        except ValueError as exc:
            raise SimulatorError("03", str(exc)) from exc
        if expires <= self._clock():
            raise SimulatorError("11")
        return Transaction(
            tmn_code=merchant.tmn_code,
            txn_ref=require("vnp_TxnRef"),
            amount=int(amount),
            order_info=require("vnp_OrderInfo"),
            create_date=params["vnp_CreateDate"],
            expire_date=params["vnp_ExpireDate"],
            return_url=return_url,
            ip_addr=require("vnp_IpAddr"),
        )

    def _settle(self, transaction: Transaction, merchant: Merchant, outcome: Outcome) -> dict[str, str]:
        """Record the outcome and return the signed result fields (return URL and IPN)."""
        cancelled = outcome == "cancel"
        transaction.pay_date = format_date(self._clock())
        transaction.response_code = (ResponseCode.CANCELLED if cancelled else ResponseCode.SUCCESS).value
        transaction.status = (TransactionStatus.ERROR if cancelled else TransactionStatus.SUCCESS).value
        transaction.transaction_no = "0" if cancelled else str(self._next_transaction_no)
        if not cancelled:
            self._next_transaction_no += 1
        amount = transaction.amount
        if outcome == "wrong_amount":
            vnd = amount // AMOUNT_FACTOR
            amount = (vnd + 1000 if vnd <= 1000 else vnd - 1000) * AMOUNT_FACTOR
        fields = {
            "vnp_Amount": str(amount),
            "vnp_BankCode": BANK_CODE,
            "vnp_CardType": CARD_TYPE,
            "vnp_OrderInfo": transaction.order_info,
            "vnp_PayDate": transaction.pay_date,
            "vnp_ResponseCode": transaction.response_code,
            "vnp_TmnCode": transaction.tmn_code,
            "vnp_TransactionNo": transaction.transaction_no,
            "vnp_TransactionStatus": transaction.status,
            "vnp_TxnRef": transaction.txn_ref,
        }
        if not cancelled:
            fields["vnp_BankTranNo"] = f"VNP{transaction.transaction_no}"
        secret = merchant.secret + "-wrong" if outcome == "bad_signature" else merchant.secret
        fields[SECURE_HASH] = sign(fields, secret)
        return fields

    async def _deliver(self, merchant: Merchant, transaction: Transaction) -> IpnDelivery:
        query = _encoded(transaction.ipn_fields)
        url = _with_query(merchant.ipn_url, query)
        attempts: list[IpnAttempt] = []
        async with httpx.AsyncClient(transport=self._transport, timeout=self._ipn_timeout) as client:
            for number in range(self._ipn_attempts):
                if number and self._retry_delay:
                    await asyncio.sleep(self._retry_delay)
                attempt = await self._call_ipn(client, url, transaction.txn_ref)
                attempts.append(attempt)
                self.ipn_log.append(attempt)
                if attempt.rsp_code in FINAL_IPN_CODES:
                    break
        return IpnDelivery(
            txn_ref=transaction.txn_ref,
            fields=dict(transaction.ipn_fields),
            attempts=tuple(attempts),
            return_url=_with_query(transaction.return_url, query),
        )

    @staticmethod
    async def _call_ipn(client: httpx.AsyncClient, url: str, txn_ref: str) -> IpnAttempt:
        try:
            response = await client.get(url)
        except httpx.HTTPError as exc:
            return IpnAttempt(txn_ref, url, None, "", None, error=repr(exc))
        rsp_code: str | None = None
        if response.status_code == 200:
            try:
                reply = json.loads(response.content)
            except ValueError:
                reply = None
            if isinstance(reply, dict) and isinstance(reply.get("RspCode"), str):
                rsp_code = reply["RspCode"]
        return IpnAttempt(txn_ref, url, response.status_code, response.text, rsp_code)

    # --- HTTP ------------------------------------------------------------------------------------------

    async def _payment_page(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._payment_action(request)
        try:
            transaction = self.accept(str(request.url))
        except SimulatorError as exc:
            return self._error_redirect(exc.code)
        token = secrets.token_urlsafe(16)
        self._sessions[token] = (transaction.tmn_code, transaction.txn_ref)
        return HTMLResponse(self._order_html(transaction, token))

    async def _payment_action(self, request: Request) -> Response:
        form = await request.form()
        token, action = str(form.get("token", "")), str(form.get("action", ""))
        key = self._sessions.pop(token, None)
        transaction = self.transactions.get(key) if key else None
        if transaction is None or action not in ("pay", "cancel"):
            return self._error_redirect("03")
        if transaction.completed:
            return self._error_redirect("01")
        if parse_date(transaction.expire_date) <= self._clock():
            return self._error_redirect("11")
        merchant = self.merchants[transaction.tmn_code]
        transaction.ipn_fields = self._settle(
            transaction, merchant, "success" if action == "pay" else "cancel"
        )
        delivery = await self._deliver(merchant, transaction)
        return RedirectResponse(delivery.return_url, status_code=302)

    @staticmethod
    def _error_redirect(code: str) -> Response:
        # Relative, so it works wherever the simulator is mounted (VNPay answers errors the same way).
        return RedirectResponse(f"Payment/Error.html?code={code}", status_code=302)

    async def _error_page(self, request: Request) -> Response:
        code = request.query_params.get("code", "99")
        message = ERROR_MESSAGES.get(code, "Giao dịch không thành công")
        return HTMLResponse(
            _page(
                "Thông báo",
                f"<p class='error'>{html.escape(message)}</p><p>Mã lỗi: {html.escape(code)}</p>",
            )
        )

    @staticmethod
    def _order_html(transaction: Transaction, token: str) -> str:
        rows = (
            ("Đơn vị chấp nhận thanh toán", transaction.tmn_code),
            ("Mã giao dịch", transaction.txn_ref),
            ("Số tiền", _vnd(transaction.amount)),
            ("Nội dung thanh toán", transaction.order_info),
        )
        table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        hidden = f"<input type='hidden' name='token' value='{html.escape(token)}'>"
        buttons = "".join(
            f"<form method='post' action='vpcpay.html'>{hidden}"
            f"<button type='submit' name='action' value='{action}'>{label}</button></form>"
            for action, label in (("pay", "Thanh toán"), ("cancel", "Hủy"))
        )
        return _page("Thanh toán qua VNPAY", f"<table>{table}</table>{buttons}")

    # --- querydr and refund ----------------------------------------------------------------------------

    async def _transaction_api(self, request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._api_reply(None, "", api.ApiResponseCode.INVALID_FORMAT, {})
        command = api.field_text(body.get("vnp_Command"))
        merchant = self.merchants.get(api.field_text(body.get("vnp_TmnCode")))
        if command not in api.REQUEST_FIELDS:
            return self._api_reply(merchant, command, api.ApiResponseCode.INVALID_FORMAT, body)
        if merchant is None:
            return self._api_reply(None, command, api.ApiResponseCode.INVALID_MERCHANT, body)
        if not api.verify_request(body, merchant.secret):
            return self._api_reply(merchant, command, api.ApiResponseCode.INVALID_CHECKSUM, body)
        optional = {"vnp_TransactionNo", "vnp_OrderInfo"}
        missing = [
            name for name in api.REQUEST_FIELDS[command] if name not in optional and not body.get(name)
        ]
        if missing or body.get("vnp_Version") != VERSION:
            return self._api_reply(merchant, command, api.ApiResponseCode.INVALID_FORMAT, body)
        request_key = (merchant.tmn_code, api.field_text(body["vnp_RequestId"]))
        if request_key in self._request_ids:
            return self._api_reply(merchant, command, api.ApiResponseCode.DUPLICATE_REQUEST, body)
        self._request_ids.add(request_key)
        transaction = self.transactions.get((merchant.tmn_code, api.field_text(body["vnp_TxnRef"])))
        if transaction is None or transaction.create_date != api.field_text(body["vnp_TransactionDate"]):
            return self._api_reply(merchant, command, api.ApiResponseCode.NOT_FOUND, body)
        if command == api.QUERYDR:
            return self._api_reply(merchant, command, api.ApiResponseCode.SUCCESS, body, transaction)
        return self._refund(merchant, body, transaction)

    def _refund(self, merchant: Merchant, body: Mapping[str, object], transaction: Transaction) -> Response:
        kind = api.field_text(body.get("vnp_TransactionType"))
        amount_text = api.field_text(body.get("vnp_Amount"))
        number = api.field_text(body.get("vnp_TransactionNo"))
        if transaction.status != TransactionStatus.SUCCESS:
            return self._api_reply(merchant, api.REFUND, api.ApiResponseCode.REFUSED, body, transaction)
        if number and number != transaction.transaction_no:
            return self._api_reply(merchant, api.REFUND, api.ApiResponseCode.NOT_FOUND, body)
        remaining = transaction.amount - transaction.refunded
        valid_amount = (
            amount_text.isascii() and amount_text.isdigit() and int(amount_text) % AMOUNT_FACTOR == 0
        )
        amount = int(amount_text) if valid_amount else 0
        allowed = (kind == api.TransactionType.FULL_REFUND and amount == remaining) or (
            kind == api.TransactionType.PARTIAL_REFUND and 0 < amount <= remaining
        )
        if not allowed:
            return self._api_reply(merchant, api.REFUND, api.ApiResponseCode.INVALID_FORMAT, body)
        transaction.refunded += amount
        refund = {
            "vnp_Amount": str(amount),
            "vnp_TransactionType": kind,
            "vnp_TransactionStatus": TransactionStatus.REFUND_PROCESSING.value,
        }
        return self._api_reply(merchant, api.REFUND, api.ApiResponseCode.SUCCESS, body, transaction, refund)

    def _api_reply(
        self,
        merchant: Merchant | None,
        command: str,
        code: api.ApiResponseCode,
        request: Mapping[str, object],
        transaction: Transaction | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> Response:
        """A response as VNPay shapes it; signed whenever the merchant (so its secret) is known."""
        response_id = f"{self._next_response_id:032x}"
        self._next_response_id += 1
        if code == api.ApiResponseCode.SUCCESS:
            message = "QueryDR Success" if command == api.QUERYDR else "Refund success"
        else:
            message = code.description
        body: dict[str, str] = {
            "vnp_ResponseId": response_id,
            "vnp_Command": command,
            "vnp_ResponseCode": code.value,
            "vnp_Message": message,
            "vnp_TmnCode": api.field_text(request.get("vnp_TmnCode")),
            "vnp_TxnRef": api.field_text(request.get("vnp_TxnRef")),
        }
        if transaction is not None:
            body.update(
                {
                    "vnp_Amount": str(transaction.amount),
                    "vnp_OrderInfo": transaction.order_info,
                    "vnp_BankCode": BANK_CODE if transaction.completed else "",
                    "vnp_PayDate": transaction.pay_date,
                    "vnp_TransactionNo": transaction.transaction_no,
                    "vnp_TransactionType": api.TransactionType.PAYMENT.value,
                    "vnp_TransactionStatus": transaction.status,
                }
            )
            body.update(overrides or {})
        if merchant is not None and command in api.RESPONSE_FIELDS:
            body[SECURE_HASH] = api.sign_response(body, merchant.secret)
        return JSONResponse(body)


def _page(title: str, content: str) -> str:
    return (
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} - Cổng thanh toán VNPAY (mô phỏng)</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{content}</body></html>"
    )


async def press(
    browser: httpx.AsyncClient, payment_url: str, action: Literal["pay", "cancel"] = "pay"
) -> httpx.Response:
    """What the citizen's browser does with a payment URL that points here: open the page, press "Thanh toán"
    (``pay``) or "Hủy" (``cancel``). The answer is the redirect to the merchant's return URL; the IPN has been
    called by then. For tests, benchmarks and demo scripts."""
    page = await browser.get(payment_url)
    if page.status_code != 200:
        raise ValueError(f"the simulator's page answered {page.status_code}: {page.text[:200]}")
    match = re.search(r"name='token' value='([^']+)'", page.text)
    if match is None:
        raise ValueError("the simulator's page carries no order token")
    form_url = urljoin(str(page.url), "vpcpay.html")
    return await browser.post(form_url, data={"token": match.group(1), "action": action})
