"""Every table of svc-identity, imported together so the metadata is complete (migrations, tests)."""

from egov_identity.agencies.models import Agency
from egov_identity.clients.models import OAuthClient
from egov_identity.keys.models import SigningKey
from egov_identity.oauth.models import (
    AuthorizationCode,
    LoginSession,
    LoginThrottle,
    PendingSecondFactor,
    RefreshToken,
    RevokedAccessToken,
)
from egov_identity.people.models import Citizen, DataAccess, Official

__all__ = [
    "Agency",
    "AuthorizationCode",
    "Citizen",
    "DataAccess",
    "LoginSession",
    "LoginThrottle",
    "OAuthClient",
    "Official",
    "PendingSecondFactor",
    "RefreshToken",
    "RevokedAccessToken",
    "SigningKey",
]
