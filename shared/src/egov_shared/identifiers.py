"""Vietnamese identifiers: the 12-digit personal ID number and the tax code (``../shared/domain/identity.md``)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from vn_ident import is_valid_mst, parse_cccd

Sex = Literal["male", "female"]


class InvalidIdentifier(ValueError):
    pass


def check_id_number(number: str, *, date_of_birth: dt.date | None = None, sex: Sex | None = None) -> None:
    """Raise :class:`InvalidIdentifier` unless ``number`` is a well-formed personal ID number that agrees with
    the holder's sex and year of birth.

    There is no check digit: shape, province code and the century/sex digit are all that can be checked.
    """
    parsed = parse_cccd(number)
    if parsed is None:
        raise InvalidIdentifier("Số định danh cá nhân phải gồm 12 chữ số với mã tỉnh hợp lệ.")
    if sex is not None and parsed.gender != sex:
        raise InvalidIdentifier("Chữ số thứ tư của số định danh không khớp với giới tính.")
    if date_of_birth is not None and parsed.birth_year != date_of_birth.year:
        raise InvalidIdentifier("Thế kỷ và năm sinh trong số định danh không khớp với ngày sinh.")


def is_tax_code(value: str) -> bool:
    """A 10-digit (or 10+3 branch) tax code whose check digit is right."""
    return is_valid_mst(value)
