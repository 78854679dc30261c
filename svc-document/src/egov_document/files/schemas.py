"""Bodies of the file API."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field


class FileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: dt.datetime


class SignedUrl(BaseModel):
    url: str
    expires_at: dt.datetime


class OwnershipCheck(BaseModel):
    file_ids: list[uuid.UUID] = Field(max_length=200)


class OwnershipResult(BaseModel):
    """Which of the asked files exist and belong to the caller; the others are listed as missing."""

    owned: list[FileRead]
    missing: list[uuid.UUID]
