"""Events svc-document reacts to: agencies get read access to the files of the dossiers and reports they handle."""

from __future__ import annotations

from egov_document.documents.service import file_dossier_result
from egov_document.files.service import grant
from egov_shared.agencies import on_agency_upserted
from egov_shared.contracts.dossier import DossierCompleted, DossierStatusChanged, DossierSubmitted
from egov_shared.contracts.feedback import FeedbackSubmitted
from egov_shared.events import CloudEvent
from egov_shared.inbox import EventHandler
from egov_shared.uow import UnitOfWork


async def on_dossier_submitted(uow: UnitOfWork, data: DossierSubmitted, event: CloudEvent) -> None:
    await grant(uow.session, data.file_ids, data.agency_code, f"dossier:{data.dossier_id}")


async def on_dossier_status_changed(uow: UnitOfWork, data: DossierStatusChanged, event: CloudEvent) -> None:
    await grant(uow.session, data.file_ids, data.agency_code, f"dossier:{data.dossier_id}")


async def on_dossier_completed(uow: UnitOfWork, data: DossierCompleted, event: CloudEvent) -> None:
    await grant(uow.session, data.result_file_ids, data.agency_code, f"dossier-result:{data.dossier_id}")
    await file_dossier_result(uow, data)


async def on_feedback_submitted(uow: UnitOfWork, data: FeedbackSubmitted, event: CloudEvent) -> None:
    if data.agency_code:
        await grant(uow.session, data.file_ids, data.agency_code, f"feedback:{data.report_id}")


CONSUMERS: dict[str, EventHandler] = {
    "identity.agency_upserted": on_agency_upserted,
    DossierSubmitted.event_type: on_dossier_submitted,
    DossierStatusChanged.event_type: on_dossier_status_changed,
    DossierCompleted.event_type: on_dossier_completed,
    FeedbackSubmitted.event_type: on_feedback_submitted,
}
