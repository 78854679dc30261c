"""The receipt as a PDF (reportlab): what Decree 123/2020 (as amended by Decree 70/2025) asks a receipt to
carry, and a QR code of its public verification URL.

Fonts follow svc-document's signature appearances: a TrueType font with Vietnamese glyphs from
``FONT_CANDIDATES`` (Times New Roman, else a similar serif, else DejaVu); without any, the standard Times with
diacritics removed, so a missing font never stops a receipt.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import segno
from reportlab.lib.pagesizes import A5
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from egov_payment.vnpay.protocol import GMT7

log = logging.getLogger(__name__)

FONT_CANDIDATES = (
    (
        "/usr/share/fonts/truetype/msttcorefonts/Times_New_Roman.ttf",
        "/usr/share/fonts/truetype/msttcorefonts/Times_New_Roman_Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
    ),
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
)
FALLBACK = ("Times-Roman", "Times-Bold")
KIND_LABELS = {"phi": "Phí", "le_phi": "Lệ phí"}


@dataclass(frozen=True)
class ReceiptContent:
    """Everything printed on a receipt (a snapshot of the row, so rendering needs no session)."""

    receipt_number: str
    form_number: str
    symbol: str
    number: int
    agency_name: str
    agency_code: str
    tax_code: str | None
    payer_name: str
    dossier_code: str | None
    lines: list[dict[str, Any]]
    amount_vnd: int
    amount_in_words: str
    method: str
    issued_at: datetime
    verify_url: str
    replaces_number: str | None = None


def fonts() -> tuple[str, str]:
    """(regular, bold) reportlab font names with Vietnamese glyphs when a TrueType font is installed."""
    for regular, bold in FONT_CANDIDATES:
        if Path(regular).is_file():
            return _registered(regular), _registered(bold if Path(bold).is_file() else regular)
    _warn_no_font()
    return FALLBACK


@functools.cache
def _registered(path: str) -> str:
    name = "EgovReceipt-" + hashlib.sha256(path.encode()).hexdigest()[:12]
    pdfmetrics.registerFont(TTFont(name, path))
    return name


@functools.cache
def _warn_no_font() -> None:
    log.warning("no TrueType font with Vietnamese glyphs found; receipts drop their diacritics")


def _text(value: str, font: str) -> str:
    if font not in FALLBACK:
        return value
    value = value.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", value) if not unicodedata.combining(c))


def vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def render(content: ReceiptContent) -> bytes:
    """One A5 page: header, payer, fee lines, total in figures and in words, method, QR of the verify URL."""
    regular, bold = fonts()
    buffer = io.BytesIO()
    width, height = A5
    pdf = canvas.Canvas(buffer, pagesize=A5, pageCompression=1)
    pdf.setTitle(f"Biên lai {content.receipt_number}")
    pdf.setAuthor(content.agency_name)
    margin = 28.0

    def line(
        x: float, y: float, text: str, *, font: str = regular, size: float = 9.5, align: str = "left"
    ) -> None:
        pdf.setFont(font, size)
        shown = _text(text, font)
        if align == "center":
            pdf.drawCentredString(x, y, shown)
        elif align == "right":
            pdf.drawRightString(x, y, shown)
        else:
            pdf.drawString(x, y, shown)

    y = height - margin - 4
    line(margin, y, content.agency_name.upper(), font=bold, size=9)
    line(width - margin, y, f"Mẫu số: {content.form_number}", size=8.5, align="right")
    y -= 12
    line(margin, y, f"Mã số thuế: {content.tax_code or '—'}", size=8.5)
    line(width - margin, y, f"Ký hiệu: {content.symbol}", size=8.5, align="right")
    y -= 12
    line(width - margin, y, f"Số: {content.number:07d}", size=8.5, align="right")
    y -= 26
    line(width / 2, y, "BIÊN LAI THU PHÍ, LỆ PHÍ", font=bold, size=14, align="center")
    y -= 14
    line(width / 2, y, "(Biên lai điện tử)", size=9, align="center")
    y -= 12
    issued = content.issued_at.astimezone(GMT7)
    line(width / 2, y, f"Ngày {issued:%d} tháng {issued:%m} năm {issued:%Y}", size=9, align="center")
    if content.replaces_number:
        y -= 12
        line(width / 2, y, f"Thay thế biên lai {content.replaces_number}", size=8.5, align="center")
    y -= 22
    line(margin, y, f"Người nộp: {content.payer_name}")
    if content.dossier_code:
        y -= 13
        line(margin, y, f"Hồ sơ: {content.dossier_code}")
    y -= 13
    line(margin, y, f"Hình thức thanh toán: {content.method}")
    y -= 20
    line(margin, y, "Nội dung thu", font=bold)
    line(width - margin, y, "Số tiền (đồng)", font=bold, align="right")
    y -= 4
    pdf.line(margin, y, width - margin, y)
    for item in content.lines:
        y -= 13
        label = f"{KIND_LABELS.get(str(item['kind']), str(item['kind']))}: {item['name']}"
        line(margin, y, label[:80])
        line(width - margin, y, vnd(int(item["amount_vnd"])), align="right")
    y -= 6
    pdf.line(margin, y, width - margin, y)
    y -= 13
    line(margin, y, "Tổng cộng", font=bold)
    line(width - margin, y, vnd(content.amount_vnd), font=bold, align="right")
    y -= 14
    line(margin, y, f"Bằng chữ: {content.amount_in_words}.", size=9)

    qr = io.BytesIO()
    segno.make_qr(content.verify_url, error="m").save(qr, kind="png", scale=3, border=2)
    qr.seek(0)
    size = 78.0
    pdf.drawImage(ImageReader(qr), margin, margin + 8, size, size)
    line(margin + size + 8, margin + 58, "Tra cứu, kiểm tra biên lai:", size=8)
    line(margin + size + 8, margin + 46, content.receipt_number, size=8)
    line(margin + size + 8, margin + 34, "Quét mã QR để kiểm tra chữ ký số.", size=8)
    line(width - margin, margin + 70, "ĐƠN VỊ THU", font=bold, size=9, align="right")
    line(width - margin, margin + 58, "(Ký số)", size=8, align="right")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
