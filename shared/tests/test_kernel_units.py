"""Fast unit tests of the kernel's pure parts: settings, problems, ETags, cursors, masking, contracts."""

from __future__ import annotations

import unicodedata
from typing import ClassVar

import pytest
from pydantic import ValidationError

from egov_shared.contracts import EVENT_TYPES, parse_event_data
from egov_shared.contracts.dossier import DossierCalendarCorrected
from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.http.etag import check_version, parse_if_match
from egov_shared.http.pagination import decode_cursor, encode_cursor
from egov_shared.logging import mask_id_number
from egov_shared.problems import PreconditionFailed, PreconditionRequired, Unprocessable, problem_body
from egov_shared.settings import ServiceSettings
from egov_shared.text import fold, search_terms


def test_production_refuses_development_secrets_and_sqlite() -> None:
    with pytest.raises(ValidationError, match="EGOV_KEY_ENCRYPTION_KEY"):
        ServiceSettings(env="production", database_url="postgresql+asyncpg://db/x")
    with pytest.raises(ValidationError, match="SQLite"):
        ServiceSettings(env="production", key_encryption_key="a-real-secret-from-the-vault")
    ok = ServiceSettings(
        env="production", database_url="postgresql+asyncpg://db/x", key_encryption_key="a-real-secret"
    )
    assert ok.env == "production"


def test_production_skips_the_key_encryption_key_of_a_service_that_encrypts_nothing() -> None:
    class Stateless(ServiceSettings):
        uses_key_encryption_key: ClassVar[bool] = False

    assert Stateless(env="production", database_url="postgresql+asyncpg://db/x").env == "production"
    # The rest of the guard still applies.
    with pytest.raises(ValidationError, match="SQLite"):
        Stateless(env="production")


def test_embedded_defaults_put_a_sqlite_file_under_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EGOV_AMQP_URL", raising=False)
    settings = ServiceSettings()
    assert settings.database_url == "sqlite+aiosqlite:///var/service.db"
    assert settings.amqp_url is None


def test_shared_settings_come_from_egov_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EGOV_AMQP_URL", "amqp://broker/")
    monkeypatch.setenv("EGOV_RETENTION_DAYS", "30")
    settings = ServiceSettings()
    assert settings.amqp_url == "amqp://broker/"
    assert settings.retention_days == 30


def test_problem_body_has_the_rfc_9457_members() -> None:
    body = problem_body(409, code="dossier.invalid_transition", detail="Hồ sơ đã trả kết quả.", instance="/x")
    assert body == {
        "type": "urn:egov:problem:dossier.invalid_transition",
        "title": "Xung đột trạng thái",
        "status": 409,
        "code": "dossier.invalid_transition",
        "detail": "Hồ sơ đã trả kết quả.",
        "instance": "/x",
    }


@pytest.mark.parametrize(("header", "version"), [('"3"', 3), ('W/"12"', 12), (' "7" ', 7)])
def test_if_match_parses_etags(header: str, version: int) -> None:
    assert parse_if_match(header) == version


@pytest.mark.parametrize("header", [None, "", "*", "3", '"abc"', '"1", "2"'])
def test_if_match_missing_or_unusable_is_428(header: str | None) -> None:
    with pytest.raises(PreconditionRequired):
        parse_if_match(header)


def test_stale_version_is_412() -> None:
    check_version(4, 4)
    with pytest.raises(PreconditionFailed):
        check_version(3, 4)


def test_cursors_round_trip_and_garbage_is_422() -> None:
    key = ["2026-11-22T10:00:00Z", "0d4c"]
    assert decode_cursor(encode_cursor(key)) == key
    for garbage in ("!!!", "bm90IGpzb24", encode_cursor({"a": 1})):  # type: ignore[arg-type]
        with pytest.raises(Unprocessable):
            decode_cursor(garbage)


def test_id_numbers_are_masked() -> None:
    assert mask_id_number("001099012345") == "001******345"
    assert mask_id_number("12345") == "*****"
    assert mask_id_number(None) == ""


def test_contracts_are_registered_and_validated() -> None:
    assert EVENT_TYPES["identity.agency_upserted"] is AgencyUpserted
    data = parse_event_data(
        "identity.agency_upserted", {"code": "000.00.00.H27", "name": "UBND tỉnh", "kind": "province"}
    )
    assert isinstance(data, AgencyUpserted)
    with pytest.raises(ValidationError):
        parse_event_data("identity.agency_upserted", {"code": "H27", "name": "x", "kind": "province"})
    removed = parse_event_data(
        "dossier.calendar_corrected",
        {"day": "2027-01-05", "working": None, "corrected_at": "2027-01-03T02:00:00Z"},
    )
    assert isinstance(removed, DossierCalendarCorrected)
    assert (removed.working, removed.note) == (None, None)
    with pytest.raises(ValidationError):
        parse_event_data(
            "dossier.calendar_corrected", {"day": "2027-01-05", "corrected_at": "2027-01-03T02:00:00Z"}
        )


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đăng ký khai sinh", "dang ky khai sinh"),
        ("HỒ SƠ", "ho so"),
        ("Cấp  giấy phép\txây dựng", "cap giay phep xay dung"),
        ("Phường Quế Võ", "phuong que vo"),
        ("Lý lịch tư pháp", "ly lich tu phap"),
        # The same word typed decomposed (NFD) folds the same.
        (unicodedata.normalize("NFD", "Hộ kinh doanh"), "ho kinh doanh"),
    ],
)
def test_vietnamese_text_folds_for_search(text: str, folded: str) -> None:
    assert fold(text) == folded
    assert search_terms(" ho  SO ") == ["ho", "so"]


def test_extension_members_cannot_override_the_problem() -> None:
    with pytest.raises(ValueError, match="status"):
        problem_body(409, code="x.y", extra={"status": "draft"})
    assert problem_body(409, code="x.y", extra={"document_status": "draft"})["status"] == 409
