"""The VNPay simulator end to end through httpx.ASGITransport, with a stand-in merchant IPN app."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from egov_payment.vnpay import api
from egov_payment.vnpay.protocol import (
    GMT7,
    CallbackError,
    IpnResult,
    hmac_sha512,
    ipn_reply,
    ipn_result,
    parse_callback,
    payment_url,
)
from egov_payment.vnpay.simulator import (
    DEMO_HASH_SECRET,
    DEMO_TMN_CODE,
    Merchant,
    SimulatorError,
    VnpaySimulator,
    press,
)

SECRET = DEMO_HASH_SECRET
VNPAY = "http://vnpay.test"
MERCHANT = "http://payment.test"
RETURN_URL = "https://dvc.example.vn/thanh-toan/ket-qua"
NOW = datetime(2026, 3, 10, 9, 0, 0, tzinfo=GMT7)


@dataclass
class StandInMerchant:
    """A merchant IPN endpoint: records every call, answers scripted replies first, then decides like a
    real one (signature, order, amount, already confirmed), idempotently."""

    orders: dict[str, int] = field(default_factory=dict)
    confirmed: dict[str, str] = field(default_factory=dict)
    script: list[str] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/api/v1/payments/vnpay/ipn", self.ipn)])

    async def ipn(self, request: Request) -> Response:
        self.calls.append(dict(request.query_params))
        if self.script:
            scripted = self.script.pop(0)
            if scripted == "garbage":
                return PlainTextResponse("<html>502 Bad Gateway</html>")
            if scripted == "500":
                return PlainTextResponse("boom", status_code=500)
            return JSONResponse(ipn_reply(scripted))
        try:
            callback = parse_callback(request.query_params, SECRET)
        except CallbackError:
            return JSONResponse(ipn_reply(IpnResult.UNKNOWN_ERROR))
        result = ipn_result(
            callback,
            order_amount_vnd=self.orders.get(callback.txn_ref),
            already_confirmed=callback.txn_ref in self.confirmed,
        )
        if result is IpnResult.CONFIRM_SUCCESS:
            self.confirmed[callback.txn_ref] = callback.response_code
        return JSONResponse(ipn_reply(result))


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    merchant: StandInMerchant
    simulator: VnpaySimulator
    browser: httpx.AsyncClient
    clock: Clock

    def order(self, txn_ref: str, amount_vnd: int = 150_000, *, secret: str = SECRET, **extra: str) -> str:
        self.merchant.orders[txn_ref] = amount_vnd
        url = payment_url(
            f"{VNPAY}/paymentv2/vpcpay.html",
            tmn_code=DEMO_TMN_CODE,
            secret=secret,
            txn_ref=txn_ref,
            amount_vnd=amount_vnd,
            order_info="Thanh toán lệ phí hồ sơ",
            return_url=RETURN_URL,
            ip_addr="203.0.113.7",
            create_date=NOW,
            expire_date=NOW + timedelta(minutes=15),
        )
        return url + "".join(f"&{key}={value}" for key, value in extra.items())


@pytest.fixture
async def world() -> AsyncIterator[World]:
    merchant = StandInMerchant()
    clock = Clock()
    simulator = VnpaySimulator(
        [Merchant(DEMO_TMN_CODE, SECRET, f"{MERCHANT}/api/v1/payments/vnpay/ipn")],
        transport=httpx.ASGITransport(app=merchant.app()),
        clock=clock,
        ipn_attempts=4,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=simulator), base_url=VNPAY) as browser:
        yield World(merchant, simulator, browser, clock)


def _token(page: str) -> str:
    match = re.search(r"name='token' value='([^']+)'", page)
    assert match, page
    return match.group(1)


async def _press(world: World, url: str, action: Literal["pay", "cancel"]) -> httpx.Response:
    return await press(world.browser, url, action)


# --- the browser flow ------------------------------------------------------------------------------------


async def test_payment_page_shows_the_order_in_vietnamese(world: World) -> None:
    page = await world.browser.get(world.order("PAY1", 1_250_000))
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "1.250.000 VND" in page.text
    assert "Thanh toan le phi ho so" in page.text
    assert ">Thanh toán</button>" in page.text
    assert ">Hủy</button>" in page.text
    assert world.merchant.calls == []


async def test_pay_calls_the_ipn_then_redirects_to_the_return_url(world: World) -> None:
    response = await _press(world, world.order("PAY2"), "pay")

    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(RETURN_URL + "?")
    assert len(world.merchant.calls) == 1
    ipn = world.merchant.calls[0]
    # Check the signature from the rule itself, not through the library under test.
    hashed_text = urlsplit(location).query.rsplit("&vnp_SecureHash=", 1)[0]
    assert ipn["vnp_SecureHash"] == hmac_sha512(SECRET, hashed_text)
    assert dict(parse_qsl(urlsplit(location).query)) == ipn
    assert ipn["vnp_Amount"] == "15000000"
    assert ipn["vnp_ResponseCode"] == "00"
    assert ipn["vnp_TransactionStatus"] == "00"
    assert ipn["vnp_TxnRef"] == "PAY2"
    assert ipn["vnp_TmnCode"] == DEMO_TMN_CODE
    assert ipn["vnp_BankCode"] == "NCB"
    assert ipn["vnp_CardType"] == "ATM"
    assert ipn["vnp_PayDate"] == "20260310090000"
    assert ipn["vnp_BankTranNo"] == "VNP" + ipn["vnp_TransactionNo"]
    assert "vnp_SecureHashType" not in ipn
    callback = parse_callback(ipn, SECRET)
    assert callback.paid
    assert world.merchant.confirmed == {"PAY2": "00"}
    assert [attempt.rsp_code for attempt in world.simulator.ipn_log] == ["00"]


async def test_cancel_reports_code_24(world: World) -> None:
    response = await _press(world, world.order("PAY3"), "cancel")

    assert response.status_code == 302
    returned = dict(parse_qsl(urlsplit(response.headers["location"]).query))
    assert returned["vnp_ResponseCode"] == "24"
    assert returned["vnp_TransactionStatus"] == "02"
    assert world.merchant.calls == [returned]
    callback = parse_callback(returned, SECRET)
    assert callback.signature_valid
    assert not callback.paid


async def test_a_bad_merchant_signature_shows_sai_chu_ky(world: World) -> None:
    response = await world.browser.get(world.order("PAY4", secret="not the secret"))
    assert response.status_code == 302
    assert response.headers["location"] == "Payment/Error.html?code=70"
    page = await world.browser.get(world.order("PAY4", secret="not the secret"), follow_redirects=True)
    assert page.url.path == "/paymentv2/Payment/Error.html"
    assert "Sai chữ ký" in page.text
    assert world.simulator.transactions == {}


async def test_a_tampered_amount_is_refused(world: World) -> None:
    url = world.order("PAY5").replace("vnp_Amount=15000000", "vnp_Amount=100000")
    response = await world.browser.get(url)
    assert response.headers["location"] == "Payment/Error.html?code=70"


async def test_requests_vnpay_would_refuse(world: World) -> None:
    hash_type = await world.browser.get(world.order("PAY6", vnp_SecureHashType="HMACSHA512"))
    assert hash_type.headers["location"] == "Payment/Error.html?code=03"
    unknown = world.order("PAY7").replace(f"vnp_TmnCode={DEMO_TMN_CODE}", "vnp_TmnCode=NOBODY01")
    assert (await world.browser.get(unknown)).headers["location"] == "Payment/Error.html?code=72"
    world.clock.now = NOW + timedelta(minutes=16)
    expired = await world.browser.get(world.order("PAY8"))
    assert expired.headers["location"] == "Payment/Error.html?code=11"


async def test_a_payment_cannot_be_settled_twice(world: World) -> None:
    url = world.order("PAY9")
    page = await world.browser.get(url)
    token = _token(page.text)
    first = await world.browser.post("/paymentv2/vpcpay.html", data={"token": token, "action": "pay"})
    assert first.status_code == 302
    again = await world.browser.post("/paymentv2/vpcpay.html", data={"token": token, "action": "pay"})
    assert again.headers["location"] == "Payment/Error.html?code=03"
    reopened = await world.browser.get(url)
    assert reopened.headers["location"] == "Payment/Error.html?code=01"
    assert len(world.merchant.calls) == 1


# --- IPN delivery ----------------------------------------------------------------------------------------


async def test_unknown_error_and_garbage_replies_are_retried(world: World) -> None:
    world.merchant.script = ["99", "garbage", "500"]
    response = await _press(world, world.order("PAY10"), "pay")

    assert response.status_code == 302
    assert len(world.merchant.calls) == 4
    assert all(call == world.merchant.calls[0] for call in world.merchant.calls)
    assert [(a.status_code, a.rsp_code) for a in world.simulator.ipn_log] == [
        (200, "99"),
        (200, None),
        (500, None),
        (200, "00"),
    ]
    assert world.merchant.confirmed == {"PAY10": "00"}


async def test_retries_are_bounded(world: World) -> None:
    world.merchant.script = ["99"] * 10
    delivery = await world.simulator.simulate_payment(payment_url=world.order("PAY11"))
    assert len(delivery.attempts) == 4
    assert not delivery.delivered
    assert delivery.rsp_code == "99"
    assert len(world.merchant.calls) == 4


@pytest.mark.parametrize("final", ["01", "02", "04", "97"])
async def test_final_replies_stop_the_retries(world: World, final: str) -> None:
    world.merchant.script = [final]
    delivery = await world.simulator.simulate_payment(payment_url=world.order("PAY12"))
    assert delivery.delivered
    assert [attempt.rsp_code for attempt in delivery.attempts] == [final]


async def test_an_unreachable_merchant_is_retried_then_given_up() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    simulator = VnpaySimulator.demo(f"{MERCHANT}/ipn", transport=httpx.MockTransport(refuse), clock=Clock())
    url = payment_url(
        f"{VNPAY}/paymentv2/vpcpay.html",
        tmn_code=DEMO_TMN_CODE,
        secret=SECRET,
        txn_ref="PAY13",
        amount_vnd=5_000,
        order_info="Le phi",
        return_url=RETURN_URL,
        ip_addr="127.0.0.1",
        create_date=NOW,
        expire_date=NOW + timedelta(minutes=15),
    )
    delivery = await simulator.simulate_payment(payment_url=url)
    assert len(delivery.attempts) == 5
    assert all(
        attempt.status_code is None and "ConnectError" in attempt.error for attempt in delivery.attempts
    )
    assert not delivery.delivered


@pytest.mark.parametrize(
    ("outcome", "expected", "paid"),
    [
        ("success", "00", True),
        ("cancel", "00", False),
        ("wrong_amount", "04", False),
        ("bad_signature", "97", False),
    ],
)
async def test_simulated_outcomes_meet_the_merchant_checks(
    world: World, outcome: str, expected: str, paid: bool
) -> None:
    world.simulator.accept(world.order("PAY14", 3_000))
    delivery = await world.simulator.simulate_payment("PAY14", outcome)  # type: ignore[arg-type]
    assert delivery.rsp_code == expected
    assert (world.merchant.confirmed.get("PAY14") == "00") is paid
    assert delivery.return_url.startswith(RETURN_URL + "?")


async def test_concurrent_replays_confirm_exactly_once(world: World) -> None:
    first = await world.simulator.simulate_payment(payment_url=world.order("PAY15"))
    assert first.rsp_code == "00"

    replays = await world.simulator.replay_ipn("PAY15", times=8)

    assert [delivery.rsp_code for delivery in replays] == ["02"] * 8
    assert all(delivery.fields == first.fields for delivery in replays)
    assert len(world.merchant.calls) == 9


async def test_helpers_refuse_what_vnpay_would(world: World) -> None:
    with pytest.raises(SimulatorError, match="70"):
        world.simulator.accept(world.order("PAY16", secret="wrong"))
    with pytest.raises(KeyError):
        await world.simulator.simulate_payment("NEVER-SEEN")
    world.simulator.accept(world.order("PAY17"))
    with pytest.raises(SimulatorError, match="not been settled"):
        await world.simulator.replay_ipn("PAY17")
    await world.simulator.simulate_payment("PAY17", "cancel")
    with pytest.raises(SimulatorError, match="01"):
        await world.simulator.simulate_payment("PAY17")


# --- querydr and refund ----------------------------------------------------------------------------------


def _querydr(txn_ref: str, request_id: str, *, secret: str = SECRET) -> dict[str, str]:
    return api.querydr_request(
        tmn_code=DEMO_TMN_CODE,
        secret=secret,
        request_id=request_id,
        txn_ref=txn_ref,
        transaction_date=NOW,
        create_date=NOW + timedelta(minutes=20),
        ip_addr="10.0.0.5",
        order_info="Truy van giao dich",
    )


def _refund(
    txn_ref: str, request_id: str, amount_vnd: int, kind: api.TransactionType, number: str = ""
) -> dict[str, str]:
    return api.refund_request(
        tmn_code=DEMO_TMN_CODE,
        secret=SECRET,
        request_id=request_id,
        txn_ref=txn_ref,
        amount_vnd=amount_vnd,
        transaction_type=kind,
        transaction_date=NOW,
        create_by="ketoan.h27",
        create_date=NOW + timedelta(minutes=30),
        ip_addr="10.0.0.5",
        order_info="Hoan phi",
        transaction_no=number,
    )


async def _call(world: World, body: dict[str, str]) -> dict[str, object]:
    response = await world.browser.post(api.API_PATH, json=body)
    assert response.status_code == 200
    reply: dict[str, object] = response.json()
    return reply


async def test_querydr_reports_the_payment_signed(world: World) -> None:
    await _press(world, world.order("PAY20"), "pay")

    reply = await _call(world, _querydr("PAY20", "Q1"))

    result = api.parse_querydr_response(reply, SECRET)
    assert result.signature_valid
    assert result.paid
    assert result.amount_vnd == 150_000
    assert result.transaction_no == world.merchant.calls[0]["vnp_TransactionNo"]
    assert result.pay_date == NOW
    assert reply["vnp_ResponseId"]
    assert reply["vnp_Command"] == "querydr"


async def test_querydr_of_pending_and_cancelled_payments(world: World) -> None:
    await world.browser.get(world.order("PAY21"))
    pending = api.parse_querydr_response(await _call(world, _querydr("PAY21", "Q2")), SECRET)
    assert pending.ok
    assert pending.transaction_status == "01"
    assert not pending.paid
    await _press(world, world.order("PAY22"), "cancel")
    cancelled = api.parse_querydr_response(await _call(world, _querydr("PAY22", "Q3")), SECRET)
    assert cancelled.ok
    assert cancelled.transaction_status == "02"
    assert not cancelled.paid


async def test_querydr_errors(world: World) -> None:
    await _press(world, world.order("PAY23"), "pay")
    missing = await _call(world, _querydr("NOPE", "Q4"))
    assert missing["vnp_ResponseCode"] == "91"
    assert api.parse_querydr_response(missing, SECRET).signature_valid
    assert (await _call(world, _querydr("PAY23", "Q5", secret="wrong")))["vnp_ResponseCode"] == "97"
    assert (await _call(world, _querydr("PAY23", "Q6")))["vnp_ResponseCode"] == "00"
    duplicate = await _call(world, _querydr("PAY23", "Q6"))
    assert duplicate["vnp_ResponseCode"] == "94"
    unknown = await _call(world, {**_querydr("PAY23", "Q7"), "vnp_TmnCode": "NOBODY01"})
    assert unknown["vnp_ResponseCode"] == "02"
    assert "vnp_SecureHash" not in unknown
    garbage = await world.browser.post(api.API_PATH, content=b"not json")
    assert garbage.json()["vnp_ResponseCode"] == "03"


async def test_refunds_partial_then_full_and_not_beyond(world: World) -> None:
    await _press(world, world.order("PAY24"), "pay")
    number = world.merchant.calls[0]["vnp_TransactionNo"]

    partial = api.parse_refund_response(
        await _call(world, _refund("PAY24", "R1", 50_000, api.TransactionType.PARTIAL_REFUND, number)), SECRET
    )
    assert partial.ok
    assert partial.amount_vnd == 50_000
    assert partial.transaction_type == "03"
    too_much = await _call(world, _refund("PAY24", "R2", 100_001, api.TransactionType.PARTIAL_REFUND))
    assert too_much["vnp_ResponseCode"] == "03"
    wrong_full = await _call(world, _refund("PAY24", "R3", 150_000, api.TransactionType.FULL_REFUND))
    assert wrong_full["vnp_ResponseCode"] == "03"
    rest = api.parse_refund_response(
        await _call(world, _refund("PAY24", "R4", 100_000, api.TransactionType.FULL_REFUND)), SECRET
    )
    assert rest.ok
    assert rest.amount_vnd == 100_000
    wrong_number = await _call(world, _refund("PAY24", "R5", 1_000, api.TransactionType.PARTIAL_REFUND, "1"))
    assert wrong_number["vnp_ResponseCode"] == "91"


async def test_a_cancelled_payment_cannot_be_refunded(world: World) -> None:
    await _press(world, world.order("PAY25"), "cancel")
    reply = await _call(world, _refund("PAY25", "R6", 150_000, api.TransactionType.FULL_REFUND))
    result = api.parse_refund_response(reply, SECRET)
    assert result.signature_valid
    assert result.response_code == "95"
    assert not result.ok
