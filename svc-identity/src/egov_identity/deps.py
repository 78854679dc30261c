"""What svc-identity's routers need besides the unit of work: its settings, vault and key ring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from egov_identity.config import Settings
from egov_identity.keys.service import KeyRing
from egov_identity.vault import Vault


@dataclass(frozen=True)
class Identity:
    settings: Settings
    vault: Vault
    keys: KeyRing


def get_identity(request: Request) -> Identity:
    identity: Identity = request.app.state.identity
    return identity


IdentityDep = Annotated[Identity, Depends(get_identity)]
