"""Removing what a photo says about its author before it is stored: EXIF (GPS position, camera, time), XMP,
IPTC and comments.

Citizens photograph a pothole from their doorstep; the file goes to an agency and, with an answer, to the
public. The pixels are kept: the image is re-saved without metadata, after applying its EXIF orientation so it
still displays the right way up. Its ICC colour profile is kept (it describes colours, not people). An image
without metadata is left byte for byte as it was (no needless re-encoding, identical uploads still match).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps

# Content type (as sniffed) -> Pillow format.
STRIPPED_TYPES: dict[str, str] = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
_METADATA_KEYS = frozenset(
    {"exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "iptc", "adobe_transform"}
)
JPEG_QUALITY = 95


def _has_metadata(image: Image.Image) -> bool:
    if len(image.getexif()) or _METADATA_KEYS.intersection(image.info):
        return True
    # PNG text chunks (tEXt, zTXt, iTXt): author, software, creation time, ...
    return bool(getattr(image, "text", None))


def strip_metadata(path: Path, content_type: str) -> bool:
    """Rewrite the image at ``path`` without metadata; False when there was none (the file is untouched).

    Raises ``ValueError`` when the bytes are not a readable image of that type.
    """
    fmt = STRIPPED_TYPES[content_type]
    try:
        with Image.open(path) as image:
            # Phones write multi-picture JPEGs (MPO: the photo plus a preview or depth map); the photo is kept.
            multi_picture = image.format == "MPO" and fmt == "JPEG"
            if image.format != fmt and not multi_picture:
                raise ValueError(f"not a {fmt} image")
            if not _has_metadata(image):
                return False
            options: dict[str, Any] = {}
            icc = image.info.get("icc_profile")
            if icc:
                options["icc_profile"] = icc
            clean: Image.Image
            if getattr(image, "n_frames", 1) > 1 and not multi_picture:
                # Animation: every frame kept as it is; orientation tags do not apply to animations.
                clean, options["save_all"] = image, True
            else:
                clean = ImageOps.exif_transpose(image) or image
                clean.load()
            if fmt in ("JPEG", "WEBP"):
                options["quality"] = JPEG_QUALITY
            descriptor, name = tempfile.mkstemp(dir=path.parent, prefix="clean-")
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    # No exif= and no pnginfo=: Pillow writes neither unless asked.
                    clean.save(handle, format=fmt, **options)
                os.replace(name, path)
            except BaseException:
                Path(name).unlink(missing_ok=True)
                raise
    except (OSError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError(f"unreadable {fmt} image") from exc
    return True


def measure(path: Path) -> tuple[int, str]:
    """Size and SHA-256 of a file, read in 1 MiB blocks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()
