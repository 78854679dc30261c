"""Amounts in Vietnamese words: payment.md's examples, the linh/mốt/lăm/không trăm rules, and properties."""

from __future__ import annotations

import itertools
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from egov_payment.words import amount_in_words

# Every example of shared/domain/payment.md, "Electronic receipts".
PAYMENT_MD_EXAMPLES = [
    (0, "Không đồng"),
    (15_000, "Mười lăm nghìn đồng"),
    (21_000, "Hai mươi mốt nghìn đồng"),
    (105_000, "Một trăm linh năm nghìn đồng"),
    (120_000, "Một trăm hai mươi nghìn đồng"),
    (1_000_000, "Một triệu đồng"),
    (1_250_000, "Một triệu hai trăm năm mươi nghìn đồng"),
    (2_500_000_000, "Hai tỷ năm trăm triệu đồng"),
]

MORE_CASES = [
    (1, "Một đồng"),
    (4, "Bốn đồng"),
    (5, "Năm đồng"),
    (10, "Mười đồng"),
    (11, "Mười một đồng"),
    (14, "Mười bốn đồng"),
    (15, "Mười lăm đồng"),
    (20, "Hai mươi đồng"),
    (21, "Hai mươi mốt đồng"),
    (24, "Hai mươi bốn đồng"),
    (25, "Hai mươi lăm đồng"),
    (55, "Năm mươi lăm đồng"),
    (91, "Chín mươi mốt đồng"),
    (100, "Một trăm đồng"),
    (101, "Một trăm linh một đồng"),
    (104, "Một trăm linh bốn đồng"),
    (105, "Một trăm linh năm đồng"),
    (110, "Một trăm mười đồng"),
    (111, "Một trăm mười một đồng"),
    (115, "Một trăm mười lăm đồng"),
    (121, "Một trăm hai mươi mốt đồng"),
    (500, "Năm trăm đồng"),
    (999, "Chín trăm chín mươi chín đồng"),
    (1_000, "Một nghìn đồng"),
    (1_005, "Một nghìn không trăm linh năm đồng"),
    (1_010, "Một nghìn không trăm mười đồng"),
    (1_015, "Một nghìn không trăm mười lăm đồng"),
    (1_021, "Một nghìn không trăm hai mươi mốt đồng"),
    (1_100, "Một nghìn một trăm đồng"),
    (10_000, "Mười nghìn đồng"),
    (11_000, "Mười một nghìn đồng"),
    (50_000, "Năm mươi nghìn đồng"),
    (500_000, "Năm trăm nghìn đồng"),
    (1_000_001, "Một triệu không trăm linh một đồng"),
    (1_000_050, "Một triệu không trăm năm mươi đồng"),
    (1_001_000, "Một triệu không trăm linh một nghìn đồng"),
    (1_234_567, "Một triệu hai trăm ba mươi bốn nghìn năm trăm sáu mươi bảy đồng"),
    (15_015_015, "Mười lăm triệu không trăm mười lăm nghìn không trăm mười lăm đồng"),
    (1_000_000_000, "Một tỷ đồng"),
    (1_000_000_005, "Một tỷ không trăm linh năm đồng"),
    (1_005_000_000, "Một tỷ không trăm linh năm triệu đồng"),
    (21_000_000_000, "Hai mươi mốt tỷ đồng"),
    (1_000_000_000_000, "Một nghìn tỷ đồng"),
    (1_005_000_000_000, "Một nghìn không trăm linh năm tỷ đồng"),
    (2_000_000_000_000_000, "Hai triệu tỷ đồng"),
    (10**18, "Một tỷ tỷ đồng"),
]


@pytest.mark.parametrize(("vnd", "words"), PAYMENT_MD_EXAMPLES)
def test_payment_md_examples(vnd: int, words: str) -> None:
    assert amount_in_words(vnd) == words


@pytest.mark.parametrize(("vnd", "words"), MORE_CASES)
def test_more_cases(vnd: int, words: str) -> None:
    assert amount_in_words(vnd) == words


def test_negative_amount_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        amount_in_words(-1)


def test_bool_is_not_an_amount() -> None:
    with pytest.raises(TypeError):
        amount_in_words(True)


_VALUES = {"không": 0, "một": 1, "mốt": 1, "hai": 2, "ba": 3, "bốn": 4, "năm": 5, "lăm": 5}
_VALUES |= {"sáu": 6, "bảy": 7, "tám": 8, "chín": 9}
_UNITS = {"nghìn": 10**3, "triệu": 10**6, "tỷ": 10**9}


def _read_back(text: str) -> int:
    """An independent reader of the words (below 10^18, where "tỷ tỷ" cannot occur), to check round trips.

    A unit multiplies every part spoken since the last larger unit: "một nghìn không trăm linh năm tỷ".
    """
    tokens = text.lower().split()
    assert tokens[-1] == "đồng"
    parts: list[int] = []
    small, digit = 0, 0
    for token in tokens[:-1]:
        if token in _VALUES:
            digit = _VALUES[token]
        elif token == "trăm":
            small, digit = small + digit * 100, 0
        elif token == "mươi":
            small, digit = small + digit * 10, 0
        elif token == "mười":
            small += 10
        elif token == "linh":
            pass
        elif token in _UNITS:
            unit = _UNITS[token]
            value = small + digit
            while parts and parts[-1] < unit:
                value += parts.pop()
            parts.append(value * unit)
            small, digit = 0, 0
        else:
            raise AssertionError(f"unexpected word {token!r} in {text!r}")
    return sum(parts) + small + digit


@given(st.integers(min_value=0, max_value=10**18 - 1))
def test_words_read_back_to_the_number(vnd: int) -> None:
    assert _read_back(amount_in_words(vnd)) == vnd


@given(st.integers(min_value=0, max_value=10**21))
def test_style_rules_hold_for_any_amount(vnd: int) -> None:
    text = amount_in_words(vnd)
    tokens = text.lower().split()  # the capital of the first word is checked apart, below
    assert text[0].isupper()
    assert text[1:] == text[1:].lower()
    assert text.endswith(" đồng")
    assert unicodedata.is_normalized("NFC", text)
    assert "ngàn" not in text
    assert "lẻ" not in text
    assert "tư" not in tokens
    assert "mươi một" not in text
    assert "mươi năm" not in text
    assert "mười năm" not in text.lower()
    for before, word in itertools.pairwise(tokens):
        if word == "mốt":
            assert before == "mươi", text
        if word == "lăm":
            assert before in ("mươi", "mười"), text
        if before == "linh":
            assert word in ("một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"), text


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=15), st.integers(0, 9))
def test_changing_one_digit_changes_the_words(vnd: int, position: int, digit: int) -> None:
    digits = list(str(vnd).rjust(position + 1, "0"))
    index = len(digits) - 1 - position
    if digits[index] == str(digit):
        digit = (digit + 1) % 10
    digits[index] = str(digit)
    other = int("".join(digits))
    assert amount_in_words(vnd) != amount_in_words(other)


def test_every_amount_below_a_hundred_thousand_reads_differently() -> None:
    readings = {amount_in_words(n) for n in range(100_000)}
    assert len(readings) == 100_000
