"""What a visible signature shows, after Decree 30/2020/NĐ-CP (Appendix I).

- The official's signature: the image of their handwritten signature (blue, transparent PNG), nothing else.
- The agency's signature: its seal (red, transparent PNG, actual size) overlapping about a third of the
  official's signature image, on its left (``Appearance.seal``).
- An attachment signed by the agency: no image, text only, at the top right of the first page: the number
  and symbol of the document and the signing time in ISO 8601 with the Vietnamese offset
  (``Appearance.attachment``).
- Where no image is configured: a text stamp with the signer's name, position, agency and signing time.

The appearance is drawn with reportlab as a one-page PDF the size of the signature box and imported by pyHanko
as the widget's appearance: reportlab embeds a TrueType font with Vietnamese glyphs, which pyHanko's own text
stamps cannot do without fontTools and HarfBuzz (not installed). Fonts are looked for in ``FONT_CANDIDATES``
(Times New Roman as the decree asks, else a metric-compatible or similar serif); without any, text falls
back to the standard Times-Roman with the diacritics removed, so a missing font never stops a signature.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

logger = logging.getLogger(__name__)

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
# x1, y1, x2, y2 in PDF points (1/72 inch) from the bottom-left corner of the page.
Box = tuple[float, float, float, float]

MM = 72 / 25.4
# A typical seal is 32 to 40 mm across; the agency's real size belongs in its configuration.
DEFAULT_SEAL_SIZE = 36 * MM
SIGNING_TIME = "{signing_time}"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/msttcorefonts/Times_New_Roman.ttf",
    "/usr/share/fonts/truetype/msttcorefonts/times.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)
FALLBACK_FONT = "Times-Roman"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PADDING = 3.0
_LINE_SPACING = 1.25


class AppearanceError(ValueError):
    """An appearance that cannot be drawn: not a PNG, no transparency, an empty box."""


def format_signing_time(moment: datetime) -> str:
    """ISO 8601 in Vietnamese time, to the second: ``2025-11-22T10:15:30+07:00``."""
    if moment.tzinfo is None:
        raise ValueError("signing time must be timezone-aware")
    return moment.astimezone(VIETNAM_TZ).isoformat(timespec="seconds")


def check_png(image: bytes) -> tuple[int, int]:
    """The image's pixel size, after checking it is a PNG with transparency (Decree 30 asks for both)."""
    if not image.startswith(PNG_MAGIC):
        raise AppearanceError("the signature image must be a PNG")
    try:
        with Image.open(io.BytesIO(image)) as opened:
            opened.load()
            transparent = opened.mode in ("RGBA", "LA", "PA") or "transparency" in opened.info
            size = opened.size
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise AppearanceError(f"the signature image is not a readable PNG: {exc}") from exc
    if not transparent:
        raise AppearanceError("the signature image must have a transparent background (an alpha channel)")
    return size


