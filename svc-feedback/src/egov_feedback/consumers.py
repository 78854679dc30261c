"""Events svc-feedback consumes: the agency tree, replicated from svc-identity (who may act on what)."""

from __future__ import annotations

from egov_shared.agencies import on_agency_upserted
from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.inbox import EventHandler

CONSUMERS: dict[str, EventHandler] = {AgencyUpserted.event_type: on_agency_upserted}
