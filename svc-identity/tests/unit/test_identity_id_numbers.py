"""The 12-digit personal ID number (shared/domain/identity.md): shape, province code, century and sex digit,
year of birth. There is no check digit."""

from __future__ import annotations

import datetime as dt

import pytest

from egov_shared.identifiers import InvalidIdentifier, Sex, check_id_number
from egov_shared.logging import mask_id_number


def test_the_domain_example_is_a_woman_of_thanh_hoa_born_in_1985() -> None:
    check_id_number("038185000001", date_of_birth=dt.date(1985, 3, 1), sex="female")
    check_id_number("038185000001")


@pytest.mark.parametrize(
    ("number", "born", "sex"),
    [
        ("001099012345", dt.date(1999, 5, 12), "male"),  # demo citizen, Hà Nội
        ("079203001234", dt.date(2003, 8, 30), "male"),  # demo citizen, Hồ Chí Minh City: 2 = male, 2000s
        ("001301004567", dt.date(2001, 1, 1), "female"),  # 3 = female, 2000s
        ("048000000000", dt.date(1900, 1, 1), "male"),  # Đà Nẵng, first year of the 1900s
        ("096199999999", dt.date(1999, 12, 31), "female"),  # Cà Mau, the last province code
    ],
)
def test_numbers_that_agree_with_the_holder_pass(number: str, born: dt.date, sex: Sex) -> None:
    check_id_number(number, date_of_birth=born, sex=sex)


def test_the_sex_digit_must_agree_with_the_sex() -> None:
    with pytest.raises(InvalidIdentifier, match="giới tính"):
        check_id_number("038185000001", sex="male")
    with pytest.raises(InvalidIdentifier, match="giới tính"):
        check_id_number("079203001234", sex="female")


@pytest.mark.parametrize(
    ("number", "born"),
    [
        ("038185000001", dt.date(1986, 1, 1)),  # another year
        ("038185000001", dt.date(2085, 1, 1)),  # right two digits, wrong century
        ("079203001234", dt.date(1903, 8, 30)),  # 2 means the 2000s
    ],
)
def test_century_and_year_must_agree_with_the_date_of_birth(number: str, born: dt.date) -> None:
    with pytest.raises(InvalidIdentifier, match="năm sinh"):
        check_id_number(number, date_of_birth=born)


@pytest.mark.parametrize(
    "number",
    [
        "03818500000",  # 11 digits
        "0381850000011",  # 13 digits
        "03818500000a",
        "038 85000001",
        "",
        "999185000001",  # no such province code
        "000185000001",
        "003185000001",  # a gap in the list of codes
        "０３８１８５０００００１",  # full-width digits
    ],
)
def test_malformed_numbers_and_unknown_province_codes_are_refused(number: str) -> None:
    with pytest.raises(InvalidIdentifier):
        check_id_number(number)


def test_logs_show_only_a_masked_number() -> None:
    assert mask_id_number("001099012345") == "001******345"
