"""Files for tests and benchmarks to upload."""

from __future__ import annotations

import uuid


def minimal_pdf(text: str | None = None) -> bytes:
    """A small, valid one-page PDF (enough for svc-document's content sniffing); ``text`` makes it unique
    (default: random), since identical bytes are stored once."""
    marker = text if text is not None else uuid.uuid4().hex
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n% "
        + marker.encode()
        + b"\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
