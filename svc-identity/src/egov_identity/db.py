"""The declarative base of svc-identity: its own metadata, so its tables never mix with another service's."""

from __future__ import annotations

from egov_shared.db import Base as SharedBase
from egov_shared.db import new_metadata


class Base(SharedBase):
    __abstract__ = True
    metadata = new_metadata()
