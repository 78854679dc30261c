"""VietQR payloads: the CRC, TLV, payment.md's published samples, parsing, an independent decoder, QR images."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egov_payment.vietqr import (
    VietQR,
    VietQRError,
    build_payload,
    crc16_ccitt_false,
    decode_tlv,
    encode_tlv,
    parse_payload,
    qr_png,
    qr_svg,
    strip_diacritics,
)

# The two samples of shared/domain/payment.md, "VietQR".
STATIC_SAMPLE = "00020101021138540010A00000072701240006970423011000999999990208QRIBFTTA53037045802VN6304CBB4"
DYNAMIC_SAMPLE = (
    "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
    "530370454061200005802VN62170813ung ho lu lut6304C15C"
)

# DESIGN §9: the demo receiving account.
DEMO_BIN = "970415"
DEMO_ACCOUNT = "113366668888"


def _with_crc(body: str) -> str:
    """A payload body (ending in 6304) completed with its right CRC, to test checks other than the CRC."""
    return body + f"{crc16_ccitt_false(body.encode()):04X}"


# --- CRC ---------------------------------------------------------------------------------------------------


def test_crc_check_value_of_the_catalogue() -> None:
    # The standard check value of CRC-16/CCITT-FALSE (also called CRC-16/IBM-3740).
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_crc_of_nothing_is_the_initial_value() -> None:
    assert crc16_ccitt_false(b"") == 0xFFFF


def test_crc_of_the_samples() -> None:
    assert crc16_ccitt_false(STATIC_SAMPLE[:-4].encode()) == 0xCBB4
    assert crc16_ccitt_false(DYNAMIC_SAMPLE[:-4].encode()) == 0xC15C


# --- TLV ---------------------------------------------------------------------------------------------------


def test_encode_tlv() -> None:
    assert encode_tlv("00", "01") == "000201"
    assert encode_tlv("58", "VN") == "5802VN"
    assert encode_tlv("62", "") == "6200"


def test_encode_tlv_strips_diacritics() -> None:
    assert encode_tlv("08", "Ủng hộ lũ lụt") == "0813Ung ho lu lut"
    assert encode_tlv("59", "ĐỒNG NAI đường") == "5914DONG NAI duong"


def test_strip_diacritics_covers_every_vietnamese_letter() -> None:
    assert strip_diacritics("àáảãạăằắẳẵặâầấẩẫậ") == "a" * 17
    assert strip_diacritics("ÈÉẺẼẸÊỀẾỂỄỆ") == "E" * 11
    assert strip_diacritics("ìíỉĩịòóỏõọôồốổỗộơờớởỡợ") == "iiiii" + "o" * 17
    assert strip_diacritics("ùúủũụưừứửữựỳýỷỹỵđĐ") == "u" * 11 + "y" * 5 + "dD"


def test_encode_tlv_accepts_99_characters_and_refuses_100() -> None:
    assert encode_tlv("62", "x" * 99) == "6299" + "x" * 99
    with pytest.raises(VietQRError, match="at most 99"):
        encode_tlv("62", "x" * 100)


@pytest.mark.parametrize("tag", ["1", "001", "ab", "6 "])
def test_encode_tlv_refuses_a_bad_tag(tag: str) -> None:
    with pytest.raises(VietQRError, match="two digits"):
        encode_tlv(tag, "x")


def test_encode_tlv_refuses_what_is_not_ascii_after_stripping() -> None:
    with pytest.raises(VietQRError, match="ASCII"):
        encode_tlv("08", "phí 10€")
    with pytest.raises(VietQRError, match="ASCII"):
        encode_tlv("08", "line\nbreak")


def test_decode_tlv_splits_in_order() -> None:
    assert decode_tlv("000201010212" + "5802VN") == [("00", "01"), ("01", "12"), ("58", "VN")]
    assert decode_tlv("") == []


@pytest.mark.parametrize("data", ["0002", "000201" + "01", "0005abc", "x002ab", "00-1a"])
def test_decode_tlv_refuses_truncated_or_malformed_input(data: str) -> None:
    with pytest.raises(VietQRError):
        decode_tlv(data)


# --- build_payload -----------------------------------------------------------------------------------------


def test_static_sample_is_reproduced_exactly() -> None:
    assert build_payload(bin="970423", account="0099999999", service="QRIBFTTA") == STATIC_SAMPLE


def test_dynamic_sample_is_reproduced_exactly() -> None:
    payload = build_payload(bin="970415", account="0011001932418", amount_vnd=120_000, memo="ung ho lu lut")
    assert payload == DYNAMIC_SAMPLE


def test_demo_account_dynamic_payload() -> None:
    payload = build_payload(
        bin=DEMO_BIN, account=DEMO_ACCOUNT, amount_vnd=50_000, memo="Lệ phí HS-2026-000123"
    )
    assert payload == _with_crc(
        "000201010212"
        "38560010A000000727012600069704150112113366668888" + "0208QRIBFTTA"
        "5303704" + "540550000" + "5802VN" + "62250821Le phi HS-2026-000123" + "6304"
    )


def test_static_payload_has_no_amount() -> None:
    payload = build_payload(bin=DEMO_BIN, account=DEMO_ACCOUNT)
    tags = [tag for tag, _ in decode_tlv(payload)]
    assert tags == ["00", "01", "38", "53", "58", "63"]
    assert payload.startswith("000201010211")


def test_card_service() -> None:
    payload = build_payload(bin=DEMO_BIN, account="9704150123456789", service="QRIBFTTC")
    assert "0208QRIBFTTC" in payload
    assert parse_payload(payload).service == "QRIBFTTC"


def test_crc_is_four_uppercase_hex_digits() -> None:
    for amount in range(1, 60):
        crc = build_payload(bin=DEMO_BIN, account=DEMO_ACCOUNT, amount_vnd=amount)[-4:]
        assert len(crc) == 4
        assert crc == crc.upper()
        int(crc, 16)


def test_memo_of_25_characters_fits_and_26_does_not() -> None:
    payload = build_payload(bin=DEMO_BIN, account=DEMO_ACCOUNT, amount_vnd=1000, memo="A" * 25)
    assert parse_payload(payload).memo == "A" * 25
    with pytest.raises(VietQRError, match="at most 25"):
        build_payload(bin=DEMO_BIN, account=DEMO_ACCOUNT, amount_vnd=1000, memo="A" * 26)


def test_memo_length_is_counted_after_stripping_diacritics() -> None:
    memo = "Thanh toán lệ phí hộ tịch"  # 25 letters once stripped, more bytes in UTF-8
    payload = build_payload(bin=DEMO_BIN, account=DEMO_ACCOUNT, amount_vnd=1000, memo=memo)
    assert parse_payload(payload).memo == "Thanh toan le phi ho tich"


def test_empty_memo_is_refused() -> None:
    with pytest.raises(VietQRError, match="empty"):
        build_payload(bin=DEMO_BIN, account=DEMO_ACCOUNT, memo="")


@pytest.mark.parametrize("bank_bin", ["97041", "9704150", "97041A", ""])
def test_bad_bin_is_refused(bank_bin: str) -> None:
    with pytest.raises(VietQRError, match="BIN"):
        build_payload(bin=bank_bin, account=DEMO_ACCOUNT)


@pytest.mark.parametrize("account", ["", "1" * 20, "1133-6666", "11336666 8888"])
def test_bad_account_is_refused(account: str) -> None:
    with pytest.raises(VietQRError, match="account"):
        build_payload(bin=DEMO_BIN, account=account)


@pytest.mark.parametrize("amount", [0, -1, 10**13])
def test_bad_amount_is_refused(amount: int) -> None:
    with pytest.raises(VietQRError, match="amount"):
        build_payload(bin=DEMO_BIN, account=DEMO_ACCOUNT, amount_vnd=amount)


def test_largest_amount_fits_tag_54() -> None:
    payload = build_payload(bin=DEMO_BIN, account=DEMO_ACCOUNT, amount_vnd=10**13 - 1)
    assert "54139999999999999" in payload


def test_unknown_service_is_refused() -> None:
    with pytest.raises(VietQRError, match="service"):
        build_payload(bin=DEMO_BIN, account=DEMO_ACCOUNT, service="QRPUSH")  # type: ignore[arg-type]


# --- parse_payload -----------------------------------------------------------------------------------------


def test_parse_static_sample() -> None:
    assert parse_payload(STATIC_SAMPLE) == VietQR(
        bin="970423", account="0099999999", service="QRIBFTTA", amount_vnd=None, memo=None, dynamic=False
    )


def test_parse_dynamic_sample() -> None:
    assert parse_payload(DYNAMIC_SAMPLE) == VietQR(
        bin="970415",
        account="0011001932418",
        service="QRIBFTTA",
        amount_vnd=120_000,
        memo="ung ho lu lut",
        dynamic=True,
    )


def test_parse_accepts_a_lowercase_crc() -> None:
    assert parse_payload(STATIC_SAMPLE[:-4] + "cbb4").account == "0099999999"


@pytest.mark.parametrize("index", [0, 10, 30, 60, len(DYNAMIC_SAMPLE) - 1])
def test_parse_refuses_a_changed_character(index: int) -> None:
    changed = "1" if DYNAMIC_SAMPLE[index] != "1" else "2"
    tampered = DYNAMIC_SAMPLE[:index] + changed + DYNAMIC_SAMPLE[index + 1 :]
    with pytest.raises(VietQRError, match="CRC"):
        parse_payload(tampered)


def test_parse_refuses_a_payload_without_crc() -> None:
    with pytest.raises(VietQRError, match="CRC"):
        parse_payload(STATIC_SAMPLE[:-8])
    with pytest.raises(VietQRError, match="CRC"):
        parse_payload(STATIC_SAMPLE + "00")


def test_parse_ignores_tags_it_does_not_use() -> None:
    body = DYNAMIC_SAMPLE[:-8].replace("5802VN", "5802VN5907KHO BAC6006HA NOI") + "6304"
    parsed = parse_payload(_with_crc(body))
    assert parsed.account == "0011001932418"
    assert parsed.memo == "ung ho lu lut"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("000202" + STATIC_SAMPLE[6:-4], "format indicator"),
        ("010211000201" + STATIC_SAMPLE[12:-4], "format indicator"),
        ("000201010213" + STATIC_SAMPLE[12:-4], "point of initiation"),
        (STATIC_SAMPLE[:-4].replace("5303704", "5303840"), "currency"),
        (STATIC_SAMPLE[:-4].replace("5802VN", "5802TH"), "country"),
        (STATIC_SAMPLE[:-4].replace("A000000727", "A000000775"), "GUID"),
        (STATIC_SAMPLE[:-4].replace("QRIBFTTA", "QRIBFTTX"), "service"),
        (STATIC_SAMPLE[:-4].replace("0006970423", "0006970X23"), "BIN"),
        (STATIC_SAMPLE[:-4].replace("5802VN", "5802VN5802VN"), "twice"),
        (STATIC_SAMPLE[:-4].replace("5303704", "530370454041.00"), "amount"),
        (STATIC_SAMPLE[:-4].replace("5303704", "53037045401" + "0"), "amount"),
        (STATIC_SAMPLE[:-4].replace("5303704", ""), "currency"),
        ("000201010211" + "5303704" + "5802VN" + "6304", "tag 38"),
        (STATIC_SAMPLE[:-4].replace("6304", "63040000" + "6304"), "CRC object"),
        (STATIC_SAMPLE[:-4].replace("5802VN", "5803VN"), "announces 3 characters"),
    ],
)
def test_parse_refuses_a_bad_structure(body: str, message: str) -> None:
    with pytest.raises(VietQRError, match=message):
        parse_payload(_with_crc(body))


def test_parse_refuses_non_ascii() -> None:
    with pytest.raises(VietQRError, match="ASCII"):
        parse_payload(DYNAMIC_SAMPLE.replace("ung ho", "ủng hộ"))


_MEMOS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -.", min_size=1, max_size=25
)
_ACCOUNTS = st.text(alphabet="0123456789", min_size=6, max_size=19)
_AMOUNTS = st.one_of(st.none(), st.integers(min_value=1, max_value=10**13 - 1))


@given(_ACCOUNTS, _AMOUNTS, st.one_of(st.none(), _MEMOS))
def test_build_then_parse_round_trips(account: str, amount: int | None, memo: str | None) -> None:
    parsed = parse_payload(build_payload(bin=DEMO_BIN, account=account, amount_vnd=amount, memo=memo))
    assert parsed == VietQR(
        bin=DEMO_BIN,
        account=account,
        service="QRIBFTTA",
        amount_vnd=amount,
        memo=memo,
        dynamic=amount is not None,
    )


# --- an independent decoder: vietnam-qr-pay (a Python port of the vietnam-qr-pay JavaScript library) --------


def test_independent_decoder_reads_our_payloads() -> None:
    qr_pay = pytest.importorskip("vietnam_qr_pay")
    payload = build_payload(bin=DEMO_BIN, account=DEMO_ACCOUNT, amount_vnd=250_000, memo="HS000123")
    decoded = qr_pay.QRPay(payload)
    assert decoded.is_valid
    assert decoded.version == "01"
    assert decoded.init_method == "12"
    assert decoded.provider.field_id == "38"
    assert decoded.provider.guid == "A000000727"
    assert decoded.provider.service == "QRIBFTTA"
    assert decoded.consumer.bank_bin == DEMO_BIN
    assert decoded.consumer.bank_number == DEMO_ACCOUNT
    assert decoded.currency == "704"
    assert decoded.amount == "250000"
    assert decoded.nation == "VN"
    assert decoded.additional_data.purpose == "HS000123"
    assert decoded.crc == payload[-4:]


def test_independent_encoder_builds_the_same_payload() -> None:
    qr_pay = pytest.importorskip("vietnam_qr_pay")
    theirs = qr_pay.QRPay.init_viet_qr(
        bank_bin=DEMO_BIN, bank_number=DEMO_ACCOUNT, amount="1250000", purpose="Le phi HS-2026-000123"
    ).build()
    ours = build_payload(
        bin=DEMO_BIN, account=DEMO_ACCOUNT, amount_vnd=1_250_000, memo="Lệ phí HS-2026-000123"
    )
    assert ours == theirs
    assert qr_pay.QRPay.init_viet_qr(bank_bin=DEMO_BIN, bank_number=DEMO_ACCOUNT).build() == build_payload(
        bin=DEMO_BIN, account=DEMO_ACCOUNT
    )


@given(_ACCOUNTS, _AMOUNTS, st.one_of(st.none(), _MEMOS))
def test_independent_decoder_agrees_on_any_payload(
    account: str, amount: int | None, memo: str | None
) -> None:
    qr_pay = pytest.importorskip("vietnam_qr_pay")
    decoded = qr_pay.QRPay(build_payload(bin=DEMO_BIN, account=account, amount_vnd=amount, memo=memo))
    assert decoded.is_valid
    assert decoded.init_method == ("11" if amount is None else "12")
    assert decoded.consumer.bank_bin == DEMO_BIN
    assert decoded.consumer.bank_number == account
    assert decoded.amount == (None if amount is None else str(amount))
    assert decoded.additional_data.purpose == memo


# --- QR images ---------------------------------------------------------------------------------------------


def test_qr_png_is_a_png() -> None:
    png = qr_png(DYNAMIC_SAMPLE)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(qr_png(DYNAMIC_SAMPLE, scale=2)) < len(png)


def test_qr_svg_is_an_svg() -> None:
    svg = qr_svg(DYNAMIC_SAMPLE)
    assert b"<svg" in svg
    assert svg.rstrip().endswith(b"</svg>")


def test_qr_png_decodes_back_to_the_payload() -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    image_module = pytest.importorskip("PIL.Image")
    payload = build_payload(
        bin=DEMO_BIN, account=DEMO_ACCOUNT, amount_vnd=120_000, memo="Lệ phí HS-2026-000123"
    )
    results = zxingcpp.read_barcodes(image_module.open(io.BytesIO(qr_png(payload, scale=4))))
    assert [result.text for result in results] == [payload]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
    assert results[0].ec_level == "M"
