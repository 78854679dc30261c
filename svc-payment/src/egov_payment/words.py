"""Amounts of VND in Vietnamese words, for receipts (biên lai): "Một trăm linh năm nghìn đồng".

The northern administrative style of ``shared/domain/payment.md``: "nghìn" (never "ngàn"), "linh" for a zero
tens digit (never "lẻ"), "mười" for 10–19, "mốt" for a 1 and "lăm" for a 5 after a tens digit ("lăm" after
"mười" too, "mốt" only from twenty on). Two choices the document leaves open:

- 4 is always "bốn" ("hai mươi bốn", "một trăm linh bốn"), never "tư": "tư" is a spoken variant, "bốn" is
  correct everywhere, and one reading per digit keeps receipts uniform.
- a group of three digits after a larger unit is read in full, a zero hundreds as "không trăm"
  (1.005 → "một nghìn không trăm linh năm", 1.000.050 → "một triệu không trăm năm mươi"), while a group of
  three zeros is skipped with its unit (1.000.000 → "một triệu", 1.000.005 → "một triệu không trăm linh năm").

Above "tỷ" the units compound, as is usual: 10^12 "nghìn tỷ", 10^15 "triệu tỷ", 10^18 "tỷ tỷ".
"""

from __future__ import annotations

_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_BILLION = 1_000_000_000


def amount_in_words(vnd: int) -> str:
    """The amount in words with a capital first letter, ending in "đồng"; 0 is "Không đồng"."""
    if isinstance(vnd, bool) or not isinstance(vnd, int):
        raise TypeError(f"amount must be an int of VND, got {type(vnd).__name__}")
    if vnd < 0:
        raise ValueError(f"amount must not be negative, got {vnd}")
    words = _number(vnd, leading=True) if vnd else ["không"]
    text = " ".join([*words, "đồng"])
    return text[0].upper() + text[1:]


def _number(n: int, *, leading: bool) -> list[str]:
    """Words of n > 0; ``leading`` is false when a larger unit precedes, so a zero hundreds is spoken."""
    if n >= _BILLION:
        high, low = divmod(n, _BILLION)
        words = [*_number(high, leading=leading), "tỷ"]
        if low:
            words += _below_billion(low, leading=False)
        return words
    return _below_billion(n, leading=leading)


def _below_billion(n: int, *, leading: bool) -> list[str]:
    words: list[str] = []
    for group, unit in ((n // 1_000_000, "triệu"), (n // 1000 % 1000, "nghìn"), (n % 1000, "")):
        if group == 0:
            continue
        words += _group(group, full=bool(words) or not leading)
        if unit:
            words.append(unit)
    return words


def _group(n: int, *, full: bool) -> list[str]:
    """Words of a group 1..999; ``full`` reads a zero hundreds ("không trăm") and so a lone unit with "linh"."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if units:
            words += ["linh", _DIGITS[units]] if words else [_DIGITS[units]]
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else _DIGITS[units])
    else:
        words += [_DIGITS[tens], "mươi"]
        if units:
            words.append({1: "mốt", 5: "lăm"}.get(units, _DIGITS[units]))
    return words
