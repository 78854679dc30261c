"""Vietnamese text: NFC for storage, and folding for search ("ho so" finds "hồ sơ")."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    """Lower case without diacritics, spaces collapsed: ``"Đăng  ký Khai sinh"`` -> ``"dang ky khai sinh"``."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    bare = bare.replace("đ", "d").replace("Đ", "D")
    return _SPACES.sub(" ", bare).strip().lower()


def search_terms(query: str) -> list[str]:
    """The folded words of a search box, each of which must appear."""
    return [term for term in fold(query).split(" ") if term]
