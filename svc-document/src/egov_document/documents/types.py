"""The 29 types of administrative document of Decree 30/2020/NĐ-CP and their abbreviations."""

from __future__ import annotations

# code -> (name, abbreviation used in the symbol; None where the decree gives none)
DOCUMENT_TYPES: dict[str, tuple[str, str | None]] = {
    "NQ": ("Nghị quyết", "NQ"),
    "QD": ("Quyết định", "QĐ"),
    "CT": ("Chỉ thị", "CT"),
    "QC": ("Quy chế", "QC"),
    "QYD": ("Quy định", "QyĐ"),
    "TC": ("Thông cáo", "TC"),
    "TB": ("Thông báo", "TB"),
    "HD": ("Hướng dẫn", "HD"),
    "CTR": ("Chương trình", "CTr"),
    "KH": ("Kế hoạch", "KH"),
    "PA": ("Phương án", "PA"),
    "DA": ("Đề án", "ĐA"),
    "DAN": ("Dự án", "DA"),
    "BC": ("Báo cáo", "BC"),
    "BB": ("Biên bản", "BB"),
    "TTR": ("Tờ trình", "TTr"),
    "HDO": ("Hợp đồng", "HĐ"),
    "CD": ("Công điện", "CĐ"),
    "BGN": ("Bản ghi nhớ", None),
    "BTT": ("Bản thỏa thuận", None),
    "GUQ": ("Giấy ủy quyền", "GUQ"),
    "GM": ("Giấy mời", "GM"),
    "GGT": ("Giấy giới thiệu", "GGT"),
    "GNP": ("Giấy nghỉ phép", "GNP"),
    "PG": ("Phiếu gửi", "PG"),
    "PC": ("Phiếu chuyển", "PC"),
    "PB": ("Phiếu báo", "PB"),
    "TCO": ("Thư công", None),
    "CV": ("Công văn", None),
}

URGENCY = {0: "Thường", 1: "Khẩn", 2: "Thượng khẩn", 3: "Hỏa tốc", 4: "Hỏa tốc hẹn giờ"}
SECRECY = {"mat": "Mật", "toi_mat": "Tối mật", "tuyet_mat": "Tuyệt mật"}


def number_and_symbol(number: int, symbol: str) -> str:
    """``5`` and ``QĐ-UBND`` -> ``05/QĐ-UBND`` (numbers below 10 carry a leading zero)."""
    return f"{number:02d}/{symbol}"


def outgoing_symbol(doc_type: str, agency_abbreviation: str, unit: str | None = None) -> str:
    """The symbol after the number: ``QĐ-UBND`` for a decision; for a công văn (no abbreviation) the agency and
    the drafting unit, ``UBND-VP``."""
    _, abbreviation = DOCUMENT_TYPES[doc_type]
    if abbreviation is None:
        return f"{agency_abbreviation}-{unit}" if unit else agency_abbreviation
    return f"{abbreviation}-{agency_abbreviation}"
