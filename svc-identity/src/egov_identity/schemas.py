"""Request and response bodies of the identity API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from egov_shared.contracts.identity import AGENCY_CODE_PATTERN

PHONE_PATTERN = r"^0\d{9}$"


class CitizenCreate(BaseModel):
    id_number: str = Field(pattern=r"^\d{12}$", description="12-digit personal identification number")
    full_name: str = Field(min_length=2, max_length=200)
    date_of_birth: dt.date
    sex: Literal["male", "female"]
    password: str = Field(min_length=8, max_length=128)
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)
    email: EmailStr | None = None


class CitizenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    full_name: str
    id_number_masked: str
    date_of_birth: dt.date
    sex: str
    phone: str | None
    email: str | None
    assurance_level: int
    verified_at: dt.datetime | None
    version: int


class CitizenSearch(BaseModel):
    """Looked up by POST so that the ID number never appears in a URL or an access log."""

    id_number: str = Field(pattern=r"^\d{12}$")


class AgencyCreate(BaseModel):
    code: str = Field(pattern=AGENCY_CODE_PATTERN, examples=["000.00.10.H27"])
    name: str = Field(min_length=2, max_length=300)
    kind: Literal["province", "department", "commune", "ward", "other"]
    parent_code: str | None = Field(default=None, pattern=AGENCY_CODE_PATTERN)


class AgencyUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=2, max_length=300)
    parent_code: str | None = Field(default=None, pattern=AGENCY_CODE_PATTERN)
    active: bool | None = None


class AgencyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    kind: str
    parent_code: str | None
    active: bool
    version: int


class OfficialCreate(BaseModel):
    username: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")
    full_name: str = Field(min_length=2, max_length=200)
    agency_code: str = Field(pattern=AGENCY_CODE_PATTERN)
    roles: list[str] = Field(default_factory=list, max_length=8)
    password: str = Field(min_length=8, max_length=128)


class OfficialUpdate(BaseModel):
    full_name: str | None = Field(default=None, min_length=2, max_length=200)
    agency_code: str | None = Field(default=None, pattern=AGENCY_CODE_PATTERN)
    roles: list[str] | None = Field(default=None, max_length=8)
    active: bool | None = None


class OfficialRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    full_name: str
    agency_code: str
    roles: list[str]
    active: bool
    second_factor: bool
    version: int


class OfficialCreated(OfficialRead):
    totp_provisioning_uri: str | None = Field(
        default=None, description="Shown once: the TOTP secret as an otpauth:// URI for an authenticator app"
    )


class ClientCreate(BaseModel):
    client_id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")
    name: str = Field(min_length=2, max_length=200)
    confidential: bool
    redirect_uris: list[str] = Field(default_factory=list, max_length=10)
    allowed_scopes: list[str] = Field(default_factory=list, max_length=10)


class ClientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    client_id: str
    name: str
    confidential: bool
    redirect_uris: list[str]
    allowed_scopes: list[str]
    grant_types: list[str]
    active: bool


class ClientCreated(ClientRead):
    client_secret: str | None = Field(default=None, description="Shown once; stored only as a hash")


class KeyRotation(BaseModel):
    active_kid: str
