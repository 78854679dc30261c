"""Events svc-feedback consumes: the agency tree, replicated from svc-identity (who may act on what), and the
administrators' corrections of the working calendar, replicated from svc-dossier (deadlines)."""

from __future__ import annotations

from egov_feedback.calendar_corrections import on_calendar_corrected
from egov_shared.agencies import on_agency_upserted
from egov_shared.contracts.dossier import DossierCalendarCorrected
from egov_shared.contracts.identity import AgencyUpserted
from egov_shared.inbox import EventHandler

CONSUMERS: dict[str, EventHandler] = {
    AgencyUpserted.event_type: on_agency_upserted,
    DossierCalendarCorrected.event_type: on_calendar_corrected,
}
