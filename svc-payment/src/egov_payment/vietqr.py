"""VietQR payloads (NAPAS profile of the EMVCo merchant-presented QR) and their QR images.

The payload is a flat string of TLV objects: a 2-digit tag, a 2-digit length and an ASCII value, some values
being TLV strings themselves (tags 38 and 62). It ends with tag 63, a CRC-16/CCITT-FALSE over everything
before its value, ``6304`` included. See ``shared/domain/payment.md``, section "VietQR".
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

import segno

Service = Literal["QRIBFTTA", "QRIBFTTC"]

NAPAS_GUID = "A000000727"
SERVICE_TO_ACCOUNT: Service = "QRIBFTTA"
SERVICE_TO_CARD: Service = "QRIBFTTC"
MAX_MEMO_LENGTH = 25

_SERVICES: frozenset[str] = frozenset({SERVICE_TO_ACCOUNT, SERVICE_TO_CARD})
_STATIC = "11"
_DYNAMIC = "12"
_CURRENCY_VND = "704"
_COUNTRY = "VN"
_CRC_TAG = "6304"
_TAG = re.compile(r"[0-9]{2}")
_BIN = re.compile(r"[0-9]{6}")
# NAPAS allows up to 19 characters for an account or card number; some banks issue alphanumeric aliases.
_ACCOUNT = re.compile(r"[0-9A-Za-z]{1,19}")
_AMOUNT = re.compile(r"[1-9][0-9]{0,12}")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


class VietQRError(ValueError):
    """A value that cannot go into a VietQR payload, or a payload that is not a valid VietQR."""


@dataclass(frozen=True, slots=True)
class VietQR:
    """The fields of a parsed VietQR payload."""

    bin: str
    account: str
    service: Service
    amount_vnd: int | None
    memo: str | None
    dynamic: bool


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR (check value 0x29B1)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def strip_diacritics(text: str) -> str:
    """Vietnamese text to plain ASCII letters ("Ủng hộ lũ lụt" → "Ung ho lu lut").

    NFD splits a letter from its tone and shape marks; đ/Đ have no decomposition and are mapped by hand.
    """
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def encode_tlv(tag: str, value: str) -> str:
    """One TLV object; the value loses its diacritics and must then be printable ASCII of at most 99 characters."""
    if not _TAG.fullmatch(tag):
        raise VietQRError(f"tag must be two digits, got {tag!r}")
    plain = strip_diacritics(value)
    if not all(" " <= ch <= "~" for ch in plain):
        raise VietQRError(f"value of tag {tag} has characters outside printable ASCII: {value!r}")
    if len(plain) > 99:
        raise VietQRError(f"value of tag {tag} is {len(plain)} characters long, at most 99 fit")
    return f"{tag}{len(plain):02d}{plain}"


def decode_tlv(data: str) -> list[tuple[str, str]]:
    """Split a TLV string into (tag, value) pairs, in order; refuses truncated or malformed input."""
    items: list[tuple[str, str]] = []
    pos = 0
    while pos < len(data):
        header = data[pos : pos + 4]
        if len(header) < 4 or not header.isascii() or not header.isdigit():
            raise VietQRError(f"malformed TLV header {header!r} at offset {pos}")
        length = int(header[2:])
        value = data[pos + 4 : pos + 4 + length]
        if len(value) != length:
            raise VietQRError(
                f"tag {header[:2]} at offset {pos} announces {length} characters, {len(value)} left"
            )
        items.append((header[:2], value))
        pos += 4 + length
    return items


def build_payload(
    *,
    bin: str,
    account: str,
    amount_vnd: int | None = None,
    memo: str | None = None,
    service: Service = SERVICE_TO_ACCOUNT,
) -> str:
    """The VietQR payload string.

    Without an amount the QR is static (point of initiation 11, the payer types the amount); with one it is
    dynamic (12) and carries tag 54. The memo (tag 62, sub-tag 08) is how a credit is matched to an invoice.
    """
    if not _BIN.fullmatch(bin):
        raise VietQRError(f"bank BIN must be 6 digits, got {bin!r}")
    if not _ACCOUNT.fullmatch(account):
        raise VietQRError(f"account must be 1 to 19 letters or digits, got {account!r}")
    if service not in _SERVICES:
        raise VietQRError(f"service must be QRIBFTTA or QRIBFTTC, got {service!r}")
    if amount_vnd is not None and (
        isinstance(amount_vnd, bool)
        or not isinstance(amount_vnd, int)
        or not _AMOUNT.fullmatch(str(amount_vnd))
    ):
        raise VietQRError(
            f"amount must be a positive whole number of VND of at most 13 digits, got {amount_vnd!r}"
        )

    beneficiary = encode_tlv("00", bin) + encode_tlv("01", account)
    merchant_account = (
        encode_tlv("00", NAPAS_GUID) + encode_tlv("01", beneficiary) + encode_tlv("02", service)
    )
    parts = [
        encode_tlv("00", "01"),
        encode_tlv("01", _STATIC if amount_vnd is None else _DYNAMIC),
        encode_tlv("38", merchant_account),
        encode_tlv("53", _CURRENCY_VND),
    ]
    if amount_vnd is not None:
        parts.append(encode_tlv("54", str(amount_vnd)))
    parts.append(encode_tlv("58", _COUNTRY))
    if memo is not None:
        parts.append(encode_tlv("62", encode_tlv("08", _check_memo(memo))))
    body = "".join(parts) + _CRC_TAG
    return body + f"{crc16_ccitt_false(body.encode('ascii')):04X}"


def parse_payload(payload: str) -> VietQR:
    """Check the CRC and the structure of a VietQR payload and return its fields.

    Tags this profile does not use (merchant name, city, other additional data) are allowed and ignored;
    the CRC's hex digits are accepted in either case, as other generators are not all strict about it.
    """
    if not payload.isascii():
        raise VietQRError("payload is not ASCII")
    if len(payload) < 8 or payload[-8:-4] != _CRC_TAG or not _HEX4.fullmatch(payload[-4:]):
        raise VietQRError("payload does not end with a CRC object (6304 and 4 hex digits)")
    expected = crc16_ccitt_false(payload[:-4].encode("ascii"))
    if int(payload[-4:], 16) != expected:
        raise VietQRError(f"CRC mismatch: payload says {payload[-4:]}, content gives {expected:04X}")

    root = _unique(decode_tlv(payload[:-8]), "payload")
    if "63" in root:
        raise VietQRError("the CRC object must come once, at the end")
    if next(iter(root), None) != "00" or root["00"] != "01":
        raise VietQRError("payload must start with payload format indicator 01")
    initiation = _require(root, "01", "point of initiation")
    if initiation not in (_STATIC, _DYNAMIC):
        raise VietQRError(f"point of initiation must be 11 or 12, got {initiation!r}")
    if _require(root, "53", "currency") != _CURRENCY_VND:
        raise VietQRError(f"currency must be {_CURRENCY_VND} (VND), got {root['53']!r}")
    if _require(root, "58", "country") != _COUNTRY:
        raise VietQRError(f"country must be {_COUNTRY}, got {root['58']!r}")

    merchant = _unique(decode_tlv(_require(root, "38", "NAPAS merchant account (tag 38)")), "tag 38")
    if _require(merchant, "00", "NAPAS GUID") != NAPAS_GUID:
        raise VietQRError(f"tag 38 GUID must be {NAPAS_GUID}, got {merchant['00']!r}")
    service = _require(merchant, "02", "service code")
    if service not in _SERVICES:
        raise VietQRError(f"service must be QRIBFTTA or QRIBFTTC, got {service!r}")
    beneficiary = _unique(decode_tlv(_require(merchant, "01", "beneficiary")), "tag 38.01")
    bank_bin = _require(beneficiary, "00", "bank BIN")
    account = _require(beneficiary, "01", "account")
    if not _BIN.fullmatch(bank_bin):
        raise VietQRError(f"bank BIN must be 6 digits, got {bank_bin!r}")
    if not _ACCOUNT.fullmatch(account):
        raise VietQRError(f"account must be 1 to 19 letters or digits, got {account!r}")

    amount: int | None = None
    if "54" in root:
        if not _AMOUNT.fullmatch(root["54"]):
            raise VietQRError(f"amount must be a positive whole number of VND, got {root['54']!r}")
        amount = int(root["54"])

    memo: str | None = None
    if "62" in root:
        memo = _unique(decode_tlv(root["62"]), "tag 62").get("08")

    return VietQR(
        bin=bank_bin,
        account=account,
        service=SERVICE_TO_CARD if service == SERVICE_TO_CARD else SERVICE_TO_ACCOUNT,
        amount_vnd=amount,
        memo=memo,
        dynamic=initiation == _DYNAMIC,
    )


def qr_png(payload: str, *, scale: int = 8, border: int = 4) -> bytes:
    """The payload as a PNG QR code, error correction level M (the usual one for VietQR)."""
    buffer = io.BytesIO()
    _qr(payload).save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def qr_svg(payload: str, *, scale: int = 4, border: int = 4) -> bytes:
    """The payload as an SVG QR code, error correction level M."""
    buffer = io.BytesIO()
    _qr(payload).save(buffer, kind="svg", scale=scale, border=border)
    return buffer.getvalue()


def _qr(payload: str) -> segno.QRCode:
    # boost_error=False keeps level M exactly: what bank apps are tested with, and a stable image for a payload.
    return segno.make_qr(payload, error="m", boost_error=False)


def _check_memo(memo: str) -> str:
    plain = strip_diacritics(memo)
    if not plain:
        raise VietQRError("memo must not be empty (pass None for no memo)")
    if len(plain) > MAX_MEMO_LENGTH:
        raise VietQRError(f"memo is {len(plain)} characters long, at most {MAX_MEMO_LENGTH} fit: {plain!r}")
    return plain


def _unique(items: list[tuple[str, str]], where: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for tag, value in items:
        if tag in found:
            raise VietQRError(f"tag {tag} appears twice in {where}")
        found[tag] = value
    return found


def _require(objects: dict[str, str], tag: str, what: str) -> str:
    try:
        return objects[tag]
    except KeyError:
        raise VietQRError(f"{what} (tag {tag}) is missing") from None
