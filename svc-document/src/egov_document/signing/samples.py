"""Sample material for demo data, tests and benchmarks: a one-page decision (Quyết định) laid out after
Decree 30, a blue handwritten-looking signature and a red seal, both transparent PNGs.

Drawn on the fly (reportlab, Pillow), so the repository carries no binary fixtures.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw
from reportlab.pdfgen import canvas

from egov_document.signing.appearance import Box, font_name, printable

A4 = (595.0, 842.0)
# Where the signer's handwritten signature goes on the sample: between the position and the name.
SAMPLE_SIGNATURE_BOX: Box = (360.0, 150.0, 510.0, 210.0)
SIGNATURE_BLUE = (20, 40, 170, 255)
SEAL_RED = (210, 20, 30, 255)


def sample_decision_pdf(
    *,
    agency: str = "ỦY BAN NHÂN DÂN TỈNH THANH HÓA",
    number: str = "15/QĐ-UBND",
    subject: str = "Về việc cấp giấy phép xây dựng",
    position: str = "CHỦ TỊCH",
    signer: str = "Nguyễn Văn An",
) -> bytes:
    """A one-page A4 decision with room for the signature at ``SAMPLE_SIGNATURE_BOX``."""
    font = font_name()
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    page.setTitle(f"Quyết định {number}")

    def line(x: float, y: float, text: str, size: float = 13, centred: bool = False) -> None:
        page.setFont(font, size)
        shown = printable(text, font)
        if centred:
            page.drawCentredString(x, y, shown)
        else:
            page.drawString(x, y, shown)

    line(160, 790, agency, 12, centred=True)
    line(420, 790, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 11, centred=True)
    line(420, 774, "Độc lập - Tự do - Hạnh phúc", 12, centred=True)
    line(160, 760, f"Số: {number}", 12, centred=True)
    line(420, 750, "Thanh Hóa, ngày 22 tháng 11 năm 2025", 11, centred=True)
    line(A4[0] / 2, 700, "QUYẾT ĐỊNH", 14, centred=True)
    line(A4[0] / 2, 682, subject, 13, centred=True)
    body = [
        "Căn cứ Luật Tổ chức chính quyền địa phương;",
        "Căn cứ Nghị định số 30/2020/NĐ-CP về công tác văn thư;",
        "Theo đề nghị của Giám đốc Sở Xây dựng.",
        "Điều 1. Cấp giấy phép xây dựng cho công trình nêu tại hồ sơ kèm theo.",
        "Điều 2. Quyết định này có hiệu lực kể từ ngày ký.",
    ]
    for index, text in enumerate(body):
        line(72, 640 - index * 22, text, 12)
    x1, y1, x2, y2 = SAMPLE_SIGNATURE_BOX
    line((x1 + x2) / 2, y2 + 30, "TM. ỦY BAN NHÂN DÂN", 12, centred=True)
    line((x1 + x2) / 2, y2 + 14, position, 12, centred=True)
    line((x1 + x2) / 2, y1 - 18, signer, 12, centred=True)
    page.showPage()
    page.save()
    return buffer.getvalue()


def sample_signature_image(width: int = 450, height: int = 180) -> bytes:
    """A blue scribble on a transparent background, in place of a scanned handwritten signature."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [
        (
            width * (0.08 + 0.84 * t),
            height
            * (0.5 + 0.28 * math.sin(t * 5 * math.pi) * (1 - 0.5 * t) + 0.1 * math.cos(t * 13 * math.pi)),
        )
        for t in (i / 200 for i in range(201))
    ]
    draw.line(points, fill=SIGNATURE_BLUE, width=max(3, height // 40), joint="curve")
    draw.line([(width * 0.2, height * 0.8), (width * 0.75, height * 0.72)], fill=SIGNATURE_BLUE, width=3)
    return _png(image)


def sample_seal_image(size: int = 400) -> bytes:
    """A red round seal (two rings and a star) on a transparent background."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    ring = max(4, size // 40)
    draw.ellipse((ring, ring, size - ring, size - ring), outline=SEAL_RED, width=ring)
    inner = size // 5
    draw.ellipse((inner, inner, size - inner, size - inner), outline=SEAL_RED, width=max(2, ring // 2))
    centre, radius = size / 2, size / 7
    star = [
        (
            centre + (radius if k % 2 == 0 else radius * 0.4) * math.sin(k * math.pi / 5),
            centre - (radius if k % 2 == 0 else radius * 0.4) * math.cos(k * math.pi / 5),
        )
        for k in range(10)
    ]
    draw.polygon(star, fill=SEAL_RED)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
