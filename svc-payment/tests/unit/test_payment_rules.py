"""Pure rules: references, fee lines, bank memo matching and signatures, statement parsing, the receipt PDF."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

import pytest

from egov_payment.invoices.rules import new_reference, payable_lines, total
from egov_payment.payments.bank import parse_statement, references_in, signature, signature_valid
from egov_payment.receipts.pdf import ReceiptContent, fonts, render
from egov_payment.statistics import share
from egov_shared.problems import Unprocessable


def test_references_are_safe_for_txn_ref_and_memos() -> None:
    refs = {new_reference("TT") for _ in range(500)}
    assert len(refs) == 500
    assert all(re.fullmatch(r"TT[2-9A-HJKMNP-Z]{10}", ref) for ref in refs)


def test_payable_lines_drop_free_lines_and_sum() -> None:
    lines = payable_lines(
        [
            {"kind": "le_phi", "name": "Lệ phí", "amount_vnd": 100_000},
            {"kind": "phi", "name": "Miễn phí", "amount_vnd": 0},
            {"kind": "phi", "name": "Phí", "amount_vnd": 5_000},
        ]
    )
    assert [line["name"] for line in lines] == ["Lệ phí", "Phí"]
    assert total(lines) == 105_000
    assert total(payable_lines([{"kind": "phi", "name": "x", "amount_vnd": 0}])) == 0


@pytest.mark.parametrize(
    ("memo", "expected"),
    [
        ("TT7KQ2M9XRB4", "TT7KQ2M9XRB4"),
        ("NGUYEN VAN AN CHUYEN TIEN tt7kq2m9xrb4 le phi", "TT7KQ2M9XRB4"),
        ("CT TT7KQ2M9XRB4 nop", "TT7KQ2M9XRB4"),
        ("MBVCB.123.TT7KQ2-M9XRB4.CT tu 0123", "TT7KQ2M9XRB4"),
        ("CTTT7KQ2M9XRB4", "TT7KQ2M9XRB4"),  # glued to a bank prefix: every place is a candidate
    ],
)
def test_the_reference_is_found_in_bank_memos(memo: str, expected: str) -> None:
    assert expected in references_in(memo)


def test_memos_without_a_reference() -> None:
    assert references_in("ung ho lu lut") == []
    assert references_in("TT12345") == []


def test_the_credit_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"transaction_id":"FT1","amount":100000}'
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert signature("s3cret", body) == expected
    assert signature_valid("s3cret", body, expected)
    assert signature_valid("s3cret", body, expected.upper().replace("SHA256=", "sha256="))
    assert not signature_valid("s3cret", body + b" ", expected)
    assert not signature_valid("other", body, expected)
    assert not signature_valid("s3cret", body, None)


def test_statement_rows_are_all_or_nothing() -> None:
    good = "transaction_id,account,amount,memo,credited_at\nA1,1133,120000,TT7KQ2M9XRB4,2026-11-10T10:00:00+07:00\n"
    [credit] = parse_statement(good)
    assert credit.amount == 120_000
    assert credit.credited_at == dt.datetime(2026, 11, 10, 3, tzinfo=dt.UTC)
    with pytest.raises(Unprocessable) as missing:
        parse_statement("transaction_id,amount\nA1,5\n")
    assert missing.value.code == "statement.missing_columns"
    bad = good + "A2,1133,-5,x,2026-11-10T10:00:00+07:00\nA3,1133,5,x,yesterday\n"
    with pytest.raises(Unprocessable) as rows:
        parse_statement(bad)
    assert [e["field"] for e in rows.value.errors or []] == ["line 3", "line 4"]
    # Found by the API fuzzer: a carriage return alone inside a field made the csv module raise (a 500). It ends
    # the line now, as in any CSV reader; what the module still refuses (a field past its size limit) is a 422.
    header = "transaction_id,account,amount,memo,credited_at\n"
    with pytest.raises(Unprocessable) as carriage_return:
        parse_statement(header + "A1,1133,5,x\ry,z\n")
    assert carriage_return.value.code == "statement.invalid_rows"
    with pytest.raises(Unprocessable) as not_csv:
        parse_statement(header + "A1,1133,5," + "x" * 200_000 + ",z\n")
    assert not_csv.value.code == "statement.invalid_csv"


def test_shares_are_percentages_with_two_decimals() -> None:
    assert share(2, 3) == 66.67
    assert share(0, 0) is None
    assert share(5, 5) == 100.0


def test_the_receipt_pdf_embeds_a_vietnamese_font() -> None:
    content = ReceiptContent(
        receipt_number="BL26-000.00.10.H27-0000001",
        form_number="01BLP0-001",
        symbol="BL26",
        number=1,
        agency_name="Sở Tư pháp",
        agency_code="000.00.10.H27",
        tax_code=None,
        payer_name="Nguyễn Thị Hằng",
        dossier_code="000.00.10.H27-261110-0001",
        lines=[{"kind": "le_phi", "name": "Lệ phí cấp bản sao", "amount_vnd": 105_000}],
        amount_vnd=105_000,
        amount_in_words="Một trăm linh năm nghìn đồng",
        method="Thanh toán trực tuyến qua VNPAY",
        issued_at=dt.datetime(2026, 11, 10, 3, tzinfo=dt.UTC),
        verify_url="http://localhost:8000/api/v1/receipts/verify/x?code=y",
    )
    pdf = render(content)
    assert pdf.startswith(b"%PDF-")
    regular, _ = fonts()
    if regular.startswith("EgovReceipt-"):
        assert b"FontFile2" in pdf  # the TrueType font is embedded (Vietnamese glyphs)
