"""VNPay 2.1.0 query-string protocol: signature vectors, the payment URL, callbacks and the IPN reply."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from egov_payment.vnpay.protocol import (
    GMT7,
    Callback,
    CallbackError,
    IpnResult,
    ResponseCode,
    TransactionStatus,
    describe_response,
    format_date,
    hash_data,
    ipn_reply,
    ipn_result,
    is_paid,
    order_info_text,
    parse_callback,
    parse_date,
    payment_url,
    sign,
    signed_query,
    verify,
    without_diacritics,
)

SECRET = "EGOVDEMOHASHSECRET2026VNPAYSANDBX"

# Published in the tests of the public `vnpay` npm library (lehuygiang28/vnpay, test/verify-ipn-call.test.ts):
# an IPN signed with the secret "test_secret". It has spaces and colons in vnp_OrderInfo, so it only verifies
# when values are hashed quote_plus-encoded.
PUBLISHED_SECRET = "test_secret"
PUBLISHED_IPN = {
    "vnp_Amount": "1000000",
    "vnp_BankCode": "NCB",
    "vnp_BankTranNo": "VNP14422574",
    "vnp_CardType": "ATM",
    "vnp_OrderInfo": "Thanh toan don hang 2024-05-21T02:17:31.249Z",
    "vnp_PayDate": "20240521091806",
    "vnp_ResponseCode": "00",
    "vnp_TmnCode": "TEST_TMN_CODE",
    "vnp_TransactionNo": "14422574",
    "vnp_TransactionStatus": "00",
    "vnp_TxnRef": "1716257871703",
}
PUBLISHED_HASH = (
    "649982421beb422556a1374713c74e58e716ecbd05007c0c0e1f7effdfaf361d"
    "bf146889ca446139afe11b9954c4d5c486e99e3b86fcfab6957f29eb0be72895"
)
PUBLISHED_HASH_CODE_99 = (
    "503194f6d93b57b357b2d1d09742565e67e86d771352c5dca4fc8d39df3d392c"
    "6b3809add9405f97cfb9631f445e36c80656cfbf47eac67d97fa165865c13e1b"
)


def _hmac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


def _ipn(**changes: str) -> dict[str, str]:
    fields = {
        "vnp_Amount": "15000000",
        "vnp_BankCode": "NCB",
        "vnp_BankTranNo": "VNP14000001",
        "vnp_CardType": "ATM",
        "vnp_OrderInfo": "Thanh toan le phi ho so 000.00.00.H27-260310-0001",
        "vnp_PayDate": "20260310091500",
        "vnp_ResponseCode": "00",
        "vnp_TmnCode": "EGOVDEMO",
        "vnp_TransactionNo": "14000001",
        "vnp_TransactionStatus": "00",
        "vnp_TxnRef": "PAY260310A1",
    }
    fields.update(changes)
    fields["vnp_SecureHash"] = sign(fields, SECRET)
    return fields


# --- the signature ---------------------------------------------------------------------------------------


def test_published_vectors_verify() -> None:
    assert sign(PUBLISHED_IPN, PUBLISHED_SECRET) == PUBLISHED_HASH
    assert sign({**PUBLISHED_IPN, "vnp_ResponseCode": "99"}, PUBLISHED_SECRET) == PUBLISHED_HASH_CODE_99
    assert verify({**PUBLISHED_IPN, "vnp_SecureHash": PUBLISHED_HASH}, PUBLISHED_SECRET)
    assert not verify({**PUBLISHED_IPN, "vnp_SecureHash": PUBLISHED_HASH}, "other_secret")


def test_signature_follows_the_rule_by_hand() -> None:
    params = {
        "vnp_TxnRef": "A1",
        "vnp_Amount": "1000000",
        "vnp_OrderInfo": "Le phi: ho so/so 5",
        "vnp_ReturnUrl": "https://dvc.example.vn/tra-ve?x=1&y=2",
        "vnp_BankCode": "",  # empty: left out
        "vnp_SecureHashType": "HmacSHA512",  # never hashed
        "vnp_SecureHash": "ignored",
        "other": "not a vnp_ field",
    }
    expected_text = (
        "vnp_Amount=1000000"
        "&vnp_OrderInfo=Le+phi%3A+ho+so%2Fso+5"
        "&vnp_ReturnUrl=https%3A%2F%2Fdvc.example.vn%2Ftra-ve%3Fx%3D1%26y%3D2"
        "&vnp_TxnRef=A1"
    )
    assert hash_data(params) == expected_text
    assert sign(params, SECRET) == _hmac(SECRET, expected_text)
    assert sign(params, SECRET) == sign(params, SECRET).lower()
    assert len(sign(params, SECRET)) == 128


def test_encoded_and_unencoded_hash_differ_on_spaces_and_vietnamese() -> None:
    params = {"vnp_OrderInfo": "Thanh toán lệ phí", "vnp_TxnRef": "A1"}
    encoded = "vnp_OrderInfo=Thanh+to%C3%A1n+l%E1%BB%87+ph%C3%AD&vnp_TxnRef=A1"
    unencoded = "vnp_OrderInfo=Thanh toán lệ phí&vnp_TxnRef=A1"
    assert hash_data(params) == encoded
    assert sign(params, SECRET) == _hmac(SECRET, encoded)
    assert sign(params, SECRET) != _hmac(SECRET, unencoded)
    # Without spaces or reserved characters both ways agree, which is why naive demos seem to work.
    plain = {"vnp_OrderInfo": "Thanhtoan", "vnp_TxnRef": "A1"}
    assert sign(plain, SECRET) == _hmac(SECRET, "vnp_OrderInfo=Thanhtoan&vnp_TxnRef=A1")


def test_verify_rejects_tampering_of_any_field() -> None:
    fields = _ipn()
    assert verify(fields, SECRET)
    for name in fields:
        if name == "vnp_SecureHash":
            continue
        tampered = {**fields, name: fields[name] + "1"}
        assert not verify(tampered, SECRET), name
        removed = {key: value for key, value in fields.items() if key != name}
        assert not verify(removed, SECRET), name
    assert not verify({**fields, "vnp_Extra": "1"}, SECRET)
    signature = fields["vnp_SecureHash"]
    flipped = signature[:-1] + ("1" if signature.endswith("0") else "0")
    assert not verify({**fields, "vnp_SecureHash": flipped}, SECRET)
    assert not verify({key: value for key, value in fields.items() if key != "vnp_SecureHash"}, SECRET)
    assert not verify(fields, SECRET + "x")


def test_verify_accepts_reordered_query_and_ignores_non_vnp_parameters() -> None:
    fields = _ipn()
    query = signed_query(fields, SECRET)
    pairs = query.split("&")
    reordered = "&".join(reversed(pairs)) + "&utm_source=mail"
    callback = parse_callback(reordered, SECRET)
    assert callback.signature_valid
    assert callback.txn_ref == "PAY260310A1"
    assert verify(dict(parse_qsl(reordered)), SECRET)


def test_verify_accepts_an_uppercase_hash() -> None:
    fields = _ipn()
    assert verify({**fields, "vnp_SecureHash": fields["vnp_SecureHash"].upper()}, SECRET)


def test_verify_survives_non_ascii_garbage_in_the_hash() -> None:
    assert not verify({**_ipn(), "vnp_SecureHash": "chữ ký giả"}, SECRET)


# --- the payment URL -------------------------------------------------------------------------------------

CREATED = datetime(2026, 3, 10, 2, 0, 5, tzinfo=UTC)  # 09:00:05 in Vietnam


def _url(**changes: object) -> str:
    arguments: dict[str, object] = {
        "tmn_code": "EGOVDEMO",
        "secret": SECRET,
        "txn_ref": "PAY260310A1",
        "amount_vnd": 150_000,
        "order_info": "Thanh toán lệ phí hồ sơ",
        "return_url": "https://dvc.example.vn/thanh-toan/ket-qua",
        "ip_addr": "203.0.113.7",
        "create_date": CREATED,
        "expire_date": CREATED + timedelta(minutes=15),
    }
    arguments.update(changes)
    return payment_url("https://sandbox.vnpayment.vn/paymentv2/vpcpay.html", **arguments)  # type: ignore[arg-type]


def test_payment_url_fields() -> None:
    url = _url()
    parts = urlsplit(url)
    assert (
        f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
    )
    params = dict(parse_qsl(parts.query))
    assert params["vnp_Amount"] == "15000000"
    assert params["vnp_Version"] == "2.1.0"
    assert params["vnp_Command"] == "pay"
    assert params["vnp_CurrCode"] == "VND"
    assert params["vnp_Locale"] == "vn"
    assert params["vnp_OrderType"] == "other"
    assert params["vnp_CreateDate"] == "20260310090005"
    assert params["vnp_ExpireDate"] == "20260310091505"
    assert params["vnp_OrderInfo"] == "Thanh toan le phi ho so"
    assert "vnp_SecureHashType" not in params
    assert "vnp_BankCode" not in params
    assert verify(params, SECRET)
    assert not verify(params, "another secret")


def test_payment_url_query_is_sorted_encoded_and_signed_last() -> None:
    query = urlsplit(_url(bank_code="VNBANK")).query
    keys = [pair.split("=", 1)[0] for pair in query.split("&")]
    assert keys[-1] == "vnp_SecureHash"
    assert keys[:-1] == sorted(keys[:-1])
    assert "vnp_BankCode=VNBANK" in query
    assert "vnp_OrderInfo=Thanh+toan+le+phi+ho+so" in query
    assert "vnp_ReturnUrl=https%3A%2F%2Fdvc.example.vn%2Fthanh-toan%2Fket-qua" in query
    hashed_text = query.rsplit("&vnp_SecureHash=", 1)[0]
    assert query.endswith("&vnp_SecureHash=" + _hmac(SECRET, hashed_text))


def test_payment_url_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="amount_vnd"):
        _url(amount_vnd=0)
    with pytest.raises(ValueError, match="amount_vnd"):
        _url(amount_vnd=1.5)
    with pytest.raises(ValueError, match="timezone"):
        _url(create_date=datetime(2026, 3, 10, 9, 0), expire_date=datetime(2026, 3, 10, 9, 15))
    with pytest.raises(ValueError, match="expire_date"):
        _url(expire_date=CREATED)
    with pytest.raises(ValueError, match="locale"):
        _url(locale="vi")


def test_order_info_loses_diacritics_and_special_characters() -> None:
    assert without_diacritics("Thanh toán lệ phí hồ sơ") == "Thanh toan le phi ho so"
    assert without_diacritics("Đăng ký khai sinh - ĐỒNG THÁP") == "Dang ky khai sinh - DONG THAP"
    assert order_info_text("Thanh toán lệ phí hồ sơ") == "Thanh toan le phi ho so"
    assert order_info_text("Phí  ~cấp* bản sao & chứng thực\n") == "Phi cap ban sao chung thuc"
    assert (
        order_info_text("Hồ sơ 000.00.00.H27-260310-0001: lệ phí")
        == "Ho so 000.00.00.H27-260310-0001: le phi"
    )
    assert len(order_info_text("a" * 300)) == 255


def test_dates_are_vietnam_wall_time() -> None:
    assert format_date(datetime(2026, 12, 31, 17, 30, tzinfo=UTC)) == "20270101003000"
    assert parse_date("20270101003000") == datetime(2027, 1, 1, 0, 30, tzinfo=GMT7)
    with pytest.raises(ValueError, match="yyyyMMddHHmmss"):
        parse_date("2027-01-01")


# --- callbacks -------------------------------------------------------------------------------------------


def test_parse_callback_types_the_fields() -> None:
    callback = parse_callback(_ipn(), SECRET)
    assert callback == Callback(
        signature_valid=True,
        tmn_code="EGOVDEMO",
        txn_ref="PAY260310A1",
        amount_vnd=150_000,
        response_code="00",
        transaction_status="00",
        transaction_no="14000001",
        bank_code="NCB",
        bank_tran_no="VNP14000001",
        card_type="ATM",
        order_info="Thanh toan le phi ho so 000.00.00.H27-260310-0001",
        pay_date=datetime(2026, 3, 10, 9, 15, tzinfo=GMT7),
    )
    assert callback.paid
    assert is_paid(callback)


def test_parse_callback_of_a_raw_query_string() -> None:
    callback = parse_callback("?" + signed_query(_ipn(), SECRET), SECRET)
    assert callback.signature_valid
    assert callback.amount_vnd == 150_000


def test_parse_callback_reports_a_bad_signature_without_raising() -> None:
    fields = {**_ipn(), "vnp_Amount": "1500000"}
    callback = parse_callback(fields, SECRET)
    assert not callback.signature_valid
    assert not is_paid(callback)


@pytest.mark.parametrize("amount", ["15000050", "-15000000", "1.5e7", "", "１５０"])
def test_parse_callback_refuses_amounts_that_are_not_whole_vnd(amount: str) -> None:
    with pytest.raises(CallbackError):
        parse_callback(_ipn(vnp_Amount=amount), SECRET)


def test_parse_callback_refuses_missing_fields_and_repeated_keys() -> None:
    fields = _ipn()
    del fields["vnp_TransactionStatus"]
    with pytest.raises(CallbackError, match="vnp_TransactionStatus"):
        parse_callback(fields, SECRET)
    query = signed_query(_ipn(), SECRET)
    with pytest.raises(CallbackError, match="repeated"):
        parse_callback(query + "&vnp_Amount=100", SECRET)
    with pytest.raises(CallbackError):
        parse_callback(_ipn(vnp_PayDate="yesterday"), SECRET)


@pytest.mark.parametrize(
    ("response_code", "status", "paid"),
    [("00", "00", True), ("00", "01", False), ("00", "02", False), ("24", "02", False), ("07", "00", False)],
)
def test_paid_needs_response_code_and_status_00(response_code: str, status: str, paid: bool) -> None:
    callback = parse_callback(_ipn(vnp_ResponseCode=response_code, vnp_TransactionStatus=status), SECRET)
    assert callback.signature_valid
    assert is_paid(callback) is paid


# --- the IPN reply ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "body"),
    [
        ("00", '{"RspCode": "00", "Message": "Confirm Success"}'),
        ("01", '{"RspCode": "01", "Message": "Order not found"}'),
        ("02", '{"RspCode": "02", "Message": "Order already confirmed"}'),
        ("04", '{"RspCode": "04", "Message": "Invalid amount"}'),
        ("97", '{"RspCode": "97", "Message": "Invalid signature"}'),
        ("99", '{"RspCode": "99", "Message": "Unknown error"}'),
    ],
)
def test_ipn_reply_is_exact(code: str, body: str) -> None:
    assert json.dumps(ipn_reply(code)) == body
    assert json.dumps(ipn_reply(IpnResult(code))) == body


def test_ipn_reply_refuses_unknown_codes() -> None:
    with pytest.raises(ValueError, match="03"):
        ipn_reply("03")


def test_ipn_result_checks_in_vnpay_order() -> None:
    good = parse_callback(_ipn(), SECRET)
    forged = parse_callback({**_ipn(), "vnp_Amount": "100"}, SECRET)
    assert ipn_result(forged, order_amount_vnd=None, already_confirmed=True) is IpnResult.INVALID_SIGNATURE
    assert ipn_result(good, order_amount_vnd=None, already_confirmed=True) is IpnResult.ORDER_NOT_FOUND
    assert ipn_result(good, order_amount_vnd=149_999, already_confirmed=True) is IpnResult.INVALID_AMOUNT
    assert ipn_result(good, order_amount_vnd=150_000, already_confirmed=True) is IpnResult.ALREADY_CONFIRMED
    assert ipn_result(good, order_amount_vnd=150_000, already_confirmed=False) is IpnResult.CONFIRM_SUCCESS
    cancelled = parse_callback(_ipn(vnp_ResponseCode="24", vnp_TransactionStatus="02"), SECRET)
    assert (
        ipn_result(cancelled, order_amount_vnd=150_000, already_confirmed=False) is IpnResult.CONFIRM_SUCCESS
    )


def test_codes_carry_vietnamese_descriptions() -> None:
    documented = ["00", "07", "09", "10", "11", "12", "13", "24", "51", "65", "75", "79", "99"]
    assert [code.value for code in ResponseCode] == documented
    assert "hủy" in ResponseCode("24").description
    assert [status.value for status in TransactionStatus] == ["00", "01", "02", "04", "05", "06", "07", "09"]
    assert "hoàn tiền" in TransactionStatus("05").description
    assert describe_response("42") == "Mã phản hồi 42 không xác định"
