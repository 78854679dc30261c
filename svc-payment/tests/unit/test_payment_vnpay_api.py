"""VNPay querydr and refund: the ``|``-joined hash data in payment.md's order, and response verification."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from egov_payment.vnpay.api import (
    QUERYDR_RESPONSE_FIELDS,
    REFUND_RESPONSE_FIELDS,
    TransactionType,
    parse_querydr_response,
    parse_refund_response,
    querydr_request,
    refund_request,
    sign_response,
    verify_request,
)
from egov_payment.vnpay.protocol import GMT7

SECRET = "EGOVDEMOHASHSECRET2026VNPAYSANDBX"
PAID_AT = datetime(2026, 3, 10, 9, 0, 5, tzinfo=GMT7)
NOW = datetime(2026, 3, 10, 3, 30, tzinfo=UTC)  # 10:30 in Vietnam


def _hmac(text: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha512).hexdigest()


def _querydr(**changes: str) -> dict[str, str]:
    return querydr_request(
        tmn_code="EGOVDEMO",
        secret=SECRET,
        request_id=changes.get("request_id", "Q20260310103000A"),
        txn_ref="PAY260310A1",
        transaction_date=PAID_AT,
        create_date=NOW,
        ip_addr="10.0.0.5",
        order_info="Truy vấn giao dịch PAY260310A1",
        transaction_no=changes.get("transaction_no", ""),
    )


def test_querydr_hash_data_in_the_documented_order() -> None:
    body = _querydr()
    expected = (
        "Q20260310103000A|2.1.0|querydr|EGOVDEMO|PAY260310A1|20260310090005|20260310103000|10.0.0.5"
        "|Truy van giao dich PAY260310A1"
    )
    assert body["vnp_SecureHash"] == _hmac(expected)
    assert body["vnp_Command"] == "querydr"
    assert body["vnp_Version"] == "2.1.0"
    assert "vnp_TransactionNo" not in body
    assert verify_request(body, SECRET)
    # vnp_TransactionNo is sent when known but is not part of the querydr hash.
    with_number = _querydr(transaction_no="14000001")
    assert with_number["vnp_TransactionNo"] == "14000001"
    assert with_number["vnp_SecureHash"] == body["vnp_SecureHash"]


def test_querydr_verification_rejects_tampering_and_a_wrong_secret() -> None:
    body = _querydr()
    for name in (
        "vnp_RequestId",
        "vnp_TmnCode",
        "vnp_TxnRef",
        "vnp_TransactionDate",
        "vnp_IpAddr",
        "vnp_OrderInfo",
    ):
        assert not verify_request({**body, name: body[name] + "9"}, SECRET), name
    assert not verify_request(body, SECRET + "x")
    assert not verify_request({**body, "vnp_Command": "refund"}, SECRET)
    assert not verify_request({key: value for key, value in body.items() if key != "vnp_SecureHash"}, SECRET)


def _refund(
    kind: TransactionType = TransactionType.PARTIAL_REFUND, number: str = "14000001"
) -> dict[str, str]:
    return refund_request(
        tmn_code="EGOVDEMO",
        secret=SECRET,
        request_id="R20260310103000A",
        txn_ref="PAY260310A1",
        amount_vnd=50_000,
        transaction_type=kind,
        transaction_date=PAID_AT,
        create_by="ketoan.h27",
        create_date=NOW,
        ip_addr="10.0.0.5",
        order_info="Hoàn phí hồ sơ",
        transaction_no=number,
    )


def test_refund_hash_data_in_the_documented_order() -> None:
    body = _refund()
    expected = (
        "R20260310103000A|2.1.0|refund|EGOVDEMO|03|PAY260310A1|5000000|14000001|20260310090005|ketoan.h27"
        "|20260310103000|10.0.0.5|Hoan phi ho so"
    )
    assert body["vnp_SecureHash"] == _hmac(expected)
    assert body["vnp_Amount"] == "5000000"
    assert body["vnp_TransactionType"] == "03"
    assert verify_request(body, SECRET)
    full = _refund(TransactionType.FULL_REFUND, number="")
    assert full["vnp_TransactionType"] == "02"
    assert "vnp_TransactionNo" not in full
    assert full["vnp_SecureHash"] == _hmac(expected.replace("|03|", "|02|").replace("|14000001|", "||"))


def test_refund_verification_rejects_tampering() -> None:
    body = _refund()
    for name in ("vnp_TransactionType", "vnp_Amount", "vnp_TransactionNo", "vnp_CreateBy", "vnp_CreateDate"):
        assert not verify_request({**body, name: body[name] + "0"}, SECRET), name


def test_request_builders_refuse_bad_input() -> None:
    with pytest.raises(ValueError, match="request_id"):
        _querydr(request_id="has-dash")
    with pytest.raises(ValueError, match="request_id"):
        _querydr(request_id="X" * 33)
    with pytest.raises(ValueError, match="02"):
        _refund(TransactionType.PAYMENT)


def _response(command: str, fields: tuple[str, ...], **values: str) -> dict[str, str]:
    body = {
        "vnp_ResponseId": "0001",
        "vnp_Command": command,
        "vnp_ResponseCode": "00",
        "vnp_Message": "QueryDR Success",
        "vnp_TmnCode": "EGOVDEMO",
        "vnp_TxnRef": "PAY260310A1",
        "vnp_Amount": "15000000",
        "vnp_BankCode": "NCB",
        "vnp_PayDate": "20260310091500",
        "vnp_TransactionNo": "14000001",
        "vnp_TransactionType": "01",
        "vnp_TransactionStatus": "00",
        "vnp_OrderInfo": "Thanh toan le phi ho so",
    }
    body.update(values)
    body["vnp_SecureHash"] = _hmac("|".join(body.get(name, "") for name in fields))
    return body


def test_querydr_response_signature_by_hand() -> None:
    body = _response("querydr", QUERYDR_RESPONSE_FIELDS)
    expected = (
        "0001|querydr|00|QueryDR Success|EGOVDEMO|PAY260310A1|15000000|NCB|20260310091500|14000001|01|00"
        "|Thanh toan le phi ho so||"
    )
    assert body["vnp_SecureHash"] == _hmac(expected)
    assert sign_response(body, SECRET) == body["vnp_SecureHash"]
    result = parse_querydr_response(body, SECRET)
    assert result.signature_valid
    assert result.ok
    assert result.paid
    assert result.amount_vnd == 150_000
    assert result.pay_date == datetime(2026, 3, 10, 9, 15, tzinfo=GMT7)


def test_querydr_response_tampered_or_unsigned_is_not_believed() -> None:
    body = _response("querydr", QUERYDR_RESPONSE_FIELDS)
    for name in ("vnp_ResponseCode", "vnp_Amount", "vnp_TransactionStatus", "vnp_TxnRef", "vnp_Message"):
        result = parse_querydr_response({**body, name: body[name] + "1"}, SECRET)
        assert not result.signature_valid, name
        assert not result.paid
    unsigned = {key: value for key, value in body.items() if key != "vnp_SecureHash"}
    assert not parse_querydr_response(unsigned, SECRET).ok
    # A refund response replayed as a querydr answer does not verify either.
    refund_body = _response("refund", REFUND_RESPONSE_FIELDS)
    assert not parse_querydr_response(refund_body, SECRET).signature_valid


def test_querydr_response_of_an_unpaid_transaction() -> None:
    body = _response("querydr", QUERYDR_RESPONSE_FIELDS, vnp_TransactionStatus="02")
    result = parse_querydr_response(body, SECRET)
    assert result.ok
    assert not result.paid


def test_refund_response_signature_by_hand() -> None:
    body = _response(
        "refund",
        REFUND_RESPONSE_FIELDS,
        vnp_Message="Refund success",
        vnp_Amount="5000000",
        vnp_TransactionType="03",
        vnp_TransactionStatus="05",
    )
    expected = (
        "0001|refund|00|Refund success|EGOVDEMO|PAY260310A1|5000000|NCB|20260310091500|14000001|03|05"
        "|Thanh toan le phi ho so"
    )
    assert body["vnp_SecureHash"] == _hmac(expected)
    result = parse_refund_response(body, SECRET)
    assert result.ok
    assert result.amount_vnd == 50_000
    assert result.transaction_type == "03"
    assert not parse_refund_response({**body, "vnp_Amount": "15000000"}, SECRET).ok


def test_numbers_in_json_responses_hash_like_strings() -> None:
    body: dict[str, object] = dict(_response("querydr", QUERYDR_RESPONSE_FIELDS))
    body["vnp_Amount"] = 15000000
    body["vnp_TransactionNo"] = 14000001
    assert parse_querydr_response(body, SECRET).paid
