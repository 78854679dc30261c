"""Events published by svc-identity."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from egov_shared.contracts import EventData

AGENCY_CODE_PATTERN = r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$"


class AgencyUpserted(EventData):
    """An agency was created or changed; consumers keep their own copy of the agency tree."""

    event_type: ClassVar[str] = "identity.agency_upserted"

    code: str = Field(pattern=AGENCY_CODE_PATTERN)
    name: str
    kind: Literal["province", "department", "commune", "ward", "other"]
    parent_code: str | None = None
    active: bool = True
    version: int = 1


class CitizenRegistered(EventData):
    """A citizen opened an account (assurance level 1). Carries no personal data: ask svc-identity."""

    event_type: ClassVar[str] = "identity.citizen_registered"

    citizen_id: str
    assurance_level: int


class CitizenVerified(EventData):
    """An official verified a citizen in person: the account is now assurance level 2."""

    event_type: ClassVar[str] = "identity.citizen_verified"

    citizen_id: str
    assurance_level: int
    verified_by_agency: str