@dataclass(frozen=True)
class Appearance:
    """Where a visible signature goes and what it shows.

    ``page`` is a page index (negative counts from the end, -1 being the last page). ``box`` is None for the
    top-right corner of that page. With ``image`` the box shows the image alone, scaled to fit; otherwise it
    shows ``lines`` of text, where ``{signing_time}`` becomes the signing time, or when ``lines`` is None the
    signer's name, position, agency and the signing time.
    """

    box: Box | None = None
    page: int = 0
    image: bytes | None = None
    lines: tuple[str, ...] | None = None
    font_size: float = 10.0
    font_path: str | None = None

    def __post_init__(self) -> None:
        if self.box is not None:
            x1, y1, x2, y2 = self.box
            if x2 - x1 < 1 or y2 - y1 < 1:
                raise AppearanceError(
                    f"the signature box {self.box} is empty; give (x1, y1, x2, y2) with x1 < x2"
                )
        if self.image is not None:
            check_png(self.image)
            if self.box is None:
                raise AppearanceError("an image needs a box: where it goes and how large it is")
        elif self.lines is not None and not self.lines:
            raise AppearanceError("a text appearance needs at least one line")
        if self.font_size <= 0:
            raise AppearanceError("the font size must be positive")

    @classmethod
    def signature_image(cls, image: bytes, *, box: Box, page: int = -1) -> Appearance:
        """The official's handwritten signature, centred between their position and their name."""
        return cls(box=box, page=page, image=image)

    @classmethod
    def seal(cls, image: bytes, *, over: Box, size: float = DEFAULT_SEAL_SIZE, page: int = -1) -> Appearance:
        """The agency's seal at its actual ``size`` (points across), over the left third of the box ``over``
        (where the official's signature image is), centred on it vertically."""
        x1, y1, x2, y2 = over
        right = x1 + (x2 - x1) / 3
        middle = (y1 + y2) / 2
        return cls(box=(right - size, middle - size / 2, right, middle + size / 2), page=page, image=image)

    @classmethod
    def attachment(cls, number_and_symbol: str, *, page: int = 0) -> Appearance:
        """An attachment signed by the agency: the document's number and symbol and the signing time."""
        return cls(page=page, lines=(f"Số: {number_and_symbol}", f"Thời gian ký: {SIGNING_TIME}"))

    def text_lines(
        self, *, name: str, position: str | None, agency: str | None, signed_at: datetime
    ) -> list[str]:
        """The lines a text appearance shows, with the signing time filled in."""
        if self.lines is not None:
            lines = list(self.lines)
        else:
            lines = [f"Ký bởi: {name}"]
            if position:
                lines.append(f"Chức vụ: {position}")
            if agency and agency != name:
                lines.append(f"Cơ quan: {agency}")
            lines.append(f"Thời gian ký: {SIGNING_TIME}")
        when = format_signing_time(signed_at)
        return [unicodedata.normalize("NFC", line.replace(SIGNING_TIME, when)) for line in lines]

    def default_box(self, page_box: Box, lines: list[str]) -> Box:
        """The top-right corner of the page, wide enough for the text (Decree 30's place for attachments)."""
        font = font_name(self.font_path)
        width = max(pdfmetrics.stringWidth(printable(line, font), font, self.font_size) for line in lines)
        width = width + 2 * _PADDING + 2
        height = len(lines) * self.font_size * _LINE_SPACING + 2 * _PADDING
        _, _, right, top = page_box
        margin = 10 * MM
        return (right - margin - width, top - margin - height, right - margin, top - margin)


def render(appearance: Appearance, *, width: float, height: float, lines: list[str]) -> bytes:
    """A one-page PDF of ``width`` x ``height`` points showing the image, or else the text lines."""
    buffer = io.BytesIO()
    drawing = canvas.Canvas(buffer, pagesize=(width, height), pageCompression=1)
    if appearance.image is not None:
        drawing.drawImage(
            ImageReader(io.BytesIO(appearance.image)),
            0,
            0,
            width,
            height,
            mask="auto",
            preserveAspectRatio=True,
            anchor="c",
        )
    else:
        font = font_name(appearance.font_path)
        shown = [printable(line, font) for line in lines]
        widest = max((pdfmetrics.stringWidth(line, font, appearance.font_size) for line in shown), default=1)
        # Shrink the text rather than cut it when the box is too small for it.
        size = min(
            appearance.font_size,
            appearance.font_size * (width - 2 * _PADDING) / max(widest, 1),
            (height - 2 * _PADDING) / (max(len(lines), 1) * _LINE_SPACING),
        )
        drawing.setFillColorRGB(0, 0, 0)
        drawing.setFont(font, size)
        y = height - _PADDING - size
        for line in shown:
            drawing.drawString(_PADDING, y, line)
            y -= size * _LINE_SPACING
    drawing.showPage()
    drawing.save()
    return buffer.getvalue()


def printable(text: str, font: str) -> str:
    """The text as ``font`` can show it: without diacritics for the standard fallback font."""
    return _ascii_fold(text) if font == FALLBACK_FONT else text


def _ascii_fold(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).encode("ascii", "replace").decode()


def font_name(font_path: str | None = None) -> str:
    """A reportlab font name for Vietnamese text: ``font_path``, else the first of ``FONT_CANDIDATES`` found,
    else the standard Times-Roman (whose text must go through ``printable``)."""
    candidates = (font_path,) if font_path else FONT_CANDIDATES
    for candidate in candidates:
        if Path(candidate).is_file():
            return _registered_font(candidate)
    if font_path:
        raise AppearanceError(f"font file {font_path} not found")
    _warn_no_font()
    return FALLBACK_FONT


@functools.cache
def _registered_font(path: str) -> str:
    # reportlab keeps fonts in a process-wide registry; register each file once under a stable name.
    name = "EgovSignature-" + hashlib.sha256(path.encode()).hexdigest()[:12]
    pdfmetrics.registerFont(TTFont(name, path))
    return name


@functools.cache
def _warn_no_font() -> None:
    logger.warning("no TrueType font with Vietnamese glyphs found; signature text drops its diacritics")
